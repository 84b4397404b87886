//! The layout pass between the lexer and the grammar.
//!
//! Prism, like JavaScript, separates statements by line breaks; an expression goes on across a
//! line break when the next line starts with something that can only continue it (`.`, `?`,
//! `:`, a binary operator, `(`, `[` …). This pass makes those decisions, and resolves the few
//! places where an LR(1) grammar cannot tell two readings apart by looking one token ahead:
//!
//! * a line break that ends a statement becomes [`Tok::Newline`]; a separator is also put
//!   before the `}` that closes a block and at the end of the input, so every simple
//!   statement in the grammar ends with one;
//! * `{` opening a block becomes [`Tok::BlockBrace`]; `{` opening an object literal or an
//!   object pattern stays [`Tok::LBrace`] (statement-level `{a, b} = o` is a pattern);
//! * `(` opening arrow-function parameters becomes [`Tok::LambdaParen`]; `(` around the
//!   condition of `if`/`while`/`for` becomes [`Tok::CondParen`];
//! * `match` before a subject becomes [`Tok::Match`], `_` becomes [`Tok::Placeholder`].

use std::sync::Arc;

use crate::lexer::{Spanned, Tok};
use crate::span::Span;

/// Which kind of bracket is open.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Open {
    Block,
    /// The block of an `uncertain` statement, holding its `high { … }` branches.
    Branches,
    Object,
    Paren,
    Bracket,
}

/// Runs the layout pass. `expression_mode` starts as if an expression is expected (used for
/// `${…}` holes and expressions embedded in YAML).
pub fn layout(source: &str, raw: Vec<Spanned>, expression_mode: bool) -> Vec<Spanned> {
    layout_noting_joins(source, raw, expression_mode).0
}

/// [`layout`], also giving where a statement starts on the line of the one before without
/// `;` (`a b`, `print(1) print(2)`): the reference reads these as two statements, and so do
/// we, but they are worth a warning.
pub fn layout_noting_joins(
    source: &str,
    mut raw: Vec<Spanned>,
    expression_mode: bool,
) -> (Vec<Spanned>, Vec<Span>) {
    let mut l = Layout {
        closers: Closers::of(&raw),
        closes_condition: vec![false; raw.len()],
        joins: Vec::new(),
        out: Vec::with_capacity(raw.len() + raw.len() / 4),
        stack: Vec::new(),
        match_brace_pending: false,
        uncertain_at: None,
        after_for: false,
        after_if_or_while: false,
        expression_mode,
    };
    // Where the space before the current token starts (a first token has none to look at:
    // nothing comes before it that a line break could end).
    let mut gap_start = raw.first().map_or(0, |t| t.0);
    for i in 0..raw.len() {
        let (start, end) = (raw[i].0, raw[i].2);
        // Moved out: the stand-in left behind is never read (tokens behind the current one
        // are no longer there to look at; every look into `raw` is ahead).
        let owned = std::mem::replace(&mut raw[i].1, Tok::Eof);
        let line_break = source
            .get(gap_start..start)
            .is_some_and(|gap| gap.contains('\n'));
        l.separate(&raw, i, &owned, (gap_start, start, end), line_break);
        let laid = l.classify(&raw, i, &owned);
        l.after_for = matches!(owned, Tok::For);
        l.after_if_or_while = matches!(owned, Tok::If | Tok::While);
        l.out.push((start, laid.unwrap_or(owned), end));
        gap_start = end;
    }
    let mut out = l.out;
    if !expression_mode && out.last().is_some_and(|t| ends_statement(&t.1)) {
        let end = source.len();
        out.push((end, Tok::Newline, end));
    }
    (out, l.joins)
}

/// The state of the layout pass between tokens.
struct Layout {
    closers: Closers,
    /// For each `)`, whether its `(` opened the condition of `if`/`while`/`for`.
    closes_condition: Vec<bool>,
    joins: Vec<Span>,
    out: Vec<Spanned>,
    stack: Vec<Open>,
    match_brace_pending: bool,
    /// The bracket depth of the `uncertain` statement whose branches block comes next.
    uncertain_at: Option<usize>,
    /// The raw token before the current one was `for`, or `if`/`while` (its `(` opens a
    /// condition).
    after_for: bool,
    after_if_or_while: bool,
    expression_mode: bool,
}

