//! Member (`a.b`, `a?.b`, `a~.b`) and index (`a[i]`) reads and writes.
//!
//! Reading through a confident container carries its confidence: member access multiplies it
//! with a confident property's own, indexing wraps the element (as the reference does).

use std::rc::Rc;

use prism_compiler::span::Span;

use super::Interpreter;
use crate::builtins;
use crate::error::{Eval, fail};
use crate::format;
use crate::value::Value;

/// `v` carrying `confidence` too: multiplied into a confident value, wrapped around a plain one.
pub(crate) fn with_confidence(v: Value, confidence: f64) -> Value {
    match v {
        Value::Confident(c) => Value::confident(c.value.clone(), c.confidence * confidence),
        plain => Value::confident(plain, confidence),
    }
}

impl Interpreter {
    /// Reads `object.name`.
    pub(crate) fn get_member(
        &mut self,
        object: Value,
        name: &str,
        optional: bool,
        confident: bool,
        span: Span,
    ) -> Eval {
        let (base, confidence) = match &object {
            Value::Confident(c) => (c.value.clone(), Some(c.confidence)),
            _ => (object, confident.then_some(1.0)),
        };
        if base.is_null() {
            if confident {
                return Ok(with_confidence(Value::Null, confidence.unwrap_or(1.0)));
            }
            if optional {
                return Ok(Value::Null);
            }
            return fail(format!("Cannot access property '{name}' on null"), span);
        }
        let v = self.read_property(&base, name);
        Ok(match confidence {
            Some(c) => with_confidence(v, c),
            None => v,
        })
    }

    /// A property of a plain (unwrapped, non-null) value: object fields, `length`, bound
    /// builtin methods; `null` when missing.
    pub(crate) fn read_property(&mut self, base: &Value, name: &str) -> Value {
        match base {
            Value::Object(o) => o.borrow().get(name).cloned().unwrap_or(Value::Null),
            Value::Array(a) if name == "length" => Value::Number(a.borrow().len() as f64),
            Value::Str(s) if name == "length" => {
                Value::Number(builtins::string::utf16_len(s) as f64)
            }
            _ if builtins::has_method(base, name) => bound_method(base.clone(), name),
            _ => Value::Null,
        }
    }

    /// Reads `object[index]`.
    pub(crate) fn get_index(
        &mut self,
        object: Value,
        index: Value,
        optional: bool,
        span: Span,
    ) -> Eval {
        match &object {
            Value::Null if optional => Ok(Value::Null),
            Value::Confident(c) => {
                let inner = self.get_index(c.value.clone(), index, optional, span)?;
                Ok(Value::confident(inner, c.confidence))
            }
            Value::Array(a) => match index.unwrap_confident() {
                Value::Number(n) => {
                    let i = n.floor();
                    let a = a.borrow();
                    Ok(if i >= 0.0 && (i as usize) < a.len() {
                        a[i as usize].clone()
                    } else {
                        Value::Null
                    })
                }
                Value::Str(s) => Ok(self.read_property(&object, s)),
                _ => fail("Array index must be a number", span),
            },
            Value::Object(o) => {
                let key = format::display(index.unwrap_confident());
                Ok(o.borrow().get(key.as_str()).cloned().unwrap_or(Value::Null))
            }
            Value::Str(s) => match index.unwrap_confident() {
                Value::Number(n) => Ok(builtins::string::char_at(s, n.floor())),
                Value::Str(k) => Ok(self.read_property(&object, k)),
                _ => Ok(Value::Null),
            },
            other => fail(format!("Cannot index {}", other.type_name()), span),
        }
    }

    /// Writes `object.name = value`.
    pub(crate) fn set_member(
        &mut self,
        object: &Value,
        name: &str,
        value: Value,
        span: Span,
    ) -> Eval<()> {
        match object.unwrap_confident() {
            Value::Object(o) => {
                let mut o = o.borrow_mut();
                match o.get_mut(name) {
                    Some(slot) => *slot = value,
                    None => {
                        o.insert(name.into(), value);
                    }
                }
                Ok(())
            }
            Value::Null => fail(format!("Cannot set property '{name}' on null"), span),
            other => fail(
                format!("Cannot set property '{name}' on {}", other.type_name()),
                span,
            ),
        }
    }

    /// Writes `object[index] = value`.
    pub(crate) fn set_index(
        &mut self,
        object: &Value,
        index: &Value,
        value: Value,
        span: Span,
    ) -> Eval<()> {
        match object.unwrap_confident() {
            Value::Array(a) => {
                let Some(n) = index.as_number() else {
                    return fail("Array index must be a number", span);
                };
                let i = n.floor();
                if !(0.0..=4_294_967_294.0).contains(&i) {
                    return fail(format!("Invalid array index {}", format::number(i)), span);
                }
                let i = i as usize;
                let mut a = a.borrow_mut();
                if i >= a.len() {
                    if i > a.len() + 10_000_000 {
                        return fail(format!("Array index {i} is too large"), span);
                    }
                    a.resize(i + 1, Value::Null);
                }
                a[i] = value;
                Ok(())
            }
            Value::Object(_) => {
                let key = format::display(index.unwrap_confident());
                self.set_member(object, &key, value, span)
            }
            other => fail(format!("Cannot index {}", other.type_name()), span),
        }
    }
}

/// A builtin method taken as a value (`let f = xs.map`): a native closure over its receiver.
fn bound_method(receiver: Value, name: &str) -> Value {
    let method: Rc<str> = name.into();
    let m = method.clone();
    Value::native(
        &method,
        move |interp, args, span| match builtins::call_method(interp, &receiver, &m, args, span) {
            Some(result) => result,
            None => Err(crate::error::RuntimeError::new(
                format!("Unknown method '{m}'"),
                span,
            )),
        },
    )
}
