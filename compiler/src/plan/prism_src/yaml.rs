//! YAML patterns (§1) as Prism: the top-level phase or the steps in order (a step machine
//! when gates, switches or `then` jump), then the pattern confidence (§1.7), the top-level
//! fallback and the output.

use serde_json::{Map, Value, json};

use super::expr::{Bare, Names, paren, template, translate, tree};
use super::{Writer, compact, ident, key, string};
use crate::pattern::model::{
    Fallback, Jump, Phase, Step, StepKind, StepOutput, Validation, YamlPattern, alias_of,
};
use crate::plan::Plan;
use crate::plan::output::OutputValue;
use crate::plan::settings::{ExecutionSettings, ExecutionStrategy};

/// The fields every agent step record has.
pub(super) const STEP_FIELDS: &[&str] = &[
    "success", "agents", "results", "attempts", "source", "error",
];

/// The fields an aggregation record always has (the one list of `pattern::fields`; a
/// consensus over `fields` has only its verdict and the fields).
pub(super) fn aggregation_fields(config: &Value) -> Vec<&'static str> {
    match config.get("strategy").and_then(Value::as_str) {
        Some("consensus") if config.get("fields").is_some() => vec!["reached", "fields"],
        Some(s @ ("voting" | "consensus")) => crate::pattern::fields::aggregation_fields(s)
            .iter()
            .copied()
            .filter(|f| *f != "fields")
            .collect(),
        Some("merge" | "first" | "best") => Vec::new(),
        _ => vec!["fields"],
    }
}

pub(super) struct Ctx<'a> {
    pub(super) plan: &'a Plan,
    pub(super) names: Names,
    /// `last` (the last executed step's record) is kept.
    pub(super) last: bool,
    /// `contributed` (records of executed agent and composition steps) is kept.
    pub(super) contributed: bool,
    /// `steps` (`$steps`) is kept.
    pub(super) steps: bool,
    /// Steps run as a step machine (`next` names the step to run).
    pub(super) machine: bool,
    /// Jump sites so far (for their counters).
    pub(super) sites: usize,
    /// The top-level steps' ids in order (machine targets).
    pub(super) order: Vec<String>,
    /// Counters of backward-jump sites, declared before the step machine.
    pub(super) counters: Vec<String>,
}

/// Writes the script of a YAML pattern; returns the `@agents` header value when the
/// top-level phase dispatches through it.
pub(super) fn body(plan: &Plan, p: &YamlPattern, w: &mut Writer) -> Option<Value> {
    let method = confidence_method(p);
    let mut ctx = context(plan, p, method);
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
            super::steps::machine(&mut ctx, &p.steps, w);
        } else {
            for s in &p.steps {
                super::steps::step(&mut ctx, s, w, true);
            }
        }
    }
    confidence(&mut ctx, p, method, w);
    if let Some(f) = retry {
        retry_runs(&mut ctx, p, f, w);
        return header;
    }
    let chosen = p.fallback.as_ref().and_then(|f| fallback_when(&ctx, f, w));
    let out = output(&mut ctx, p, w);
    w.blank();
    match chosen {
        Some(fb) => w.line(format!("const output = fallbackHolds ? {fb} : {out}")),
        None => w.line(format!("const output = {out}")),
    }
    w.line("output ~> confidence");
    header
}

/// The pattern's confidence method: its own, else `final` with steps, `aggregation` with an
/// aggregation, `average` otherwise.
fn confidence_method(p: &YamlPattern) -> &str {
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
        })
}

/// What the script keeps for a pattern with steps (`last`, `contributed`, `steps`), as its
/// text and confidence method need, and whether the steps run as a step machine.
fn context<'p>(plan: &'p Plan, p: &YamlPattern, method: &str) -> Ctx<'p> {
    let text = plan.source.as_ref();
    let weights_empty = p
        .confidence
        .as_ref()
        .and_then(|c| c.settings.weights.as_ref())
        .is_none_or(|m| m.is_empty());
    let multi = !p.steps.is_empty();
    Ctx {
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
                        .and_then(|c| c.settings.expression.as_deref())
                        .is_some_and(|e| e.contains("steps")))),
        machine: p.steps.iter().any(jumps),
        sites: 0,
        order: p.steps.iter().map(|s| s.id.value.clone()).collect(),
        counters: Vec::new(),
    }
}

/// A fallback's condition, `true` without one.
fn fallback_condition(f: &Fallback) -> String {
    f.settings
        .condition
        .as_deref()
        .unwrap_or("true")
        .to_string()
}

