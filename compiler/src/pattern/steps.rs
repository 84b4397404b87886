//! `steps` (§1.5): ids, kinds, switch cases, gates, loops, batches and jumps.

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::pattern::check::Fields;
use crate::pattern::codes;
use crate::pattern::ctx::{Ctx, SiteKind};
use crate::pattern::model::{Case, Jump, Phase, Spanned, Step, StepKind, StepOutput};
use crate::pattern::phase;
use crate::pattern::yaml::Yaml;
use crate::plan::output::OutputValue;
use crate::plan::settings::{AssignValues, GateCondition, GateTest};
use crate::span::Span;

/// The keys every step accepts.
pub const COMMON_KEYS: &[&str] = &[
    "id",
    "name",
    "type",
    "condition",
    "output",
    "then",
    "onError",
];
/// The keys an agent step accepts besides [`COMMON_KEYS`].
pub const AGENT_KEYS: &[&str] = &[
    "agents",
    "execution",
    "aggregation",
    "validation",
    "groups",
    "input",
    "instructions",
];
/// The step types we run.
pub const SUPPORTED: &[&str] = &[
    "parallel", "switch", "gate", "loop", "batch", "assign", "default", "escalate",
];
const CASE_KEYS: &[&str] = &[
    "condition",
    "output",
    "next",
    "retry",
    "maxRetries",
    "action",
    "to",
];

/// What a case of a gate or switch does (`action`).
pub const CASE_ACTIONS: &[&str] = &["accept", "retry", "escalate", "fail"];
/// Every step kind, in the order [`all_keys`] lists their keys.
const KINDS: &[&str] = &[
    "agent", "pattern", "parallel", "switch", "gate", "loop", "batch", "assign", "default",
    "escalate",
];

/// The keys a step of `kind` accepts besides [`COMMON_KEYS`] (an unknown kind: an
/// escalation's).
pub fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "agent" => AGENT_KEYS,
        "pattern" => &["pattern", "input"],
        "parallel" => &["branches"],
        "switch" => &["value", "cases", "default"],
        "gate" => &["onPass", "onFail"],
        "loop" => &["steps", "maxIterations"],
        "batch" => &["items", "task", "concurrency"],
        "assign" => &["values"],
        "default" => &["value"],
        _ => &["to", "context"],
    }
}

/// Every key some step accepts: [`COMMON_KEYS`], then each kind's, each key once.
pub fn all_keys() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = COMMON_KEYS.to_vec();
    for key in KINDS.iter().flat_map(|k| kind_keys(k)) {
        if !out.contains(key) {
            out.push(key);
        }
    }
    out
}

