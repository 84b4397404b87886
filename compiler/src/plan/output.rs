//! A free-form YAML value (§1.9) as a typed tree: literals, `$` expressions, mappings and
//! lists, and the helper mappings `$template $switch $filter $map $formula $min $max
//! $average $sum $all $any`. The `output`, step input and output shapes, `default` record
//! literals, `assign` values, `escalate` contexts, pipeline entry inputs and the top-level
//! fallback value all take this form. The loader builds it once from the YAML (every
//! expression with its span, compiled: [`CompiledExpr`]); the plan carries it in its nodes,
//! the Prism emitter translates it and the executor evaluates it, so none of them reads such
//! a value as JSON or parses an expression again.
//!
//! The tree keeps what was written: it serializes back to the same JSON (keys in written
//! order), which is what the plan's JSON form shows. Shapes the checker rejects (a helper
//! whose body is not a mapping, unknown keys in it) are not kept; no plan is built from them.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::pattern::yaml::Yaml;
use crate::plan::compiled::CompiledExpr;
use crate::span::Span;

/// An expression of the output with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The compiled expression (its text as written).
    pub compiled: CompiledExpr,
    /// The span of the YAML scalar that holds it.
    pub span: Span,
}

impl Expr {
    /// The expression as written.
    pub fn text(&self) -> &str {
        self.compiled.text()
    }
}

/// An output value.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputValue {
    /// A literal: null, a boolean, a number, or a string that does not start with `$`.
    Literal(Value),
    /// A string written with a leading `$$`: the text without its first `$`.
    Escaped {
        /// The text as written (`$$5` is the value `$5`).
        text: String,
        /// Where it was written.
        span: Span,
    },
    /// A string starting with `$`: a reference (`$vote.result`) or an expression over
    /// references (`$input.x + 1`).
    Ref(Expr),
    /// A list of values.
    Array(Vec<OutputValue>),
    /// A mapping (not a helper); its `$formula` entries see the other keys as bare names.
    Object(Vec<Field>),
    /// `$template`: text with `{{expr}}` holes.
    Template(Box<Operand<Template>>),
    /// `$formula`: an expression (in a mapping, over the sibling keys' values).
    Formula(Operand<Expr>),
    /// `$switch`: the case whose label is the value's text, else the default.
    Switch(Box<Switch>),
    /// `$filter`: the items for which the condition holds.
    Filter(Box<Filter>),
    /// `$map`: each item transformed.
    Map(Box<MapOver>),
    /// `$min $max $average $sum $all $any` over a list.
    Stat {
        /// Which.
        op: Stat,
        /// The list: an expression, or a value.
        items: Operand<Expr>,
    },
}

/// One entry of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key.
    pub key: String,
    /// The span of the key.
    pub span: Span,
    /// The value.
    pub value: OutputValue,
}

/// A helper's operand: what a string is read as (an expression, a template), or any other
/// value as written (rendered or ignored, as the helper says).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand<T> {
    /// A string, read.
    Read(T),
    /// Any other value.
    Value(Box<OutputValue>),
}

/// A `$template` text, split once into its holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The text as written.
    pub text: String,
    /// Its parts.
    pub form: TemplateForm,
}

/// How a template is made.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateForm {
    /// The text is one hole alone (around spaces): the template is the hole's value.
    Whole(Expr),
    /// Text and holes, joined as text (null as nothing, non-strings as JSON).
    Parts(Vec<TemplatePart>),
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Literal text.
    Text(String),
    /// A `{{expr}}` hole.
    Hole(Expr),
}

/// `$switch: {value, cases, default}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Switch {
    /// `value` (null when absent).
    pub value: Option<OutputValue>,
    /// `cases`: label and value, in written order.
    pub cases: Option<Vec<Field>>,
    /// `default` (null when absent).
    pub default: Option<OutputValue>,
    /// The keys as written, in order.
    pub written: Vec<&'static str>,
}

/// `$filter: {items, condition}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// `items`: an expression, or a value (a mapping gives its `{key, value}` entries).
    pub items: Option<Operand<Expr>>,
    /// `condition`, over `item`, `index` and the item's fields; a non-string holds always.
    pub condition: Option<Operand<Expr>>,
    /// The keys as written, in order.
    pub written: Vec<&'static str>,
}

