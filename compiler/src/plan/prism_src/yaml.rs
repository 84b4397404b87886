//! YAML patterns (§1) as Prism: the top-level phase or the steps in order (a step machine
//! when gates, switches or `then` jump), then the pattern confidence (§1.7), the top-level
//! fallback and the output.

use serde_json::{Map, Value, json};

use super::expr::{Bare, Names, paren, template, translate, value};
use super::{Writer, compact, ident, key, literal, string};
use crate::pattern::model::{Jump, Phase, Step, StepKind, StepOutput, YamlPattern, alias_of};
use crate::plan::{NodeKind, Plan};

/// The fields every agent step record has.
const STEP_FIELDS: &[&str] = &[
    "success", "agents", "results", "attempts", "source", "error",
];

/// The fields an aggregation record always has.
fn aggregation_fields(config: &Value) -> Vec<&'static str> {
    match config.get("strategy").and_then(Value::as_str) {
        Some("voting") => vec![
            "distribution",
            "counts",
            "winner",
            "status",
            "consensusType",
            "unanimous",
            "isUnanimous",
            "isSplit",
            "agreement",
            "votes",
            "members",
            "metadata",
            "reached",
        ],
        Some("consensus") if config.get("fields").is_some() => vec!["reached", "fields"],
        Some("consensus") => vec![
            "distribution",
            "counts",
            "winner",
            "agreement",
            "reached",
            "averageConfidence",
            "members",
            "dissent",
        ],
        Some("merge" | "first" | "best") => Vec::new(),
        _ => vec!["fields"],
    }
}

struct Ctx<'a> {
    plan: &'a Plan,
    names: Names,
    /// `last` (the last executed step's record) is kept.
    last: bool,
    /// `contributed` (records of executed agent and composition steps) is kept.
    contributed: bool,
    /// `steps` (`$steps`) is kept.
    steps: bool,
    /// Steps run as a step machine (`next` names the step to run).
    machine: bool,
    /// Jump sites so far (for their counters).
    sites: usize,
    /// The top-level steps' ids in order (machine targets).
    order: Vec<String>,
    /// Counters of backward-jump sites, declared before the step machine.
    counters: Vec<String>,
}

/// Writes the script of a YAML pattern; returns the `@agents` header value when the
/// top-level phase dispatches through it.
pub(super) fn body(plan: &Plan, p: &YamlPattern, w: &mut Writer) -> Option<Value> {
    let text = plan.source.as_ref();
    let method =
        p.confidence
            .as_ref()
            .map(|c| c.method.as_str())
            .unwrap_or(if p.steps.is_empty() {
                if p.phase.aggregation.is_some() {
                    "aggregation"
                } else {
                    "average"
                }
            } else {
                "final"
            });
    let weights_empty = p
        .confidence
        .as_ref()
        .and_then(|c| c.config.get("weights"))
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty());
    let multi = !p.steps.is_empty();
    let mut ctx = Ctx {
        plan,
        names: Names::default(),
        last: multi && (text.contains("$final") || method == "final"),
        contributed: multi
            && (matches!(method, "average" | "min" | "max")
                || (method == "weighted" && weights_empty)),
        steps: multi
            && (text.contains("$steps")
                || (method == "custom"
                    && p.confidence
                        .as_ref()
                        .and_then(|c| c.config.get("expression"))
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.contains("steps")))),
        machine: p.steps.iter().any(jumps),
        sites: 0,
        order: p.steps.iter().map(|s| s.id.value.clone()).collect(),
        counters: Vec::new(),
    };
    ctx.names.plain("input", "input");
    let retry = p.fallback.as_ref().filter(|f| f.action == "retry");
    let mut header = None;
    if retry.is_some() {
        w.blank();
        w.line("// One run of the pattern; the top-level fallback runs it again while its condition holds.");
        w.open("async function attempt() {");
    }
    if p.steps.is_empty() {
        header = top_phase(&mut ctx, &p.phase, w);
    } else {
        steps_prelude(&mut ctx, p, w);
        if ctx.machine {
            machine(&mut ctx, &p.steps, w);
        } else {
            for s in &p.steps {
                step(&mut ctx, s, w, true);
            }
        }
    }
    confidence(&mut ctx, p, method, w);
    let fallback = p.fallback.as_ref();
    let cond_of = |f: &crate::pattern::model::Fallback| {
        f.config
            .get("condition")
            .and_then(Value::as_str)
            .unwrap_or("true")
            .to_string()
    };
    if let Some(f) = retry {
        let cond = cond_of(f);
        let holds = translate(
            &cond,
            &ctx.names,
            Bare::Map(&[("confidence", "confidence".into())]),
            w,
        );
        let out = output(&mut ctx, p, w);
        w.line(format!(
            "return ({{confidence: confidence, holds: () => ({holds}), render: () => ({out})}})"
        ));
        w.close("}");
        let max = f
            .config
            .get("maxRetries")
            .and_then(Value::as_u64)
            .unwrap_or(3);
        w.blank();
        w.line(format!(
            "// fallback: run again while `{}` holds (at most {max} times), keep the most confident run",
            cond.replace('\n', " ")
        ));
        w.line("let current = await attempt()");
        w.line("let best = current");
        w.line("let tries = 0");
        w.open(format!("while (tries < {max} && current.holds()) {{"));
        w.line("tries = tries + 1");
        w.line("current = await attempt()");
        w.line("if (current.confidence > best.confidence) { best = current }");
        w.close("}");
        w.line("const output = best.render()");
        w.line("output ~> best.confidence");
        return header;
    }
    let mut chosen = None;
    if let Some(f) = fallback {
        let cond = cond_of(f);
        let holds = paren(
            &cond,
            &ctx.names,
            Bare::Map(&[("confidence", "confidence".into())]),
            w,
        );
        w.blank();
        match f.action.as_str() {
            "escalate" => {
                let target = f
                    .config
                    .get("target")
                    .and_then(Value::as_str)
                    .unwrap_or("human");
                w.line(format!(
                    "// fallback: escalate to `{target}` when `{}` (the run ends escalated)",
                    cond.replace('\n', " ")
                ));
                let reason = format!(
                    "`fallback condition \\`{}\\` holds (confidence ${{confidence.toFixed(3)}})`",
                    cond.replace('\\', "\\\\")
                        .replace('`', "\\`")
                        .replace("${", "\\${")
                );
                w.open(format!("if {holds} {{"));
                w.line(format!(
                    "flagEscalation({{target: {}, reason: {reason}}})",
                    string(target)
                ));
                w.close("}");
            }
            _ => {
                w.line(format!(
                    "// fallback: when `{}`, the output is the fallback value",
                    cond.replace('\n', " ")
                ));
                let v = value(
                    f.config.get("value").unwrap_or(&Value::Null),
                    &ctx.names,
                    Bare::Keep,
                    w,
                    0,
                );
                w.line(format!("const fallbackHolds = {holds}"));
                chosen = Some(v);
            }
        }
    }
    let out = output(&mut ctx, p, w);
    w.blank();
    match chosen {
        Some(fb) => w.line(format!("const output = fallbackHolds ? {fb} : {out}")),
        None => w.line(format!("const output = {out}")),
    }
    w.line("output ~> confidence");
    header
}

