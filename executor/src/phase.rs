//! Phase nodes: agent groups (selection and dispatch, step records), result groups,
//! aggregation, the pattern confidence (§1.7), the top-level fallback and the output.
//! Validation is in [`super::validate`].

use prism_compiler::plan::settings::{
    AgentSelection, AggregationStrategy, ConfidenceSettings, ExecutionSettings, ExecutionStrategy,
    Names, Num, PipelineStep,
};
use std::sync::Arc;
use std::time::Duration;

use prism_compiler::pattern::model::{StepOutput, alias_of};
use prism_compiler::plan::{Node, NodeKind, SourceKind};
use serde_json::{Map, Value as Json, json};

use prism_agents::{Selection, select_agents};

use super::aggregate::aggregate_results;
use super::dispatch::{self, CallPolicy, Execution, RequestTemplate};
use super::expr::{Bound, Rec, Scope, eval, eval_bool, json_num};
use super::output::{render, template};
use super::record::AgentResult;
use super::state::{Frame, Run, State, Stop};
use super::walk::Done;

pub use super::validate::{fallback, validate};

fn expr_fail(node: &Node) -> impl Fn(super::expr::ExprError) -> Stop + '_ {
    move |e| Stop::fail("prism::run::expression", e.to_string(), Some(&node.id))
}

/// Strings of a list value, evaluating `$…` entries.
fn names_list(names: &[String], scope: &Scope) -> Result<Vec<String>, super::expr::ExprError> {
    let mut evaluated = Vec::new();
    for name in names {
        evaluated.push(match name {
            s if s.starts_with('$') => eval(s, scope, &[])?.value,
            s => Json::String(s.clone()),
        });
    }
    Ok(names_of(&evaluated))
}

/// Capability or agent names from evaluated list entries: strings, lists of names or of agent
/// records (their `agentId`); null entries add nothing.
pub fn names_of(items: &[Json]) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Json::Array(a) => out.extend(a.iter().map(|x| {
                match x {
                    Json::String(s) => s.clone(),
                    other => other
                        .get("agentId")
                        .and_then(Json::as_str)
                        .map_or_else(|| other.to_string(), str::to_string),
                }
            })),
            Json::String(s) => out.push(s.clone()),
            Json::Null => {}
            other => out.push(other.to_string()),
        }
    }
    out
}

/// The task of a phase: the step's `instructions` (a template), else `input.task`, else
/// `"analyze"`.
fn task_text(
    task: Option<&str>,
    scope: &Scope,
    input: &Json,
) -> Result<String, super::expr::ExprError> {
    let fallback = || {
        input
            .get("task")
            .and_then(Json::as_str)
            .unwrap_or("analyze")
            .to_string()
    };
    Ok(match task {
        None | Some("input.task") => fallback(),
        Some(t) if t.contains("{{") => match template(t, scope, &[])? {
            Json::String(s) => s,
            other => other.to_string(),
        },
        Some(t) if t.starts_with('$') => match eval(t, scope, &[])?.value {
            Json::String(s) => s,
            other => other.to_string(),
        },
        Some(t) => t.to_string(),
    })
}

/// Selection and dispatch of an agent group.
pub async fn agent_group(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::AgentGroup {
        selection,
        execution,
        task,
        role,
        input,
        ..
    } = &node.kind
    else {
        return Ok(Done::default());
    };
    let step = node.step.as_deref();
    let scope = frame.scope();
    let results = if let (Some(inj), SourceKind::Prism) = (&run.injected, run.plan.meta.source_kind)
    {
        inj.clone()
    } else {
        let caps = names_list(selection.capabilities(), &scope).map_err(expr_fail(node))?;
        let exclude = match selection {
            AgentSelection::Agents(a) => a.exclude.as_ref().map_or(&[][..], Names::as_slice),
            AgentSelection::Role(_) => &[],
        };
        let exclude = names_list(exclude, &scope).map_err(expr_fail(node))?;
        let pattern_input = run.opts.input.clone();
        let req_input = match input {
            Some(shape) => render(shape, &scope, &[]).map_err(expr_fail(node))?,
            None => pattern_input.clone(),
        };
        let task = task_text(task.as_deref(), &scope, &pattern_input).map_err(expr_fail(node))?;
        let template = request_template(run, task, req_input, step, role.clone());
        if let Some(pipe) = &execution.steps {
            let agents = select(run, selection, caps, exclude)
                .map_err(|m| Stop::fail("prism::run::agents", m, Some(&node.id)))?;
            return pipeline(
                run, node, frame, &agents, pipe, &template, selection, execution,
            )
            .await;
        }
        match dispatch(run, selection, caps, exclude, execution, &template).await {
            Ok(results) => results,
            Err(failed) => {
                run.st().phase.insert(node.step.clone(), failed.results);
                return Err(Stop::fail(
                    "prism::run::agents",
                    failed.message,
                    Some(&node.id),
                ));
            }
        }
    };
    Ok(finish_group(run, node, frame, results))
}

