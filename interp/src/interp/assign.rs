//! Assignment (`=`, `+=`, `??=`, …) and `++`/`--` on names, members and indexes.
//!
//! Plain assignment to an undeclared name declares it in the current scope. `s += x` and
//! `s = s + x` append in place when the string is not shared, so building a string piece by
//! piece stays linear.

use std::rc::Rc;

use prism_compiler::ast::{AssignOp, BinaryOp, Expr, ExprKind, UpdateOp};
use prism_compiler::span::Span;

use super::Interpreter;
use crate::error::{Eval, fail};
use crate::format;
use crate::scope::{AssignError, Env};
use crate::value::Value;

pub(crate) fn binary_of(op: AssignOp) -> Option<BinaryOp> {
    Some(match op {
        AssignOp::Add => BinaryOp::Add,
        AssignOp::Sub => BinaryOp::Sub,
        AssignOp::Mul => BinaryOp::Mul,
        AssignOp::Div => BinaryOp::Div,
        AssignOp::Rem => BinaryOp::Rem,
        AssignOp::Pow => BinaryOp::Pow,
        AssignOp::ConfAdd => BinaryOp::ConfAdd,
        AssignOp::ConfSub => BinaryOp::ConfSub,
        AssignOp::ConfMul => BinaryOp::ConfMul,
        AssignOp::ConfDiv => BinaryOp::ConfDiv,
        AssignOp::Assign | AssignOp::Nullish | AssignOp::And | AssignOp::Or => return None,
    })
}

/// True if evaluating `e` cannot run code that reassigns a variable (no calls, assignments,
/// updates or awaits), so it may be evaluated before the target is read.
pub(crate) fn is_simple(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Undefined
        | ExprKind::Ident(_) => true,
        ExprKind::Template(parts) => parts.iter().all(|p| match p {
            prism_compiler::ast::TemplatePart::Text(_) => true,
            prism_compiler::ast::TemplatePart::Expr(x) => is_simple(x),
        }),
        ExprKind::Binary { lhs, rhs, op } => {
            *op != BinaryOp::ConfPipe && is_simple(lhs) && is_simple(rhs)
        }
        ExprKind::Unary { expr, .. } => is_simple(expr),
        ExprKind::Member { object, .. } => is_simple(object),
        ExprKind::Index { object, index, .. } => is_simple(object) && is_simple(index),
        ExprKind::Conditional {
            cond,
            then,
            otherwise,
        } => is_simple(cond) && is_simple(then) && is_simple(otherwise),
        _ => false,
    }
}

/// The operands of a left-nested `+` chain `name + a + b + …` after `name`, if `e` is one
/// whose leftmost operand is `name` and whose other operands are simple.
pub(crate) fn add_chain<'a>(
    e: &'a Expr,
    name: &str,
    out: &mut smallvec::SmallVec<[&'a Expr; 4]>,
) -> bool {
    match &e.kind {
        ExprKind::Ident(n) => &**n == name,
        ExprKind::Binary {
            op: BinaryOp::Add,
            lhs,
            rhs,
        } if is_simple(rhs) => {
            let ok = add_chain(lhs, name, out);
            out.push(rhs);
            ok
        }
        _ => false,
    }
}

/// The span of the leftmost operand of a `+` chain (where reading the name would fail).
pub(crate) fn leftmost_span(e: &Expr) -> Span {
    match &e.kind {
        ExprKind::Binary { lhs, .. } => leftmost_span(lhs),
        _ => e.span,
    }
}

