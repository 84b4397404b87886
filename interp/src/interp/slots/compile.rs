//! Compiles a function (or a top-level loop) to the slot form, resolving each name to the
//! slots of the enclosing scopes that may bind it. Names that nested functions (lambdas,
//! function declarations and expressions) may capture get no slot: the scopes binding them
//! get a scope object at run time, as in the tree walker, which the closures made there
//! share. Returns `None` for code that uses what the slot form does not cover yet (`match`,
//! destructuring, modules): that code runs on the tree-walking evaluator.

use std::cell::Cell;

use prism_compiler::ast::{
    self, Arg, ArrayElem, AssignOp, BinaryOp, Block, Expr, ExprKind, FunctionBody, Name, Pattern,
    PropKey, Property, Stmt, StmtKind, TemplatePart, UncertainBranches,
};

use super::ir::*;
use super::layout;
use crate::interp::assign::{add_chain, is_simple, leftmost_span};
use crate::interp::expr::has_placeholder;
use crate::interp::stmt::binding_kind;
use crate::value::Value;

/// One scope being compiled: its names and their slots, the names it binds by name in its
/// scope object, or the environment's own scope.
struct ScopeInfo {
    names: Vec<(Name, SlotId)>,
    env_names: Vec<Name>,
    dynamic: bool,
}

struct Compiler {
    scopes: Vec<ScopeInfo>,
    next: u32,
    max: u32,
    /// The names nested functions may capture (see [`layout::Captures`]).
    captured: Vec<Name>,
}

type C<T> = Option<T>;

/// Compiles a function's parameters and body.
pub(crate) fn function(f: &ast::Function) -> Option<FnCode> {
    let mut c = Compiler {
        scopes: Vec::new(),
        next: 0,
        max: 0,
        captured: layout::Captures::of_function(f),
    };
    let mut names: Vec<Name> = Vec::new();
    for p in &f.params {
        let Pattern::Ident(id) = &p.pattern else {
            return None;
        };
        if !names.contains(&id.name) {
            names.push(id.name.clone());
        }
    }
    match &f.body {
        FunctionBody::Expr(e) => layout::expr(e, &mut names),
        FunctionBody::Block(b) => layout::stmts(&b.stmts, &mut names),
    }
    for p in &f.params {
        if let Some(d) = &p.default {
            layout::expr(d, &mut names);
        }
    }
    let scope = c.enter(names);
    let mut params = Vec::with_capacity(f.params.len());
    for p in &f.params {
        let Pattern::Ident(id) = &p.pattern else {
            return None;
        };
        let bind = c.binder(&id.name)?;
        let default = match &p.default {
            Some(d) => Some(c.expr(d)?),
            None => None,
        };
        params.push(ParamIr {
            bind,
            default,
            rest: p.rest,
        });
    }
    let body = match &f.body {
        FunctionBody::Expr(e) => BodyIr::Expr(c.expr(e)?),
        FunctionBody::Block(b) if b.stmts.is_empty() => BodyIr::Empty,
        FunctionBody::Block(b) => {
            let mut stmts = c.list(&b.stmts)?;
            tail_returns(&mut stmts);
            if let [last] = &mut stmts[..] {
                fold_if(last);
            }
            match &mut stmts[..] {
                // A body of one expression statement is that expression's value.
                [St::Expr(e)] => BodyIr::Expr(std::mem::replace(e, Ex::Const(Value::Null))),
                _ => BodyIr::Block(stmts),
            }
        }
    };
    let direct = (!scope.env
        && params.iter().enumerate().all(|(i, p)| {
            !p.rest
                && p.default.is_none()
                && matches!(p.bind.home, Home::Slot(s) if s as usize == i)
        }))
    .then_some(params.len());
    Some(FnCode {
        slots: c.max,
        env: scope.env,
        direct,
        params,
        body,
    })
}