/// `$map: {items, transform}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MapOver {
    /// `items`, as for `$filter`.
    pub items: Option<Operand<Expr>>,
    /// `transform`: a string without a leading `$` is an expression over the item; anything
    /// else is a value rendered with the item's names.
    pub transform: Option<Operand<Expr>>,
    /// The keys as written, in order.
    pub written: Vec<&'static str>,
}

/// The list helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// `$min`.
    Min,
    /// `$max`.
    Max,
    /// `$average`.
    Average,
    /// `$sum`.
    Sum,
    /// `$all`: every item truthy.
    All,
    /// `$any`: some item truthy.
    Any,
}

impl Stat {
    /// The helper's key (`$min`, …).
    pub fn key(self) -> &'static str {
        match self {
            Stat::Min => "$min",
            Stat::Max => "$max",
            Stat::Average => "$average",
            Stat::Sum => "$sum",
            Stat::All => "$all",
            Stat::Any => "$any",
        }
    }

    fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "$min" => Stat::Min,
            "$max" => Stat::Max,
            "$average" => Stat::Average,
            "$sum" => Stat::Sum,
            "$all" => Stat::All,
            "$any" => Stat::Any,
            _ => return None,
        })
    }
}

impl OutputValue {
    /// The value of a YAML node, its expressions compiled.
    pub fn from_yaml(node: &Yaml) -> Self {
        Builder {
            compile: &mut CompiledExpr::compile,
        }
        .value(node)
    }

    /// The value of a JSON value (no spans), its expressions compiled: for values the plan
    /// builder makes itself and settings read from their checked JSON.
    pub fn from_json(v: &Value) -> Self {
        Builder {
            compile: &mut CompiledExpr::compile,
        }
        .value(v)
    }

    /// The value as the JSON it was read from.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The value of `key` when this is a mapping.
    pub fn field(&self, key: &str) -> Option<&OutputValue> {
        match self {
            OutputValue::Object(fields) => fields.iter().find(|f| f.key == key).map(|f| &f.value),
            _ => None,
        }
    }

    /// The string as written, when this is one (a literal, `$$` text or `$` expression).
    pub fn written_str(&self) -> Option<&str> {
        match self {
            OutputValue::Literal(Value::String(s)) => Some(s),
            OutputValue::Escaped { text, .. } => Some(text),
            OutputValue::Ref(e) => Some(e.text()),
            _ => None,
        }
    }

    /// Every expression of the value (a template's holes included).
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.visit_exprs(&mut |e| out.push(e));
        out
    }

    fn visit_exprs<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        let operand = |o: &'a Operand<Expr>, f: &mut dyn FnMut(&'a Expr)| match o {
            Operand::Read(e) => f(e),
            Operand::Value(v) => v.visit_exprs(f),
        };
        match self {
            OutputValue::Literal(_) | OutputValue::Escaped { .. } => {}
            OutputValue::Ref(e) => f(e),
            OutputValue::Array(items) => items.iter().for_each(|i| i.visit_exprs(f)),
            OutputValue::Object(fields) => fields.iter().for_each(|x| x.value.visit_exprs(f)),
            OutputValue::Template(t) => match &**t {
                Operand::Read(t) => match &t.form {
                    TemplateForm::Whole(e) => f(e),
                    TemplateForm::Parts(parts) => {
                        for p in parts {
                            if let TemplatePart::Hole(e) = p {
                                f(e);
                            }
                        }
                    }
                },
                Operand::Value(v) => v.visit_exprs(f),
            },
            OutputValue::Formula(o) | OutputValue::Stat { items: o, .. } => operand(o, f),
            OutputValue::Switch(s) => {
                s.value.iter().for_each(|v| v.visit_exprs(f));
                s.cases
                    .iter()
                    .flatten()
                    .for_each(|c| c.value.visit_exprs(f));
                s.default.iter().for_each(|v| v.visit_exprs(f));
            }
            OutputValue::Filter(x) => {
                x.items.iter().for_each(|o| operand(o, f));
                x.condition.iter().for_each(|o| operand(o, f));
            }
            OutputValue::Map(x) => {
                x.items.iter().for_each(|o| operand(o, f));
                x.transform.iter().for_each(|o| operand(o, f));
            }
        }
    }
}

