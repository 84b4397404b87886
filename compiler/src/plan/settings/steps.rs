//! The settings of `gate` and `assign` steps (§1.5).

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// One test of a gate: an expression, or a literal tested for truthiness.
#[derive(Debug, Clone, PartialEq)]
pub enum GateTest {
    /// An expression (the loader checked its names).
    Expr(String),
    /// Any other value, as written (`true`, a number, …); free-form, it is only tested for
    /// truthiness.
    Literal(Value),
}

impl GateTest {
    /// The test as read from its JSON form.
    pub fn from_json(v: &Value) -> Self {
        match v {
            Value::String(s) => GateTest::Expr(s.clone()),
            other => GateTest::Literal(other.clone()),
        }
    }
}

impl Serialize for GateTest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GateTest::Expr(x) => x.serialize(s),
            GateTest::Literal(v) => v.serialize(s),
        }
    }
}

/// A gate's `condition`: one test, or `$all` / `$any` of a list of them.
#[derive(Debug, Clone, PartialEq)]
pub enum GateCondition {
    /// One test (null when the condition is missing, which is an error).
    Test(GateTest),
    /// `$all`: every test holds.
    All(Vec<GateTest>),
    /// `$any`: some test holds.
    Any(Vec<GateTest>),
}

impl GateCondition {
    /// The condition as read from its checked JSON form: a mapping with `$all` (else `$any`)
    /// is a list of tests (a single value counts as a list of one), anything else one test.
    pub fn from_json(v: &Value) -> Self {
        let list = |x: &Value| match x {
            Value::Array(items) => items.iter().map(GateTest::from_json).collect(),
            other => vec![GateTest::from_json(other)],
        };
        match v {
            Value::Object(m) if m.contains_key("$all") => {
                GateCondition::All(m.get("$all").map(list).unwrap_or_default())
            }
            Value::Object(m) if m.contains_key("$any") => {
                GateCondition::Any(m.get("$any").map(list).unwrap_or_default())
            }
            other => GateCondition::Test(GateTest::from_json(other)),
        }
    }

    /// The condition as JSON, as the plan shows it.
    pub fn to_json(&self) -> Value {
        super::to_json(self)
    }
}

impl Serialize for GateCondition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (key, tests) = match self {
            GateCondition::Test(t) => return t.serialize(s),
            GateCondition::All(t) => ("$all", t),
            GateCondition::Any(t) => ("$any", t),
        };
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(key, tests)?;
        m.end()
    }
}

/// An `assign` step's `values`: each name with its value, in written order, typed and compiled
/// when the plan is built. A value is free-form: a `$…` expression, or any other value.
pub type AssignValues = IndexMap<String, crate::plan::output::OutputValue>;
