//! Helpers called from the actions of `grammar/prism.lalrpop`: node constructors, the
//! conversions the grammar cannot express (destructuring targets, templates), and the
//! [`Ctx`] that collects diagnostics while parsing goes on.

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use lalrpop_util::{ErrorRecovery, ParseError};

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer::{LexIssue, RawPart, Spanned, Tok};

/// Parsing context shared by every grammar action.
pub struct Ctx<'a> {
    pub source: &'a str,
    /// The bytes of `source` the parser reads, and whether they are a lone expression.
    range: (usize, usize, bool),
    /// The tokens the parser read, laid out again when a syntax error needs the ones before
    /// it: the parser takes them by value, so no copy is kept while parsing goes well.
    tokens: OnceCell<Vec<Spanned>>,
    pub diags: RefCell<Vec<Diagnostic>>,
    /// The nesting level at each template token (by start offset), where its holes start.
    templates: Vec<(usize, usize)>,
}

/// Diagnostic codes of the parser.
pub mod codes {
    pub const EXPECTED: &str = "prism::syntax::expected";
    pub const LEX: &str = "prism::syntax::token";
    pub const TARGET: &str = "prism::syntax::assignment-target";
    pub const BRANCH: &str = "prism::syntax::uncertain-branch";
    pub const KEYWORD: &str = "prism::syntax::keyword";
    pub const TEMPLATE: &str = "prism::syntax::template";
    pub const JOINED: &str = "prism::lint::same-line";
}

/// A span from two byte offsets.
pub fn sp(l: usize, r: usize) -> Span {
    Span::new(l, r.max(l))
}

/// The statements of a block or file, without the empty items (sized once: collecting
/// through `flatten` would grow the vector step by step, copying it each time).
pub fn statements(items: Vec<Option<Stmt>>) -> Vec<Stmt> {
    let mut stmts = Vec::with_capacity(items.iter().filter(|i| i.is_some()).count());
    stmts.extend(items.into_iter().flatten());
    stmts
}

/// Builds a statement.
pub fn stmt(kind: StmtKind, l: usize, r: usize) -> Stmt {
    Stmt {
        kind,
        span: sp(l, r),
    }
}

/// Builds an expression.
pub fn expr(kind: ExprKind, l: usize, r: usize) -> Expr {
    Expr {
        kind,
        span: sp(l, r),
    }
}

/// Builds a binary expression.
pub fn binary(op: BinaryOp, a: Expr, b: Expr, l: usize, r: usize) -> Expr {
    expr(
        ExprKind::Binary {
            op,
            lhs: Box::new(a),
            rhs: Box::new(b),
        },
        l,
        r,
    )
}

/// Builds a member access.
pub fn member(o: Expr, p: Ident, optional: bool, confident: bool, l: usize, r: usize) -> Expr {
    expr(
        ExprKind::Member {
            object: Box::new(o),
            property: p,
            optional,
            confident,
        },
        l,
        r,
    )
}

/// A block used as a statement.
pub fn block_stmt(b: Block) -> Stmt {
    let span = b.span;
    Stmt {
        kind: StmtKind::Block(b),
        span,
    }
}

/// Builds an `if` statement.
pub fn if_stmt(c: Expr, t: Stmt, e: Option<Stmt>, l: usize, r: usize) -> Stmt {
    stmt(
        StmtKind::If {
            cond: c,
            then: Box::new(t),
            otherwise: e.map(Box::new),
        },
        l,
        r,
    )
}

/// The head of a `for` loop.
pub enum ForHead {
    C {
        init: Option<Box<Stmt>>,
        cond: Option<Expr>,
        update: Option<Expr>,
    },
    In {
        binding: Pattern,
        index: Option<Ident>,
        iterable: Expr,
    },
}

/// Builds a `for` statement.
#[allow(clippy::boxed_local)] // the grammar hands over a boxed head
pub fn for_stmt(h: Box<ForHead>, body: Stmt, l: usize, r: usize) -> Stmt {
    let body = Box::new(body);
    let kind = match *h {
        ForHead::C { init, cond, update } => StmtKind::For {
            init,
            cond: cond.map(Box::new),
            update: update.map(Box::new),
            body,
        },
        ForHead::In {
            binding,
            index,
            iterable,
        } => StmtKind::ForIn {
            binding: Box::new(binding),
            index,
            iterable: Box::new(iterable),
            body,
        },
    };
    stmt(kind, l, r)
}

