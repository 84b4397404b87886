//! The slot stack and the operations on names: read, assign, declare, define.

use std::rc::Rc;

use prism_compiler::span::Span;

use super::ir::{Binder, FnCode, FnDef, Home, Range, SlotId, StmtCode, Var};
use crate::error::{Eval, fail};
use crate::interp::Interpreter;
use crate::interp::call::Args;
use crate::scope::{AssignError, BindingKind, Env, Scope};
use crate::value::{Closure, Value};

/// One slot: unbound (`kind` is `None`) or a binding of a kind.
#[derive(Default)]
pub(crate) struct Slot {
    value: Value,
    kind: Option<BindingKind>,
}

impl Slot {
    /// A slot bound as a parameter.
    #[inline]
    pub(crate) fn bound(value: Value) -> Slot {
        Slot {
            value,
            kind: Some(BindingKind::Implicit),
        }
    }
}

impl Interpreter {
    /// The compiled form of a function, compiled once per function (`None`: not covered).
    pub(crate) fn fn_code(&mut self, c: &Closure) -> Option<Rc<FnCode>> {
        let key = std::sync::Arc::as_ptr(&c.func) as usize;
        if let Some((_, code)) = self.fn_codes.get(&key) {
            return code.clone();
        }
        let code = super::compile::function(&c.func).map(Rc::new);
        self.fn_codes.insert(key, (c.func.clone(), code.clone()));
        code
    }

    /// Runs a compiled function with its arguments, in a frame of its own.
    pub(crate) fn run_fn(&mut self, code: &FnCode, env: &Env, args: Args) -> Eval {
        let base = self.frame.len();
        self.frame
            .resize_with(base + code.slots as usize, Slot::default);
        let saved = std::mem::replace(&mut self.base, base);
        let result = if code.env {
            // The call's scope object, for the names nested functions capture.
            let scope = Scope::child_with_capacity(env, code.params.len());
            let result = self.run_fn_body(code, &scope, args);
            Scope::release_self_cycles(&scope);
            result
        } else {
            self.run_fn_body(code, env, args)
        };
        self.base = saved;
        self.frame.truncate(base);
        result
    }

    fn run_fn_body(&mut self, code: &FnCode, env: &Env, args: Args) -> Eval {
        let mut args = args.into_iter();
        for p in &code.params {
            if p.rest {
                let rest: Vec<Value> = args.by_ref().collect();
                self.define_at(&p.bind, Value::array(rest), env);
                break;
            }
            let mut v = args.next().unwrap_or_default();
            if v.is_null()
                && let Some(d) = &p.default
            {
                v = self.ex(d, env)?;
            }
            self.define_at(&p.bind, v, env);
        }
        self.run_fn_code(code, env)
    }

    /// Runs a compiled function's body, its parameters bound.
    #[inline]
    pub(crate) fn run_fn_code(&mut self, code: &FnCode, env: &Env) -> Eval {
        match &code.body {
            super::ir::BodyIr::Expr(e) => self.ex(e, env),
            super::ir::BodyIr::Block(stmts) => match &stmts[..] {
                [one] if !matches!(one, super::ir::St::Empty) => self.st(one, env),
                _ => self.st_list(stmts, env),
            },
            super::ir::BodyIr::Empty => Ok(Value::Null),
        }
    }

    /// Runs a compiled top-level statement in `env`, in a frame of its own.
    pub(crate) fn run_stmt_code(&mut self, code: &StmtCode, env: &Env) -> Eval {
        let base = self.frame.len();
        self.frame
            .resize_with(base + code.slots as usize, Slot::default);
        let saved = std::mem::replace(&mut self.base, base);
        let result = self.st(&code.stmt, env);
        self.base = saved;
        self.frame.truncate(base);
        result
    }

    #[inline]
    fn slot(&self, s: SlotId) -> &Slot {
        &self.frame[self.base + s as usize]
    }

    #[inline]
    fn slot_mut(&mut self, s: SlotId) -> &mut Slot {
        let i = self.base + s as usize;
        &mut self.frame[i]
    }

    /// Unbinds a scope's slots: the scope starts empty.
    pub(crate) fn reset(&mut self, r: Range) {
        let start = self.base + r.start as usize;
        for slot in &mut self.frame[start..start + r.len as usize] {
            *slot = Slot::default();
        }
    }

    /// Enters a scope: its slots unbound, and a scope object (a child of `env`) when it binds
    /// names nested functions capture. Leave it with [`Interpreter::leave_scope`].
    #[inline]
    pub(crate) fn enter_scope(&mut self, r: Range, env: &Env) -> Option<Env> {
        self.reset(r);
        r.env.then(|| Scope::child(env))
    }

    /// Leaves a scope entered with [`Interpreter::enter_scope`]: its scope object is released
    /// if only its own functions hold it (as the tree walker does).
    #[inline]
    pub(crate) fn leave_scope(scope: Option<Env>) {
        if let Some(s) = scope {
            Scope::release_self_cycles(&s);
        }
    }

