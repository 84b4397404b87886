//! Unary and binary operators, including every confidence operator.
//!
//! Ordinary operators work on unwrapped values and give the result the minimum confidence of
//! their operands. Confidence operators count a plain operand as confidence 1.0.

use prism_compiler::ast::{BinaryOp, UnaryOp};
use prism_compiler::span::Span;

use super::Interpreter;
use crate::error::{Eval, fail};
use crate::format;
use crate::value::{Value, string_to_number};

/// Confidence at or above which a value is "high".
pub(crate) const HIGH: f64 = 0.7;
/// Confidence at or above which a value is "medium".
pub(crate) const MEDIUM: f64 = 0.5;

impl Interpreter {
    /// Applies a prefix operator.
    pub(crate) fn unary(&mut self, op: UnaryOp, v: Value, span: Span) -> Eval {
        match op {
            UnaryOp::Neg => match &v {
                Value::Number(n) => Ok(Value::Number(-n)),
                Value::Confident(c) => match c.value {
                    Value::Number(n) => Ok(Value::confident(Value::Number(-n), c.confidence)),
                    _ => fail(
                        format!("Cannot apply unary - to {}", c.value.type_name()),
                        span,
                    ),
                },
                other => fail(
                    format!("Cannot apply unary - to {}", other.type_name()),
                    span,
                ),
            },
            UnaryOp::Plus => Ok(Value::Number(to_number(v.unwrap_confident()))),
            UnaryOp::Not => Ok(Value::Bool(!v.is_truthy())),
            UnaryOp::Tilde => Ok(v),
            UnaryOp::Extract => Ok(Value::Number(v.confidence_or_one())),
            UnaryOp::Typeof => Ok(Value::str(v.typeof_name())),
        }
    }

    /// Applies a binary operator to evaluated operands.
    pub(crate) fn binary(&mut self, op: BinaryOp, l: Value, r: Value, span: Span) -> Eval {
        use BinaryOp::*;
        match op {
            ConfAdd | ConfSub | ConfMul | ConfDiv | ConfEq | ConfNotEq | ConfLt | ConfLtEq
            | ConfGtEq | ConfAnd | ConfOr | ConfCoalesce | ConfParallel | ConfGate | ConfChain
            | ConfThreshold | ConfPipe => self.confidence_binary(op, l, r, span),
            Instanceof => instance_of(&l, &r, span),
            _ => {
                if let (Value::Number(a), Value::Number(b)) = (&l, &r) {
                    return number_binary(op, *a, *b, span);
                }
                if matches!(l, Value::Confident(_)) || matches!(r, Value::Confident(_)) {
                    let confidence = l.confidence_or_one().min(r.confidence_or_one());
                    let result = self.binary(
                        op,
                        l.unwrap_confident().clone(),
                        r.unwrap_confident().clone(),
                        span,
                    )?;
                    return Ok(Value::confident(result, confidence));
                }
                self.plain_binary(op, l, r, span)
            }
        }
    }

    fn plain_binary(&mut self, op: BinaryOp, l: Value, r: Value, span: Span) -> Eval {
        use BinaryOp::*;
        match op {
            Add => match (&l, &r) {
                (Value::Str(_), _) | (_, Value::Str(_)) => {
                    use crate::value::MAX_STRING_BYTES;
                    let known = |v: &Value| match v {
                        Value::Str(t) => t.len(),
                        _ => 0,
                    };
                    let mut len = known(&l) + known(&r);
                    let mut s = String::new();
                    if len <= MAX_STRING_BYTES {
                        s = format::display(&l);
                        format::display_into(&mut s, &r);
                        len = s.len();
                    }
                    if len > MAX_STRING_BYTES {
                        return Err(self.located(
                            format!(
                                "Invalid string length: {len} bytes, more than the {MAX_STRING_BYTES} allowed"
                            ),
                            span,
                        ));
                    }
                    Ok(Value::from(s))
                }
                _ => Err(self.located(
                    format!("Cannot apply + to {} and {}", l.type_name(), r.type_name()),
                    span,
                )),
            },
            Sub | Mul | Div | Rem | Pow => fail(
                format!(
                    "Cannot apply {} to {} and {}",
                    op.as_str(),
                    l.type_name(),
                    r.type_name()
                ),
                span,
            ),
            Lt | LtEq | Gt | GtEq => match (&l, &r) {
                (Value::Str(a), Value::Str(b)) => {
                    let ord = a.as_str().cmp(b.as_str());
                    Ok(Value::Bool(match op {
                        Lt => ord.is_lt(),
                        LtEq => ord.is_le(),
                        Gt => ord.is_gt(),
                        _ => ord.is_ge(),
                    }))
                }
                _ => fail(
                    format!("Cannot compare {} and {}", l.type_name(), r.type_name()),
                    span,
                ),
            },
            Eq => Ok(Value::Bool(l.loose_equals(&r))),
            NotEq => Ok(Value::Bool(!l.loose_equals(&r))),
            StrictEq => Ok(Value::Bool(l.strict_equals(&r))),
            StrictNotEq => Ok(Value::Bool(!l.strict_equals(&r))),
            In => Ok(Value::Bool(has_key(&r, &l))),
            _ => fail(format!("Unknown binary operator: {}", op.as_str()), span),
        }
    }