/// A parameter that is a plain name.
pub fn ident_param(p: Ident) -> Param {
    let span = p.span;
    Param {
        pattern: Pattern::Ident(p),
        default: None,
        rest: false,
        span,
    }
}

/// Builds an arrow function.
pub fn lambda(is_async: bool, params: Vec<Param>, body: FunctionBody, l: usize, r: usize) -> Expr {
    expr(
        ExprKind::Function(Arc::new(Function {
            name: None,
            params,
            body,
            is_async,
            confidence: None,
            is_arrow: true,
            span: sp(l, r),
        })),
        l,
        r,
    )
}

fn function(
    is_async: bool,
    name: Option<Ident>,
    params: Vec<Param>,
    conf: Option<Expr>,
    body: Block,
    l: usize,
    r: usize,
) -> Arc<Function> {
    Arc::new(Function {
        name,
        params,
        body: FunctionBody::Block(body),
        is_async,
        confidence: conf.map(Box::new),
        is_arrow: false,
        span: sp(l, r),
    })
}

/// Builds a function declaration.
pub fn function_decl(
    is_async: bool,
    name: Ident,
    params: Vec<Param>,
    conf: Option<Expr>,
    body: Block,
    l: usize,
    r: usize,
) -> Stmt {
    let f = function(is_async, Some(name), params, conf, body, l, r);
    stmt(StmtKind::Function(f), l, r)
}

/// Builds an anonymous function expression.
pub fn function_expr(
    is_async: bool,
    params: Vec<Param>,
    conf: Option<Expr>,
    body: Block,
    l: usize,
    r: usize,
) -> Expr {
    let f = function(is_async, None, params, conf, body, l, r);
    expr(ExprKind::Function(f), l, r)
}

/// Builds a method shorthand `name(params) { … }` in an object literal.
pub fn method(key: PropKey, params: Vec<Param>, body: Block, l: usize, r: usize) -> Property {
    let name = match &key {
        PropKey::Static(s) => Some(Ident {
            name: s.clone(),
            span: sp(l, l + s.len()),
        }),
        PropKey::Computed(_) => None,
    };
    let f = function(false, name, params, None, body, l, r);
    Property::KeyValue {
        key,
        value: expr(ExprKind::Function(f), l, r),
        span: sp(l, r),
    }
}

// The array item lists are right-recursive in the grammar (for holes: `[, a, , b]`), so
// their elements arrive last first: they are pushed in that order, in linear time, and put
// in source order once by the rule that closes the brackets (`elems.reverse()`).

/// Puts an element in front of an array pattern list (kept last first).
#[allow(clippy::type_complexity)]
pub fn prepend(
    e: Option<PatElem>,
    mut rest: Box<(Vec<Option<PatElem>>, Option<Box<Pattern>>)>,
) -> Box<(Vec<Option<PatElem>>, Option<Box<Pattern>>)> {
    rest.0.push(e);
    rest
}

/// Puts an element in front of an array literal list (kept last first).
pub fn prepend_elem(e: ArrayElem, mut rest: Vec<ArrayElem>) -> Vec<ArrayElem> {
    rest.push(e);
    rest
}

/// The property key a number literal stands for.
pub fn number_key(n: f64) -> Arc<str> {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        Arc::from(format!("{}", n as i64))
    } else {
        Arc::from(format!("{n}"))
    }
}

/// An infix operator of the flat operator chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfixOp {
    Binary(BinaryOp),
    Logical(LogicalOp),
}

impl InfixOp {
    /// Binding power: higher binds tighter (the reference's precedence levels).
    fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            InfixOp::Logical(LogicalOp::Or) => 1,
            InfixOp::Binary(ConfOr | ConfParallel | ConfGate) => 1,
            InfixOp::Logical(LogicalOp::Nullish) => 2,
            InfixOp::Binary(ConfCoalesce) => 3,
            InfixOp::Logical(LogicalOp::And) | InfixOp::Binary(ConfAnd) => 4,
            InfixOp::Binary(Eq | NotEq | StrictEq | StrictNotEq | ConfEq | ConfNotEq) => 5,
            InfixOp::Binary(
                Lt | LtEq | Gt | GtEq | ConfLt | ConfLtEq | ConfGtEq | Instanceof | In,
            ) => 6,
            InfixOp::Binary(Add | Sub | ConfAdd | ConfSub) => 7,
            InfixOp::Binary(Mul | Div | Rem | ConfMul | ConfDiv) => 8,
            InfixOp::Binary(Pow) => 9,
            InfixOp::Binary(ConfChain | ConfThreshold | ConfPipe) => 0,
        }
    }

    fn right_assoc(self) -> bool {
        self == InfixOp::Binary(BinaryOp::Pow)
    }

    fn apply(self, lhs: Expr, rhs: Expr) -> Expr {
        let span = lhs.span.to(rhs.span);
        let kind = match self {
            InfixOp::Binary(op) => ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            InfixOp::Logical(op) => ExprKind::Logical {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        };
        Expr { kind, span }
    }
}

