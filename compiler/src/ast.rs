//! The Prism syntax tree. Every node carries a [`Span`] into its source file.

use std::sync::Arc;

pub use crate::span::Span;

/// An identifier as written in the source.
pub type Name = Arc<str>;

/// A parsed file: its top-level statements in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

/// A statement with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

/// A `{ … }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

/// Whether a declaration may be reassigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    Let,
    Const,
    Var,
}

/// One `pattern = init` in a `let`/`const` declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Declarator {
    pub target: Pattern,
    pub init: Option<Expr>,
    pub span: Span,
}

/// A named or anonymous function: declarations, function expressions and lambdas.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// `None` for lambdas and anonymous function expressions.
    pub name: Option<Ident>,
    pub params: Vec<Param>,
    pub body: FunctionBody,
    pub is_async: bool,
    /// `function f() ~> 0.5 { … }`: the confidence the result is combined with.
    pub confidence: Option<Box<Expr>>,
    /// True for `=>` lambdas (they print as `[Function: lambda]`).
    pub is_arrow: bool,
    pub span: Span,
}

/// A function body: a block, or a single expression for `x => x + 1`.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionBody {
    Block(Block),
    Expr(Box<Expr>),
}

/// A formal parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub pattern: Pattern,
    pub default: Option<Expr>,
    /// `...rest`
    pub rest: bool,
    pub span: Span,
}

/// An identifier with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

/// The branches of an `uncertain if/while/for`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UncertainBranches {
    pub high: Option<Block>,
    pub medium: Option<Block>,
    pub low: Option<Block>,
    pub default: Option<Block>,
}

/// `catch (e) { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct CatchClause {
    pub param: Option<Pattern>,
    pub body: Block,
    pub span: Span,
}

/// One name of `import { a, b as c } from "…"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSpec {
    /// The name exported by the module.
    pub imported: Ident,
    /// The local binding (same as `imported` without `as`).
    pub local: Ident,
}

/// One name of `export { a, b as c }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSpec {
    pub local: Ident,
    pub exported: Ident,
}

/// The re-export of `export {…} from "…"` / `export * from "…"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReExport {
    /// The names re-exported, or `None` for `*` (every export of the module).
    pub names: Option<Vec<ExportSpec>>,
    pub source: Arc<str>,
    pub source_span: Span,
}

/// `in context Name { … } -> Next`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextStmt {
    pub name: Ident,
    pub body: Block,
    /// The context named after `->`.
    pub next: Option<Ident>,
}

/// One `name: { … }` (or `name: Agent { … }`) of an `agents` block.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDecl {
    pub name: Ident,
    /// The configuration: an object literal.
    pub config: Expr,
    pub span: Span,
}

/// Statement kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect (its value is the block's value).
    Expr(Expr),
    /// `let a = 1, b = 2` / `const …`
    Decl {
        kind: DeclKind,
        decls: Vec<Declarator>,
    },
    /// `function name(…) { … }` / `async function …`
    Function(Arc<Function>),
    Return(Option<Expr>),
    If {
        cond: Expr,
        then: Box<Stmt>,
        otherwise: Option<Box<Stmt>>,
    },
    Block(Block),
    While {
        cond: Expr,
        body: Box<Stmt>,
    },
    DoWhile {
        body: Box<Stmt>,
        cond: Expr,
    },
    /// C-style `for init; cond; update body` (parentheses optional).
    For {
        init: Option<Box<Stmt>>,
        cond: Option<Box<Expr>>,
        update: Option<Box<Expr>>,
        body: Box<Stmt>,
    },
    /// `for x in xs`, `for x, i in xs`, `for (const x of xs)`.
    ForIn {
        binding: Box<Pattern>,
        index: Option<Ident>,
        iterable: Box<Expr>,
        body: Box<Stmt>,
    },
    UncertainIf {
        cond: Expr,
        branches: Box<UncertainBranches>,
    },
    UncertainWhile {
        cond: Expr,
        branches: Box<UncertainBranches>,
    },
    UncertainFor {
        init: Option<Box<Stmt>>,
        cond: Option<Box<Expr>>,
        update: Option<Box<Expr>>,
        branches: Box<UncertainBranches>,
    },
    Break,
    Continue,
    Throw(Expr),
    Try {
        body: Block,
        catch: Option<Box<CatchClause>>,
        finally: Option<Box<Block>>,
    },
    /// `[a, b] ~> 0.7 = value` and `{a, b} = value` at statement level.
    Destructure {
        pattern: Box<Pattern>,
        threshold: Option<Box<Expr>>,
        value: Expr,
    },
    /// `import {a, b as c} from "./m.prism"`, `import d from "…"`, `import * as ns from "…"`.
    Import {
        default: Option<Box<Ident>>,
        namespace: Option<Box<Ident>>,
        names: Vec<ImportSpec>,
        source: Arc<str>,
        source_span: Span,
    },
    /// `export let/const/function …`
    ExportDecl(Box<Stmt>),
    /// `export { a, b as c }`
    ExportNames(Vec<ExportSpec>),
    /// `export { a, b as c } from "./m.prism"` and `export * from "./m.prism"` (`names` is
    /// `None`): re-exports names of another module without binding them here.
    ReExport(Box<ReExport>),
    /// `in context Name { … } -> Next`: the body runs in the enclosing scope; the names are
    /// labels (the reference records them and nothing reads them).
    Context(Box<ContextStmt>),
    /// `agents { name: { key: value, … }, … }`: binds each name to its configuration object.
    Agents(Vec<AgentDecl>),
    /// `export default expr`
    ExportDefault(Expr),
    /// A lone `;`.
    Empty,
    /// A statement the parser could not read (a diagnostic was reported).
    Error,
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// One piece of a template string.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(Arc<str>),
    Expr(Expr),
}

