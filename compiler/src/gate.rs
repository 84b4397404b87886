//! License gating of plan directives (license.md "Gating rule"): each `schedule`,
//! `persistence` or `versioning` directive that the edition does not grant becomes an error on
//! the directive's key or header tag. The same diagnostics serve `prism build`, `check`, `run`
//! and the language server.

use prism_license::{Directive as Licensed, License};

use crate::diagnostic::Diagnostic;
use crate::pattern::Loaded;
use crate::pattern::directives::{Directive, DirectiveKind};

/// The directives of a loaded pattern file.
pub fn directives_of(loaded: &Loaded) -> &[Directive] {
    match loaded {
        Loaded::Yaml(p) => &p.meta.directives,
        Loaded::OrgChart(p) => &p.meta.directives,
        Loaded::Prism(p) => &p.meta.directives,
    }
}

fn licensed(kind: DirectiveKind) -> Licensed {
    match kind {
        DirectiveKind::Schedule => Licensed::Schedule,
        DirectiveKind::Persistence => Licensed::Persistence,
        DirectiveKind::Versioning => Licensed::Versioning,
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
