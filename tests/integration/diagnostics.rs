//! Snapshots of what `prism check` prints for the programs and patterns in `tests/diagnostics/`: the
//! rendered diagnostics a user sees (file, line, column, source line, label, help).

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{files_with_ext, repo, run_prism};

/// One trial per file in `tests/diagnostics/`.
pub fn trials() -> Vec<Trial> {
    let root = repo().join("tests/diagnostics");
    let mut files = files_with_ext(&root, ".prism");
    files.extend(files_with_ext(&root, ".yaml"));
    files
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let root = root.clone();
            Trial::test(format!("diagnostics::{stem}"), move || {
                check(&root, &path, &stem)
            })
        })
        .collect()
}

fn check(root: &Path, path: &Path, stem: &str) -> Result<(), Failed> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let run = run_prism(&["check", &name], root, Duration::from_secs(20))?;
    let code = run.code.ok_or("timed out")?;
    let shown = format!("exit: {code}\n{}", run.stderr);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("diagnostics__{stem}"), shown));
    Ok(())
}
