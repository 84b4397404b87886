//! Small helpers that check YAML mappings against the keys and value types of the spec,
//! collecting every problem (with a span and a "did you mean") instead of stopping early.

use crate::diagnostic::Diagnostic;
use crate::pattern::codes;
use crate::pattern::yaml::{Yaml, YamlKind};
use crate::span::Span;

/// The closest candidate to `name`, if one is close enough to be a likely typo.
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase());
        let limit = (name.chars().count().max(c.chars().count()) / 3).max(1);
        if d > limit.min(3) {
            continue;
        }
        let jw = strsim::jaro_winkler(name, c);
        if best.is_none_or(|(bd, bj, _)| d < bd || (d == bd && jw > bj)) {
            best = Some((d, jw, c));
        }
    }
    best.map(|(_, _, c)| c)
}

/// Collects diagnostics while a file is checked.
#[derive(Debug, Default)]
pub struct Checker {
    /// Everything found so far, in the order found.
    pub diags: Vec<Diagnostic>,
}

/// A mapping that passed the key check, with the dotted path used in messages.
#[derive(Debug, Clone)]
pub struct Fields<'y> {
    /// The mapping node.
    pub node: &'y Yaml,
    /// Where it sits, e.g. `aggregation` or `steps[2]`.
    pub path: String,
}

impl<'y> Fields<'y> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&'y Yaml> {
        self.node.get(key)
    }

    /// The value of `key` unless it is absent or null.
    pub fn value(&self, key: &str) -> Option<&'y Yaml> {
        self.node.get(key).filter(|v| !v.is_null())
    }

    /// True when `key` is present (even if null).
    pub fn has(&self, key: &str) -> bool {
        self.node.get(key).is_some()
    }

    /// The span of `key` itself (the key, not its value), else of the mapping.
    pub fn key_span(&self, key: &str) -> Span {
        self.node
            .get_entry(key)
            .map_or(self.head(), |(k, _)| k.span)
    }

    /// A short span that stands for the whole mapping: its first key.
    pub fn head(&self) -> Span {
        match self.node.as_map().and_then(|m| m.first()) {
            Some((k, _)) => k.span,
            None => self.node.span,
        }
    }

    /// `path.key`
    pub fn sub(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl Checker {
    /// Records a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Records an error.
    pub fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span) {
        self.diags.push(Diagnostic::error(code, message, span));
    }

    /// Records a `bad-value` error with help text.
    pub fn bad(&mut self, message: impl Into<String>, span: Span, help: Option<String>) {
        let mut d = Diagnostic::error(codes::BAD_VALUE, message, span);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.diags.push(d);
    }

    /// True when an error was recorded.
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed` (reporting each other
    /// key with a "did you mean"). `None` (after an error) when it is not a mapping.
    pub fn map<'y>(&mut self, node: &'y Yaml, path: &str, allowed: &[&str]) -> Option<Fields<'y>> {
        let Some(entries) = node.as_map() else {
            self.bad(
                format!(
                    "`{}` must be a mapping, found {}",
                    show(path),
                    node.type_name()
                ),
                node.span,
                None,
            );
            return None;
        };
        for (k, _) in entries {
            let Some(key) = k.key_text() else {
                self.bad("mapping keys must be plain strings", k.span, None);
                continue;
            };
            if !allowed.contains(&key) {
                self.unknown_key(key, k.span, path, allowed);
            }
        }
        Some(Fields {
            node,
            path: path.to_string(),
        })
    }

    /// Reports an unknown key of the mapping at `path`.
    pub fn unknown_key(&mut self, key: &str, span: Span, path: &str, allowed: &[&str]) {
        let mut d = Diagnostic::error(
            codes::UNKNOWN_KEY,
            format!("unknown key `{key}` in {}", show(path)),
            span,
        )
        .with_label("not a key of this mapping");
        d = match (suggest(key, allowed.iter().copied()), rejected_reason(key)) {
            (_, Some(why)) => d.with_help(why),
            (Some(s), None) => d.with_help(format!("did you mean `{s}`?")),
            (None, None) => d.with_help(format!("allowed keys: {}", allowed.join(", "))),
        };
        self.diags.push(d);
    }

    /// Reports `key` missing from `fields`.
    pub fn require(&mut self, f: &Fields<'_>, key: &str) -> bool {
        if f.has(key) {
            return true;
        }
        let message = format!("missing required key `{}`", f.sub(key));
        self.error(codes::MISSING_KEY, message, f.head());
        false
    }

    /// A string value (numbers are taken as written).
    pub fn string(&mut self, f: &Fields<'_>, key: &str) -> Option<String> {
        let v = f.value(key)?;
        match v.scalar_text() {
            Some(s) if v.as_scalar().is_some() => Some(s.to_string()),
            _ => {
                self.bad(
                    format!("`{}` must be a string, found {}", f.sub(key), v.type_name()),
                    v.span,
                    None,
                );
                None
            }
        }
    }

    /// A boolean value.
    pub fn boolean(&mut self, f: &Fields<'_>, key: &str) -> Option<bool> {
        let v = f.value(key)?;
        let b = v.as_bool();
        if b.is_none() {
            self.bad(
                format!(
                    "`{}` must be true or false, found {}",
                    f.sub(key),
                    v.type_name()
                ),
                v.span,
                None,
            );
        }
        b
    }

    /// A number in `[min, max]`.
    pub fn number(&mut self, f: &Fields<'_>, key: &str, min: f64, max: f64) -> Option<f64> {
        let v = f.value(key)?;
        match v.as_f64() {
            Some(n) if n >= min && n <= max => Some(n),
            Some(n) => {
                let range = if max.is_finite() {
                    format!("between {min} and {max}")
                } else {
                    format!("at least {min}")
                };
                self.bad(
                    format!("`{}` must be {range}, found {n}", f.sub(key)),
                    v.span,
                    None,
                );
                None
            }
            None => {
                self.bad(
                    format!("`{}` must be a number, found {}", f.sub(key), v.type_name()),
                    v.span,
                    None,
                );
                None
            }
        }
    }

    /// A whole number of at least `min`.
    pub fn int(&mut self, f: &Fields<'_>, key: &str, min: i64) -> Option<i64> {
        let v = f.value(key)?;
        match v.as_i64() {
            Some(n) if n >= min => Some(n),
            _ => {
                self.bad(
                    format!(
                        "`{}` must be a whole number ≥ {min}, found `{}`",
                        f.sub(key),
                        v.scalar_text().unwrap_or(v.type_name())
                    ),
                    v.span,
                    None,
                );
                None
            }
        }
    }

    /// One of `allowed` (with a "did you mean").
    pub fn one_of(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let v = f.value(key)?;
        self.choice(v, &f.sub(key), allowed)
    }

    /// Checks that `v` is one of `allowed`.
    pub fn choice(
        &mut self,
        v: &Yaml,
        path: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let text = v.scalar_text().unwrap_or_default();
        if let Some(found) = allowed.iter().find(|a| **a == text) {
            return Some(found);
        }
        let help = match suggest(text, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? (allowed: {})", allowed.join(", ")),
            None => format!("allowed: {}", allowed.join(", ")),
        };
        let shown = v
            .scalar_text()
            .map_or_else(|| v.type_name().to_string(), |t| format!("`{t}`"));
        self.bad(
            format!("`{path}: {}` is not allowed", shown.trim_matches('`')),
            v.span,
            Some(help),
        );
        None
    }

    /// A list of strings (a single string counts as a one-item list when `single` is set).
    pub fn string_list(&mut self, f: &Fields<'_>, key: &str) -> Option<Vec<(String, Span)>> {
        let v = f.value(key)?;
        let Some(items) = v.as_seq() else {
            self.bad(
                format!("`{}` must be a list, found {}", f.sub(key), v.type_name()),
                v.span,
                None,
            );
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match item.scalar_text() {
                Some(s) if item.as_scalar().is_some() => out.push((s.to_string(), item.span)),
                _ => self.bad(
                    format!(
                        "`{}` entries must be strings, found {}",
                        f.sub(key),
                        item.type_name()
                    ),
                    item.span,
                    None,
                ),
            }
        }
        Some(out)
    }

    /// Checks that `v` is a mapping (any keys) and returns its entries.
    pub fn any_map<'y>(&mut self, v: &'y Yaml, path: &str) -> Option<&'y [(Yaml, Yaml)]> {
        if let YamlKind::Map(m) = &v.kind {
            return Some(m);
        }
        self.bad(
            format!("`{path}` must be a mapping, found {}", v.type_name()),
            v.span,
            None,
        );
        None
    }
}