/// Arranges `first op1 e1 op2 e2 …` into a tree by precedence (operator precedence parsing).
fn climb_from(
    first: Expr,
    rest: &mut std::iter::Peekable<std::vec::IntoIter<(InfixOp, Expr)>>,
    min: u8,
) -> Expr {
    let mut lhs = first;
    while let Some(&(op, _)) = rest.peek() {
        let prec = op.precedence();
        if prec < min {
            break;
        }
        let Some((op, mut rhs)) = rest.next() else {
            break;
        };
        while let Some(&(next, _)) = rest.peek() {
            let np = next.precedence();
            if np > prec || (np == prec && next.right_assoc()) {
                rhs = climb_from(rhs, rest, if np > prec { prec + 1 } else { prec });
            } else {
                break;
            }
        }
        lhs = op.apply(lhs, rhs);
    }
    lhs
}

/// An item of an object pattern.
pub enum ObjPatItem {
    Prop(PatProp),
    Rest(Ident),
}

/// An item of an array or object match pattern.
pub enum MatchItem<T> {
    Item(T),
    Rest(Ident),
}

impl<'a> Ctx<'a> {
    /// A context for parsing `source[start..end]` (a lone expression when `expression`).
    pub fn new(
        source: &'a str,
        (start, end, expression): (usize, usize, bool),
        templates: Vec<(usize, usize)>,
    ) -> Self {
        Ctx {
            source,
            range: (start, end, expression),
            tokens: OnceCell::new(),
            diags: RefCell::new(Vec::new()),
            templates,
        }
    }

    /// The tokens the parser reads (lexed and laid out again on first use: the same ones).
    fn tokens(&self) -> &[Spanned] {
        self.tokens.get_or_init(|| {
            let (start, end, expression) = self.range;
            crate::parser::laid_out(self.source, start, end, expression)
        })
    }

    /// A parse error as a diagnostic.
    pub fn syntax_error(&self, e: ParseError<usize, Tok, LexIssue>) -> Diagnostic {
        syntax_error(e, self.tokens(), self.source)
    }

    /// Builds the tree of a flat operator chain.
    pub fn climb(&self, first: Expr, rest: Vec<(InfixOp, Expr)>) -> Expr {
        if rest.is_empty() {
            return first;
        }
        climb_from(first, &mut rest.into_iter().peekable(), 0)
    }

    /// Records a diagnostic.
    pub fn report(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }

    /// Records a syntax error the parser recovered from.
    pub fn recovered(&self, e: ErrorRecovery<usize, Tok, LexIssue>) {
        let d = self.syntax_error(e.error);
        self.report(d);
    }

    /// Checks a contextual keyword such as `of`, `from` or `as`.
    pub fn expect_word(&self, got: &str, want: &str, l: usize, r: usize) {
        if got != want {
            self.report(
                Diagnostic::error(
                    codes::KEYWORD,
                    format!("expected `{want}`, found `{got}`"),
                    sp(l, r),
                )
                .with_label(format!("expected `{want}` here")),
            );
        }
    }

    /// An expression used as a statement; `[a, b] = …` and `{a} ~> t = …` become
    /// destructuring statements.
    pub fn expression_statement(&self, e: Expr, l: usize, r: usize) -> Stmt {
        if let ExprKind::Assign {
            op: AssignOp::Assign,
            target,
            value,
        } = &e.kind
        {
            let (inner, threshold) = match &target.kind {
                ExprKind::Attach { value, confidence } => (&**value, Some((**confidence).clone())),
                _ => (&**target, None),
            };
            if matches!(inner.kind, ExprKind::Array(_) | ExprKind::Object(_)) {
                match expr_to_pattern(inner) {
                    Ok(pattern) => {
                        return stmt(
                            StmtKind::Destructure {
                                pattern: Box::new(pattern),
                                threshold: threshold.map(Box::new),
                                value: (**value).clone(),
                            },
                            l,
                            r,
                        );
                    }
                    Err(span) => {
                        self.report(
                            Diagnostic::error(
                                codes::TARGET,
                                "this cannot be assigned to in a destructuring pattern",
                                span,
                            )
                            .with_label("expected a name, or a nested pattern")
                            .with_help("a destructuring pattern holds names (`[a, b]`, `{x, y: z}`), optionally with `~> threshold` or `= default`"),
                        );
                        return stmt(StmtKind::Error, l, r);
                    }
                }
            }
        }
        stmt(StmtKind::Expr(e), l, r)
    }