/// A `return` that ends a function body gives the body's value: no unwinding needed. So
/// `if (c) { return a } return b` at the end of a body becomes `if (c) { a } else { b }` as
/// the body's last statement (the value of an `if` is its branch's value), and every `return`
/// in the last statement's tail positions (branches of an `if`, the end of a block) becomes
/// its value.
fn tail_returns(stmts: &mut Vec<St>) {
    while stmts.len() >= 2 && always_returns(&stmts[stmts.len() - 1]) {
        let n = stmts.len();
        match &stmts[n - 2] {
            St::If {
                then,
                otherwise: None,
                ..
            } if always_returns(then) => {}
            _ => break,
        }
        let last = stmts.pop().unwrap_or(St::Empty);
        if let Some(St::If { otherwise, .. }) = stmts.last_mut() {
            *otherwise = Some(Box::new(last));
        }
    }
    if let Some(last) = stmts.last_mut() {
        tail(last);
    }
}

/// True if running the statement always ends in a `return` (when it does not fail).
fn always_returns(s: &St) -> bool {
    match s {
        St::Return(..) => true,
        St::If {
            then,
            otherwise: Some(o),
            ..
        } => always_returns(then) && always_returns(o),
        St::Block(b) => b.stmts.last().is_some_and(always_returns),
        _ => false,
    }
}

/// Turns the `return`s in the tail positions of a body's last statement into values.
fn tail(s: &mut St) {
    match s {
        St::Return(e, _) => *s = St::Expr(e.take().unwrap_or(Ex::Const(Value::Null))),
        St::If {
            then, otherwise, ..
        } => {
            tail(then);
            if let Some(o) = otherwise {
                tail(o);
            }
        }
        St::Block(b) => {
            if let Some(last) = b.stmts.last_mut() {
                tail(last);
            }
        }
        _ => {}
    }
}

/// `if (c) a else b` whose branches are both expression statements is the conditional
/// expression `c ? a : b`: the same value (the branch's), the same truthiness test, and one
/// statement dispatch less (a tail-return body such as `if (n < 2) { return n } return …`
/// becomes one expression this way).
fn fold_if(s: &mut St) {
    if let St::If {
        then, otherwise, ..
    } = s
    {
        fold_if(then);
        if let Some(o) = otherwise {
            fold_if(o);
        }
    }
    let St::If {
        cond,
        then,
        otherwise: Some(otherwise),
    } = s
    else {
        return;
    };
    let (St::Expr(a), St::Expr(b)) = (&mut **then, &mut **otherwise) else {
        return;
    };
    let take = |x: &mut Ex| std::mem::replace(x, Ex::Const(Value::Null));
    *s = St::Expr(Ex::Conditional {
        cond: Box::new(take(cond)),
        then: Box::new(take(a)),
        otherwise: Box::new(take(b)),
    });
}

/// `name op k`, `k op name` and `x op k` (`k` a number constant, `op` an operator numbers
/// take without failing) get nodes of their own ([`Ex::VarNum`], [`Ex::OpNum`]); any other
/// binary expression stays [`Ex::Binary`].
fn specialise_binary(
    op: BinaryOp,
    lhs: Box<Ex>,
    rhs: Box<Ex>,
    span: prism_compiler::span::Span,
) -> Ex {
    use BinaryOp::*;
    let numeric = matches!(
        op,
        Add | Sub | Mul | Div | Rem | Lt | LtEq | Gt | GtEq | Eq | StrictEq | NotEq | StrictNotEq
    );
    if !numeric {
        return Ex::Binary { op, lhs, rhs, span };
    }
    match (*lhs, *rhs) {
        (Ex::Var(var), Ex::Const(Value::Number(k))) if !var.slots.is_empty() => Ex::VarNum {
            op,
            var,
            k,
            swapped: false,
            span,
        },
        (Ex::Const(Value::Number(k)), Ex::Var(var)) if !var.slots.is_empty() => Ex::VarNum {
            op,
            var,
            k,
            swapped: true,
            span,
        },
        (lhs, Ex::Const(Value::Number(k))) => Ex::OpNum {
            op,
            lhs: Box::new(lhs),
            k,
            span,
        },
        (lhs, rhs) => Ex::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            span,
        },
    }
}

/// Compiles a loop statement of a program's top level, which runs in the environment.
pub(crate) fn top_level_loop(s: &Stmt) -> Option<StmtCode> {
    if !matches!(
        s.kind,
        StmtKind::For { .. }
            | StmtKind::While { .. }
            | StmtKind::DoWhile { .. }
            | StmtKind::ForIn { .. }
            | StmtKind::UncertainFor { .. }
            | StmtKind::UncertainWhile { .. }
    ) {
        return None;
    }
    let mut c = Compiler {
        scopes: vec![ScopeInfo {
            names: Vec::new(),
            env_names: Vec::new(),
            dynamic: true,
        }],
        next: 0,
        max: 0,
        captured: layout::Captures::of_stmt(s),
    };
    let stmt = c.stmt(s)?;
    Some(StmtCode { slots: c.max, stmt })
}

