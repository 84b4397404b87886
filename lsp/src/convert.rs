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
    // A diagnostic of an included file sits on what includes it (the step), and points at
    // its place in that file.
    if let Some(e) = &d.elsewhere {
        let other = LineIndex::new(&e.file.text);
        let at = other.range(&e.file.text, d.primary_span());
        message = format!(
            "{}:{}:{}: {message}",
            e.file.name,
            at.start.line + 1,
            at.start.character + 1
        );
        let related = std::path::absolute(&*e.file.name)
            .ok()
            .and_then(|p| format!("file://{}", p.display()).parse::<Uri>().ok())
            .map(|u| {
                vec![DiagnosticRelatedInformation {
                    location: Location::new(u, at),
                    message: d.message.clone(),
                }]
            });
        return lsp::Diagnostic::new(
            lines.range(text, e.via),
            Some(severity),
            Some(NumberOrString::String(d.code.to_string())),
            Some("prism".to_string()),
            message,
            related,
            None,
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use prism_compiler::{SourceFile, Span};

    #[test]
    fn a_diagnostic_of_an_included_file_sits_on_the_step_and_points_at_the_file() {
        let parent = "name: p\nsteps:\n  - id: c\n    pattern: ./child.yaml\n";
        let child = SourceFile::new("/tmp/child.yaml", "name: c\nschedule: {}\n");
        let via = Span::new(35, 47);
        let d = Diagnostic::error(
            "prism::license::schedule",
            "needs a license",
            Span::new(8, 16),
        )
        .in_file(child, via);
        let uri: Uri = "file:///tmp/parent.yaml".parse().expect("uri");
        let lines = LineIndex::new(parent);
        let lsp = to_lsp(&d, &uri, parent, &lines);
        assert_eq!(lsp.range, lines.range(parent, via), "on the including step");
        assert!(
            lsp.message
                .starts_with("/tmp/child.yaml:2:1: needs a license"),
            "{}",
            lsp.message
        );
        let related = lsp.related_information.unwrap_or_default();
        assert_eq!(related.len(), 1);
        assert_eq!(related[0].location.uri.as_str(), "file:///tmp/child.yaml");
        assert_eq!(related[0].location.range.start.line, 1);
    }
}
