//! YAML expressions compiled once (§1.9): the text with its `$reference` chains rewritten to
//! `__refN` names ([`crate::pattern::chain::rewrite`], as `prism check` reads them too) and
//! parsed into a Prism program. The plan carries the compiled form of its output expressions;
//! the executor binds each chain's value to its `__refN` and runs the program, so an
//! expression is never parsed at evaluation time.

use std::fmt;
use std::sync::Arc;

use crate::ast::Program;
use crate::diagnostic::SourceFile;
use crate::pattern::chain::{Rewritten, rewrite};

/// Why an expression does not parse: the parser's first error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprSyntaxError {
    /// The diagnostic code of the parser's error.
    pub code: &'static str,
    /// Its message.
    pub message: String,
}

/// A parsed expression: its reference chains and its program.
#[derive(Debug)]
pub struct ExprProgram {
    /// `(name, path)` of each chain, bound to `__ref0`, `__ref1`, … in the program.
    pub refs: Vec<(String, Vec<String>)>,
    /// The rewritten text, parsed.
    pub program: Program,
    /// The rewritten text as a source file (for the interpreter's spans).
    pub file: SourceFile,
}

#[derive(Debug)]
struct Inner {
    text: String,
    parsed: Result<ExprProgram, ExprSyntaxError>,
}

/// An expression compiled once, shared cheaply (clones share the program). One that does not
/// parse keeps its error, reported when it is evaluated, as a run-time error would be.
#[derive(Clone)]
pub struct CompiledExpr(Arc<Inner>);

impl CompiledExpr {
    /// Rewrites and parses `text`. The parse is not counted by [`crate::parser::parses`]: it
    /// is part of compiling the plan, not a parse a run does.
    pub fn compile(text: &str) -> Self {
        CompiledExpr::with_parser(text, crate::parser::parse_uncounted)
    }

    /// [`CompiledExpr::compile`] with the parser to use (the executor compiles the texts it
    /// meets at run time with the counted one).
    pub fn with_parser(text: &str, parse: fn(&str) -> crate::Parsed) -> Self {
        let Rewritten { source, refs } = rewrite(text);
        let parsed = parse(&source);
        let outcome = match parsed.diagnostics.iter().find(|d| d.is_error()) {
            Some(d) => Err(ExprSyntaxError {
                code: d.code,
                message: d.message.clone(),
            }),
            None => Ok(ExprProgram {
                refs,
                program: parsed.program,
                file: SourceFile::new("<expression>", source.as_str()),
            }),
        };
        CompiledExpr(Arc::new(Inner {
            text: text.to_string(),
            parsed: outcome,
        }))
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.0.text
    }

    /// The parsed program, or why the text does not parse.
    pub fn program(&self) -> Result<&ExprProgram, &ExprSyntaxError> {
        self.0.parsed.as_ref()
    }
}

impl fmt::Debug for CompiledExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CompiledExpr").field(&self.0.text).finish()
    }
}

/// Two compiled expressions are equal when their texts are (the program follows from it).
impl PartialEq for CompiledExpr {
    fn eq(&self, other: &Self) -> bool {
        self.0.text == other.0.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_become_names_and_errors_are_kept() {
        let e = CompiledExpr::compile("$vote.confidence > 0.5 && $input.x");
        let p = e.program().expect("parses");
        assert_eq!(
            p.refs,
            vec![
                ("vote".to_string(), vec!["confidence".to_string()]),
                ("input".to_string(), vec!["x".to_string()]),
            ]
        );
        assert_eq!(e.text(), "$vote.confidence > 0.5 && $input.x");
        let bad = CompiledExpr::compile("1 +");
        assert!(bad.program().is_err());
        assert_eq!(bad, CompiledExpr::compile("1 +"));
    }
}
