//! `JSON.stringify` and `JSON.parse`.

use crate::json::{MAX_JSON_DEPTH, from_json, is_cyclic, nesting_depth, to_json};
use crate::scope::Env;
use crate::value::Value;

use super::{arg, error, namespace, set};

fn stringify(v: &Value, indent: Option<String>) -> Result<String, String> {
    let j = to_json(v);
    match indent {
        None => serde_json::to_string(&j).map_err(|e| e.to_string()),
        Some(ind) => {
            use serde::Serialize;
            let mut out = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(ind.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            j.serialize(&mut ser).map_err(|e| e.to_string())?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
    }
}

pub(crate) fn install(g: &Env) {
    let json = namespace(vec![
        (
            "stringify",
            Value::native("stringify", |_, args, _| {
                let v = arg(args, 0);
                if is_cyclic(&v) {
                    return Err(error("Converting circular structure to JSON"));
                }
                if nesting_depth(&v) > MAX_JSON_DEPTH {
                    return Err(error(format!(
                        "Cannot convert to JSON: arrays and objects nested more than {MAX_JSON_DEPTH} deep"
                    )));
                }
                let indent = match args.get(2).map(Value::unwrap_confident) {
                    Some(Value::Number(n)) if *n >= 1.0 => Some(" ".repeat((*n as usize).min(10))),
                    Some(Value::Str(s)) if !s.is_empty() => Some(s.chars().take(10).collect()),
                    _ => None,
                };
                stringify(&v, indent).map(Value::from).map_err(error)
            }),
        ),
        (
            "parse",
            Value::native("parse", |_, args, _| {
                let text = crate::format::display(arg(args, 0).unwrap_confident());
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(j) => Ok(from_json(&j)),
                    Err(e) => Err(error(format!("JSON.parse: {e}"))),
                }
            }),
        ),
    ]);
    set(g, "JSON", json);
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn stringify_and_parse() {
        assert_eq!(
            run(r#"print(JSON.stringify({a: 1, b: [true, "x", null], c: 1.5}))"#),
            "{\"a\":1,\"b\":[true,\"x\",null],\"c\":1.5}\n"
        );
        assert_eq!(run(r#"print(JSON.parse("{\"k\": [1, 2]}").k[1])"#), "2\n");
        assert_eq!(run(r#"print(JSON.stringify([1], null, 2))"#), "[\n  1\n]\n");
    }
}