impl Compiler {
    /// Opens a scope binding `names`: captured names by name in its scope object, the others
    /// in slots. Returns its slots.
    fn enter(&mut self, names: Vec<Name>) -> Range {
        let start = self.next;
        let mut list = Vec::with_capacity(names.len());
        let mut env_names = Vec::new();
        for n in names {
            if self.captured.contains(&n) {
                env_names.push(n);
            } else {
                list.push((n, self.next));
                self.next += 1;
            }
        }
        self.max = self.max.max(self.next);
        let env = !env_names.is_empty();
        self.scopes.push(ScopeInfo {
            names: list,
            env_names,
            dynamic: false,
        });
        Range {
            start,
            len: self.next - start,
            env,
        }
    }

    fn leave(&mut self, r: Range) {
        self.scopes.pop();
        self.next = r.start;
    }

    fn own_slot(&self, name: &Name) -> Option<SlotId> {
        let s = self.scopes.last()?;
        s.names.iter().find(|(n, _)| n == name).map(|(_, i)| *i)
    }

    /// Where the current scope binds `name` (`None` if its layout does not have it).
    fn home(&self, name: &Name) -> C<Home> {
        match self.scopes.last() {
            Some(s) if s.dynamic || s.env_names.contains(name) => Some(Home::Env),
            Some(_) => self.own_slot(name).map(Home::Slot),
            None => None,
        }
    }

    fn binder(&self, name: &Name) -> C<Binder> {
        Some(Binder {
            name: name.clone(),
            home: self.home(name)?,
        })
    }

    fn fn_def(&self, f: &std::sync::Arc<ast::Function>) -> C<FnDef> {
        Some(FnDef {
            func: f.clone(),
            home: match &f.name {
                Some(id) => Some(self.binder(&id.name)?),
                None => None,
            },
        })
    }

    fn var(&self, name: &Name, span: prism_compiler::span::Span) -> C<Var> {
        let mut slots = Vec::new();
        for s in self.scopes.iter().rev() {
            if let Some((_, i)) = s.names.iter().find(|(n, _)| n == name) {
                slots.push(*i);
            }
        }
        Some(Var {
            name: name.clone(),
            span,
            slots: slots.into_boxed_slice(),
            home: self.home(name),
            cache: Cell::new(u32::MAX),
        })
    }

    /// A statement list run in the current scope, its function declarations hoisted (defined
    /// before the list runs) as the tree walker does.
    fn list(&mut self, stmts: &[Stmt]) -> C<Vec<St>> {
        let mut hoisted = Vec::new();
        for s in stmts {
            if let StmtKind::Function(f) = &s.kind
                && f.name.is_some()
            {
                hoisted.push(self.fn_def(f)?);
            }
        }
        let mut out = Vec::with_capacity(stmts.len() + 1);
        if !hoisted.is_empty() {
            out.push(St::Hoist(hoisted));
        }
        for s in stmts {
            out.push(self.stmt(s)?);
        }
        Some(out)
    }

    fn block(&mut self, b: &Block) -> C<BlockIr> {
        if layout::block_has_scope(b) {
            let mut names = Vec::new();
            layout::stmts(&b.stmts, &mut names);
            let r = self.enter(names);
            let stmts = self.list(&b.stmts);
            self.leave(r);
            Some(BlockIr {
                scope: Some(r),
                stmts: stmts?,
            })
        } else {
            Some(BlockIr {
                scope: None,
                stmts: self.list(&b.stmts)?,
            })
        }
    }

    fn branches(&mut self, b: &UncertainBranches) -> C<Branches> {
        let mut one = |x: &Option<Block>| -> C<Option<BlockIr>> {
            match x {
                Some(b) => Some(Some(self.block(b)?)),
                None => Some(None),
            }
        };
        Some(Branches {
            high: one(&b.high)?,
            medium: one(&b.medium)?,
            low: one(&b.low)?,
            default: one(&b.default)?,
        })
    }

