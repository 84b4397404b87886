//! Evaluating compiled expressions: the same rules as the tree-walking `eval`, with names
//! read from slots.

use prism_compiler::ast::{AssignOp, BinaryOp, LogicalOp, UpdateOp};
use prism_compiler::span::Span;

use super::Slot;
use super::ir::{ArgIr, ArrEl, Ex, FnCode, Prop, Target, TplPart, Var};
use crate::error::{Eval, Flow, fail};
use crate::format;
use crate::interp::Interpreter;
use crate::interp::assign::{add_in_place, binary_of};
use crate::interp::call::Args;
use crate::scope::{AssignError, Env};
use crate::value::{Closure, Map, Value};

impl Interpreter {
    /// Evaluates an operand: constants and names without a call of [`Interpreter::ex`].
    #[inline(always)]
    fn operand(&mut self, e: &Ex, env: &Env) -> Eval {
        match e {
            Ex::Const(v) => Ok(v.clone()),
            Ex::Var(v) => self.read_var(v, env),
            _ => self.ex(e, env),
        }
    }

    /// Evaluates a condition: `n < 2` of a number slot compared without making a value,
    /// anything else by its value's truthiness.
    #[inline(always)]
    pub(crate) fn truthy(&mut self, e: &Ex, env: &Env) -> Eval<bool> {
        if let Ex::VarNum {
            op,
            var,
            k,
            swapped,
            ..
        } = e
            && let Some(n) = self.slot_number(var)
        {
            let (a, b) = if *swapped { (*k, n) } else { (n, *k) };
            if let Some(t) = compare_fast(*op, a, b) {
                return Ok(t);
            }
        }
        Ok(match self.ex(e, env)? {
            Value::Bool(b) => b,
            v => v.is_truthy(),
        })
    }

