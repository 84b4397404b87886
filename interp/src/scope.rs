//! Environments: a chain of scopes, each a small list of bindings searched linearly (with a hash
//! index once a scope grows large, as the global scope does).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use prism_compiler::ast::Name;

use crate::value::Value;

/// A shared scope.
pub type Env = Rc<Scope>;

/// How a name was bound; decides redeclaration and assignment rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    /// `let` / `var`: may be reassigned, may not be redeclared in the same scope.
    Let,
    /// `const`: may be neither reassigned nor redeclared.
    Const,
    /// Parameters, functions, builtins and names declared by plain assignment: may be
    /// reassigned and redeclared.
    Implicit,
}

struct Binding {
    name: Name,
    value: Value,
    kind: BindingKind,
}

/// Scopes with more bindings than this get a hash index.
const INDEX_THRESHOLD: usize = 12;

#[derive(Default)]
struct Vars {
    list: SmallVec<[Binding; 2]>,
    index: Option<FxHashMap<Name, u32>>,
}

impl Vars {
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(name).map(|&i| i as usize),
            // Names from the parser are interned, so the pointer test usually decides.
            None => self
                .list
                .iter()
                .position(|b| std::ptr::eq(b.name.as_ptr(), name.as_ptr()) || &*b.name == name),
        }
    }

    fn push(&mut self, name: Name, value: Value, kind: BindingKind) {
        let i = self.list.len();
        if let Some(ix) = &mut self.index {
            ix.insert(name.clone(), i as u32);
        } else if i >= INDEX_THRESHOLD {
            let mut ix: FxHashMap<Name, u32> = self
                .list
                .iter()
                .enumerate()
                .map(|(j, b)| (b.name.clone(), j as u32))
                .collect();
            ix.insert(name.clone(), i as u32);
            self.index = Some(ix);
        }
        self.list.push(Binding { name, value, kind });
    }
}

/// One scope: its bindings and the scope it is nested in.
pub struct Scope {
    vars: RefCell<Vars>,
    parent: Option<Env>,
}

/// Why an assignment to a name failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignError {
    /// No scope in the chain binds the name.
    Undefined,
    /// The name is a `const`.
    Const,
}

impl Scope {
    /// A root scope.
    pub fn root() -> Env {
        Rc::new(Scope {
            vars: RefCell::new(Vars::default()),
            parent: None,
        })
    }

    /// A scope nested in `parent`.
    pub fn child(parent: &Env) -> Env {
        Rc::new(Scope {
            vars: RefCell::new(Vars::default()),
            parent: Some(parent.clone()),
        })
    }

    /// A scope nested in `parent` with room for `n` bindings.
    pub fn child_with_capacity(parent: &Env, n: usize) -> Env {
        Rc::new(Scope {
            vars: RefCell::new(Vars {
                list: SmallVec::with_capacity(n),
                index: None,
            }),
            parent: Some(parent.clone()),
        })
    }

    /// The value bound to `name` in this scope or an enclosing one.
    pub fn lookup(&self, name: &str) -> Option<Value> {
        let mut scope = self;
        loop {
            {
                let vars = scope.vars.borrow();
                if let Some(i) = vars.position(name) {
                    return Some(vars.list[i].value.clone());
                }
            }
            scope = scope.parent.as_deref()?;
        }
    }

    /// [`Scope::lookup`], remembering where the root scope binds `name` in `cache` (the
    /// root's bindings keep their places, so the next lookup there checks that place first).
    pub fn lookup_cached(&self, name: &str, cache: &Cell<u32>) -> Option<Value> {
        let mut scope = self;
        loop {
            let vars = scope.vars.borrow();
            if scope.parent.is_none() {
                if let Some(b) = vars.list.get(cache.get() as usize)
                    && (std::ptr::eq(b.name.as_ptr(), name.as_ptr()) || &*b.name == name)
                {
                    return Some(b.value.clone());
                }
                let i = vars.position(name)?;
                cache.set(i as u32);
                return Some(vars.list[i].value.clone());
            }
            if let Some(i) = vars.position(name) {
                return Some(vars.list[i].value.clone());
            }
            drop(vars);
            scope = scope.parent.as_deref()?;
        }
    }

