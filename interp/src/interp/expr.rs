//! Expression evaluation: literals, names, containers, functions, conditionals, pipelines and
//! `await`. Operators, access, assignment and calls live in their own modules.

use std::rc::Rc;
use std::sync::Arc;

use prism_compiler::ast::{
    self, ArrayElem, Expr, ExprKind, LogicalOp, PropKey, Property, TemplatePart,
};
use prism_compiler::span::Span;

use super::Interpreter;
use crate::error::{Eval, Flow, fail};
use crate::format;
use crate::scope::Env;
use crate::value::{Closure, Map, Value};

impl Interpreter {
    /// Evaluates an expression in a scope.
    pub(crate) fn eval(&mut self, e: &Expr, env: &Env) -> Eval {
        match &e.kind {
            ExprKind::Number(n) => Ok(Value::Number(*n)),
            ExprKind::String(s) => Ok(Value::str(&**s)),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Null | ExprKind::Undefined => Ok(Value::Null),
            ExprKind::Ident(name) => match env.lookup(name) {
                Some(v) => Ok(v),
                None => Err(self.undefined_variable(name, e.span)),
            },
            ExprKind::Template(parts) => self.eval_template(parts, env),
            ExprKind::Placeholder => match &self.placeholder {
                Some(v) => Ok(v.clone()),
                None => fail(
                    "Placeholder (_) can only be used within pipeline expressions",
                    e.span,
                ),
            },
            ExprKind::Array(elems) => self.eval_array(elems, env),
            ExprKind::Object(props) => self.eval_object(props, env),
            ExprKind::Function(f) => self.make_function(f, env),
            ExprKind::Unary { op, expr } => {
                let v = self.eval(expr, env)?;
                self.unary(*op, v, e.span)
            }
            ExprKind::Update { op, prefix, target } => {
                self.eval_update(*op, *prefix, target, env, e.span)
            }
            ExprKind::Binary {
                op: ast::BinaryOp::ConfPipe,
                lhs,
                rhs,
            } if has_placeholder(rhs) => self.eval_conf_pipe_hole(lhs, rhs, env),
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.eval(lhs, env)?;
                let r = self.eval(rhs, env)?;
                self.binary(*op, l, r, e.span)
            }
            ExprKind::Logical { op, lhs, rhs } => self.eval_logical(*op, lhs, rhs, env),
            ExprKind::Attach { value, confidence } => {
                self.eval_attach(value, confidence, env, e.span)
            }
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => {
                if self.eval(cond, env)?.is_truthy() {
                    self.eval(then, env)
                } else {
                    self.eval(otherwise, env)
                }
            }
            ExprKind::ConfConditional {
                cond,
                then,
                otherwise,
            } => self.eval_conf_conditional(cond, then, otherwise, env),
            ExprKind::Assign { op, target, value } => {
                self.eval_assign(*op, target, value, env, e.span)
            }
            ExprKind::Member {
                object,
                property,
                optional,
                confident,
            } => {
                let o = self.eval(object, env)?;
                self.get_member(o, &property.name, *optional, *confident, e.span)
            }
            ExprKind::Index {
                object,
                index,
                optional,
            } => {
                let o = self.eval(object, env)?;
                let i = self.eval(index, env)?;
                self.get_index(o, i, *optional, e.span)
            }
            ExprKind::Call {
                callee,
                args,
                optional,
            } => self.eval_call(callee, args, *optional, env, e.span),
            ExprKind::Pipeline { lhs, rhs } => self.eval_pipeline(lhs, rhs, env, e.span),
            ExprKind::Match { subject, arms } => self.eval_match(subject, arms, env),
            ExprKind::Await(x) => {
                let v = self.eval(x, env)?;
                self.await_value(v, e.span).map_err(Flow::from)
            }
            ExprKind::Sequence(items) => {
                let mut last = Value::Null;
                for x in items {
                    last = self.eval(x, env)?;
                }
                Ok(last)
            }
            ExprKind::Error => fail("Cannot evaluate an expression with a syntax error", e.span),
        }
    }

    /// The reference's "Undefined variable" error, with its line/column prefix.
    pub(crate) fn undefined_variable(&self, name: &str, span: Span) -> Flow {
        self.located(format!("Undefined variable: {name}"), span)
    }

    /// `value ~> confidence`: the value with that confidence (a number).
    fn eval_attach(&mut self, value: &Expr, confidence: &Expr, env: &Env, span: Span) -> Eval {
        let v = self.eval(value, env)?;
        let c = self.eval(confidence, env)?;
        match c.as_number() {
            Some(c) => Ok(Value::confident(v, c)),
            None => fail("Confidence value must be a number", span),
        }
    }

    /// `cond ~? then : otherwise`: the branch's value with the product of the condition's and
    /// the branch's confidences.
    fn eval_conf_conditional(
        &mut self,
        cond: &Expr,
        then: &Expr,
        otherwise: &Expr,
        env: &Env,
    ) -> Eval {
        let c = self.eval(cond, env)?;
        let branch = if c.is_truthy() { then } else { otherwise };
        let r = self.eval(branch, env)?;
        let confidence = c.confidence_or_one() * r.confidence_or_one();
        Ok(Value::confident(r.unwrap_confident().clone(), confidence))
    }

    /// `v ~|> f(_)`: the right side with `_` standing for the left value; the result keeps its
    /// own confidence, else takes the left's.
    fn eval_conf_pipe_hole(&mut self, lhs: &Expr, rhs: &Expr, env: &Env) -> Eval {
        let l = self.eval(lhs, env)?;
        let lc = l.confidence_or_one();
        let saved = self.placeholder.replace(l);
        let r = self.eval(rhs, env);
        self.placeholder = saved;
        Ok(match r? {
            r @ Value::Confident(_) => r,
            plain => Value::confident(plain, lc),
        })
    }

    /// `v |> f`: `f(v)`; or, when the right side has a `_`, the right side with `_` standing for
    /// the left value.
    fn eval_pipeline(&mut self, lhs: &Expr, rhs: &Expr, env: &Env, span: Span) -> Eval {
        let v = self.eval(lhs, env)?;
        if has_placeholder(rhs) {
            let saved = self.placeholder.replace(v);
            let r = self.eval(rhs, env);
            self.placeholder = saved;
            r
        } else {
            let f = self.eval(rhs, env)?;
            self.call_checked(&f, smallvec::smallvec![v], span)
        }
    }

    fn eval_template(&mut self, parts: &[TemplatePart], env: &Env) -> Eval {
        let mut out = String::new();
        for part in parts {
            match part {
                TemplatePart::Text(t) => out.push_str(t),
                TemplatePart::Expr(x) => {
                    let v = self.eval(x, env)?;
                    format::display_into(&mut out, &v);
                    if out.len() > crate::value::MAX_STRING_BYTES {
                        return Err(self.located(
                            format!(
                                "Invalid string length: more than the {} bytes allowed",
                                crate::value::MAX_STRING_BYTES
                            ),
                            x.span,
                        ));
                    }
                }
            }
        }
        Ok(Value::from(out))
    }

    fn eval_array(&mut self, elems: &[ArrayElem], env: &Env) -> Eval {
        let mut items = Vec::with_capacity(elems.len());
        for el in elems {
            match el {
                ArrayElem::Expr(x) => items.push(self.eval(x, env)?),
                ArrayElem::Hole => items.push(Value::Null),
                ArrayElem::Spread(x) => {
                    let v = self.eval(x, env)?;
                    match v.unwrap_confident() {
                        Value::Array(a) => items.extend(a.borrow().iter().cloned()),
                        other => {
                            return fail(
                                format!("Cannot spread non-array value: {}", other.type_name()),
                                x.span,
                            );
                        }
                    }
                }
            }
        }
        Ok(Value::array(items))
    }

    fn eval_object(&mut self, props: &[Property], env: &Env) -> Eval {
        let mut map = Map::default();
        for p in props {
            match p {
                Property::KeyValue { key, value, .. } => {
                    let key: Rc<str> = match key {
                        PropKey::Static(k) => (**k).into(),
                        PropKey::Computed(k) => {
                            let k = self.eval(k, env)?;
                            format::display(&k).into()
                        }
                    };
                    let v = self.eval(value, env)?;
                    map.insert(key, v);
                }
                Property::Shorthand(id) => {
                    let v = match env.lookup(&id.name) {
                        Some(v) => v,
                        None => return Err(self.undefined_variable(&id.name, id.span)),
                    };
                    map.insert((*id.name).into(), v);
                }
                Property::PatternOnly(p) => {
                    return fail(
                        "A confidence threshold or default value belongs to a destructuring pattern",
                        p.span,
                    );
                }
                Property::Spread(x) => {
                    let v = self.eval(x, env)?;
                    match v.unwrap_confident() {
                        Value::Object(o) => {
                            for (k, v) in o.borrow().iter() {
                                map.insert(k.clone(), v.clone());
                            }
                        }
                        Value::Null => {}
                        other => {
                            return fail(
                                format!("Cannot spread non-object value: {}", other.type_name()),
                                x.span,
                            );
                        }
                    }
                }
            }
        }
        Ok(Value::object(map))
    }

    /// A function value closing over `env`, wrapped in its `~> c` annotation if it has one.
    pub(crate) fn make_function(&mut self, f: &Arc<ast::Function>, env: &Env) -> Eval {
        let closure = Value::Function(Rc::new(Closure {
            func: f.clone(),
            env: env.clone(),
            file: self.file,
            code: Default::default(),
        }));
        match &f.confidence {
            Some(c) => match self.eval(c, env)?.as_number() {
                Some(c) => Ok(Value::confident(closure, c)),
                None => Ok(closure),
            },
            None => Ok(closure),
        }
    }

    fn eval_logical(&mut self, op: LogicalOp, lhs: &Expr, rhs: &Expr, env: &Env) -> Eval {
        let l = self.eval(lhs, env)?;
        match op {
            LogicalOp::And => {
                if l.is_truthy() {
                    self.eval(rhs, env)
                } else {
                    Ok(l)
                }
            }
            LogicalOp::Or => {
                if l.is_truthy() {
                    Ok(l)
                } else {
                    self.eval(rhs, env)
                }
            }
            LogicalOp::Nullish => match &l {
                Value::Null => self.eval(rhs, env),
                Value::Confident(c) if c.value.is_null() => {
                    // The reference applies `??` to the unwrapped values and keeps the lower
                    // confidence.
                    let r = self.eval(rhs, env)?;
                    let confidence = c.confidence.min(r.confidence_or_one());
                    Ok(Value::confident(r.unwrap_confident().clone(), confidence))
                }
                _ => Ok(l),
            },
        }
    }
}

