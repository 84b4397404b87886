//! Destructuring: binding array and object patterns in declarations, parameters, `for … in`
//! and destructuring assignment, with confidence thresholds.
//!
//! Below its threshold (per element, or the pattern's global one) a target binds `null`; a
//! plain value counts as confidence 1.0.

use prism_compiler::ast::{Ident, Pattern};

use super::Interpreter;
use crate::error::{Eval, fail};
use crate::scope::{BindingKind, Env};
use crate::value::{Map, Value};

/// How a pattern's names are bound.
#[derive(Clone, Copy)]
pub(crate) enum BindMode {
    /// `let`/`const`: declared in the scope (redeclaration is an error).
    Declare(BindingKind),
    /// Parameters, `for … in` variables, `catch` bindings: defined in the scope.
    Define,
    /// Destructuring assignment: assigned like a plain assignment.
    Assign,
}

impl Interpreter {
    /// Binds `pattern` to `value`. `threshold` is the pattern's global confidence threshold.
    pub(crate) fn bind_pattern(
        &mut self,
        pattern: &Pattern,
        value: Value,
        env: &Env,
        mode: BindMode,
        threshold: Option<f64>,
    ) -> Eval<()> {
        match pattern {
            Pattern::Ident(id) => self.bind_name(id, value, env, mode),
            Pattern::Array { elems, rest, span } => {
                let items: Vec<Value> = match value.unwrap_confident() {
                    Value::Array(a) => a.borrow().clone(),
                    _ => return fail("Cannot destructure non-array value", *span),
                };
                for (i, el) in elems.iter().enumerate() {
                    let Some(el) = el else { continue };
                    let mut v = items.get(i).cloned().unwrap_or_default();
                    if v.is_null()
                        && let Some(d) = &el.default
                    {
                        v = self.eval(d, env)?;
                    }
                    let t = match &el.threshold {
                        Some(t) => Some(self.threshold_in(
                            t,
                            env,
                            "Element confidence threshold must be a number",
                        )?),
                        None => threshold,
                    };
                    self.bind_checked(&el.target, v, t, threshold, env, mode)?;
                }
                if let Some(rest) = rest {
                    let remaining: Vec<Value> = items
                        .into_iter()
                        .skip(elems.len())
                        .filter(|v| threshold.is_none_or(|t| v.confidence_or_one() >= t))
                        .collect();
                    self.bind_pattern(rest, Value::array(remaining), env, mode, None)?;
                }
                Ok(())
            }
            Pattern::Object { props, rest, span } => {
                let map = match value.unwrap_confident() {
                    Value::Object(o) => o.borrow().clone(),
                    _ => return fail("Cannot destructure non-object value", *span),
                };
                for p in props {
                    let found = map.get(&*p.key.name).cloned();
                    let v = match (found, &p.default) {
                        (Some(v), _) => v,
                        (None, Some(d)) => self.eval(d, env)?,
                        (None, None) => Value::Null,
                    };
                    let t = match &p.threshold {
                        Some(t) => Some(self.threshold_in(
                            t,
                            env,
                            "Property confidence threshold must be a number",
                        )?),
                        None => threshold,
                    };
                    self.bind_checked(&p.target, v, t, t, env, mode)?;
                }
                if let Some(rest) = rest {
                    let mut remaining = Map::default();
                    for (k, v) in map.iter() {
                        let taken = props.iter().any(|p| *p.key.name == **k);
                        if !taken && threshold.is_none_or(|t| v.confidence_or_one() >= t) {
                            remaining.insert(k.clone(), v.clone());
                        }
                    }
                    self.bind_name(rest, Value::object(remaining), env, mode)?;
                }
                Ok(())
            }
        }
    }

    /// Binds one element: `null` (or an empty container for a nested pattern) if below `t`.
    fn bind_checked(
        &mut self,
        target: &Pattern,
        v: Value,
        t: Option<f64>,
        nested: Option<f64>,
        env: &Env,
        mode: BindMode,
    ) -> Eval<()> {
        let meets = t.is_none_or(|t| v.confidence_or_one() >= t);
        let v = if meets {
            v
        } else {
            match target {
                Pattern::Ident(_) => Value::Null,
                Pattern::Array { .. } => Value::array(Vec::new()),
                Pattern::Object { .. } => Value::object(Map::default()),
            }
        };
        self.bind_pattern(target, v, env, mode, nested)
    }

    fn bind_name(&mut self, id: &Ident, v: Value, env: &Env, mode: BindMode) -> Eval<()> {
        match mode {
            BindMode::Declare(kind) => {
                if !env.declare(&id.name, v, kind) {
                    return fail(
                        format!("Variable '{}' already declared in this scope", id.name),
                        id.span,
                    );
                }
                Ok(())
            }
            BindMode::Define => {
                env.define(&id.name, v);
                Ok(())
            }
            BindMode::Assign => self.assign_name(&id.name, v, env, id.span),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn destructuring_with_defaults_rest_and_thresholds() {
        assert_eq!(
            run("let [a, b = 5, ...r] = [1, null, 3, 4]\nprint(a, b, r)"),
            "1 5 [3, 4]\n"
        );
        assert_eq!(
            run("let {x, y: {z}, ...o} = {x: 1, y: {z: 2}, w: 3}\nprint(x, z, o)"),
            "1 2 { w: 3 }\n"
        );
        assert_eq!(
            run("let p = 0\nlet q = 0;\n[p ~> 0.8, q] = [1 ~> 0.5, 2]\nprint(p, q)"),
            "null 2\n"
        );
        assert!(run("let [a] = 5").contains("Cannot destructure non-array value"));
    }
}