/// The agents a selection picks (§1.3), or why there are too few.
pub fn select(
    run: &Run,
    selection: &AgentSelection,
    capabilities: Vec<String>,
    mut exclude: Vec<String>,
) -> Result<Vec<prism_agents::SharedAgent>, String> {
    if selection.healthy() {
        exclude.extend(run.st().unhealthy.iter().flatten().cloned());
    }
    let sel = match selection {
        AgentSelection::Agents(a) => Selection::from_settings(a, capabilities, exclude),
        AgentSelection::Role(r) => Selection {
            capabilities,
            exclude,
            prefer: Vec::new(),
            ..Selection::from_role(r)
        },
    };
    select_agents(&run.opts.agents.agents, &sel).map_err(|e| e.message)
}

/// The parts every request of a phase shares.
pub fn request_template(
    run: &Run,
    task: String,
    input: Json,
    step: Option<&str>,
    role: Option<String>,
) -> RequestTemplate {
    let extra = &run.plan.meta.extra;
    RequestTemplate {
        task,
        input,
        pattern: run.pattern_ref(),
        step: step.map(str::to_string),
        role,
        context: json!({
            "executionId": run.id,
            "previous": null,
            "thread": extra.get("threads").cloned().unwrap_or(Json::Null),
            "workspace": run.opts.workspace.as_ref().map_or_else(
                || extra.get("workspace").cloned().unwrap_or(Json::Null),
                |w| json!({"path": w.display().to_string()})),
            "routing": extra.get("context").and_then(|c| c.get("routing")).cloned().unwrap_or(Json::Null),
        }),
    }
}

fn call_policy(run: &Run, selection: &AgentSelection) -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_millis(selection.task_timeout().unwrap_or(30_000)),
        retries: selection.retries().unwrap_or(2) as u32,
        backoff: run.opts.backoff,
        cancel: run.opts.cancel.clone(),
        on_call: run.opts.on_call.clone(),
        effects: run.opts.effects.clone(),
    }
}

/// Why a phase has no usable outcome.
#[derive(Debug)]
pub struct PhaseFailure {
    /// The results so far.
    pub results: Vec<AgentResult>,
    /// What went wrong, citing only settings the pattern wrote.
    pub message: String,
}

/// Selection and dispatch of one phase (`parallel`, `sequential` or `race`; pipelines are
/// [`pipeline_calls`]): every result, recorded in the run, or why the phase failed: fewer valid
/// answers than `execution.minResults` (default 1) fail it (§1.4).
pub async fn dispatch(
    run: &Run,
    selection: &AgentSelection,
    capabilities: Vec<String>,
    exclude: Vec<String>,
    execution: &ExecutionSettings,
    template: &RequestTemplate,
) -> Result<Vec<AgentResult>, PhaseFailure> {
    let agents = select(run, selection, capabilities, exclude).map_err(|m| PhaseFailure {
        results: Vec::new(),
        message: m,
    })?;
    let policy = call_policy(run, selection);
    let exec = Execution::from_settings(execution);
    let seq = || run.next_seq();
    let step = template.step.as_deref();
    let mut out = if exec.strategy == ExecutionStrategy::Sequential {
        let make = |_: usize, prev: &Json| template.request(run.request_id(), prev);
        dispatch::sequential(&agents, &make, &policy, &exec, step, &seq).await
    } else {
        let reqs = agents
            .iter()
            .map(|_| template.request(run.request_id(), &Json::Null))
            .collect();
        dispatch::parallel(&agents, reqs, &policy, &exec, step, &seq).await
    };
    {
        let mut st = run.st();
        st.results.extend(out.results.iter().cloned());
        st.retries += out.retries;
    }
    if out.failure.is_none() && exec.strategy != ExecutionStrategy::Race {
        let written = execution.min_results;
        let required = written.map_or(1, |n| n as usize);
        let setting = written.map(|n| format!("execution.minResults: {n}"));
        let valid = out.results.iter().filter(|r| r.is_valid()).count();
        if valid < required {
            out.failure = Some(dispatch::shortfall(
                &out.results,
                required,
                setting.as_deref(),
            ));
        }
    }
    match out.failure {
        Some(message) => Err(PhaseFailure {
            results: out.results,
            message,
        }),
        None => Ok(out.results),
    }
}

