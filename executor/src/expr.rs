//! YAML expressions at run time (§1.9): `$reference.path` chains are resolved here against
//! the run's scope (a reference is a confident value: alone its value, `.confidence` its
//! confidence, `.result` the value, record fields reserved, other paths read into the value),
//! replaced by plain identifiers, and the expression is evaluated by the Prism interpreter
//! with the bare names of its context bound as globals.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use serde_json::{Map, Value as Json};

use prism_compiler::plan::compiled::CompiledExpr;

use prism_interp::{Interpreter, Options, Value, from_json, to_json};

/// A named value of the run: a record (confident value with fields) or plain data.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A confident value with record fields (`winner`, `agreement`, `success`, …).
    Rec(Rec),
    /// Plain data (`$input`, `$execution`, `$totalCount`, `$item`, …).
    Plain(Json),
}

/// A confident value with its record fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rec {
    /// The value.
    pub value: Json,
    /// Its confidence.
    pub confidence: f64,
    /// Record fields, readable as `$name.field`.
    pub fields: Map<String, Json>,
}

impl Rec {
    /// A record of a value and confidence without fields.
    pub fn new(value: Json, confidence: f64) -> Self {
        Rec {
            value,
            confidence,
            fields: Map::new(),
        }
    }

    /// The record as one JSON object (`value`, `confidence` and the fields).
    pub fn to_json(&self) -> Json {
        let mut m = self.fields.clone();
        m.insert("value".into(), self.value.clone());
        m.insert("confidence".into(), json_num(self.confidence));
        Json::Object(m)
    }
}

/// Names bound to shared values.
pub type Names = HashMap<String, Arc<Bound>>;

/// The names visible to references. Values are shared, and so are whole frames: a scope is
/// the frames' name maps as layers (outermost first, each an `Arc`, not copied) plus the names
/// bound in this view. Building the scope of a node (done for every expression it evaluates)
/// costs one pointer per frame, not one entry per name, so a pattern of 20,000 steps does not
/// copy its 20,000 step records for each step.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    layers: Vec<Arc<Names>>,
    own: Names,
}

impl Scope {
    /// An empty scope.
    pub fn new() -> Self {
        Scope::default()
    }

    /// A view of one frame's names, shared.
    pub fn shared(names: Arc<Names>) -> Self {
        Scope {
            layers: vec![names],
            own: Names::new(),
        }
    }

    /// The value bound to `name` (inner names win).
    pub fn get(&self, name: &str) -> Option<&Bound> {
        self.own
            .get(name)
            .or_else(|| self.layers.iter().rev().find_map(|l| l.get(name)))
            .map(|b| &**b)
    }

    /// Binds `name` (replacing an earlier binding).
    pub fn insert(&mut self, name: String, value: Bound) {
        self.own.insert(name, Arc::new(value));
    }

    /// Every visible binding (a shadowed one is left out), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Bound)> {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut out = Vec::new();
        for names in std::iter::once(&self.own).chain(self.layers.iter().rev().map(|l| &**l)) {
            for (k, v) in names {
                if seen.insert(k.as_str()) {
                    out.push((k, &**v));
                }
            }
        }
        out.into_iter()
    }

    /// Puts every binding of `other` over this scope's (shared, not copied).
    pub fn extend_from(&mut self, other: &Scope) {
        if !self.own.is_empty() {
            self.layers.push(Arc::new(std::mem::take(&mut self.own)));
        }
        self.layers.extend(other.layers.iter().cloned());
        if !other.own.is_empty() {
            self.layers.push(Arc::new(other.own.clone()));
        }
    }

    /// Puts one frame's names over this scope's (shared, not copied).
    pub fn push_layer(&mut self, names: Arc<Names>) {
        if names.is_empty() {
            return;
        }
        if !self.own.is_empty() {
            self.layers.push(Arc::new(std::mem::take(&mut self.own)));
        }
        self.layers.push(names);
    }

    /// The visible bindings as one map.
    pub fn flatten(self) -> Names {
        let mut out = Names::new();
        for l in self.layers {
            match Arc::try_unwrap(l) {
                Ok(names) => out.extend(names),
                Err(shared) => out.extend(shared.iter().map(|(k, v)| (k.clone(), v.clone()))),
            }
        }
        out.extend(self.own);
        out
    }
}