    /// `export default expr`
    pub fn export_default(&self, word: Arc<str>, e: Expr, l: usize, r: usize) -> Stmt {
        self.expect_word(&word, "default", l, l + word.len() + 7);
        stmt(StmtKind::ExportDefault(e), l, r)
    }

    /// `export NAME = expr`: assigns (declaring where needed, deliberate difference 1) and
    /// exports the name.
    pub fn export_assign(&self, name: Ident, value: Expr, l: usize, r: usize) -> Stmt {
        let target = Expr::new(ExprKind::Ident(name.name.clone()), name.span);
        let assign = Expr::new(
            ExprKind::Assign {
                op: AssignOp::Assign,
                target: Box::new(target),
                value: Box::new(value),
            },
            sp(name.span.start as usize, r),
        );
        let inner = stmt(StmtKind::Expr(assign), name.span.start as usize, r);
        stmt(StmtKind::ExportDecl(Box::new(inner)), l, r)
    }

    /// `export {…} from "source"` / `export * from "source"`.
    pub fn re_export(
        &self,
        names: Option<Vec<ExportSpec>>,
        from: &str,
        source: Arc<str>,
        source_span: Span,
        l: usize,
        r: usize,
    ) -> Stmt {
        self.expect_word(
            from,
            "from",
            source_span.start as usize,
            source_span.start as usize,
        );
        stmt(
            StmtKind::ReExport(Box::new(ReExport {
                names,
                source,
                source_span,
            })),
            l,
            r,
        )
    }

    /// `in context Name { … } -> Next`
    pub fn context(
        &self,
        word: &str,
        name: Ident,
        body: Block,
        next: Option<Ident>,
        l: usize,
        r: usize,
    ) -> Stmt {
        self.expect_word(word, "context", l + 3, name.span.start as usize);
        stmt(
            StmtKind::Context(Box::new(ContextStmt { name, body, next })),
            l,
            r,
        )
    }

    /// `agents { name: { … }, … }`
    pub fn agents(&self, word: &str, items: Vec<Option<AgentDecl>>, l: usize, r: usize) -> Stmt {
        self.expect_word(word, "agents", l, l + word.len());
        stmt(
            StmtKind::Agents(items.into_iter().flatten().collect()),
            l,
            r,
        )
    }

    /// `name: Agent { … }` in an `agents` block (the reference's earlier spelling).
    #[allow(clippy::vec_box)] // boxed by the grammar to keep parser stack entries small
    pub fn typed_agent_decl(
        &self,
        name: Ident,
        kind: &str,
        props: Vec<Box<Property>>,
        cl: usize,
        l: usize,
        r: usize,
    ) -> Option<AgentDecl> {
        self.expect_word(kind, "Agent", cl.saturating_sub(kind.len() + 1), cl);
        Some(agent_decl(name, props, cl, l, r))
    }

    /// Collects `high/medium/low/default` branches, reporting unknown and repeated ones.
    pub fn branches(&self, items: Vec<Option<Box<(Ident, Block)>>>) -> UncertainBranches {
        let mut b = UncertainBranches::default();
        for item in items.into_iter().flatten() {
            let (name, block) = *item;
            let slot = match &*name.name {
                "high" => &mut b.high,
                "medium" => &mut b.medium,
                "low" => &mut b.low,
                "default" => &mut b.default,
                other => {
                    self.report(
                        Diagnostic::error(
                            codes::BRANCH,
                            format!(
                                "expected `high`, `medium`, `low` or `default`, found `{other}`"
                            ),
                            name.span,
                        )
                        .with_label("not a branch of an uncertain statement"),
                    );
                    continue;
                }
            };
            if slot.is_some() {
                self.report(
                    Diagnostic::error(
                        codes::BRANCH,
                        format!("Duplicate '{}' branch in uncertain statement", name.name),
                        name.span,
                    )
                    .with_label("this branch is already given above"),
                );
            } else {
                *slot = Some(block);
            }
        }
        b
    }