    fn opt_expr(&mut self, e: Option<&Expr>) -> C<Option<Ex>> {
        match e {
            Some(e) => Some(Some(self.expr(e)?)),
            None => Some(None),
        }
    }

    /// The names of the `init; cond; update` scope of a C-style loop (with `names` of its
    /// body).
    fn for_scope(
        &mut self,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        mut names: Vec<Name>,
    ) -> Vec<Name> {
        if let Some(i) = init {
            layout::stmts(std::slice::from_ref(i), &mut names);
        }
        if let Some(c) = cond {
            layout::expr(c, &mut names);
        }
        if let Some(u) = update {
            layout::expr(u, &mut names);
        }
        names
    }

    fn stmt(&mut self, s: &Stmt) -> C<St> {
        Some(match &s.kind {
            StmtKind::Expr(e) => St::Expr(self.expr(e)?),
            StmtKind::Decl { kind, decls } => self.decl(*kind, decls)?,
            StmtKind::Return(e) => St::Return(self.opt_expr(e.as_ref())?, s.span),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => St::If {
                cond: self.expr(cond)?,
                then: Box::new(self.stmt(then)?),
                otherwise: match otherwise {
                    Some(o) => Some(Box::new(self.stmt(o)?)),
                    None => None,
                },
            },
            StmtKind::Block(b) => self.block_stmt(b)?,
            StmtKind::While { cond, body } => St::While {
                cond: self.expr(cond)?,
                body: Box::new(self.stmt(body)?),
                body_span: body.span,
            },
            StmtKind::DoWhile { body, cond } => St::DoWhile {
                body: Box::new(self.stmt(body)?),
                cond: self.expr(cond)?,
                body_span: body.span,
            },
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => self.for_loop(init.as_deref(), cond.as_deref(), update.as_deref(), body)?,
            StmtKind::ForIn {
                binding,
                index,
                iterable,
                body,
            } => self.for_in(binding, index.as_ref(), iterable, body)?,
            StmtKind::UncertainIf { cond, branches } => St::UncertainIf {
                cond: self.expr(cond)?,
                cond_span: cond.span,
                branches: self.branches(branches)?,
            },
            StmtKind::UncertainWhile { cond, branches } => St::UncertainWhile {
                cond: self.expr(cond)?,
                branches: self.branches(branches)?,
                span: s.span,
            },
            StmtKind::UncertainFor {
                init,
                cond,
                update,
                branches,
            } => self.uncertain_for(
                init.as_deref(),
                cond.as_deref(),
                update.as_deref(),
                branches,
                s.span,
            )?,
            StmtKind::Break => St::Break(s.span),
            StmtKind::Continue => St::Continue(s.span),
            StmtKind::Throw(e) => St::Throw(self.expr(e)?, s.span),
            StmtKind::Try {
                body,
                catch,
                finally,
            } => self.try_stmt(body, catch.as_deref(), finally.as_deref())?,
            StmtKind::Context(c) => St::Inline(self.list(&c.body.stmts)?),
            StmtKind::Empty => St::Empty,
            StmtKind::Function(f) => St::Function(self.fn_def(f)?),
            StmtKind::Destructure { .. }
            | StmtKind::Import { .. }
            | StmtKind::ExportDecl(_)
            | StmtKind::ExportNames(_)
            | StmtKind::ReExport(_)
            | StmtKind::ExportDefault(_)
            | StmtKind::Agents(_)
            | StmtKind::Error => return None,
        })
    }

    /// `let`/`const`/`var` of plain names (destructuring is not covered).
    fn decl(&mut self, kind: ast::DeclKind, decls: &[ast::Declarator]) -> C<St> {
        let mut out = Vec::with_capacity(decls.len());
        for d in decls {
            let Pattern::Ident(id) = &d.target else {
                return None;
            };
            let init = self.opt_expr(d.init.as_ref())?;
            out.push(DeclIr {
                name: id.name.clone(),
                span: id.span,
                home: self.home(&id.name)?,
                init,
            });
        }
        Some(St::Decl {
            kind: binding_kind(kind),
            decls: out,
        })
    }