impl IntoIterator for Scope {
    type Item = (String, Bound);
    type IntoIter = std::iter::Map<
        std::collections::hash_map::IntoIter<String, Arc<Bound>>,
        fn((String, Arc<Bound>)) -> (String, Bound),
    >;

    /// Owned bindings (a value still shared elsewhere is cloned).
    fn into_iter(self) -> Self::IntoIter {
        self.flatten()
            .into_iter()
            .map(|(k, v)| (k, Arc::unwrap_or_clone(v)))
    }
}

/// A number as JSON: integral values as integers, NaN and infinities as 0.
pub fn json_num(x: f64) -> Json {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 {
        return Json::from(x as i64);
    }
    serde_json::Number::from_f64(x).map_or(Json::from(0), Json::Number)
}

/// Resolves `$name` followed by `path` segments against the scope (`None` when unbound).
pub fn resolve(scope: &Scope, name: &str, path: &[&str]) -> Option<Json> {
    let bound = scope.get(name)?;
    Some(match bound {
        Bound::Plain(j) => read_path(j, path),
        Bound::Rec(r) => match path.split_first() {
            None => r.value.clone(),
            Some((&"confidence", rest)) => read_path(&json_num(r.confidence), rest),
            Some((&"result", rest)) | Some((&"value", rest)) => read_path(&r.value, rest),
            Some((first, rest)) => match r.fields.get(*first) {
                Some(f) => read_path(f, rest),
                None => read_path(&r.value, path),
            },
        },
    })
}

/// Reads a path into JSON; `*` maps the rest of the path over a list; missing → null.
pub fn read_path(j: &Json, path: &[&str]) -> Json {
    let Some((first, rest)) = path.split_first() else {
        return j.clone();
    };
    match (j, *first) {
        (Json::Array(items), "*") => {
            Json::Array(items.iter().map(|i| read_path(i, rest)).collect())
        }
        (Json::Array(items), "length") => Json::from(items.len()),
        (Json::String(s), "length") => Json::from(s.chars().count()),
        (Json::Array(items), idx) => match idx.parse::<usize>() {
            Ok(i) => items.get(i).map_or(Json::Null, |x| read_path(x, rest)),
            Err(_) => Json::Null,
        },
        (Json::Object(m), key) => m.get(key).map_or(Json::Null, |x| read_path(x, rest)),
        _ => Json::Null,
    }
}

/// Why an expression failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (in `{expr}`)")]
pub struct ExprError {
    /// What went wrong.
    pub message: String,
    /// The expression.
    pub expr: String,
}

/// The result of an expression: its value and, if it has one, its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The value.
    pub value: Json,
    /// The confidence of a confident result.
    pub confidence: Option<f64>,
}

/// At most this many compiled expressions are kept (a run has a few dozen; the bound keeps a
/// long-lived server from growing without end).
const MAX_COMPILED: usize = 4096;

thread_local! {
    static INTERP: RefCell<Option<(Interpreter, usize)>> = const { RefCell::new(None) };
}

/// The expressions met as text at run time (conditions, step inputs, …), compiled once per
/// process. The plan's free-form values carry their expressions compiled and never come here.
static COMPILED: LazyLock<Mutex<HashMap<String, CompiledExpr>>> = LazyLock::new(Mutex::default);

/// The compiled form of `text`, from the cache or compiled now (a text that does not parse
/// is kept with its error).
pub fn compiled(text: &str) -> CompiledExpr {
    let cache = || COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = cache().get(text).cloned() {
        return c;
    }
    let c = CompiledExpr::with_parser(text, prism_compiler::parse);
    let mut m = cache();
    if m.len() >= MAX_COMPILED {
        m.clear();
    }
    m.insert(text.to_string(), c.clone());
    c
}

