//! Runtime values: the [`Value`] enum and the heap objects it points to.
//!
//! Values are cheap to clone: scalars are inline, everything else is reference counted. A value
//! may carry a confidence ([`Value::Confident`]); most operations look through it with
//! [`Value::unwrap_confident`].

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;
use prism_compiler::ast;
use prism_compiler::span::Span;
use rustc_hash::FxBuildHasher;

use crate::error::RuntimeError;
use crate::interp::Interpreter;
use crate::scope::Env;

/// The property map of an object: insertion ordered.
pub type Map = IndexMap<Rc<str>, Value, FxBuildHasher>;

/// A shared, mutable array.
pub type ArrayRef = Rc<RefCell<Vec<Value>>>;

/// The longest string a program may build with `+` or `repeat` (256 MiB): growing past it is
/// an error, not an allocation that takes the machine down.
pub const MAX_STRING_BYTES: usize = 1 << 28;

/// A shared, mutable object.
pub type ObjectRef = Rc<RefCell<Map>>;

/// The signature of a native (Rust) function callable from Prism.
pub type NativeImpl = dyn Fn(&mut Interpreter, &[Value], Span) -> Result<Value, RuntimeError>;

/// A Prism value.
#[derive(Clone, Default)]
pub enum Value {
    /// `null` (and `undefined`, which is the same value).
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A double-precision number.
    Number(f64),
    /// An immutable-by-sharing string (appends reuse the buffer when it is not shared).
    Str(Rc<String>),
    /// An array.
    Array(ArrayRef),
    /// An object with insertion-ordered properties.
    Object(ObjectRef),
    /// A function written in Prism.
    Function(Rc<Closure>),
    /// A function implemented in Rust.
    Native(Rc<NativeFn>),
    /// A value with a confidence in [0, 1].
    Confident(Rc<Confident>),
    /// The result of an asynchronous operation.
    Promise(Rc<crate::promise::PromiseCell>),
}

/// A value paired with its confidence.
pub struct Confident {
    /// The wrapped value (itself possibly confident, e.g. `(a ~> 0.9) ~> 0.5`).
    pub value: Value,
    /// The confidence.
    pub confidence: f64,
}

/// A Prism function value: its syntax and the scope it closes over.
pub struct Closure {
    /// The function's syntax tree.
    pub func: Arc<ast::Function>,
    /// The scope the function was created in.
    pub env: Env,
    /// Index of the source file the function was written in (for error positions).
    pub file: usize,
    /// The function compiled to slot form, once called (`None` inside: not covered).
    pub(crate) code: std::cell::OnceCell<Option<Rc<crate::interp::FnCode>>>,
}

impl Closure {
    /// The name a function prints with: its declared name, or `lambda`.
    pub fn name(&self) -> &str {
        match &self.func.name {
            Some(id) => &id.name,
            None => "lambda",
        }
    }
}

/// A function implemented in Rust.
pub struct NativeFn {
    /// The name it prints with (`[Function: name]`).
    pub name: Rc<str>,
    /// The implementation.
    pub imp: Box<NativeImpl>,
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Rc::new(s.into()))
    }

    /// A new array value.
    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Rc::new(RefCell::new(items)))
    }

    /// A new object value.
    pub fn object(map: Map) -> Value {
        Value::Object(Rc::new(RefCell::new(map)))
    }

    /// A native function value.
    pub fn native(
        name: &str,
        imp: impl Fn(&mut Interpreter, &[Value], Span) -> Result<Value, RuntimeError> + 'static,
    ) -> Value {
        Value::Native(Rc::new(NativeFn {
            name: name.into(),
            imp: Box::new(imp),
        }))
    }

    /// `value ~> confidence`.
    pub fn confident(value: Value, confidence: f64) -> Value {
        // As in the reference, a confidence outside [0, 1] is clamped into it.
        let confidence = confidence.clamp(0.0, 1.0);
        Value::Confident(Rc::new(Confident { value, confidence }))
    }

    /// The value without its confidence (itself if it has none).
    pub fn unwrap_confident(&self) -> &Value {
        match self {
            Value::Confident(c) => &c.value,
            v => v,
        }
    }

    /// The confidence, if this value carries one.
    pub fn confidence(&self) -> Option<f64> {
        match self {
            Value::Confident(c) => Some(c.confidence),
            _ => None,
        }
    }

    /// The confidence, counting a plain value as 1.0.
    pub fn confidence_or_one(&self) -> f64 {
        self.confidence().unwrap_or(1.0)
    }

    /// The type name used in error messages (`number`, `string`, `confident`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Function(_) | Value::Native(_) => "function",
            Value::Confident(_) => "confident",
            Value::Promise(_) => "promise",
        }
    }

    /// What `typeof` answers: the type of the unwrapped value; `"unknown"` for a promise and
    /// for a confident value inside another (as the reference answers).
    pub fn typeof_name(&self) -> &'static str {
        match self.unwrap_confident() {
            Value::Confident(_) | Value::Promise(_) => "unknown",
            v => v.type_name(),
        }
    }

    /// Prism truthiness: `0`, `""`, `null` and `false` are falsy; a confident value is judged
    /// by its inner value. (`NaN` is truthy, as in the reference.)
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Confident(c) => c.value.is_truthy(),
            _ => true,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True for Prism and native functions.
    pub fn is_callable(&self) -> bool {
        matches!(self, Value::Function(_) | Value::Native(_))
    }

    /// The number inside, if this is a (possibly confident) number.
    pub fn as_number(&self) -> Option<f64> {
        match self.unwrap_confident() {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The string inside, if this is a (possibly confident) string.
    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_confident() {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Strict equality (`===`): structural for arrays and objects, confidence included for
    /// confident values, never equal for promises.
    pub fn strict_equals(&self, other: &Value) -> bool {
        self.equals_depth(other, 0)
    }

    fn equals_depth(&self, other: &Value, depth: usize) -> bool {
        if depth > 256 {
            return false;
        }
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.equals_depth(y, depth + 1))
            }
            (Value::Object(a), Value::Object(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.equals_depth(w, depth + 1)))
            }
            (Value::Function(a), Value::Function(b)) => a.name() == b.name(),
            (Value::Native(a), Value::Native(b)) => a.name == b.name,
            (Value::Confident(a), Value::Confident(b)) => {
                a.confidence == b.confidence && a.value.equals_depth(&b.value, depth + 1)
            }
            _ => false,
        }
    }

    /// Loose equality (`==`) on plain values, as the reference defines it, except that `null`
    /// equals only `null`.
    pub fn loose_equals(&self, other: &Value) -> bool {
        use Value::*;
        if std::mem::discriminant(self) == std::mem::discriminant(other) {
            return self.strict_equals(other);
        }
        if self.is_null() || other.is_null() {
            return false;
        }
        if (matches!(self, Number(_)) || matches!(other, Number(_)))
            && let (Some(a), Some(b)) = (loose_number(self), loose_number(other))
        {
            return a == b;
        }
        if let (Str(s), Bool(false)) | (Bool(false), Str(s)) = (self, other)
            && s.is_empty()
        {
            return true;
        }
        if matches!(self, Str(_)) || matches!(other, Str(_)) {
            return crate::format::display(self) == crate::format::display(other);
        }
        if matches!(self, Bool(_)) || matches!(other, Bool(_)) {
            return self.is_truthy() == other.is_truthy();
        }
        false
    }
}

