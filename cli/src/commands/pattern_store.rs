//! What `history`, `publish`, `versions`, `rollback` and `run NAME@VERSION` share: the license
//! check that stops them before anything else, opening the store, and reporting its errors.

use std::process::ExitCode;

use prism_license::{Directive, License};
use prism_store::{Store, StoreError};

use crate::report::{EXIT_COMPILE, EXIT_RUNTIME};

/// Stops with the license text (license.md "Gating rule", no span) unless the edition grants
/// the feature `command` needs.
pub fn require_command(command: &str) -> Result<(), ExitCode> {
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    license.check_command(command).map_err(|denial| {
        eprint!("{}", denial.render());
        ExitCode::from(EXIT_COMPILE)
    })
}

/// Like [`require_command`] for a directive (`run NAME@VERSION` needs versioning).
pub fn require_directive(directive: Directive) -> Result<(), ExitCode> {
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    license.check(directive).map_err(|denial| {
        eprint!("{}", denial.render());
        ExitCode::from(EXIT_COMPILE)
    })
}

/// Opens `--store URL`, else `$PRISM_STORE`, else the default SQLite file.
pub fn open(flag: Option<&str>) -> Result<Store, ExitCode> {
    Store::open_url(flag).map_err(|e| fail(&e))
}

/// Prints a store error (with its causes) and gives the exit code for it: 2 for what the user
/// asked wrongly (bad URL, version, range; an ambiguous id; a version to bump), 1 for the rest.
pub fn fail(e: &StoreError) -> ExitCode {
    eprintln!("error: {}", with_causes(e));
    match e {
        StoreError::BadUrl(_)
        | StoreError::BadVersion(_)
        | StoreError::BadRange(_)
        | StoreError::AmbiguousId(_)
        | StoreError::VersionConflict { .. } => ExitCode::from(EXIT_COMPILE),
        _ => ExitCode::from(EXIT_RUNTIME),
    }
}

/// The error's message followed by each cause that adds something.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

/// `NAME@SPEC` → `(NAME, SPEC)`: a published pattern and a version or semver range.
pub fn parse_ref(arg: &str) -> Option<(&str, &str)> {
    let (name, spec) = arg.split_once('@')?;
    let plain = !name.is_empty()
        && !spec.trim().is_empty()
        && !name.contains(['/', '\\'])
        && !name.ends_with(".yaml")
        && !name.ends_with(".yml")
        && !name.ends_with(".prism");
    plain.then_some((name, spec))
}

/// A bare pattern name (no path separator, no extension): may name a published pattern.
pub fn is_bare_name(arg: &str) -> bool {
    !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
}

/// Durations as people read them: `850 ms`, `2.41 s`, `3m 05s`, `2h 01m`.
pub fn human_duration(ms: i64) -> String {
    match ms {
        ..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.2} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{}h {:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Left-aligned columns separated by two spaces (the last column is not padded).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let pad = w.saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_names() {
        assert_eq!(parse_ref("review@1.2.0"), Some(("review", "1.2.0")));
        assert_eq!(parse_ref("review@^1"), Some(("review", "^1")));
        assert_eq!(parse_ref("dir/review.yaml"), None);
        assert_eq!(parse_ref("a/b@1"), None);
        assert_eq!(parse_ref("x.yaml@1"), None);
        assert_eq!(parse_ref("review@"), None);
        assert!(is_bare_name("code-review_2"));
        assert!(!is_bare_name("review.yaml"));
        assert!(!is_bare_name("./review"));
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(12), "12 ms");
        assert_eq!(human_duration(2410), "2.41 s");
        assert_eq!(human_duration(185_000), "3m 05s");
        assert_eq!(human_duration(7_260_000), "2h 01m");
    }

    #[test]
    fn columns() {
        let t = table(
            &["A", "BB"],
            &[vec!["xyz".into(), "1".into()], vec!["—".into(), "".into()]],
        );
        assert_eq!(t, "A    BB\nxyz  1\n—\n");
    }
}