    /// Evaluates a compiled expression.
    pub(crate) fn ex(&mut self, e: &Ex, env: &Env) -> Eval {
        match e {
            Ex::Const(v) => Ok(v.clone()),
            Ex::Var(v) => self.read_var(v, env),
            Ex::Binary { op, lhs, rhs, span } => {
                let l = self.operand(lhs, env)?;
                let r = self.operand(rhs, env)?;
                if let (Value::Number(a), Value::Number(b)) = (&l, &r)
                    && let Some(v) = number_fast(*op, *a, *b)
                {
                    return Ok(v);
                }
                self.binary(*op, l, r, *span)
            }
            Ex::VarNum {
                op,
                var,
                k,
                swapped,
                span,
            } => {
                if let Some(n) = self.slot_number(var) {
                    let (a, b) = if *swapped { (*k, n) } else { (n, *k) };
                    if let Some(v) = number_fast(*op, a, b) {
                        return Ok(v);
                    }
                }
                self.ex_var_num(*op, var, *k, *swapped, env, *span)
            }
            Ex::OpNum { op, lhs, k, span } => {
                let l = self.operand(lhs, env)?;
                if let Value::Number(a) = l
                    && let Some(v) = number_fast(*op, a, *k)
                {
                    return Ok(v);
                }
                self.binary(*op, l, Value::Number(*k), *span)
            }
            Ex::Call {
                callee,
                args,
                plain,
                optional,
                span,
            } => {
                // A global function called by name (`fib(n - 1)` inside `fib`): the binding
                // at the call site's cached root position, when it is a function, without
                // the general read. The same value the general path reads (no slot binds
                // the name, and the code runs in the root scope).
                if *plain
                    && let Ex::Var(v) = &**callee
                    && v.slots.is_empty()
                    && let Some(c) = env.root_function_cached(&v.name, &v.cache)
                    && let Some(code) = c.code.get_or_init(|| self.fn_code(&c))
                    && code.direct == Some(args.len())
                {
                    return self.call_direct(&c, code, args, env, *span);
                }
                let f = self.operand(callee, env)?;
                if let Value::Function(c) = &f
                    && *plain
                    && let Some(code) = c.code.get_or_init(|| self.fn_code(c))
                    && code.direct == Some(args.len())
                {
                    return self.call_direct(c, code, args, env, *span);
                }
                if *optional && f.is_null() {
                    return Ok(Value::Null);
                }
                let args = self.ex_args(args, env)?;
                self.call_checked(&f, args, *span)
            }
            Ex::MethodCall {
                object,
                name,
                opt_member,
                confident,
                args,
                optional,
                span,
            } => {
                let receiver = self.operand(object, env)?;
                if receiver.is_null() && (*opt_member || *optional) {
                    return Ok(Value::Null);
                }
                let args = self.ex_args(args, env)?;
                self.call_method(receiver, name, args, *confident, *span)
            }
            Ex::Member {
                object,
                name,
                optional,
                confident,
                span,
            } => {
                let o = self.operand(object, env)?;
                self.get_member(o, name, *optional, *confident, *span)
            }
            Ex::Index {
                object,
                index,
                optional,
                span,
            } => {
                let o = self.operand(object, env)?;
                let i = self.operand(index, env)?;
                self.get_index(o, i, *optional, *span)
            }
            Ex::Template(parts) => self.ex_template(parts, env),
            Ex::Placeholder(span) => match &self.placeholder {
                Some(v) => Ok(v.clone()),
                None => fail(
                    "Placeholder (_) can only be used within pipeline expressions",
                    *span,
                ),
            },
            Ex::Array(elems) => self.ex_array(elems, env),
            Ex::Object(props) => self.ex_object(props, env),
            Ex::Unary { op, expr, span } => {
                let v = self.ex(expr, env)?;
                self.unary(*op, v, *span)
            }
            Ex::Update {
                op,
                prefix,
                target,
                read,
                target_span,
                span,
            } => self.ex_update(*op, *prefix, target, read, *target_span, env, *span),
            Ex::ConfPipeHole { lhs, rhs } => self.ex_conf_pipe_hole(lhs, rhs, env),
            Ex::Logical { op, lhs, rhs } => self.ex_logical(*op, lhs, rhs, env),
            Ex::Attach {
                value,
                confidence,
                span,
            } => {
                let v = self.ex(value, env)?;
                let c = self.ex(confidence, env)?;
                match c.as_number() {
                    Some(c) => Ok(Value::confident(v, c)),
                    None => fail("Confidence value must be a number", *span),
                }
            }
            Ex::Conditional {
                cond,
                then,
                otherwise,
            } => {
                let branch = if self.truthy(cond, env)? {
                    then
                } else {
                    otherwise
                };
                self.ex(branch, env)
            }
            Ex::ConfConditional {
                cond,
                then,
                otherwise,
            } => {
                let c = self.ex(cond, env)?;
                let branch = if c.is_truthy() { then } else { otherwise };
                let r = self.ex(branch, env)?;
                let confidence = c.confidence_or_one() * r.confidence_or_one();
                Ok(Value::confident(r.unwrap_confident().clone(), confidence))
            }
            Ex::Assign {
                op,
                target,
                value,
                target_span,
                span,
            } => self.ex_assign(*op, target, value, *target_span, env, *span),
            Ex::AddAssign {
                var,
                operands,
                name_span,
                span,
            } => self.ex_add_assign(var, operands, env, *name_span, *span),
            Ex::Pipeline {
                lhs,
                rhs,
                hole,
                span,
            } => self.ex_pipeline(lhs, rhs, *hole, *span, env),
            Ex::Await(x, span) => {
                let v = self.ex(x, env)?;
                self.await_value(v, *span).map_err(Flow::from)
            }
            Ex::Sequence(items) => {
                let mut last = Value::Null;
                for x in items {
                    last = self.ex(x, env)?;
                }
                Ok(last)
            }
            Ex::Function(f) => self.make_function(f, env),
            Ex::Fail(message, span) => fail(*message, *span),
        }
    }

