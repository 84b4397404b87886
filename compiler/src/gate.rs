//! License gating of plan directives (license.md "Gating rule"): each `schedule`,
//! `persistence` or `versioning` directive that the edition does not grant becomes an error on
//! the directive's key or header tag. The same diagnostics serve `prism build`, `check`, `run`
//! and the language server.

use prism_license::{Directive as Licensed, License};

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::pattern::directives::{Directive, DirectiveKind};
pub use crate::pattern::included::{Reached, carried, directives_of, reached};

fn licensed(kind: DirectiveKind) -> Licensed {
    match kind {
        DirectiveKind::Schedule => Licensed::Schedule,
        DirectiveKind::Persistence => Licensed::Persistence,
        DirectiveKind::Versioning => Licensed::Versioning,
    }
}

/// The license gate of directives that included patterns carry: each one the edition does
/// not grant is an error on the directive in its own file, with a note naming the step of
/// `file` that includes it. Where the license grants it, a nested `schedule` (which fires
/// only when its own pattern is served) and a nested `versioning.rollback` (the step's
/// version range pins what runs) get a warning saying so: nothing is dropped unseen.
pub fn gate_reached(
    reached: &[Reached<'_>],
    file: &SourceFile,
    license: &License,
) -> Vec<Diagnostic> {
    reached
        .iter()
        .filter_map(|r| {
            let d = &r.included.directive;
            let (line, col) = file.line_col(r.span.start);
            let mut via = format!(
                "included by step `{}` of {}:{line}:{col}",
                r.step, file.name
            );
            for t in &r.included.through {
                via.push_str(&format!(", through {t}"));
            }
            let diag = match license.check(licensed(d.kind)) {
                Err(denial) => {
                    let mut help = vec![via, denial.note.clone()];
                    help.extend(denial.help.iter().cloned());
                    Diagnostic::error(denial.code, denial.message.clone(), d.span)
                        .with_label(denial.label.clone())
                        .with_help(help.join("\n"))
                }
                Ok(()) => nested_note(d)?.with_help(via),
            };
            Some(diag.in_file(r.included.file.clone(), r.span))
        })
        .collect()
}

/// What a granted directive means inside another pattern, where it differs from running the
/// pattern alone.
fn nested_note(d: &Directive) -> Option<Diagnostic> {
    match d.kind {
        DirectiveKind::Schedule => Some(Diagnostic::warning(
            crate::pattern::codes::NESTED_DIRECTIVE,
            "this `schedule` does not fire from the including pattern: there the pattern runs when its step runs; serve this file itself for the schedule",
            d.span,
        )),
        DirectiveKind::Versioning if d.config.get("rollback").is_some() => {
            Some(Diagnostic::warning(
                crate::pattern::codes::NESTED_DIRECTIVE,
                "`versioning.rollback` does not apply where this pattern is included: the including step runs the file it resolved (pin a stored version with `pattern: name@version`)",
                d.span,
            ))
        }
        _ => None,
    }
}

/// One error per directive the license does not grant, in source order.
pub fn gate(directives: &[Directive], license: &License) -> Vec<Diagnostic> {
    directives
        .iter()
        .filter_map(|d| {
            let denial = license.check(licensed(d.kind)).err()?;
            let mut help = vec![denial.note.clone()];
            help.extend(denial.help.iter().cloned());
            Some(
                Diagnostic::error(denial.code, denial.message.clone(), d.span)
                    .with_label(denial.label.clone())
                    .with_help(help.join("\n")),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn directive(kind: DirectiveKind) -> Directive {
        Directive {
            kind,
            config: serde_json::Value::Bool(true),
            span: Span::new(3, 9),
        }
    }

    #[test]
    fn open_source_refuses_every_directive_with_its_code() {
        let license = License::open_source();
        let diags = gate(
            &[
                directive(DirectiveKind::Schedule),
                directive(DirectiveKind::Persistence),
                directive(DirectiveKind::Versioning),
            ],
            &license,
        );
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                "prism::license::schedule",
                "prism::license::persistence",
                "prism::license::versioning"
            ]
        );
        assert!(
            diags
                .iter()
                .all(|d| d.is_error() && d.primary_span() == Span::new(3, 9))
        );
        assert!(
            diags[0].message.contains("scheduled_patterns"),
            "{}",
            diags[0].message
        );
    }
}

#[cfg(test)]
mod nested_tests {
    use super::*;
    use crate::pattern::CompileOptions;
    use crate::pattern::compile_file_with;

    /// A parent including a child with `schedule` and `versioning.rollback`: refused in the
    /// child's file without a license; with one, a warning says what each means there.
    #[test]
    fn included_directives_are_gated_or_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = "name: child\ninput: {}\nagents: {capabilities: [x]}\noutput: {r: $result}\nschedule: {interval: 1h}\nversioning: {rollback: 1.0.0}\n";
        std::fs::write(dir.path().join("child.yaml"), child).expect("child");
        let parent = "name: parent\ninput: {}\nsteps:\n  - id: c\n    pattern: ./child.yaml\noutput: {r: $c}\n";
        let path = dir.path().join("parent.yaml");
        let out = compile_file_with(&path, parent, &CompileOptions::default());
        let loaded = out.loaded.expect("loaded");
        let reached = reached(&loaded);
        assert_eq!(reached.len(), 2);
        let file = SourceFile::new("parent.yaml", parent);

        let refused = gate_reached(&reached, &file, &License::open_source());
        assert_eq!(refused.len(), 2);
        assert!(refused.iter().all(Diagnostic::is_error));
        let first = &refused[0];
        let elsewhere = first.elsewhere.as_ref().expect("in the child's file");
        assert!(elsewhere.file.name.ends_with("child.yaml"));
        assert_eq!(
            &parent[elsewhere.via.start as usize..elsewhere.via.end as usize],
            "./child.yaml"
        );
        assert!(
            first
                .help
                .as_deref()
                .unwrap_or_default()
                .contains("included by step `c` of parent.yaml:5:14")
        );

        let enterprise = License {
            edition: prism_license::Edition::Enterprise,
            ..License::open_source()
        };
        let explained = gate_reached(&reached, &file, &enterprise);
        assert_eq!(explained.len(), 2);
        assert!(explained.iter().all(|d| !d.is_error()));
        assert!(explained[0].message.contains("does not fire"));
        assert!(explained[1].message.contains("rollback"));
    }
}
