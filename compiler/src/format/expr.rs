//! Expressions: precedence and the parentheses it needs, operator spacing, and the lists
//! (arguments, arrays, objects) that break when they do not fit.

use crate::ast::*;
use crate::comments::Comment;
use crate::span::Span;

use super::doc::{Doc, broken_group, concat, group, indent, text};
use super::lines::Lines;
use super::stmt::body_start;
use super::{Formatter, flat_text};

// Binding strength, loosest first (grammar/prism.lalrpop).
pub(super) const ASSIGN: u8 = 1;
const PIPE: u8 = 2;
const TERNARY: u8 = 3;
const CONF: u8 = 4;
const OR: u8 = 5;
const NULLISH: u8 = 6;
const COALESCE: u8 = 7;
const AND: u8 = 8;
const EQ: u8 = 9;
const CMP: u8 = 10;
const ADD: u8 = 11;
const MUL: u8 = 12;
const POW: u8 = 13;
const UNARY: u8 = 14;
pub(super) const POSTFIX: u8 = 15;
const CALL: u8 = 16;
const PRIMARY: u8 = 17;

fn binary_prec(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        ConfPipe | ConfThreshold => PIPE,
        ConfChain => CONF,
        ConfOr | ConfParallel | ConfGate => OR,
        ConfCoalesce => COALESCE,
        ConfAnd => AND,
        Eq | NotEq | StrictEq | StrictNotEq | ConfEq | ConfNotEq => EQ,
        Lt | LtEq | Gt | GtEq | ConfLt | ConfLtEq | ConfGtEq | Instanceof | In => CMP,
        Add | Sub | ConfAdd | ConfSub => ADD,
        Mul | Div | Rem | ConfMul | ConfDiv => MUL,
        Pow => POW,
    }
}

fn logical_prec(op: LogicalOp) -> u8 {
    match op {
        LogicalOp::Or => OR,
        LogicalOp::Nullish => NULLISH,
        LogicalOp::And => AND,
    }
}

fn logical_str(op: LogicalOp) -> &'static str {
    match op {
        LogicalOp::Or => "||",
        LogicalOp::Nullish => "??",
        LogicalOp::And => "&&",
    }
}

/// How tightly an expression binds.
fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Function(f) if f.is_arrow => ASSIGN,
        ExprKind::Assign { .. } => ASSIGN,
        ExprKind::Pipeline { .. } => PIPE,
        ExprKind::Binary { op, .. } => binary_prec(*op),
        ExprKind::Logical { op, .. } => logical_prec(*op),
        ExprKind::Conditional { .. } | ExprKind::ConfConditional { .. } => TERNARY,
        ExprKind::Attach { .. } => CONF,
        ExprKind::Unary { .. } | ExprKind::Await(_) => UNARY,
        ExprKind::Update { prefix: true, .. } => UNARY,
        ExprKind::Update { prefix: false, .. } => POSTFIX,
        ExprKind::Member { .. } | ExprKind::Index { .. } | ExprKind::Call { .. } => CALL,
        _ => PRIMARY,
    }
}

/// The minimum binding strength of the two operands of a binary operator at `p`.
fn operand_prec(op: Option<BinaryOp>, p: u8) -> (u8, u8) {
    match op {
        Some(BinaryOp::Pow) => (UNARY, POW),
        Some(BinaryOp::ConfChain) => (CONF, OR),
        _ => (p, p + 1),
    }
}

/// What an expression starts with when printed (with parentheses where it needs them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lead {
    Paren,
    Brace,
    Bracket,
    /// `function` or `async function`.
    Function,
    /// A name or a literal token.
    Plain,
    /// An operator or a keyword.
    Other,
}

