//! Rendering YAML `output` values (§1.9): literals, `$expressions`, and the helper mappings
//! `$template $switch $filter $map $formula $min $max $average $sum $all $any`, from the
//! typed trees the compiler built ([`OutputValue`], its expressions compiled): the output, step
//! input and output shapes, record literals, escalation contexts and fallback values. Nothing
//! here reads a value as JSON or parses an expression.

use prism_compiler::plan::output::{
    Field, Operand, OutputValue, Stat, Switch, Template, TemplateForm, TemplatePart,
};
use prism_compiler::span::Span;
use serde_json::{Map, Value as Json};

use super::expr::{ExprError, Scope, compiled, eval_compiled, json_num, truthy};

/// Renders a value against the scope, with extra bare names.
pub fn render(v: &OutputValue, scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    match v {
        OutputValue::Literal(x) => Ok(x.clone()),
        OutputValue::Escaped { text, .. } => Ok(Json::String(text[1..].to_string())),
        OutputValue::Ref(e) => eval_compiled(&e.compiled, scope, names).map(|e| e.value),
        OutputValue::Array(items) => items
            .iter()
            .map(|i| render(i, scope, names))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        OutputValue::Object(fields) => render_map(fields, scope, names),
        OutputValue::Template(t) => match &**t {
            Operand::Read(t) => render_template(t, scope, names),
            Operand::Value(_) => Ok(Json::String(String::new())),
        },
        OutputValue::Formula(f) => formula(f, scope, names),
        OutputValue::Switch(s) => switch(s, scope, names),
        OutputValue::Filter(f) => {
            let items = items_of(f.items.as_ref(), scope, names)?;
            let Some(Operand::Read(cond)) = &f.condition else {
                // No condition, or one that is not a string: every item passes.
                return Ok(Json::Array(items));
            };
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let n = with_item(&item, i, names);
                if truthy(&eval_compiled(&cond.compiled, scope, &n)?.value) {
                    out.push(item);
                }
            }
            Ok(Json::Array(out))
        }
        OutputValue::Map(m) => {
            let items = items_of(m.items.as_ref(), scope, names)?;
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let n = with_item(item, i, names);
                out.push(match &m.transform {
                    Some(Operand::Read(e)) => eval_compiled(&e.compiled, scope, &n)?.value,
                    Some(Operand::Value(v)) => render(v, scope, &n)?,
                    None => Json::Null,
                });
            }
            Ok(Json::Array(out))
        }
        OutputValue::Stat { op, items } => stat(*op, &items_of(Some(items), scope, names)?),
    }
}

/// Renders a mapping; `$formula` entries see the other keys' values as bare names (earlier
/// formulas' results, later ones as null).
fn render_map(fields: &[Field], scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    let mut out = Map::new();
    let mut formulas = Vec::new();
    for f in fields {
        if let OutputValue::Formula(body) = &f.value {
            formulas.push((&f.key, body));
            out.insert(f.key.clone(), Json::Null);
            continue;
        }
        out.insert(f.key.clone(), render(&f.value, scope, names)?);
    }
    for (k, body) in formulas {
        let mut n: Vec<(&str, Json)> = names.to_vec();
        for (key, v) in &out {
            if is_ident(key) {
                n.push((key.as_str(), v.clone()));
            }
        }
        let value = formula(body, scope, &n)?;
        out.insert(k.clone(), value);
    }
    Ok(Json::Object(out))
}

/// A `$formula`: its expression's value (a body that is not a string is null).
fn formula(
    body: &Operand<prism_compiler::plan::output::Expr>,
    scope: &Scope,
    names: &[(&str, Json)],
) -> Result<Json, ExprError> {
    match body {
        Operand::Read(e) => eval_compiled(&e.compiled, scope, names).map(|e| e.value),
        Operand::Value(_) => Ok(Json::Null),
    }
}

/// `$switch`: the case whose label is the value's text (a non-string value as JSON), else
/// the default, else null.
fn switch(s: &Switch, scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    let value = s
        .value
        .as_ref()
        .map(|v| render(v, scope, names))
        .transpose()?
        .unwrap_or(Json::Null);
    let label = match &value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let chosen = s
        .cases
        .as_ref()
        .and_then(|cases| cases.iter().find(|c| c.key == label))
        .map(|c| &c.value)
        .or(s.default.as_ref());
    chosen.map_or(Ok(Json::Null), |c| render(c, scope, names))
}

