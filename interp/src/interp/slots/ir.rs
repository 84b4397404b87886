//! The slot-resolved form a function body (or a top-level loop) is compiled to: the syntax
//! tree's shape, with every name resolved to the frame slots that may bind it, or to the
//! scope object of its scope when a nested function captures it.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use prism_compiler::ast::{self, AssignOp, BinaryOp, LogicalOp, Name, UnaryOp, UpdateOp};
use prism_compiler::span::Span;

use crate::scope::BindingKind;
use crate::value::Value;

/// A slot of the running frame (an index from the frame's base).
pub(crate) type SlotId = u32;

/// The slots of one scope: reset to unbound each time the scope is entered, as a new scope
/// starts empty.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Range {
    pub start: SlotId,
    pub len: u32,
    /// The scope binds a name a nested function captures: entering it makes a scope object
    /// (a child of the current environment) that binds those names by name.
    pub env: bool,
}

/// Where a name is bound when the current scope binds it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Home {
    /// A slot of the current scope.
    Slot(SlotId),
    /// The current scope's bindings live in the environment the code runs in: the program's
    /// top level, or a scope object holding the names nested functions capture. Bound by name
    /// there.
    Env,
}

/// Where a parameter, loop variable, `catch` binding or function declaration is defined.
pub(crate) struct Binder {
    pub name: Name,
    pub home: Home,
}

/// A function declaration: the function and where its name is bound.
pub(crate) struct FnDef {
    pub func: Arc<ast::Function>,
    pub home: Option<Binder>,
}

/// A use of a name: the slots that may bind it, innermost first; when none is bound, the
/// name is looked up in the environment the code runs in.
pub(crate) struct Var {
    pub name: Name,
    pub span: Span,
    pub slots: Box<[SlotId]>,
    /// Where a plain assignment binds the name when nothing binds it yet (`None` where the
    /// name is only read).
    pub home: Option<Home>,
    /// The index of the name in the root scope, when last found there.
    pub cache: Cell<u32>,
}

/// One piece of a template string.
pub(crate) enum TplPart {
    Text(Rc<str>),
    Expr(Ex, Span),
}

/// An array literal element.
pub(crate) enum ArrEl {
    Expr(Ex),
    Spread(Ex, Span),
    Hole,
}

/// An object literal member.
pub(crate) enum Prop {
    Static(Rc<str>, Ex),
    Computed(Ex, Ex),
    Shorthand(Var),
    Spread(Ex, Span),
}

/// A call argument.
pub(crate) enum ArgIr {
    Expr(Ex),
    Spread(Ex, Span),
}

/// What an assignment or update writes to.
pub(crate) enum Target {
    Var(Var),
    Member {
        object: Ex,
        name: Rc<str>,
    },
    Index {
        object: Ex,
        index: Ex,
    },
    /// Not assignable: fails when assigned.
    Invalid,
}