impl Template {
    /// Splits `text` into its holes, each compiled with `compile`: a text that is one hole
    /// alone (no other `{{`) is that hole's value; an unclosed `{{` and what follows it stay
    /// text (a piece of its own, as the Prism emitter escapes it).
    pub fn new(text: &str, span: Span, compile: &mut dyn FnMut(&str) -> CompiledExpr) -> Self {
        let mut hole = |t: &str| Expr {
            compiled: compile(t.trim()),
            span,
        };
        let trimmed = text.trim();
        if let Some(inner) = trimmed
            .strip_prefix("{{")
            .and_then(|r| r.strip_suffix("}}"))
            && !inner.contains("{{")
        {
            return Template {
                text: text.to_string(),
                form: TemplateForm::Whole(hole(inner)),
            };
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let after = &rest[open + 2..];
            if open > 0 {
                parts.push(TemplatePart::Text(rest[..open].to_string()));
            }
            let Some(close) = after.find("}}") else {
                parts.push(TemplatePart::Text(rest[open..].to_string()));
                rest = "";
                break;
            };
            parts.push(TemplatePart::Hole(hole(&after[..close])));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Text(rest.to_string()));
        }
        Template {
            text: text.to_string(),
            form: TemplateForm::Parts(parts),
        }
    }
}

/// What the builder reads: a YAML node or a JSON value.
trait Node: Sized {
    fn span(&self) -> Span;
    /// The node as a JSON scalar, when it is not a list or mapping.
    fn scalar(&self) -> Option<Value>;
    fn items(&self) -> Option<Vec<&Self>>;
    fn entries(&self) -> Option<Vec<(&str, Span, &Self)>>;
}

impl Node for Yaml {
    fn span(&self) -> Span {
        self.span
    }
    fn scalar(&self) -> Option<Value> {
        self.as_scalar().map(|_| self.to_json())
    }
    fn items(&self) -> Option<Vec<&Self>> {
        self.as_seq().map(|s| s.iter().collect())
    }
    fn entries(&self) -> Option<Vec<(&str, Span, &Self)>> {
        self.as_map().map(|m| {
            m.iter()
                .map(|(k, v)| (k.key_text().unwrap_or_default(), k.span, v))
                .collect()
        })
    }
}

impl Node for Value {
    fn span(&self) -> Span {
        Span::default()
    }
    fn scalar(&self) -> Option<Value> {
        (!self.is_array() && !self.is_object()).then(|| self.clone())
    }
    fn items(&self) -> Option<Vec<&Self>> {
        self.as_array().map(|a| a.iter().collect())
    }
    fn entries(&self) -> Option<Vec<(&str, Span, &Self)>> {
        self.as_object().map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), Span::default(), v))
                .collect()
        })
    }
}

struct Builder<'c> {
    compile: &'c mut dyn FnMut(&str) -> CompiledExpr,
}