    /// The function bound to `name` at the cached position `cache` of this scope, when this
    /// is a root scope and that binding is a function: what [`Scope::lookup_cached`] gives
    /// then, without the general clone. `None` in every other case (the caller then takes the
    /// general path, which refreshes the cache). Checked on each use, so a rebinding of the
    /// global (`define_global`, an assignment) is seen at once.
    #[inline]
    pub(crate) fn root_function_cached(
        &self,
        name: &str,
        cache: &Cell<u32>,
    ) -> Option<Rc<crate::value::Closure>> {
        if self.parent.is_some() {
            return None;
        }
        let vars = self.vars.borrow();
        let b = vars.list.get(cache.get() as usize)?;
        if !(std::ptr::eq(b.name.as_ptr(), name.as_ptr()) || &*b.name == name) {
            return None;
        }
        match &b.value {
            Value::Function(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// True if this scope or an enclosing one binds `name`.
    pub fn contains(&self, name: &str) -> bool {
        let mut scope = self;
        loop {
            if scope.vars.borrow().position(name).is_some() {
                return true;
            }
            match scope.parent.as_deref() {
                Some(p) => scope = p,
                None => return false,
            }
        }
    }

    /// Binds `name` in this scope, replacing any binding of the same name (used for
    /// parameters, functions and builtins).
    pub fn define(&self, name: &Name, value: Value) {
        let mut vars = self.vars.borrow_mut();
        match vars.position(name) {
            Some(i) => {
                let b = &mut vars.list[i];
                b.value = value;
                b.kind = BindingKind::Implicit;
            }
            None => vars.push(name.clone(), value, BindingKind::Implicit),
        }
    }

    /// Declares `name` with `let`/`const` in this scope. Fails (returning `false`) if the scope
    /// already has a `let`/`const` binding of that name.
    pub fn declare(&self, name: &Name, value: Value, kind: BindingKind) -> bool {
        let mut vars = self.vars.borrow_mut();
        match vars.position(name) {
            Some(i) => {
                let b = &mut vars.list[i];
                if b.kind != BindingKind::Implicit {
                    return false;
                }
                b.value = value;
                b.kind = kind;
                true
            }
            None => {
                vars.push(name.clone(), value, kind);
                true
            }
        }
    }

    /// Assigns to an existing binding of `name` in this scope or an enclosing one.
    pub fn assign(&self, name: &str, value: Value) -> Result<(), AssignError> {
        self.update(name, |slot| *slot = value)
    }

    /// Plain assignment: assigns to the nearest binding of `name`, or declares it in this scope
    /// if none exists. Fails only for a `const`.
    pub fn set(&self, name: &Name, value: Value) -> Result<(), AssignError> {
        let mut scope = self;
        loop {
            {
                let mut vars = scope.vars.borrow_mut();
                if let Some(i) = vars.position(name) {
                    let b = &mut vars.list[i];
                    if b.kind == BindingKind::Const {
                        return Err(AssignError::Const);
                    }
                    b.value = value;
                    return Ok(());
                }
            }
            match scope.parent.as_deref() {
                Some(p) => scope = p,
                None => break,
            }
        }
        self.vars
            .borrow_mut()
            .push(name.clone(), value, BindingKind::Implicit);
        Ok(())
    }

    /// Runs `f` on the value bound to `name` (for in-place updates such as `s += "x"`). `f`
    /// must not touch any scope.
    pub fn update<R>(&self, name: &str, f: impl FnOnce(&mut Value) -> R) -> Result<R, AssignError> {
        let mut scope = self;
        loop {
            {
                let mut vars = scope.vars.borrow_mut();
                if let Some(i) = vars.position(name) {
                    let b = &mut vars.list[i];
                    if b.kind == BindingKind::Const {
                        return Err(AssignError::Const);
                    }
                    return Ok(f(&mut b.value));
                }
            }
            match scope.parent.as_deref() {
                Some(p) => scope = p,
                None => return Err(AssignError::Undefined),
            }
        }
    }

    /// [`Scope::update`], with the root scope's position of `name` cached as in
    /// [`Scope::lookup_cached`].
    pub fn update_cached<R>(
        &self,
        name: &str,
        cache: &Cell<u32>,
        f: impl FnOnce(&mut Value) -> R,
    ) -> Result<R, AssignError> {
        let mut scope = self;
        loop {
            let mut vars = scope.vars.borrow_mut();
            let found = if scope.parent.is_none() {
                match vars.list.get(cache.get() as usize) {
                    Some(b) if std::ptr::eq(b.name.as_ptr(), name.as_ptr()) || &*b.name == name => {
                        Some(cache.get() as usize)
                    }
                    _ => {
                        let i = vars.position(name);
                        if let Some(i) = i {
                            cache.set(i as u32);
                        }
                        i
                    }
                }
            } else {
                vars.position(name)
            };
            if let Some(i) = found {
                let b = &mut vars.list[i];
                if b.kind == BindingKind::Const {
                    return Err(AssignError::Const);
                }
                return Ok(f(&mut b.value));
            }
            drop(vars);
            match scope.parent.as_deref() {
                Some(p) => scope = p,
                None => return Err(AssignError::Undefined),
            }
        }
    }

    /// Breaks the cycle a scope forms with the functions it defines, when nothing else can
    /// reach either: call when the scope is left, with `env` the last handle of the code that
    /// made it. `function outer() { function inner() {} … }` binds `inner` in the call's
    /// scope, and `inner` closes over that scope: reference counting alone would keep both
    /// alive forever, one pair per call. If the only owners of the scope are `env` and such
    /// functions of its own, which nothing else holds, no code can read the scope again, and
    /// its bindings are dropped. Anything else that holds it (a returned or stored closure, a
    /// nested scope still alive) keeps it whole.
    pub fn release_self_cycles(env: &Env) {
        let owners = Rc::strong_count(env);
        if owners == 1 {
            return;
        }
        let own_functions = {
            let vars = env.vars.borrow();
            vars.list
                .iter()
                .filter(|b| match &b.value {
                    Value::Function(c) => Rc::ptr_eq(&c.env, env) && Rc::strong_count(c) == 1,
                    _ => false,
                })
                .count()
        };
        if own_functions > 0 && owners == 1 + own_functions {
            let dropped = std::mem::take(&mut *env.vars.borrow_mut());
            drop(dropped);
        }
    }

    /// The names bound directly in this scope, in binding order.
    pub fn names(&self) -> Vec<Name> {
        self.vars
            .borrow()
            .list
            .iter()
            .map(|b| b.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        s.into()
    }

    #[test]
    fn lookup_walks_outwards_and_shadowing_works() {
        let root = Scope::root();
        root.define(&name("x"), 1.0.into());
        let inner = Scope::child(&root);
        assert_eq!(inner.lookup("x").and_then(|v| v.as_number()), Some(1.0));
        assert!(inner.declare(&name("x"), 2.0.into(), BindingKind::Let));
        assert_eq!(inner.lookup("x").and_then(|v| v.as_number()), Some(2.0));
        assert_eq!(root.lookup("x").and_then(|v| v.as_number()), Some(1.0));
        assert!(inner.lookup("y").is_none());
    }

    #[test]
    fn redeclaration_and_const_rules() {
        let s = Scope::root();
        assert!(s.declare(&name("a"), 1.0.into(), BindingKind::Let));
        assert!(!s.declare(&name("a"), 2.0.into(), BindingKind::Let));
        assert!(s.declare(&name("c"), 1.0.into(), BindingKind::Const));
        assert_eq!(s.assign("c", 3.0.into()), Err(AssignError::Const));
        assert_eq!(s.assign("nope", 3.0.into()), Err(AssignError::Undefined));
        s.define(&name("print"), Value::Null);
        assert!(s.declare(&name("print"), 1.0.into(), BindingKind::Let));
    }

    #[test]
    fn a_scope_held_only_by_its_own_functions_is_released() {
        use crate::value::Closure;
        use std::sync::Arc;
        let func = || -> Arc<prism_compiler::ast::Function> {
            let parsed = prism_compiler::parse("function f() {}");
            match parsed.program.stmts.first().map(|s| &s.kind) {
                Some(prism_compiler::ast::StmtKind::Function(f)) => f.clone(),
                _ => unreachable!("a function declaration parses as one"),
            }
        };
        let closure = |env: &Env| {
            Value::Function(Rc::new(Closure {
                func: func(),
                env: env.clone(),
                file: 0,
                code: Default::default(),
            }))
        };
        // Only its own function holds it: released, and the pair is freed.
        let env = Scope::root();
        env.define(&name("f"), closure(&env));
        let weak = Rc::downgrade(&env);
        Scope::release_self_cycles(&env);
        drop(env);
        assert!(
            weak.upgrade().is_none(),
            "the scope and its function leaked"
        );
        // The function escaped (a second holder): kept whole.
        let env = Scope::root();
        let f = closure(&env);
        env.define(&name("f"), f.clone());
        Scope::release_self_cycles(&env);
        assert!(env.lookup("f").is_some());
        // A nested scope still refers to it: kept whole.
        let env = Scope::root();
        env.define(&name("f"), closure(&env));
        let inner = Scope::child(&env);
        Scope::release_self_cycles(&env);
        assert!(inner.lookup("f").is_some());
    }

    #[test]
    fn cached_lookups_and_updates_follow_the_binding() {
        let root = Scope::root();
        for i in 0..20 {
            root.define(&name(&format!("v{i}")), (i as f64).into());
        }
        let cache = Cell::new(u32::MAX);
        let inner = Scope::child(&root);
        assert_eq!(
            inner
                .lookup_cached("v7", &cache)
                .and_then(|v| v.as_number()),
            Some(7.0)
        );
        assert_eq!(cache.get(), 7);
        assert!(
            inner
                .update_cached("v7", &cache, |v| *v = 70.0.into())
                .is_ok()
        );
        assert_eq!(root.lookup("v7").and_then(|v| v.as_number()), Some(70.0));
        // A nearer binding shadows the cached one.
        inner.define(&name("v7"), 1.0.into());
        assert_eq!(
            inner
                .lookup_cached("v7", &cache)
                .and_then(|v| v.as_number()),
            Some(1.0)
        );
        assert!(root.declare(&name("k"), 1.0.into(), BindingKind::Const));
        let kc = Cell::new(u32::MAX);
        assert_eq!(
            inner.update_cached("k", &kc, |_| ()),
            Err(AssignError::Const)
        );
        assert_eq!(
            inner.update_cached("nope", &kc, |_| ()),
            Err(AssignError::Undefined)
        );
    }

    #[test]
    fn large_scopes_are_indexed() {
        let s = Scope::root();
        for i in 0..40 {
            s.define(&name(&format!("v{i}")), (i as f64).into());
        }
        assert_eq!(s.lookup("v33").and_then(|v| v.as_number()), Some(33.0));
        assert!(s.assign("v5", 50.0.into()).is_ok());
        assert_eq!(s.lookup("v5").and_then(|v| v.as_number()), Some(50.0));
    }
}