/// Evaluates a YAML expression: references from `scope`, bare names from `names`.
pub fn eval(text: &str, scope: &Scope, names: &[(&str, Json)]) -> Result<Evaluated, ExprError> {
    eval_compiled(&compiled(text), scope, names)
}

/// Evaluates a compiled expression: each reference chain's value from `scope` bound to its
/// `__refN`, bare names from `names`.
pub fn eval_compiled(
    expr: &CompiledExpr,
    scope: &Scope,
    names: &[(&str, Json)],
) -> Result<Evaluated, ExprError> {
    let err = |message: String| ExprError {
        message,
        expr: expr.text().to_string(),
    };
    let compiled = expr.program().map_err(|e| err(e.message.clone()))?;
    INTERP.with(|cell| {
        let mut slot = cell.borrow_mut();
        let fresh = slot.as_ref().is_none_or(|(_, uses)| *uses > 256);
        if fresh {
            *slot = Some((
                Interpreter::new(Options {
                    output: Box::new(prism_interp::output::CaptureOutput::default()),
                    ..Options::default()
                }),
                0,
            ));
        }
        let Some((interp, uses)) = slot.as_mut() else {
            return Err(err("no interpreter".into()));
        };
        *uses += 1;
        for (k, v) in names {
            interp.define_global(k, from_json(v));
        }
        for (n, (name, path)) in compiled.refs.iter().enumerate() {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let v = resolve(scope, name, &path).unwrap_or(Json::Null);
            interp.define_global(&format!("__ref{n}"), from_json(&v));
        }
        let v: Value = interp
            .run_program(&compiled.program, &compiled.file)
            .map_err(|e| err(e.to_string()))?;
        Ok(Evaluated {
            value: to_json(&v),
            confidence: v.confidence(),
        })
    })
}

/// Evaluates a condition: its truthiness (Prism rules).
pub fn eval_bool(text: &str, scope: &Scope, names: &[(&str, Json)]) -> Result<bool, ExprError> {
    eval(text, scope, names).map(|e| truthy(&e.value))
}

/// Prism truthiness of JSON.
pub fn truthy(j: &Json) -> bool {
    match j {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Json::String(s) => !s.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut s = Scope::new();
        s.insert(
            "input".into(),
            Bound::Plain(json!({"x": 2, "list": [1, 2, 3]})),
        );
        let mut fields = Map::new();
        fields.insert("winner".into(), json!("yes"));
        s.insert(
            "vote".into(),
            Bound::Rec(Rec {
                value: json!({"title": "T"}),
                confidence: 0.75,
                fields,
            }),
        );
        s.insert("step-one".into(), Bound::Rec(Rec::new(json!(5), 0.5)));
        s
    }

    #[test]
    fn references_follow_the_confident_value_rules() {
        let s = scope();
        let v = |t: &str| eval(t, &s, &[]).map(|e| e.value).unwrap_or(json!("ERR"));
        assert_eq!(v("$input.x + 1"), json!(3));
        assert_eq!(v("$vote.confidence"), json!(0.75));
        assert_eq!(v("$vote.winner"), json!("yes"));
        assert_eq!(v("$vote.title"), json!("T"));
        assert_eq!(v("$vote.result.title"), json!("T"));
        assert_eq!(v("$step-one * 2"), json!(10));
        assert_eq!(v("$input.list.length"), json!(3));
        assert_eq!(v("$input.list.map(x => x * 2)"), json!([2, 4, 6]));
        assert_eq!(v("$missing.deep"), json!(null));
        assert_eq!(
            eval("confidence > 0.5", &s, &[("confidence", json!(0.7))]).map(|e| e.value),
            Ok(json!(true))
        );
        assert!(eval("1 +", &s, &[]).is_err());
    }
}
