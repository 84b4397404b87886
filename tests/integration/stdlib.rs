//! The standard library's test programs: each `stdlib/tests/NAME.prism` runs through `prism run`
//! and its stdout must equal `NAME.out` byte for byte, with exit status 0.

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{files_with_ext, repo, run_prism};

/// One trial per test program in `stdlib/tests/`, plus the check of unknown imports.
pub fn trials() -> Vec<Trial> {
    let root = repo().join("stdlib/tests");
    let mut trials: Vec<Trial> = files_with_ext(&root, ".prism")
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(format!("stdlib::{stem}"), move || check(&path))
        })
        .collect();
    if trials.is_empty() {
        trials.push(Trial::test("stdlib::tests_present", move || {
            Err(format!("no test programs under {}", root.display()).into())
        }));
    }
    trials.push(Trial::test(
        "stdlib::unknown_imports_fail_before_running",
        unknown_imports_fail_before_running,
    ));
    trials.push(Trial::test(
        "stdlib::errors_inside_a_module_show_its_source",
        errors_inside_a_module_show_its_source,
    ));
    trials
}

fn check(path: &Path) -> Result<(), Failed> {
    let expected = std::fs::read_to_string(path.with_extension("out"))
        .map_err(|e| format!("missing .out: {e}"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = path.to_string_lossy();
    let run = run_prism(&["run", &file], dir, Duration::from_secs(30))?;
    let code = run.code.ok_or("timed out after 30 s")?;
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
    Ok(())
}

/// `prism run` reports a misspelt module or name with its span and runs nothing.
fn unknown_imports_fail_before_running() -> Result<(), Failed> {
    let code = "print(\"ran\")\nimport {majorityVot} from \"std/patterns\"\nimport {x} from \"std/nope\"\n";
    let run = run_prism(&["run", "-e", code], &repo(), Duration::from_secs(30))?;
    assert_eq!(run.stdout, "", "nothing runs");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    for needle in [
        "`std/patterns` does not export `majorityVot`",
        "did you mean `majorityVote`?",
        "<eval>:2:9",
        "there is no standard module `std/nope`",
        "<eval>:3:17",
    ] {
        assert!(run.stderr.contains(needle), "{needle} in:\n{}", run.stderr);
    }
    Ok(())
}

/// An error thrown inside a standard module points at the module's own line.
fn errors_inside_a_module_show_its_source() -> Result<(), Failed> {
    let code = "import {consensusVote} from \"std/patterns\"\nconsensusVote([\"a\", \"b\"], {conflictResolution: \"loudest\"})\n";
    let run = run_prism(&["run", "-e", code], &repo(), Duration::from_secs(30))?;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for needle in [
        "consensusVote: conflictResolution must be",
        "╭─[std/patterns:",
        "throw \"consensusVote: conflictResolution",
        "in consensusVote called at 2:1",
    ] {
        assert!(run.stderr.contains(needle), "{needle} in:\n{}", run.stderr);
    }
    Ok(())
}