/// True when a step jumps (so the steps run as a step machine).
fn jumps(s: &Step) -> bool {
    if s.then.is_some() {
        return true;
    }
    let jump = |j: &Jump| match j {
        Jump::Finish(_) | Jump::Next { .. } | Jump::Retry { .. } => true,
        Jump::Inline(inner) => jumps(inner),
        _ => false,
    };
    match &s.kind {
        StepKind::Switch { cases, .. } => cases.iter().any(|c| jump(&c.jump)),
        StepKind::Gate {
            on_pass, on_fail, ..
        } => jump(on_pass) || jump(on_fail),
        StepKind::Parallel(b) => b.iter().any(jumps),
        _ => false,
    }
}

/// The YAML names a step binds (its id, output name, groups, assigned names, inner steps).
fn bound_names(s: &Step, out: &mut Vec<String>) {
    out.push(s.id.value.clone());
    if let Some(StepOutput::Name(n)) = &s.output {
        out.push(n.value.clone());
    }
    match &s.kind {
        StepKind::Agent { phase, .. } => out.extend(phase.groups.iter().map(|g| g.name.clone())),
        StepKind::Parallel(b) => b.iter().for_each(|x| bound_names(x, out)),
        StepKind::Loop { steps, .. } => steps.iter().for_each(|x| bound_names(x, out)),
        StepKind::Switch { cases, .. } => {
            for c in cases {
                if let Jump::Inline(i) = &c.jump {
                    bound_names(i, out);
                }
            }
        }
        StepKind::Assign(v) => {
            out.extend(v.as_object().into_iter().flatten().map(|(k, _)| k.clone()))
        }
        _ => {}
    }
}

/// Declares the variables of these names (`let x = null`) and binds them as records.
fn declare(names: &[String], w: &mut Writer) {
    let mut seen: Vec<String> = Vec::new();
    for n in names {
        let id = ident(n);
        if seen.contains(&id) {
            continue;
        }
        w.line(format!("let {id} = null"));
        seen.push(id);
    }
}

fn steps_prelude(ctx: &mut Ctx<'_>, p: &YamlPattern, w: &mut Writer) {
    let mut any = false;
    if ctx.last {
        w.blank();
        w.line("// `$final`: the record of the last executed step, unless a case finishes with another");
        w.line("let last = null");
        w.line("let finished = null");
        any = true;
    }
    if ctx.contributed {
        if !any {
            w.blank();
        }
        w.line("// records of the executed agent steps, for the pattern confidence (§1.7)");
        w.line("const contributed = {}");
        any = true;
    }
    if ctx.steps {
        if !any {
            w.blank();
        }
        w.line("// `$steps`: each step's output and confidence");
        w.line("const steps = {}");
        ctx.names.plain("steps", "steps");
    }
    if ctx.machine {
        let mut names = Vec::new();
        p.steps.iter().for_each(|s| bound_names(s, &mut names));
        w.blank();
        w.line("// step records (the steps below jump, so they run as a step machine)");
        declare(&names, w);
        for n in &names {
            ctx.names.record(n, ident(n), true, Vec::new());
        }
    }
}

/// Whether a top-level selection and execution say nothing `@agents` cannot.
fn header_agents(ph: &Phase) -> Option<Value> {
    let a = ph.agents.as_ref()?;
    let sel = a.config.as_object()?;
    for (k, v) in sel {
        match k.as_str() {
            "min" | "max" | "taskTimeout" | "retries" => {}
            "capabilities" => {
                let lits = v.as_array().is_some_and(|c| {
                    c.iter()
                        .all(|x| x.as_str().is_some_and(|s| !s.starts_with('$')))
                });
                if !lits {
                    return None;
                }
            }
            _ => return None,
        }
    }
    let exec = ph
        .execution
        .as_ref()
        .map_or_else(|| json!({"strategy": "parallel"}), |e| e.config.clone());
    let plain = exec
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| k == "strategy" && v == "parallel"));
    if !plain {
        return None;
    }
    let mut h = Map::new();
    h.insert("capabilities".into(), a.config["capabilities"].clone());
    h.insert("minAgents".into(), json!(a.min));
    if let Some(m) = a.max {
        h.insert("maxAgents".into(), json!(m));
    }
    for k in ["taskTimeout", "retries"] {
        if let Some(v) = sel.get(k) {
            h.insert(k.into(), v.clone());
        }
    }
    Some(Value::Object(h))
}

