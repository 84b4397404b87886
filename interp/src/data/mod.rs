//! [`Data`]: a Prism value as plain, thread-safe data — what crosses between the host and the
//! interpreter's thread — and its conversions to and from the interpreter's values and JSON.

use std::fmt;
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::value::{Map, Value};

mod confident;
mod de;
mod ser;

pub use confident::Confident;
pub use de::from_data;
pub use ser::to_data;

/// A value that has no data form: nested deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

/// Containers nested deeper than this cannot leave the interpreter (and cannot overflow the
/// host's stack when dropped or deserialized).
pub const MAX_DEPTH: usize = 256;

/// A Prism value as plain data that can cross threads: what scripts return, what globals and
/// native functions receive, with confidences at any depth.
///
/// Functions and promises have no data form: they become `Null` on the way out (call script
/// functions with `Session::call` of `prism-lang`). The embedding API converts Rust types with
/// `to_data` and `from_data`, and reads results with `Outcome::get`.
///
/// ```
/// use indexmap::IndexMap;
/// use prism_interp::{Data, Value};
///
/// let mut fields = IndexMap::new();
/// fields.insert("label".to_string(), Data::confident(Data::from("spam"), 0.8));
/// fields.insert("score".to_string(), Data::from(3.0));
/// let data = Data::Object(fields);
/// let label = data.get("label").expect("a label");
/// assert_eq!(label.confidence(), Some(0.8));
/// assert_eq!(label.as_str(), Some("spam"));
/// assert_eq!(data.get("score").and_then(Data::as_f64), Some(3.0));
/// assert_eq!(data.to_string(), "{ label: spam (~80.0%), score: 3 }");
/// // Round trip through an interpreter value.
/// let value: Value = data.to_value();
/// assert_eq!(Data::from_value(&value), Ok(data));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Data {
    /// `null` (and `undefined`).
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number (Prism numbers are doubles).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Data>),
    /// An object, in insertion order.
    Object(IndexMap<String, Data>),
    /// A value with a confidence (`value ~> confidence`).
    Confident(Box<Data>, f64),
}

impl Data {
    /// `value ~> confidence`.
    ///
    /// ```
    /// use prism_interp::Data;
    /// let d = Data::confident("yes", 0.9);
    /// assert_eq!(d, Data::Confident(Box::new(Data::from("yes")), 0.9));
    /// ```
    pub fn confident(value: impl Into<Data>, confidence: f64) -> Data {
        Data::Confident(Box::new(value.into()), confidence)
    }

    /// The confidence of a confident value (the outer one if nested).
    ///
    /// ```
    /// use prism_interp::Data;
    /// assert_eq!(Data::confident(1.0, 0.4).confidence(), Some(0.4));
    /// assert_eq!(Data::from(1.0).confidence(), None);
    /// ```
    pub fn confidence(&self) -> Option<f64> {
        match self {
            Data::Confident(_, c) => Some(*c),
            _ => None,
        }
    }

    /// The value inside any confidences.
    ///
    /// ```
    /// use prism_interp::Data;
    /// let d = Data::confident(Data::confident(2.0, 0.5), 0.9);
    /// assert_eq!(d.inner(), &Data::Number(2.0));
    /// ```
    pub fn inner(&self) -> &Data {
        let mut d = self;
        while let Data::Confident(v, _) = d {
            d = v;
        }
        d
    }

