//! Input validation (§1.2) against the plan's JSON Schema, before any agent call: defaults
//! are applied, each violation is reported as `input.<path>: <what>`, extra fields pass.

use serde_json::{Map, Value as Json};

/// Validates `input` against `schema`; returns the input with defaults applied, or every
/// violation.
pub fn validate_input(schema: &Json, input: &Json) -> Result<Json, Vec<String>> {
    let mut value = input.clone();
    let mut errors = Vec::new();
    check(schema, &mut value, "input", &mut errors);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

fn type_ok(ty: &str, v: &Json) -> bool {
    match ty {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|x| x.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn check(schema: &Json, v: &mut Json, path: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        return;
    };
    match s.get("type") {
        Some(Json::String(t)) if !type_ok(t, v) => {
            errors.push(format!("{path}: expected {t}, got {}", kind(v)));
            return;
        }
        Some(Json::Array(ts)) if !ts.iter().filter_map(Json::as_str).any(|t| type_ok(t, v)) => {
            errors.push(format!(
                "{path}: expected one of {}, got {}",
                Json::Array(ts.clone()),
                kind(v)
            ));
            return;
        }
        _ => {}
    }
    if let Some(Json::Array(options)) = s.get("enum")
        && !options.contains(v)
    {
        let list: Vec<String> = options.iter().map(Json::to_string).collect();
        errors.push(format!("{path}: must be one of {}", list.join(", ")));
    }
    match v {
        Json::String(text) => string(s, text, path, errors),
        Json::Number(_) => number(s, v.as_f64().unwrap_or(0.0), path, errors),
        Json::Array(items) => {
            let n = items.len() as u64;
            if let Some(min) = s.get("minItems").and_then(Json::as_u64).filter(|&m| n < m) {
                errors.push(format!("{path}: needs at least {min} items, has {n}"));
            }
            if let Some(max) = s.get("maxItems").and_then(Json::as_u64).filter(|&m| n > m) {
                errors.push(format!("{path}: allows at most {max} items, has {n}"));
            }
            if s.get("uniqueItems").and_then(Json::as_bool) == Some(true) {
                let keys: Vec<String> = items.iter().map(super::aggregate::canon).collect();
                if (1..keys.len()).any(|i| keys[..i].contains(&keys[i])) {
                    errors.push(format!("{path}: items must be unique"));
                }
            }
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Json::Object(m) => object(s, m, path, errors),
        _ => {}
    }
}

fn object(s: &Map<String, Json>, m: &mut Map<String, Json>, path: &str, errors: &mut Vec<String>) {
    let required: Vec<&str> = s
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let props = s.get("properties").and_then(Json::as_object);
    if let Some(props) = props {
        for (name, ps) in props {
            let here = format!("{path}.{name}");
            match m.get_mut(name) {
                Some(v) if !(v.is_null() && ps.get("default").is_some()) => {
                    check(ps, v, &here, errors)
                }
                _ => {
                    if let Some(d) = ps.get("default") {
                        m.insert(name.clone(), d.clone());
                    } else if required.contains(&name.as_str()) {
                        errors.push(format!("{here}: is required"));
                    }
                }
            }
        }
    }
    for name in &required {
        if props.is_none_or(|p| !p.contains_key(*name)) && !m.contains_key(*name) {
            errors.push(format!("{path}.{name}: is required"));
        }
    }
    if s.get("additionalProperties") == Some(&Json::Bool(false)) {
        for k in m.keys() {
            if props.is_none_or(|p| !p.contains_key(k)) {
                errors.push(format!("{path}.{k}: is not allowed"));
            }
        }
    }
}

fn string(s: &Map<String, Json>, text: &str, path: &str, errors: &mut Vec<String>) {
    let n = text.chars().count() as u64;
    if let Some(min) = s.get("minLength").and_then(Json::as_u64).filter(|&m| n < m) {
        errors.push(format!(
            "{path}: must be at least {min} characters, has {n}"
        ));
    }
    if let Some(max) = s.get("maxLength").and_then(Json::as_u64).filter(|&m| n > m) {
        errors.push(format!("{path}: must be at most {max} characters, has {n}"));
    }
    if let Some(p) = s.get("pattern").and_then(Json::as_str) {
        match regex::Regex::new(p) {
            Ok(re) if !re.is_match(text) => errors.push(format!("{path}: does not match {p}")),
            Err(_) => errors.push(format!(
                "{path}: the schema's pattern {p} is not a valid regex"
            )),
            _ => {}
        }
    }
    if let Some(f) = s.get("format").and_then(Json::as_str)
        && !format_ok(f, text)
    {
        errors.push(format!("{path}: is not a valid {f}"));
    }
}

fn number(s: &Map<String, Json>, x: f64, path: &str, errors: &mut Vec<String>) {
    if let Some(min) = s.get("minimum").and_then(Json::as_f64).filter(|&m| x < m) {
        errors.push(format!("{path}: must be ≥ {min}"));
    }
    if let Some(max) = s.get("maximum").and_then(Json::as_f64).filter(|&m| x > m) {
        errors.push(format!("{path}: must be ≤ {max}"));
    }
    if let Some(k) = s
        .get("multipleOf")
        .and_then(Json::as_f64)
        .filter(|&k| k > 0.0)
    {
        let q = x / k;
        if (q - q.round()).abs() > 1e-9 {
            errors.push(format!("{path}: must be a multiple of {k}"));
        }
    }
}

fn format_ok(format: &str, t: &str) -> bool {
    let re = |p: &str| regex::Regex::new(p).is_ok_and(|r| r.is_match(t));
    match format {
        "email" => re(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
        "uri" => re(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$"),
        "date" => re(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"),
        "date-time" => re(
            r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
        ),
        "uuid" => {
            re(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        }
        _ => true,
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_are_validated_with_defaults() {
        let schema = json!({"type": "object", "properties": {
            "q": {"type": "string", "minLength": 2},
            "n": {"type": "integer", "default": 3, "maximum": 5},
            "mail": {"type": "string", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
        }, "required": ["q", "n", "mail"]});
        let ok = validate_input(&schema, &json!({"q": "hi", "mail": "a@b.co", "extra": 1}));
        assert_eq!(
            ok,
            Ok(json!({"q": "hi", "mail": "a@b.co", "extra": 1, "n": 3}))
        );
        let bad = validate_input(
            &schema,
            &json!({"q": "h", "n": 9, "mail": "nope", "tags": ["a", 1, "a"]}),
        );
        assert_eq!(
            bad,
            Err(vec![
                "input.q: must be at least 2 characters, has 1".to_string(),
                "input.n: must be ≤ 5".to_string(),
                "input.mail: is not a valid email".to_string(),
                "input.tags: items must be unique".to_string(),
                "input.tags[1]: expected string, got number".to_string(),
            ])
        );
        assert_eq!(
            validate_input(&schema, &json!({})),
            Err(vec![
                "input.q: is required".to_string(),
                "input.mail: is required".to_string()
            ])
        );
        assert_eq!(
            validate_input(&json!({"type": "any"}), &json!(5)),
            Ok(json!(5))
        );
    }
}