/// The items of a helper as a list: an expression's value or a rendered value; a mapping
/// gives its `{key, value}` entries, null none, any other value itself alone.
fn items_of(
    v: Option<&Operand<prism_compiler::plan::output::Expr>>,
    scope: &Scope,
    names: &[(&str, Json)],
) -> Result<Vec<Json>, ExprError> {
    let value = match v {
        Some(Operand::Read(e)) => eval_compiled(&e.compiled, scope, names)?.value,
        Some(Operand::Value(v)) => render(v, scope, names)?,
        None => Json::Null,
    };
    Ok(match value {
        Json::Array(a) => a,
        Json::Object(m) => m
            .into_iter()
            .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
            .collect(),
        Json::Null => Vec::new(),
        other => vec![other],
    })
}

fn with_item<'a>(item: &'a Json, index: usize, names: &[(&'a str, Json)]) -> Vec<(&'a str, Json)> {
    let mut n: Vec<(&str, Json)> = names.to_vec();
    n.push(("item", item.clone()));
    n.push(("index", Json::from(index)));
    if let Json::Object(m) = item {
        for (k, v) in m {
            if !matches!(k.as_str(), "item" | "index") && is_ident(k) {
                n.push((k.as_str(), v.clone()));
            }
        }
    }
    n
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `$all $any` (truthiness), `$min $max $sum $average` (of the numbers among the items;
/// null without one, except `$sum`, 0).
fn stat(op: Stat, items: &[Json]) -> Result<Json, ExprError> {
    match op {
        Stat::All => return Ok(Json::Bool(items.iter().all(truthy))),
        Stat::Any => return Ok(Json::Bool(items.iter().any(truthy))),
        _ => {}
    }
    let xs: Vec<f64> = items.iter().filter_map(Json::as_f64).collect();
    if xs.is_empty() {
        return Ok(if op == Stat::Sum {
            Json::from(0)
        } else {
            Json::Null
        });
    }
    let x = match op {
        Stat::Min => xs.iter().copied().fold(f64::INFINITY, f64::min),
        Stat::Max => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Stat::Sum => xs.iter().sum(),
        _ => xs.iter().sum::<f64>() / xs.len() as f64,
    };
    Ok(json_num(x))
}

/// `{{expr}}` holes in a text; a text that is one hole alone yields the value itself.
pub fn template(text: &str, scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    render_template(
        &Template::new(text, Span::default(), &mut compiled),
        scope,
        names,
    )
}

/// A template's value: its one hole's, or its text with each hole's value as text (null as
/// nothing, non-strings as JSON).
fn render_template(t: &Template, scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    let parts = match &t.form {
        TemplateForm::Whole(e) => return eval_compiled(&e.compiled, scope, names).map(|e| e.value),
        TemplateForm::Parts(parts) => parts,
    };
    let mut out = String::new();
    for p in parts {
        match p {
            TemplatePart::Text(s) => out.push_str(s),
            TemplatePart::Hole(e) => match eval_compiled(&e.compiled, scope, names)?.value {
                Json::String(s) => out.push_str(&s),
                Json::Null => {}
                other => out.push_str(&other.to_string()),
            },
        }
    }
    Ok(Json::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Bound;
    use serde_json::json;

    #[test]
    fn helpers_compute_values() {
        let mut s = Scope::new();
        s.insert(
            "input".into(),
            Bound::Plain(json!({"name": "Ada", "xs": [{"n": 1}, {"n": 5}]})),
        );
        let out = render(
            &OutputValue::from_json(&json!({
                "greeting": {"$template": "Hi {{$input.name}}!"},
                "raw": {"$template": "{{$input.xs}}"},
                "big": {"$filter": {"items": "$input.xs", "condition": "n > 2"}},
                "ns": {"$map": {"items": "$input.xs", "transform": "n * 10"}},
                "total": {"$sum": ["$input.xs[0].n", "$input.xs[1].n"]},
                "a": 2,
                "double": {"$formula": "a * 2"},
                "kind": {"$switch": {"value": "$input.name", "cases": {"Ada": "known"}, "default": "other"}},
                "dollar": "$$5",
            })),
            &s,
            &[],
        );
        assert_eq!(
            out.ok(),
            Some(json!({
                "greeting": "Hi Ada!",
                "raw": [{"n": 1}, {"n": 5}],
                "big": [{"n": 5}],
                "ns": [10, 50],
                "total": 6,
                "a": 2,
                "double": 4,
                "kind": "known",
                "dollar": "$5",
            }))
        );
    }
}