    /// `import … from "source"`
    #[allow(clippy::too_many_arguments)]
    pub fn import(
        &self,
        default: Option<Ident>,
        namespace: Option<Ident>,
        names: Vec<ImportSpec>,
        from: &str,
        source: Arc<str>,
        source_span: Span,
        l: usize,
        r: usize,
    ) -> Stmt {
        self.expect_word(
            from,
            "from",
            source_span.start as usize,
            source_span.start as usize,
        );
        stmt(
            StmtKind::Import {
                default: default.map(Box::new),
                namespace: namespace.map(Box::new),
                names,
                source,
                source_span,
            },
            l,
            r,
        )
    }

    /// `import * as ns from "source"`
    #[allow(clippy::too_many_arguments)]
    pub fn import_namespace(
        &self,
        as_: &str,
        ns: Ident,
        from: &str,
        source: Arc<str>,
        source_span: Span,
        l: usize,
        r: usize,
    ) -> Stmt {
        self.expect_word(as_, "as", ns.span.start as usize, ns.span.start as usize);
        self.import(None, Some(ns), vec![], from, source, source_span, l, r)
    }

    /// `a as b` in an import list.
    pub fn import_spec(&self, imported: Ident, as_: &str, local: Ident) -> ImportSpec {
        self.expect_word(
            as_,
            "as",
            local.span.start as usize,
            local.span.start as usize,
        );
        ImportSpec { imported, local }
    }

    /// `a as b` in an export list.
    pub fn export_spec(&self, local: Ident, as_: &str, exported: Ident) -> ExportSpec {
        self.expect_word(
            as_,
            "as",
            exported.span.start as usize,
            exported.span.start as usize,
        );
        ExportSpec { local, exported }
    }

    /// Builds an object pattern, checking that a rest element comes last.
    #[allow(clippy::vec_box)] // boxed by the grammar to keep parser stack entries small
    pub fn object_pattern(&self, items: Vec<Box<ObjPatItem>>, l: usize, r: usize) -> Pattern {
        let mut props = Vec::new();
        let mut rest = None;
        for item in items {
            match *item {
                ObjPatItem::Prop(p) => {
                    if let Some(Ident { span, .. }) = &rest {
                        self.rest_not_last(*span);
                    }
                    props.push(p)
                }
                ObjPatItem::Rest(n) => rest = Some(n),
            }
        }
        Pattern::Object {
            props,
            rest,
            span: sp(l, r),
        }
    }

    fn rest_not_last(&self, span: Span) {
        self.report(
            Diagnostic::error(codes::TARGET, "a rest element must come last", span)
                .with_label("move `...rest` to the end"),
        );
    }

    /// `target op= value`
    pub fn assign(&self, op: AssignOp, t: Expr, v: Expr, l: usize, r: usize) -> Expr {
        let ok = match &t.kind {
            ExprKind::Ident(_) | ExprKind::Member { .. } | ExprKind::Index { .. } => true,
            ExprKind::Array(_) | ExprKind::Object(_) => op == AssignOp::Assign,
            ExprKind::Attach { value, .. } => {
                op == AssignOp::Assign
                    && matches!(value.kind, ExprKind::Array(_) | ExprKind::Object(_))
            }
            _ => false,
        };
        if !ok {
            self.report(
                Diagnostic::error(codes::TARGET, "invalid assignment target", t.span)
                    .with_label("this cannot be assigned to")
                    .with_help("assign to a name, a property (`o.x`), an element (`a[i]`) or a destructuring pattern"),
            );
        }
        expr(
            ExprKind::Assign {
                op,
                target: Box::new(t),
                value: Box::new(v),
            },
            l,
            r,
        )
    }

    /// `++x`, `x--` …
    pub fn update(&self, op: UpdateOp, prefix: bool, e: Expr, l: usize, r: usize) -> Expr {
        if !matches!(
            e.kind,
            ExprKind::Ident(_) | ExprKind::Member { .. } | ExprKind::Index { .. }
        ) {
            self.report(
                Diagnostic::error(
                    codes::TARGET,
                    "invalid increment or decrement target",
                    e.span,
                )
                .with_label("expected a name, a property or an element"),
            );
        }
        expr(
            ExprKind::Update {
                op,
                prefix,
                target: Box::new(e),
            },
            l,
            r,
        )
    }

