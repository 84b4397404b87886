//! `tests/data/` holds copies of `../shared/{conformance,patterns,license}` so that a clone with
//! nothing beside it passes its tests. Where `../shared/` exists, one test checks that every copy
//! is equal to its source and names each file that drifted (added, removed or changed), so an
//! update there shows up as one clear failure: copy the folders again to fix it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::support::{data, shared};

/// The folders of `../shared/` that `tests/data/` copies.
const COPIED: &[&str] = &["conformance", "patterns", "license"];

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "shared_copies::drift_names_added_removed_and_changed_files",
            drift_is_reported,
        ),
        Trial::test("shared_copies::tests_data_equals_shared", || {
            let shared = shared();
            if !shared.is_dir() {
                // A plain clone: the copies are all there is.
                return Ok(());
            }
            let drift = drifted(&shared, &data());
            if drift.is_empty() {
                Ok(())
            } else {
                Err(format!(
                "tests/data/ differs from ../shared/ in {} file(s) (copy the folders again: \
                 for d in {}; do rm -rf tests/data/$d; cp -r ../shared/$d tests/data/; done):\n  {}",
                drift.len(),
                COPIED.join(" "),
                drift.join("\n  ")
            )
            .into())
            }
        }),
    ]
}

/// The drift check itself on two made-up trees.
fn drift_is_reported() -> Result<(), libtest_mimic::Failed> {
    let tmp = tempfile::tempdir()?;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for root in [&a, &b] {
        std::fs::create_dir_all(root.join("conformance/x"))?;
        std::fs::write(root.join("conformance/x/same.prism"), "1")?;
    }
    std::fs::write(a.join("conformance/x/changed.out"), "1")?;
    std::fs::write(b.join("conformance/x/changed.out"), "2")?;
    std::fs::write(a.join("conformance/new.prism"), "")?;
    std::fs::create_dir_all(b.join("license"))?;
    std::fs::write(b.join("license/old.json"), "")?;
    let got = drifted(&a, &b);
    let want = [
        "only in ../shared: conformance/new.prism",
        "changed: conformance/x/changed.out",
        "only in tests/data: license/old.json",
    ];
    if got == want {
        Ok(())
    } else {
        Err(format!("drift report {got:?}, expected {want:?}").into())
    }
}

/// Every file that differs between `shared/<d>` and `data/<d>` for the copied folders, as
/// `changed|only in ../shared|only in tests/data: <d>/<path>`.
fn drifted(shared: &Path, data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for dir in COPIED {
        let a = files_under(&shared.join(dir));
        let b = files_under(&data.join(dir));
        for rel in a.union(&b) {
            let shown = format!("{dir}/{}", rel.display());
            match (a.contains(rel), b.contains(rel)) {
                (true, false) => out.push(format!("only in ../shared: {shown}")),
                (false, true) => out.push(format!("only in tests/data: {shown}")),
                _ => {
                    let left = std::fs::read(shared.join(dir).join(rel)).ok();
                    let right = std::fs::read(data.join(dir).join(rel)).ok();
                    if left != right {
                        out.push(format!("changed: {shown}"));
                    }
                }
            }
        }
    }
    out
}

/// The files under `root`, relative to it (empty when it does not exist).
fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_path_buf());
            }
        }
    }
    out
}
