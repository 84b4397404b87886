//! The nesting limit, checked on the token stream before the grammar sees it.
//!
//! Everything after the parser (name analysis, early checks, the formatter, the interpreter,
//! dropping the tree) walks the syntax tree recursively, so a tree must not be deeper than
//! their stacks allow. The depth of a tree is bounded here, in one linear pass over the
//! tokens: each open bracket, block and `${` hole is a level, and so is each operator or
//! keyword chained in one expression (`a.b.c`, `1 + 2 + 3`, `- - x`, `x => y => z`, `else
//! if …`), since each of those nests the tree one deeper; a `,`, `;` or statement break starts
//! a sibling and gives its levels back. A file past [`MAX_NESTING`] gets one diagnostic and
//! is not parsed further.

use crate::diagnostic::Diagnostic;
use crate::lexer::{Spanned, Tok};
use crate::span::Span;

/// The deepest nesting accepted, in levels (brackets, blocks, holes and chained operators).
pub const MAX_NESTING: usize = 1000;

/// The most tokens a file may have: past it the file gets one diagnostic and is not parsed, so
/// that no input keeps the parser busy for long. A 5 MB program of ordinary code has about 2.3
/// million tokens and passes; a 10 MB one-line literal has five million and does not (data that
/// large belongs in a JSON file read at run time).
pub const MAX_TOKENS: usize = 4_000_000;

/// The diagnostic code of a file with more than [`MAX_TOKENS`] tokens.
pub const TOO_LARGE: &str = "prism::syntax::too-large";

/// A file with more than [`MAX_TOKENS`] tokens, at the first token past the limit.
pub fn too_large(span: Span) -> Diagnostic {
    Diagnostic::error(
        TOO_LARGE,
        format!("file too large: more than {MAX_TOKENS} tokens"),
        span,
    )
    .with_label("the limit is reached here")
    .with_help("split the program into modules, or read large data from a JSON file")
}

/// The diagnostic code of a file nested too deeply.
pub const TOO_DEEP: &str = "prism::syntax::too-deep";

/// Where the nesting first goes past the limit, as a diagnostic.
pub fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        TOO_DEEP,
        format!("nesting too deep: more than {MAX_NESTING} levels of brackets, blocks or chained operators"),
        span,
    )
    .with_label("the limit is reached here")
    .with_help("split it: give inner parts names with `let`, or build deep data in a loop")
}

/// The nesting of a token stream: where it passes the limit, if it does, and the level at each
/// template token (whose holes are parsed on their own, starting from that level).
#[derive(Debug, Default)]
pub struct Nesting {
    /// Where the file goes past a limit: too deep, or (with `too_large`) too many tokens.
    pub too_deep: Option<Span>,
    pub too_large: bool,
    pub templates: Vec<(usize, usize)>,
}

/// Measures `toks`, starting at level `base` (the level of the enclosing hole).
pub fn measure(toks: &[Spanned], base: usize) -> Nesting {
    let mut out = Nesting::default();
    if let Some((start, _, end)) = toks.get(MAX_TOKENS) {
        out.too_deep = Some(Span::new(*start, *end));
        out.too_large = true;
        return out;
    }
    // Levels used by each enclosing bracket's own segment, and by the current one.
    let mut stack: Vec<usize> = Vec::new();
    let mut current = 0usize;
    let mut total = base;
    for (start, tok, end) in toks {
        match tok {
            Tok::LParen
            | Tok::LambdaParen
            | Tok::CondParen
            | Tok::LBrace
            | Tok::BlockBrace
            | Tok::LBracket => {
                current += 1;
                total += 1;
                stack.push(current);
                current = 0;
            }
            Tok::RParen | Tok::RBrace | Tok::RBracket => {
                total -= current;
                current = stack.pop().unwrap_or(0);
            }
            Tok::Comma | Tok::Semi | Tok::Newline => {
                total -= current;
                current = 0;
            }
            Tok::Template(_) => out.templates.push((*start, total + 1)),
            Tok::Number(_)
            | Tok::Str(_)
            | Tok::Ident(_)
            | Tok::True
            | Tok::False
            | Tok::Null
            | Tok::Undefined
            | Tok::Placeholder
            | Tok::Comment => {}
            _ => {
                current += 1;
                total += 1;
            }
        }
        if total > MAX_NESTING {
            out.too_deep = Some(Span::new(*start, *end));
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::layout;
    use crate::lexer::lex;

    fn depth_ok(src: &str) -> bool {
        let (raw, _) = lex(src);
        measure(&layout(src, raw, false), 0).too_deep.is_none()
    }

    #[test]
    fn siblings_give_their_levels_back() {
        let list = format!("let a = [{}]", vec!["[1, 2]"; 5000].join(", "));
        assert!(depth_ok(&list));
        let program = "function f() {\n  let x = g(1 + 2 + 3)\n}\n".repeat(5000);
        assert!(depth_ok(&program));
        let closed = format!("{}{}\n", "[".repeat(900), "]".repeat(900)).repeat(10);
        assert!(depth_ok(&closed));
    }

    #[test]
    fn deep_brackets_and_chains_are_caught() {
        for deep in [
            format!("let x = {}", "[".repeat(1001)),
            format!("let x = {}1{}", "(".repeat(1001), ")".repeat(1001)),
            format!("let x = 1{}", " + 1".repeat(1001)),
            format!("let x = a{}", ".b".repeat(1001)),
            format!("let x = {}1", "- ".repeat(1001)),
            format!("let x = true\n{}", "if (x) {} else ".repeat(600)),
        ] {
            assert!(!depth_ok(&deep), "{}", &deep[..40]);
        }
    }
}
