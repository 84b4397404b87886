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
