//! Running compiled statements: the same rules and statement values as the tree-walking
//! `exec`, with scopes as slot ranges reset on entry (plus a scope object for the names nested
//! functions capture, where the scope binds any).

use prism_compiler::span::Span;

use super::ir::{Binder, BlockIr, Branches, CatchIr, Ex, Range, St};
use crate::error::{Eval, Flow, RuntimeError, fail};
use crate::interp::Interpreter;
use crate::interp::stmt::{ItemSource, pick_level};
use crate::scope::Env;
use crate::value::Value;

/// How one loop iteration ended.
enum Step {
    Next(Value),
    Break,
}

impl Interpreter {
    /// Runs statements in the current scope; the value of the last one.
    pub(crate) fn st_list(&mut self, stmts: &[St], env: &Env) -> Eval {
        let mut last = Value::Number(0.0);
        for s in stmts {
            if matches!(s, St::Empty) {
                continue;
            }
            drop(std::mem::take(&mut last));
            last = match s {
                St::Expr(e) => self.ex(e, env)?,
                _ => self.st(s, env)?,
            };
        }
        Ok(last)
    }

    fn st_block(&mut self, b: &BlockIr, env: &Env) -> Eval {
        match b.scope {
            Some(r) if r.env => {
                let scope = self.enter_scope(r, env);
                let result = self.st_list(&b.stmts, scope.as_ref().unwrap_or(env));
                Self::leave_scope(scope);
                result
            }
            Some(r) => {
                self.reset(r);
                self.st_list(&b.stmts, env)
            }
            None => self.st_list(&b.stmts, env),
        }
    }

    /// Runs one compiled statement.
    pub(crate) fn st(&mut self, s: &St, env: &Env) -> Eval {
        match s {
            St::Expr(e) => self.ex(e, env),
            St::Decl { kind, decls } => {
                for d in decls {
                    let v = match &d.init {
                        Some(e) => self.ex(e, env)?,
                        None => Value::Null,
                    };
                    if !self.declare(d.home, &d.name, v, *kind, env) {
                        return fail(
                            format!("Variable '{}' already declared in this scope", d.name),
                            d.span,
                        );
                    }
                }
                Ok(Value::Number(0.0))
            }
            St::Return(e, span) => {
                let v = match e {
                    Some(e) => self.ex(e, env)?,
                    None => Value::Null,
                };
                Err(Flow::Return(v, *span))
            }
            St::If {
                cond,
                then,
                otherwise,
            } => {
                if self.truthy(cond, env)? {
                    self.st(then, env)
                } else if let Some(o) = otherwise {
                    self.st(o, env)
                } else {
                    Ok(Value::Number(0.0))
                }
            }
            St::Block(b) => self.st_block(b, env),
            St::While {
                cond,
                body,
                body_span,
            } => {
                let mut last = Value::Null;
                while self.ex(cond, env)?.is_truthy() {
                    drop(std::mem::take(&mut last));
                    match self.st_loop_body(body, *body_span, env)? {
                        Step::Next(v) => last = v,
                        Step::Break => break,
                    }
                }
                Ok(last)
            }
            St::DoWhile {
                body,
                cond,
                body_span,
            } => {
                let mut last = Value::Null;
                loop {
                    drop(std::mem::take(&mut last));
                    match self.st_loop_body(body, *body_span, env)? {
                        Step::Next(v) => last = v,
                        Step::Break => break,
                    }
                    if !self.ex(cond, env)?.is_truthy() {
                        break;
                    }
                }
                Ok(last)
            }
            St::For {
                scope,
                init,
                cond,
                update,
                body,
                body_span,
            } => {
                let inner = self.enter_scope(*scope, env);
                let result = self.st_for(
                    init.as_deref(),
                    cond.as_ref(),
                    update.as_ref(),
                    body,
                    *body_span,
                    inner.as_ref().unwrap_or(env),
                );
                Self::leave_scope(inner);
                result
            }
            St::ForIn {
                scope,
                binding,
                index,
                iterable,
                iterable_span,
                body,
                body_is_block,
                body_span,
            } => self.st_for_in(
                *scope,
                binding,
                index.as_ref(),
                iterable,
                *iterable_span,
                (body, *body_is_block),
                *body_span,
                env,
            ),
            St::UncertainIf {
                cond,
                cond_span,
                branches,
            } => {
                let c = self.ex(cond, env)?;
                let Some(confidence) = c.confidence() else {
                    return fail("Uncertain if requires a confidence expression", *cond_span);
                };
                match select(branches, confidence) {
                    Some(b) => self.st_block(b, env),
                    None => Ok(Value::Number(0.0)),
                }
            }
            St::UncertainWhile {
                cond,
                branches,
                span,
            } => {
                let mut last = Value::Null;
                loop {
                    let c = self.ex(cond, env)?;
                    if !c.is_truthy() {
                        break;
                    }
                    let Some(b) = select(branches, c.confidence_or_one()) else {
                        break;
                    };
                    drop(std::mem::take(&mut last));
                    match self.st_uncertain_pass(b, *span, env)? {
                        Some(v) => last = v,
                        None => break,
                    }
                }
                Ok(last)
            }
            St::UncertainFor {
                scope,
                init,
                cond,
                update,
                branches,
                span,
            } => self.st_uncertain_for(*scope, init.as_deref(), cond, update, branches, *span, env),
            St::Break(span) => Err(Flow::Break(*span)),
            St::Continue(span) => Err(Flow::Continue(*span)),
            St::Throw(e, span) => {
                let v = self.ex(e, env)?;
                Err(Flow::from(RuntimeError::thrown(v, *span)))
            }
            St::Try {
                body,
                catch,
                finally,
            } => self.st_try(body, catch.as_ref(), finally.as_ref(), env),
            St::Inline(stmts) => self.st_list(stmts, env),
            St::Function(d) => self.define_function(d, env),
            St::Hoist(defs) => {
                for d in defs {
                    self.define_function(d, env)?;
                }
                Ok(Value::Null)
            }
            St::Empty => Ok(Value::Null),
        }
    }