    /// A block; one of a single statement and no scope runs as that statement.
    fn block_stmt(&mut self, b: &Block) -> C<St> {
        let b = self.block(b)?;
        Some(match (b.scope, &b.stmts[..]) {
            // A block of one statement without a scope runs as that statement.
            (None, [one]) if !matches!(one, St::Empty) => {
                let mut stmts = b.stmts;
                stmts.pop().unwrap_or(St::Empty)
            }
            _ => St::Block(b),
        })
    }

    /// A C-style `for`: one scope for the loop, entered before its initialiser.
    fn for_loop(
        &mut self,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        body: &Stmt,
    ) -> C<St> {
        let mut body_names = Vec::new();
        layout::body(body, &mut body_names);
        self.c_loop(init, cond, update, body_names, |c, head| {
            Some(St::For {
                scope: head.scope,
                init: head.init,
                cond: head.cond,
                update: head.update,
                body: Box::new(c.stmt(body)?),
                body_span: body.span,
            })
        })
    }

    /// The scope and head of a C-style `for` or `uncertain for`: the scope holds the names the
    /// head and `body_names` bind; `build` makes the loop from the compiled head.
    fn c_loop(
        &mut self,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        body_names: Vec<Name>,
        build: impl FnOnce(&mut Self, LoopHead) -> C<St>,
    ) -> C<St> {
        let names = self.for_scope(init, cond, update, body_names);
        let r = self.enter(names);
        let built = (|| {
            let init = match init {
                Some(i) => Some(Box::new(self.stmt(i)?)),
                None => None,
            };
            let head = LoopHead {
                scope: r,
                init,
                cond: self.opt_expr(cond)?,
                update: self.opt_expr(update)?,
            };
            build(self, head)
        })();
        self.leave(r);
        built
    }

    /// `for … in` with a plain binding: one scope per iteration holding the binding, the index
    /// and the names the body binds.
    fn for_in(
        &mut self,
        binding: &Pattern,
        index: Option<&ast::Ident>,
        iterable: &Expr,
        body: &Stmt,
    ) -> C<St> {
        let Pattern::Ident(id) = binding else {
            return None;
        };
        let iterable_ir = self.expr(iterable)?;
        let mut names = vec![id.name.clone()];
        if let Some(ix) = index
            && !names.contains(&ix.name)
        {
            names.push(ix.name.clone());
        }
        let body_stmts: &[Stmt] = match &body.kind {
            StmtKind::Block(b) => &b.stmts,
            _ => std::slice::from_ref(body),
        };
        layout::stmts(body_stmts, &mut names);
        let r = self.enter(names);
        let built = (|| {
            let binding = self.binder(&id.name)?;
            let index = match index {
                Some(ix) => Some(self.binder(&ix.name)?),
                None => None,
            };
            Some(St::ForIn {
                scope: r,
                binding,
                index,
                iterable: iterable_ir,
                iterable_span: iterable.span,
                body: self.list(body_stmts)?,
                body_is_block: matches!(body.kind, StmtKind::Block(_)),
                body_span: body.span,
            })
        })();
        self.leave(r);
        built
    }

    /// `uncertain for`: as a C-style `for`, with the branches as its body.
    fn uncertain_for(
        &mut self,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        branches: &UncertainBranches,
        span: prism_compiler::span::Span,
    ) -> C<St> {
        let mut body_names = Vec::new();
        for b in [
            &branches.high,
            &branches.medium,
            &branches.low,
            &branches.default,
        ]
        .into_iter()
        .flatten()
        {
            layout::block(b, &mut body_names);
        }
        self.c_loop(init, cond, update, body_names, |c, head| {
            Some(St::UncertainFor {
                scope: head.scope,
                init: head.init,
                cond: head.cond,
                update: head.update,
                branches: c.branches(branches)?,
                span,
            })
        })
    }

    /// `try`/`catch`/`finally`; the `catch` clause has a scope of its own.
    fn try_stmt(
        &mut self,
        body: &Block,
        catch: Option<&ast::CatchClause>,
        finally: Option<&Block>,
    ) -> C<St> {
        let body = self.block(body)?;
        let catch = match catch {
            Some(c) => {
                let mut names = Vec::new();
                let param_name = match &c.param {
                    Some(Pattern::Ident(id)) => {
                        names.push(id.name.clone());
                        Some(id.name.clone())
                    }
                    Some(_) => return None,
                    None => None,
                };
                layout::stmts(&c.body.stmts, &mut names);
                let r = self.enter(names);
                let built = (|| {
                    let param = match &param_name {
                        Some(n) => Some(self.binder(n)?),
                        None => None,
                    };
                    Some(CatchIr {
                        scope: r,
                        param,
                        body: self.list(&c.body.stmts)?,
                    })
                })();
                self.leave(r);
                Some(built?)
            }
            None => None,
        };
        let finally = match finally {
            Some(f) => Some(self.block(f)?),
            None => None,
        };
        Some(St::Try {
            body,
            catch,
            finally,
        })
    }