impl Builder<'_> {
    fn expr(&mut self, text: &str, span: Span) -> Expr {
        Expr {
            compiled: (self.compile)(text),
            span,
        }
    }

    fn value<N: Node>(&mut self, n: &N) -> OutputValue {
        if let Some(entries) = n.entries() {
            if let [(key, _, body)] = entries.as_slice()
                && let Some(helper) = self.helper(key, *body)
            {
                return helper;
            }
            return OutputValue::Object(
                entries
                    .into_iter()
                    .map(|(key, span, v)| Field {
                        key: key.to_string(),
                        span,
                        value: self.value(v),
                    })
                    .collect(),
            );
        }
        if let Some(items) = n.items() {
            return OutputValue::Array(items.into_iter().map(|i| self.value(i)).collect());
        }
        match n.scalar().unwrap_or(Value::Null) {
            Value::String(s) if s.starts_with("$$") => OutputValue::Escaped {
                text: s,
                span: n.span(),
            },
            Value::String(s) if s.starts_with('$') => OutputValue::Ref(self.expr(&s, n.span())),
            other => OutputValue::Literal(other),
        }
    }

    /// A string as an expression when `read` says so, else the node as a value.
    fn operand<N: Node>(&mut self, n: &N, read: fn(&str) -> bool) -> Operand<Expr> {
        match n.scalar() {
            Some(Value::String(s)) if read(&s) => Operand::Read(self.expr(&s, n.span())),
            _ => Operand::Value(Box::new(self.value(n))),
        }
    }

    fn helper<N: Node>(&mut self, key: &str, body: &N) -> Option<OutputValue> {
        let any = |_: &str| true;
        Some(match key {
            "$template" => OutputValue::Template(Box::new(match body.scalar() {
                Some(Value::String(s)) => {
                    Operand::Read(Template::new(&s, body.span(), &mut *self.compile))
                }
                _ => Operand::Value(Box::new(self.value(body))),
            })),
            "$formula" => OutputValue::Formula(self.operand(body, any)),
            "$switch" => {
                let mut s = Switch::default();
                for (k, _, v) in body.entries().unwrap_or_default() {
                    let key = match k {
                        "value" => {
                            s.value = Some(self.value(v));
                            "value"
                        }
                        "cases" => {
                            let Some(cases) = v.entries() else { continue };
                            s.cases = Some(
                                cases
                                    .into_iter()
                                    .map(|(label, span, c)| Field {
                                        key: label.to_string(),
                                        span,
                                        value: self.value(c),
                                    })
                                    .collect(),
                            );
                            "cases"
                        }
                        "default" => {
                            s.default = Some(self.value(v));
                            "default"
                        }
                        _ => continue,
                    };
                    s.written.push(key);
                }
                OutputValue::Switch(Box::new(s))
            }
            "$filter" => {
                let mut f = Filter::default();
                for (k, _, v) in body.entries().unwrap_or_default() {
                    let key = match k {
                        "items" => {
                            f.items = Some(self.operand(v, any));
                            "items"
                        }
                        "condition" => {
                            f.condition = Some(self.operand(v, any));
                            "condition"
                        }
                        _ => continue,
                    };
                    f.written.push(key);
                }
                OutputValue::Filter(Box::new(f))
            }
            "$map" => {
                let mut m = MapOver::default();
                for (k, _, v) in body.entries().unwrap_or_default() {
                    let key = match k {
                        "items" => {
                            m.items = Some(self.operand(v, any));
                            "items"
                        }
                        "transform" => {
                            m.transform = Some(self.operand(v, |s| !s.starts_with('$')));
                            "transform"
                        }
                        _ => continue,
                    };
                    m.written.push(key);
                }
                OutputValue::Map(Box::new(m))
            }
            other => OutputValue::Stat {
                op: Stat::parse(other)?,
                items: self.operand(body, any),
            },
        })
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<T: Serialize> Serialize for Operand<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Operand::Read(t) => t.serialize(s),
            Operand::Value(v) => v.serialize(s),
        }
    }
}

/// A one-key mapping `{key: body}`.
fn helper<S: Serializer, B: Serialize + ?Sized>(
    s: S,
    key: &str,
    body: &B,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry(key, body)?;
    m.end()
}

/// A helper's body: its keys in written order.
struct Body<'a>(Vec<(&'static str, BodyValue<'a>)>);

enum BodyValue<'a> {
    Value(&'a OutputValue),
    Cases(&'a [Field]),
    Operand(&'a Operand<Expr>),
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            match v {
                BodyValue::Value(v) => m.serialize_entry(k, v)?,
                BodyValue::Cases(c) => m.serialize_entry(k, &Fields(c))?,
                BodyValue::Operand(o) => m.serialize_entry(k, o)?,
            }
        }
        m.end()
    }
}

struct Fields<'a>(&'a [Field]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for f in self.0 {
            m.serialize_entry(&f.key, &f.value)?;
        }
        m.end()
    }
}