    /// Binds a parameter, loop variable, `catch` binding or function declaration.
    pub(crate) fn define_at(&mut self, b: &Binder, v: Value, env: &Env) {
        match b.home {
            Home::Slot(s) => self.define_slot(s, v),
            Home::Env => env.define(&b.name, v),
        }
    }

    /// A function declaration: makes the closure over `env` and binds its name.
    pub(crate) fn define_function(&mut self, d: &FnDef, env: &Env) -> Eval {
        let v = self.make_function(&d.func, env)?;
        if let Some(b) = &d.home {
            self.define_at(b, v.clone(), env);
        }
        Ok(v)
    }

    /// Binds a slot as a parameter, loop variable or `catch` binding.
    pub(crate) fn define_slot(&mut self, s: SlotId, v: Value) {
        let slot = self.slot_mut(s);
        slot.value = v;
        slot.kind = Some(BindingKind::Implicit);
    }

    /// The value of a name.
    #[inline(always)]
    pub(crate) fn read_var(&mut self, v: &Var, env: &Env) -> Eval {
        if let Some(&s) = v.slots.first() {
            let slot = self.slot(s);
            if slot.kind.is_some() {
                // Numbers first: a predictable branch instead of the clone's jump table.
                return Ok(match &slot.value {
                    Value::Number(n) => Value::Number(*n),
                    other => other.clone(),
                });
            }
        }
        self.read_var_slow(v, env)
    }

    /// The number in a name's first slot, if that slot is bound to a number.
    #[inline(always)]
    pub(crate) fn slot_number(&self, v: &Var) -> Option<f64> {
        let &s = v.slots.first()?;
        let slot = self.slot(s);
        match (&slot.kind, &slot.value) {
            (Some(_), Value::Number(n)) => Some(*n),
            _ => None,
        }
    }

    #[inline(never)]
    fn read_var_slow(&mut self, v: &Var, env: &Env) -> Eval {
        for &s in v.slots.iter() {
            let slot = self.slot(s);
            if slot.kind.is_some() {
                return Ok(slot.value.clone());
            }
        }
        match env.lookup_cached(&v.name, &v.cache) {
            Some(x) => Ok(x),
            None => Err(self.undefined_variable(&v.name, v.span)),
        }
    }

    /// The value of a name, if bound.
    pub(crate) fn try_read_var(&self, v: &Var, env: &Env) -> Option<Value> {
        for &s in v.slots.iter() {
            let slot = self.slot(s);
            if slot.kind.is_some() {
                return Some(slot.value.clone());
            }
        }
        env.lookup_cached(&v.name, &v.cache)
    }

    /// Plain assignment: the nearest binding, or a new one in the current scope.
    pub(crate) fn set_var(&mut self, v: &Var, value: Value, env: &Env, span: Span) -> Eval<()> {
        for &s in v.slots.iter() {
            let slot = self.slot_mut(s);
            match slot.kind {
                Some(BindingKind::Const) => {
                    return fail(
                        format!("Cannot assign to const variable '{}'", v.name),
                        span,
                    );
                }
                Some(_) => {
                    slot.value = value;
                    return Ok(());
                }
                None => {}
            }
        }
        match v.home {
            Some(Home::Slot(h)) => {
                let mut value = Some(value);
                match env
                    .update_cached(&v.name, &v.cache, |x| *x = value.take().unwrap_or_default())
                {
                    Ok(()) => Ok(()),
                    Err(AssignError::Const) => fail(
                        format!("Cannot assign to const variable '{}'", v.name),
                        span,
                    ),
                    Err(AssignError::Undefined) => {
                        self.define_slot(h, value.take().unwrap_or_default());
                        Ok(())
                    }
                }
            }
            Some(Home::Env) | None => match env.set(&v.name, value) {
                Ok(()) => Ok(()),
                Err(_) => fail(
                    format!("Cannot assign to const variable '{}'", v.name),
                    span,
                ),
            },
        }
    }

    /// Runs `f` on the value of an existing binding (for in-place updates).
    pub(crate) fn update_var<R>(
        &mut self,
        v: &Var,
        env: &Env,
        f: impl FnOnce(&mut Value) -> R,
    ) -> Result<R, AssignError> {
        for &s in v.slots.iter() {
            let slot = self.slot_mut(s);
            match slot.kind {
                Some(BindingKind::Const) => return Err(AssignError::Const),
                Some(_) => return Ok(f(&mut slot.value)),
                None => {}
            }
        }
        env.update_cached(&v.name, &v.cache, f)
    }

    /// `let`/`const`: false if the scope already has a `let`/`const` binding of the name.
    pub(crate) fn declare(
        &mut self,
        home: Home,
        name: &prism_compiler::ast::Name,
        value: Value,
        kind: BindingKind,
        env: &Env,
    ) -> bool {
        match home {
            Home::Slot(s) => {
                let slot = self.slot_mut(s);
                if matches!(slot.kind, Some(BindingKind::Let | BindingKind::Const)) {
                    return false;
                }
                slot.value = value;
                slot.kind = Some(kind);
                true
            }
            Home::Env => env.declare(name, value, kind),
        }
    }
}