    fn boxed(&mut self, e: &Expr) -> C<Box<Ex>> {
        Some(Box::new(self.expr(e)?))
    }

    fn args(&mut self, args: &[Arg]) -> C<Vec<ArgIr>> {
        args.iter()
            .map(|a| match a {
                Arg::Expr(x) => Some(ArgIr::Expr(self.expr(x)?)),
                Arg::Spread(x) => Some(ArgIr::Spread(self.expr(x)?, x.span)),
            })
            .collect()
    }

    fn target(&mut self, t: &Expr) -> C<Target> {
        Some(match &t.kind {
            ExprKind::Ident(n) => {
                let v = self.var(n, t.span)?;
                v.home?;
                Target::Var(v)
            }
            ExprKind::Member {
                object, property, ..
            } => Target::Member {
                object: self.expr(object)?,
                name: (*property.name).into(),
            },
            ExprKind::Index { object, index, .. } => Target::Index {
                object: self.expr(object)?,
                index: self.expr(index)?,
            },
            _ => Target::Invalid,
        })
    }

    fn expr(&mut self, e: &Expr) -> C<Ex> {
        let span = e.span;
        Some(match &e.kind {
            ExprKind::Number(n) => Ex::Const(Value::Number(*n)),
            ExprKind::String(s) => Ex::Const(Value::str(&**s)),
            ExprKind::Bool(b) => Ex::Const(Value::Bool(*b)),
            ExprKind::Null | ExprKind::Undefined => Ex::Const(Value::Null),
            ExprKind::Ident(n) => Ex::Var(Box::new(self.var(n, span)?)),
            ExprKind::Template(parts) => self.template(parts)?,
            ExprKind::Placeholder => Ex::Placeholder(span),
            ExprKind::Array(elems) => self.array(elems)?,
            ExprKind::Object(props) => self.object(props)?,
            ExprKind::Function(f) => Ex::Function(f.clone()),
            ExprKind::Match { .. } | ExprKind::Error => return None,
            ExprKind::Unary { op, expr } => Ex::Unary {
                op: *op,
                expr: self.boxed(expr)?,
                span,
            },
            ExprKind::Update { op, prefix, target } => Ex::Update {
                op: *op,
                prefix: *prefix,
                target: Box::new(self.target(target)?),
                read: self.boxed(target)?,
                target_span: target.span,
                span,
            },
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, span)?,
            ExprKind::Logical { op, lhs, rhs } => Ex::Logical {
                op: *op,
                lhs: self.boxed(lhs)?,
                rhs: self.boxed(rhs)?,
            },
            ExprKind::Attach { value, confidence } => Ex::Attach {
                value: self.boxed(value)?,
                confidence: self.boxed(confidence)?,
                span,
            },
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => Ex::Conditional {
                cond: self.boxed(cond)?,
                then: self.boxed(then)?,
                otherwise: self.boxed(otherwise)?,
            },
            ExprKind::ConfConditional {
                cond,
                then,
                otherwise,
            } => Ex::ConfConditional {
                cond: self.boxed(cond)?,
                then: self.boxed(then)?,
                otherwise: self.boxed(otherwise)?,
            },
            ExprKind::Assign { op, target, value } => self.assign(*op, target, value, span)?,
            ExprKind::Member {
                object,
                property,
                optional,
                confident,
            } => Ex::Member {
                object: self.boxed(object)?,
                name: (*property.name).into(),
                optional: *optional,
                confident: *confident,
                span,
            },
            ExprKind::Index {
                object,
                index,
                optional,
            } => Ex::Index {
                object: self.boxed(object)?,
                index: self.boxed(index)?,
                optional: *optional,
                span,
            },
            ExprKind::Call {
                callee,
                args,
                optional,
            } => self.call(callee, args, *optional, span)?,
            ExprKind::Pipeline { lhs, rhs } => Ex::Pipeline {
                lhs: self.boxed(lhs)?,
                hole: has_placeholder(rhs),
                rhs: self.boxed(rhs)?,
                span,
            },
            ExprKind::Await(x) => Ex::Await(self.boxed(x)?, span),
            ExprKind::Sequence(items) => {
                Ex::Sequence(items.iter().map(|x| self.expr(x)).collect::<C<Vec<_>>>()?)
            }
        })
    }

    /// A template literal: its text and its interpolated expressions.
    fn template(&mut self, parts: &[TemplatePart]) -> C<Ex> {
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            out.push(match p {
                TemplatePart::Text(t) => TplPart::Text((**t).into()),
                TemplatePart::Expr(x) => TplPart::Expr(self.expr(x)?, x.span),
            });
        }
        Some(Ex::Template(out))
    }

    /// An array literal, with spreads and holes.
    fn array(&mut self, elems: &[ArrayElem]) -> C<Ex> {
        let mut out = Vec::with_capacity(elems.len());
        for el in elems {
            out.push(match el {
                ArrayElem::Expr(x) => ArrEl::Expr(self.expr(x)?),
                ArrayElem::Spread(x) => ArrEl::Spread(self.expr(x)?, x.span),
                ArrayElem::Hole => ArrEl::Hole,
            });
        }
        Some(Ex::Array(out))
    }

    /// An object literal: static, computed and shorthand keys, and spreads.
    fn object(&mut self, props: &[Property]) -> C<Ex> {
        let mut out = Vec::with_capacity(props.len());
        for p in props {
            out.push(match p {
                Property::KeyValue { key, value, .. } => match key {
                    PropKey::Static(k) => Prop::Static((**k).into(), self.expr(value)?),
                    PropKey::Computed(k) => Prop::Computed(self.expr(k)?, self.expr(value)?),
                },
                Property::Shorthand(id) => Prop::Shorthand(self.var(&id.name, id.span)?),
                Property::Spread(x) => Prop::Spread(self.expr(x)?, x.span),
                Property::PatternOnly(p) => {
                    // Evaluating the literal fails when it reaches this member.
                    out.push(Prop::Spread(
                        Ex::Fail(
                            "A confidence threshold or default value belongs to a destructuring pattern",
                            p.span,
                        ),
                        p.span,
                    ));
                    continue;
                }
            });
        }
        Some(Ex::Object(out))
    }

    /// A binary operation: `~|>` into a placeholder keeps its own form; the others are
    /// specialised by operator and operands.
    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        span: prism_compiler::span::Span,
    ) -> C<Ex> {
        if matches!(op, BinaryOp::ConfPipe) && has_placeholder(rhs) {
            return Some(Ex::ConfPipeHole {
                lhs: self.boxed(lhs)?,
                rhs: self.boxed(rhs)?,
            });
        }
        let lhs = self.boxed(lhs)?;
        let rhs = self.boxed(rhs)?;
        Some(specialise_binary(op, lhs, rhs, span))
    }

    /// A call; a call of a member (`a.f(x)`) is a method call.
    fn call(
        &mut self,
        callee: &Expr,
        args: &[Arg],
        optional: bool,
        span: prism_compiler::span::Span,
    ) -> C<Ex> {
        Some(match &callee.kind {
            ExprKind::Member {
                object,
                property,
                optional: opt_member,
                confident,
            } => Ex::MethodCall {
                object: self.boxed(object)?,
                name: (*property.name).into(),
                opt_member: *opt_member,
                confident: *confident,
                args: self.args(args)?,
                optional,
                span,
            },
            _ => Ex::Call {
                callee: self.boxed(callee)?,
                args: self.args(args)?,
                plain: args.iter().all(|a| matches!(a, Arg::Expr(_))),
                optional,
                span,
            },
        })
    }

    fn assign(
        &mut self,
        op: AssignOp,
        target: &Expr,
        value: &Expr,
        span: prism_compiler::span::Span,
    ) -> C<Ex> {
        if let ExprKind::Ident(name) = &target.kind {
            if op == AssignOp::Assign {
                let mut operands: smallvec::SmallVec<[&Expr; 4]> = smallvec::SmallVec::new();
                if matches!(
                    value.kind,
                    ExprKind::Binary {
                        op: BinaryOp::Add,
                        ..
                    }
                ) && add_chain(value, name, &mut operands)
                {
                    let operands = operands
                        .iter()
                        .map(|x| self.expr(x))
                        .collect::<C<Vec<_>>>()?;
                    let var = self.var(name, target.span)?;
                    var.home?;
                    return Some(Ex::AddAssign {
                        var: Box::new(var),
                        operands,
                        name_span: leftmost_span(value),
                        span,
                    });
                }
            } else if op == AssignOp::Add && is_simple(value) {
                let var = self.var(name, target.span)?;
                var.home?;
                return Some(Ex::AddAssign {
                    var: Box::new(var),
                    operands: vec![self.expr(value)?],
                    name_span: target.span,
                    span,
                });
            }
        }
        Some(Ex::Assign {
            op,
            target: Box::new(self.target(target)?),
            value: self.boxed(value)?,
            target_span: target.span,
            span,
        })
    }
}

