//! The Prism front end: lexer, parser, syntax tree, diagnostics, YAML patterns and execution
//! plans. Data flows one way: source → tokens → AST → checked program / plan.

pub mod agents_file;
pub mod analysis;
pub mod ast;
pub mod builtins;
pub mod comments;
pub mod diagnostic;
pub mod driver;
pub mod early;
pub mod format;
pub mod gate;
mod grammar_support;
pub mod layout;
pub mod lexer;
pub mod nesting;
pub mod parser;
pub mod pattern;
pub mod plan;
pub mod sexpr;
pub mod snippet;
pub mod source;
pub mod span;
pub mod stdlib;
pub mod visit;

pub use diagnostic::{Diagnostic, Severity, SourceFile};
pub use parser::{Parsed, parse, parse_expression};
pub use span::Span;
