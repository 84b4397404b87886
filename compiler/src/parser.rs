//! The parser API: `parse(source) -> Parsed`.
use crate::ast::Program;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// The result of parsing one file: a syntax tree (with error nodes where the parser
/// recovered) and every diagnostic found.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses Prism source text.
pub fn parse(source: &str) -> Parsed {
    Parsed { program: Program { stmts: vec![], span: Span::new(0, source.len()) }, diagnostics: vec![] }
}

/// Parses a single Prism expression (used for expressions embedded in YAML patterns).
/// Spans are relative to `source`.
pub fn parse_expression(source: &str) -> Result<crate::ast::Expr, Vec<Diagnostic>> {
    let _ = source;
    Err(vec![Diagnostic::error(
        "prism::syntax::unsupported",
        "expression parsing is not available yet",
        Span::new(0, source.len()),
    )])
}