/// The compiled head of a C-style loop (see [`Compiler::c_loop`]).
struct LoopHead {
    scope: Range,
    init: Option<Box<St>>,
    cond: Option<Ex>,
    update: Option<Ex>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_function(src: &str) -> std::sync::Arc<ast::Function> {
        let parsed = prism_compiler::parse(src);
        match parsed.program.stmts.first().map(|s| &s.kind) {
            Some(StmtKind::Function(f)) => f.clone(),
            _ => unreachable!("the source starts with a function declaration"),
        }
    }

    #[test]
    fn parameters_and_locals_get_slots_and_free_names_none() {
        let f = first_function("function f(a, b) { let c = a; d = b; return c + d + g }");
        let code = function(&f).expect("covered");
        assert_eq!(code.slots, 4);
        let slots: Vec<u32> = code
            .params
            .iter()
            .map(|p| match p.bind.home {
                Home::Slot(s) => s,
                Home::Env => u32::MAX,
            })
            .collect();
        assert_eq!(slots, [0, 1]);
        assert!(!code.env);
        let BodyIr::Block(stmts) = &code.body else {
            unreachable!("a block body")
        };
        // The final `return` became the body's value.
        let St::Expr(Ex::Binary { rhs, .. }) = &stmts[2] else {
            unreachable!("return a + b + g")
        };
        let Ex::Var(g) = &**rhs else {
            unreachable!("g")
        };
        assert!(g.slots.is_empty(), "g is looked up in the closure's scope");
    }