fn finish_group(
    run: &Arc<Run>,
    node: &Node,
    frame: &Arc<Frame>,
    results: Vec<AgentResult>,
) -> Done {
    let step = node.step.clone();
    let valid: Vec<&AgentResult> = results.iter().filter(|r| r.is_valid()).collect();
    let detail = format!("{} of {} agents answered", valid.len(), results.len());
    let rec = most_confident(&results);
    if step.is_none() {
        let all: Vec<Json> = results.iter().map(AgentResult::to_json).collect();
        let good: Vec<Json> = valid.iter().map(|r| r.to_json()).collect();
        let avg = mean(valid.iter().map(|r| r.confidence));
        frame.set("results", Bound::Plain(Json::Array(all)));
        frame.set("validResults", Bound::Plain(Json::Array(good)));
        frame.set("totalCount", Bound::Plain(json!(valid.len())));
        frame.set("avgConfidence", Bound::Plain(json_num(avg)));
        frame.set("averageConfidence", Bound::Plain(json_num(avg)));
    }
    let conf = rec.confidence;
    {
        let mut st = run.st();
        st.phase.insert(step.clone(), results.clone());
        st.phase_rec.insert(step.clone(), rec.clone());
    }
    if let Some(s) = &step {
        let mut r = rec;
        step_fields(&mut r, s, &results);
        set_step_record(run, frame, s, r);
    }
    Done {
        confidence: Some(conf),
        detail,
        ..Done::default()
    }
}

