//! Statements: declarations, blocks, branches, loops (including `uncertain` ones), `try`,
//! `throw` and the statement value a function body falls off with.
//!
//! As in the reference, a statement has a value: an expression statement its expression's, a
//! declaration or an `if` without a taken branch `0`, a loop its last body value.

use prism_compiler::ast::{
    AgentDecl, Block, CatchClause, DeclKind, Declarator, ExportSpec, Expr, Pattern, Stmt, StmtKind,
    UncertainBranches,
};
use prism_compiler::span::Span;

use super::Interpreter;
use super::ops::{HIGH, MEDIUM};
use super::pattern::BindMode;
use crate::error::{Eval, Flow, RuntimeError, fail};
use crate::scope::{BindingKind, Env, Scope};
use crate::value::Value;

/// What a `let`/`const` binds as.
pub(crate) fn binding_kind(kind: DeclKind) -> BindingKind {
    match kind {
        DeclKind::Const => BindingKind::Const,
        DeclKind::Let | DeclKind::Var => BindingKind::Let,
    }
}

/// How one loop iteration ended.
enum Step {
    Next(Value),
    Break,
}

impl Interpreter {
    /// Runs a program or module body: imports first, then hoisted functions, then everything.
    pub(crate) fn exec_program(&mut self, stmts: &[Stmt], env: &Env) -> Eval {
        for s in stmts {
            if let StmtKind::Import { .. } = &s.kind {
                self.exec(s, env)?;
            }
        }
        self.hoist_functions(stmts, env)?;
        let mut last = Value::Number(0.0);
        for s in stmts {
            match &s.kind {
                StmtKind::Import { .. } => {}
                StmtKind::Empty => {}
                _ => {
                    drop(std::mem::take(&mut last));
                    let code = match self.tree_walker {
                        false => super::slots::compile::top_level_loop(s),
                        true => None,
                    };
                    last = match code {
                        Some(code) => self.run_stmt_code(&code, env)?,
                        None => self.exec(s, env)?,
                    };
                }
            }
        }
        Ok(last)
    }

    /// Runs statements in `env` (hoisting function declarations); the value of the last one.
    pub(crate) fn exec_stmts(&mut self, stmts: &[Stmt], env: &Env) -> Eval {
        let hoist = stmts
            .iter()
            .any(|s| matches!(s.kind, StmtKind::Function(_)));
        self.exec_list(stmts, env, hoist)
    }

    fn exec_list(&mut self, stmts: &[Stmt], env: &Env, hoist: bool) -> Eval {
        if hoist {
            self.hoist_functions(stmts, env)?;
        }
        let mut last = Value::Number(0.0);
        for s in stmts {
            if matches!(s.kind, StmtKind::Empty) {
                continue;
            }
            drop(std::mem::take(&mut last));
            last = match &s.kind {
                StmtKind::Expr(e) => self.eval(e, env)?,
                _ => self.exec(s, env)?,
            };
        }
        Ok(last)
    }

    /// Runs a block, in a new scope if it declares anything.
    pub(crate) fn exec_block(&mut self, block: &Block, env: &Env) -> Eval {
        let (mut decl, mut hoist) = (false, false);
        for s in &block.stmts {
            match s.kind {
                StmtKind::Function(_) => (decl, hoist) = (true, true),
                StmtKind::Decl { .. } | StmtKind::Import { .. } | StmtKind::ExportDecl(_) => {
                    decl = true
                }
                _ => {}
            }
        }
        if decl {
            let scope = Scope::child(env);
            let result = self.exec_list(&block.stmts, &scope, hoist);
            Scope::release_self_cycles(&scope);
            result
        } else {
            self.exec_list(&block.stmts, env, hoist)
        }
    }

    fn hoist_functions(&mut self, stmts: &[Stmt], env: &Env) -> Eval<()> {
        for s in stmts {
            let f = match &s.kind {
                StmtKind::Function(f) => f,
                StmtKind::ExportDecl(inner) => match &inner.kind {
                    StmtKind::Function(f) => f,
                    _ => continue,
                },
                _ => continue,
            };
            if let Some(name) = &f.name {
                let v = self.make_function(f, env)?;
                env.define(&name.name, v);
            }
        }
        Ok(())
    }