/// Reads a list of steps. `top` holds the top-level phase that agent steps inherit.
pub fn steps(ctx: &mut Ctx<'_>, node: &Yaml, path: &str, top: &Phase) -> Vec<Step> {
    let Some(items) = node.as_seq() else {
        ctx.cx.bad(
            format!(
                "`{path}` must be a list of steps, found {}",
                node.type_name()
            ),
            node.span,
            None,
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(s) = step(ctx, item, &format!("{path}[{i}]"), top, None) {
            out.push(s);
        }
    }
    out
}

fn step_error(ctx: &mut Ctx<'_>, message: String, span: Span, help: &str) {
    ctx.cx
        .push(Diagnostic::error(codes::STEP, message, span).with_help(help.to_string()));
}

/// Reads one step. `fixed_id` names steps that have no `id` of their own (inline case
/// bodies, batch tasks).
fn step(
    ctx: &mut Ctx<'_>,
    node: &Yaml,
    path: &str,
    top: &Phase,
    fixed_id: Option<&str>,
) -> Option<Step> {
    if node.as_map().is_none() {
        step_error(
            ctx,
            format!(
                "`{path}` must be a step mapping, found {}",
                node.type_name()
            ),
            node.span,
            "write `- id: name` followed by the step's keys",
        );
        return None;
    }
    let head = node
        .as_map()
        .and_then(|m| m.first())
        .map_or(node.span, |(k, _)| k.span);
    let id = step_id(ctx, node, path, fixed_id, head);
    if fixed_id.is_none() || node.get("id").is_some() {
        register_id(ctx, &id);
    }
    let kind_word = kind_word(ctx, node, top, &id, head)?;
    let allowed: Vec<&str> = COMMON_KEYS
        .iter()
        .chain(kind_keys(kind_word))
        .copied()
        .collect();
    let f = ctx.cx.map(node, path, &allowed)?;
    let saved = ctx.scope.clone();
    ctx.scope.in_step = true;
    let kind = step_kind(ctx, &f, kind_word, top, &id.value);
    let condition = if kind_word == "gate" || kind_word == "loop" {
        None
    } else {
        f.value("condition")
            .and_then(|c| ctx.site(c, SiteKind::Expr, &f.sub("condition")))
    };
    let output = f.value("output").map(|o| match o.as_str() {
        Some(name) if o.as_scalar().is_some() => {
            ctx.define(name, o.span, "output");
            StepOutput::Name(Spanned::new(name.to_string(), o.span))
        }
        _ => StepOutput::Shape(ctx.typed_value(o, &f.sub("output"))),
    });
    let then = then_target(ctx, &f);
    let on_error = on_error(ctx, &f);
    ctx.scope = saved;
    Some(Step {
        id,
        kind,
        condition,
        output,
        then,
        on_error,
        span: node.span,
    })
}

/// A step's `id` (or `name`); else the fixed id; else an error, and the path stands in.
fn step_id(
    ctx: &mut Ctx<'_>,
    node: &Yaml,
    path: &str,
    fixed_id: Option<&str>,
    head: Span,
) -> Spanned<String> {
    match (node.get("id").or(node.get("name")), fixed_id) {
        (Some(v), _) if v.scalar_text().is_some() => {
            Spanned::new(v.scalar_text().unwrap_or_default().to_string(), v.span)
        }
        (_, Some(fixed)) => Spanned::new(fixed.to_string(), head),
        _ => {
            step_error(
                ctx,
                format!("`{path}` has no `id`"),
                head,
                "every step needs a unique `id` (or `name`)",
            );
            Spanned::new(path.to_string(), head)
        }
    }
}

/// What kind of step `node` is (`agent`, `pattern` or one of [`SUPPORTED`]): its `type`, else
/// what its keys or the top-level `agents` imply. Unsupported types, `config:` wrappers and
/// steps of no kind are errors (`None`).
fn kind_word<'y>(
    ctx: &mut Ctx<'_>,
    node: &'y Yaml,
    top: &Phase,
    id: &Spanned<String>,
    head: Span,
) -> Option<&'y str> {
    let ty = node.get("type").and_then(Yaml::scalar_text);
    if let Some(t) = ty.filter(|t| !SUPPORTED.contains(t) && !["agent", "pattern"].contains(t)) {
        let span = node.get("type").map_or(head, |v| v.span);
        step_error(
            ctx,
            format!(
                "unsupported step type `{t}` in step `{}` (supported: agent steps, pattern, {})",
                id.value,
                SUPPORTED.join(", ")
            ),
            span,
            "write it in a .prism pattern",
        );
        return None;
    }
    if let Some((k, _)) = node.get_entry("config") {
        step_error(
            ctx,
            format!("unsupported step form `config:` in step `{}`", id.value),
            k.span,
            "`config:` wrappers are not a step type we run; write it in a .prism pattern",
        );
        return None;
    }
    match ty {
        Some("agent") => Some("agent"),
        Some("pattern") => Some("pattern"),
        Some(t) => Some(t),
        None if node.get("pattern").is_some() => Some("pattern"),
        None if node.get("agents").is_some() || top.agents.is_some() => Some("agent"),
        None => {
            step_error(
                ctx,
                format!(
                    "step `{}` has no kind: no `agents`, `pattern` or `type`, and no top-level `agents` to inherit",
                    id.value
                ),
                id.span,
                &format!(
                    "give it `agents`, `pattern: NAME`, or a `type` ({})",
                    SUPPORTED.join(", ")
                ),
            );
            None
        }
    }
}