    fn confidence_binary(&mut self, op: BinaryOp, l: Value, r: Value, span: Span) -> Eval {
        use BinaryOp::*;
        let lc = l.confidence_or_one();
        let rc = r.confidence_or_one();
        match op {
            ConfChain => Ok(Value::confident(r.unwrap_confident().clone(), lc.min(rc))),
            ConfCoalesce => Ok(if lc >= MEDIUM { l } else { r }),
            ConfAnd => Ok(Value::confident(
                Value::Bool(l.is_truthy() && r.is_truthy()),
                lc.min(rc),
            )),
            ConfOr => Ok(Value::confident(
                Value::Bool(l.is_truthy() || r.is_truthy()),
                lc.max(rc),
            )),
            ConfAdd | ConfSub | ConfMul | ConfDiv => {
                let (Some(a), Some(b)) = (number_of(&l), number_of(&r)) else {
                    return fail("Confident arithmetic requires numeric values", span);
                };
                let n = match op {
                    ConfAdd => a + b,
                    ConfSub => a - b,
                    ConfMul => a * b,
                    _ => {
                        if b == 0.0 {
                            return fail("Division by zero in confident arithmetic", span);
                        }
                        a / b
                    }
                };
                Ok(Value::confident(Value::Number(n), lc.min(rc)))
            }
            ConfEq | ConfNotEq => {
                let eq = l.unwrap_confident().strict_equals(r.unwrap_confident());
                Ok(Value::confident(
                    Value::Bool(eq == (op == ConfEq)),
                    lc.min(rc),
                ))
            }
            ConfLt | ConfLtEq | ConfGtEq => {
                let (Some(a), Some(b)) = (number_of(&l), number_of(&r)) else {
                    let what = match op {
                        ConfLt => "less than",
                        ConfLtEq => "less equal",
                        _ => "greater equal",
                    };
                    return fail(format!("Confident {what} requires numeric values"), span);
                };
                let result = match op {
                    ConfLt => a < b,
                    ConfLtEq => a <= b,
                    _ => a >= b,
                };
                Ok(Value::confident(Value::Bool(result), lc.min(rc)))
            }
            ConfParallel => Ok(if lc >= rc { l } else { r }),
            ConfGate => Ok(if lc >= HIGH {
                r
            } else {
                Value::confident(l.unwrap_confident().clone(), lc * 0.5)
            }),
            ConfThreshold => threshold_filter(l, r, span),
            ConfPipe => {
                if r.unwrap_confident().is_callable() {
                    let result = self.call(&r, vec![l.unwrap_confident().clone()], span)?;
                    return Ok(match result {
                        Value::Confident(_) => result,
                        plain => Value::confident(plain, lc),
                    });
                }
                Ok(match r {
                    Value::Confident(_) => r,
                    plain => Value::confident(plain, lc),
                })
            }
            _ => fail(
                format!("Unknown confidence operator: {}", op.as_str()),
                span,
            ),
        }
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v.unwrap_confident() {
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

fn number_binary(op: BinaryOp, a: f64, b: f64, span: Span) -> Eval {
    use BinaryOp::*;
    Ok(match op {
        Add => Value::Number(a + b),
        Sub => Value::Number(a - b),
        Mul => Value::Number(a * b),
        Div => {
            if b == 0.0 {
                return fail("Division by zero", span);
            }
            Value::Number(a / b)
        }
        Rem => {
            if b == 0.0 {
                return fail("Modulo by zero", span);
            }
            Value::Number(js_rem(a, b))
        }
        Pow => Value::Number(js_pow(a, b)),
        Lt => Value::Bool(a < b),
        LtEq => Value::Bool(a <= b),
        Gt => Value::Bool(a > b),
        GtEq => Value::Bool(a >= b),
        Eq | StrictEq => Value::Bool(a == b),
        NotEq | StrictNotEq => Value::Bool(a != b),
        In => Value::Bool(false),
        _ => return fail(format!("Unknown binary operator: {}", op.as_str()), span),
    })
}

/// JavaScript `%` (the sign follows the dividend), with a fast path for integers.
pub(crate) fn js_rem(a: f64, b: f64) -> f64 {
    const LIMIT: f64 = 9_007_199_254_740_992.0;
    // Below 2^53, a number is an integer exactly when it survives the round trip through
    // i64 (cheaper than `fract`, a libm call).
    let (ia, ib) = (a as i64, b as i64);
    if a.abs() < LIMIT && b.abs() < LIMIT && ia as f64 == a && ib as f64 == b && ib != 0 {
        let r = (ia % ib) as f64;
        if r == 0.0 && a.is_sign_negative() {
            -0.0
        } else {
            r
        }
    } else {
        a % b
    }
}

/// `Math.pow` semantics (`1 ** NaN` is NaN in JavaScript, unlike `powf`).
pub(crate) fn js_pow(a: f64, b: f64) -> f64 {
    if b.is_nan() || (a.abs() == 1.0 && b.is_infinite()) {
        return f64::NAN;
    }
    a.powf(b)
}

/// JavaScript `ToNumber` for unary `+` and conversions.
pub(crate) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => *n,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Null => 0.0,
        Value::Str(s) => string_to_number(s),
        Value::Confident(c) => to_number(&c.value),
        _ => f64::NAN,
    }
}

/// `key in container`.
fn has_key(container: &Value, key: &Value) -> bool {
    match container.unwrap_confident() {
        Value::Object(o) => o.borrow().contains_key(format::display(key).as_str()),
        Value::Array(a) => key
            .as_number()
            .is_some_and(|i| i >= 0.0 && i.fract() == 0.0 && (i as usize) < a.borrow().len()),
        _ => false,
    }
}

/// `value instanceof "typename"`.
fn instance_of(l: &Value, r: &Value, span: Span) -> Eval {
    match r {
        Value::Str(name) => {
            let v = l.unwrap_confident();
            let result = match name.to_lowercase().as_str() {
                "number" => matches!(v, Value::Number(_)),
                "string" => matches!(v, Value::Str(_)),
                "boolean" => matches!(v, Value::Bool(_)),
                "array" => matches!(v, Value::Array(_)),
                "object" => matches!(v, Value::Object(_)),
                "function" => v.is_callable(),
                "null" | "undefined" => v.is_null(),
                other => return fail(format!("Unknown type name: {other}"), span),
            };
            Ok(Value::Bool(result))
        }
        Value::Function(_) | Value::Native(_) => fail(
            "instanceof with constructor functions not yet supported",
            span,
        ),
        _ => fail(
            "Right-hand side of instanceof must be a type name or constructor",
            span,
        ),
    }
}

/// `value ~?> threshold` and `value ~?> [threshold, default]`.
fn threshold_filter(l: Value, r: Value, span: Span) -> Eval {
    let (threshold, default) = match &r {
        Value::Array(a) if a.borrow().len() == 2 => {
            let a = a.borrow();
            match a[0] {
                Value::Number(t) => (t, a[1].clone()),
                _ => return fail("Threshold gate array first element must be a number", span),
            }
        }
        Value::Number(t) => (*t, Value::Null),
        _ => {
            return fail(
                "Threshold gate expects a number or [threshold, default] array",
                span,
            );
        }
    };
    if !(0.0..=1.0).contains(&threshold) {
        return fail("Confidence threshold must be between 0 and 1", span);
    }
    let lc = l.confidence_or_one();
    if lc >= threshold {
        Ok(Value::confident(l.unwrap_confident().clone(), lc))
    } else {
        Ok(default)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn ordinary_operators_take_the_minimum_confidence() {
        assert_eq!(
            run("let a = 10 ~> 0.9\nlet b = 4 ~> 0.6\nprint(a + b, a * 2, a > 5)"),
            "14 ~> 0.60 20 ~> 0.90 true ~> 0.90\n"
        );
        assert_eq!(
            run("print(-(3 ~> 0.5), 7 % -3, -7 % 3)"),
            "-3 ~> 0.50 1 -1\n"
        );
    }

    #[test]
    fn confidence_operators_count_plain_values_as_certain() {
        assert_eq!(
            run("print(1 ~+ 2, true ~&& (false ~> 0.4), 7 ~?? 8, (1 ~> 0.2) ~?? 8)"),
            "3 ~> 1.00 false ~> 0.40 7 8\n"
        );
        assert_eq!(
            run(
                "print((1 ~> 0.9) ~||> (2 ~> 0.95), 1 ~||> (2 ~> 0.5), (5 ~> 0.6) ~@> \"go\", 9 ~@> \"go\")"
            ),
            "2 ~> 0.95 1 5 ~> 0.30 go\n"
        );
        assert_eq!(
            run("print((1 ~> 0.8) ~~ (2 ~> 0.9), 4 ~|> (x => x * 2), (3 ~> 0.5) ~|> (x => x + 1))"),
            "2 ~> 0.80 8 ~> 1.00 4 ~> 0.50\n"
        );
        assert_eq!(
            run("print(true ~> 0.8 ~? \"a\" : \"b\", (false ~> 0.5) ~? \"a\" : (\"b\" ~> 0.5))"),
            "a ~> 0.80 b ~> 0.25\n"
        );
    }

    #[test]
    fn operator_errors() {
        assert!(run("print(1 / 0)").contains("ERROR: Division by zero"));
        assert!(run("print(1 % 0)").contains("ERROR: Modulo by zero"));
        assert!(run("print(\"a\" - 1)").contains("ERROR: Cannot apply - to string and number"));
        assert!(run("print(5 ~> \"x\")").contains("ERROR: Confidence value must be a number"));
        assert_eq!(
            run("print(\"b\" > \"a\", null == 0, null == null, typeof (1 ~> 0.5))"),
            "true false true number\n"
        );
    }
}