    #[test]
    fn block_scopes_reuse_slots_and_shadow() {
        let f = first_function("function f(x) { { let y = 1 } { let z = x; { let x = 2; x } } }");
        let code = function(&f).expect("covered");
        // x, then y or z (siblings share), then the inner x.
        assert_eq!(code.slots, 3);
    }

    #[test]
    fn top_level_loops_compile_with_their_bodies_names() {
        let parsed = prism_compiler::parse(
            "for (let i = 0; i < 3; i++) { sum = sum + i }\nwhile (x) { let y = 1; z = y }",
        );
        for s in &parsed.program.stmts {
            assert!(top_level_loop(s).is_some());
        }
    }

    #[test]
    fn captured_names_live_in_a_scope_object_and_the_rest_in_slots() {
        let f = first_function(
            "function f(a, b) { let c = 1; for (let i = 0; i < a; i++) { let d = i; g(() => d + b) } return c }",
        );
        let code = function(&f).expect("covered");
        assert!(
            code.env,
            "b is captured: the call's scope has a scope object"
        );
        assert!(matches!(code.params[0].bind.home, Home::Slot(0)));
        assert!(matches!(code.params[1].bind.home, Home::Env));
        // a, c, i: slots; d lives in the loop body's scope object.
        assert_eq!(code.slots, 3);
        let f = first_function("function f() { function g() { return g } return g }");
        assert!(function(&f).is_some_and(|c| c.env));
    }

    #[test]
    fn uncovered_code_is_left_to_the_tree_walker() {
        assert!(function(&first_function("function f([a]) { return a }")).is_none());
        assert!(
            function(&first_function(
                "function f(v) { return match v { _ => 1 } }"
            ))
            .is_none()
        );
        assert!(
            function(&first_function(
                "function f(n) { return n < 2 ? n : f(n - 1) }"
            ))
            .is_some()
        );
    }
}