/// The step of kind `kind_word` from its checked keys.
fn step_kind(
    ctx: &mut Ctx<'_>,
    f: &Fields<'_>,
    kind_word: &str,
    top: &Phase,
    id: &str,
) -> StepKind {
    match kind_word {
        "agent" => agent_step(ctx, f, top),
        "pattern" => pattern_step(ctx, f),
        "parallel" => StepKind::Parallel(
            required(ctx, f, "branches")
                .map(|b| steps(ctx, b, &f.sub("branches"), top))
                .unwrap_or_default(),
        ),
        "switch" => switch_step(ctx, f, top, id),
        "gate" => gate_step(ctx, f),
        "loop" => loop_step(ctx, f, top),
        "batch" => batch_step(ctx, f, top, id),
        "assign" => {
            let values = required(ctx, f, "values")
                .map(|v| assign_values(ctx, v, &f.sub("values")))
                .unwrap_or_default();
            StepKind::Assign(values)
        }
        "default" => StepKind::Default(
            required(ctx, f, "value")
                .map(|v| ctx.typed_value(v, &f.sub("value")))
                .unwrap_or(OutputValue::Literal(Value::Null)),
        ),
        _ => StepKind::Escalate {
            to: ctx.cx.string(f, "to"),
            context: f
                .get("context")
                .map(|c| ctx.typed_value(c, &f.sub("context"))),
        },
    }
}

/// A `loop` step: its body, `maxIterations` (required, at least 1) and `condition`.
fn loop_step(ctx: &mut Ctx<'_>, f: &Fields<'_>, top: &Phase) -> StepKind {
    let body = required(ctx, f, "steps")
        .map(|b| steps(ctx, b, &f.sub("steps"), top))
        .unwrap_or_default();
    let max = if required(ctx, f, "maxIterations").is_some() {
        ctx.cx.int(f, "maxIterations", 1).unwrap_or(1)
    } else {
        1
    };
    let condition = f
        .value("condition")
        .and_then(|c| ctx.site(c, SiteKind::Expr, &f.sub("condition")));
    StepKind::Loop {
        steps: body,
        max_iterations: max as u32,
        condition,
    }
}

/// `then: {next: ID}`: the step control goes to after this one.
fn then_target(ctx: &mut Ctx<'_>, f: &Fields<'_>) -> Option<Spanned<String>> {
    f.value("then").and_then(|t| {
        let tf = ctx.cx.map(t, &f.sub("then"), &["next"])?;
        ctx.cx.require(&tf, "next");
        tf.value("next")
            .and_then(|n| n.scalar_text().map(|s| Spanned::new(s.to_string(), n.span)))
    })
}

/// `onError: {type: fail|continue|default, value}`, checked and kept as written.
fn on_error(ctx: &mut Ctx<'_>, f: &Fields<'_>) -> Option<Value> {
    f.value("onError").and_then(|e| {
        let ef = ctx.cx.map(e, &f.sub("onError"), &["type", "value"])?;
        ctx.cx.one_of(&ef, "type", &["fail", "continue", "default"]);
        if let Some(v) = ef.get("value") {
            ctx.value_tree(v, &ef.sub("value"));
        }
        Some(e.to_json())
    })
}

fn register_id(ctx: &mut Ctx<'_>, id: &Spanned<String>) {
    if let Some(first) = ctx.defined_as(&id.value, "step") {
        let first = first.span;
        ctx.cx.push(
            Diagnostic::error(
                codes::STEP,
                format!("duplicate step id `{}`", id.value),
                id.span,
            )
            .with_secondary(first, "first used here")
            .with_help("step ids are unique across the pattern, nested steps included"),
        );
        return;
    }
    ctx.define(&id.value, id.span, "step");
}

fn required<'y>(ctx: &mut Ctx<'_>, f: &Fields<'y>, key: &str) -> Option<&'y Yaml> {
    if ctx.cx.require(f, key) {
        f.value(key)
    } else {
        None
    }
}

