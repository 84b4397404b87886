//! Conversion between Prism values and JSON (for embedding, agents and `JSON.*`).

use std::rc::Rc;

use serde_json::Value as Json;

use crate::value::{Map, Value};

/// A Prism value as JSON. A confident value becomes its inner value; functions and promises
/// become `null`; integral numbers become JSON integers; `NaN` and infinities become `null`.
/// Cyclic structures are cut with `null` where a container repeats.
/// Containers nested deeper than [`MAX_JSON_DEPTH`] become `null` too.
pub fn to_json(v: &Value) -> Json {
    to_json_inner(v, &mut Vec::new())
}

/// The deepest nesting of arrays and objects converted to JSON (`JSON.stringify` refuses
/// deeper values, so that neither the conversion nor the serializer can exhaust the stack).
pub const MAX_JSON_DEPTH: usize = 512;

/// The depth of the deepest container in `v`, counted up to `MAX_JSON_DEPTH + 1`.
pub fn nesting_depth(v: &Value) -> usize {
    fn walk(v: &Value, depth: usize) -> usize {
        if depth > MAX_JSON_DEPTH {
            return depth;
        }
        match v {
            Value::Array(a) => a
                .borrow()
                .iter()
                .map(|x| walk(x, depth + 1))
                .max()
                .unwrap_or(depth + 1),
            Value::Object(o) => o
                .borrow()
                .values()
                .map(|x| walk(x, depth + 1))
                .max()
                .unwrap_or(depth + 1),
            Value::Confident(c) => walk(&c.value, depth),
            _ => depth,
        }
    }
    walk(v, 0)
}

fn to_json_inner(v: &Value, seen: &mut Vec<usize>) -> Json {
    if seen.len() >= MAX_JSON_DEPTH && matches!(v, Value::Array(_) | Value::Object(_)) {
        return Json::Null;
    }
    match v {
        Value::Null | Value::Function(_) | Value::Native(_) | Value::Promise(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number_to_json(*n),
        Value::Str(s) => Json::String(s.as_str().to_owned()),
        Value::Confident(c) => to_json_inner(&c.value, seen),
        Value::Array(a) => {
            let id = Rc::as_ptr(a) as *const () as usize;
            if seen.contains(&id) {
                return Json::Null;
            }
            seen.push(id);
            let out = a.borrow().iter().map(|x| to_json_inner(x, seen)).collect();
            seen.pop();
            Json::Array(out)
        }
        Value::Object(o) => {
            let id = Rc::as_ptr(o) as *const () as usize;
            if seen.contains(&id) {
                return Json::Null;
            }
            seen.push(id);
            let out = o
                .borrow()
                .iter()
                .map(|(k, x)| (k.to_string(), to_json_inner(x, seen)))
                .collect();
            seen.pop();
            Json::Object(out)
        }
    }
}

fn number_to_json(n: f64) -> Json {
    if !n.is_finite() {
        return Json::Null;
    }
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        return Json::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
}

/// A JSON value as a Prism value.
pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Value::str(s.as_str()),
        Json::Array(items) => Value::array(items.iter().map(from_json).collect()),
        Json::Object(map) => {
            let mut m = Map::default();
            for (k, v) in map {
                m.insert(k.as_str().into(), from_json(v));
            }
            Value::object(m)
        }
    }
}

/// True if the value contains a container inside itself.
pub fn is_cyclic(v: &Value) -> bool {
    fn walk(v: &Value, seen: &mut Vec<usize>) -> bool {
        let (id, children): (usize, Vec<Value>) = match v {
            Value::Array(a) => (Rc::as_ptr(a) as *const () as usize, a.borrow().clone()),
            Value::Object(o) => (
                Rc::as_ptr(o) as *const () as usize,
                o.borrow().values().cloned().collect(),
            ),
            Value::Confident(c) => return walk(&c.value, seen),
            _ => return false,
        };
        if seen.contains(&id) {
            return true;
        }
        if seen.len() > MAX_JSON_DEPTH {
            return false;
        }
        seen.push(id);
        let cyclic = children.iter().any(|c| walk(c, seen));
        seen.pop();
        cyclic
    }
    walk(v, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_plain_data() {
        let j: Json = serde_json::json!({"a": 1, "b": [true, null, "x", 2.5], "c": {}});
        let v = from_json(&j);
        assert_eq!(to_json(&v), j);
        assert_eq!(
            serde_json::to_string(&to_json(&v)).ok().as_deref(),
            Some(r#"{"a":1,"b":[true,null,"x",2.5],"c":{}}"#)
        );
    }

    #[test]
    fn confident_values_export_their_inner_value() {
        let v = Value::confident(Value::Number(3.0), 0.5);
        assert_eq!(to_json(&v), serde_json::json!(3));
        assert_eq!(to_json(&Value::Number(f64::NAN)), Json::Null);
    }
}