/// Expressions.
pub(crate) enum Ex {
    Const(Value),
    Var(Box<Var>),
    Template(Vec<TplPart>),
    Placeholder(Span),
    Array(Vec<ArrEl>),
    Object(Vec<Prop>),
    Unary {
        op: UnaryOp,
        expr: Box<Ex>,
        span: Span,
    },
    Update {
        op: UpdateOp,
        prefix: bool,
        target: Box<Target>,
        /// The target read as an expression.
        read: Box<Ex>,
        target_span: Span,
        span: Span,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Ex>,
        rhs: Box<Ex>,
        span: Span,
    },
    /// `name op k` (or `k op name` when `swapped`) for a name with a slot, `k` a number
    /// constant and `op` an operator [`BinaryOp`] numbers take without failing: `n < 2`,
    /// `n - 1`. Read straight from the slot when it holds a number; otherwise as `Binary`.
    VarNum {
        op: BinaryOp,
        var: Box<Var>,
        k: f64,
        swapped: bool,
        span: Span,
    },
    /// `x op k`, `k` a number constant (`i * 2 % 7`): as `Binary` without evaluating the
    /// constant.
    OpNum {
        op: BinaryOp,
        lhs: Box<Ex>,
        k: f64,
        span: Span,
    },
    /// `v ~|> f(_)`: the right side with `_` standing for the left value.
    ConfPipeHole {
        lhs: Box<Ex>,
        rhs: Box<Ex>,
    },
    Logical {
        op: LogicalOp,
        lhs: Box<Ex>,
        rhs: Box<Ex>,
    },
    Attach {
        value: Box<Ex>,
        confidence: Box<Ex>,
        span: Span,
    },
    Conditional {
        cond: Box<Ex>,
        then: Box<Ex>,
        otherwise: Box<Ex>,
    },
    ConfConditional {
        cond: Box<Ex>,
        then: Box<Ex>,
        otherwise: Box<Ex>,
    },
    Assign {
        op: AssignOp,
        target: Box<Target>,
        value: Box<Ex>,
        target_span: Span,
        span: Span,
    },
    /// `s = s + a + b` / `s += a`: appends in place when it can.
    AddAssign {
        var: Box<Var>,
        operands: Vec<Ex>,
        name_span: Span,
        span: Span,
    },
    Member {
        object: Box<Ex>,
        name: Rc<str>,
        optional: bool,
        confident: bool,
        span: Span,
    },
    Index {
        object: Box<Ex>,
        index: Box<Ex>,
        optional: bool,
        span: Span,
    },
    Call {
        callee: Box<Ex>,
        args: Vec<ArgIr>,
        /// No argument is spread: the count is known.
        plain: bool,
        optional: bool,
        span: Span,
    },
    MethodCall {
        object: Box<Ex>,
        name: Rc<str>,
        opt_member: bool,
        confident: bool,
        args: Vec<ArgIr>,
        optional: bool,
        span: Span,
    },
    Pipeline {
        lhs: Box<Ex>,
        rhs: Box<Ex>,
        hole: bool,
        span: Span,
    },
    Await(Box<Ex>, Span),
    Sequence(Vec<Ex>),
    /// A lambda or function expression: a closure over the current environment.
    Function(Arc<ast::Function>),
    /// An error known when compiling (plain, without a position prefix).
    Fail(&'static str, Span),
}

/// A block: its scope when it declares something.
pub(crate) struct BlockIr {
    pub scope: Option<Range>,
    pub stmts: Vec<St>,
}

/// One `name = init` of a `let`/`const`.
pub(crate) struct DeclIr {
    pub name: Name,
    pub span: Span,
    pub home: Home,
    pub init: Option<Ex>,
}

/// The branches of an `uncertain` statement.
#[derive(Default)]
pub(crate) struct Branches {
    pub high: Option<BlockIr>,
    pub medium: Option<BlockIr>,
    pub low: Option<BlockIr>,
    pub default: Option<BlockIr>,
}

/// `catch (e) { … }`.
pub(crate) struct CatchIr {
    pub scope: Range,
    pub param: Option<Binder>,
    pub body: Vec<St>,
}

/// Statements.
pub(crate) enum St {
    Expr(Ex),
    Decl {
        kind: BindingKind,
        decls: Vec<DeclIr>,
    },
    Return(Option<Ex>, Span),
    If {
        cond: Ex,
        then: Box<St>,
        otherwise: Option<Box<St>>,
    },
    Block(BlockIr),
    While {
        cond: Ex,
        body: Box<St>,
        body_span: Span,
    },
    DoWhile {
        body: Box<St>,
        cond: Ex,
        body_span: Span,
    },
    For {
        scope: Range,
        init: Option<Box<St>>,
        cond: Option<Ex>,
        update: Option<Ex>,
        body: Box<St>,
        body_span: Span,
    },
    ForIn {
        scope: Range,
        binding: Binder,
        index: Option<Binder>,
        iterable: Ex,
        iterable_span: Span,
        body: Vec<St>,
        /// False when the body is one statement (run as a statement, not a list).
        body_is_block: bool,
        body_span: Span,
    },
    UncertainIf {
        cond: Ex,
        cond_span: Span,
        branches: Branches,
    },
    UncertainWhile {
        cond: Ex,
        branches: Branches,
        span: Span,
    },
    UncertainFor {
        scope: Range,
        init: Option<Box<St>>,
        cond: Option<Ex>,
        update: Option<Ex>,
        branches: Branches,
        span: Span,
    },
    Break(Span),
    Continue(Span),
    Throw(Ex, Span),
    Try {
        body: BlockIr,
        catch: Option<CatchIr>,
        finally: Option<BlockIr>,
    },
    /// Statements run in the current scope (`in context … { }`).
    Inline(Vec<St>),
    /// A function declaration run as a statement (it is hoisted too).
    Function(FnDef),
    /// The function declarations of a statement list, defined before it runs.
    Hoist(Vec<FnDef>),
    Empty,
}

/// A parameter of a compiled function.
pub(crate) struct ParamIr {
    pub bind: Binder,
    pub default: Option<Ex>,
    pub rest: bool,
}

/// A compiled function body.
pub(crate) enum BodyIr {
    Expr(Ex),
    Block(Vec<St>),
    Empty,
}

/// A compiled function: its frame size, parameters and body.
pub(crate) struct FnCode {
    pub slots: u32,
    /// The call's scope binds names nested functions capture: each call makes a scope
    /// object for them (a child of the closure's scope).
    pub env: bool,
    /// `Some(n)`: the function takes exactly `n` plain parameters, in slots `0..n` (no
    /// defaults, no rest, none captured), so a call with `n` arguments can evaluate them
    /// straight into the callee's frame.
    pub direct: Option<usize>,
    pub params: Vec<ParamIr>,
    pub body: BodyIr,
}

/// A compiled top-level statement: its frame size and the statement.
pub(crate) struct StmtCode {
    pub slots: u32,
    pub stmt: St,
}
