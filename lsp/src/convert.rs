//! The one conversion of a compiler [`Diagnostic`] to an LSP diagnostic.

use prism_compiler::{Diagnostic, Severity};
use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri,
};

use crate::position::LineIndex;

/// Converts a diagnostic of the file at `uri` (whose text is `text`). The primary label's
/// span becomes the range, its text and the help are appended to the message, and secondary
/// labels become related information.
pub fn to_lsp(d: &Diagnostic, uri: &Uri, text: &str, lines: &LineIndex) -> lsp::Diagnostic {
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Hint => DiagnosticSeverity::HINT,
    };
    let primary = d.labels.iter().find(|l| l.primary);
    let mut message = d.message.clone();
    if let Some(l) = primary.filter(|l| !l.message.is_empty() && l.message != d.message) {
        message.push_str(&format!("\n{}", l.message));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(text, l.span)),
            message: l.message.clone(),
        })
        .collect();
    let mut diag = lsp::Diagnostic::new(
        lines.range(text, d.primary_span()),
        Some(severity),
        Some(NumberOrString::String(d.code.to_string())),
        Some("prism".to_string()),
        message,
        (!related.is_empty()).then_some(related),
        None,
    );
    if d.code == prism_compiler::analysis::codes::UNUSED {
        diag.tags = Some(vec![lsp::DiagnosticTag::UNNECESSARY]);
    }
    diag
}