    /// A string with `${…}` holes: each hole is parsed as an expression.
    pub fn template(&self, parts: &[RawPart], l: usize, r: usize) -> Expr {
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                RawPart::Text(t) => out.push(TemplatePart::Text(t.clone())),
                RawPart::Hole { start, end } => {
                    let text = self.source.get(*start..*end).unwrap_or("");
                    if text.trim().is_empty() {
                        self.report(
                            Diagnostic::error(
                                codes::TEMPLATE,
                                "Empty interpolation expression",
                                sp(start.saturating_sub(2), end + 1),
                            )
                            .with_label("put an expression between `${` and `}`"),
                        );
                        continue;
                    }
                    let level = self
                        .templates
                        .binary_search_by_key(&l, |&(at, _)| at)
                        .map_or(1, |i| self.templates[i].1);
                    let (e, diags) = crate::parser::parse_hole(self.source, *start, *end, level);
                    self.diags.borrow_mut().extend(diags);
                    out.push(TemplatePart::Expr(e));
                }
            }
        }
        expr(ExprKind::Template(out), l, r)
    }

    /// An array match pattern.
    // The grammar hands each item over boxed (its stack values stay small).
    #[allow(clippy::vec_box)]
    pub fn match_array(
        &self,
        items: Vec<Box<MatchItem<MatchElem>>>,
        l: usize,
        r: usize,
    ) -> MatchPattern {
        let (elems, rest) = self.split_rest(items);
        MatchPattern::Array {
            elems,
            rest,
            span: sp(l, r),
        }
    }

    /// An object match pattern.
    // The grammar hands each item over boxed (its stack values stay small).
    #[allow(clippy::vec_box)]
    pub fn match_object(
        &self,
        items: Vec<Box<MatchItem<MatchProp>>>,
        l: usize,
        r: usize,
    ) -> MatchPattern {
        let (props, rest) = self.split_rest(items);
        MatchPattern::Object {
            props,
            rest,
            span: sp(l, r),
        }
    }

    fn split_rest<T>(&self, items: Vec<Box<MatchItem<T>>>) -> (Vec<T>, Option<Ident>) {
        let mut out = Vec::new();
        let mut rest: Option<Ident> = None;
        for item in items {
            match *item {
                MatchItem::Item(t) => {
                    if let Some(r) = &rest {
                        self.rest_not_last(r.span);
                    }
                    out.push(t)
                }
                MatchItem::Rest(n) => rest = Some(n),
            }
        }
        (out, rest)
    }
}

/// Converts an array or object literal on the left of `=` into a pattern. On failure, the span
/// of the part that is not a valid target.
pub fn expr_to_pattern(e: &Expr) -> Result<Pattern, Span> {
    match &e.kind {
        ExprKind::Ident(n) => Ok(Pattern::Ident(Ident {
            name: n.clone(),
            span: e.span,
        })),
        ExprKind::Placeholder => Ok(Pattern::Ident(Ident {
            name: Arc::from("_"),
            span: e.span,
        })),
        ExprKind::Array(items) => {
            let mut elems = Vec::new();
            let mut rest = None;
            for (i, item) in items.iter().enumerate() {
                match item {
                    ArrayElem::Hole => elems.push(None),
                    ArrayElem::Expr(x) => elems.push(Some(expr_to_elem(x)?)),
                    ArrayElem::Spread(x) => {
                        if i + 1 != items.len() {
                            return Err(x.span);
                        }
                        rest = Some(Box::new(expr_to_pattern(x)?));
                    }
                }
            }
            Ok(Pattern::Array {
                elems,
                rest,
                span: e.span,
            })
        }
        ExprKind::Object(props) => {
            let mut out = Vec::new();
            let mut rest = None;
            for p in props {
                match p {
                    Property::Shorthand(id) => out.push(PatProp {
                        key: id.clone(),
                        target: Pattern::Ident(id.clone()),
                        default: None,
                        threshold: None,
                    }),
                    Property::PatternOnly(p) => out.push(PatProp {
                        key: p.key.clone(),
                        target: Pattern::Ident(p.key.clone()),
                        default: p.default.clone(),
                        threshold: p.threshold.clone(),
                    }),
                    Property::KeyValue {
                        key: PropKey::Static(k),
                        value,
                        span,
                    } => {
                        let elem = expr_to_elem(value)?;
                        out.push(PatProp {
                            key: Ident {
                                name: k.clone(),
                                span: Span::new(span.start as usize, span.start as usize + k.len()),
                            },
                            target: elem.target,
                            default: elem.default,
                            threshold: elem.threshold,
                        })
                    }
                    Property::KeyValue { span, .. } => return Err(*span),
                    Property::Spread(x) => match &x.kind {
                        ExprKind::Ident(n) => {
                            rest = Some(Ident {
                                name: n.clone(),
                                span: x.span,
                            })
                        }
                        _ => return Err(x.span),
                    },
                }
            }
            Ok(Pattern::Object {
                props: out,
                rest,
                span: e.span,
            })
        }
        _ => Err(e.span),
    }
}