/// An array literal element.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayElem {
    Expr(Expr),
    Spread(Expr),
    /// `[1, , 3]`
    Hole,
}

/// A property key in an object literal.
#[derive(Debug, Clone, PartialEq)]
pub enum PropKey {
    /// `a: …`, `"a": …`, `1: …` (numbers are stored as their string form).
    Static(Arc<str>),
    /// `[expr]: …`
    Computed(Expr),
}

/// An object literal member.
#[derive(Debug, Clone, PartialEq)]
pub enum Property {
    KeyValue {
        key: PropKey,
        value: Expr,
        span: Span,
    },
    /// `{x}`
    Shorthand(Ident),
    /// `{...o}`
    Spread(Expr),
    /// `{a ~> 0.8}`, `{a = 1}`: only valid where the literal is a destructuring pattern
    /// (`{a ~> 0.8, b = 1} = value`); an error anywhere else.
    PatternOnly(Box<PatternOnlyProp>),
}

/// A shorthand property with a confidence threshold or a default value.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternOnlyProp {
    pub key: Ident,
    pub threshold: Option<Expr>,
    pub default: Option<Expr>,
    pub span: Span,
}

/// A call argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Expr(Expr),
    Spread(Expr),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `!x`
    Not,
    /// `~x` (identity)
    Tilde,
    /// `<~x` (the confidence of x)
    Extract,
    /// `typeof x`
    Typeof,
}

/// Binary operators (logical ones short-circuit and have their own node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Eq,
    NotEq,
    StrictEq,
    StrictNotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Instanceof,
    In,
    /// `~+`
    ConfAdd,
    /// `~-`
    ConfSub,
    /// `~*`
    ConfMul,
    /// `~/`
    ConfDiv,
    /// `~==`
    ConfEq,
    /// `~!=`
    ConfNotEq,
    /// `~<`
    ConfLt,
    /// `~<=`
    ConfLtEq,
    /// `~>=`
    ConfGtEq,
    /// `~&&`: minimum confidence
    ConfAnd,
    /// `~||`: maximum confidence
    ConfOr,
    /// `~??`: left if its confidence ≥ 0.5, else right
    ConfCoalesce,
    /// `~||>`: the operand with the higher confidence
    ConfParallel,
    /// `~@>`: threshold gate
    ConfGate,
    /// `~~`: right value with the minimum of both confidences
    ConfChain,
    /// `~?>`: threshold filter
    ConfThreshold,
    /// `~|>`: confidence pipeline
    ConfPipe,
}

impl BinaryOp {
    /// The operator as written in source.
    pub fn as_str(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            Pow => "**",
            Eq => "==",
            NotEq => "!=",
            StrictEq => "===",
            StrictNotEq => "!==",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            Instanceof => "instanceof",
            In => "in",
            ConfAdd => "~+",
            ConfSub => "~-",
            ConfMul => "~*",
            ConfDiv => "~/",
            ConfEq => "~==",
            ConfNotEq => "~!=",
            ConfLt => "~<",
            ConfLtEq => "~<=",
            ConfGtEq => "~>=",
            ConfAnd => "~&&",
            ConfOr => "~||",
            ConfCoalesce => "~??",
            ConfParallel => "~||>",
            ConfGate => "~@>",
            ConfChain => "~~",
            ConfThreshold => "~?>",
            ConfPipe => "~|>",
        }
    }
}

/// Short-circuiting operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOp {
    And,
    Or,
    Nullish,
}

/// `=`, `+=`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Assign,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    /// `??=`
    Nullish,
    /// `&&=`
    And,
    /// `||=`
    Or,
    /// `~+=`
    ConfAdd,
    /// `~-=`
    ConfSub,
    /// `~*=`
    ConfMul,
    /// `~/=`
    ConfDiv,
}

/// `++` / `--`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOp {
    Inc,
    Dec,
}

/// One arm of a `match` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchArm {
    pub pattern: MatchPattern,
    /// `[a, b] ~> 0.8 => …`: a threshold for every element or property of the pattern that
    /// has none of its own.
    pub threshold: Option<Expr>,
    pub guard: Option<Expr>,
    pub body: MatchBody,
    pub span: Span,
}