    /// Calls a compiled function that takes exactly the arguments given, none spread
    /// ([`super::ir::FnCode::direct`]): the arguments are evaluated straight into the
    /// callee's slots, with the bookkeeping of any call (steps, depth, file, error stack).
    #[inline(never)]
    fn call_direct(
        &mut self,
        c: &std::rc::Rc<Closure>,
        code: &FnCode,
        args: &[ArgIr],
        env: &Env,
        span: Span,
    ) -> Eval {
        let base = self.frame.len();
        for a in args {
            let ArgIr::Expr(x) = a else {
                continue;
            };
            match self.operand(x, env) {
                Ok(v) => self.frame.push(Slot::bound(v)),
                Err(e) => {
                    self.frame.truncate(base);
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.enter_call(span) {
            self.frame.truncate(base);
            return Err(e);
        }
        self.frame
            .resize_with(base + code.slots as usize, Slot::default);
        let caller_file = std::mem::replace(&mut self.file, c.file);
        let saved = std::mem::replace(&mut self.base, base);
        let result = self.run_fn_code(code, &c.env);
        self.base = saved;
        self.frame.truncate(base);
        self.file = caller_file;
        self.depth -= 1;
        self.finish_call(result, c, span)
    }

    fn ex_args(&mut self, args: &[ArgIr], env: &Env) -> Eval<Args> {
        let mut out = Args::with_capacity(args.len());
        for a in args {
            match a {
                ArgIr::Expr(x) => out.push(self.operand(x, env)?),
                ArgIr::Spread(x, x_span) => {
                    let v = self.ex(x, env)?;
                    match v.unwrap_confident() {
                        Value::Array(a) => out.extend(a.borrow().iter().cloned()),
                        other => {
                            return Err(self.located(
                                format!("Cannot spread non-array value: {}", other.type_name()),
                                *x_span,
                            ));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// [`Ex::VarNum`] when the name's first slot does not hold a number: as `Binary`.
    #[inline(never)]
    fn ex_var_num(
        &mut self,
        op: BinaryOp,
        var: &Var,
        k: f64,
        swapped: bool,
        env: &Env,
        span: Span,
    ) -> Eval {
        let v = self.read_var(var, env)?;
        let (l, r) = if swapped {
            (Value::Number(k), v)
        } else {
            (v, Value::Number(k))
        };
        if let (Value::Number(a), Value::Number(b)) = (&l, &r)
            && let Some(v) = number_fast(op, *a, *b)
        {
            return Ok(v);
        }
        self.binary(op, l, r, span)
    }

    #[inline(never)]
    fn ex_conf_pipe_hole(&mut self, lhs: &Ex, rhs: &Ex, env: &Env) -> Eval {
        let l = self.ex(lhs, env)?;
        let lc = l.confidence_or_one();
        let saved = self.placeholder.replace(l);
        let r = self.ex(rhs, env);
        self.placeholder = saved;
        Ok(match r? {
            r @ Value::Confident(_) => r,
            plain => Value::confident(plain, lc),
        })
    }

    #[inline(never)]
    fn ex_pipeline(&mut self, lhs: &Ex, rhs: &Ex, hole: bool, span: Span, env: &Env) -> Eval {
        let v = self.ex(lhs, env)?;
        if hole {
            let saved = self.placeholder.replace(v);
            let r = self.ex(rhs, env);
            self.placeholder = saved;
            r
        } else {
            let f = self.ex(rhs, env)?;
            self.call_checked(&f, smallvec::smallvec![v], span)
        }
    }

    #[inline(never)]
    fn ex_template(&mut self, parts: &[TplPart], env: &Env) -> Eval {
        let mut out = String::new();
        for part in parts {
            match part {
                TplPart::Text(t) => out.push_str(t),
                TplPart::Expr(x, x_span) => {
                    let v = self.ex(x, env)?;
                    format::display_into(&mut out, &v);
                    if out.len() > crate::value::MAX_STRING_BYTES {
                        return Err(self.located(
                            format!(
                                "Invalid string length: more than the {} bytes allowed",
                                crate::value::MAX_STRING_BYTES
                            ),
                            *x_span,
                        ));
                    }
                }
            }
        }
        Ok(Value::from(out))
    }

    #[inline(never)]
    fn ex_array(&mut self, elems: &[ArrEl], env: &Env) -> Eval {
        let mut items = Vec::with_capacity(elems.len());
        for el in elems {
            match el {
                ArrEl::Expr(x) => items.push(self.ex(x, env)?),
                ArrEl::Hole => items.push(Value::Null),
                ArrEl::Spread(x, x_span) => {
                    let v = self.ex(x, env)?;
                    match v.unwrap_confident() {
                        Value::Array(a) => items.extend(a.borrow().iter().cloned()),
                        other => {
                            return fail(
                                format!("Cannot spread non-array value: {}", other.type_name()),
                                *x_span,
                            );
                        }
                    }
                }
            }
        }
        Ok(Value::array(items))
    }

    #[inline(never)]
    fn ex_object(&mut self, props: &[Prop], env: &Env) -> Eval {
        // Room for the literal's own members: no growth, and no spare entries kept per object.
        let mut map = Map::with_capacity_and_hasher(props.len(), Default::default());
        for p in props {
            match p {
                Prop::Static(k, value) => {
                    let v = self.ex(value, env)?;
                    map.insert(k.clone(), v);
                }
                Prop::Computed(k, value) => {
                    let k = self.ex(k, env)?;
                    let key: std::rc::Rc<str> = format::display(&k).into();
                    let v = self.ex(value, env)?;
                    map.insert(key, v);
                }
                Prop::Shorthand(var) => {
                    let v = self.read_var(var, env)?;
                    map.insert((*var.name).into(), v);
                }
                Prop::Spread(x, x_span) => {
                    let v = self.ex(x, env)?;
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
                                *x_span,
                            );
                        }
                    }
                }
            }
        }
        Ok(Value::object(map))
    }

    #[inline(never)]
    fn ex_logical(&mut self, op: LogicalOp, lhs: &Ex, rhs: &Ex, env: &Env) -> Eval {
        let l = self.ex(lhs, env)?;
        match op {
            LogicalOp::And => {
                if l.is_truthy() {
                    self.ex(rhs, env)
                } else {
                    Ok(l)
                }
            }
            LogicalOp::Or => {
                if l.is_truthy() {
                    Ok(l)
                } else {
                    self.ex(rhs, env)
                }
            }
            LogicalOp::Nullish => match &l {
                Value::Null => self.ex(rhs, env),
                Value::Confident(c) if c.value.is_null() => {
                    let r = self.ex(rhs, env)?;
                    let confidence = c.confidence.min(r.confidence_or_one());
                    Ok(Value::confident(r.unwrap_confident().clone(), confidence))
                }
                _ => Ok(l),
            },
        }
    }

    #[inline(never)]
    fn ex_assign(
        &mut self,
        op: AssignOp,
        target: &Target,
        value: &Ex,
        target_span: Span,
        env: &Env,
        span: Span,
    ) -> Eval {
        match target {
            Target::Var(var) => {
                if op == AssignOp::Assign {
                    let v = self.ex(value, env)?;
                    self.set_var(var, v.clone(), env, span)?;
                    return Ok(v);
                }
                let current = self.read_var(var, env)?;
                let Some(new) = self.ex_combine(op, current, value, env, span)? else {
                    return Ok(self.try_read_var(var, env).unwrap_or_default());
                };
                self.set_var(var, new.clone(), env, span)?;
                Ok(new)
            }
            Target::Member { object, name } => {
                let o = self.ex(object, env)?;
                let new = if op == AssignOp::Assign {
                    self.ex(value, env)?
                } else {
                    let current = self.get_member(o.clone(), name, false, false, span)?;
                    match self.ex_combine(op, current.clone(), value, env, span)? {
                        Some(v) => v,
                        None => return Ok(current),
                    }
                };
                self.set_member(&o, name, new.clone(), span)?;
                Ok(new)
            }
            Target::Index { object, index } => {
                let o = self.ex(object, env)?;
                let i = self.ex(index, env)?;
                let new = if op == AssignOp::Assign {
                    self.ex(value, env)?
                } else {
                    let current = self.get_index(o.clone(), i.clone(), false, span)?;
                    match self.ex_combine(op, current.clone(), value, env, span)? {
                        Some(v) => v,
                        None => return Ok(current),
                    }
                };
                self.set_index(&o, &i, new.clone(), span)?;
                Ok(new)
            }
            Target::Invalid => fail("Invalid assignment target", target_span),
        }
    }

    #[inline(never)]
    fn ex_combine(
        &mut self,
        op: AssignOp,
        current: Value,
        value: &Ex,
        env: &Env,
        span: Span,
    ) -> Eval<Option<Value>> {
        let assign = match op {
            AssignOp::Nullish => current.is_null(),
            AssignOp::And => current.is_truthy(),
            AssignOp::Or => !current.is_truthy(),
            _ => {
                let rhs = self.ex(value, env)?;
                let bin = binary_of(op).unwrap_or(BinaryOp::Add);
                return self.binary(bin, current, rhs, span).map(Some);
            }
        };
        if assign {
            self.ex(value, env).map(Some)
        } else {
            Ok(None)
        }
    }

    #[inline(never)]
    fn ex_add_assign(
        &mut self,
        var: &Var,
        operands: &[Ex],
        env: &Env,
        name_span: Span,
        span: Span,
    ) -> Eval {
        let mut values: smallvec::SmallVec<[Value; 2]> = smallvec::SmallVec::new();
        for x in operands {
            values.push(self.ex(x, env)?);
        }
        match self.update_var(var, env, |slot| add_in_place(slot, &values)) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => {
                let mut new = self.try_read_var(var, env).unwrap_or_default();
                for r in values {
                    new = self.binary(BinaryOp::Add, new, r, span)?;
                }
                self.set_var(var, new.clone(), env, span)?;
                Ok(new)
            }
            Err(AssignError::Const) => fail(
                format!("Cannot assign to const variable '{}'", var.name),
                span,
            ),
            Err(AssignError::Undefined) => Err(self.undefined_variable(&var.name, name_span)),
        }
    }

    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn ex_update(
        &mut self,
        op: UpdateOp,
        prefix: bool,
        target: &Target,
        read: &Ex,
        target_span: Span,
        env: &Env,
        span: Span,
    ) -> Eval {
        let delta = if op == UpdateOp::Inc { 1.0 } else { -1.0 };
        if let Target::Var(var) = target {
            let updated = self.update_var(var, env, |slot| match slot {
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
        let old = self.ex(read, env)?;
        let old_num = crate::interp::to_number(old.unwrap_confident());
        let new = match old.confidence() {
            Some(c) => Value::confident(Value::Number(old_num + delta), c),
            None => Value::Number(old_num + delta),
        };
        match target {
            Target::Var(var) => self.set_var(var, new.clone(), env, span)?,
            Target::Member { object, name } => {
                let o = self.ex(object, env)?;
                self.set_member(&o, name, new.clone(), span)?;
            }
            Target::Index { object, index } => {
                let o = self.ex(object, env)?;
                let i = self.ex(index, env)?;
                self.set_index(&o, &i, new.clone(), span)?;
            }
            Target::Invalid => return fail("Invalid update target", target_span),
        }
        Ok(if prefix { new } else { Value::Number(old_num) })
    }
}

/// Number comparisons, as `number_fast` makes them (`None` for the other operators).
#[inline(always)]
fn compare_fast(op: BinaryOp, a: f64, b: f64) -> Option<bool> {
    use BinaryOp::*;
    Some(match op {
        Lt => a < b,
        LtEq => a <= b,
        Gt => a > b,
        GtEq => a >= b,
        Eq | StrictEq => a == b,
        NotEq | StrictNotEq => a != b,
        _ => return None,
    })
}

/// Number operators that cannot fail, without the general operator's dispatch.
#[inline(always)]
fn number_fast(op: BinaryOp, a: f64, b: f64) -> Option<Value> {
    use BinaryOp::*;
    Some(match op {
        Add => Value::Number(a + b),
        Sub => Value::Number(a - b),
        Mul => Value::Number(a * b),
        Div if b != 0.0 => Value::Number(a / b),
        Rem if b != 0.0 => Value::Number(crate::interp::ops::js_rem(a, b)),
        Lt => Value::Bool(a < b),
        LtEq => Value::Bool(a <= b),
        Gt => Value::Bool(a > b),
        GtEq => Value::Bool(a >= b),
        Eq | StrictEq => Value::Bool(a == b),
        NotEq | StrictNotEq => Value::Bool(a != b),
        _ => return None,
    })
}
