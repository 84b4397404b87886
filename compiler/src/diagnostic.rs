//! The one diagnostic type of the toolchain: drawn by miette in the terminal and converted to
//! LSP diagnostics by `prism-lsp`.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, SourceCode};
use serde::Serialize;

use crate::snippet::{Excerpt, clamp_span, escape_controls};
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
        let excerpt = Excerpt::new(&self, file);
        Report {
            diag: self,
            excerpt,
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

/// A diagnostic with the excerpt of its source it draws, ready for miette to render.
pub struct Report {
    diag: Diagnostic,
    excerpt: Excerpt,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.diag, f)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_controls(&self.diag.message))
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
            .map(|h| Box::new(escape_controls(h)) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.excerpt)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.excerpt.labels.iter().map(|l| {
            if l.primary {
                LabeledSpan::new_primary_with_span(l.text.clone(), (l.offset, l.len))
            } else {
                LabeledSpan::new_with_span(l.text.clone(), (l.offset, l.len))
            }
        })))
    }
}

/// Most diagnostics reported for one file by every front door (the terminal, `--format json`
/// and `github`, the language server); the rest are summed up in one final diagnostic
/// ([`cap`], applied by the compiler's driver).
pub const MAX_DIAGNOSTICS: usize = 200;

/// Most diagnostics drawn for one file (the same cap as [`MAX_DIAGNOSTICS`]).
pub const MAX_RENDERED: usize = MAX_DIAGNOSTICS;

/// The code of the diagnostic that stands for those [`cap`] left out.
pub const TRUNCATED: &str = "prism::diagnostics::truncated";

/// How many diagnostics [`cap`] left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted {
    /// Errors left out.
    pub errors: usize,
    /// Warnings and hints left out.
    pub others: usize,
}

impl Omitted {
    /// All left out.
    pub fn total(&self) -> usize {
        self.errors + self.others
    }
}

/// Keeps the first [`MAX_DIAGNOSTICS`] of `diags` and replaces the rest with one diagnostic
/// (code [`TRUNCATED`]) saying how many were left out, placed where the first of them was.
/// `omitted` accumulates the counts, so capping a list again (after adding diagnostics to a
/// capped list) keeps them exact: an earlier summary is dropped and rebuilt.
pub fn cap(diags: &mut Vec<Diagnostic>, omitted: &mut Omitted) {
    let summary_at = diags
        .iter()
        .find(|d| d.code == TRUNCATED)
        .map(Diagnostic::primary_span);
    diags.retain(|d| d.code != TRUNCATED);
    let mut first = summary_at;
    if diags.len() > MAX_DIAGNOSTICS {
        let rest = diags.split_off(MAX_DIAGNOSTICS);
        let errors = rest.iter().filter(|d| d.is_error()).count();
        omitted.errors += errors;
        omitted.others += rest.len() - errors;
        let at = rest
            .iter()
            .map(|d| d.elsewhere.as_ref().map_or(d.primary_span(), |e| e.via))
            .min_by_key(|s| s.start);
        first = match (first, at) {
            (Some(a), Some(b)) => Some(if b.start < a.start { b } else { a }),
            (a, b) => a.or(b),
        };
    }
    if omitted.total() == 0 {
        return;
    }
    let message = format!(
        "{} more diagnostic(s) ({} error(s)), not shown: at most {MAX_DIAGNOSTICS} are reported per file",
        omitted.total(),
        omitted.errors
    );
    let at = first.unwrap_or_default().start as usize;
    let d = if omitted.errors > 0 {
        Diagnostic::error(TRUNCATED, message, Span::new(at, at))
    } else {
        Diagnostic::warning(TRUNCATED, message, Span::new(at, at))
    };
    diags.push(
        d.with_label("the first diagnostic not shown")
            .with_help("fix the ones above and check again"),
    );
}

/// Renders diagnostics for a terminal (no colour when `color` is false). A list longer than
/// [`MAX_DIAGNOSTICS`] that the driver did not cap is capped here, the same way.
pub fn render(diags: &[Diagnostic], file: &SourceFile, color: bool) -> String {
    // The caller decides about colour (`--color`, `NO_COLOR`, …): miette's default theme
    // would look at the environment again.
    let handler = if color {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode())
    } else {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
    };
    let capped;
    let diags = if diags.len() > MAX_DIAGNOSTICS && diags.last().is_none_or(|d| d.code != TRUNCATED)
    {
        let mut v = diags.to_vec();
        cap(&mut v, &mut Omitted::default());
        capped = v;
        &capped[..]
    } else {
        diags
    };
    let mut out = String::new();
    for d in diags {
        // A directive of an included pattern is drawn in its own file.
        let source = d.elsewhere.as_ref().map_or(file, |e| &e.file);
        let report = d.clone().with_source(source);
        let mut one = String::new();
        // miette formats columns with `{:width$}`, which panics past 65,535; the excerpt keeps
        // every line far narrower, and should a drawing still fail, a plain line replaces it.
        let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.render_report(&mut one, &report)
        }));
        match drawn {
            Ok(Ok(())) => out.push_str(&one),
            _ => out.push_str(&render_plain(d, source)),
        }
    }
    out
}

/// One diagnostic as a plain line: `file:line:col: severity[code]: message`.
pub fn render_plain(d: &Diagnostic, file: &SourceFile) -> String {
    let span = clamp_span(d.primary_span(), &file.text);
    let (line, col) = file.line_col(span.start);
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Hint => "hint",
    };
    format!(
        "{}:{line}:{col}: {severity}[{}]: {}\n",
        escape_controls(&file.name),
        d.code,
        escape_controls(&d.message)
    )
}

#[cfg(test)]
mod tests;