    /// Runs one statement.
    pub(crate) fn exec(&mut self, s: &Stmt, env: &Env) -> Eval {
        match &s.kind {
            StmtKind::Expr(e) => self.eval(e, env),
            StmtKind::Decl { kind, decls } => self.exec_decl(*kind, decls, env),
            StmtKind::Function(f) => {
                let v = self.make_function(f, env)?;
                if let Some(name) = &f.name {
                    env.define(&name.name, v.clone());
                }
                Ok(v)
            }
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e, env)?,
                    None => Value::Null,
                };
                Err(Flow::Return(v, s.span))
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.eval(cond, env)?.is_truthy() {
                    self.exec_body(then, env)
                } else if let Some(o) = otherwise {
                    self.exec_body(o, env)
                } else {
                    Ok(Value::Number(0.0))
                }
            }
            StmtKind::Block(b) => self.exec_block(b, env),
            StmtKind::While { cond, body } => self.exec_while(cond, body, env),
            StmtKind::DoWhile { body, cond } => self.exec_do_while(body, cond, env),
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => self.exec_for(
                init.as_deref(),
                cond.as_deref(),
                update.as_deref(),
                body,
                env,
            ),
            StmtKind::ForIn {
                binding,
                index,
                iterable,
                body,
            } => self.exec_for_in(binding, index.as_ref(), iterable, body, env),
            StmtKind::UncertainIf { cond, branches } => self.exec_uncertain_if(cond, branches, env),
            StmtKind::UncertainWhile { cond, branches } => {
                self.exec_uncertain_while(cond, branches, s.span, env)
            }
            StmtKind::UncertainFor {
                init,
                cond,
                update,
                branches,
            } => self.exec_uncertain_for(
                init.as_deref(),
                cond.as_deref(),
                update.as_deref(),
                branches,
                s.span,
                env,
            ),
            StmtKind::Break => Err(Flow::Break(s.span)),
            StmtKind::Continue => Err(Flow::Continue(s.span)),
            StmtKind::Throw(e) => {
                let v = self.eval(e, env)?;
                Err(Flow::from(RuntimeError::thrown(v, s.span)))
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => self.exec_try(body, catch.as_deref(), finally.as_deref(), env),
            StmtKind::Destructure {
                pattern,
                threshold,
                value,
            } => self.exec_destructure(pattern, threshold.as_deref(), value, env),
            StmtKind::Import { .. }
            | StmtKind::ExportDecl(_)
            | StmtKind::ExportNames(_)
            | StmtKind::ReExport(_)
            | StmtKind::ExportDefault(_) => self.exec_module_stmt(s, env),
            StmtKind::Agents(decls) => self.exec_agents(decls, env),
            StmtKind::Context(c) => self.exec_stmts(&c.body.stmts, env),
            StmtKind::Empty => Ok(Value::Null),
            StmtKind::Error => fail("Cannot run a statement with a syntax error", s.span),
        }
    }

    /// Evaluates a confidence threshold expression in a scope.
    pub(crate) fn threshold_in(&mut self, t: &Expr, env: &Env, message: &str) -> Eval<f64> {
        let v = self.eval(t, env)?;
        match v.as_number() {
            Some(n) => Ok(n),
            None => fail(message, t.span),
        }
    }

    /// A branch body: blocks get their own scope if they declare something.
    fn exec_body(&mut self, s: &Stmt, env: &Env) -> Eval {
        match &s.kind {
            StmtKind::Block(b) => self.exec_block(b, env),
            _ => self.exec(s, env),
        }
    }

    fn loop_body(&mut self, body: &Stmt, env: &Env) -> Eval<Step> {
        self.tick(body.span)?;
        match self.exec_body(body, env) {
            Ok(v) => Ok(Step::Next(v)),
            Err(Flow::Break(_)) => Ok(Step::Break),
            Err(Flow::Continue(_)) => Ok(Step::Next(Value::Null)),
            Err(other) => Err(other),
        }
    }

    /// `uncertain if (cond) { high … medium … low … }`: the branch of the condition's
    /// confidence (a condition without one is an error).
    fn exec_uncertain_if(&mut self, cond: &Expr, branches: &UncertainBranches, env: &Env) -> Eval {
        let c = self.eval(cond, env)?;
        let Some(confidence) = c.confidence() else {
            return fail("Uncertain if requires a confidence expression", cond.span);
        };
        match select_branch(branches, confidence) {
            Some(b) => self.exec_block(b, env),
            None => Ok(Value::Number(0.0)),
        }
    }

    /// `{a, b ~> 0.8} = value`: assigns through a pattern, with an optional threshold.
    fn exec_destructure(
        &mut self,
        pattern: &Pattern,
        threshold: Option<&Expr>,
        value: &Expr,
        env: &Env,
    ) -> Eval {
        let v = self.eval(value, env)?;
        let t = match threshold {
            Some(t) => Some(self.threshold_in(t, env, "Confidence threshold must be a number")?),
            None => None,
        };
        self.bind_pattern(pattern, v.clone(), env, BindMode::Assign, t)?;
        Ok(v)
    }

    /// `agents { name: Agent {…} }`: each declared name is bound to its configuration.
    fn exec_agents(&mut self, decls: &[AgentDecl], env: &Env) -> Eval {
        let mut last = Value::Number(0.0);
        for d in decls {
            let v = self.eval(&d.config, env)?;
            env.define(&d.name.name, v.clone());
            last = v;
        }
        Ok(last)
    }

    /// `import` and the `export` forms.
    fn exec_module_stmt(&mut self, s: &Stmt, env: &Env) -> Eval {
        match &s.kind {
            StmtKind::Import {
                default,
                namespace,
                names,
                source,
                source_span,
            } => {
                self.exec_import(
                    default.as_deref(),
                    namespace.as_deref(),
                    names,
                    source,
                    *source_span,
                    env,
                )?;
                Ok(Value::Number(0.0))
            }
            StmtKind::ExportDecl(inner) => {
                let v = self.exec(inner, env)?;
                self.export_declared(inner, env);
                Ok(v)
            }
            StmtKind::ExportNames(specs) => self.exec_export_names(specs, env),
            StmtKind::ReExport(re) => {
                self.exec_re_export(re)?;
                Ok(Value::Number(0.0))
            }
            StmtKind::ExportDefault(e) => {
                let v = self.eval(e, env)?;
                self.export("default", v);
                Ok(Value::Number(0.0))
            }
            _ => Ok(Value::Number(0.0)),
        }
    }

    /// `let`/`const`/`var` with its declarators.
    fn exec_decl(&mut self, kind: DeclKind, decls: &[Declarator], env: &Env) -> Eval {
        let bk = binding_kind(kind);
        for d in decls {
            let v = match &d.init {
                Some(e) => self.eval(e, env)?,
                None => match &d.target {
                    Pattern::Ident(_) => Value::Null,
                    _ => {
                        return fail("Destructuring declaration requires an initializer", d.span);
                    }
                },
            };
            match &d.target {
                Pattern::Ident(id) => {
                    if !env.declare(&id.name, v, bk) {
                        return fail(
                            format!("Variable '{}' already declared in this scope", id.name),
                            id.span,
                        );
                    }
                }
                pat => self.bind_pattern(pat, v, env, BindMode::Declare(bk), None)?,
            }
        }
        Ok(Value::Number(0.0))
    }

    /// `while (cond) body`: the value of the last pass.
    fn exec_while(&mut self, cond: &Expr, body: &Stmt, env: &Env) -> Eval {
        let mut last = Value::Null;
        while self.eval(cond, env)?.is_truthy() {
            drop(std::mem::take(&mut last));
            match self.loop_body(body, env)? {
                Step::Next(v) => last = v,
                Step::Break => break,
            }
        }
        Ok(last)
    }

    /// `do body while (cond)`.
    fn exec_do_while(&mut self, body: &Stmt, cond: &Expr, env: &Env) -> Eval {
        let mut last = Value::Null;
        loop {
            drop(std::mem::take(&mut last));
            match self.loop_body(body, env)? {
                Step::Next(v) => last = v,
                Step::Break => break,
            }
            if !self.eval(cond, env)?.is_truthy() {
                break;
            }
        }
        Ok(last)
    }

    /// C-style `for init; cond; update body`, in a scope of its own.
    fn exec_for(
        &mut self,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        body: &Stmt,
        env: &Env,
    ) -> Eval {
        let scope = Scope::child(env);
        if let Some(init) = init {
            self.exec(init, &scope)?;
        }
        let result = self.for_passes(cond, update, body, &scope);
        Scope::release_self_cycles(&scope);
        result
    }

    fn for_passes(
        &mut self,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        body: &Stmt,
        scope: &Env,
    ) -> Eval {
        let mut last = Value::Null;
        loop {
            if let Some(c) = cond
                && !self.eval(c, scope)?.is_truthy()
            {
                break;
            }
            drop(std::mem::take(&mut last));
            match self.loop_body(body, scope)? {
                Step::Next(v) => last = v,
                Step::Break => break,
            }
            if let Some(u) = update {
                self.eval(u, scope)?;
            }
        }
        Ok(last)
    }

    /// One pass of an uncertain loop: runs the branch; `None` when the loop must stop.
    fn uncertain_pass(&mut self, b: &Block, span: Span, env: &Env) -> Result<Option<Value>, Flow> {
        self.tick(span)?;
        match self.exec_block(b, env) {
            Ok(v) => Ok(Some(v)),
            Err(Flow::Break(_)) => Ok(None),
            Err(Flow::Continue(_)) => Ok(Some(Value::Null)),
            Err(other) => Err(other),
        }
    }

    /// `uncertain while (cond) { high … medium … low … }`: each pass runs the branch of the
    /// condition's confidence; a missing branch ends the loop.
    fn exec_uncertain_while(
        &mut self,
        cond: &Expr,
        branches: &UncertainBranches,
        span: Span,
        env: &Env,
    ) -> Eval {
        let mut last = Value::Null;
        loop {
            let c = self.eval(cond, env)?;
            if !c.is_truthy() {
                break;
            }
            let Some(b) = select_branch(branches, c.confidence_or_one()) else {
                break;
            };
            drop(std::mem::take(&mut last));
            match self.uncertain_pass(b, span, env)? {
                Some(v) => last = v,
                None => break,
            }
        }
        Ok(last)
    }

    /// `uncertain for init; cond; update { high … }`: the branch follows the confidence of
    /// the last confident condition (1 until there is one).
    fn exec_uncertain_for(
        &mut self,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
        branches: &UncertainBranches,
        span: Span,
        env: &Env,
    ) -> Eval {
        let scope = Scope::child(env);
        if let Some(init) = init {
            self.exec(init, &scope)?;
        }
        let mut confidence = 1.0;
        let mut last = Value::Null;
        loop {
            if let Some(c) = cond {
                let c = self.eval(c, &scope)?;
                if let Some(conf) = c.confidence() {
                    confidence = conf;
                }
                if !c.is_truthy() {
                    break;
                }
            }
            let Some(b) = select_branch(branches, confidence) else {
                break;
            };
            drop(std::mem::take(&mut last));
            match self.uncertain_pass(b, span, &scope)? {
                Some(v) => last = v,
                None => break,
            }
            if let Some(u) = update {
                self.eval(u, &scope)?;
            }
        }
        Ok(last)
    }

    /// `try { } catch (e) { } finally { }`. Limits and cancellation are not caught and skip
    /// `finally`.
    fn exec_try(
        &mut self,
        body: &Block,
        catch: Option<&CatchClause>,
        finally: Option<&Block>,
        env: &Env,
    ) -> Eval {
        let mut result = self.exec_block(body, env);
        if let (Err(Flow::Error(e)), Some(c)) = (&result, catch)
            && !e.is_fatal()
        {
            let scope = Scope::child(env);
            if let Some(p) = &c.param {
                self.bind_pattern(p, e.catch_value(), &scope, BindMode::Define, None)?;
            }
            result = self.exec_stmts(&c.body.stmts, &scope);
        }
        if let Err(Flow::Error(e)) = &result
            && e.is_fatal()
        {
            return result;
        }
        if let Some(f) = finally {
            self.exec_block(f, env)?;
        }
        result
    }

    /// `export { a, b as c }`: each name must be defined.
    fn exec_export_names(&mut self, specs: &[ExportSpec], env: &Env) -> Eval {
        for spec in specs {
            let Some(v) = env.lookup(&spec.local.name) else {
                return Err(self.undefined_variable(&spec.local.name, spec.local.span));
            };
            self.export(&spec.exported.name, v);
        }
        Ok(Value::Number(0.0))
    }

    fn exec_for_in(
        &mut self,
        binding: &Pattern,
        index: Option<&prism_compiler::ast::Ident>,
        iterable: &Expr,
        body: &Stmt,
        env: &Env,
    ) -> Eval {
        let it = self.eval(iterable, env)?;
        let items = ItemSource::of(&it, iterable.span)?;
        let mut last = Value::Null;
        let mut i = 0usize;
        loop {
            let Some(item) = items.get(i) else { break };
            self.tick(body.span)?;
            // A fresh scope per iteration, so closures capture this iteration's binding.
            let scope = Scope::child(env);
            match binding {
                Pattern::Ident(id) => scope.define(&id.name, item),
                pat => self.bind_pattern(pat, item, &scope, BindMode::Define, None)?,
            }
            if let Some(ix) = index {
                scope.define(&ix.name, Value::Number(i as f64));
            }
            drop(std::mem::take(&mut last));
            let result = match &body.kind {
                StmtKind::Block(b) => self.exec_stmts(&b.stmts, &scope),
                _ => self.exec(body, &scope),
            };
            Scope::release_self_cycles(&scope);
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
}

/// The elements a `for … in` walks: a live array, or a snapshot list (an object's keys, a
/// string's characters). Both evaluators walk loops with it.
pub(crate) enum ItemSource {
    Array(crate::value::ArrayRef),
    List(Vec<Value>),
}

impl ItemSource {
    /// What `for … in` walks over `it` (confidence looked through); an error at `span` for
    /// anything else.
    pub(crate) fn of(it: &Value, span: Span) -> Eval<ItemSource> {
        Ok(match it.unwrap_confident() {
            Value::Array(a) => ItemSource::Array(a.clone()),
            Value::Object(o) => {
                ItemSource::List(o.borrow().keys().map(|k| Value::str(&**k)).collect())
            }
            Value::Str(s) => {
                ItemSource::List(s.chars().map(|c| Value::from(c.to_string())).collect())
            }
            other => {
                return fail(
                    format!("for...in loop requires an array, got {}", other.type_name()),
                    span,
                );
            }
        })
    }

    /// The `i`th element, if the walk has not run past the end.
    pub(crate) fn get(&self, i: usize) -> Option<Value> {
        match self {
            ItemSource::Array(a) => a.borrow().get(i).cloned(),
            ItemSource::List(l) => l.get(i).cloned(),
        }
    }
}

/// The branch of an `uncertain` statement for a confidence: its level's, else `default`.
fn select_branch(branches: &UncertainBranches, confidence: f64) -> Option<&Block> {
    pick_level(
        [&branches.high, &branches.medium, &branches.low],
        &branches.default,
        confidence,
    )
}

/// Of an `uncertain` statement's `[high, medium, low]` branches, the one of `confidence`'s level
/// (high ≥ 0.7, medium ≥ 0.5), else `default`. Both evaluators choose branches with it.
pub(crate) fn pick_level<'a, T>(
    [high, medium, low]: [&'a Option<T>; 3],
    default: &'a Option<T>,
    confidence: f64,
) -> Option<&'a T> {
    let level = if confidence >= HIGH {
        high
    } else if confidence >= MEDIUM {
        medium
    } else {
        low
    };
    level.as_ref().or(default.as_ref())
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn assignment_declares_and_scopes_nest() {
        assert_eq!(run("x = 1\n{ let y = 2\n x = x + y }\nprint(x)"), "3\n");
        assert!(run("let a = 1\nlet a = 2").contains("already declared"));
        assert!(run("const c = 1\nc = 2").contains("const"));
        assert_eq!(run("for i = 0; i < 2; i++ { print(i) }"), "0\n1\n");
    }

    #[test]
    fn closures_capture_a_fresh_binding_per_iteration() {
        assert_eq!(
            run("let fs = []\nfor x in [1, 2, 3] { fs.push(() => x) }\nprint(fs.map(f => f()))"),
            "[1, 2, 3]\n"
        );
    }

    #[test]
    fn try_catch_finally_and_throw() {
        assert_eq!(
            run("try { throw {code: 7} } catch (e) { print(e.code) } finally { print(\"f\") }"),
            "7\nf\n"
        );
        assert_eq!(
            run("function f() { try { return 1 } finally { print(\"cleanup\") } }\nprint(f())"),
            "cleanup\n1\n"
        );
        assert!(run("throw \"boom\"").contains("ERROR: boom"));
    }

    #[test]
    fn uncertain_statements() {
        assert_eq!(
            run("uncertain if (1 ~> 0.6) { high { print(\"h\") } medium { print(\"m\") } }"),
            "m\n"
        );
        assert_eq!(
            run("uncertain if (1 ~> 0.1) { high { print(\"h\") } default { print(\"d\") } }"),
            "d\n"
        );
        assert!(
            run("uncertain if (1) { high { print(\"h\") } }")
                .contains("requires a confidence expression")
        );
    }

    #[test]
    fn function_bodies_return_their_last_value() {
        assert_eq!(
            run(
                "function f() { 42; }\nfunction g(x) { if (x) { 1 } else { 2 }; }\nprint(f(), g(false))"
            ),
            "42 2\n"
        );
    }

    #[test]
    fn function_bodies_return_null_when_empty() {
        assert_eq!(
            run("function f() {}\nfunction g() { return }\nprint(f(), g())"),
            "null null\n"
        );
    }
}