/// The end of `attempt()` and the runs of a `retry` fallback: again while its condition holds,
/// at most `maxRetries` times, keeping the most confident run.
fn retry_runs(ctx: &mut Ctx<'_>, p: &YamlPattern, f: &Fallback, w: &mut Writer) {
    let cond = fallback_condition(f);
    let holds = translate(
        &cond,
        &ctx.names,
        Bare::Map(&[("confidence", "confidence".into())]),
        w,
    );
    let out = output(ctx, p, w);
    w.line(format!(
        "return ({{confidence: confidence, holds: () => ({holds}), render: () => ({out})}})"
    ));
    w.close("}");
    let max = f.settings.max_retries.unwrap_or(3);
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
}

/// An `escalate` fallback flags the escalation when its condition holds; any other gives the
/// fallback value (returned) that the output takes when `fallbackHolds`.
fn fallback_when(ctx: &Ctx<'_>, f: &Fallback, w: &mut Writer) -> Option<String> {
    let cond = fallback_condition(f);
    let holds = paren(
        &cond,
        &ctx.names,
        Bare::Map(&[("confidence", "confidence".into())]),
        w,
    );
    w.blank();
    match f.action.as_str() {
        "escalate" => {
            let target = f.settings.target.as_deref().unwrap_or("human");
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
            None
        }
        _ => {
            w.line(format!(
                "// fallback: when `{}`, the output is the fallback value",
                cond.replace('\n', " ")
            ));
            let null = OutputValue::Literal(Value::Null);
            let v = tree(
                f.settings.value.as_ref().unwrap_or(&null),
                &ctx.names,
                Bare::Keep,
                w,
                0,
            );
            w.line(format!("const fallbackHolds = {holds}"));
            Some(v)
        }
    }
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
pub(super) fn bound_names(s: &Step, out: &mut Vec<String>) {
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
        StepKind::Assign(v) => out.extend(v.keys().cloned()),
        _ => {}
    }
}

/// Declares the variables of these names (`let x = null`) and binds them as records.
pub(super) fn declare(names: &[String], w: &mut Writer) {
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
    let config = a.selection.to_json();
    let sel = config.as_object()?;
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
    let plain = ph.execution.as_ref().is_none_or(|e| {
        e.settings.written.iter().all(|&k| k == "strategy")
            && e.settings.strategy() == ExecutionStrategy::Parallel
    });
    if !plain {
        return None;
    }
    // A `.prism` group's phase ends after `@timeout` (300 s by default): it must not cut a
    // call the YAML would wait for (each call: `taskTimeout` × (1 + `retries`) plus backoff).
    let task = sel
        .get("taskTimeout")
        .and_then(Value::as_u64)
        .unwrap_or(30_000);
    let retries = sel
        .get("retries")
        .and_then(Value::as_u64)
        .unwrap_or(2)
        .min(16);
    let longest = task
        .saturating_mul(retries + 1)
        .saturating_add(1000u64.saturating_mul((1u64 << retries) - 1));
    if longest >= 300_000 {
        return None;
    }
    let mut h = Map::new();
    h.insert("capabilities".into(), config["capabilities"].clone());
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
pub(super) fn selection(sel: &Value, names: &Names, w: &mut Writer) -> String {
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

pub(super) fn describe_aggregation(config: &Value) -> String {
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
pub(super) fn request(s: Option<&Step>, ph: &Phase, names: &Names, w: &mut Writer) -> String {
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
                parts.push(format!("input: {}", tree(shape, names, Bare::Keep, w, 1)));
            }
        }
    }
    let exec = ph.execution.as_ref().map_or_else(
        || ExecutionSettings::with_strategy(ExecutionStrategy::Parallel),
        |e| e.settings.clone(),
    );
    parts.push(format!("execution: {}", compact(&exec.to_json())));
    format!("{{{}}}", parts.join(", "))
}

/// The record expression of a phase from its answers variable.
pub(super) fn phase_record(ph: &Phase, answers: &str, names: &Names, w: &mut Writer) -> String {
    if let Some(agg) = &ph.aggregation {
        w.uses("isValid");
        return format!(
            "aggregate({answers}.filter(isValid), {})",
            agg_config(&agg.config(), names, w)
        );
    }
    let pipeline = ph
        .execution
        .as_ref()
        .is_some_and(|e| e.settings.steps.is_some());
    if pipeline {
        w.uses("chainRecord");
        return format!("chainRecord({answers})");
    }
    format!("mostConfident({answers})")
}

/// Groups of a phase over its valid results.
pub(super) fn groups(ctx: &mut Ctx<'_>, ph: &Phase, valid: &str, decl: &str, w: &mut Writer) {
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
        .map(|a| selection(&a.selection.to_json(), &ctx.names, w));
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
    let vars = PhaseVars::new(ph);
    let Some(validation) = &ph.validation else {
        let first = if header.is_some() {
            "agentResults".to_string()
        } else {
            dispatch
        };
        unvalidated_phase(ctx, ph, &vars, &first, alias.as_deref(), w);
        return header;
    };
    let first = if header.is_some() {
        format!("phaseAttempts == 1 ? agentResults : {dispatch}")
    } else {
        dispatch
    };
    validated_phase(ctx, ph, validation, &vars, &first, alias.as_deref(), w);
    header
}