impl Layout {
    /// Puts a statement separator before the token at `i` (span `start..end`, after the gap
    /// from `gap_start`) where one statement ends and the next begins.
    #[inline]
    fn separate(
        &mut self,
        raw: &[Spanned],
        i: usize,
        tok: &Tok,
        (gap_start, start, end): (usize, usize, usize),
        line_break: bool,
    ) {
        // Recovery: a statement keyword at the start of a line cannot be inside brackets, so
        // a bracket left open above is not closed; resume statement layout.
        if line_break && starts_statement_only(tok) {
            while matches!(
                self.stack.last(),
                Some(Open::Paren | Open::Bracket | Open::Object)
            ) {
                self.stack.pop();
            }
        }
        let prev = self.out.last().map(|t| &t.1);
        let in_block = matches!(self.stack.last(), None | Some(Open::Block | Open::Branches));
        if self.expression_mode || !in_block || !prev.is_some_and(ends_statement) {
            return;
        }
        let closes_block = matches!(tok, Tok::RBrace)
            && matches!(self.stack.last(), Some(Open::Block | Open::Branches));
        let continues = match prev {
            // `break`/`continue` take nothing: the next line is a new statement.
            Some(Tok::Break | Tok::Continue) => false,
            // As in the reference, `return` takes the expression that follows, even on the
            // next line; only what cannot start one ends it.
            Some(Tok::Return) => starts_expression(tok) || continues_expression(tok),
            // `in context …` at the start of a line is a statement, not `x in y`.
            _ if matches!(tok, Tok::In) && starts_context(raw, i) => false,
            // The confidence after `~>` is a single term in the reference: `x ~> 0.9`
            // followed by a line starting with `[` or `(` is two statements.
            _ if matches!(tok, Tok::LBracket | Tok::LParen)
                && self.out.len() >= 2
                && matches!(self.out[self.out.len() - 2].1, Tok::TildeArrow) =>
            {
                false
            }
            _ => continues_expression(tok) || (matches!(tok, Tok::LBrace) && is_rparen(prev)),
        };
        if closes_block || (line_break && !continues) {
            self.out.push((gap_start, Tok::Newline, gap_start));
        } else if !line_break
            && !continues
            && (i == 0 || !self.closes_condition[i - 1])
            && (starts_joined_statement(tok, prev)
                || (matches!(tok, Tok::LBrace)
                    && self.stack.last() != Some(&Open::Branches)
                    && name_then_block(&self.out)))
        {
            // As in the reference, which needs no separators at all: `a b` is `a; b`.
            self.out.push((gap_start, Tok::Newline, gap_start));
            self.joins.push(Span::new(start, end));
        }
    }

    /// The token at `i` as the grammar reads it, when it differs from the raw one; keeps the
    /// bracket stack.
    #[inline]
    fn classify(&mut self, raw: &[Spanned], i: usize, tok: &Tok) -> Option<Tok> {
        let prev = self.out.last().map(|t| &t.1);
        match tok {
            Tok::Uncertain => {
                self.uncertain_at = Some(self.stack.len());
                None
            }
            Tok::Ident(name) if &**name == "_" => Some(Tok::Placeholder),
            Tok::Ident(name) if &**name == "match" && starts_match(prev, raw, i, &self.closers) => {
                self.match_brace_pending = true;
                Some(Tok::Match)
            }
            Tok::LBrace => {
                let kind = self.brace_kind(raw, i);
                self.stack.push(kind);
                (kind != Open::Object).then_some(Tok::BlockBrace)
            }
            Tok::LParen => {
                self.stack.push(Open::Paren);
                let after = self
                    .closers
                    .get(i)
                    .and_then(|c| raw.get(c + 1))
                    .map(|t| &t.1);
                if matches!(after, Some(Tok::Arrow)) {
                    Some(Tok::LambdaParen)
                } else if self.after_for
                    || (self.after_if_or_while && !after.is_some_and(continues_condition))
                {
                    if let Some(c) = self.closers.get(i) {
                        self.closes_condition[c] = true;
                    }
                    Some(Tok::CondParen)
                } else {
                    None
                }
            }
            Tok::LBracket => {
                self.stack.push(Open::Bracket);
                None
            }
            Tok::RBrace | Tok::RParen | Tok::RBracket => {
                self.stack.pop();
                None
            }
            _ => None,
        }
    }

    /// What the `{` at `i` opens: an object (literal or pattern), a block, or the branches of
    /// an `uncertain` statement.
    fn brace_kind(&mut self, raw: &[Spanned], i: usize) -> Open {
        let prev = self.out.last().map(|t| &t.1);
        let at_expr = expects_expression(prev, self.out.len(), &self.out, self.expression_mode);
        let match_brace = self.match_brace_pending && !at_expr;
        if match_brace {
            self.match_brace_pending = false;
        }
        let object = match_brace
            || at_expr
            || (at_statement_start(self.out.last().map(|t| &t.1), self.expression_mode)
                && (is_destructuring(raw, self.closers.get(i))
                    || looks_like_object(raw, i, self.closers.get(i))));
        if object {
            Open::Object
        } else if self.uncertain_at == Some(self.stack.len()) {
            self.uncertain_at = None;
            Open::Branches
        } else {
            Open::Block
        }
    }
}

