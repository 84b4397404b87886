//! YAML expressions and output values as Prism (§1.9). A `$reference` names a script
//! variable: plain data (`$input`, `$validResults`, …) as is, a record (`{value, confidence,
//! …fields}`: steps, groups, aggregations) by its parts — `$vote` is `vote.value`,
//! `$vote.confidence` its confidence, a record field the field, any other path reads into the
//! value, null-safely as the executor does. Output helpers become Prism expressions.

use std::collections::HashMap;

use serde_json::Value;

use super::{Writer, key, literal, string};
use crate::pattern::chain::chains;
use crate::pattern::expr::scan;
use crate::pattern::fields::is_record_field;
use crate::plan::compiled::CompiledExpr;
use crate::plan::output::{
    Expr, Field, Operand, OutputValue, Stat, Switch, Template, TemplateForm, TemplatePart,
};
use crate::span::Span;

/// What a name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Plain data.
    Plain,
    /// A record `{value, confidence, …fields}`.
    Record,
}

/// A YAML name as the script knows it.
#[derive(Debug, Clone)]
pub(super) struct Binding {
    /// The Prism expression naming it.
    pub ident: String,
    pub kind: Kind,
    /// True when the variable may still be `null` where it is read.
    pub maybe_null: bool,
    /// Record fields it always has.
    pub fields: Vec<&'static str>,
}

/// The names visible to references.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    map: HashMap<String, Binding>,
}

/// Globals a bare name of a `$filter`/`$map` expression may mean besides the item's fields.
const GLOBALS: &[&str] = &[
    "Math",
    "JSON",
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Date",
    "parseInt",
    "parseFloat",
    "isNaN",
    "isFinite",
    "item",
    "index",
];

impl Names {
    /// Binds plain data.
    pub fn plain(&mut self, name: &str, ident: impl Into<String>) {
        self.map.insert(
            name.to_string(),
            Binding {
                ident: ident.into(),
                kind: Kind::Plain,
                maybe_null: false,
                fields: Vec::new(),
            },
        );
    }

    /// Binds a record.
    pub fn record(
        &mut self,
        name: &str,
        ident: impl Into<String>,
        maybe_null: bool,
        fields: Vec<&'static str>,
    ) {
        self.map.insert(
            name.to_string(),
            Binding {
                ident: ident.into(),
                kind: Kind::Record,
                maybe_null,
                fields,
            },
        );
    }

    /// The binding of a name.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        self.map.get(name)
    }

    /// True when the name is bound.
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// Null-safe path segments.
fn suffix(path: &[String]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        if seg == "*" {
            out.push_str(&format!("?.map(x => x{})", suffix(&path[i + 1..])));
            return out;
        }
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("?.[{seg}]"));
        } else {
            out.push_str("?.");
            out.push_str(seg);
        }
    }
    out
}

/// How bare names of an expression are rewritten.
#[derive(Clone, Copy)]
pub(super) enum Bare<'a> {
    /// Left as they are.
    Keep,
    /// These names become these expressions.
    Map(&'a [(&'a str, String)]),
    /// Names other than globals read the field of `item` (`$filter`/`$map`).
    ItemFields,
}

/// A `$name.path` reference as Prism.
pub(super) fn reference(name: &str, path: &[String], names: &Names, w: &mut Writer) -> String {
    let Some(b) = names.get(name) else {
        return "null".into();
    };
    if b.kind == Kind::Plain {
        return match path.split_first() {
            Some((first, rest)) if b.ident == "input" && first != "*" => {
                let head = if first.bytes().all(|c| c.is_ascii_digit()) {
                    format!("input?.[{first}]")
                } else {
                    format!("input.{first}")
                };
                head + &suffix(rest)
            }
            _ => b.ident.clone() + &suffix(path),
        };
    }
    let dot = if b.maybe_null { "?." } else { "." };
    let id = &b.ident;
    match path.split_first() {
        None => format!("{id}{dot}value"),
        Some((first, rest)) if first == "confidence" => {
            format!("{id}{dot}confidence{}", suffix(rest))
        }
        Some((first, rest)) if first == "result" || first == "value" => {
            format!("{id}{dot}value{}", suffix(rest))
        }
        Some((first, rest)) if b.fields.contains(&first.as_str()) => {
            format!("{id}{dot}{first}{}", suffix(rest))
        }
        Some((first, rest)) if is_record_field(first) => {
            w.uses("field");
            format!("field({id}, {}){}", string(first), suffix(rest))
        }
        Some(_) => format!("{id}{dot}value{}", suffix(path)),
    }
}

