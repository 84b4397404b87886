//! `prism fmt` and the project's own files: one style, checked the way CI checks it.

use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{repo, run_prism};

/// The formatting trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "fmt::examples_and_stdlib_are_formatted",
            examples_and_stdlib_are_formatted,
        ),
        Trial::test(
            "fmt::yaml_is_refused_not_parsed",
            yaml_is_refused_not_parsed,
        ),
    ]
}

/// `prism fmt --check examples stdlib` passes: the examples and the standard library are
/// written in the formatter's style (the doc snippets are checked in `docs`).
fn examples_and_stdlib_are_formatted() -> Result<(), Failed> {
    let r = run_prism(
        &["fmt", "--check", "examples", "stdlib"],
        &repo(),
        Duration::from_secs(60),
    )?;
    if r.code != Some(0) {
        return Err(format!(
            "these files are not formatted (run `prism fmt examples stdlib`):\n{}{}",
            r.stdout, r.stderr
        )
        .into());
    }
    Ok(())
}

/// `prism fmt vote.yaml` says it formats Prism only, and leaves the file alone.
fn yaml_is_refused_not_parsed() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let yaml = "# a vote\nname: vote\ninput: {}\noutput: 1\n";
    std::fs::write(dir.path().join("vote.yaml"), yaml)?;
    for args in [&["fmt", "vote.yaml"][..], &["fmt", "--check", "vote.yaml"]] {
        let r = run_prism(args, dir.path(), Duration::from_secs(30))?;
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert_eq!(
            r.stderr,
            "error: vote.yaml is YAML; `prism fmt` formats Prism source (.prism files) only, and leaves YAML patterns and agents files as written\n"
        );
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("vote.yaml"))?, yaml);
    // A folder walk formats the Prism files and passes over the YAML.
    std::fs::write(dir.path().join("a.prism"), "print(<~x)\n")?;
    let r = run_prism(&["fmt", "."], dir.path(), Duration::from_secs(30))?;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.prism"))?,
        "print(<~ x)\n"
    );
    Ok(())
}