/// The number a value converts to for `==` (JavaScript `parseFloat` for strings).
fn loose_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Str(s) => parse_float_prefix(s).filter(|n| !n.is_nan()),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// JavaScript `parseFloat`: the longest numeric prefix after leading whitespace.
pub fn parse_float_prefix(s: &str) -> Option<f64> {
    let t = s.trim_start();
    for lit in ["Infinity", "+Infinity", "-Infinity"] {
        if t.starts_with(lit) {
            return Some(if lit.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
    }
    let bytes = t.as_bytes();
    let mut end = 0;
    let mut i = 0;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        i += 1;
    }
    let mut digits = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        digits = true;
        end = i;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            digits = true;
            end = i;
        }
    }
    if !digits {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        let start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > start {
            end = j;
        }
    }
    t[..end].parse().ok()
}

/// JavaScript `Number(string)`: whitespace-trimmed, empty is 0, anything else not numeric is NaN.
pub fn string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_or(f64::NAN, |n| n as f64);
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::display(self))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::display(self))
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Rc::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_two_words() {
        // Every clone, move and drop on the evaluator's hot paths copies a `Value`: scalars
        // inline, everything else one pointer. A variant that grows it fails here.
        assert_eq!(std::mem::size_of::<Value>(), 16, "Value grew");
        assert_eq!(
            std::mem::size_of::<Option<Value>>(),
            16,
            "Option<Value> lost its niche"
        );
    }

    #[test]
    fn truthiness_follows_the_reference() {
        assert!(!Value::Number(0.0).is_truthy());
        assert!(Value::Number(f64::NAN).is_truthy());
        assert!(!Value::str("").is_truthy());
        assert!(Value::array(vec![]).is_truthy());
        assert!(Value::object(Map::default()).is_truthy());
        assert!(!Value::confident(Value::Bool(false), 0.99).is_truthy());
        assert!(!Value::Null.is_truthy());
    }

    #[test]
    fn strict_equality_is_structural() {
        let a = Value::array(vec![1.0.into(), "x".into()]);
        let b = Value::array(vec![1.0.into(), "x".into()]);
        assert!(a.strict_equals(&b));
        assert!(!Value::Number(1.0).strict_equals(&"1".into()));
        assert!(!Value::Number(f64::NAN).strict_equals(&Value::Number(f64::NAN)));
        let c1 = Value::confident(1.0.into(), 0.5);
        assert!(c1.strict_equals(&Value::confident(1.0.into(), 0.5)));
        assert!(!c1.strict_equals(&Value::confident(1.0.into(), 0.6)));
    }

    #[test]
    fn loose_equality_coerces_like_the_reference() {
        assert!(Value::Number(1.0).loose_equals(&"1".into()));
        assert!(!Value::Number(0.0).loose_equals(&"".into()));
        assert!(Value::Bool(true).loose_equals(&1.0.into()));
        assert!(Value::Bool(false).loose_equals(&0.0.into()));
        assert!(!Value::Null.loose_equals(&0.0.into()));
        assert!(Value::Null.loose_equals(&Value::Null));
        assert!(Value::str("").loose_equals(&false.into()));
    }

    #[test]
    fn number_parsing_matches_javascript() {
        assert_eq!(parse_float_prefix("12abc"), Some(12.0));
        assert_eq!(parse_float_prefix("  -1.5e3x"), Some(-1500.0));
        assert_eq!(parse_float_prefix("abc"), None);
        assert_eq!(string_to_number(" 12 "), 12.0);
        assert_eq!(string_to_number(""), 0.0);
        assert!(string_to_number("12abc").is_nan());
    }
}