    /// The passes of a C-style `for`, in its scope.
    fn st_for(
        &mut self,
        init: Option<&St>,
        cond: Option<&Ex>,
        update: Option<&Ex>,
        body: &St,
        body_span: Span,
        env: &Env,
    ) -> Eval {
        if let Some(init) = init {
            self.st(init, env)?;
        }
        let mut last = Value::Null;
        loop {
            if let Some(c) = cond
                && !self.truthy(c, env)?
            {
                break;
            }
            drop(std::mem::take(&mut last));
            match self.st_loop_body(body, body_span, env)? {
                Step::Next(v) => last = v,
                Step::Break => break,
            }
            if let Some(u) = update {
                self.ex(u, env)?;
            }
        }
        Ok(last)
    }

    fn st_loop_body(&mut self, body: &St, span: Span, env: &Env) -> Eval<Step> {
        self.tick(span)?;
        match self.st(body, env) {
            Ok(v) => Ok(Step::Next(v)),
            Err(Flow::Break(_)) => Ok(Step::Break),
            Err(Flow::Continue(_)) => Ok(Step::Next(Value::Null)),
            Err(other) => Err(other),
        }
    }

    fn st_uncertain_pass(&mut self, b: &BlockIr, span: Span, env: &Env) -> Eval<Option<Value>> {
        self.tick(span)?;
        match self.st_block(b, env) {
            Ok(v) => Ok(Some(v)),
            Err(Flow::Break(_)) => Ok(None),
            Err(Flow::Continue(_)) => Ok(Some(Value::Null)),
            Err(other) => Err(other),
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn st_uncertain_for(
        &mut self,
        scope: Range,
        init: Option<&St>,
        cond: &Option<Ex>,
        update: &Option<Ex>,
        branches: &Branches,
        span: Span,
        env: &Env,
    ) -> Eval {
        let inner = self.enter_scope(scope, env);
        let result = self.st_uncertain_passes(
            init,
            cond,
            update,
            branches,
            span,
            inner.as_ref().unwrap_or(env),
        );
        Self::leave_scope(inner);
        result
    }

    fn st_uncertain_passes(
        &mut self,
        init: Option<&St>,
        cond: &Option<Ex>,
        update: &Option<Ex>,
        branches: &Branches,
        span: Span,
        env: &Env,
    ) -> Eval {
        if let Some(init) = init {
            self.st(init, env)?;
        }
        let mut confidence = 1.0;
        let mut last = Value::Null;
        loop {
            if let Some(c) = cond {
                let c = self.ex(c, env)?;
                if let Some(conf) = c.confidence() {
                    confidence = conf;
                }
                if !c.is_truthy() {
                    break;
                }
            }
            let Some(b) = select(branches, confidence) else {
                break;
            };
            drop(std::mem::take(&mut last));
            match self.st_uncertain_pass(b, span, env)? {
                Some(v) => last = v,
                None => break,
            }
            if let Some(u) = update {
                self.ex(u, env)?;
            }
        }
        Ok(last)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn st_for_in(
        &mut self,
        scope: Range,
        binding: &Binder,
        index: Option<&Binder>,
        iterable: &Ex,
        iterable_span: Span,
        (body, body_is_block): (&[St], bool),
        body_span: Span,
        env: &Env,
    ) -> Eval {
        let it = self.ex(iterable, env)?;
        let items = ItemSource::of(&it, iterable_span)?;
        let mut last = Value::Null;
        let mut i = 0usize;
        loop {
            let Some(item) = items.get(i) else { break };
            self.tick(body_span)?;
            // A fresh scope per iteration, so closures capture this iteration's binding.
            let inner = self.enter_scope(scope, env);
            let env = inner.as_ref().unwrap_or(env);
            self.define_at(binding, item, env);
            if let Some(ix) = index {
                self.define_at(ix, Value::Number(i as f64), env);
            }
            drop(std::mem::take(&mut last));
            let result = match body {
                [one] if !body_is_block => self.st(one, env),
                _ => self.st_list(body, env),
            };
            Self::leave_scope(inner);
            match result {
                Ok(v) => last = v,
                Err(Flow::Break(_)) => break,
                Err(Flow::Continue(_)) => {}
                Err(other) => return Err(other),
            }
            i += 1;
        }
        Ok(last)
    }

    #[inline(never)]
    fn st_try(
        &mut self,
        body: &BlockIr,
        catch: Option<&CatchIr>,
        finally: Option<&BlockIr>,
        env: &Env,
    ) -> Eval {
        let mut result = self.st_block(body, env);
        if let (Err(Flow::Error(e)), Some(c)) = (&result, catch)
            && !e.is_fatal()
        {
            let caught = e.catch_value();
            let inner = self.enter_scope(c.scope, env);
            let scope = inner.as_ref().unwrap_or(env);
            if let Some(p) = &c.param {
                self.define_at(p, caught, scope);
            }
            result = self.st_list(&c.body, scope);
            Self::leave_scope(inner);
        }
        if let Err(Flow::Error(e)) = &result
            && e.is_fatal()
        {
            return result;
        }
        if let Some(f) = finally {
            self.st_block(f, env)?;
        }
        result
    }
}

/// The branch of an `uncertain` statement for a confidence: its level's, else `default`.
fn select(branches: &Branches, confidence: f64) -> Option<&BlockIr> {
    pick_level(
        [&branches.high, &branches.medium, &branches.low],
        &branches.default,
        confidence,
    )
}
