//! The one diagnostic type of the toolchain: drawn by miette in the terminal and converted to
//! LSP diagnostics by `prism-lsp`.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use serde::Serialize;

use crate::span::{LineIndex, Span};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Hint,
    Warning,
    Error,
}

/// A labelled region of the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The primary label marks where the problem is; secondary ones give context.
    pub primary: bool,
}

/// A problem found in a source file, with a stable code such as `prism::syntax::expected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Set when the labels are in another file than the one being compiled: a directive of
    /// an included pattern, reported where it is written.
    #[serde(skip)]
    pub elsewhere: Option<Box<Elsewhere>>,
}

/// Where a diagnostic of another file is: that file, and the span of the file being compiled
/// that brought it in (the step that includes the pattern), for tools that show one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// The file the labels are in.
    pub file: SourceFile,
    /// The span, in the file being compiled, that leads to it.
    pub via: Span,
}

impl Diagnostic {
    /// An error with a primary label.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Self::new(Severity::Error, code, message, span)
    }

    /// A warning with a primary label.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Self::new(Severity::Warning, code, message, span)
    }

    fn new(severity: Severity, code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            labels: vec![Label {
                span,
                message: String::new(),
                primary: true,
            }],
            help: None,
            elsewhere: None,
        }
    }

    /// The diagnostic with its labels in `file` (not the file being compiled), brought in by
    /// `via` of the file being compiled.
    pub fn in_file(mut self, file: SourceFile, via: Span) -> Self {
        self.elsewhere = Some(Box::new(Elsewhere { file, via }));
        self
    }

    /// Sets the text of the primary label.
    pub fn with_label(mut self, text: impl Into<String>) -> Self {
        if let Some(l) = self.labels.iter_mut().find(|l| l.primary) {
            l.message = text.into();
        }
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: text.into(),
            primary: false,
        });
        self
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The span of the primary label (an empty span at 0 if none).
    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
            .unwrap_or_default()
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Attaches the source so miette can draw the diagnostic.
    pub fn with_source(self, file: &SourceFile) -> Report {
        Report {
            diag: self,
            source: file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// A source file: its name and text, shared cheaply.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: Arc<str>,
    pub text: Arc<str>,
    lines: Arc<LineIndex>,
}

/// Two source files are equal when their names and texts are.
impl PartialEq for SourceFile {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.text == other.text
    }
}

impl Eq for SourceFile {}

impl SourceFile {
    /// A named source text.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let lines = Arc::new(LineIndex::new(&text));
        SourceFile {
            name: name.into(),
            text,
            lines,
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        self.lines.line_col(&self.text, offset)
    }

    /// The line index of this file.
    pub fn line_index(&self) -> &LineIndex {
        &self.lines
    }
}

/// miette reads the lines around a label through the line index: only those lines are
/// scanned, so drawing each of thousands of diagnostics of a large file stays cheap (miette's
/// own `[u8]` source counts lines from the start of the file for every label).
impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.text.as_bytes();
        let start = span.offset();
        let end = start + span.len();
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        // A window of whole lines, one more on each side than miette asks for, starting at a
        // line start: inside it miette finds the same context as in the whole file.
        let first = self
            .lines
            .line_of(start as u32)
            .saturating_sub(context_lines_before + 1);
        let last = self.lines.line_of(end as u32) + context_lines_after + 2;
        let window_start = self.lines.line_start(first).map_or(0, |s| s as usize);
        let window_end = self
            .lines
            .line_start(last)
            .map_or(text.len(), |s| s as usize);
        let window = &text[window_start..window_end];
        let inner = window.read_span(
            &SourceSpan::new((start - window_start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        let found = *inner.span();
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.to_string(),
                inner.data(),
                SourceSpan::new((found.offset() + window_start).into(), found.len()),
                inner.line() + first,
                inner.column(),
                inner.line_count() + first,
            )
            .with_language("prism"),
        ))
    }
}

/// A diagnostic with its source attached, ready for miette to render.
#[derive(Debug)]
pub struct Report {
    diag: Diagnostic,
    source: SourceFile,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Hint => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_deref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text_len = self.source.text.len();
        Some(Box::new(self.diag.labels.iter().map(move |l| {
            let start = (l.span.start as usize).min(text_len);
            let len = l.span.len().min(text_len - start);
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, (start, len))
            } else {
                LabeledSpan::new_with_span(text, (start, len))
            }
        })))
    }
}

/// Renders diagnostics for a terminal (no colour when `color` is false).
pub fn render(diags: &[Diagnostic], file: &SourceFile, color: bool) -> String {
    // The caller decides about colour (`--color`, `NO_COLOR`, …): miette's default theme
    // would look at the environment again.
    let handler = if color {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode())
    } else {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
    };
    let mut out = String::new();
    for d in diags {
        let source = d.elsewhere.as_ref().map_or(file, |e| &e.file);
        let report = d.clone().with_source(source);
        // Writing to a String cannot fail.
        let _ = handler.render_report(&mut out, &report);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The windowed reader gives exactly what miette's whole-file reader gives, for every span
    /// of a text with empty lines, CRLF, a missing final newline and multi-byte characters.
    #[test]
    fn windowed_read_span_matches_miettes() {
        let text = "let a = 1\n\nlet é = \"ü\"\r\nprint(a)\n  x ~> 0.5\n\n\nend";
        let file = SourceFile::new("t.prism", text);
        let whole = text.as_bytes();
        for start in 0..=text.len() {
            for end in start..=text.len() {
                if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    continue;
                }
                let span = SourceSpan::new(start.into(), end - start);
                for before in 0..3 {
                    for after in 0..3 {
                        let ours = file.read_span(&span, before, after).expect("in bounds");
                        let theirs = whole.read_span(&span, before, after).expect("in bounds");
                        let at = format!("{start}..{end} ±{before}/{after}");
                        assert_eq!(ours.data(), theirs.data(), "{at}");
                        assert_eq!(ours.span(), theirs.span(), "{at}");
                        assert_eq!(ours.line(), theirs.line(), "{at}");
                        assert_eq!(ours.column(), theirs.column(), "{at}");
                        assert_eq!(ours.line_count(), theirs.line_count(), "{at}");
                    }
                }
            }
        }
        let past_end = SourceSpan::new(text.len().into(), 1);
        assert!(file.read_span(&past_end, 0, 0).is_err());
    }
}
