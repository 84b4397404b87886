//! The parser API: [`parse`] a file into a [`Program`] with every diagnostic found, or
//! [`parse_expression`] for a lone expression. The grammar lives in `grammar/prism.lalrpop`.

use lalrpop_util::lalrpop_mod;

use crate::ast::{Expr, ExprKind, Program};
use crate::diagnostic::Diagnostic;
use crate::grammar_support::{Ctx, codes};
use crate::layout::layout_noting_joins;
use crate::lexer::{LexIssue, Spanned, lex_at};
use crate::nesting::{Nesting, measure, too_deep, too_large};
use crate::span::Span;

lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        unused_parens,
        unused_imports,
        dead_code,
        missing_docs
    )]
    grammar,
    "/prism.rs"
);

/// The result of parsing one file: a syntax tree (with error nodes where the parser
/// recovered) and every diagnostic found.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

fn lex_diagnostics(source: &str, issues: Vec<LexIssue>) -> Vec<Diagnostic> {
    issues
        .into_iter()
        .map(|i| {
            let text = source
                .get(i.span.start as usize..i.span.end as usize)
                .unwrap_or("");
            Diagnostic::error(codes::LEX, i.error.message(text), i.span)
                .with_label("this cannot be read")
        })
        .collect()
}

/// Tokens after layout, the diagnostics found so far and their nesting.
fn tokens(
    source: &str,
    start: usize,
    end: usize,
    expression: bool,
    base: usize,
) -> (Vec<Spanned>, Vec<Diagnostic>, Nesting) {
    let text = source.get(start..end).unwrap_or("");
    let (raw, issues) = lex_at(text, start);
    let mut diags = lex_diagnostics(source, issues);
    let (toks, joins) = layout_noting_joins(source, raw, expression);
    diags.extend(joins.into_iter().map(|span| {
        Diagnostic::warning(
            codes::JOINED,
            "a statement starts here, on the line of the one before",
            span,
        )
        .with_label("read as a new statement")
        .with_help("put a `;` or a line break before it if that is what you mean; otherwise an operator or `,` is missing")
    }));
    let nesting = measure(&toks, base);
    if let Some(span) = nesting.too_deep {
        diags.push(if nesting.too_large {
            too_large(span)
        } else {
            too_deep(span)
        });
    }
    (toks, diags, nesting)
}

/// The tokens of `source[start..end]` after layout (what [`tokens`] gives the parser).
pub(crate) fn laid_out(source: &str, start: usize, end: usize, expression: bool) -> Vec<Spanned> {
    let text = source.get(start..end).unwrap_or("");
    layout_noting_joins(source, lex_at(text, start).0, expression).0
}

/// How many times [`parse`] has run in this process: tests use it to check that a file is
/// parsed once per run, and that a pattern's expressions are not parsed again on every
/// evaluation.
pub fn parses() -> usize {
    PARSES.load(std::sync::atomic::Ordering::Relaxed)
}

static PARSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Parses Prism source text. Never fails: syntax errors become diagnostics and error nodes,
/// and parsing resumes at the next statement.
pub fn parse(source: &str) -> Parsed {
    PARSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    parse_uncounted(source)
}

/// [`parse`], not counted by [`parses`]: how `prism check` tries a YAML expression in the
/// form the executor will parse it (the count is of the parses a run does).
pub fn parse_uncounted(source: &str) -> Parsed {
    let (toks, mut diagnostics, nesting) = tokens(source, 0, source.len(), false, 0);
    if nesting.too_deep.is_some() {
        diagnostics.sort_by_key(|d| d.primary_span().start);
        return Parsed {
            program: Program {
                stmts: Vec::new(),
                span: Span::new(0, source.len()),
            },
            diagnostics,
        };
    }
    let ctx = Ctx::new(source, (0, source.len(), false), nesting.templates);
    let result = grammar::ProgramParser::new().parse(&ctx, toks);
    let program = match result {
        Ok(p) => p,
        Err(e) => {
            ctx.report(ctx.syntax_error(e));
            Program {
                stmts: Vec::new(),
                span: Span::new(0, source.len()),
            }
        }
    };
    diagnostics.extend(ctx.diags.into_inner());
    diagnostics.extend(crate::early::check(&program, source));
    diagnostics.sort_by_key(|d| d.primary_span().start);
    Parsed {
        program,
        diagnostics,
    }
}

/// Parses a single Prism expression (used for expressions embedded in YAML patterns).
/// Spans are relative to `source`.
pub fn parse_expression(source: &str) -> Result<Expr, Vec<Diagnostic>> {
    let (e, diags) = parse_hole(source, 0, source.len(), 0);
    if diags.iter().any(Diagnostic::is_error) {
        Err(diags)
    } else {
        Ok(e)
    }
}

/// Parses the expression in `source[start..end]` (a `${…}` hole at nesting level `level`),
/// with spans into `source`.
pub(crate) fn parse_hole(
    source: &str,
    start: usize,
    end: usize,
    level: usize,
) -> (Expr, Vec<Diagnostic>) {
    let (toks, mut diags, nesting) = tokens(source, start, end, true, level);
    if nesting.too_deep.is_some() {
        return (Expr::new(ExprKind::Error, Span::new(start, end)), diags);
    }
    let ctx = Ctx::new(source, (start, end, true), nesting.templates);
    let result = grammar::SingleExprParser::new().parse(&ctx, toks);
    let e = match result {
        Ok(e) => e,
        Err(err) => {
            ctx.report(ctx.syntax_error(err));
            Expr::new(ExprKind::Error, Span::new(start, end))
        }
    };
    diags.extend(ctx.diags.into_inner());
    (e, diags)
}

#[cfg(test)]
mod symbol_size_tests {
    use std::mem::size_of;

    use crate::ast::{
        Arg, ArrayElem, Block, Expr, FunctionBody, Ident, MatchPattern, Pattern, Stmt,
    };
    use crate::grammar_support::InfixOp;
    use crate::lexer::{LexIssue, Tok};

    /// The parser's stack holds one enum of every value a grammar rule returns, as large as
    /// the largest of them, and moves it on every reduction. The error-recovery value is the
    /// one that cannot be boxed; every other value the grammar returns unboxed stays within it
    /// (larger ones are boxed in the grammar: declarators, catch clauses, match items).
    #[test]
    fn grammar_values_fit_in_the_error_recovery_value() {
        let floor = size_of::<lalrpop_util::ErrorRecovery<usize, Tok, LexIssue>>();
        for (name, size) in [
            ("Stmt", size_of::<Stmt>()),
            ("Option<Stmt>", size_of::<Option<Stmt>>()),
            ("Expr", size_of::<Expr>()),
            ("Pattern", size_of::<Pattern>()),
            ("Block", size_of::<Block>()),
            ("Arg", size_of::<Arg>()),
            ("ArrayElem", size_of::<ArrayElem>()),
            ("(InfixOp, Expr)", size_of::<(InfixOp, Expr)>()),
            ("MatchPattern", size_of::<MatchPattern>()),
            ("Ident", size_of::<Ident>()),
            ("FunctionBody", size_of::<FunctionBody>()),
        ] {
            assert!(
                size <= floor,
                "{name} is {size} bytes, over {floor}: box it in the grammar"
            );
        }
    }
}