/// A selection with its `$…` capabilities and exclusions as expressions.
fn selection(sel: &Value, names: &Names, w: &mut Writer) -> String {
    let Some(m) = sel.as_object() else {
        return compact(sel);
    };
    let fields: Vec<String> = m
        .iter()
        .map(|(k, v)| {
            let rendered = match (k.as_str(), v) {
                ("capabilities" | "exclude", Value::Array(items)) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|x| match x {
                            Value::String(s) if s.starts_with('$') => {
                                translate(s, names, Bare::Keep, w)
                            }
                            other => compact(other),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                ("capabilities" | "exclude", Value::String(s)) if s.starts_with('$') => {
                    format!("[{}]", translate(s, names, Bare::Keep, w))
                }
                _ => compact(v),
            };
            format!("{}: {rendered}", key(k))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// An aggregation config, its `weights` expressions as Prism.
fn agg_config(config: &Value, names: &Names, w: &mut Writer) -> String {
    let Some(m) = config.as_object() else {
        return compact(config);
    };
    let fields: Vec<String> = m
        .iter()
        .map(|(k, v)| {
            let rendered = match (k.as_str(), v) {
                ("weights", Value::Object(ws)) => format!(
                    "{{{}}}",
                    ws.iter()
                        .map(|(a, x)| {
                            let e = match x {
                                Value::String(s) => translate(s, names, Bare::Keep, w),
                                other => compact(other),
                            };
                            format!("{}: {e}", key(a))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => compact(v),
            };
            format!("{}: {rendered}", key(k))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn describe_aggregation(config: &Value) -> String {
    let strategy = config
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("per field");
    match config.get("method").and_then(Value::as_str) {
        Some(m) => format!("{strategy} ({m})"),
        None => strategy.to_string(),
    }
}

/// The request of a step's dispatch.
fn request(s: Option<&Step>, ph: &Phase, names: &Names, w: &mut Writer) -> String {
    let mut parts = Vec::new();
    if let Some(s) = s {
        parts.push(format!("step: {}", string(&s.id.value)));
        if let StepKind::Agent {
            instructions,
            input,
            ..
        } = &s.kind
        {
            match instructions.as_deref() {
                None | Some("input.task") => {}
                Some(t) if t.contains("{{") => {
                    let v = template(t, names, Bare::Keep, w);
                    w.uses("asText");
                    parts.push(format!("task: asText({v})"));
                }
                Some(t) if t.starts_with('$') => {
                    w.uses("asText");
                    parts.push(format!(
                        "task: asText({})",
                        translate(t, names, Bare::Keep, w)
                    ));
                }
                Some(t) => parts.push(format!("task: {}", string(t))),
            }
            if let Some(shape) = input {
                parts.push(format!("input: {}", value(shape, names, Bare::Keep, w, 1)));
            }
        }
    }
    let exec = ph
        .execution
        .as_ref()
        .map_or_else(|| json!({"strategy": "parallel"}), |e| e.config.clone());
    parts.push(format!("execution: {}", compact(&exec)));
    format!("{{{}}}", parts.join(", "))
}

/// The record expression of a phase from its answers variable.
fn phase_record(ph: &Phase, answers: &str, names: &Names, w: &mut Writer) -> String {
    if let Some(agg) = &ph.aggregation {
        w.uses("isValid");
        return format!(
            "aggregate({answers}.filter(isValid), {})",
            agg_config(&agg.config, names, w)
        );
    }
    let pipeline = ph
        .execution
        .as_ref()
        .is_some_and(|e| e.config.get("steps").is_some());
    if pipeline {
        w.uses("chainRecord");
        return format!("chainRecord({answers})");
    }
    format!("mostConfident({answers})")
}

/// Groups of a phase over its valid results.
fn groups(ctx: &mut Ctx<'_>, ph: &Phase, valid: &str, decl: &str, w: &mut Writer) {
    for g in &ph.groups {
        let id = ident(&g.name);
        w.uses("groupRecord");
        w.line(format!(
            "// group `{}`: {} (take {})",
            g.name,
            g.matcher.replace('\n', " "),
            g.take
        ));
        let scan = crate::pattern::expr::scan(&g.matcher);
        let fields = [
            "result",
            "confidence",
            "agentId",
            "agentName",
            "capabilities",
            "reasoning",
        ];
        let used: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| scan.bare.iter().any(|b| b.name == *f))
            .collect();
        let m = translate(&g.matcher, &ctx.names, Bare::Keep, w);
        let lambda = if used.is_empty() {
            format!("r => {m}")
        } else {
            let binds: Vec<String> = used.iter().map(|f| format!("const {f} = r.{f}")).collect();
            format!("r => {{\n  {}\n  return {m}\n}}", binds.join("\n  "))
        };
        w.line(format!(
            "{decl}{id} = groupRecord({valid}.filter({lambda}), {})",
            string(&g.take)
        ));
        ctx.names.record(&g.name, id, false, Vec::new());
    }
}

/// The top-level phase of a single-phase pattern.
fn top_phase(ctx: &mut Ctx<'_>, ph: &Phase, w: &mut Writer) -> Option<Value> {
    let header = header_agents(ph);
    let has_agents = ph.agents.is_some();
    if !has_agents && ph.aggregation.is_none() && ph.validation.is_none() && ph.groups.is_empty() {
        return None;
    }
    let sel = ph
        .agents
        .as_ref()
        .map(|a| selection(&a.config, &ctx.names, w));
    let req = request(None, ph, &ctx.names, w);
    let dispatch = match &sel {
        Some(s) => format!("await callAgents({s}, {req})"),
        None => "[]".into(),
    };
    w.uses("isValid");
    w.uses("mean");
    let alias = ph
        .aggregation
        .as_ref()
        .map(|a| ident(alias_of(&a.strategy)));
    w.blank();
    match (&header, has_agents) {
        (Some(_), _) => w.line("// agents: the group of `@agents`, called before the script"),
        (None, true) => w.line("// agents: selection and dispatch of the top-level phase"),
        (None, false) => w.line("// no agents: the aggregation sees no results"),
    }
    // A group may take a built-in name (`$results`): the built-in's variable then gets `_`.
    let taken: Vec<String> = ph.groups.iter().map(|g| ident(&g.name)).collect();
    let var = |n: &str| {
        if taken.iter().any(|t| t == n) {
            format!("{n}_")
        } else {
            n.to_string()
        }
    };
    let vars = PhaseVars {
        results: var("results"),
        valid: var("validResults"),
        total: var("totalCount"),
        avg: var("avgConfidence"),
        average: var("averageConfidence"),
    };
    let bind_phase = |ctx: &mut Ctx<'_>| {
        ctx.names.plain("results", vars.results.clone());
        ctx.names.plain("validResults", vars.valid.clone());
        ctx.names.plain("totalCount", vars.total.clone());
        ctx.names.plain("avgConfidence", vars.avg.clone());
        ctx.names.plain("averageConfidence", vars.average.clone());
    };
    let Some(validation) = &ph.validation else {
        let first = if header.is_some() {
            "agentResults".to_string()
        } else {
            dispatch
        };
        w.line(format!("const {} = {first}", vars.results));
        phase_names(w, "const ", &vars);
        bind_phase(ctx);
        groups(ctx, ph, &vars.valid, "const ", w);
        if let (Some(agg), Some(alias)) = (&ph.aggregation, &alias) {
            w.line(format!(
                "// aggregation: {}",
                describe_aggregation(&agg.config)
            ));
            let rec = phase_record(ph, &vars.valid, &ctx.names, w)
                .replace(&format!("{}.filter(isValid)", vars.valid), &vars.valid);
            w.line(format!("const {alias} = {rec}"));
            if alias != "aggregation" {
                w.line(format!("const aggregation = {alias}"));
            }
            let fields = aggregation_fields(&agg.config);
            ctx.names.record(
                alias_of(&agg.strategy),
                alias.clone(),
                false,
                fields.clone(),
            );
            ctx.names
                .record("aggregation", "aggregation", false, fields);
        }
        return header;
    };
    // Validation retries re-run the dispatch, groups and aggregation.
    for n in [&vars.results, &vars.valid] {
        w.line(format!("let {n} = null"));
    }
    for n in [&vars.total, &vars.avg, &vars.average] {
        w.line(format!("let {n} = 0"));
    }
    for g in &ph.groups {
        w.line(format!("let {} = null", ident(&g.name)));
    }
    if let Some(alias) = &alias {
        w.line(format!("let {alias} = null"));
    }
    w.line("let phaseCheck = null");
    w.line("let phaseAttempts = 0");
    w.open("while (true) {");
    w.line("phaseAttempts = phaseAttempts + 1");
    if header.is_some() {
        w.line(format!(
            "{} = phaseAttempts == 1 ? agentResults : {dispatch}",
            vars.results
        ));
    } else {
        w.line(format!("{} = {dispatch}", vars.results));
    }
    phase_names(w, "", &vars);
    bind_phase(ctx);
    groups(ctx, ph, &vars.valid, "", w);
    let record = if let (Some(agg), Some(alias)) = (&ph.aggregation, &alias) {
        w.line(format!(
            "// aggregation: {}",
            describe_aggregation(&agg.config)
        ));
        let rec = phase_record(ph, &vars.valid, &ctx.names, w)
            .replace(&format!("{}.filter(isValid)", vars.valid), &vars.valid);
        w.line(format!("{alias} = {rec}"));
        let fields = aggregation_fields(&agg.config);
        ctx.names
            .record(alias_of(&agg.strategy), alias.clone(), false, fields);
        alias.clone()
    } else {
        phase_record(ph, &vars.results, &ctx.names, w)
    };
    validation_check(
        ctx,
        &validation.config,
        ph,
        &record,
        &vars.results,
        "phaseCheck",
        "phaseAttempts",
        w,
    );
    w.close("}");
    w.line(format!(
        "const validated = settleValidation(phaseCheck.record, phaseCheck.failure, phaseAttempts, {}, null)",
        compact(&validation.config)
    ));
    if ph.aggregation.is_some() {
        w.line("const aggregation = validated.record");
        ctx.names
            .record("aggregation", "aggregation", false, Vec::new());
    }
    w.line("const validation = validated.validation");
    ctx.names.plain("validation", "validation");
    ctx.names.plain("phaseRecord", "validated.record");
    header
}

/// The variables of the top-level phase's built-in names.
struct PhaseVars {
    results: String,
    valid: String,
    total: String,
    avg: String,
    average: String,
}

fn phase_names(w: &mut Writer, decl: &str, v: &PhaseVars) {
    let PhaseVars {
        results,
        valid,
        total,
        avg,
        average,
    } = v;
    w.line(format!("{decl}{valid} = {results}.filter(isValid)"));
    w.line(format!("{decl}{total} = {valid}.length"));
    w.line(format!(
        "{decl}{avg} = mean({valid}.map(r => r.confidence))"
    ));
    w.line(format!("{decl}{average} = {avg}"));
}

/// Inside a validation loop: checks the record, applies `$custom`, and breaks unless the
/// policy retries.
#[allow(clippy::too_many_arguments)]
fn validation_check(
    ctx: &mut Ctx<'_>,
    config: &Value,
    ph: &Phase,
    record: &str,
    answers: &str,
    check: &str,
    attempts: &str,
    w: &mut Writer,
) {
    let mut plain = config.clone();
    let custom = plain.as_object_mut().and_then(|m| m.remove("$custom"));
    let agg = ph
        .aggregation
        .as_ref()
        .map_or("null".to_string(), |a| agg_config(&a.config, &ctx.names, w));
    w.line(format!("// validation: {}", compact(config)));
    w.line(format!(
        "{check} = checkValidation({record}, {answers}, {}, {agg})",
        compact(&plain)
    ));
    if let Some(c) = custom {
        let cond = c
            .get("condition")
            .and_then(Value::as_str)
            .unwrap_or("false");
        let mut names = ctx.names.clone();
        names.record("result", format!("{check}.record"), false, Vec::new());
        let bare = [
            ("confidence", format!("{check}.record.confidence")),
            ("value", format!("{check}.record.value")),
        ];
        let holds = paren(cond, &names, Bare::Map(&bare), w);
        w.open(format!("if ({check}.failure == null && {holds}) {{"));
        match c.get("action").and_then(Value::as_str).unwrap_or("fail") {
            "override" => w.line(format!(
                "{check} = {{record: recordLiteral({}), failure: null}}",
                compact(c.get("value").unwrap_or(&Value::Null))
            )),
            _ => {
                let policy = config
                    .get("onFailure")
                    .and_then(Value::as_str)
                    .unwrap_or("fail");
                w.line(format!(
                    "{check} = {{record: {check}.record, failure: {{kind: \"unmet\", reason: {}, policy: {}}}}}",
                    string(&format!("$custom condition `{cond}` holds")),
                    string(policy)
                ));
            }
        }
        w.close("}");
    }
    let max = config
        .get("maxRetries")
        .and_then(Value::as_u64)
        .unwrap_or(2);
    let delay = config
        .get("retryDelay")
        .and_then(Value::as_u64)
        .unwrap_or(1000);
    w.line(format!(
        "if ({check}.failure == null || {check}.failure.policy != \"retry\" || {attempts} > {max}) {{ break }}"
    ));
    w.line(format!("await sleep({delay})"));
}

/// Writes one step; `top` is true for a step of the top-level list outside the machine.
fn step(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer, top: bool) {
    let simple = top && !ctx.machine && s.condition.is_none() && s.on_error.is_none();
    w.blank();
    w.line(format!("// step `{}` ({})", s.id.value, s.kind.word()));
    if !simple && top && !ctx.machine {
        let mut names = Vec::new();
        bound_names(s, &mut names);
        declare(&names, w);
        for n in &names {
            ctx.names.record(n, ident(n), true, Vec::new());
        }
    }
    let decl = if simple { "const " } else { "" };
    if let Some(cond) = &s.condition {
        let c = paren(cond, &ctx.names, Bare::Keep, w);
        w.open(format!("if {c} {{"));
    }
    let on_error = s
        .on_error
        .as_ref()
        .filter(|e| e.get("type").and_then(Value::as_str).unwrap_or("fail") != "fail");
    if on_error.is_some() {
        w.open("try {");
    }
    step_body(ctx, s, w, decl);
    if let Some(e) = on_error {
        w.mid("} catch (error) {");
        let id = ident(&s.id.value);
        match e.get("type").and_then(Value::as_str) {
            Some("default") => w.line(format!(
                "{id} = {{...recordLiteral({}), success: false, error: error}}",
                compact(e.get("value").unwrap_or(&Value::Null))
            )),
            _ => w.line(format!(
                "{id} = {{value: null, confidence: 0, success: false, error: error}}"
            )),
        }
        if ctx.last {
            w.line(format!("last = {id}"));
        }
        w.close("}");
    }
    if s.condition.is_some() {
        w.mid("} else {");
        w.uses("skipped");
        let id = ident(&s.id.value);
        w.line(format!("{id} = skipped({})", string(&s.id.value)));
        if let Some(StepOutput::Name(n)) = &s.output
            && ident(&n.value) != id
        {
            w.line(format!("{} = {id}", ident(&n.value)));
        }
        w.close("}");
    }
}

/// Binds a step's record under its id and output name and keeps `last`, `steps` and
/// `contributed` (the executor's `set_step_record`).
fn set_record(
    ctx: &mut Ctx<'_>,
    s: &Step,
    rec: &str,
    decl: &str,
    contributes: bool,
    w: &mut Writer,
    fields: Vec<&'static str>,
) {
    let id = ident(&s.id.value);
    if rec != id {
        w.line(format!("{decl}{id} = {rec}"));
    }
    if let Some(StepOutput::Shape(shape)) = &s.output {
        let mut names = ctx.names.clone();
        names.record("result", id.clone(), false, fields.clone());
        let v = value(shape, &names, Bare::Keep, w, 0);
        w.line(format!("{id}.value = {v}"));
    }
    let maybe = !decl.starts_with("const");
    ctx.names.record(
        &s.id.value,
        id.clone(),
        maybe && ctx.machine,
        fields.clone(),
    );
    if let Some(StepOutput::Name(n)) = &s.output {
        let alias = ident(&n.value);
        if alias != id {
            w.line(format!("{decl}{alias} = {id}"));
        }
        ctx.names
            .record(&n.value, alias, maybe && ctx.machine, fields);
    }
    if ctx.steps {
        w.line(format!(
            "steps[{}] = {{output: {id}.value, confidence: {id}.confidence}}",
            string(&s.id.value)
        ));
        if let Some(StepOutput::Name(n)) = &s.output {
            w.line(format!(
                "steps[{}] = {{output: {id}.value, confidence: {id}.confidence}}",
                string(&n.value)
            ));
        }
    }
    if ctx.last {
        w.line(format!("last = {id}"));
    }
    if ctx.contributed && contributes {
        w.line(format!("contributed[{}] = {id}", string(&s.id.value)));
    }
}

fn step_body(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer, decl: &str) {
    let id = ident(&s.id.value);
    match &s.kind {
        StepKind::Agent { phase: ph, .. } => agent_step(ctx, s, ph, w, decl),
        StepKind::Pattern { name, .. } => {
            let resolved = ctx.plan.nodes().find_map(|(_, n)| match &n.kind {
                NodeKind::SubPattern {
                    resolved: Some(r),
                    input,
                    ..
                } if n.step.as_deref() == Some(s.id.value.as_str()) => Some((
                    r.get("path")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    input.clone(),
                )),
                _ => None,
            });
            let (path, input) = resolved.unwrap_or_default();
            let input = input.map_or("null".to_string(), |i| {
                value(&i, &ctx.names, Bare::Keep, w, 0)
            });
            w.line(format!(
                "{decl}{id} = await runPattern({}, {}, {input}, {})",
                string(name),
                string(&path),
                string(&s.id.value)
            ));
            set_record(ctx, s, &id, decl, true, w, STEP_FIELDS.to_vec());
        }
        StepKind::Parallel(branches) => {
            let mut names = Vec::new();
            branches.iter().for_each(|b| bound_names(b, &mut names));
            if !ctx.machine && decl.starts_with("const") {
                declare(&names, w);
            }
            for n in &names {
                ctx.names.record(n, ident(n), true, Vec::new());
            }
            w.line("// branches: the plan runs them concurrently, here they run in order");
            for b in branches {
                step_inner(ctx, b, w);
            }
            w.line(format!("{decl}{id} = null"));
            ctx.names.record(&s.id.value, id, true, Vec::new());
        }
        StepKind::Switch { value: v, cases } => switch(ctx, s, v, cases, w, decl),
        StepKind::Gate {
            condition,
            on_pass,
            on_fail,
        } => gate(ctx, s, condition, on_pass, on_fail, w, decl),
        StepKind::Loop {
            steps,
            max_iterations,
            condition,
        } => {
            let mut names = Vec::new();
            steps.iter().for_each(|b| bound_names(b, &mut names));
            if !ctx.machine {
                declare(&names, w);
            }
            for n in &names {
                ctx.names.record(n, ident(n), true, Vec::new());
            }
            ctx.names.plain("iteration", "iteration");
            w.line("let iteration = 0");
            w.open(format!("while (iteration < {max_iterations}) {{"));
            w.line("iteration = iteration + 1");
            for b in steps {
                step_inner(ctx, b, w);
            }
            if let Some(c) = condition {
                let c = paren(c, &ctx.names, Bare::Keep, w);
                w.line(format!("if (!{c}) {{ break }}"));
            }
            w.close("}");
            let exit = steps
                .last()
                .map_or("null".to_string(), |b| ident(&b.id.value));
            let rec = if ctx.last {
                format!(
                    "{{...({exit} ?? last ?? {{value: null, confidence: 0}}), iterations: iteration}}"
                )
            } else {
                format!("{{...({exit} ?? {{value: null, confidence: 0}}), iterations: iteration}}")
            };
            w.line(format!("{decl}{id} = {rec}"));
            set_record(ctx, s, &id, decl, false, w, vec!["iterations"]);
        }
        StepKind::Batch {
            items,
            task,
            concurrency,
        } => {
            w.uses("asItems");
            w.uses("mapLimit");
            w.uses("mean");
            let list = translate(items, &ctx.names, Bare::Keep, w);
            let saved = ctx.names.clone();
            let saved_machine = ctx.machine;
            ctx.machine = false;
            ctx.names.plain("item", "item");
            ctx.names.plain("index", "index");
            w.open(format!(
                "const {id}_items = await mapLimit(asItems({list}), {concurrency}, async (item, index) => {{"
            ));
            let mut names = Vec::new();
            task.iter().for_each(|b| bound_names(b, &mut names));
            declare(&names, w);
            for n in &names {
                ctx.names.record(n, ident(n), true, Vec::new());
            }
            for b in task {
                step_inner(ctx, b, w);
            }
            let exit = task
                .last()
                .map_or("null".to_string(), |b| ident(&b.id.value));
            w.line(format!("return {exit} ?? ({{value: null, confidence: 0}})"));
            w.close("})");
            ctx.names = saved;
            ctx.machine = saved_machine;
            w.line(format!(
                "{decl}{id} = {{value: {id}_items.map(r => r.value), confidence: mean({id}_items.map(r => r.confidence))}}"
            ));
            set_record(ctx, s, &id, decl, false, w, Vec::new());
        }
        StepKind::Assign(values) => {
            let mut parts = Vec::new();
            for (k, v) in values.as_object().into_iter().flatten() {
                let e = value(v, &ctx.names, Bare::Keep, w, 0);
                let name = ident(k);
                w.line(format!("{decl}{name} = {{value: {e}, confidence: 1}}"));
                ctx.names.record(k, name.clone(), false, Vec::new());
                parts.push(format!("{}: {name}.value", key(k)));
            }
            w.line(format!(
                "{decl}{id} = {{value: {{{}}}, confidence: 1}}",
                parts.join(", ")
            ));
            ctx.names.record(&s.id.value, id, false, Vec::new());
        }
        StepKind::Default(v) => {
            let e = value(v, &ctx.names, Bare::Keep, w, 0);
            w.line(format!("{decl}{id} = recordLiteral({e})"));
            set_record(ctx, s, &id, decl, false, w, Vec::new());
        }
        StepKind::Escalate { to, context } => {
            let c = context.as_ref().map_or("null".to_string(), |c| {
                value(c, &ctx.names, Bare::Keep, w, 0)
            });
            w.line(format!(
                "escalate({{target: {}, reason: {}, context: {c}}})",
                string(to.as_deref().unwrap_or("human")),
                string(&format!("step `{}` escalated", s.id.value))
            ));
        }
    }
}

/// A step nested in a parallel step, loop or batch (its variables are declared).
fn step_inner(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer) {
    let machine = ctx.machine;
    ctx.machine = false;
    w.line(format!("// step `{}` ({})", s.id.value, s.kind.word()));
    if let Some(cond) = &s.condition {
        let c = paren(cond, &ctx.names, Bare::Keep, w);
        w.open(format!("if {c} {{"));
    }
    let on_error = s
        .on_error
        .as_ref()
        .filter(|e| e.get("type").and_then(Value::as_str).unwrap_or("fail") != "fail");
    if on_error.is_some() {
        w.open("try {");
    }
    step_body(ctx, s, w, "");
    let id = ident(&s.id.value);
    if let Some(e) = on_error {
        w.mid("} catch (error) {");
        match e.get("type").and_then(Value::as_str) {
            Some("default") => w.line(format!(
                "{id} = {{...recordLiteral({}), success: false, error: error}}",
                compact(e.get("value").unwrap_or(&Value::Null))
            )),
            _ => w.line(format!(
                "{id} = {{value: null, confidence: 0, success: false, error: error}}"
            )),
        }
        if ctx.last {
            w.line(format!("last = {id}"));
        }
        w.close("}");
    }
    if s.condition.is_some() {
        w.mid("} else {");
        w.uses("skipped");
        w.line(format!("{id} = skipped({})", string(&s.id.value)));
        if let Some(StepOutput::Name(n)) = &s.output
            && ident(&n.value) != id
        {
            w.line(format!("{} = {id}", ident(&n.value)));
        }
        w.close("}");
    }
    ctx.machine = machine;
}

fn agent_step(ctx: &mut Ctx<'_>, s: &Step, ph: &Phase, w: &mut Writer, decl: &str) {
    let id = ident(&s.id.value);
    let answers = format!("{id}_answers");
    let Some(a) = &ph.agents else {
        w.line(format!("{decl}{id} = recordLiteral(null)"));
        set_record(ctx, s, &id, decl, true, w, Vec::new());
        return;
    };
    let sel = selection(&a.config, &ctx.names, w);
    let req = request(Some(s), ph, &ctx.names, w);
    let dispatch = format!("await callAgents({sel}, {req})");
    let agg_fields = ph
        .aggregation
        .as_ref()
        .map(|g| aggregation_fields(&g.config))
        .unwrap_or_default();
    let Some(validation) = &ph.validation else {
        w.line(format!("const {answers} = {dispatch}"));
        if !ph.groups.is_empty() {
            w.uses("isValid");
            w.line(format!("const {id}_valid = {answers}.filter(isValid)"));
            groups(ctx, ph, &format!("{id}_valid"), "", w);
        }
        if let Some(agg) = &ph.aggregation {
            w.line(format!(
                "// aggregation: {}",
                describe_aggregation(&agg.config)
            ));
        }
        let rec = phase_record(ph, &answers, &ctx.names, w);
        w.line(format!(
            "{decl}{id} = stepRecord({rec}, {}, {answers})",
            string(&s.id.value)
        ));
        let mut fields = STEP_FIELDS.to_vec();
        fields.extend(agg_fields);
        set_record(ctx, s, &id, decl, true, w, fields);
        return;
    };
    let check = format!("{id}_check");
    let attempts = format!("{id}_attempts");
    w.line(format!("let {answers} = null"));
    w.line(format!("let {check} = null"));
    w.line(format!("let {attempts} = 0"));
    w.open("while (true) {");
    w.line(format!("{attempts} = {attempts} + 1"));
    w.line(format!("{answers} = {dispatch}"));
    if !ph.groups.is_empty() {
        w.uses("isValid");
        w.line(format!("const {id}_valid = {answers}.filter(isValid)"));
        groups(ctx, ph, &format!("{id}_valid"), "", w);
    }
    let rec = phase_record(ph, &answers, &ctx.names, w);
    validation_check(
        ctx,
        &validation.config,
        ph,
        &rec,
        &answers,
        &check,
        &attempts,
        w,
    );
    w.close("}");
    w.line(format!(
        "const {id}_validated = settleValidation({check}.record, {check}.failure, {attempts}, {}, {})",
        compact(&validation.config),
        string(&s.id.value)
    ));
    w.line(format!(
        "{decl}{id} = {{...stepRecord({id}_validated.record, {}, {answers}), passed: {id}_validated.validation.passed, attempts: {id}_validated.validation.attempts, validation: {id}_validated.validation}}",
        string(&s.id.value)
    ));
    let mut fields = STEP_FIELDS.to_vec();
    fields.extend(["passed", "validation"]);
    set_record(ctx, s, &id, decl, true, w, fields);
}

/// Where a jump goes, as statements (machine mode: they set `next`).
fn jump_code(ctx: &mut Ctx<'_>, s: &Step, j: &Jump, label: &str, kind: &str, w: &mut Writer) {
    let following = following(ctx, &s.id.value);
    match j {
        Jump::Continue => goto(ctx, following.as_deref(), w),
        Jump::Finish(r) => {
            let rec = match r.as_deref() {
                Some(text) => {
                    let name = text.trim_start_matches('$');
                    let name = name.split('.').next().unwrap_or(name);
                    match ctx.names.get(name) {
                        Some(b) if b.kind == super::expr::Kind::Record => b.ident.clone(),
                        Some(b) => format!("{{value: {}, confidence: 1}}", b.ident),
                        None => format!(
                            "{{value: {}, confidence: 1}}",
                            translate(text, &ctx.names, Bare::Keep, w)
                        ),
                    }
                }
                None => "last".to_string(),
            };
            if ctx.last {
                if rec == "last" {
                    w.line("finished = last");
                } else {
                    // An unset record finishes as null (the executor's unbound reference).
                    w.line(format!(
                        "finished = {rec} ?? ({{value: null, confidence: 1}})"
                    ));
                }
            }
            w.line("next = null // finish: go to the output");
        }
        Jump::Next { target, max } => {
            let forward = position(ctx, &target.value) > position(ctx, &s.id.value);
            if forward {
                goto(ctx, Some(&target.value), w);
            } else {
                back(ctx, &target.value, *max, following.as_deref(), w);
            }
        }
        Jump::Retry { target, max } => {
            let to = match target {
                Some(t) => Some(t.value.clone()),
                None => preceding_agent(ctx, &s.id.value),
            };
            match to {
                Some(t) => back(ctx, &t, *max, following.as_deref(), w),
                None => goto(ctx, following.as_deref(), w),
            }
        }
        Jump::Escalate(to) => w.line(format!(
            "escalate({{target: {}, reason: {}, context: null}})",
            string(to.as_deref().unwrap_or("human")),
            string(&format!("step `{}` escalated", s.id.value))
        )),
        Jump::Fail => {
            let msg = if kind == "gate" {
                format!("gate {} failed", s.id.value)
            } else {
                format!("switch {}: case `{label}` fails the run", s.id.value)
            };
            w.line(format!("fail({})", string(&msg)));
        }
        Jump::Inline(inner) => {
            step_inner(ctx, inner, w);
            goto(ctx, following.as_deref(), w);
        }
    }
}

fn position(ctx: &Ctx<'_>, id: &str) -> usize {
    ctx.order.iter().position(|s| s == id).unwrap_or(0)
}

fn following(ctx: &Ctx<'_>, id: &str) -> Option<String> {
    let i = ctx.order.iter().position(|s| s == id)?;
    ctx.order.get(i + 1).cloned()
}

fn preceding_agent(ctx: &Ctx<'_>, id: &str) -> Option<String> {
    let i = ctx.order.iter().position(|s| s == id)?;
    let agents: Vec<String> = ctx
        .plan
        .nodes()
        .filter(|(_, n)| matches!(n.kind, NodeKind::AgentGroup { .. }))
        .filter_map(|(_, n)| n.step.clone())
        .collect();
    ctx.order[..i]
        .iter()
        .rev()
        .find(|s| agents.contains(s))
        .cloned()
}

fn goto(ctx: &Ctx<'_>, target: Option<&str>, w: &mut Writer) {
    if ctx.machine {
        match target {
            Some(t) => w.line(format!("next = {}", string(t))),
            None => w.line("next = null"),
        }
    }
}

/// A backward jump, taken at most `max` times from this site.
fn back(ctx: &mut Ctx<'_>, target: &str, max: u32, following: Option<&str>, w: &mut Writer) {
    ctx.sites += 1;
    let counter = format!("jumps{}", ctx.sites);
    w.open(format!("if ({counter} < {max}) {{"));
    w.line(format!("{counter} = {counter} + 1"));
    w.line(format!(
        "next = {} // back, at most {max} times",
        string(target)
    ));
    w.mid("} else {");
    goto(ctx, following, w);
    w.close("}");
    ctx.counters.push(counter);
}

fn switch(
    ctx: &mut Ctx<'_>,
    s: &Step,
    v: &str,
    cases: &[crate::pattern::model::Case],
    w: &mut Writer,
    decl: &str,
) {
    let id = ident(&s.id.value);
    let val = format!("{id}_value");
    if decl.starts_with("const") {
        w.line(format!("let {id} = null"));
    }
    let decl = "";
    let e = translate(v, &ctx.names, Bare::Keep, w);
    w.line(format!("const {val} = {e}"));
    let mut first = true;
    let mut has_default = false;
    for c in cases {
        if c.label == "default" {
            has_default = true;
            continue;
        }
        let test = match &c.condition {
            Some(cond) => case_test(cond, &val, &ctx.names, w),
            None => {
                w.uses("isLabel");
                format!("isLabel({val}, {})", string(&c.label))
            }
        };
        let kw = if first { "if" } else { "} else if" };
        if first {
            w.open(format!("{kw} ({test}) {{"));
        } else {
            w.mid(format!("{kw} ({test}) {{"));
        }
        first = false;
        w.line(format!(
            "{decl}{id} = {{value: {val}, confidence: 1, case: {}}}",
            string(&c.label)
        ));
        jump_code(ctx, s, &c.jump, &c.label, "switch", w);
    }
    let default = cases.iter().find(|c| c.label == "default");
    if first {
        w.open("{");
    } else {
        w.mid("} else {");
    }
    match default {
        Some(c) if has_default => {
            w.line(format!(
                "{decl}{id} = {{value: {val}, confidence: 1, case: \"default\"}}"
            ));
            jump_code(ctx, s, &c.jump, "default", "switch", w);
        }
        _ => w.line(format!(
            "fail({} + JSON.stringify({val}))",
            string(&format!("switch {}: no case matches ", s.id.value))
        )),
    }
    w.close("}");
    ctx.names.record(&s.id.value, id, true, vec!["case"]);
}

/// A switch case condition: `gte 0.8` form on a number, else an expression over `value`.
fn case_test(cond: &str, val: &str, names: &Names, w: &mut Writer) -> String {
    let mut parts = cond.split_whitespace();
    if let (Some(op), Some(num), None) = (parts.next(), parts.next(), parts.next())
        && num.parse::<f64>().is_ok()
    {
        let op = match op {
            "eq" => Some("=="),
            "ne" => Some("!="),
            "gt" => Some(">"),
            "gte" => Some(">="),
            "lt" => Some("<"),
            "lte" => Some("<="),
            _ => None,
        };
        if let Some(op) = op {
            return format!("{val} {op} {num}");
        }
    }
    paren(cond, names, Bare::Map(&[("value", val.to_string())]), w)
}

fn gate(
    ctx: &mut Ctx<'_>,
    s: &Step,
    condition: &Value,
    on_pass: &Jump,
    on_fail: &Jump,
    w: &mut Writer,
    decl: &str,
) {
    let id = ident(&s.id.value);
    let test = |c: &Value, ctx: &Ctx<'_>, w: &mut Writer| match c {
        Value::String(t) => paren(t, &ctx.names, Bare::Keep, w),
        Value::Bool(b) => b.to_string(),
        other => format!("({})", literal(other)),
    };
    let passed = match condition {
        Value::Object(m) if m.contains_key("$all") || m.contains_key("$any") => {
            let all = m.contains_key("$all");
            let body = if all { &m["$all"] } else { &m["$any"] };
            match body {
                Value::Array(items) => {
                    let tests: Vec<String> = items.iter().map(|i| test(i, ctx, w)).collect();
                    let how = if all { "every" } else { "some" };
                    format!("[{}].{how}(x => x ? true : false)", tests.join(", "))
                }
                other => test(other, ctx, w),
            }
        }
        other => test(other, ctx, w),
    };
    w.line(format!("const {id}_passed = {passed} ? true : false"));
    w.line(format!(
        "{decl}{id} = {{value: {id}_passed, confidence: 1, passed: {id}_passed}}"
    ));
    ctx.names
        .record(&s.id.value, id.clone(), false, vec!["passed"]);
    w.open(format!("if ({id}_passed) {{"));
    jump_code(ctx, s, on_pass, "pass", "gate", w);
    w.mid("} else {");
    jump_code(ctx, s, on_fail, "fail", "gate", w);
    w.close("}");
}

/// The step machine: each pass runs the step named by `next`.
fn machine(ctx: &mut Ctx<'_>, steps: &[Step], w: &mut Writer) {
    let start = w.mark();
    w.blank();
    w.line(format!(
        "let next = {}",
        steps
            .first()
            .map_or("null".to_string(), |s| string(&s.id.value))
    ));
    w.open("while (next != null) {");
    for (i, s) in steps.iter().enumerate() {
        let kw = if i == 0 { "if" } else { "} else if" };
        if i == 0 {
            w.open(format!("{kw} (next == {}) {{", string(&s.id.value)));
        } else {
            w.mid(format!("{kw} (next == {}) {{", string(&s.id.value)));
        }
        machine_step(ctx, s, w);
    }
    w.mid("} else {");
    w.line("next = null");
    w.close("}");
    w.close("}");
    let counters = std::mem::take(&mut ctx.counters);
    if !counters.is_empty() {
        let decls: Vec<String> = counters.iter().map(|c| format!("let {c} = 0")).collect();
        w.insert_at(
            start,
            &format!(
                "\n// backward jumps taken so far, per site\n{}\n",
                decls.join("\n")
            ),
        );
    }
}

fn machine_step(ctx: &mut Ctx<'_>, s: &Step, w: &mut Writer) {
    w.line(format!("// step `{}` ({})", s.id.value, s.kind.word()));
    let following = following(ctx, &s.id.value);
    let jumps_itself = matches!(s.kind, StepKind::Switch { .. } | StepKind::Gate { .. });
    if let Some(cond) = &s.condition {
        let c = paren(cond, &ctx.names, Bare::Keep, w);
        w.open(format!("if (!{c}) {{"));
        w.uses("skipped");
        let id = ident(&s.id.value);
        w.line(format!("{id} = skipped({})", string(&s.id.value)));
        if let Some(StepOutput::Name(n)) = &s.output
            && ident(&n.value) != id
        {
            w.line(format!("{} = {id}", ident(&n.value)));
        }
        then_or_next(ctx, s, following.as_deref(), w);
        w.mid("} else {");
    }
    let on_error = s
        .on_error
        .as_ref()
        .filter(|e| e.get("type").and_then(Value::as_str).unwrap_or("fail") != "fail");
    if on_error.is_some() {
        w.open("try {");
    }
    step_body(ctx, s, w, "");
    if let Some(e) = on_error {
        let id = ident(&s.id.value);
        w.mid("} catch (error) {");
        match e.get("type").and_then(Value::as_str) {
            Some("default") => w.line(format!(
                "{id} = {{...recordLiteral({}), success: false, error: error}}",
                compact(e.get("value").unwrap_or(&Value::Null))
            )),
            _ => w.line(format!(
                "{id} = {{value: null, confidence: 0, success: false, error: error}}"
            )),
        }
        if ctx.last {
            w.line(format!("last = {id}"));
        }
        w.close("}");
    }
    if !jumps_itself {
        then_or_next(ctx, s, following.as_deref(), w);
    }
    if s.condition.is_some() {
        w.close("}");
    }
}

/// After a step: its `then.next` (forward, or back at most twice), else the next step.
fn then_or_next(ctx: &mut Ctx<'_>, s: &Step, following: Option<&str>, w: &mut Writer) {
    match &s.then {
        Some(t) if position(ctx, &t.value) > position(ctx, &s.id.value) => {
            goto(ctx, Some(&t.value), w)
        }
        Some(t) => back(ctx, &t.value, 2, following, w),
        None => goto(ctx, following, w),
    }
}

fn confidence(ctx: &mut Ctx<'_>, p: &YamlPattern, method: &str, w: &mut Writer) {
    let multi = !p.steps.is_empty();
    let valid = if multi {
        "Object.values(contributed).map(r => r.confidence)".to_string()
    } else if let Some(b) = ctx.names.get("validResults") {
        format!("{}.map(r => r.confidence)", b.ident)
    } else {
        "[]".to_string()
    };
    let config = p
        .confidence
        .as_ref()
        .map_or(Value::Null, |c| c.config.clone());
    w.blank();
    w.line(format!("// confidence: {method} (§1.7)"));
    w.uses("clamp");
    let c = match method {
        "aggregation" => {
            if ctx.names.has("aggregation") {
                "aggregation.confidence".to_string()
            } else {
                "0".to_string()
            }
        }
        "final" => {
            if multi {
                "(finished ?? last)?.confidence ?? 0".to_string()
            } else {
                "0".to_string()
            }
        }
        "min" => {
            w.uses("lowest");
            format!("lowest({valid})")
        }
        "max" => {
            w.uses("highest");
            format!("highest({valid})")
        }
        "weighted" => match config.get("weights").and_then(Value::as_object) {
            Some(ws) if !ws.is_empty() => {
                let mut terms = Vec::new();
                let mut den = 0.0;
                for (name, weight) in ws {
                    let wv = weight.as_f64().unwrap_or(0.0);
                    den += wv;
                    let c = match ctx.names.get(name) {
                        Some(b) if b.kind == super::expr::Kind::Record => {
                            format!("({}?.confidence ?? 0)", b.ident)
                        }
                        _ => "0".into(),
                    };
                    terms.push(format!("{wv} * {c}"));
                }
                if den > 0.0 {
                    format!("({}) / {den}", terms.join(" + "))
                } else {
                    "0".into()
                }
            }
            _ => {
                w.uses("mean");
                format!("mean({valid})")
            }
        },
        "custom" => {
            let x = config
                .get("expression")
                .and_then(Value::as_str)
                .unwrap_or("0");
            w.uses("asNumber");
            format!("asNumber({})", translate(x, &ctx.names, Bare::Keep, w))
        }
        _ => {
            w.uses("mean");
            format!("mean({valid})")
        }
    };
    w.line(format!("const confidence = clamp({c})"));
}

fn output(ctx: &mut Ctx<'_>, p: &YamlPattern, w: &mut Writer) -> String {
    let text = ctx.plan.source.as_ref();
    if text.contains("$execution") {
        w.line("const execution = executionInfo()");
        ctx.names.plain("execution", "execution");
    }
    if !p.steps.is_empty() && ctx.last {
        w.line("const final = finished ?? last");
        ctx.names.record("final", "final", true, Vec::new());
    }
    value(&p.output.value, &ctx.names, Bare::Keep, w, 0)
}
