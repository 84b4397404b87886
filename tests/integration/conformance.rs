//! The conformance suite of `tests/data/conformance/` (a copy of `../shared/conformance/`): each
//! `.prism` runs through `prism run` and
//! its stdout must equal the recorded `.out` byte for byte (see that folder's README for the
//! `ERROR:` convention). A case may be skipped only by listing it in
//! `tests/conformance/known-failures.txt` with a reason.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{data, files_with_ext, repo, run_prism};

/// One trial per conformance case: the shared suite (`conformance::…`) and our own cases of
/// `tests/conformance-own/` (`conformance_own::…`).
pub fn trials() -> Vec<Trial> {
    let mut out = suite(data().join("conformance"), "conformance");
    out.extend(suite(
        repo().join("tests/conformance-own"),
        "conformance_own",
    ));
    out
}

fn suite(root: std::path::PathBuf, prefix: &'static str) -> Vec<Trial> {
    let known = known_failures();
    let cases: Vec<_> = files_with_ext(&root, ".prism")
        .into_iter()
        // Modules that cases import are not cases.
        .filter(|p| !p.components().any(|c| c.as_os_str() == "lib"))
        .collect();
    if cases.is_empty() {
        return vec![Trial::test(format!("{prefix}::suite_present"), move || {
            Err(format!("no conformance cases found under {}", root.display()).into())
        })];
    }
    cases
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/");
            let ignored = known.contains_key(&rel);
            let name = format!("{prefix}::{}", rel.replace('/', "::"));
            Trial::test(name, move || check_case(&path)).with_ignored_flag(ignored)
        })
        .collect()
}

fn known_failures() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("tests/conformance/known-failures.txt"))
        .unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (case, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (case.to_string(), reason.trim().to_string())
        })
        .collect()
}

fn check_case(path: &Path) -> Result<(), Failed> {
    let expected = std::fs::read_to_string(path.with_extension("out"))
        .map_err(|e| format!("missing .out: {e}"))?;
    let keyword = std::fs::read_to_string(path.with_extension("keyword")).ok();
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = path.to_string_lossy();
    let run = run_prism(&["run", &file], dir, Duration::from_secs(20))?;
    let Some(code) = run.code else {
        return Err("timed out after 20 s".into());
    };
    let error_at = expected.lines().position(|l| l.starts_with("ERROR: "));
    match error_at {
        None => {
            if run.stdout != expected {
                return Err(format!(
                    "stdout differs\n--- expected\n{expected}--- got\n{}--- stderr\n{}",
                    run.stdout, run.stderr
                )
                .into());
            }
            if code != 0 {
                return Err(format!("exit status {code}, expected 0\n{}", run.stderr).into());
            }
        }
        Some(n) => {
            let want: String = expected.lines().take(n).map(|l| format!("{l}\n")).collect();
            let got = match run.stdout.lines().last() {
                Some(last) if last.starts_with("ERROR:") => {
                    let keep = run.stdout.lines().count() - 1;
                    run.stdout
                        .lines()
                        .take(keep)
                        .map(|l| format!("{l}\n"))
                        .collect()
                }
                _ => run.stdout.clone(),
            };
            if got != want {
                return Err(format!(
                    "stdout before the error differs\n--- expected\n{want}--- got\n{got}"
                )
                .into());
            }
            if code == 0 {
                return Err("expected an error (non-zero exit), got exit 0".into());
            }
            if let Some(word) = keyword.as_deref().and_then(|k| k.lines().next()) {
                let all = format!("{}{}", run.stdout, run.stderr).to_lowercase();
                if !all.contains(&word.to_lowercase()) {
                    return Err(
                        format!("error output does not mention '{word}'\n{}", run.stderr).into(),
                    );
                }
            }
        }
    }
    Ok(())
}