fn agent_step(ctx: &mut Ctx<'_>, f: &Fields<'_>, top: &Phase) -> StepKind {
    let own = phase::phase(ctx, f);
    let inherited = own.agents.is_none();
    if let (None, Some(agg)) = (&own.aggregation, &top.aggregation) {
        ctx.scope.step_alias = Some(agg.alias());
    }
    for g in &own.groups {
        ctx.define(&g.name, g.span, "group");
    }
    let phase = Box::new(Phase {
        agents: own.agents.or_else(|| top.agents.clone()),
        execution: own.execution.or_else(|| top.execution.clone()),
        groups: own.groups,
        aggregation: own.aggregation.or_else(|| top.aggregation.clone()),
        validation: own.validation.or_else(|| top.validation.clone()),
    });
    let input = f.get("input").map(|i| ctx.typed_value(i, &f.sub("input")));
    let instructions = ctx.cx.string(f, "instructions");
    StepKind::Agent {
        phase,
        inherited,
        input,
        instructions,
    }
}

fn pattern_step(ctx: &mut Ctx<'_>, f: &Fields<'_>) -> StepKind {
    let reference = required(ctx, f, "pattern")
        .and_then(|p| p.scalar_text())
        .unwrap_or_default()
        .to_string();
    let (name, range) = match reference.split_once('@') {
        Some((n, r)) => (n.to_string(), Some(r.to_string())),
        None => (reference.clone(), None),
    };
    if let Some(r) = &range
        && semver::Version::parse(r).is_err()
        && semver::VersionReq::parse(r).is_err()
        && let Some(p) = f.value("pattern")
    {
        ctx.cx.bad(
            format!("`{r}` is not a version or range (1.2.0, 1.x, ^1.2, ~1.2)"),
            p.span,
            None,
        );
    }
    let input = f.get("input").map(|i| ctx.typed_value(i, &f.sub("input")));
    let span = f.value("pattern").map_or(f.head(), |p| p.span);
    StepKind::Pattern {
        name,
        range,
        input,
        resolved: None,
        span,
    }
}

fn switch_step(ctx: &mut Ctx<'_>, f: &Fields<'_>, top: &Phase, id: &str) -> StepKind {
    let value = required(ctx, f, "value")
        .and_then(|v| ctx.site(v, SiteKind::Expr, &f.sub("value")))
        .unwrap_or_default();
    let mut cases = Vec::new();
    if let Some(c) = required(ctx, f, "cases")
        && let Some(entries) = ctx.cx.any_map(c, &f.sub("cases"))
    {
        for (k, body) in entries {
            let label = k.key_text().unwrap_or_default().to_string();
            let path = format!("{}.cases.{label}", f.path);
            if let Some(case) = case(ctx, body, &path, &label, k.span, top, id) {
                cases.push(case);
            }
        }
    }
    if let Some(d) = f.value("default") {
        let path = f.sub("default");
        if let Some(case) = case(ctx, d, &path, "default", f.key_span("default"), top, id) {
            cases.push(case);
        }
    }
    StepKind::Switch { value, cases }
}