/// What `e` starts with when printed where at least `min` binding strength is needed.
pub(super) fn lead(e: &Expr, min: u8) -> Lead {
    if prec(e) < min {
        return Lead::Paren;
    }
    match &e.kind {
        ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::Template(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Undefined
        | ExprKind::Ident(_)
        | ExprKind::Placeholder
        | ExprKind::Match { .. } => Lead::Plain,
        ExprKind::Array(_) => Lead::Bracket,
        ExprKind::Object(_) => Lead::Brace,
        ExprKind::Sequence(_) => Lead::Paren,
        ExprKind::Function(f) if !f.is_arrow => Lead::Function,
        ExprKind::Function(f) if f.is_async => Lead::Other,
        ExprKind::Function(f) if bare_param(f).is_some() => Lead::Plain,
        ExprKind::Function(_) => Lead::Paren,
        ExprKind::Unary { .. } | ExprKind::Await(_) | ExprKind::Error => Lead::Other,
        ExprKind::Update { prefix: true, .. } => Lead::Other,
        ExprKind::Update { target, .. } => lead(target, POSTFIX),
        ExprKind::Binary { op, lhs, .. } => lead(lhs, operand_prec(Some(*op), prec(e)).0),
        ExprKind::Logical { lhs, .. } | ExprKind::Pipeline { lhs, .. } => lead(lhs, prec(e)),
        ExprKind::Attach { value, .. } => lead(value, OR),
        ExprKind::Conditional { cond, .. } | ExprKind::ConfConditional { cond, .. } => {
            lead(cond, CONF)
        }
        ExprKind::Assign { target, .. } => lead(target, CONF),
        ExprKind::Member { object, .. } | ExprKind::Index { object, .. } => lead(object, CALL),
        ExprKind::Call { callee, .. } => lead(callee, CALL),
    }
}

/// The lone parameter of `x => …` written without parentheses.
fn bare_param(f: &Function) -> Option<&Ident> {
    match f.params.as_slice() {
        [
            Param {
                pattern: Pattern::Ident(id),
                default: None,
                rest: false,
                ..
            },
        ] => Some(id),
        _ => None,
    }
}

/// Is this a function with a `{ … }` body?
fn is_block_function(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Function(f) if matches!(f.body, FunctionBody::Block(_)))
}

/// An arrow function whose body is an object or array literal: `g => ({…})`.
fn is_literal_arrow(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Function(f) if f.is_arrow
        && matches!(&f.body, FunctionBody::Expr(b) if matches!(b.kind, ExprKind::Object(_) | ExprKind::Array(_))))
}

/// A list element: its comments and document.
pub(super) struct Elem {
    leading: Vec<Comment>,
    doc: Doc,
    trailing: Vec<Comment>,
    hole: bool,
}

impl Elem {
    /// An empty slot: `[a, , b]`.
    pub(super) fn hole() -> Elem {
        Elem {
            leading: Vec::new(),
            doc: Doc::Nil,
            trailing: Vec::new(),
            hole: true,
        }
    }
}

/// How a list is laid out.
#[derive(Clone, Copy, Default)]
pub(super) struct ListStyle {
    /// Always one element per line.
    pub force_break: bool,
}

