//! Resolution of `pattern: name[@range]` steps: `./file.yaml` beside the pattern, then the
//! pattern directories (`--patterns DIR`, `PRISM_PATTERNS_PATH`), then an optional store
//! (the versions store of §3, supplied by the caller). Not found, ambiguous or cyclic →
//! `prism::pattern::unresolved-pattern`.

use std::path::{Path, PathBuf};

use crate::pattern::model::Resolved;

/// A place patterns can be found besides the file system (the versions store).
pub trait PatternStore: std::fmt::Debug + Send + Sync {
    /// The stored versions of `name`: `(version, source text, file name)`.
    fn versions(&self, name: &str) -> Vec<(String, String, String)>;
}

/// A pattern found on the path, before compilation.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The pattern's `name`.
    pub name: String,
    /// Its `version`.
    pub version: String,
    /// Where it came from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// Why a reference could not be resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Unresolved {
    /// No pattern of that name (and range) on the path.
    NotFound,
    /// Two different files give the same name and version.
    Ambiguous(Vec<String>),
    /// The pattern (indirectly) uses itself.
    Cycle(Vec<String>),
    /// The range is not valid.
    BadRange(String),
}

/// Does `version` satisfy `range` (`1.2.0` exact, `1.x`, `^1.2`, `~1.2`, none = any)?
pub fn matches(version: &str, range: Option<&str>) -> bool {
    let Some(range) = range else { return true };
    let Ok(v) = semver::Version::parse(version) else {
        return version == range;
    };
    if let Ok(exact) = semver::Version::parse(range) {
        return v == exact;
    }
    semver::VersionReq::parse(range).is_ok_and(|r| r.matches(&v))
}

/// Reads `name` and `version` from a pattern file without compiling it.
pub fn peek(path: &Path, text: &str) -> Option<(String, String)> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("prism"))
    {
        let (_, tags) = crate::pattern::header::find_header(text)?;
        let get = |n: &str| tags.iter().find(|t| t.name == n).map(|t| t.text.clone());
        let stem = path.file_stem()?.to_string_lossy().to_string();
        return Some((
            get("name").unwrap_or(stem),
            get("version").unwrap_or_else(|| "1.0.0".into()),
        ));
    }
    let (root, _) = crate::pattern::yaml::parse(text);
    let root = root?;
    let name = root.get("name")?.scalar_text()?.to_string();
    let version = root
        .get("version")
        .and_then(|v| v.scalar_text())
        .unwrap_or("1.0.0")
        .to_string();
    Some((name, version))
}

fn is_pattern_file(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["yaml", "yml", "prism"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// Finds the candidates for `name[@range]` referenced from `from`.
pub fn find(
    name: &str,
    range: Option<&str>,
    from: &Path,
    dirs: &[PathBuf],
    store: Option<&dyn PatternStore>,
) -> Result<Candidate, Unresolved> {
    if let Some(r) = range
        && semver::Version::parse(r).is_err()
        && semver::VersionReq::parse(r).is_err()
    {
        return Err(Unresolved::BadRange(r.to_string()));
    }
    if name.starts_with("./") || name.starts_with("../") {
        let path = from.parent().unwrap_or(Path::new(".")).join(name);
        let text = crate::source::read_source(&path).map_err(|_| Unresolved::NotFound)?;
        let (n, version) = peek(&path, &text).ok_or(Unresolved::NotFound)?;
        return Ok(Candidate {
            name: n,
            version,
            path,
            text,
        });
    }
    let mut found: Vec<Candidate> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_pattern_file(p))
            .collect();
        paths.sort();
        for path in paths {
            let Ok(text) = crate::source::read_source(&path) else {
                continue;
            };
            if let Some((n, version)) = peek(&path, &text)
                && n == name
                && matches(&version, range)
            {
                found.push(Candidate {
                    name: n,
                    version,
                    path,
                    text,
                });
            }
        }
    }
    if found.is_empty()
        && let Some(store) = store
    {
        for (version, text, file) in store.versions(name) {
            if matches(&version, range) {
                found.push(Candidate {
                    name: name.to_string(),
                    version,
                    path: PathBuf::from(file),
                    text,
                });
            }
        }
    }
    let best = found
        .iter()
        .filter_map(|c| semver::Version::parse(&c.version).ok().map(|v| (v, c)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, c)| c.version.clone())
        .or_else(|| found.first().map(|c| c.version.clone()));
    let Some(best) = best else {
        return Err(Unresolved::NotFound);
    };
    let mut same: Vec<Candidate> = found.into_iter().filter(|c| c.version == best).collect();
    same.dedup_by(|a, b| a.text == b.text);
    if same.len() > 1 {
        return Err(Unresolved::Ambiguous(
            same.iter().map(|c| c.path.display().to_string()).collect(),
        ));
    }
    same.pop().ok_or(Unresolved::NotFound)
}

/// A resolved sub-pattern record.
pub fn resolved(
    c: &Candidate,
    plan_hash: String,
    directives: Vec<crate::pattern::model::IncludedDirective>,
) -> Resolved {
    Resolved {
        path: c.path.display().to_string(),
        version: c.version.clone(),
        plan_hash,
        directives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(matches("1.2.3", Some("1.x")));
        assert!(matches("1.2.3", Some("^1.2")));
        assert!(matches("1.2.3", Some("~1.2")));
        assert!(matches("1.2.0", Some("1.2.0")));
        assert!(!matches("1.3.0", Some("1.2.0")));
        assert!(!matches("2.0.0", Some("1.x")));
        assert!(matches("2.0.0", None));
    }

    #[test]
    fn missing_patterns_are_not_found() {
        let r = find("nothing-here", Some("1.x"), Path::new("x.yaml"), &[], None);
        assert_eq!(r.err(), Some(Unresolved::NotFound));
    }
}