/// The most confident valid result (ties: agent order) as a record.
pub fn most_confident(results: &[AgentResult]) -> Rec {
    let mut best: Option<&AgentResult> = None;
    for r in results.iter().filter(|r| r.is_valid()) {
        if best.is_none_or(|b| r.confidence > b.confidence) {
            best = Some(r);
        }
    }
    match best {
        Some(r) => {
            let mut rec = Rec::new(r.result.clone(), r.confidence);
            rec.fields.insert("agentId".into(), json!(r.agent_id));
            rec
        }
        None => Rec::new(Json::Null, 0.0),
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Adds the step record fields (`success agents results attempts source error`).
pub fn step_fields(rec: &mut Rec, step: &str, results: &[AgentResult]) {
    let f = &mut rec.fields;
    f.insert(
        "success".into(),
        json!(results.iter().any(AgentResult::is_valid)),
    );
    f.insert(
        "agents".into(),
        json!(
            results
                .iter()
                .map(|r| r.agent_id.clone())
                .collect::<Vec<_>>()
        ),
    );
    f.insert(
        "results".into(),
        Json::Array(results.iter().map(AgentResult::to_json).collect()),
    );
    f.insert(
        "attempts".into(),
        json!(results.iter().map(|r| r.attempts).max().unwrap_or(0)),
    );
    f.insert("source".into(), json!(step));
    let errors: Vec<String> = results.iter().filter_map(|r| r.error.clone()).collect();
    f.insert(
        "error".into(),
        if errors.is_empty() {
            Json::Null
        } else {
            json!(errors.join("; "))
        },
    );
}

/// Binds a step's record under its id and output name (a shaping `output` mapping computes
/// the value with `$result` = the record), and makes it the last executed step.
pub fn set_step_record(run: &Arc<Run>, frame: &Arc<Frame>, step: &str, mut rec: Rec) {
    let model = run.step(step);
    if let Some(StepOutput::Shape(shape)) = model.and_then(|s| s.output.as_ref()) {
        let mut scope = frame.scope();
        scope.insert("result".into(), Bound::Rec(rec.clone()));
        if let Ok(v) = render(shape, &scope, &[]) {
            rec.value = v;
        }
    }
    frame.set_rec(step, rec.clone());
    if let Some(StepOutput::Name(n)) = model.and_then(|s| s.output.as_ref()) {
        frame.set_rec(&n.value, rec.clone());
    }
    let mut steps = match frame.get("steps") {
        Some(Bound::Plain(Json::Object(m))) => m,
        _ => Map::new(),
    };
    steps.insert(
        step.to_string(),
        json!({"output": rec.value, "confidence": json_num(rec.confidence)}),
    );
    if let Some(StepOutput::Name(n)) = model.and_then(|s| s.output.as_ref()) {
        steps.insert(
            n.value.clone(),
            json!({"output": rec.value, "confidence": json_num(rec.confidence)}),
        );
    }
    frame.set("steps", Bound::Plain(Json::Object(steps)));
    let mut st = run.st();
    st.last = Some(rec.clone());
    let contributes = model.is_none_or(|s| {
        matches!(
            s.kind,
            prism_compiler::pattern::model::StepKind::Agent { .. }
                | prism_compiler::pattern::model::StepKind::Pattern { .. }
        )
    });
    if contributes {
        match st.contributors.iter_mut().find(|(id, _)| id == step) {
            Some(slot) => slot.1 = rec,
            None => st.contributors.push((step.to_string(), rec)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn pipeline(
    run: &Arc<Run>,
    node: &Node,
    frame: &Arc<Frame>,
    agents: &[prism_agents::SharedAgent],
    entries_: &[PipelineStep],
    template: &RequestTemplate,
    selection: &AgentSelection,
    execution: &ExecutionSettings,
) -> Result<Done, Stop> {
    let scope = frame.scope();
    let outcome =
        pipeline_calls(run, agents, entries_, template, selection, execution, scope).await;
    let (results, rec, outputs) = match outcome {
        Ok(r) => r,
        Err((results, message)) => {
            run.st().phase.insert(node.step.clone(), results);
            return Err(Stop::fail("prism::run::agents", message, Some(&node.id)));
        }
    };
    for (name, r) in outputs {
        frame.set_rec(&name, r);
    }
    let done = finish_group(run, node, frame, results.clone());
    run.st().phase_rec.insert(node.step.clone(), rec.clone());
    if let Some(s) = &node.step {
        let mut r = rec.clone();
        step_fields(&mut r, s, &results);
        set_step_record(run, frame, s, r);
    }
    Ok(Done {
        confidence: Some(rec.confidence),
        ..done
    })
}

/// What a pipeline produced: every result, its record (the last value, the chain's minimum
/// confidence) and the records its entries name with `output`.
pub type PipelineOutcome = (Vec<AgentResult>, Rec, Vec<(String, Rec)>);

/// A `sequential` pipeline of `steps: [{capability, input, output}]`: each entry goes to the
/// first selected agent with its capability, its `input` rendered with `$previous` (the last
/// answer) and the entries' outputs so far in scope.
pub async fn pipeline_calls(
    run: &Run,
    agents: &[prism_agents::SharedAgent],
    entries_: &[PipelineStep],
    template: &RequestTemplate,
    selection: &AgentSelection,
    execution: &ExecutionSettings,
    mut scope: Scope,
) -> Result<PipelineOutcome, (Vec<AgentResult>, String)> {
    let policy = call_policy(run, selection);
    let exec = Execution::from_settings(execution);
    let mut previous = Json::Null;
    let mut results = Vec::new();
    let mut outputs = Vec::new();
    let mut min_conf = f64::INFINITY;
    for (i, e) in entries_.iter().enumerate() {
        let cap = e.capability.as_deref();
        let Some(agent) = agents
            .iter()
            .find(|a| cap.is_none_or(|c| a.info().has(c)))
            .cloned()
        else {
            return Err((
                results,
                format!(
                    "pipeline entry {}: no selected agent has `{}`",
                    i + 1,
                    cap.unwrap_or_default()
                ),
            ));
        };
        scope.insert("previous".into(), Bound::Plain(previous.clone()));
        let mut t = template.clone();
        if let Some(inp) = &e.input {
            match render(inp, &scope, &[("previous", previous.clone())]) {
                Ok(v) => t.input = v,
                Err(err) => return Err((results, err.to_string())),
            }
        }
        let req = t.request(run.request_id(), &previous);
        let (r, retries) =
            dispatch::call_agent(agent, req, policy.clone(), template.step.clone(), || {
                run.next_seq()
            })
            .await;
        {
            let mut st = run.st();
            st.results.push(r.clone());
            st.retries += u64::from(retries);
        }
        let ok = r.is_valid();
        if ok {
            previous = r.result.clone();
            min_conf = min_conf.min(r.confidence);
            if let Some(name) = &e.output {
                let rec = Rec::new(r.result.clone(), r.confidence);
                scope.insert(name.to_string(), Bound::Rec(rec.clone()));
                outputs.push((name.to_string(), rec));
            }
        }
        results.push(r);
        if !ok && exec.stop_on_error {
            let message = format!(
                "pipeline stopped at entry {}{}",
                i + 1,
                dispatch::errors_of(&results)
            );
            return Err((results, message));
        }
    }
    let rec = Rec::new(previous, if min_conf.is_finite() { min_conf } else { 0.0 });
    Ok((results, rec, outputs))
}

/// A result group: `match` per valid result, `take` first, last or all.
pub fn group(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Group {
        name,
        matcher,
        take,
    } = &node.kind
    else {
        return Ok(Done::default());
    };
    let results = run.st().phase.get(&node.step).cloned().unwrap_or_default();
    let scope = frame.scope();
    let mut matched: Vec<&AgentResult> = Vec::new();
    for r in results.iter().filter(|r| r.is_valid()) {
        let names = [
            ("result", r.result.clone()),
            ("confidence", json_num(r.confidence)),
            ("agentId", json!(r.agent_id)),
            ("agentName", json!(r.agent_name)),
            ("capabilities", json!(r.capabilities)),
            (
                "reasoning",
                r.reasoning.clone().map_or(Json::Null, Json::String),
            ),
        ];
        if eval_bool(matcher, &scope, &names).map_err(expr_fail(node))? {
            matched.push(r);
        }
    }
    let rec = match take.as_str() {
        "all" => {
            let mut rec = Rec::new(
                Json::Array(matched.iter().map(|r| r.result.clone()).collect()),
                mean(matched.iter().map(|r| r.confidence)),
            );
            rec.fields.insert(
                "members".into(),
                Json::Array(matched.iter().map(|r| r.to_json()).collect()),
            );
            rec
        }
        t => {
            let pick = if t == "last" {
                matched.last()
            } else {
                matched.first()
            };
            match pick {
                Some(r) => {
                    let mut rec = Rec::new(r.result.clone(), r.confidence);
                    rec.fields.insert("agentId".into(), json!(r.agent_id));
                    rec.fields.insert("agentName".into(), json!(r.agent_name));
                    rec.fields.insert(
                        "reasoning".into(),
                        r.reasoning.clone().map_or(Json::Null, Json::String),
                    );
                    rec
                }
                None => Rec::new(Json::Null, 0.0),
            }
        }
    };
    let detail = format!("{} matched", matched.len());
    let c = rec.confidence;
    frame.set_rec(name, rec);
    Ok(Done {
        confidence: Some(c),
        detail,
        ..Done::default()
    })
}

/// An aggregation over the phase's valid results.
pub fn aggregate(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Aggregate { config } = &node.kind else {
        return Ok(Done::default());
    };
    let results = run.st().phase.get(&node.step).cloned().unwrap_or_default();
    let scope = frame.scope();
    let rec = aggregate_results(&results, config, &scope);
    let strategy = config
        .strategy
        .map_or("fields", AggregationStrategy::as_str);
    let detail = format!("{strategy} → {}", rec.value);
    let c = rec.confidence;
    run.st().phase_rec.insert(node.step.clone(), rec.clone());
    match &node.step {
        None => {
            frame.set_rec("aggregation", rec.clone());
            let alias = alias_of(strategy);
            frame.set_rec(alias, rec);
        }
        Some(s) => {
            let mut r = rec;
            step_fields(&mut r, s, &results);
            set_step_record(run, frame, s, r);
        }
    }
    Ok(Done {
        confidence: Some(c),
        detail,
        ..Done::default()
    })
}

/// The pattern confidence (§1.7), clamped to [0, 1].
pub fn confidence(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Confidence { config } = &node.kind else {
        return Ok(Done::default());
    };
    let method = config.method();
    let scope = frame.scope();
    let (valid, contributors, last, finished, top) = {
        let st = run.st();
        (
            valid_confidences(&st, config),
            st.contributors.clone(),
            st.last.clone(),
            st.finished.clone(),
            st.phase_rec.get(&None).cloned(),
        )
    };
    let c = match method {
        "aggregation" => top.map_or(0.0, |r| r.confidence),
        "final" => finished.or(last).map_or(0.0, |r| r.confidence),
        "min" => {
            if valid.is_empty() {
                0.0
            } else {
                valid.iter().copied().fold(f64::INFINITY, f64::min)
            }
        }
        "max" => {
            if valid.is_empty() {
                0.0
            } else {
                valid.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            }
        }
        "weighted" => match &config.weights {
            Some(w) if !w.is_empty() => weighted_confidence(w, &scope, &contributors),
            _ => mean(valid.iter().copied()),
        },
        "custom" => {
            let Some(x) = config.expression.as_deref() else {
                return Err(Stop::fail(
                    "prism::run::confidence",
                    "custom confidence needs an `expression`",
                    Some(&node.id),
                ));
            };
            custom_confidence(x, &scope, node)?
        }
        _ => mean(valid.iter().copied()),
    };
    let c = prism_agents::protocol::clamp(c);
    run.st().confidence = Some(c);
    Ok(Done {
        confidence: Some(c),
        detail: format!("{method} = {c:.3}"),
        ..Done::default()
    })
}

/// The confidences the pattern confidence is taken over: the contributors' (steps), every
/// answered call's (`over`, an org chart), else the top-level phase's valid results.
fn valid_confidences(st: &State, config: &ConfidenceSettings) -> Vec<f64> {
    let multi = !st.contributors.is_empty() || st.phase.keys().any(Option::is_some);
    if multi && config.over.is_none() {
        st.contributors.iter().map(|(_, r)| r.confidence).collect()
    } else if config.over.is_some() {
        st.results
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| r.confidence)
            .collect()
    } else {
        st.phase
            .get(&None)
            .map(|rs| {
                rs.iter()
                    .filter(|r| r.is_valid())
                    .map(|r| r.confidence)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `weighted`: each named group's (or contributor's) confidence by its weight.
fn weighted_confidence<'a>(
    weights: impl IntoIterator<Item = (&'a String, &'a Num)>,
    scope: &Scope,
    contributors: &[(String, Rec)],
) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (name, weight) in weights {
        let wv = weight.get();
        let c = match scope.get(name) {
            Some(Bound::Rec(r)) => r.confidence,
            _ => contributors
                .iter()
                .find(|(id, _)| id == name)
                .map_or(0.0, |(_, r)| r.confidence),
        };
        num += c * wv;
        den += wv;
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// `custom`: the expression over the results, the input, the steps and every record in scope.
fn custom_confidence(x: &str, scope: &Scope, node: &Node) -> Result<f64, Stop> {
    let mut names: Vec<(&str, Json)> = Vec::new();
    for n in ["validResults", "results", "input", "steps"] {
        if let Some(v) = super::expr::resolve(scope, n, &[]) {
            names.push((n, v));
        }
    }
    let group_names: Vec<(String, Json)> = scope
        .iter()
        .filter_map(|(k, v)| match v {
            Bound::Rec(r) if is_ident(k) => Some((k.clone(), r.to_json())),
            _ => None,
        })
        .collect();
    for (k, v) in &group_names {
        names.push((k.as_str(), v.clone()));
    }
    let v = eval(x, scope, &names).map_err(expr_fail(node))?;
    Ok(v.value.as_f64().or(v.confidence).unwrap_or(0.0))
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The output value.
pub fn output(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Output { value } = &node.kind else {
        return Ok(Done::default());
    };
    frame.set("execution", Bound::Plain(run.execution_json(1)));
    let fb = run.st().fallback_output.clone();
    let out = match fb {
        Some(v) => v,
        None => {
            let finished = {
                let st = run.st();
                st.finished.clone().or_else(|| st.last.clone())
            };
            if let Some(f) = finished {
                frame.set_rec("final", f);
            }
            render(value, &frame.scope(), &[]).map_err(expr_fail(node))?
        }
    };
    let mut st = run.st();
    st.output = Some(out);
    Ok(Done {
        confidence: st.confidence,
        ..Done::default()
    })
}
