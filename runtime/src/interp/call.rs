//! Calls: argument lists with spread, Prism closures (parameters, defaults, rest, async),
//! native functions, method calls on builtin types, and confident functions.

use std::rc::Rc;

use prism_compiler::ast::{Arg, Expr, ExprKind, FunctionBody, Pattern};
use prism_compiler::span::Span;

use super::Interpreter;
use super::access::with_confidence;
use crate::builtins;
use crate::error::{Eval, Flow, Frame, RuntimeError, fail};
use crate::promise::PromiseCell;
use crate::scope::{Env, Scope};
use crate::value::{Closure, Value};

impl Interpreter {
    pub(crate) fn eval_call(
        &mut self,
        callee: &Expr,
        args: &[Arg],
        optional: bool,
        env: &Env,
        span: Span,
    ) -> Eval {
        if let ExprKind::Member {
            object,
            property,
            optional: opt_member,
            confident,
        } = &callee.kind
        {
            let receiver = self.eval(object, env)?;
            if receiver.is_null() && (*opt_member || optional) {
                return Ok(Value::Null);
            }
            let args = self.eval_args(args, env)?;
            return self.call_method(receiver, &property.name, args, *confident, span);
        }
        let f = self.eval(callee, env)?;
        if optional && f.is_null() {
            return Ok(Value::Null);
        }
        let args = self.eval_args(args, env)?;
        self.call_value(&f, args, span)
    }

    pub(crate) fn eval_args(&mut self, args: &[Arg], env: &Env) -> Eval<Vec<Value>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            match a {
                Arg::Expr(x) => out.push(self.eval(x, env)?),
                Arg::Spread(x) => {
                    let v = self.eval(x, env)?;
                    match v.unwrap_confident() {
                        Value::Array(a) => out.extend(a.borrow().iter().cloned()),
                        other => {
                            return fail(
                                format!(
                                    "{}Cannot spread non-array value: {}",
                                    self.location_prefix(x.span),
                                    other.type_name()
                                ),
                                x.span,
                            );
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// `receiver.name(args)`: an object's function property, or a builtin method of arrays,
    /// strings and numbers. A confident receiver gives the result its confidence.
    fn call_method(
        &mut self,
        receiver: Value,
        name: &str,
        args: Vec<Value>,
        confident: bool,
        span: Span,
    ) -> Eval {
        let (base, confidence) = match &receiver {
            Value::Confident(c) => (c.value.clone(), Some(c.confidence)),
            _ => (receiver, confident.then_some(1.0)),
        };
        let result = match &base {
            Value::Object(o) => {
                let f = o.borrow().get(name).cloned();
                match f {
                    Some(f) => self.call_value(&f, args, span)?,
                    None => match builtins::call_method(self, &base, name, &args, span) {
                        Some(r) => r?,
                        None => {
                            return fail(
                                format!(
                                    "{}Cannot call non-function value: null",
                                    self.location_prefix(span)
                                ),
                                span,
                            );
                        }
                    },
                }
            }
            Value::Null => {
                return fail(format!("Cannot access property '{name}' on null"), span);
            }
            _ => match builtins::call_method(self, &base, name, &args, span) {
                Some(r) => r?,
                None => {
                    let prop = self.read_property(&base, name);
                    if prop.is_null() {
                        return fail(
                            format!(
                                "{}Cannot call non-function value: null ({}.{name} is not a function)",
                                self.location_prefix(span),
                                base.type_name()
                            ),
                            span,
                        );
                    }
                    self.call_value(&prop, args, span)?
                }
            },
        };
        Ok(match confidence {
            Some(c) => with_confidence(result, c),
            None => result,
        })
    }

    /// Calls a function value with owned arguments (for builtins).
    pub(crate) fn call(
        &mut self,
        f: &Value,
        args: Vec<Value>,
        span: Span,
    ) -> Result<Value, RuntimeError> {
        to_result(self.call_value(f, args, span))
    }

    /// Calls any callable value.
    pub(crate) fn call_value(&mut self, f: &Value, args: Vec<Value>, span: Span) -> Eval {
        match f {
            Value::Function(c) => self.call_closure(c, args, span),
            Value::Native(n) => (n.imp)(self, &args, span).map_err(|e| Flow::from(e.at(span))),
            Value::Confident(c) if c.value.is_callable() => {
                let result = self.call_value(&c.value, args, span)?;
                Ok(with_confidence(result, c.confidence))
            }
            other => fail(
                format!(
                    "{}Cannot call non-function value: {}",
                    self.location_prefix(span),
                    other.type_name()
                ),
                span,
            ),
        }
    }

    fn call_closure(&mut self, c: &Rc<Closure>, args: Vec<Value>, span: Span) -> Eval {
        if self.depth >= self.max_call_depth {
            return fail("Maximum call depth exceeded", span);
        }
        self.depth += 1;
        let caller_file = std::mem::replace(&mut self.file, c.file);
        let result = self.invoke(c, args);
        self.file = caller_file;
        self.depth -= 1;
        let result = match result {
            Ok(v) | Err(Flow::Return(v)) => Ok(v),
            Err(Flow::Break) | Err(Flow::Continue) => Ok(Value::Null),
            Err(Flow::Error(mut e)) => {
                if e.file.is_none() {
                    e.file = self.files.get(c.file).map(|f| f.name.to_string());
                }
                e.stack.push(Frame {
                    name: c.name().to_string(),
                    call_span: span,
                    file: self.file_name(),
                });
                Err(Flow::Error(e))
            }
        };
        if c.func.is_async {
            return Ok(match result {
                Ok(v) => PromiseCell::resolved(v),
                Err(Flow::Error(e)) => PromiseCell::rejected(e.catch_value()),
                Err(_) => PromiseCell::resolved(Value::Null),
            });
        }
        result
    }

    fn invoke(&mut self, c: &Rc<Closure>, args: Vec<Value>) -> Eval {
        let f = &*c.func;
        let env = Scope::child_with_capacity(&c.env, f.params.len());
        let mut args = args.into_iter();
        for p in &f.params {
            if p.rest {
                let rest: Vec<Value> = args.by_ref().collect();
                self.bind_param(&p.pattern, Value::array(rest), &env)?;
                break;
            }
            let mut v = args.next().unwrap_or_default();
            if v.is_null() {
                if let Some(d) = &p.default {
                    v = self.eval(d, &env)?;
                }
            }
            self.bind_param(&p.pattern, v, &env)?;
        }
        match &f.body {
            FunctionBody::Expr(e) => self.eval(e, &env),
            FunctionBody::Block(b) if b.stmts.is_empty() => Ok(Value::Null),
            FunctionBody::Block(b) => self.exec_stmts(&b.stmts, &env),
        }
    }

    fn bind_param(&mut self, pattern: &Pattern, v: Value, env: &Env) -> Eval<()> {
        match pattern {
            Pattern::Ident(id) => {
                env.define(&id.name, v);
                Ok(())
            }
            _ => self.bind_pattern(pattern, v, env, super::pattern::BindMode::Define, None),
        }
    }
}

/// Converts a control-flow result into a public error result.
pub(crate) fn to_result(r: Eval) -> Result<Value, RuntimeError> {
    match r {
        Ok(v) | Err(Flow::Return(v)) => Ok(v),
        Err(Flow::Break) | Err(Flow::Continue) => Ok(Value::Null),
        Err(Flow::Error(e)) => Err(*e),
    }
}
