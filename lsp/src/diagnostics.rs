//! Every diagnostic of a document: syntax errors and lints of Prism programs, and for
//! patterns (YAML or annotated `.prism`) the pattern checks and the license gating of the
//! `schedule`, `persistence` and `versioning` directives, as `prism check` reports them (the
//! document's unit comes from the compiler's driver).

use prism_compiler::Diagnostic;

use crate::document::Document;

/// The diagnostics of `doc`, ordered by position: those of its unit, compiled by the
/// compiler's driver exactly as `prism check` compiles the file.
pub fn compute(doc: &Document) -> Vec<Diagnostic> {
    doc.unit
        .as_ref()
        .map(|u| u.diagnostics.clone())
        .unwrap_or_default()
}
