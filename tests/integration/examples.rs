//! Every example in `examples/` runs out of the box (built-in or `agents.yaml` local agents, the
//! inputs' defaults) and prints what its snapshot shows: programs their output, patterns their
//! result and confidence. Rust examples (`examples/embed/`) are built and run by `.ci/run`.

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{files_with_ext, repo, run_prism};

/// One trial per example program or pattern.
pub fn trials() -> Vec<Trial> {
    let root = repo().join("examples");
    let mut files = files_with_ext(&root, ".prism");
    files.extend(files_with_ext(&root, ".yaml"));
    // Files of a Rust example (a folder with a Cargo.toml, such as `examples/embed/`) are run
    // by that program with its own agents, not by `prism run`.
    files.retain(|p| {
        let in_rust_example = p
            .ancestors()
            .take_while(|a| *a != root)
            .any(|a| a.join("Cargo.toml").is_file());
        // Agents files (`agents.yaml`, `NAME.agents.yaml`) go with the patterns beside them.
        !in_rust_example
            && p.file_name()
                .is_some_and(|n| !n.to_string_lossy().ends_with("agents.yaml"))
    });
    files
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(format!("examples::{stem}"), move || run(&path, &stem))
        })
        .collect()
}

fn run(path: &Path, stem: &str) -> Result<(), Failed> {
    let rel = path
        .strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string();
    let r = run_prism(&["run", &rel], &repo(), Duration::from_secs(60))?;
    if r.code != Some(0) {
        return Err(format!("{rel} exited with {:?}:\n{}", r.code, r.stderr).into());
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("examples__{stem}"), r.stdout));
    Ok(())
}