/// True if `_` occurs in `e` outside nested functions and outside the right side of a nested
/// pipeline (where `_` means that pipeline's value).
pub(crate) fn has_placeholder(e: &Expr) -> bool {
    use ExprKind::*;
    match &e.kind {
        Placeholder => true,
        Number(_) | String(_) | Bool(_) | Null | Undefined | Ident(_) | Function(_) | Error => {
            false
        }
        Template(parts) => parts.iter().any(|p| match p {
            TemplatePart::Text(_) => false,
            TemplatePart::Expr(x) => has_placeholder(x),
        }),
        Array(elems) => elems.iter().any(|el| match el {
            ArrayElem::Expr(x) | ArrayElem::Spread(x) => has_placeholder(x),
            ArrayElem::Hole => false,
        }),
        Object(props) => props.iter().any(|p| match p {
            Property::KeyValue { key, value, .. } => {
                matches!(key, PropKey::Computed(k) if has_placeholder(k)) || has_placeholder(value)
            }
            Property::Shorthand(_) | Property::PatternOnly(_) => false,
            Property::Spread(x) => has_placeholder(x),
        }),
        Unary { expr, .. } | Await(expr) => has_placeholder(expr),
        Update { target, .. } => has_placeholder(target),
        // A `_` on the right of `~|>` stands for that pipeline's own left side.
        Binary {
            op: ast::BinaryOp::ConfPipe,
            lhs,
            ..
        } => has_placeholder(lhs),
        Binary { lhs, rhs, .. } | Logical { lhs, rhs, .. } => {
            has_placeholder(lhs) || has_placeholder(rhs)
        }
        Attach { value, confidence } => has_placeholder(value) || has_placeholder(confidence),
        Conditional {
            cond,
            then,
            otherwise,
        }
        | ConfConditional {
            cond,
            then,
            otherwise,
        } => has_placeholder(cond) || has_placeholder(then) || has_placeholder(otherwise),
        Assign { target, value, .. } => has_placeholder(target) || has_placeholder(value),
        Member { object, .. } => has_placeholder(object),
        Index { object, index, .. } => has_placeholder(object) || has_placeholder(index),
        Call { callee, args, .. } => {
            has_placeholder(callee)
                || args.iter().any(|a| match a {
                    ast::Arg::Expr(x) | ast::Arg::Spread(x) => has_placeholder(x),
                })
        }
        Pipeline { lhs, .. } => has_placeholder(lhs),
        Match { subject, arms } => {
            has_placeholder(subject)
                || arms.iter().any(|a| {
                    matches!(&a.body, ast::MatchBody::Expr(b) if has_placeholder(b))
                        || a.guard.as_ref().is_some_and(has_placeholder)
                })
        }
        Sequence(items) => items.iter().any(has_placeholder),
    }
}