/// `name {` at the start of a statement (other than `agents {`): the reference reads the name
/// as a statement and the braces as a block after it.
fn name_then_block(out: &[Spanned]) -> bool {
    let n = out.len();
    let Some(Tok::Ident(name)) = out.last().map(|t| &t.1) else {
        return false;
    };
    let at_start = n == 1 || matches!(out[n - 2].1, Tok::Newline | Tok::Semi | Tok::BlockBrace);
    at_start && &**name != "agents"
}

/// After a complete statement on the same line, does `tok` start another one? Names,
/// literals and statement keywords do, except the words that continue a clause (`x of xs`,
/// `{a} from "m"`, `a as b`, `in context Name`).
fn starts_joined_statement(tok: &Tok, prev: Option<&Tok>) -> bool {
    use Tok::*;
    // Words that a clause goes on after: `from "m"`, `as ns`, `of xs`, `export default x`,
    // `in context Name`. (`prev` is the token before as laid out, the same as the raw one
    // for these names.)
    if matches!(prev, Some(Ident(w)) if matches!(&**w, "from" | "as" | "of" | "default" | "context"))
    {
        return false;
    }
    match tok {
        Ident(w) => !matches!(&**w, "of" | "from" | "as"),
        Number(_) | Str(_) | Template(_) | True | False | Null | Undefined => true,
        Let | Const | Var | If | For | While | Return | Uncertain | Import | Export | Try
        | Throw | Function | Break | Continue | Do => true,
        _ => false,
    }
}

/// For each opening bracket, the index of its closing bracket (4 bytes a token: a file has
/// fewer tokens than bytes, and spans are 32-bit already).
struct Closers(Vec<u32>);

impl Closers {
    const NONE: u32 = u32::MAX;

    fn of(raw: &[Spanned]) -> Closers {
        let mut closers = vec![Self::NONE; raw.len()];
        let mut stack: Vec<usize> = Vec::new();
        for (i, (_, tok, _)) in raw.iter().enumerate() {
            match tok {
                Tok::LParen | Tok::LBrace | Tok::LBracket => stack.push(i),
                Tok::RParen | Tok::RBrace | Tok::RBracket => {
                    if let Some(open) = stack.pop() {
                        closers[open] = u32::try_from(i).unwrap_or(Self::NONE);
                    }
                }
                _ => {}
            }
        }
        Closers(closers)
    }

    /// The index of the bracket that closes the one at `i`.
    fn get(&self, i: usize) -> Option<usize> {
        match self.0.get(i) {
            Some(&c) if c != Self::NONE => Some(c as usize),
            _ => None,
        }
    }
}

fn is_rparen(tok: Option<&Tok>) -> bool {
    matches!(tok, Some(Tok::RParen))
}

/// Keywords that only ever start a statement.
fn starts_statement_only(tok: &Tok) -> bool {
    use Tok::*;
    matches!(
        tok,
        Let | Const | Var | If | For | While | Return | Uncertain | Import | Export | Try | Throw
    )
}

/// Can a statement end with this token?
fn ends_statement(tok: &Tok) -> bool {
    use Tok::*;
    matches!(
        tok,
        Ident(_)
            | Number(_)
            | Str(_)
            | Template(_)
            | True
            | False
            | Null
            | Undefined
            | Placeholder
            | RParen
            | RBracket
            | RBrace
            | Break
            | Continue
            | Return
            | PlusPlus
            | MinusMinus
    )
}

/// Tokens that continue the expression of the previous line.
fn continues_expression(tok: &Tok) -> bool {
    use Tok::*;
    continues_condition(tok)
        || matches!(
            tok,
            Colon
                | Comma
                | Semi
                | RParen
                | RBracket
                | RBrace
                | Arrow
                | Assign
                | PlusAssign
                | MinusAssign
                | StarAssign
                | SlashAssign
                | PercentAssign
                | StarStarAssign
                | NullishAssign
                | AndAssign
                | OrAssign
                | Else
                | Catch
                | Finally
                | In
                | ThinArrow
        )
}