/// A YAML expression as Prism.
pub(super) fn translate(text: &str, names: &Names, bare: Bare<'_>, w: &mut Writer) -> String {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for c in chains(text) {
        let r = reference(&c.name, &c.path, names, w);
        edits.push((c.start, c.end, r));
    }
    match bare {
        Bare::Keep => {}
        Bare::Map(map) => {
            for b in scan(text).bare {
                if let Some((_, rep)) = map.iter().find(|(n, _)| *n == b.name) {
                    edits.push((b.start, b.end, rep.clone()));
                }
            }
        }
        Bare::ItemFields => {
            for b in scan(text).bare {
                if !GLOBALS.contains(&b.name.as_str()) {
                    edits.push((b.start, b.end, format!("item?.{}", b.name)));
                }
            }
        }
    }
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    for (s, e, rep) in edits {
        if s < last || e > text.len() {
            continue;
        }
        out.push_str(&text[last..s]);
        out.push_str(&rep);
        last = e;
    }
    out.push_str(&text[last..]);
    out.trim().to_string()
}

/// A YAML expression as a parenthesised Prism expression.
pub(super) fn paren(text: &str, names: &Names, bare: Bare<'_>, w: &mut Writer) -> String {
    format!("({})", translate(text, names, bare, w))
}

/// A `{{…}}` template: a lone hole is its value, else a template literal whose holes are
/// text (null as nothing, non-strings as JSON).
pub(super) fn template(text: &str, names: &Names, bare: Bare<'_>, w: &mut Writer) -> String {
    let t = Template::new(text, Span::default(), &mut CompiledExpr::compile);
    template_form(&t.form, names, bare, w)
}

fn template_form(form: &TemplateForm, names: &Names, bare: Bare<'_>, w: &mut Writer) -> String {
    let parts = match form {
        TemplateForm::Whole(e) => return translate(e.text(), names, bare, w),
        TemplateForm::Parts(parts) => parts,
    };
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('`', "\\`")
            .replace("${", "\\${")
    };
    let mut out = String::from("`");
    for p in parts {
        match p {
            TemplatePart::Text(t) => out.push_str(&escape(t)),
            TemplatePart::Hole(e) => {
                w.uses("hole");
                out.push_str(&format!(
                    "${{hole({})}}",
                    translate(e.text(), names, bare, w)
                ));
            }
        }
    }
    out.push('`');
    out
}

fn pad(depth: usize) -> String {
    "  ".repeat(depth)
}

/// A free-form value (§1.9: the output, a step's input or output shape, a record literal, …)
/// as a Prism expression.
pub(super) fn tree(
    v: &OutputValue,
    names: &Names,
    bare: Bare<'_>,
    w: &mut Writer,
    depth: usize,
) -> String {
    match v {
        OutputValue::Literal(x) => literal(x),
        OutputValue::Escaped { text, .. } => literal(&Value::from(&text[1..])),
        OutputValue::Ref(e) => translate(e.text(), names, bare, w),
        OutputValue::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|x| tree(x, names, bare, w, depth))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        OutputValue::Object(fields) => mapping(fields, names, bare, w, depth),
        OutputValue::Template(t) => match &**t {
            Operand::Read(t) => template_form(&t.form, names, bare, w),
            Operand::Value(_) => template_form(&TemplateForm::Parts(Vec::new()), names, bare, w),
        },
        OutputValue::Formula(f) => paren(read_or(f, "null"), names, bare, w),
        OutputValue::Switch(s) => switch(s, names, bare, w, depth),
        OutputValue::Filter(f) => {
            let list = items(f.items.as_ref(), names, bare, w, depth);
            let cond = f.condition.as_ref().map_or("true", |c| read_or(c, "true"));
            let c = translate(cond, names, Bare::ItemFields, w);
            format!("{list}.filter((item, index) => ({c}))")
        }
        OutputValue::Map(m) => {
            let list = items(m.items.as_ref(), names, bare, w, depth);
            let t = match &m.transform {
                Some(Operand::Read(e)) => translate(e.text(), names, Bare::ItemFields, w),
                Some(Operand::Value(v)) => tree(v, names, Bare::ItemFields, w, depth + 1),
                None => "null".into(),
            };
            format!("{list}.map((item, index) => ({t}))")
        }
        OutputValue::Stat { op, items: list } => {
            let list = match list {
                Operand::Value(v) if matches!(**v, OutputValue::Array(_)) => {
                    tree(v, names, bare, w, depth)
                }
                other => items(Some(other), names, bare, w, depth),
            };
            match op {
                Stat::All => format!("{list}.every(x => x ? true : false)"),
                Stat::Any => format!("{list}.some(x => x ? true : false)"),
                _ => {
                    w.uses("stat");
                    format!("stat({}, {list})", string(&op.key()[1..]))
                }
            }
        }
    }
}