/// Why a key the reference documents (but never implemented) is rejected.
fn rejected_reason(key: &str) -> Option<&'static str> {
    Some(match key {
        "logic" => "Prism logic belongs in a .prism pattern",
        "imports" => {
            "YAML patterns import nothing; compose with `pattern:` steps or write a .prism pattern"
        }
        "scoring" | "mergeFields" => {
            "merge scoring is not supported; post-process `$merged` in `output`, or write a .prism pattern"
        }
        "crossRegion" => "cross-region aggregation is not supported; use `agents.distribution`",
        _ => return None,
    })
}

/// The path for messages (the top level is "the pattern").
fn show(path: &str) -> String {
    if path.is_empty() {
        "the pattern".to_string()
    } else {
        format!("`{path}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_only() {
        let keys = ["strategy", "method", "threshold", "minVotes"];
        assert_eq!(suggest("stratgy", keys), Some("strategy"));
        assert_eq!(suggest("minvotes", keys), Some("minVotes"));
        assert_eq!(suggest("scoring", keys), None);
        assert_eq!(suggest("$metadata", ["$execution"]), None);
    }

    #[test]
    fn unknown_keys_are_reported_with_help() {
        let (y, _) = crate::pattern::yaml::parse("strategy: voting\nmethd: majority\n");
        let y = y.expect("yaml");
        let mut cx = Checker::default();
        let f = cx
            .map(&y, "aggregation", &["strategy", "method"])
            .expect("map");
        assert!(f.has("strategy"));
        assert_eq!(cx.diags.len(), 1);
        assert_eq!(cx.diags[0].code, codes::UNKNOWN_KEY);
        assert_eq!(cx.diags[0].help.as_deref(), Some("did you mean `method`?"));
    }
}
