//! `Object.keys/values/entries/assign/fromEntries` and object methods.

use crate::error::RuntimeError;
use crate::scope::Env;
use crate::value::{Map, ObjectRef, Value};

use super::{arg, error, namespace, set};

fn object_arg(args: &[Value], name: &str) -> Result<ObjectRef, RuntimeError> {
    match arg(args, 0).unwrap_confident() {
        Value::Object(o) => Ok(o.clone()),
        other => Err(error(format!(
            "Object.{name}() requires an object, got {}",
            other.type_name()
        ))),
    }
}

pub(crate) fn install(g: &Env) {
    let object = namespace(vec![
        (
            "keys",
            Value::native("keys", |_, args, _| {
                if let Value::Array(a) = arg(args, 0).unwrap_confident() {
                    let n = a.borrow().len();
                    return Ok(Value::array(
                        (0..n).map(|i| Value::from(i.to_string())).collect(),
                    ));
                }
                let o = object_arg(args, "keys")?;
                let keys = o.borrow().keys().map(|k| Value::str(&**k)).collect();
                Ok(Value::array(keys))
            }),
        ),
        (
            "values",
            Value::native("values", |_, args, _| {
                if let Value::Array(a) = arg(args, 0).unwrap_confident() {
                    return Ok(Value::array(a.borrow().clone()));
                }
                let o = object_arg(args, "values")?;
                let values = o.borrow().values().cloned().collect();
                Ok(Value::array(values))
            }),
        ),
        (
            "entries",
            Value::native("entries", |_, args, _| {
                let o = object_arg(args, "entries")?;
                let entries = o
                    .borrow()
                    .iter()
                    .map(|(k, v)| Value::array(vec![Value::str(&**k), v.clone()]))
                    .collect();
                Ok(Value::array(entries))
            }),
        ),
        (
            "assign",
            Value::native("assign", |_, args, _| {
                let target = object_arg(args, "assign")?;
                for src in args.iter().skip(1) {
                    if let Value::Object(s) = src.unwrap_confident() {
                        let items: Vec<_> = s
                            .borrow()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        let mut t = target.borrow_mut();
                        for (k, v) in items {
                            t.insert(k, v);
                        }
                    }
                }
                Ok(Value::Object(target))
            }),
        ),
        (
            "fromEntries",
            Value::native("fromEntries", |_, args, _| {
                let mut m = Map::default();
                if let Value::Array(a) = arg(args, 0).unwrap_confident() {
                    for e in a.borrow().iter() {
                        if let Value::Array(pair) = e.unwrap_confident() {
                            let pair = pair.borrow();
                            let k = pair.first().map(crate::format::display).unwrap_or_default();
                            m.insert(k.as_str().into(), pair.get(1).cloned().unwrap_or_default());
                        }
                    }
                }
                Ok(Value::object(m))
            }),
        ),
        (
            "freeze",
            Value::native("freeze", |_, args, _| Ok(arg(args, 0))),
        ),
    ]);
    set(g, "Object", object);
}

/// Builtin methods every object has unless it defines them itself.
pub(crate) fn method(
    o: &ObjectRef,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, RuntimeError>> {
    match name {
        "hasOwnProperty" => {
            let key = crate::format::display(&arg(args, 0));
            Some(Ok(Value::Bool(o.borrow().contains_key(key.as_str()))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn keys_values_entries() {
        assert_eq!(
            run("let o = {a: 1, b: 2}\nprint(Object.keys(o), Object.values(o), Object.entries(o))"),
            "[a, b] [1, 2] [[a, 1], [b, 2]]\n"
        );
    }
}