/// What a `match` arm evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchBody {
    /// `pattern => expr`
    Expr(Expr),
    /// `pattern => { statements }`: the value of the last statement (a `return` inside
    /// returns from the enclosing function).
    Block(Block),
}

/// Patterns of `match` arms.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchPattern {
    /// `_`
    Wildcard(Span),
    /// A literal compared with `===` semantics on the unwrapped value.
    Literal(Expr),
    /// A name binds the (unchanged) subject.
    Binding(Ident),
    /// `[a ~> 0.8, b, ...rest]`
    Array {
        elems: Vec<MatchElem>,
        rest: Option<Ident>,
        span: Span,
    },
    /// `{kind: "square", side, ...others}`
    Object {
        props: Vec<MatchProp>,
        rest: Option<Ident>,
        span: Span,
    },
}

/// An element of an array match pattern, with an optional confidence threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchElem {
    pub pattern: MatchPattern,
    pub threshold: Option<Expr>,
}

/// A property of an object match pattern: `key` (binds key) or `key: pattern`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchProp {
    pub key: Ident,
    pub pattern: Option<MatchPattern>,
    pub threshold: Option<Expr>,
}

/// Binding patterns: declarations, parameters, destructuring assignment, `for … in`.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    Ident(Ident),
    Array {
        elems: Vec<Option<PatElem>>,
        rest: Option<Box<Pattern>>,
        span: Span,
    },
    Object {
        props: Vec<PatProp>,
        rest: Option<Ident>,
        span: Span,
    },
}

impl Pattern {
    /// The source span of the whole pattern.
    pub fn span(&self) -> Span {
        match self {
            Pattern::Ident(id) => id.span,
            Pattern::Array { span, .. } | Pattern::Object { span, .. } => *span,
        }
    }

    /// Appends every name the pattern binds, left to right (`[a, {b, ...c}, ...d]` → a b c d).
    pub fn bound_names<'a>(&'a self, out: &mut Vec<&'a Ident>) {
        match self {
            Pattern::Ident(id) => out.push(id),
            Pattern::Array { elems, rest, .. } => {
                for el in elems.iter().flatten() {
                    el.target.bound_names(out);
                }
                if let Some(r) = rest {
                    r.bound_names(out);
                }
            }
            Pattern::Object { props, rest, .. } => {
                for p in props {
                    p.target.bound_names(out);
                }
                out.extend(rest);
            }
        }
    }
}

/// An element of an array pattern: `a`, `a = 1`, `a ~> 0.8`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatElem {
    pub target: Pattern,
    pub default: Option<Expr>,
    /// Confidence threshold: below it the name binds `null`.
    pub threshold: Option<Expr>,
}

/// A property of an object pattern: `key`, `key: target`, with default and threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct PatProp {
    pub key: Ident,
    pub target: Pattern,
    pub default: Option<Expr>,
    pub threshold: Option<Expr>,
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number(f64),
    String(Arc<str>),
    Template(Vec<TemplatePart>),
    Bool(bool),
    Null,
    /// `undefined` (the same value as `null`).
    Undefined,
    Ident(Name),
    /// `_` inside a pipeline.
    Placeholder,
    Array(Vec<ArrayElem>),
    Object(Vec<Property>),
    /// A lambda or function expression.
    Function(Arc<Function>),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Update {
        op: UpdateOp,
        prefix: bool,
        target: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Logical {
        op: LogicalOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `value ~> confidence`
    Attach {
        value: Box<Expr>,
        confidence: Box<Expr>,
    },
    /// `cond ? a : b`
    Conditional {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `cond ~? a : b`: the branch with confidence = condition × branch.
    ConfConditional {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `target op= value`; target is an identifier, member or index expression.
    Assign {
        op: AssignOp,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    /// `obj.name`, `obj?.name`, `obj~.name`
    Member {
        object: Box<Expr>,
        property: Ident,
        optional: bool,
        confident: bool,
    },
    /// `obj[index]`, `obj?.[index]`
    Index {
        object: Box<Expr>,
        index: Box<Expr>,
        optional: bool,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
        optional: bool,
    },
    /// `lhs |> rhs`: `rhs` with every pipeline placeholder `_` standing for `lhs`; without a
    /// placeholder, `rhs` is called with `lhs`.
    Pipeline {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Match {
        subject: Box<Expr>,
        arms: Vec<MatchArm>,
    },
    Await(Box<Expr>),
    /// `(a, b)`
    Sequence(Vec<Expr>),
    /// An expression the parser could not read (a diagnostic was reported).
    Error,
}

impl Expr {
    /// Builds an expression node.
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// The parser moves these values on every reduction: keeping them small keeps parsing
    /// fast (large variants are boxed).
    #[test]
    fn syntax_nodes_stay_small() {
        assert!(std::mem::size_of::<Expr>() <= 48, "Expr grew");
        assert!(std::mem::size_of::<Stmt>() <= 80, "Stmt grew");
    }
}