impl Formatter<'_> {
    /// An expression, in parentheses when it binds less tightly than `min`.
    pub(super) fn expr(&mut self, e: &Expr, min: u8) -> Doc {
        let d = self.expr_inner(e);
        if prec(e) < min {
            concat(vec![text("("), d, text(")")])
        } else {
            d
        }
    }

    fn expr_inner(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Number(_) | ExprKind::String(_) | ExprKind::Template(_) => {
                text(self.slice(e.span))
            }
            ExprKind::Bool(b) => text(if *b { "true" } else { "false" }),
            ExprKind::Null => text("null"),
            ExprKind::Undefined => text("undefined"),
            ExprKind::Ident(n) => text(n.to_string()),
            ExprKind::Placeholder => text("_"),
            ExprKind::Array(items) => self.array(e.span, items),
            ExprKind::Object(props) => self.object(e.span, props),
            ExprKind::Function(f) if f.is_arrow => self.lambda(f),
            ExprKind::Function(f) => self.function(f),
            ExprKind::Unary { op, expr } => self.unary(*op, expr),
            ExprKind::Update { op, prefix, target } => self.update(*op, *prefix, target),
            ExprKind::Binary {
                op: BinaryOp::Pow,
                lhs,
                rhs,
            } => concat(vec![
                self.expr(lhs, UNARY),
                text(" ** "),
                self.expr(rhs, POW),
            ]),
            ExprKind::Binary { op, .. } if binary_prec(*op) == PIPE => self.pipeline(e),
            ExprKind::Binary { .. } | ExprKind::Logical { .. } => self.chain(e),
            ExprKind::Pipeline { .. } => self.pipeline(e),
            ExprKind::Attach { value, confidence } => concat(vec![
                self.expr(value, OR),
                text(" ~> "),
                self.expr(confidence, POSTFIX),
            ]),
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => self.conditional(cond, "? ", then, otherwise),
            ExprKind::ConfConditional {
                cond,
                then,
                otherwise,
            } => self.conditional(cond, "~? ", then, otherwise),
            ExprKind::Assign { op, target, value } => concat(vec![
                self.expr(target, CONF),
                text(format!(" {} ", assign_str(*op))),
                self.expr(value, ASSIGN),
            ]),
            ExprKind::Member {
                object,
                property,
                optional,
                confident,
            } => self.member(object, property, *optional, *confident),
            ExprKind::Index {
                object,
                index,
                optional,
            } => concat(vec![
                self.expr(object, CALL),
                text(if *optional { "?.[" } else { "[" }),
                self.expr(index, ASSIGN),
                text("]"),
            ]),
            ExprKind::Call {
                callee,
                args,
                optional,
            } => {
                let c = self.expr(callee, CALL);
                let a = self.args(e.span, args);
                concat(vec![c, text(if *optional { "?." } else { "" }), a])
            }
            ExprKind::Match { subject, arms } => self.match_expr(e.span, subject, arms),
            ExprKind::Await(inner) => concat(vec![text("await "), self.expr(inner, UNARY)]),
            ExprKind::Sequence(items) => self.sequence(items),
            ExprKind::Error => text(self.slice(e.span).to_string()),
        }
    }

    /// `++x`, `x--`.
    fn update(&mut self, op: UpdateOp, prefix: bool, target: &Expr) -> Doc {
        let sym = match op {
            UpdateOp::Inc => "++",
            UpdateOp::Dec => "--",
        };
        if prefix {
            concat(vec![text(sym), self.expr(target, UNARY)])
        } else {
            concat(vec![self.expr(target, POSTFIX), text(sym)])
        }
    }

    /// `obj.name`, `obj?.name`, `obj~.name`.
    fn member(&mut self, object: &Expr, property: &Ident, optional: bool, confident: bool) -> Doc {
        let dot = if optional {
            "?."
        } else if confident {
            "~."
        } else {
            "."
        };
        concat(vec![
            self.expr(object, CALL),
            text(format!("{dot}{}", property.name)),
        ])
    }

    /// `(a, b, c)`.
    fn sequence(&mut self, items: &[Expr]) -> Doc {
        let mut parts = vec![text("(")];
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                parts.push(text(", "));
            }
            parts.push(self.expr(it, ASSIGN));
        }
        parts.push(text(")"));
        concat(parts)
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr) -> Doc {
        let sym = match op {
            UnaryOp::Neg => "-",
            UnaryOp::Plus => "+",
            UnaryOp::Not => "!",
            UnaryOp::Tilde => "~",
            // `<~ x`, as every document writes it.
            UnaryOp::Extract => "<~ ",
            UnaryOp::Typeof => "typeof ",
        };
        let inner = self.expr(operand, UNARY);
        // Keep tokens apart that would lex as one: `- -x`, `+ +x`, `~ -x` (not `~-`).
        let next = flat_text(&inner).chars().next().unwrap_or(' ');
        let glue = match op {
            UnaryOp::Neg => next == '-',
            UnaryOp::Plus => next == '+',
            UnaryOp::Tilde => "+-*/=!<>&|?@.~".contains(next),
            _ => false,
        };
        concat(vec![text(sym), text(if glue { " " } else { "" }), inner])
    }

    /// A left-associative chain of operators of one strength: `a + b - c`, broken after the
    /// operators when too long.
    fn chain(&mut self, e: &Expr) -> Doc {
        let p = prec(e);
        let mut ops = Vec::new();
        let mut cur = e;
        loop {
            match &cur.kind {
                ExprKind::Binary { op, lhs, rhs } if binary_prec(*op) == p && prec(cur) == p => {
                    ops.push((op.as_str(), &**rhs, Some(*op)));
                    cur = lhs;
                }
                ExprKind::Logical { op, lhs, rhs } if logical_prec(*op) == p => {
                    ops.push((logical_str(*op), &**rhs, None));
                    cur = lhs;
                }
                _ => break,
            }
        }
        ops.reverse();
        let first_op = ops.first().and_then(|o| o.2);
        let (lmin, rmin) = operand_prec(first_op, p);
        let first = self.expr(cur, lmin);
        let mut rest = Vec::new();
        for (sym, rhs, _) in ops {
            rest.push(text(format!(" {sym}")));
            rest.push(Doc::Line);
            rest.push(self.expr(rhs, rmin));
        }
        group(concat(vec![first, indent(concat(rest))]))
    }

    /// `a |> f |> g`, broken before the operators.
    fn pipeline(&mut self, e: &Expr) -> Doc {
        let mut ops = Vec::new();
        let mut cur = e;
        loop {
            match &cur.kind {
                ExprKind::Pipeline { lhs, rhs } => {
                    ops.push(("|>", &**rhs));
                    cur = lhs;
                }
                ExprKind::Binary { op, lhs, rhs } if binary_prec(*op) == PIPE => {
                    ops.push((op.as_str(), &**rhs));
                    cur = lhs;
                }
                _ => break,
            }
        }
        ops.reverse();
        let first = self.expr(cur, PIPE);
        let mut rest = Vec::new();
        for (sym, rhs) in ops {
            rest.push(Doc::Line);
            rest.push(text(format!("{sym} ")));
            rest.push(self.expr(rhs, TERNARY));
        }
        group(concat(vec![first, indent(concat(rest))]))
    }

    fn conditional(&mut self, cond: &Expr, q: &str, then: &Expr, otherwise: &Expr) -> Doc {
        let c = self.expr(cond, CONF);
        let t = self.expr(then, ASSIGN);
        let o = self.expr(otherwise, TERNARY);
        group(concat(vec![
            c,
            indent(concat(vec![
                Doc::Line,
                text(q.to_string()),
                t,
                Doc::Line,
                text(": "),
                o,
            ])),
        ]))
    }

    /// `x => body`, `(a, b) => body`, `async x => body`.
    fn lambda(&mut self, f: &Function) -> Doc {
        let mut parts = Vec::new();
        if f.is_async {
            parts.push(text("async "));
        }
        match bare_param(f) {
            Some(id) => parts.push(text(id.name.to_string())),
            None => parts.push(self.params(&f.params, body_start(f))),
        }
        parts.push(text(" => "));
        parts.push(self.function_body(&f.body));
        concat(parts)
    }

    /// A function body: a block, or the expression of `x => expr` (an object in parentheses,
    /// since `{` after `=>` opens a block).
    pub(super) fn function_body(&mut self, body: &FunctionBody) -> Doc {
        match body {
            FunctionBody::Block(b) => self.block(b),
            FunctionBody::Expr(e) => self.braced_safe(e),
        }
    }

    /// An expression where a leading `{` would open a block.
    fn braced_safe(&mut self, e: &Expr) -> Doc {
        let d = self.expr(e, ASSIGN);
        if lead(e, ASSIGN) == Lead::Brace {
            concat(vec![text("("), d, text(")")])
        } else {
            d
        }
    }

    /// `(a, b = 1, ...rest)`
    pub(super) fn params(&mut self, params: &[Param], close: u32) -> Doc {
        let elems = params
            .iter()
            .map(|p| {
                self.element(Some(p.span), |f| {
                    let mut parts = Vec::new();
                    if p.rest {
                        parts.push(text("..."));
                    }
                    parts.push(f.pattern(&p.pattern, false));
                    if let Some(d) = &p.default {
                        parts.push(text(" = "));
                        parts.push(f.expr(d, ASSIGN));
                    }
                    concat(parts)
                })
            })
            .collect();
        self.list("(", ")", elems, close, ListStyle::default())
    }

    fn args(&mut self, span: Span, args: &[Arg]) -> Doc {
        let huggable = |a: &Arg| match a {
            Arg::Expr(x) => {
                matches!(x.kind, ExprKind::Object(_) | ExprKind::Array(_))
                    || is_block_function(x)
                    || is_literal_arrow(x)
            }
            Arg::Spread(_) => false,
        };
        let hug =
            args.last().is_some_and(huggable) && args.iter().filter(|a| huggable(a)).count() == 1;
        let n = args.len();
        let elems = args
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Arg::Expr(x) if hug && i + 1 == n => {
                    self.element(Some(x.span), |f| Doc::Hug(Box::new(f.expr(x, ASSIGN))))
                }
                Arg::Expr(x) => self.element(Some(x.span), |f| f.expr(x, ASSIGN)),
                Arg::Spread(x) => self.element(Some(x.span), |f| {
                    concat(vec![text("..."), f.expr(x, ASSIGN)])
                }),
            })
            .collect();
        self.list(
            "(",
            ")",
            elems,
            span.end.saturating_sub(1),
            ListStyle::default(),
        )
    }

    fn array(&mut self, span: Span, items: &[ArrayElem]) -> Doc {
        let force_break = items.iter().any(|i| match i {
            ArrayElem::Expr(x) | ArrayElem::Spread(x) => is_block_function(x),
            ArrayElem::Hole => false,
        });
        let elems = items
            .iter()
            .map(|i| match i {
                ArrayElem::Expr(x) => self.element(Some(x.span), |f| f.expr(x, ASSIGN)),
                ArrayElem::Spread(x) => self.element(Some(x.span), |f| {
                    concat(vec![text("..."), f.expr(x, ASSIGN)])
                }),
                ArrayElem::Hole => Elem::hole(),
            })
            .collect();
        let style = ListStyle { force_break };
        self.list("[", "]", elems, span.end.saturating_sub(1), style)
    }

    fn object(&mut self, span: Span, props: &[Property]) -> Doc {
        // Kept broken when written broken (a line break after `{`), or holding methods.
        let first_start = props.first().map(|p| match p {
            Property::KeyValue { span, .. } => span.start,
            Property::Shorthand(id) => id.span.start,
            Property::Spread(x) => x.span.start,
            Property::PatternOnly(p) => p.span.start,
        });
        let written_broken = first_start.is_some_and(|s| {
            self.slice(Span::new(span.start as usize, s as usize))
                .contains('\n')
        });
        let has_method = props.iter().any(|p| match p {
            Property::KeyValue { value, .. } | Property::Spread(value) => is_block_function(value),
            Property::Shorthand(_) | Property::PatternOnly(_) => false,
        });
        let elems = props
            .iter()
            .map(|p| match p {
                Property::KeyValue { key, value, span } => {
                    self.element(Some(*span), |f| f.property(key, value, *span))
                }
                Property::Shorthand(id) => {
                    self.element(Some(id.span), |_| text(id.name.to_string()))
                }
                Property::Spread(x) => self.element(Some(x.span), |f| {
                    concat(vec![text("..."), f.expr(x, ASSIGN)])
                }),
                Property::PatternOnly(p) => self.element(Some(p.span), |f| {
                    let mut parts = vec![text(p.key.name.to_string())];
                    if let Some(t) = &p.threshold {
                        parts.push(text(" ~> "));
                        parts.push(f.expr(t, POSTFIX));
                    }
                    if let Some(d) = &p.default {
                        parts.push(text(" = "));
                        parts.push(f.expr(d, ASSIGN));
                    }
                    concat(parts)
                }),
            })
            .collect();
        let style = ListStyle {
            force_break: written_broken || has_method,
        };
        self.list("{", "}", elems, span.end.saturating_sub(1), style)
    }

    fn property(&mut self, key: &PropKey, value: &Expr, span: Span) -> Doc {
        if let ExprKind::Function(f) = &value.kind
            && !f.is_arrow
            && f.name.is_some()
            && f.confidence.is_none()
            && !f.is_async
            && value.span == span
        {
            // Method shorthand `name(params) { … }`.
            let k = self.prop_key(key, span, body_start(f));
            let ps = self.params(&f.params, body_start(f));
            let b = self.function_body(&f.body);
            return concat(vec![k, ps, text(" "), b]);
        }
        let k = self.prop_key(key, span, value.span.start);
        concat(vec![k, text(": "), self.expr(value, ASSIGN)])
    }

    /// A property key as written (a name, a quoted string or a number), or `[expr]`.
    fn prop_key(&mut self, key: &PropKey, span: Span, limit: u32) -> Doc {
        match key {
            PropKey::Computed(e) => concat(vec![text("["), self.expr(e, ASSIGN), text("]")]),
            PropKey::Static(k) => {
                let written = self.slice(Span::new(span.start as usize, limit as usize));
                let (toks, _) = crate::lexer::lex(written);
                let first = toks
                    .first()
                    .map(|(s, _, e)| written.get(*s..*e).unwrap_or(""));
                match first {
                    Some(t) if key_text_matches(t, k) => text(t.to_string()),
                    _ => text(key_literal(k)),
                }
            }
        }
    }

    fn match_expr(&mut self, span: Span, subject: &Expr, arms: &[MatchArm]) -> Doc {
        let s = self.expr(subject, ASSIGN);
        // `match` is a keyword only before a name, a literal or `{`, or `(…) {`.
        let s = if matches!(lead(subject, ASSIGN), Lead::Plain | Lead::Brace)
            && !starts_with_keyword(&flat_text(&s))
        {
            s
        } else {
            concat(vec![text("("), s, text(")")])
        };
        let mut lines = Lines::new();
        for arm in arms {
            let leading = self.take_before(arm.span.start);
            lines.comments(self, &leading);
            let mut parts = vec![self.match_pattern(&arm.pattern)];
            if let Some(t) = &arm.threshold {
                parts.push(text(" ~> "));
                parts.push(self.expr(t, POSTFIX));
            }
            if let Some(g) = &arm.guard {
                parts.push(text(" if "));
                parts.push(self.expr(g, PIPE));
            }
            parts.push(text(" => "));
            match &arm.body {
                MatchBody::Expr(e) => parts.push(self.braced_safe(e)),
                MatchBody::Block(b) => parts.push(self.block(b)),
            }
            lines.item(self, arm.span, concat(parts), false, ",");
        }
        let dangling = self.take_before(span.end.saturating_sub(1));
        lines.comments(self, &dangling);
        let body = if lines.is_empty() {
            text("{}")
        } else {
            broken_group(concat(vec![
                text("{"),
                indent(concat(vec![Doc::HardLine, lines.finish()])),
                Doc::HardLine,
                text("}"),
            ]))
        };
        concat(vec![text("match "), s, text(" "), body])
    }

    /// Builds one list element with the comments before and after it.
    pub(super) fn element(
        &mut self,
        span: Option<Span>,
        build: impl FnOnce(&mut Self) -> Doc,
    ) -> Elem {
        let mut leading = span.map(|s| self.take_before(s.start)).unwrap_or_default();
        let doc = build(self);
        // Comments inside the element that nothing inside took go before it.
        if let Some(s) = span {
            leading.extend(self.take_within(s));
        }
        let trailing = span.map(|s| self.take_trailing(s.end)).unwrap_or_default();
        Elem {
            leading,
            doc,
            trailing,
            hole: false,
        }
    }

    /// `open elements close`, on one line when it fits, else one element per line. `close_pos`
    /// is where the closing bracket is (comments before it are kept inside).
    pub(super) fn list(
        &mut self,
        open: &str,
        close: &str,
        elems: Vec<Elem>,
        close_pos: u32,
        style: ListStyle,
    ) -> Doc {
        let dangling = self.take_before(close_pos);
        if elems.is_empty() && dangling.is_empty() {
            return text(format!("{open}{close}"));
        }
        let edge = || Doc::SoftLine;
        let mut inner = vec![edge()];
        if style.force_break {
            inner.push(Doc::BreakParent);
        }
        let n = elems.len();
        let last_hole = elems.last().is_some_and(|e| e.hole);
        for (i, e) in elems.into_iter().enumerate() {
            inner.push(self.leading_docs(&e.leading));
            inner.push(e.doc);
            if i + 1 < n {
                inner.push(text(","));
                inner.push(self.trailing_docs(&e.trailing));
                inner.push(Doc::Line);
            } else {
                if last_hole {
                    inner.push(text(","));
                }
                inner.push(self.trailing_docs(&e.trailing));
            }
        }
        for (i, c) in dangling.iter().enumerate() {
            if n > 0 || i > 0 {
                inner.push(Doc::Line);
            }
            inner.push(text(self.comment_text(c)));
            if c.kind == crate::comments::CommentKind::Line {
                inner.push(Doc::BreakParent);
            }
        }
        group(concat(vec![
            text(open.to_string()),
            indent(concat(inner)),
            edge(),
            text(close.to_string()),
        ]))
    }

    /// `{a, b}` without comments (import and export lists).
    pub(super) fn simple_list(&mut self, items: Vec<Doc>, open: &str, close: &str) -> Doc {
        let elems = items
            .into_iter()
            .map(|doc| Elem {
                leading: Vec::new(),
                doc,
                trailing: Vec::new(),
                hole: false,
            })
            .collect();
        self.list(open, close, elems, 0, ListStyle::default())
    }
}