/// Tokens that, right after `if (…)`, show the parentheses were only part of the condition.
fn continues_condition(tok: &Tok) -> bool {
    use Tok::*;
    matches!(
        tok,
        Dot | QuestionDot
            | TildeDot
            | Question
            | TildeQuestion
            | LParen
            | LBracket
            | Plus
            | Minus
            | Star
            | Slash
            | Percent
            | StarStar
            | EqEq
            | NotEq
            | EqEqEq
            | NotEqEq
            | Lt
            | LtEq
            | Gt
            | GtEq
            | AndAnd
            | OrOr
            | QuestionQuestion
            | Pipe
            | Instanceof
            | TildeArrow
            | TildeTilde
            | TildePlus
            | TildeMinus
            | TildeStar
            | TildeSlash
            | TildeEqEq
            | TildeNotEq
            | TildeLt
            | TildeLtEq
            | TildeGtEq
            | TildeAndAnd
            | TildeOrOr
            | TildeQuestionQuestion
            | TildeParallel
            | TildeGate
            | TildePipe
            | TildeThreshold
    )
}

/// Does the grammar expect an expression (so `{` opens an object) after `prev`?
fn expects_expression(prev: Option<&Tok>, len: usize, out: &[Spanned], expr_mode: bool) -> bool {
    use Tok::*;
    let Some(prev) = prev else {
        return expr_mode;
    };
    let before = |n: usize| len.checked_sub(n).and_then(|k| out.get(k)).map(|t| &t.1);
    if let Ident(name) = prev {
        // `export default {…}`; `name: Agent {…}` in an `agents` block.
        return (&**name == "default" && matches!(before(2), Some(Export)))
            || (&**name == "Agent" && matches!(before(2), Some(Colon)));
    }
    if matches!(prev, Return) {
        // `return {…}` returns an object (a block cannot follow `return`).
        return true;
    }
    if ends_statement(prev) {
        return false;
    }
    !matches!(
        prev,
        Semi | Newline | BlockBrace | Else | Do | Try | Finally | Catch | Arrow | Placeholder
    )
}

fn at_statement_start(prev: Option<&Tok>, expr_mode: bool) -> bool {
    match prev {
        None => !expr_mode,
        Some(t) => matches!(
            t,
            Tok::Semi | Tok::Newline | Tok::BlockBrace | Tok::RBrace | Tok::LBrace
        ),
    }
}

/// Tokens an expression can start with.
fn starts_expression(tok: &Tok) -> bool {
    use Tok::*;
    matches!(
        tok,
        Ident(_)
            | Number(_)
            | Str(_)
            | Template(_)
            | True
            | False
            | Null
            | Undefined
            | LParen
            | LBracket
            | LBrace
            | Minus
            | Plus
            | Bang
            | Tilde
            | Extract
            | Typeof
            | Await
            | Function
            | Async
            | PlusPlus
            | MinusMinus
    )
}

/// `in context …`: the context statement rather than the `in` operator.
fn starts_context(raw: &[Spanned], i: usize) -> bool {
    matches!(raw.get(i + 1).map(|t| &t.1), Some(Tok::Ident(w)) if &**w == "context")
}

/// The reference's test for a `{` at the start of a statement: an object literal when it is
/// `{}`, `{...`, or a name followed by `,`, `:`, `}` or `~>` (`{a, b}`, `{a: 1}`, `{a}`,
/// `{a ~> 0.5, …} = …`); otherwise a block.
fn looks_like_object(raw: &[Spanned], i: usize, closer: Option<usize>) -> bool {
    let at = |k: usize| raw.get(i + k).map(|t| &t.1);
    match at(1) {
        Some(Tok::Ellipsis) => true,
        Some(Tok::RBrace) => closer == Some(i + 1),
        Some(Tok::Ident(_) | Tok::Str(_)) => matches!(
            at(2),
            Some(Tok::Comma | Tok::Colon | Tok::RBrace | Tok::TildeArrow)
        ),
        _ => false,
    }
}

/// `{…} = value` or `{…} ~> t = value` at statement start is a destructuring pattern.
fn is_destructuring(raw: &[Spanned], closer: Option<usize>) -> bool {
    let Some(c) = closer else { return false };
    match raw.get(c + 1).map(|t| &t.1) {
        Some(Tok::Assign) => true,
        Some(Tok::TildeArrow) => matches!(raw.get(c + 3).map(|t| &t.1), Some(Tok::Assign)),
        _ => false,
    }
}

