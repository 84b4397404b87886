//! The top level of a YAML pattern (§1.1): required keys, metadata, the top-level phase,
//! steps, confidence, fallback, output and directives.

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::pattern::check::Fields;
use crate::pattern::codes;
use crate::pattern::ctx::{Ctx, Scope};
use crate::pattern::directives::{self, Directive, DirectiveKind};
use crate::pattern::model::{Meta, Spanned, YamlPattern};
use crate::pattern::refs::{self, Provided};
use crate::pattern::yaml::Yaml;
use crate::pattern::{input, phase, steps};
use crate::plan::output::OutputValue;

/// The keys of a YAML pattern.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "version",
    "description",
    "author",
    "tags",
    "metadata",
    "input",
    "agents",
    "execution",
    "groups",
    "aggregation",
    "steps",
    "confidence",
    "validation",
    "fallback",
    "output",
    "schedule",
    "persistence",
    "versioning",
];

/// Loads a YAML pattern from its root node. Problems go to `ctx`; the model is returned
/// whenever the file could be read at all (the caller drops it when there are errors).
pub fn load(ctx: &mut Ctx<'_>, root: &Yaml) -> Option<YamlPattern> {
    let f = ctx.cx.map(root, "", TOP_KEYS)?;
    for key in ["name", "input", "output"] {
        ctx.cx.require(&f, key);
    }
    let meta = meta(ctx, &f, "input");
    let top = phase::phase(ctx, &f);
    ctx.scope = Scope::default();
    for g in &top.groups {
        ctx.define(&g.name, g.span, "group");
    }
    let steps = f
        .value("steps")
        .map(|s| steps::steps(ctx, s, "steps", &top))
        .unwrap_or_default();
    if top.agents.is_none() && steps.is_empty() {
        ctx.cx.push(
            Diagnostic::warning(
                codes::NO_AGENTS,
                "this pattern calls no agent: it has neither `agents` nor `steps`",
                f.head(),
            )
            .with_help(
                "`$validResults` will be empty; add `agents: {capabilities: [...], min: N}`",
            ),
        );
    }
    let mut names: Vec<String> = ["validResults", "results", "input"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.extend(ctx.defined.iter().map(|d| d.name.clone()));
    let confidence = f
        .value("confidence")
        .and_then(|c| phase::confidence(ctx, c, names));
    let fallback = f.value("fallback").and_then(|fb| phase::fallback(ctx, fb));
    let output = match f.get("output") {
        Some(o) => Spanned::new(ctx.typed_value(o, "output"), o.span),
        None => Spanned::new(OutputValue::Literal(Value::Null), f.head()),
    };
    check_weights(
        ctx,
        &f,
        &top.groups
            .iter()
            .map(|g| g.name.clone())
            .collect::<Vec<_>>(),
    );
    steps::check_targets(ctx, &steps);
    let provided = Provided {
        top_strategy: top.aggregation.as_ref().map(|a| a.strategy.clone()),
        top_alias: top.aggregation.as_ref().map(|a| a.alias()),
        has_steps: !steps.is_empty(),
        input_fields: meta.input.value["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
    };
    refs::check(ctx, &provided, Some(root));
    Some(YamlPattern {
        meta,
        phase: top,
        steps,
        confidence,
        fallback,
        output,
    })
}

/// `confidence.weights` keys name groups or steps.
fn check_weights(ctx: &mut Ctx<'_>, f: &Fields<'_>, groups: &[String]) {
    let Some(w) = f
        .value("confidence")
        .and_then(|c| c.get("weights"))
        .and_then(Yaml::as_map)
    else {
        return;
    };
    let known: Vec<String> = ctx
        .defined
        .iter()
        .map(|d| d.name.clone())
        .chain(groups.iter().cloned())
        .collect();
    for (k, _) in w {
        let Some(name) = k.key_text() else { continue };
        if name != "default" && !known.iter().any(|n| n == name) {
            let help = Ctx::did_you_mean(name, known.iter().map(String::as_str));
            ctx.cx.push({
                let d = Diagnostic::error(
                    codes::UNKNOWN_REF,
                    format!("`confidence.weights.{name}` names no group or step"),
                    k.span,
                );
                match help {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            });
        }
    }
}

/// Name, version, description, input, forwarded fields and directives, shared by YAML
/// patterns and org charts. `input_key` is where the input schema is (`input`).
pub fn meta(ctx: &mut Ctx<'_>, f: &Fields<'_>, input_key: &str) -> Meta {
    let name = match f.value("name") {
        Some(n) => Spanned::new(ctx.cx.string(f, "name").unwrap_or_default(), n.span),
        None => Spanned::new(String::new(), f.head()),
    };
    let version = match f.value("version") {
        Some(v) => Spanned::new(
            ctx.cx
                .string(f, "version")
                .unwrap_or_else(|| "1.0.0".into()),
            v.span,
        ),
        None => Spanned::new("1.0.0".to_string(), name.span),
    };
    let description = ctx.cx.string(f, "description");
    let input = match f.get(input_key) {
        Some(i) => Spanned::new(input::schema(&mut ctx.cx, i, input_key), i.span),
        None => Spanned::new(
            input::schema(&mut ctx.cx, &Yaml::null(f.head()), input_key),
            f.head(),
        ),
    };
    let mut extra = Map::new();
    if let Some(a) = ctx.cx.string(f, "author") {
        extra.insert("author".into(), a.into());
    }
    if let Some(t) = ctx.cx.string_list(f, "tags") {
        extra.insert(
            "tags".into(),
            t.into_iter().map(|(s, _)| Value::from(s)).collect(),
        );
    }
    if let Some(m) = f.value("metadata") {
        if m.as_map().is_some() {
            extra.insert("metadata".into(), m.to_json());
        } else {
            ctx.cx.bad("`metadata` must be a mapping", m.span, None);
        }
    }
    let directives = directives(ctx, f, &version, &input.value);
    Meta {
        name,
        version,
        description,
        input,
        extra,
        directives,
    }
}

fn directives(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_>,
    version: &Spanned<String>,
    input: &Value,
) -> Vec<Directive> {
    let mut out = Vec::new();
    for kind in [
        DirectiveKind::Schedule,
        DirectiveKind::Persistence,
        DirectiveKind::Versioning,
    ] {
        if let Some((k, v)) = f.node.get_entry(kind.key())
            && let Some(d) = directives::check_spanned(
                kind,
                &v.to_json(),
                k.span,
                v.span,
                &|key| v.get(key).map(|n| n.span),
                &mut ctx.cx.diags,
            )
        {
            out.push(d);
        }
    }
    directives::check_with_pattern(&out, &version.value, version.span, input, &mut ctx.cx.diags);
    out
}
