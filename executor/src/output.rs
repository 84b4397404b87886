//! Rendering YAML `output` values (§1.9): literals, `$expressions`, and the helper mappings
//! `$template $switch $filter $map $formula $min $max $average $sum $all $any`.

use prism_compiler::pattern::ctx::HELPERS;
use serde_json::{Map, Value as Json};

use super::expr::{ExprError, Scope, eval, eval_value, json_num, truthy};

/// Renders an output value against the scope, with extra bare names.
pub fn render(v: &Json, scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    match v {
        Json::String(_) => eval_value(v, scope, names).map(|e| e.value),
        Json::Array(items) => items
            .iter()
            .map(|i| render(i, scope, names))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        Json::Object(m) => {
            if m.len() == 1
                && let Some((k, body)) = m.iter().next()
                && HELPERS.contains(&k.as_str())
            {
                return helper(k, body, scope, names, &Map::new());
            }
            render_map(m, scope, names)
        }
        other => Ok(other.clone()),
    }
}

/// Renders a mapping; `$formula` entries see the other keys' values as bare names.
fn render_map(
    m: &Map<String, Json>,
    scope: &Scope,
    names: &[(&str, Json)],
) -> Result<Json, ExprError> {
    let mut out = Map::new();
    let mut formulas = Vec::new();
    for (k, v) in m {
        if let Some(body) = v
            .as_object()
            .and_then(|o| o.get("$formula"))
            .filter(|_| v.as_object().is_some_and(|o| o.len() == 1))
        {
            formulas.push((k.clone(), body.clone()));
            out.insert(k.clone(), Json::Null);
            continue;
        }
        out.insert(k.clone(), render(v, scope, names)?);
    }
    for (k, body) in formulas {
        let value = helper("$formula", &body, scope, names, &out)?;
        out.insert(k, value);
    }
    Ok(Json::Object(out))
}

fn expr_text(v: &Json) -> Option<&str> {
    v.as_str()
}

fn items_of(v: &Json, scope: &Scope, names: &[(&str, Json)]) -> Result<Vec<Json>, ExprError> {
    let value = match v {
        Json::String(s) => eval(s, scope, names)?.value,
        other => render(other, scope, names)?,
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

fn numbers(v: &Json, scope: &Scope, names: &[(&str, Json)]) -> Result<Vec<Json>, ExprError> {
    match v {
        Json::Array(a) => a.iter().map(|x| render(x, scope, names)).collect(),
        other => items_of(other, scope, names),
    }
}

fn helper(
    kind: &str,
    body: &Json,
    scope: &Scope,
    names: &[(&str, Json)],
    siblings: &Map<String, Json>,
) -> Result<Json, ExprError> {
    match kind {
        "$template" => template(body.as_str().unwrap_or_default(), scope, names),
        "$switch" => {
            let value = body
                .get("value")
                .map(|v| render(v, scope, names))
                .transpose()?
                .unwrap_or(Json::Null);
            let label = match &value {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            let chosen = body
                .get("cases")
                .and_then(Json::as_object)
                .and_then(|c| c.get(&label))
                .or_else(|| body.get("default"));
            chosen.map_or(Ok(Json::Null), |c| render(c, scope, names))
        }
        "$filter" => {
            let items = items_of(body.get("items").unwrap_or(&Json::Null), scope, names)?;
            let cond = body.get("condition").and_then(expr_text).unwrap_or("true");
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let n = with_item(&item, i, names);
                if truthy(&eval(cond, scope, &n)?.value) {
                    out.push(item);
                }
            }
            Ok(Json::Array(out))
        }
        "$map" => {
            let items = items_of(body.get("items").unwrap_or(&Json::Null), scope, names)?;
            let transform = body.get("transform").cloned().unwrap_or(Json::Null);
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let n = with_item(item, i, names);
                out.push(match &transform {
                    Json::String(s) if !s.starts_with('$') => eval(s, scope, &n)?.value,
                    other => render(other, scope, &n)?,
                });
            }
            Ok(Json::Array(out))
        }
        "$formula" => {
            let text = expr_text(body).unwrap_or("null");
            let mut n: Vec<(&str, Json)> = names.to_vec();
            for (k, v) in siblings {
                if is_ident(k) {
                    n.push((k.as_str(), v.clone()));
                }
            }
            eval(text, scope, &n).map(|e| e.value)
        }
        "$all" | "$any" => {
            let items = numbers(body, scope, names)?;
            let vals = items.iter().map(truthy);
            Ok(Json::Bool(if kind == "$all" {
                vals.clone().all(|b| b)
            } else {
                vals.clone().any(|b| b)
            }))
        }
        _ => {
            let items = numbers(body, scope, names)?;
            let xs: Vec<f64> = items.iter().filter_map(Json::as_f64).collect();
            if xs.is_empty() {
                return Ok(if kind == "$sum" {
                    Json::from(0)
                } else {
                    Json::Null
                });
            }
            let x = match kind {
                "$min" => xs.iter().copied().fold(f64::INFINITY, f64::min),
                "$max" => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "$sum" => xs.iter().sum(),
                _ => xs.iter().sum::<f64>() / xs.len() as f64,
            };
            Ok(json_num(x))
        }
    }
}

/// `{{expr}}` holes in a text; a text that is one hole alone yields the value itself.
pub fn template(text: &str, scope: &Scope, names: &[(&str, Json)]) -> Result<Json, ExprError> {
    let trimmed = text.trim();
    if let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return eval(inner.trim(), scope, names).map(|e| e.value);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let v = eval(after[..close].trim(), scope, names)?.value;
        match v {
            Json::String(s) => out.push_str(&s),
            Json::Null => {}
            other => out.push_str(&other.to_string()),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
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
            &json!({
                "greeting": {"$template": "Hi {{$input.name}}!"},
                "raw": {"$template": "{{$input.xs}}"},
                "big": {"$filter": {"items": "$input.xs", "condition": "n > 2"}},
                "ns": {"$map": {"items": "$input.xs", "transform": "n * 10"}},
                "total": {"$sum": ["$input.xs[0].n", "$input.xs[1].n"]},
                "a": 2,
                "double": {"$formula": "a * 2"},
                "kind": {"$switch": {"value": "$input.name", "cases": {"Ada": "known"}, "default": "other"}},
                "dollar": "$$5",
            }),
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