impl Serialize for OutputValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OutputValue::Literal(v) => v.serialize(s),
            OutputValue::Escaped { text, .. } => s.serialize_str(text),
            OutputValue::Ref(e) => e.serialize(s),
            OutputValue::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            OutputValue::Object(fields) => Fields(fields).serialize(s),
            OutputValue::Template(t) => helper(s, "$template", &**t),
            OutputValue::Formula(o) => helper(s, "$formula", o),
            OutputValue::Stat { op, items } => helper(s, op.key(), items),
            OutputValue::Switch(sw) => {
                let body = sw.written.iter().filter_map(|k| {
                    let v = match *k {
                        "value" => BodyValue::Value(sw.value.as_ref()?),
                        "cases" => BodyValue::Cases(sw.cases.as_deref()?),
                        _ => BodyValue::Value(sw.default.as_ref()?),
                    };
                    Some((*k, v))
                });
                helper(s, "$switch", &Body(body.collect()))
            }
            OutputValue::Filter(f) => {
                let body = f.written.iter().filter_map(|k| {
                    let o = match *k {
                        "items" => f.items.as_ref()?,
                        _ => f.condition.as_ref()?,
                    };
                    Some((*k, BodyValue::Operand(o)))
                });
                helper(s, "$filter", &Body(body.collect()))
            }
            OutputValue::Map(m) => {
                let body = m.written.iter().filter_map(|k| {
                    let o = match *k {
                        "items" => m.items.as_ref()?,
                        _ => m.transform.as_ref()?,
                    };
                    Some((*k, BodyValue::Operand(o)))
                });
                helper(s, "$map", &Body(body.collect()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn every_form() -> Value {
        json!({
            "greeting": {"$template": "Hi {{$input.name}}!"},
            "raw": {"$template": " {{ $input.xs }} "},
            "open": {"$template": "a {{b"},
            "odd": {"$template": 5},
            "big": {"$filter": {"condition": "n > 2", "items": "$input.xs"}},
            "ns": {"$map": {"items": [1, 2], "transform": "n * 10"}},
            "refs": {"$map": {"items": "$input.xs", "transform": "$item"}},
            "total": {"$sum": ["$input.xs[0].n", 2]},
            "any": {"$any": "$input.flags"},
            "a": 2,
            "double": {"$formula": "a * 2"},
            "kind": {"$switch": {"cases": {"Ada": "known"}, "value": "$input.name", "default": null}},
            "dollar": "$$5",
            "list": [null, true, 1.5, "text", {"$$k": 1}],
        })
    }

    #[test]
    fn a_value_serializes_as_it_was_written() {
        let v = every_form();
        assert_eq!(OutputValue::from_json(&v).to_json(), v);
        let (yaml, _) = crate::pattern::yaml::parse(
            "output:\n  b: {$switch: {value: $x, cases: {a: 1}}}\n  a: [1, \"$$2\", \"$y\"]\n",
        );
        let out = yaml.as_ref().and_then(|y| y.get("output"));
        let tree = out.map(OutputValue::from_yaml);
        assert_eq!(
            tree.map(|t| t.to_json()),
            out.map(Yaml::to_json),
            "from YAML"
        );
    }

    #[test]
    fn strings_are_read_by_their_place() {
        let v = OutputValue::from_json(&every_form());
        assert!(matches!(
            v.field("dollar"),
            Some(OutputValue::Escaped { .. })
        ));
        assert!(matches!(
            v.field("double"),
            Some(OutputValue::Formula(Operand::Read(_)))
        ));
        let Some(OutputValue::Map(m)) = v.field("refs") else {
            panic!("a $map");
        };
        // A transform starting with `$` is a value (a reference), not an item expression.
        assert!(matches!(
            m.transform.as_ref(),
            Some(Operand::Value(v)) if matches!(**v, OutputValue::Ref(_))
        ));
        let Some(OutputValue::Template(t)) = v.field("open") else {
            panic!("a $template");
        };
        let Operand::Read(t) = &**t else {
            panic!("a text");
        };
        assert_eq!(
            t.form,
            TemplateForm::Parts(vec![
                TemplatePart::Text("a ".into()),
                TemplatePart::Text("{{b".into())
            ])
        );
        let texts: Vec<&str> = v.exprs().iter().map(|e| e.text()).collect();
        assert_eq!(
            texts,
            [
                "$input.name",
                "$input.xs",
                "$input.xs",
                "n > 2",
                "n * 10",
                "$input.xs",
                "$item",
                "$input.xs[0].n",
                "$input.flags",
                "a * 2",
                "$input.name",
            ]
        );
    }

    #[test]
    fn the_plan_output_carries_compiled_expressions_with_their_spans() {
        let text = "name: t\nversion: 1.0.0\ndescription: d\ninput: {type: object}\n\
            agents: {capabilities: [a], min: 1}\n\
            output:\n  best: $validResults[0]\n  n: {$sum: [$input.x, 1]}\n";
        let out = crate::pattern::compile_file("t.yaml", text);
        let diags: Vec<String> = out.diagnostics.iter().map(|d| d.message.clone()).collect();
        let plan = out
            .plan
            .unwrap_or_else(|| panic!("the pattern compiles: {diags:?}"));
        let Some(crate::plan::NodeKind::Output { value }) = plan.node(plan.exit).map(|n| &n.kind)
        else {
            panic!("an Output node");
        };
        let exprs = value.exprs();
        assert_eq!(exprs.len(), 2);
        for e in exprs {
            assert!(e.compiled.program().is_ok(), "{} compiled", e.text());
            let (s, end) = (e.span.start as usize, e.span.end as usize);
            assert_eq!(&text[s..end], e.text());
        }
    }
}