/// Is `match` at `i` the start of a match expression (rather than a name)?
fn starts_match(prev: Option<&Tok>, raw: &[Spanned], i: usize, closers: &Closers) -> bool {
    use Tok::*;
    if matches!(prev, Some(Dot | QuestionDot | TildeDot)) {
        return false;
    }
    match raw.get(i + 1).map(|t| &t.1) {
        Some(
            Ident(_) | Number(_) | Str(_) | Template(_) | True | False | Null | Undefined | LBrace,
        ) => true,
        // `match (x) {` and `match [a, b] {`; `match(x)` and `match[0]` alone are a call and
        // an index of a variable named `match`.
        Some(LParen | LBracket) => closers
            .get(i + 1)
            .and_then(|c| raw.get(c + 1))
            .is_some_and(|t| matches!(t.1, LBrace)),
        _ => false,
    }
}

/// An identifier token for a name (used by tests and the formatter).
pub fn ident(name: &str) -> Tok {
    Tok::Ident(Arc::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    fn laid_out(src: &str) -> Vec<Tok> {
        let (raw, issues) = lex(src);
        assert!(issues.is_empty());
        layout(src, raw, false).into_iter().map(|t| t.1).collect()
    }

    #[test]
    fn line_breaks_end_statements_unless_the_next_line_continues() {
        use Tok::*;
        assert_eq!(
            laid_out("a\nb"),
            vec![ident("a"), Newline, ident("b"), Newline]
        );
        assert_eq!(
            laid_out("a\n.b"),
            vec![ident("a"), Dot, ident("b"), Newline]
        );
        assert_eq!(
            laid_out("a\n[1]"),
            vec![ident("a"), LBracket, Number(1.0), RBracket, Newline]
        );
    }

    #[test]
    fn match_starts_an_expression_only_before_a_subject_and_its_block() {
        use Tok::*;
        let toks = laid_out("match [1, 2] { [a, b] => a, _ => 0 }");
        assert_eq!(toks[0], Match);
        let toks = laid_out("match (x) { _ => 0 }");
        assert_eq!(toks[0], Match);
        // A variable named `match`, indexed or called.
        assert_eq!(laid_out("match[0]")[0], ident("match"));
        assert_eq!(laid_out("match(1)")[0], ident("match"));
        assert_eq!(laid_out("a.match")[2], ident("match"));
    }

    #[test]
    fn braces_are_blocks_or_objects_by_position() {
        use Tok::*;
        let toks = laid_out("let o = {a: 1}\n{\nlet y = 1\n}");
        assert!(toks.contains(&LBrace));
        assert!(toks.contains(&BlockBrace));
        let toks = laid_out("{a, b} = o");
        assert_eq!(toks[0], LBrace);
        // The reference's rule at the start of a statement: `{}`, `{...`, `{a,`, `{a:`,
        // `{a}` and `{a ~>` open objects; anything else a block.
        for src in ["{}", "{...o}", "{a, b}", "{a: 1}", "{a}", "{\"k\": 1}"] {
            assert_eq!(laid_out(src)[0], LBrace, "{src}");
        }
        for src in ["{ f(x) }", "{ let a = 1 }", "{ a = 1 }"] {
            assert_eq!(laid_out(src)[0], BlockBrace, "{src}");
        }
        // `return {` returns an object.
        assert!(laid_out("function f() { return {a: 1} }").contains(&LBrace));
    }

    #[test]
    fn return_takes_the_expression_on_the_next_line_as_the_reference_does() {
        use Tok::*;
        // `return` + line break + an expression: one statement.
        assert_eq!(laid_out("return\nx"), vec![Return, ident("x"), Newline]);
        // What cannot start an expression ends it.
        assert_eq!(
            laid_out("if (a) return\nelse b"),
            laid_out("if (a) return else b")
        );
        // `break`/`continue` never take the next line, even one starting with `[`.
        assert_eq!(
            laid_out("break\n[a] = b"),
            vec![
                Break,
                Newline,
                LBracket,
                ident("a"),
                RBracket,
                Assign,
                ident("b"),
                Newline
            ]
        );
    }

    #[test]
    fn a_line_starting_with_a_bracket_after_a_confidence_is_a_new_statement() {
        use Tok::*;
        let toks = laid_out("let v = 25 ~> 0.999\n[v, v]");
        assert_eq!(toks[6], Newline, "{toks:?}");
        // Elsewhere `[` continues the line above, as in the reference.
        assert_eq!(
            laid_out("let v = w\n[0]"),
            vec![
                Let,
                ident("v"),
                Assign,
                ident("w"),
                LBracket,
                Number(0.0),
                RBracket,
                Newline
            ]
        );
    }

    #[test]
    fn lambda_and_condition_parens_are_marked() {
        use Tok::*;
        assert_eq!(laid_out("(a) => a")[0], LambdaParen);
        assert_eq!(laid_out("if (a) b")[1], CondParen);
        assert_eq!(laid_out("if (a) && b {}")[1], LParen);
    }
}