/// Adds every value of `rhs` to the string or number in `slot`, in place. Returns `None`
/// (leaving `slot` alone) when some step needs the general `+`.
pub(crate) fn add_in_place(slot: &mut Value, rhs: &[Value]) -> Option<Value> {
    match slot {
        Value::Number(a) if rhs.iter().all(|r| matches!(r, Value::Number(_))) => {
            for r in rhs {
                if let Value::Number(b) = r {
                    *a += b;
                }
            }
            Some(Value::Number(*a))
        }
        Value::Str(s) if !rhs.iter().any(|r| matches!(r, Value::Confident(_))) => {
            // Past the longest string, the general `+` reports it.
            let grows: usize = rhs
                .iter()
                .map(|r| match r {
                    Value::Str(t) => t.len(),
                    _ => 32,
                })
                .sum();
            if s.len() + grows > crate::value::MAX_STRING_BYTES {
                return None;
            }
            let buf = Rc::make_mut(s);
            for r in rhs {
                format::display_into(buf, r);
            }
            Some(Value::Str(s.clone()))
        }
        _ => None,
    }
}

impl Interpreter {
    pub(crate) fn eval_assign(
        &mut self,
        op: AssignOp,
        target: &Expr,
        value: &Expr,
        env: &Env,
        span: Span,
    ) -> Eval {
        match &target.kind {
            ExprKind::Ident(name) => {
                match op {
                    AssignOp::Assign => {
                        // `s = s + a + b` appends `a` and `b` in place.
                        let mut operands: smallvec::SmallVec<[&Expr; 4]> =
                            smallvec::SmallVec::new();
                        if matches!(
                            value.kind,
                            ExprKind::Binary {
                                op: BinaryOp::Add,
                                ..
                            }
                        ) && add_chain(value, name, &mut operands)
                        {
                            return self.add_assign_name(
                                name,
                                &operands,
                                env,
                                leftmost_span(value),
                                span,
                            );
                        }
                        let v = self.eval(value, env)?;
                        self.assign_name(name, v.clone(), env, span)?;
                        Ok(v)
                    }
                    AssignOp::Add if is_simple(value) => {
                        self.add_assign_name(name, &[value], env, target.span, span)
                    }
                    _ => {
                        let current = match env.lookup(name) {
                            Some(v) => v,
                            None => return Err(self.undefined_variable(name, target.span)),
                        };
                        let Some(new) = self.combine(op, current, value, env, span)? else {
                            return Ok(env.lookup(name).unwrap_or_default());
                        };
                        self.assign_name(name, new.clone(), env, span)?;
                        Ok(new)
                    }
                }
            }
            ExprKind::Member {
                object, property, ..
            } => {
                let o = self.eval(object, env)?;
                let new = if op == AssignOp::Assign {
                    self.eval(value, env)?
                } else {
                    let current = self.get_member(o.clone(), &property.name, false, false, span)?;
                    match self.combine(op, current.clone(), value, env, span)? {
                        Some(v) => v,
                        None => return Ok(current),
                    }
                };
                self.set_member(&o, &property.name, new.clone(), span)?;
                Ok(new)
            }
            ExprKind::Index { object, index, .. } => {
                let o = self.eval(object, env)?;
                let i = self.eval(index, env)?;
                let new = if op == AssignOp::Assign {
                    self.eval(value, env)?
                } else {
                    let current = self.get_index(o.clone(), i.clone(), false, span)?;
                    match self.combine(op, current.clone(), value, env, span)? {
                        Some(v) => v,
                        None => return Ok(current),
                    }
                };
                self.set_index(&o, &i, new.clone(), span)?;
                Ok(new)
            }
            _ => fail("Invalid assignment target", target.span),
        }
    }

    /// The new value of a compound assignment, or `None` when a logical assignment
    /// (`??=`, `&&=`, `||=`) leaves the target alone.
    fn combine(
        &mut self,
        op: AssignOp,
        current: Value,
        value: &Expr,
        env: &Env,
        span: Span,
    ) -> Eval<Option<Value>> {
        let assign = match op {
            AssignOp::Nullish => current.is_null(),
            AssignOp::And => current.is_truthy(),
            AssignOp::Or => !current.is_truthy(),
            _ => {
                let rhs = self.eval(value, env)?;
                let bin = binary_of(op).unwrap_or(BinaryOp::Add);
                return self.binary(bin, current, rhs, span).map(Some);
            }
        };
        if assign {
            self.eval(value, env).map(Some)
        } else {
            Ok(None)
        }
    }

