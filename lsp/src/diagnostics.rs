//! Every diagnostic of a document: syntax errors and lints of Prism programs, and for
//! patterns (YAML or annotated `.prism`) the pattern checks and the license gating of the
//! `schedule`, `persistence` and `versioning` directives, as `prism check` reports them.

use prism_compiler::pattern::{CompileOptions, compile_file_with, load_file};
use prism_compiler::{Diagnostic, gate};
use prism_license::License;

use crate::document::{DocKind, Document, compile_path};

/// The diagnostics of `doc`, ordered by position.
pub fn compute(doc: &Document, license: &License, options: &CompileOptions) -> Vec<Diagnostic> {
    let mut out = match doc.kind {
        DocKind::Other => return Vec::new(),
        DocKind::Prism => doc
            .analysis
            .as_ref()
            .map(|a| a.diagnostics())
            .unwrap_or_default(),
        DocKind::YamlPattern => Vec::new(),
        DocKind::Agents => prism_compiler::agents_file::check(&doc.text),
    };
    let is_pattern = match doc.kind {
        DocKind::YamlPattern => true,
        DocKind::Prism => has_pattern_header(&doc.text),
        DocKind::Other | DocKind::Agents => false,
    };
    if is_pattern {
        let path = compile_path(&doc.uri, doc.kind);
        let compiled = compile_file_with(&path, &doc.text, options);
        let gated = match &compiled.plan {
            Some(plan) => gate::gate(plan.directives(), license),
            None => match load_file(&path, &doc.text).0 {
                Some(loaded) => gate::gate(gate::directives_of(&loaded), license),
                None => Vec::new(),
            },
        };
        for d in compiled.diagnostics.into_iter().chain(gated) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        if doc.kind == DocKind::Prism {
            // Patterns define helpers after use; the pattern checks report names themselves.
            out.retain(|d| d.code != crate::analysis::codes::UNDEFINED);
        }
    }
    out.sort_by_key(|d| d.primary_span().start);
    out
}

/// Does this `.prism` text start with a pattern header (a `/** … */` comment with `@tags`)?
pub fn has_pattern_header(text: &str) -> bool {
    let trimmed = text.trim_start();
    let Some(rest) = trimmed.strip_prefix("/**") else {
        return false;
    };
    let body = rest.split("*/").next().unwrap_or("");
    body.lines().any(|l| {
        let l = l.trim_start().trim_start_matches('*').trim_start();
        l.strip_prefix('@')
            .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
    })
}