#[allow(clippy::too_many_arguments)]
fn case(
    ctx: &mut Ctx<'_>,
    body: &Yaml,
    path: &str,
    label: &str,
    span: Span,
    top: &Phase,
    id: &str,
) -> Option<Case> {
    if body.as_scalar().is_some() {
        // `label: step-id` — a jump.
        let target = body.scalar_text()?.to_string();
        return Some(Case {
            label: label.into(),
            condition: None,
            jump: Jump::Next {
                target: Spanned::new(target, body.span),
                max: 2,
            },
            span,
        });
    }
    let inline = ["pattern", "agents", "type", "steps"]
        .iter()
        .any(|k| body.get(k).is_some());
    let condition = body.get("condition").and_then(|c| {
        let text = c.scalar_text()?;
        if is_comparison(text) {
            Some(text.to_string())
        } else {
            ctx.site(c, SiteKind::Expr, &format!("{path}.condition"))
        }
    });
    let jump = if inline {
        let mut stripped = body.clone();
        if let crate::pattern::yaml::YamlKind::Map(entries) = &mut stripped.kind {
            entries.retain(|(k, _)| k.key_text() != Some("condition"));
        }
        let inline_id = format!("{id}.{label}");
        Jump::Inline(Box::new(step(ctx, &stripped, path, top, Some(&inline_id))?))
    } else {
        let f = ctx.cx.map(body, path, CASE_KEYS)?;
        let max = ctx.cx.int(&f, "maxRetries", 0).unwrap_or(2) as u32;
        let target = |key: &str| {
            f.value(key)
                .and_then(|v| v.scalar_text().map(|t| Spanned::new(t.to_string(), v.span)))
        };
        let output = f
            .value("output")
            .and_then(|o| ctx.site(o, SiteKind::Value, &f.sub("output")));
        match ctx.cx.one_of(&f, "action", CASE_ACTIONS) {
            Some("accept") => Jump::Finish(output),
            Some("retry") => Jump::Retry {
                target: target("retry").or_else(|| target("next")),
                max,
            },
            Some("escalate") => Jump::Escalate(ctx.cx.string(&f, "to")),
            Some(_) => Jump::Fail,
            None if f.has("retry") => Jump::Retry {
                target: target("retry"),
                max,
            },
            None if f.has("next") => Jump::Next {
                target: target("next")?,
                max,
            },
            None if output.is_some() => Jump::Finish(output),
            None => Jump::Continue,
        }
    };
    Some(Case {
        label: label.into(),
        condition,
        jump,
        span,
    })
}

/// `gte 0.8`-style case conditions.
pub fn is_comparison(text: &str) -> bool {
    let mut parts = text.split_whitespace();
    matches!(
        parts.next(),
        Some("eq" | "ne" | "gt" | "gte" | "lt" | "lte")
    ) && parts.next().is_some()
        && parts.next().is_none()
}

fn gate_step(ctx: &mut Ctx<'_>, f: &Fields<'_>) -> StepKind {
    let condition = match required(ctx, f, "condition") {
        Some(c) if c.as_map().is_some() => {
            let path = f.sub("condition");
            if let Some(cf) = ctx.cx.map(c, &path, &["$all", "$any"]) {
                match (cf.value("$all"), cf.value("$any")) {
                    (Some(list), None) | (None, Some(list)) => {
                        ctx.value_tree(list, &path);
                        if list.as_seq().is_none() {
                            ctx.cx.bad(
                                format!("`{path}` takes a list of conditions"),
                                list.span,
                                None,
                            );
                        }
                    }
                    _ => ctx.cx.bad(
                        format!("`{path}` needs exactly one of `$all` and `$any`"),
                        c.span,
                        None,
                    ),
                }
            }
            GateCondition::from_json(&c.to_json())
        }
        Some(c) => GateCondition::Test(GateTest::Expr(
            ctx.site(c, SiteKind::Expr, &f.sub("condition"))
                .unwrap_or_default(),
        )),
        None => GateCondition::Test(GateTest::Literal(Value::Null)),
    };
    let on_pass = f
        .value("onPass")
        .map_or(Jump::Continue, |v| gate_jump(ctx, v, &f.sub("onPass")));
    let on_fail = f
        .value("onFail")
        .map_or(Jump::Fail, |v| gate_jump(ctx, v, &f.sub("onFail")));
    StepKind::Gate {
        condition,
        on_pass,
        on_fail,
    }
}

fn gate_jump(ctx: &mut Ctx<'_>, v: &Yaml, path: &str) -> Jump {
    if let Some(t) = v.scalar_text() {
        return match t {
            "output" => Jump::Finish(None),
            "fail" => Jump::Fail,
            "continue" => Jump::Continue,
            _ => Jump::Next {
                target: Spanned::new(t.to_string(), v.span),
                max: 2,
            },
        };
    }
    let Some(f) = ctx.cx.map(
        v,
        path,
        &["next", "output", "type", "target", "maxRetries", "to"],
    ) else {
        return Jump::Fail;
    };
    let target = f
        .value("target")
        .or(f.value("next"))
        .and_then(|t| t.scalar_text().map(|s| Spanned::new(s.to_string(), t.span)));
    let max = ctx.cx.int(&f, "maxRetries", 0).unwrap_or(2) as u32;
    match ctx.cx.one_of(&f, "type", &["retry", "fail", "escalate"]) {
        Some("retry") => Jump::Retry { target, max },
        Some("escalate") => Jump::Escalate(ctx.cx.string(&f, "to")),
        Some(_) => Jump::Fail,
        None if f.has("next") => target.map_or(Jump::Fail, |target| Jump::Next { target, max }),
        None if f.has("output") => Jump::Finish(
            f.value("output")
                .and_then(|o| ctx.site(o, SiteKind::Value, &f.sub("output"))),
        ),
        None => {
            ctx.cx.bad(
                format!("`{path}` needs `next`, `output` or `type`"),
                v.span,
                None,
            );
            Jump::Fail
        }
    }
}