    fn add_assign_name(
        &mut self,
        name: &prism_compiler::ast::Name,
        operands: &[&Expr],
        env: &Env,
        name_span: Span,
        span: Span,
    ) -> Eval {
        let mut values: smallvec::SmallVec<[Value; 2]> = smallvec::SmallVec::new();
        for x in operands {
            values.push(self.eval(x, env)?);
        }
        match env.update(name, |slot| add_in_place(slot, &values)) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => {
                let mut new = env.lookup(name).unwrap_or_default();
                for r in values {
                    new = self.binary(BinaryOp::Add, new, r, span)?;
                }
                self.assign_name(name, new.clone(), env, span)?;
                Ok(new)
            }
            Err(AssignError::Const) => {
                fail(format!("Cannot assign to const variable '{name}'"), span)
            }
            Err(AssignError::Undefined) => Err(self.undefined_variable(name, name_span)),
        }
    }

    /// Plain assignment to a name: the nearest binding, or a new one in `env`.
    pub(crate) fn assign_name(
        &mut self,
        name: &prism_compiler::ast::Name,
        v: Value,
        env: &Env,
        span: Span,
    ) -> Eval<()> {
        match env.set(name, v) {
            Ok(()) => Ok(()),
            Err(_) => fail(format!("Cannot assign to const variable '{name}'"), span),
        }
    }

    pub(crate) fn eval_update(
        &mut self,
        op: UpdateOp,
        prefix: bool,
        target: &Expr,
        env: &Env,
        span: Span,
    ) -> Eval {
        let delta = if op == UpdateOp::Inc { 1.0 } else { -1.0 };
        if let ExprKind::Ident(name) = &target.kind {
            // Fast path: a plain number updated in place.
            let updated = env.update(name, |slot| match slot {
                Value::Number(n) => {
                    let old = *n;
                    *n += delta;
                    Some(old)
                }
                _ => None,
            });
            if let Ok(Some(old)) = updated {
                return Ok(Value::Number(if prefix { old + delta } else { old }));
            }
        }
        let old = self.eval(target, env)?;
        let old_num = super::ops::to_number(old.unwrap_confident());
        let new = match old.confidence() {
            Some(c) => Value::confident(Value::Number(old_num + delta), c),
            None => Value::Number(old_num + delta),
        };
        match &target.kind {
            ExprKind::Ident(name) => self.assign_name(name, new.clone(), env, span)?,
            ExprKind::Member {
                object, property, ..
            } => {
                let o = self.eval(object, env)?;
                self.set_member(&o, &property.name, new.clone(), span)?;
            }
            ExprKind::Index { object, index, .. } => {
                let o = self.eval(object, env)?;
                let i = self.eval(index, env)?;
                self.set_index(&o, &i, new.clone(), span)?;
            }
            _ => return fail("Invalid update target", target.span),
        }
        Ok(if prefix { new } else { Value::Number(old_num) })
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn compound_and_chained_assignment() {
        assert_eq!(
            run(
                "let s = \"a\"\ns += 1\ns = s + \"b\" + 2\nlet n = 1\nn = n + 2 + 3\nn++\nprint(s, n, n--, --n)"
            ),
            "a1b2 7 7 5\n"
        );
        assert_eq!(
            run("let o = {a: 1}\no.a += 2\no[\"b\"] = 5\nlet xs = [1]\nxs[2] = 3\nprint(o, xs)"),
            "{ a: 3, b: 5 } [1, null, 3]\n"
        );
        assert_eq!(
            run("let t = 1 ~> 0.5\nt = t + 1\nlet u = null\nu ??= 4\nprint(t, u)"),
            "2 ~> 0.50 4\n"
        );
        assert_eq!(
            run("x = x + 1"),
            "ERROR: Error at line 1, column 4: Undefined variable: x\n"
        );
    }
}
