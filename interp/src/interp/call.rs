//! Calls: argument lists with spread, Prism closures (parameters, defaults, rest, async),
//! native functions, method calls on builtin types, and confident functions.

use std::rc::Rc;

use prism_compiler::ast::{Arg, Expr, ExprKind, FunctionBody, Pattern};
use prism_compiler::span::Span;
use smallvec::SmallVec;

/// Frames kept in a runtime error's stack (the innermost ones).
const MAX_FRAMES: usize = 32;

/// Call arguments (inline for the common short lists).
pub(crate) type Args = SmallVec<[Value; 4]>;

use super::Interpreter;
use super::access::with_confidence;
use crate::builtins;
use crate::error::{ErrorKind, Eval, Flow, Frame, RuntimeError, fail};
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
        self.call_checked(&f, args, span)
    }

    pub(crate) fn eval_args(&mut self, args: &[Arg], env: &Env) -> Eval<Args> {
        let mut out = Args::with_capacity(args.len());
        for a in args {
            match a {
                Arg::Expr(x) => out.push(self.eval(x, env)?),
                Arg::Spread(x) => {
                    let v = self.eval(x, env)?;
                    match v.unwrap_confident() {
                        Value::Array(a) => out.extend(a.borrow().iter().cloned()),
                        other => {
                            return Err(self.located(
                                format!("Cannot spread non-array value: {}", other.type_name()),
                                x.span,
                            ));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// `receiver.name(args)`: an object's function property, or a builtin method of arrays,
    /// strings and numbers. A confident receiver gives the result its confidence.
    pub(crate) fn call_method(
        &mut self,
        receiver: Value,
        name: &str,
        args: Args,
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
                    Some(f) => self.call_checked(&f, args, span)?,
                    None => match builtins::call_method(self, &base, name, &args, span) {
                        Some(r) => r?,
                        None => {
                            return Err(self.located("Cannot call non-function value: null", span));
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
                        return Err(self.located(
                            format!(
                                "Cannot call non-function value: null ({}.{name} is not a function)",
                                base.type_name()
                            ),
                            span,
                        ));
                    }
                    self.call_checked(&prop, args, span)?
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
        to_result(self.call_value(f, Args::from_vec(args), span))
    }

    /// [`Interpreter::call`] with the arguments inline (no allocation for short lists).
    pub(crate) fn call_args(
        &mut self,
        f: &Value,
        args: Args,
        span: Span,
    ) -> Result<Value, RuntimeError> {
        to_result(self.call_value(f, args, span))
    }

    /// Calls any callable value the way builtins call callbacks: a Prism function may declare
    /// fewer parameters than it is given (`xs.map(x => …)` gets the index too) or more.
    pub(crate) fn call_value(&mut self, f: &Value, args: Args, span: Span) -> Eval {
        self.call_value_with(f, args, span, false)
    }

    /// Calls a callable value from a call written in the program: as in the reference, a
    /// Prism function must get as many arguments as it declares (fewer where the missing ones
    /// have defaults, more where it has a rest parameter). The standard library's modules call
    /// the callbacks they are given the way builtins do.
    pub(crate) fn call_checked(&mut self, f: &Value, args: Args, span: Span) -> Eval {
        let checked = !self.in_std_module();
        self.call_value_with(f, args, span, checked)
    }

    /// Is the code running now part of a `std/…` module?
    fn in_std_module(&self) -> bool {
        self.files
            .get(self.file)
            .is_some_and(|f| f.name.starts_with("std/"))
    }

    fn call_value_with(&mut self, f: &Value, args: Args, span: Span, checked: bool) -> Eval {
        match f {
            Value::Function(c) => {
                if checked {
                    self.check_arity(c, args.len(), span)?;
                }
                self.call_closure(c, args, span)
            }
            Value::Native(n) => (n.imp)(self, &args, span).map_err(|e| Flow::from(e.at(span))),
            Value::Confident(c) if c.value.is_callable() => {
                let result = self.call_value_with(&c.value, args, span, checked)?;
                Ok(with_confidence(result, c.confidence))
            }
            other => Err(self.located(
                format!("Cannot call non-function value: {}", other.type_name()),
                span,
            )),
        }
    }

    /// "Function expects 2 arguments, got 3" (the reference's words; "Lambda" for `=>`).
    fn check_arity(&self, c: &Closure, given: usize, span: Span) -> Eval<()> {
        let params = &c.func.params;
        let rest = params.last().is_some_and(|p| p.rest);
        let fixed = params.len() - usize::from(rest);
        let required = params
            .iter()
            .take(fixed)
            .position(|p| p.default.is_some())
            .unwrap_or(fixed);
        if given >= required && (rest || given <= fixed) {
            return Ok(());
        }
        let what = if c.func.is_arrow {
            "Lambda"
        } else {
            "Function"
        };
        let expected = if rest {
            format!("at least {required}")
        } else if required < fixed {
            format!("{required} to {fixed}")
        } else {
            fixed.to_string()
        };
        Err(self.located(
            format!("{what} expects {expected} arguments, got {given}"),
            span,
        ))
    }

    fn call_closure(&mut self, c: &Rc<Closure>, args: Args, span: Span) -> Eval {
        self.enter_call(span)?;
        let caller_file = std::mem::replace(&mut self.file, c.file);
        let result = self.invoke(c, args);
        self.file = caller_file;
        self.depth -= 1;
        self.finish_call(result, c, span)
    }

    /// The start of a call of a Prism function: a step, and one level deeper (an error past
    /// the call depth limit). The caller undoes the depth when the call returns.
    #[inline]
    pub(crate) fn enter_call(&mut self, span: Span) -> Eval<()> {
        self.tick(span)?;
        if self.depth >= self.max_call_depth {
            return Err(Flow::from(RuntimeError::of_kind(
                ErrorKind::CallDepth,
                "Maximum call depth exceeded",
                span,
            )));
        }
        self.depth += 1;
        Ok(())
    }

    /// The result of a call of `c`: a `return`'s value, or an error with the call's frame
    /// added to its stack.
    #[inline]
    pub(crate) fn finish_call(&mut self, result: Eval, c: &Closure, span: Span) -> Eval {
        match result {
            Ok(v) => Ok(v),
            Err(flow) => self.finish_call_flow(flow, c, span),
        }
    }

    #[inline(never)]
    fn finish_call_flow(&mut self, flow: Flow, c: &Closure, span: Span) -> Eval {
        match flow {
            Flow::Return(v, _) => Ok(v),
            // As in the reference, `break`/`continue` leave the function and act on a loop
            // around the call (an error if there is none).
            flow @ (Flow::Break(_) | Flow::Continue(_)) => Err(flow),
            flow => {
                let mut e = flow.into_error();
                if e.file.is_none() {
                    e.file = self.files.get(c.file).map(|f| f.name.to_string());
                }
                if e.stack.len() < MAX_FRAMES {
                    e.stack.push(Frame {
                        name: c.name().to_string(),
                        call_span: span,
                        file: self.file_name(),
                    });
                }
                // An `async` function runs to its end when called and gives its value (or
                // throws), as in the reference: `await` inside it waits right there, and
                // awaiting the result of a call passes the value through.
                Err(Flow::Error(e))
            }
        }
    }

    fn invoke(&mut self, c: &Rc<Closure>, args: Args) -> Eval {
        if !self.tree_walker
            && let Some(code) = c.code.get_or_init(|| self.fn_code(c))
        {
            return self.run_fn(code, &c.env, args);
        }
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
            if v.is_null()
                && let Some(d) = &p.default
            {
                v = self.eval(d, &env)?;
            }
            self.bind_param(&p.pattern, v, &env)?;
        }
        let result = match &f.body {
            FunctionBody::Expr(e) => self.eval(e, &env),
            FunctionBody::Block(b) if b.stmts.is_empty() => Ok(Value::Null),
            FunctionBody::Block(b) => self.exec_stmts(&b.stmts, &env),
        };
        Scope::release_self_cycles(&env);
        result
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
        Ok(v) | Err(Flow::Return(v, _)) => Ok(v),
        Err(flow) => Err(*flow.into_error()),
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn parameters_defaults_rest_and_pipelines() {
        assert_eq!(
            run("function f(a, b = 2, ...r) { return [a, b, r] }\nprint(f(1), f(1, 3, 4, 5))"),
            "[1, 2, []] [1, 3, [4, 5]]\n"
        );
        assert_eq!(
            run("let d = x => x * 2\nprint(5 |> d, 5 |> d(_) + 1, [1, 2] |> _.length)"),
            "10 11 2\n"
        );
        assert!(
            run("print(_)")
                .contains("Placeholder (_) can only be used within pipeline expressions")
        );
    }

    #[test]
    fn confident_functions_and_methods_carry_confidence() {
        assert_eq!(
            run("let f = (x => x) ~> 0.5\nprint(f(2 ~> 0.5), ([1, 2] ~> 0.4).length)"),
            "2 ~> 0.25 2 ~> 0.40\n"
        );
    }

    #[test]
    fn async_functions_run_to_their_end_when_called() {
        // As in the reference: the call gives the value; awaiting it passes it through.
        assert_eq!(
            run("async function f() { return 3 }\nlet p = f()\nprint(p, await p, typeof p)"),
            "3 3 number\n"
        );
        assert_eq!(
            run("async function g() { throw \"no\" }\ntry { await g() } catch (e) { print(e) }"),
            "no\n"
        );
    }

    #[test]
    fn deep_recursion_reports_max_depth() {
        let out = run(
            "function d(n) { return n == 0 ? 0 : 1 + d(n - 1) }\nprint(d(10000))\nprint(d(1000000))",
        );
        assert!(out.starts_with("10000\n"), "{out}");
        assert!(out.contains("ERROR: Maximum call depth exceeded"), "{out}");
    }

    #[test]
    fn undefined_variable_names_line_and_column() {
        assert_eq!(
            run("print(1)\n  print(nope)"),
            "1\nERROR: Error at line 2, column 8: Undefined variable: nope\n"
        );
    }
}