    /// True for `null` (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// assert!(Data::confident(Data::Null, 0.3).is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        matches!(self.inner(), Data::Null)
    }

    /// The boolean, if this is one (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// assert_eq!(Data::from(true).as_bool(), Some(true));
    /// ```
    pub fn as_bool(&self) -> Option<bool> {
        match self.inner() {
            Data::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// assert_eq!(Data::confident(4.5, 0.9).as_f64(), Some(4.5));
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match self.inner() {
            Data::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, if this is one (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// assert_eq!(Data::from("hi").as_str(), Some("hi"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self.inner() {
            Data::String(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is an array (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// let d = Data::Array(vec![1.0.into(), 2.0.into()]);
    /// assert_eq!(d.as_array().map(|a| a.len()), Some(2));
    /// ```
    pub fn as_array(&self) -> Option<&[Data]> {
        match self.inner() {
            Data::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The properties, if this is an object (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// let d = Data::from(serde_json::json!({"a": 1, "b": 2}));
    /// let keys: Vec<&String> = d.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    /// assert_eq!(keys, ["a", "b"]);
    /// ```
    pub fn as_object(&self) -> Option<&IndexMap<String, Data>> {
        match self.inner() {
            Data::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A property of an object (confidences looked through).
    ///
    /// ```
    /// use prism_interp::Data;
    /// let d = Data::from(serde_json::json!({"name": "Ada"}));
    /// assert_eq!(d.get("name").and_then(Data::as_str), Some("Ada"));
    /// assert!(d.get("age").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// The data as JSON, without confidences (as `JSON.stringify` would see it; numbers that
    /// are not finite become `null`).
    ///
    /// ```
    /// use prism_interp::Data;
    /// let d = Data::Array(vec![Data::confident(1.0, 0.5), "x".into()]);
    /// assert_eq!(d.to_json(), serde_json::json!([1, "x"]));
    /// ```
    pub fn to_json(&self) -> Json {
        match self {
            Data::Null => Json::Null,
            Data::Bool(b) => Json::Bool(*b),
            Data::Number(n) => number_json(*n),
            Data::String(s) => Json::String(s.clone()),
            Data::Array(a) => Json::Array(a.iter().map(Data::to_json).collect()),
            Data::Object(o) => {
                Json::Object(o.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Data::Confident(v, _) => v.to_json(),
        }
    }

    /// The interpreter value of this data.
    pub fn to_value(&self) -> Value {
        match self {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Number(n) => Value::Number(*n),
            Data::String(s) => Value::str(s.as_str()),
            Data::Array(a) => Value::array(a.iter().map(Data::to_value).collect()),
            Data::Object(o) => {
                let mut m = Map::default();
                for (k, v) in o {
                    m.insert(k.as_str().into(), v.to_value());
                }
                Value::object(m)
            }
            Data::Confident(v, c) => Value::confident(v.to_value(), *c),
        }
    }

    /// The data of an interpreter value: functions and promises become `Null`, a container
    /// met again inside itself becomes `Null`, and nesting deeper than [`MAX_DEPTH`] fails.
    pub fn from_value(v: &Value) -> Result<Data, DataError> {
        from_value_inner(v, &mut Vec::new())
    }
}

fn number_json(n: f64) -> Json {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        return Json::from(n as i64);
    }
    serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
}

fn from_value_inner(v: &Value, seen: &mut Vec<usize>) -> Result<Data, DataError> {
    if seen.len() > MAX_DEPTH {
        return Err(DataError(format!(
            "the value is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match v {
        Value::Null | Value::Function(_) | Value::Native(_) | Value::Promise(_) => Data::Null,
        Value::Bool(b) => Data::Bool(*b),
        Value::Number(n) => Data::Number(*n),
        Value::Str(s) => Data::String(s.as_str().to_owned()),
        Value::Confident(c) => {
            seen.push(0);
            let inner = from_value_inner(&c.value, seen);
            seen.pop();
            Data::Confident(Box::new(inner?), c.confidence)
        }
        Value::Array(a) => {
            let id = Rc::as_ptr(a) as *const () as usize;
            if seen.contains(&id) {
                return Ok(Data::Null);
            }
            seen.push(id);
            let items: Result<Vec<Data>, DataError> = a
                .borrow()
                .iter()
                .map(|x| from_value_inner(x, seen))
                .collect();
            seen.pop();
            Data::Array(items?)
        }
        Value::Object(o) => {
            let id = Rc::as_ptr(o) as *const () as usize;
            if seen.contains(&id) {
                return Ok(Data::Null);
            }
            seen.push(id);
            let props: Result<IndexMap<String, Data>, DataError> = o
                .borrow()
                .iter()
                .map(|(k, x)| Ok((k.to_string(), from_value_inner(x, seen)?)))
                .collect();
            seen.pop();
            Data::Object(props?)
        }
    })
}

impl fmt::Display for Data {
    /// As `print` shows it (`spam ~> 0.80`, `{ label: spam (~80.0%) }`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::print_arg(&self.to_value()))
    }
}

impl From<Json> for Data {
    fn from(j: Json) -> Data {
        match j {
            Json::Null => Data::Null,
            Json::Bool(b) => Data::Bool(b),
            Json::Number(n) => Data::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Data::String(s),
            Json::Array(a) => Data::Array(a.into_iter().map(Data::from).collect()),
            Json::Object(o) => Data::Object(o.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

impl From<bool> for Data {
    fn from(b: bool) -> Data {
        Data::Bool(b)
    }
}

impl From<f64> for Data {
    fn from(n: f64) -> Data {
        Data::Number(n)
    }
}

impl From<i32> for Data {
    fn from(n: i32) -> Data {
        Data::Number(f64::from(n))
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Data {
        Data::String(s.to_owned())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Data {
        Data::String(s)
    }
}

impl From<Vec<Data>> for Data {
    fn from(items: Vec<Data>) -> Data {
        Data::Array(items)
    }
}

impl<T: Into<Data>> From<Option<T>> for Data {
    fn from(v: Option<T>) -> Data {
        v.map_or(Data::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_confidences() {
        let v = Value::array(vec![
            Value::confident(Value::str("a"), 0.25),
            Value::confident(Value::confident(Value::Number(2.0), 0.5), 0.75),
            Value::Null,
        ]);
        let d = Data::from_value(&v).expect("converts");
        assert_eq!(
            d,
            Data::Array(vec![
                Data::confident("a", 0.25),
                Data::confident(Data::confident(2.0, 0.5), 0.75),
                Data::Null,
            ])
        );
        assert!(d.to_value().strict_equals(&v));
    }

    #[test]
    fn cycles_are_cut_and_deep_nesting_fails() {
        let a = Value::array(vec![Value::Number(1.0)]);
        if let Value::Array(inner) = &a {
            inner.borrow_mut().push(a.clone());
        }
        assert_eq!(
            Data::from_value(&a).ok(),
            Some(Data::Array(vec![1.0.into(), Data::Null]))
        );
        let mut deep = Value::Null;
        for _ in 0..(MAX_DEPTH + 5) {
            deep = Value::array(vec![deep]);
        }
        assert!(Data::from_value(&deep).is_err());
        let functions = Value::native("f", |_, _, _| Ok(Value::Null));
        assert_eq!(Data::from_value(&functions).ok(), Some(Data::Null));
    }

    #[test]
    fn json_conversions_drop_confidences() {
        let d = Data::from(serde_json::json!({"a": [1, 2.5, null], "b": "x"}));
        assert_eq!(
            d.get("a").and_then(Data::as_array).map(<[Data]>::len),
            Some(3)
        );
        let c = Data::confident(d.clone(), 0.1);
        assert_eq!(c.to_json(), d.to_json());
        assert_eq!(Data::Number(f64::NAN).to_json(), Json::Null);
    }
}
