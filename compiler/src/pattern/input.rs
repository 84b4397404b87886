//! `input` (§1.2): field → type name or schema, turned into one JSON Schema object.

use serde_json::{Map, Value, json};

use crate::pattern::check::{Checker, suggest};
use crate::pattern::codes;
use crate::pattern::yaml::Yaml;

/// The type names an input field may use.
pub const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "any",
];

const SCHEMA_KEYS: &[&str] = &[
    "type",
    "description",
    "required",
    "default",
    "enum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "multipleOf",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "additionalProperties",
];

const FORMATS: &[&str] = &["email", "uri", "date", "date-time", "uuid"];

/// Converts the `input` mapping to a JSON Schema (`{"type": "object", "properties", "required"}`).
pub fn schema(cx: &mut Checker, node: &Yaml, path: &str) -> Value {
    if node.is_null() {
        return json!({"type": "object", "properties": {}});
    }
    let Some(entries) = node.as_map() else {
        cx.bad(
            format!(
                "`{path}` must be a mapping of field → type, found {}",
                node.type_name()
            ),
            node.span,
            Some("write `input: {}` for a pattern without input".into()),
        );
        return json!({"type": "object"});
    };
    let mut props = Map::new();
    let mut required = Vec::new();
    for (k, v) in entries {
        let Some(name) = k.key_text() else { continue };
        let field_path = format!("{path}.{name}");
        let (schema, req) = field(cx, v, &field_path);
        if req {
            required.push(Value::from(name));
        }
        props.insert(name.to_string(), schema);
    }
    json!({"type": "object", "properties": props, "required": required})
}

/// One field: its JSON Schema and whether it is required (default true).
fn field(cx: &mut Checker, v: &Yaml, path: &str) -> (Value, bool) {
    if v.as_scalar().is_some() {
        return (type_name(cx, v, path), true);
    }
    if v.as_map().is_none() {
        cx.bad(
            format!(
                "`{path}` must be a type name or a schema mapping, found {}",
                v.type_name()
            ),
            v.span,
            None,
        );
        return (json!({}), true);
    }
    let required = match v.get("required") {
        Some(r) => r.as_bool().unwrap_or(true),
        None => true,
    };
    (field_schema(cx, v, path), required)
}

fn type_name(cx: &mut Checker, v: &Yaml, path: &str) -> Value {
    let text = v.scalar_text().unwrap_or_default();
    if TYPES.contains(&text) {
        return if text == "any" {
            json!({})
        } else {
            json!({ "type": text })
        };
    }
    let help = match suggest(text, TYPES.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? (types: {})", TYPES.join(" ")),
        None => format!("types: {}", TYPES.join(" ")),
    };
    cx.bad(
        format!("unknown input type `{text}` for `{path}`"),
        v.span,
        Some(help),
    );
    json!({})
}

fn field_schema(cx: &mut Checker, v: &Yaml, path: &str) -> Value {
    let Some(f) = cx.map(v, path, SCHEMA_KEYS) else {
        return json!({});
    };
    let mut out = Map::new();
    if let Some(t) = f.value("type")
        && let Value::Object(m) = type_name(cx, t, &f.sub("type"))
    {
        out.extend(m);
    }
    if let Some(d) = cx.string(&f, "description") {
        out.insert("description".into(), d.into());
    }
    if let Some(d) = f.get("default") {
        out.insert("default".into(), d.to_json());
    }
    if let Some(e) = f.value("enum") {
        if e.as_seq().is_some() {
            out.insert("enum".into(), e.to_json());
        } else {
            cx.bad(format!("`{}` must be a list", f.sub("enum")), e.span, None);
        }
    }
    for key in ["minLength", "maxLength", "minItems", "maxItems"] {
        if let Some(n) = cx.int(&f, key, 0) {
            out.insert(key.into(), n.into());
        }
    }
    for key in ["minimum", "maximum", "multipleOf"] {
        if let Some(n) = cx.number(&f, key, f64::MIN, f64::MAX) {
            out.insert(key.into(), json!(n));
        }
    }
    for key in ["uniqueItems", "additionalProperties"] {
        if let Some(b) = f.value(key).and_then(Yaml::as_bool) {
            out.insert(key.into(), b.into());
        } else if key == "additionalProperties"
            && let Some(a) = f.value(key)
        {
            out.insert(key.into(), field(cx, a, &f.sub(key)).0);
        } else if let Some(a) = f.value(key) {
            cx.bad(
                format!("`{}` must be true or false", f.sub(key)),
                a.span,
                None,
            );
        }
    }
    if let Some(p) = cx.string(&f, "pattern") {
        out.insert("pattern".into(), p.into());
    }
    if let Some(fmt) = cx.one_of(&f, "format", FORMATS) {
        out.insert("format".into(), fmt.into());
    }
    if let Some(items) = f.value("items") {
        out.insert("items".into(), field(cx, items, &f.sub("items")).0);
    }
    if let Some(r) = f.value("required")
        && r.as_seq().is_some()
    {
        out.insert("required".into(), r.to_json());
    } else if let Some(r) = f.value("required")
        && r.as_bool().is_none()
    {
        cx.push(crate::diagnostic::Diagnostic::error(
            codes::BAD_VALUE,
            format!(
                "`{}` must be true/false (or, for an object, a list of properties)",
                f.sub("required")
            ),
            r.span,
        ));
    }
    if let Some(props) = f.value("properties")
        && let Some(entries) = cx.any_map(props, &f.sub("properties"))
    {
        let mut ps = Map::new();
        for (k, v) in entries {
            let Some(name) = k.key_text() else { continue };
            ps.insert(
                name.to_string(),
                field(cx, v, &format!("{path}.properties.{name}")).0,
            );
        }
        out.insert("properties".into(), Value::Object(ps));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Value, Vec<String>) {
        let (y, _) = crate::pattern::yaml::parse(text);
        let y = y.expect("yaml");
        let mut cx = Checker::default();
        let s = schema(&mut cx, &y, "input");
        (s, cx.diags.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn shorthand_and_full_fields() {
        let (s, d) = run(
            "q: string\nopts:\n  type: object\n  required: false\n  properties:\n    lang: {type: string, default: auto}\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(s["required"], json!(["q"]));
        assert_eq!(
            s["properties"]["opts"]["properties"]["lang"]["default"],
            json!("auto")
        );
    }

    #[test]
    fn unknown_types_are_bad_values() {
        let (_, d) = run("fieldName: type\nx: strng\n");
        assert_eq!(d.len(), 2);
        assert!(d[0].contains("unknown input type `type`"));
    }
}
