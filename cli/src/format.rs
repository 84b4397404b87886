//! Diagnostic output formats for CI: human (miette), JSON, and GitHub Actions annotations.

use clap::ValueEnum;
use prism_compiler::{Diagnostic, Severity, SourceFile};
use serde_json::json;

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Drawn with the source line and labels.
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
}

/// A diagnostic as JSON with 1-based positions.
pub fn diagnostic_json(d: &Diagnostic, file: &SourceFile) -> serde_json::Value {
    // A directive of an included pattern is reported in its own file.
    let file = d.elsewhere.as_ref().map_or(file, |e| &e.file);
    let span = d.primary_span();
    let (line, column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end);
    json!({
        "file": &*file.name,
        "severity": severity_name(d.severity),
        "code": d.code,
        "message": d.message,
        "line": line,
        "column": column,
        "endLine": end_line,
        "endColumn": end_column,
        "labels": d.labels.iter().map(|l| json!({
            "message": l.message,
            "primary": l.primary,
            "start": file.line_col(l.span.start),
            "end": file.line_col(l.span.end),
        })).collect::<Vec<_>>(),
        "help": d.help,
    })
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Hint => "notice",
    }
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A diagnostic as a GitHub Actions workflow command.
pub fn diagnostic_github(d: &Diagnostic, file: &SourceFile) -> String {
    let file = d.elsewhere.as_ref().map_or(file, |e| &e.file);
    let span = d.primary_span();
    let (line, col) = file.line_col(span.start);
    let (end_line, end_col) = file.line_col(span.end);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}",
        severity_name(d.severity),
        escape_property(&file.name),
        escape_property(d.code),
        escape_data(&message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use prism_compiler::Span;

    #[test]
    fn github_annotations_escape_newlines_and_commas() {
        let file = SourceFile::new("a,b.prism", "let x = \n");
        let d = Diagnostic::error("prism::syntax::expected", "one\ntwo", Span::new(4, 5));
        let line = diagnostic_github(&d, &file);
        assert_eq!(
            line,
            "::error file=a%2Cb.prism,line=1,col=5,endLine=1,endColumn=6,title=prism%3A%3Asyntax%3A%3Aexpected::one%0Atwo"
        );
    }
}