fn assign_str(op: AssignOp) -> &'static str {
    match op {
        AssignOp::Assign => "=",
        AssignOp::Add => "+=",
        AssignOp::Sub => "-=",
        AssignOp::Mul => "*=",
        AssignOp::Div => "/=",
        AssignOp::Rem => "%=",
        AssignOp::Pow => "**=",
        AssignOp::Nullish => "??=",
        AssignOp::And => "&&=",
        AssignOp::Or => "||=",
        AssignOp::ConfAdd => "~+=",
        AssignOp::ConfSub => "~-=",
        AssignOp::ConfMul => "~*=",
        AssignOp::ConfDiv => "~/=",
    }
}

/// Does the printed text start with a keyword that is not a value (`typeof x`, `await x`)?
fn starts_with_keyword(s: &str) -> bool {
    let word: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    matches!(
        word.as_str(),
        "typeof" | "await" | "async" | "function" | "match" | "let" | "const" | "var"
    )
}

/// Is `written` (the first token of a property) a spelling of the key `key`?
fn key_text_matches(written: &str, key: &str) -> bool {
    if is_name(written) {
        return written == key;
    }
    let (toks, issues) = crate::lexer::lex(written);
    if !issues.is_empty() || toks.len() != 1 {
        return false;
    }
    match &toks[0].1 {
        crate::lexer::Tok::Str(s) => &**s == key,
        crate::lexer::Tok::Number(n) => *crate::grammar_support::number_key(*n) == *key,
        _ => false,
    }
}

/// Is `s` an identifier (or keyword), so it can be a bare property name?
pub(super) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A key as a bare name, or as a quoted string.
pub(super) fn key_literal(k: &str) -> String {
    if is_name(k) {
        return k.to_string();
    }
    // Double-quoted strings take `${…}` holes; single-quoted ones do not.
    let q = if k.contains("${") { '\'' } else { '"' };
    let mut out = String::with_capacity(k.len() + 2);
    out.push(q);
    for c in k.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}