/// A top-level phase without validation: its results, groups and aggregation once.
fn unvalidated_phase(
    ctx: &mut Ctx<'_>,
    ph: &Phase,
    vars: &PhaseVars,
    first: &str,
    alias: Option<&str>,
    w: &mut Writer,
) {
    w.line(format!("const {} = {first}", vars.results));
    phase_names(w, "const ", vars);
    vars.bind(ctx);
    groups(ctx, ph, &vars.valid, "const ", w);
    if let (Some(agg), Some(alias)) = (&ph.aggregation, alias) {
        w.line(format!(
            "// aggregation: {}",
            describe_aggregation(&agg.config())
        ));
        let rec = phase_record(ph, &vars.valid, &ctx.names, w)
            .replace(&format!("{}.filter(isValid)", vars.valid), &vars.valid);
        w.line(format!("const {alias} = {rec}"));
        if alias != "aggregation" {
            w.line(format!("const aggregation = {alias}"));
        }
        let fields = aggregation_fields(&agg.config());
        ctx.names.record(
            alias_of(&agg.strategy),
            alias.to_string(),
            false,
            fields.clone(),
        );
        ctx.names
            .record("aggregation", "aggregation", false, fields);
    }
}

/// A top-level phase with validation: dispatch (`first` the first time), groups and
/// aggregation in a loop that validation retries run again, then the settled record.
fn validated_phase(
    ctx: &mut Ctx<'_>,
    ph: &Phase,
    validation: &Validation,
    vars: &PhaseVars,
    first: &str,
    alias: Option<&str>,
    w: &mut Writer,
) {
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
    if let Some(alias) = alias {
        w.line(format!("let {alias} = null"));
    }
    w.line("let phaseCheck = null");
    w.line("let phaseAttempts = 0");
    w.open("while (true) {");
    w.line("phaseAttempts = phaseAttempts + 1");
    w.line(format!("{} = {first}", vars.results));
    phase_names(w, "", vars);
    vars.bind(ctx);
    groups(ctx, ph, &vars.valid, "", w);
    let record = if let (Some(agg), Some(alias)) = (&ph.aggregation, alias) {
        w.line(format!(
            "// aggregation: {}",
            describe_aggregation(&agg.config())
        ));
        let rec = phase_record(ph, &vars.valid, &ctx.names, w)
            .replace(&format!("{}.filter(isValid)", vars.valid), &vars.valid);
        w.line(format!("{alias} = {rec}"));
        let fields = aggregation_fields(&agg.config());
        ctx.names
            .record(alias_of(&agg.strategy), alias.to_string(), false, fields);
        alias.to_string()
    } else {
        phase_record(ph, &vars.results, &ctx.names, w)
    };
    validation_check(
        ctx,
        &validation.config(),
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
        compact(&validation.config())
    ));
    if ph.aggregation.is_some() {
        w.line("const aggregation = validated.record");
        ctx.names
            .record("aggregation", "aggregation", false, Vec::new());
    }
    w.line("const validation = validated.validation");
    ctx.names.plain("validation", "validation");
    ctx.names.plain("phaseRecord", "validated.record");
}

/// The variables of the top-level phase's built-in names.
struct PhaseVars {
    results: String,
    valid: String,
    total: String,
    avg: String,
    average: String,
}

impl PhaseVars {
    /// The built-in names' variables; a group may take a built-in name (`$results`), and the
    /// built-in's variable then gets `_`.
    fn new(ph: &Phase) -> Self {
        let taken: Vec<String> = ph.groups.iter().map(|g| ident(&g.name)).collect();
        let var = |n: &str| {
            if taken.iter().any(|t| t == n) {
                format!("{n}_")
            } else {
                n.to_string()
            }
        };
        PhaseVars {
            results: var("results"),
            valid: var("validResults"),
            total: var("totalCount"),
            avg: var("avgConfidence"),
            average: var("averageConfidence"),
        }
    }

    /// Makes the built-in names refer to these variables.
    fn bind(&self, ctx: &mut Ctx<'_>) {
        ctx.names.plain("results", self.results.clone());
        ctx.names.plain("validResults", self.valid.clone());
        ctx.names.plain("totalCount", self.total.clone());
        ctx.names.plain("avgConfidence", self.avg.clone());
        ctx.names.plain("averageConfidence", self.average.clone());
    }
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
pub(super) fn validation_check(
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
    let agg = ph.aggregation.as_ref().map_or("null".to_string(), |a| {
        agg_config(&a.config(), &ctx.names, w)
    });
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
        .map_or(Value::Null, |c| c.settings.to_json());
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
    tree(&p.output.value, &ctx.names, Bare::Keep, w, 0)
}