fn batch_step(ctx: &mut Ctx<'_>, f: &Fields<'_>, top: &Phase, id: &str) -> StepKind {
    let items = required(ctx, f, "items")
        .and_then(|i| ctx.site(i, SiteKind::Value, &f.sub("items")))
        .unwrap_or_default();
    let concurrency = ctx.cx.int(f, "concurrency", 1).unwrap_or(4) as u32;
    let saved = ctx.scope.items;
    ctx.scope.items = true;
    let task = match required(ctx, f, "task") {
        Some(t) if t.get("steps").is_some() && t.as_map().is_some_and(|m| m.len() == 1) => t
            .get("steps")
            .map(|s| steps(ctx, s, &format!("{}.task.steps", f.path), top))
            .unwrap_or_default(),
        Some(t) => step(ctx, t, &f.sub("task"), top, Some(&format!("{id}.task")))
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    ctx.scope.items = saved;
    StepKind::Batch {
        items,
        task,
        concurrency,
    }
}

fn assign_values(ctx: &mut Ctx<'_>, v: &Yaml, path: &str) -> AssignValues {
    let entries = ctx.cx.any_map(v, path);
    if let Some(entries) = entries {
        for (k, _) in entries {
            if let Some(name) = k.key_text() {
                ctx.define(name, k.span, "value");
            }
        }
    }
    ctx.value_tree(v, path);
    // Not a mapping: reported by `any_map` above. Each value is its own tree (a `$helper`
    // name is a name here, as written).
    entries
        .unwrap_or_default()
        .iter()
        .map(|(k, x)| (k.key_text().unwrap_or_default().to_string(), ctx.tree_of(x)))
        .collect()
}

/// Checks every jump target names a step; reports the rest with a "did you mean".
pub fn check_targets(ctx: &mut Ctx<'_>, steps: &[Step]) {
    let ids: Vec<String> = ctx
        .defined
        .iter()
        .filter(|d| d.what == "step")
        .map(|d| d.name.clone())
        .collect();
    let known: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut targets = Vec::new();
    collect_targets(steps, &mut targets);
    for t in targets {
        if !known.contains(t.value.as_str()) {
            let help = Ctx::did_you_mean(&t.value, ids.iter().map(String::as_str));
            ctx.cx
                .bad(format!("no step `{}` to jump to", t.value), t.span, help);
        }
    }
}

fn collect_targets(steps: &[Step], out: &mut Vec<Spanned<String>>) {
    for s in steps {
        out.extend(s.then.clone());
        let jump = |j: &Jump, out: &mut Vec<Spanned<String>>| match j {
            Jump::Next { target, .. } => out.push(target.clone()),
            Jump::Retry {
                target: Some(t), ..
            } => out.push(t.clone()),
            Jump::Inline(step) => collect_targets(std::slice::from_ref(step), out),
            _ => {}
        };
        match &s.kind {
            StepKind::Switch { cases, .. } => cases.iter().for_each(|c| jump(&c.jump, out)),
            StepKind::Gate {
                on_pass, on_fail, ..
            } => {
                jump(on_pass, out);
                jump(on_fail, out);
            }
            StepKind::Parallel(inner)
            | StepKind::Loop { steps: inner, .. }
            | StepKind::Batch { task: inner, .. } => collect_targets(inner, out),
            _ => {}
        }
    }
}