/// The text of a string operand, else `default` (a non-string formula is null, a non-string
/// condition holds).
fn read_or<'a>(o: &'a Operand<Expr>, default: &'a str) -> &'a str {
    match o {
        Operand::Read(e) => e.text(),
        Operand::Value(_) => default,
    }
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn mapping(
    fields: &[Field],
    names: &Names,
    bare: Bare<'_>,
    w: &mut Writer,
    depth: usize,
) -> String {
    if fields.is_empty() {
        return "{}".into();
    }
    let formulas: Vec<(&String, &Operand<Expr>)> = fields
        .iter()
        .filter_map(|f| match &f.value {
            OutputValue::Formula(o) => Some((&f.key, o)),
            _ => None,
        })
        .collect();
    let inner = if formulas.is_empty() {
        depth + 1
    } else {
        depth + 2
    };
    let lines: Vec<String> = fields
        .iter()
        .map(|f| {
            let v = if matches!(f.value, OutputValue::Formula(_)) {
                "null".to_string()
            } else {
                tree(&f.value, names, bare, w, inner)
            };
            format!("{}{}: {v}", pad(inner), key(&f.key))
        })
        .collect();
    let object = format!("{{\n{}\n{}}}", lines.join(",\n"), pad(inner - 1));
    if formulas.is_empty() {
        return object;
    }
    // `$formula` entries see the other keys (and earlier formulas) as bare names.
    let siblings: Vec<(&str, String)> = fields
        .iter()
        .filter(|f| is_ident(&f.key))
        .map(|f| (f.key.as_str(), format!("o[{}]", string(&f.key))))
        .collect();
    let mut out = format!("(() => {{\n{}const o = {object}\n", pad(depth + 1));
    for (k, body) in formulas {
        let f = translate(read_or(body, "null"), names, Bare::Map(&siblings), w);
        out.push_str(&format!("{}o[{}] = {f}\n", pad(depth + 1), string(k)));
    }
    out.push_str(&format!("{}return o\n{}}})()", pad(depth + 1), pad(depth)));
    out
}

/// The items of a helper: an expression's value or a rendered value, as a list.
fn items(
    v: Option<&Operand<Expr>>,
    names: &Names,
    bare: Bare<'_>,
    w: &mut Writer,
    depth: usize,
) -> String {
    w.uses("asItems");
    let inner = match v {
        Some(Operand::Read(e)) => translate(e.text(), names, bare, w),
        Some(Operand::Value(v)) => tree(v, names, bare, w, depth),
        None => "null".into(),
    };
    format!("asItems({inner})")
}

fn switch(s: &Switch, names: &Names, bare: Bare<'_>, w: &mut Writer, depth: usize) -> String {
    let label = s
        .value
        .as_ref()
        .map_or("null".to_string(), |v| tree(v, names, bare, w, depth));
    w.uses("asText");
    let mut out = String::from("((label) => ");
    for c in s.cases.iter().flatten() {
        out.push_str(&format!(
            "label == {} ? {} : ",
            string(&c.key),
            tree(&c.value, names, bare, w, depth)
        ));
    }
    let fallback = s
        .default
        .as_ref()
        .map_or("null".to_string(), |d| tree(d, names, bare, w, depth));
    out.push_str(&format!("{fallback})(asText({label}))"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let mut n = Names::default();
        n.plain("input", "input");
        n.plain("validResults", "validResults");
        n.record("vote", "vote", false, vec!["distribution"]);
        n.record("fast-result", "fast_result", true, Vec::new());
        n
    }

    #[test]
    fn references_read_records_by_their_parts() {
        let n = names();
        let mut w = Writer::default();
        let t = |text: &str, w: &mut Writer| translate(text, &n, Bare::Keep, w);
        assert_eq!(t("$vote", &mut w), "vote.value");
        assert_eq!(
            t("$vote.confidence >= 0.8", &mut w),
            "vote.confidence >= 0.8"
        );
        assert_eq!(t("$vote.result.title", &mut w), "vote.value?.title");
        assert_eq!(t("$vote.distribution", &mut w), "vote.distribution");
        assert_eq!(t("$vote.title[0]", &mut w), "vote.value?.title?.[0]");
        assert_eq!(
            t("$fast-result.winner", &mut w),
            "field(fast_result, \"winner\")"
        );
        assert_eq!(t("$input.doc.length", &mut w), "input.doc?.length");
        assert_eq!(
            t("$validResults.*.confidence", &mut w),
            "validResults?.map(x => x?.confidence)"
        );
        assert_eq!(t("$missing.x || 'a $b'", &mut w), "null || 'a $b'");
        assert!(w.helpers.contains("field"));
    }

    #[test]
    fn helpers_become_expressions() {
        let n = names();
        let mut w = Writer::default();
        let v = serde_json::json!({"$template": "Hi {{$input.name}}!"});
        assert_eq!(
            tree(&OutputValue::from_json(&v), &n, Bare::Keep, &mut w, 0),
            "`Hi ${hole(input.name)}!`"
        );
        let v = serde_json::json!({"$filter": {"items": "$vote.list", "condition": "type == 'x'"}});
        assert_eq!(
            tree(&OutputValue::from_json(&v), &n, Bare::Keep, &mut w, 0),
            "asItems(vote.value?.list).filter((item, index) => (item?.type == 'x'))"
        );
        let v = serde_json::json!({"$min": ["$vote.confidence", 1]});
        assert_eq!(
            tree(&OutputValue::from_json(&v), &n, Bare::Keep, &mut w, 0),
            "stat(\"min\", [vote.confidence, 1])"
        );
        assert_eq!(
            tree(
                &OutputValue::from_json(&serde_json::json!("$$5")),
                &n,
                Bare::Keep,
                &mut w,
                0
            ),
            "\"\\$5\""
        );
    }
}