fn expr_to_elem(e: &Expr) -> Result<PatElem, Span> {
    match &e.kind {
        ExprKind::Attach { value, confidence } => Ok(PatElem {
            target: expr_to_pattern(value)?,
            default: None,
            threshold: Some((**confidence).clone()),
        }),
        ExprKind::Assign {
            op: AssignOp::Assign,
            target,
            value,
        } => Ok(PatElem {
            target: expr_to_pattern(target)?,
            default: Some((**value).clone()),
            threshold: None,
        }),
        _ => Ok(PatElem {
            target: expr_to_pattern(e)?,
            default: None,
            threshold: None,
        }),
    }
}

/// Turns a parse error into a diagnostic that says, in words, what was expected.
pub fn syntax_error(
    e: ParseError<usize, Tok, LexIssue>,
    tokens: &[Spanned],
    source: &str,
) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let what = describe_expected(&expected);
            let after = previous_token(tokens, l)
                .map(|t| format!(" after {}", t.describe()))
                .unwrap_or_default();
            let found = tok.describe();
            let (l, r) = if matches!(tok, Tok::Newline) {
                (l, (l + 1).min(source.len()).max(l))
            } else {
                (l, r)
            };
            if let Some(d) = attach_binds_one_term(tokens, l, r, &tok) {
                return d;
            }
            let mut d = Diagnostic::error(
                codes::EXPECTED,
                format!("expected {what}{after}, found {found}"),
                sp(l, r),
            )
            .with_label(format!("expected {what}"));
            if let Some(help) = foreign_construct(tokens, l).or_else(|| help_for(&tok, &expected)) {
                d = d.with_help(help);
            }
            d
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let what = describe_expected(&expected);
            let at = location.min(source.len());
            Diagnostic::error(
                codes::EXPECTED,
                format!("expected {what}, found the end of the file"),
                sp(at, at),
            )
            .with_label(format!("expected {what}"))
        }
        ParseError::InvalidToken { location } => {
            Diagnostic::error(codes::LEX, "invalid token", sp(location, location + 1))
        }
        ParseError::ExtraToken { token: (l, tok, r) } => Diagnostic::error(
            codes::EXPECTED,
            format!("unexpected {}", tok.describe()),
            sp(l, r),
        ),
        ParseError::User { error } => {
            Diagnostic::error(codes::LEX, error.error.message(""), error.span)
        }
    }
}

/// `x ~> 0.5 + 0.1`: the confidence after `~>` is one term (as in the reference), so an
/// operator after it is an error that deserves its own words.
fn attach_binds_one_term(tokens: &[Spanned], l: usize, r: usize, tok: &Tok) -> Option<Diagnostic> {
    let i = tokens.partition_point(|t| t.0 < l);
    if i < 2 || !matches!(tokens[i - 2].1, Tok::TildeArrow) {
        return None;
    }
    let term = &tokens[i - 1];
    let is_term = matches!(
        term.1,
        Tok::Number(_) | Tok::Ident(_) | Tok::Str(_) | Tok::True | Tok::False | Tok::Null
    );
    let is_operator = matches!(
        tok,
        Tok::Plus
            | Tok::Minus
            | Tok::Star
            | Tok::Slash
            | Tok::Percent
            | Tok::StarStar
            | Tok::TildePlus
            | Tok::TildeMinus
            | Tok::TildeStar
            | Tok::TildeSlash
    );
    if !(is_term && is_operator) {
        return None;
    }
    let op = tok.text();
    Some(
        Diagnostic::error(
            codes::EXPECTED,
            format!("`~>` attaches a confidence of one term: `{op}` cannot follow it"),
            sp(l, r),
        )
        .with_label("the confidence ends before this operator")
        .with_secondary(sp(tokens[i - 2].0, term.2), "the confidence is this one term")
        .with_help(format!(
            "compute the confidence in parentheses (`~> (a {op} b)`), or put the confident value in parentheses (`(x ~> c) {op} y`)"
        )),
    )
}

