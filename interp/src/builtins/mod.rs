//! The builtin globals and the methods of builtin types, one file per family.

pub(crate) mod array;
pub(crate) mod confidence;
pub(crate) mod console;
pub(crate) mod json;
pub(crate) mod llm;
pub(crate) mod math;
pub(crate) mod object;
pub(crate) mod promise;
pub(crate) mod string;
pub(crate) mod time;
pub(crate) mod types;

use prism_compiler::ast::Name;
use prism_compiler::span::Span;

use crate::error::RuntimeError;
use crate::interp::Interpreter;
use crate::scope::Env;
use crate::value::{Map, Value};

/// Installs every builtin into the global scope.
pub(crate) fn install(globals: &Env) {
    console::install(globals);
    array::install(globals);
    confidence::install(globals);
    math::install(globals);
    object::install(globals);
    json::install(globals);
    promise::install(globals);
    types::install(globals);
    time::install(globals);
    llm::install(globals);
}

/// Binds a global.
pub(crate) fn set(globals: &Env, name: &str, value: Value) {
    let name: Name = name.into();
    globals.define(&name, value);
}

/// An object of named values (`Math`, `JSON`, `console`, …).
pub(crate) fn namespace(entries: Vec<(&str, Value)>) -> Value {
    let mut m = Map::default();
    for (k, v) in entries {
        m.insert(k.into(), v);
    }
    Value::object(m)
}

/// The `i`th argument, or `null`.
pub(crate) fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or_default()
}

/// The `i`th argument as a number (confidence ignored), if it is one.
pub(crate) fn num_arg(args: &[Value], i: usize) -> Option<f64> {
    args.get(i).and_then(Value::as_number)
}

/// True if `base` (unwrapped, not an object) has a builtin method `name`.
pub(crate) fn has_method(base: &Value, name: &str) -> bool {
    match base {
        Value::Array(_) => array::METHODS.contains(&name),
        Value::Str(_) => string::METHODS.contains(&name),
        Value::Number(_) => math::NUMBER_METHODS.contains(&name),
        _ => false,
    }
}

/// Calls builtin method `name` of `base` (an unwrapped value); `None` if there is none.
pub(crate) fn call_method(
    interp: &mut Interpreter,
    base: &Value,
    name: &str,
    args: &[Value],
    span: Span,
) -> Option<Result<Value, RuntimeError>> {
    match base {
        Value::Array(a) => array::method(interp, a, name, args, span),
        Value::Str(s) => string::method(interp, s, name, args, span),
        Value::Number(n) => math::number_method(*n, name, args),
        Value::Object(o) => object::method(o, name, args),
        _ => None,
    }
}

/// An error without a position (the call site's span is attached by the caller).
pub(crate) fn error(message: impl Into<String>) -> RuntimeError {
    RuntimeError::msg(message)
}