/// Help for a statement that starts with a JavaScript construct Prism does not have.
fn foreign_construct(tokens: &[Spanned], at: usize) -> Option<String> {
    let i = tokens.partition_point(|t| t.0 < at);
    // The nearest statement before the error (a few lines at most) that starts with one.
    let starts_statement = |k: usize| {
        k == 0
            || matches!(
                tokens[k - 1].1,
                Tok::Newline | Tok::Semi | Tok::BlockBrace | Tok::RBrace
            )
    };
    let word = (i.saturating_sub(64)..i)
        .rev()
        .find_map(|k| match &tokens[k].1 {
            Tok::Ident(w)
                if starts_statement(k)
                    && matches!(
                        &**w,
                        "switch" | "class" | "interface" | "enum" | "type" | "new"
                    ) =>
            {
                Some(w.clone())
            }
            _ => None,
        })?;
    Some(
        match &*word {
            "switch" => "Prism has no `switch`: use `match` (`match x { \"a\" => …, _ => … }`) or `if`/`else if`",
            "class" | "interface" | "enum" | "type" => {
                "Prism has no classes or type declarations: use object literals and functions"
            }
            "new" => "Prism has no `new`: call a function that returns an object, or write an object literal",
            _ => return None,
        }
        .to_string(),
    )
}

fn previous_token(tokens: &[Spanned], at: usize) -> Option<&Tok> {
    let i = tokens.partition_point(|t| t.0 < at);
    tokens[..i]
        .iter()
        .rev()
        .map(|t| &t.1)
        .find(|t| !matches!(t, Tok::Newline))
}

fn help_for(found: &Tok, expected: &[String]) -> Option<String> {
    let wants = |name: &str| expected.iter().any(|e| e == name);
    if matches!(found, Tok::Newline) && wants("\")\"") {
        return Some("a `(` opened earlier is not closed".to_string());
    }
    if matches!(found, Tok::Newline) && wants("\"]\"") {
        return Some("a `[` opened earlier is not closed".to_string());
    }
    if matches!(found, Tok::LBracket) || matches!(found, Tok::Comma) && wants("\"]\"") {
        return Some(
            "a line that starts with `[` or `(` continues the previous line; end that line with `;`"
                .to_string(),
        );
    }
    None
}

/// One agent declaration: its name bound to the configuration object.
#[allow(clippy::vec_box)] // boxed by the grammar to keep parser stack entries small
pub fn agent_decl(
    name: Ident,
    props: Vec<Box<Property>>,
    cl: usize,
    l: usize,
    r: usize,
) -> AgentDecl {
    let config = Expr::new(
        ExprKind::Object(props.into_iter().map(|p| *p).collect()),
        sp(cl, r),
    );
    AgentDecl {
        name,
        config,
        span: sp(l, r),
    }
}

/// Describes an LR expected-token set in words: "an expression", or the closing brackets and
/// separators that would fit, then "an operator" when one would.
pub fn describe_expected(expected: &[String]) -> String {
    let has = |name: &str| expected.iter().any(|e| e == name);
    if has("Ident") && has("Num") {
        return "an expression".to_string();
    }
    const NAMED: &[(&str, &str)] = &[
        ("\")\"", "`)`"),
        ("\"]\"", "`]`"),
        ("\"}\"", "`}`"),
        ("\",\"", "`,`"),
        ("\":\"", "`:`"),
        ("\"=>\"", "`=>`"),
        ("\"=\"", "`=`"),
        ("\"{block\"", "`{`"),
        ("\"{\"", "`{`"),
        ("\"(\"", "`(`"),
        ("\"in\"", "`in`"),
        ("\"while\"", "`while`"),
        ("\"else\"", "`else`"),
        ("NL", "`;` or a line break"),
        ("Ident", "a name"),
        ("Str", "a string"),
        ("Num", "a number"),
    ];
    let mut words: Vec<&str> = Vec::new();
    for (token, word) in NAMED {
        if has(token) && !words.contains(word) {
            words.push(word);
        }
    }
    let operators = has("\"+\"") || has("\"==\"") || has("\"~>\"");
    if words.iter().any(|w| matches!(*w, "`)`" | "`]`" | "`}`")) {
        words.retain(|w| matches!(*w, "`)`" | "`]`" | "`}`" | "`,`"));
    }
    if words.len() > 3 {
        words.truncate(3);
    }
    let mut words: Vec<String> = words.into_iter().map(String::from).collect();
    if operators {
        words.push("an operator".to_string());
    }
    if words.is_empty() {
        words = expected
            .iter()
            .take(3)
            .map(|e| format!("`{}`", e.trim_matches('"')))
            .collect();
    }
    match words.len() {
        0 => "something else".to_string(),
        1 => words.remove(0),
        _ => {
            let last = words.pop().unwrap_or_default();
            format!("{} or {}", words.join(", "), last)
        }
    }
}
