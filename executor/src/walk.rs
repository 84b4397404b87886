//! Walking a plan: the run's start and end (input validation, overall timeout, cancellation,
//! the execution record), and the walk from node to node — control edges, branches taken by
//! switches and gates, parallel branches joined where they meet, backward jumps bounded per
//! site, and step conditions and `onError` taken from the loaded pattern.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, join_all};
use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;
use prism_compiler::pattern::Loaded;
use prism_compiler::pattern::model::{Jump, Step, StepKind};
use prism_compiler::plan::{Edge, Graph, NodeKind, Plan, SourceKind};
use serde_json::{Value as Json, json};

use super::expr::{Bound, Rec};
use super::record::{
    AgentResult, ExecutionRecord, RunError, RunStatus, StepRecord, now_ms, rfc3339,
};
use super::state::{Frame, Run, State, Stop, TraceEvent};
use super::{RunOptions, control, org, phase, script};

/// What a node reports when it completes.
#[derive(Debug, Default)]
pub struct Done {
    /// The branch taken (switch case, gate `pass`/`fail`).
    pub label: Option<String>,
    /// The node's confidence.
    pub confidence: Option<f64>,
    /// A short description for traces.
    pub detail: String,
}

/// Runs a whole plan and builds its record.
pub async fn run(plan: Arc<Plan>, mut opts: RunOptions) -> ExecutionRecord {
    let id = opts
        .execution_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let effects = opts.effects.clone();
    let run_cancel = opts.cancel.child_token();
    let user_cancel = std::mem::replace(&mut opts.cancel, run_cancel.clone());
    let timeout = opts.timeout;
    let (agents, notes) = effects.prepare_agents(&opts.agents).await;
    opts.agents = agents.clone();
    let mut run = Run::new(plan.clone(), opts, id);
    for note in notes {
        run.warn("prism::run::agent", note);
    }
    if asks_for_healthy_agents(&plan) {
        let unhealthy = check_health(&agents, &run).await;
        run.st().unhealthy = Some(unhealthy);
    }
    let started_ms = now_ms();
    let raw_input = run.opts.input.clone();
    let input = match super::input::validate_input(&plan.meta.input, &raw_input) {
        Ok(v) => v,
        Err(errors) => {
            let err = RunError {
                code: "prism::run::input".into(),
                message: errors.join("\n"),
                node: Some("input".into()),
                span: None,
            };
            return finish(
                &Arc::new(run),
                started_ms,
                raw_input,
                Err(Stop::Failed(err)),
            );
        }
    };
    run.opts.input = input.clone();
    if let Some(records) = &run.opts.agent_results {
        run.injected = Some(script::injected_results(records));
    }
    if let Err(e) = org::check_commands(&run) {
        return finish(&Arc::new(run), started_ms, input, Err(e));
    }
    let run = Arc::new(run);
    run.root.set("input", Bound::Plain(input.clone()));
    let walk_fut = walk(&run, &plan.graph, plan.entry, None, run.root.clone(), None);
    tokio::pin!(walk_fut);
    let sleep = async {
        match timeout {
            Some(t) => effects.sleep(t).await,
            None => std::future::pending().await,
        }
    };
    // Biased: the order in which ready branches are taken is fixed (a replay takes the same).
    let outcome = tokio::select! {
        biased;
        r = &mut walk_fut => r,
        _ = sleep => {
            run_cancel.cancel();
            let _ = super::effects::within(&*effects, Duration::from_secs(2), &mut walk_fut).await;
            Err(Stop::TimedOut)
        }
        _ = user_cancel.cancelled() => {
            run_cancel.cancel();
            let _ = super::effects::within(&*effects, Duration::from_secs(2), &mut walk_fut).await;
            Err(Stop::Cancelled)
        }
    };
    // A walk that ended because its calls were cancelled was cancelled, whatever it says.
    let outcome = match outcome {
        Err(Stop::Failed(_)) | Ok(()) if user_cancel.is_cancelled() => Err(Stop::Cancelled),
        other => other,
    };
    effects.release_agents(&agents).await;
    finish(&run, started_ms, input, outcome)
}

/// How long a health check may take before its agent counts as unhealthy.
const HEALTH_CHECK_WAIT: Duration = Duration::from_secs(5);

/// Checks the health of every agent of `agents`: the ids of those that fail, each warned
/// about on `report`.
pub(crate) async fn check_health(agents: &prism_agents::AgentSet, report: &Run) -> Vec<String> {
    let mut ids = Vec::new();
    for (agent, why) in agents.unhealthy(HEALTH_CHECK_WAIT).await {
        report.warn(
            "prism::run::unhealthy",
            format!("agent {agent} is left out of phases that ask for healthy agents: {why}"),
        );
        ids.push(agent);
    }
    ids
}

/// True when a phase of the plan selects only healthy agents (`agents.healthy: true`).
pub(crate) fn asks_for_healthy_agents(plan: &Plan) -> bool {
    plan.nodes().any(|(_, n)| match &n.kind {
        NodeKind::AgentGroup { selection, .. } => selection.healthy(),
        _ => false,
    })
}

/// The execution record of a run that ended with `outcome`.
pub(crate) fn finish(
    run: &Arc<Run>,
    started_ms: u64,
    input: Json,
    outcome: Result<(), Stop>,
) -> ExecutionRecord {
    let ended = now_ms();
    let mut st = run.st();
    let (status, error, mut escalation) = ending(run, outcome);
    let status = if status == RunStatus::Completed && st.escalation.is_some() {
        escalation = st.escalation.clone();
        RunStatus::Escalated
    } else {
        status
    };
    let result = match status {
        RunStatus::Completed | RunStatus::Escalated => {
            st.output.clone().map(|v| (v, st.confidence.unwrap_or(0.0)))
        }
        _ => None,
    };
    let results = std::mem::take(&mut st.results);
    let metrics = metrics(&results, &st, ended.saturating_sub(started_ms));
    let mut warnings: Vec<(String, String)> = run
        .plan
        .meta
        .warnings
        .iter()
        .map(|w| (w.code.to_string(), w.message.clone()))
        .collect();
    warnings.extend(st.warnings.clone());
    ExecutionRecord {
        id: run.id.clone(),
        pattern: json!({
            "name": run.plan.meta.name,
            "version": run.plan.meta.version,
            "source": run.plan.meta.source_path,
            "planHash": run.plan.hash(),
        }),
        status,
        trigger: run.opts.trigger.clone(),
        started_at: rfc3339(started_ms),
        ended_at: rfc3339(ended),
        duration_ms: ended.saturating_sub(started_ms),
        input,
        result,
        agent_results: results,
        steps: st.steps.clone(),
        metrics,
        escalation,
        fallback: st.fallback.clone(),
        warnings,
        error,
    }
}

/// A run's status, error and escalation from how its walk ended.
fn ending(run: &Run, outcome: Result<(), Stop>) -> (RunStatus, Option<RunError>, Option<Json>) {
    match outcome {
        Ok(()) => (RunStatus::Completed, None, None),
        Err(Stop::Failed(e)) => (RunStatus::Failed, Some(e), None),
        Err(Stop::Escalated(e)) => (RunStatus::Escalated, None, Some(e)),
        Err(Stop::TimedOut) => (
            RunStatus::TimedOut,
            Some(RunError {
                code: "prism::run::timeout".into(),
                message: format!(
                    "the run did not finish within {} ms",
                    run.opts.timeout.map_or(0, |t| t.as_millis())
                ),
                node: None,
                span: None,
            }),
            None,
        ),
        Err(Stop::Cancelled) => (
            RunStatus::Cancelled,
            Some(RunError {
                code: "prism::run::cancelled".into(),
                message: "the run was cancelled".into(),
                node: None,
                span: None,
            }),
            None,
        ),
    }
}

/// The record's `metrics`: agents selected, succeeded and failed, their mean confidence, the
/// time taken, parallel paths and retries.
fn metrics(results: &[AgentResult], st: &State, elapsed_ms: u64) -> Json {
    let ok = results.iter().filter(|r| r.is_valid()).count();
    let valid: Vec<f64> = results
        .iter()
        .filter(|r| r.is_valid())
        .map(|r| r.confidence)
        .collect();
    let avg = if valid.is_empty() {
        0.0
    } else {
        valid.iter().sum::<f64>() / valid.len() as f64
    };
    let selected: HashSet<&str> = results.iter().map(|r| r.agent_id.as_str()).collect();
    json!({
        "agentsSelected": selected.len(),
        "agentsSucceeded": ok,
        "agentsFailed": results.len() - ok,
        "averageConfidence": super::expr::json_num(avg),
        "executionTimeMs": elapsed_ms,
        "parallelPaths": st.parallel_paths,
        "retries": st.retries,
    })
}

/// Finds a step of the loaded YAML pattern by id (nested steps included).
/// Every step of the model by id, at any depth; the first in document order wins, as
/// ([`crate::state::Run::step`] reads the index).
pub fn index_steps(model: Option<&Loaded>, out: &mut std::collections::HashMap<String, Step>) {
    fn walk(steps: &[Step], out: &mut std::collections::HashMap<String, Step>) {
        for s in steps {
            out.entry(s.id.value.clone()).or_insert_with(|| s.clone());
            match &s.kind {
                StepKind::Parallel(v) => walk(v, out),
                StepKind::Loop { steps, .. } => walk(steps, out),
                StepKind::Batch { task, .. } => walk(task, out),
                StepKind::Switch { cases, .. } => {
                    for c in cases {
                        if let Jump::Inline(b) = &c.jump {
                            walk(std::slice::from_ref(b.as_ref()), out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(Loaded::Yaml(p)) = model {
        walk(&p.steps, out);
    }
}

fn control_out(g: &Graph, n: NodeIndex) -> Vec<(NodeIndex, Edge)> {
    let mut v: Vec<(NodeIndex, Edge)> = g
        .edges_directed(n, Direction::Outgoing)
        .filter(|e| e.weight().is_control())
        .map(|e| (e.target(), e.weight().clone()))
        .collect();
    v.sort_by_key(|(t, _)| t.index());
    v
}

/// Where control goes after a step: the first node outside it along control edges.
fn exit_of(g: &Graph, entry: NodeIndex, step: &str) -> Option<Option<NodeIndex>> {
    let mut cur = entry;
    for _ in 0..g.node_count() + 1 {
        let outs = control_out(g, cur);
        if outs.iter().any(|(_, e)| matches!(e, Edge::Branch { .. })) {
            return None;
        }
        let Some((next, _)) = outs.iter().find(|(_, e)| matches!(e, Edge::Control)) else {
            return Some(None);
        };
        if g.node_weight(*next).and_then(|n| n.step.as_deref()) != Some(step) {
            return Some(Some(*next));
        }
        cur = *next;
    }
    None
}

/// The node where parallel branches meet: the earliest node reachable from every branch.
fn join_of(g: &Graph, branches: &[NodeIndex]) -> Option<NodeIndex> {
    let reach = |from: NodeIndex| -> HashSet<NodeIndex> {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            for (t, e) in control_out(g, n) {
                if !matches!(e, Edge::Retry { .. }) {
                    stack.push(t);
                }
            }
        }
        seen
    };
    let mut sets = branches.iter().map(|b| reach(*b));
    let first = sets.next()?;
    let common = sets.fold(first, |acc, s| acc.intersection(&s).copied().collect());
    common
        .into_iter()
        .filter(|n| !branches.contains(n))
        .min_by_key(|n| n.index())
}

/// Walks `g` from `start` until `stop` (exclusive) or the end.
pub fn walk<'a>(
    run: &'a Arc<Run>,
    g: &'a Graph,
    start: NodeIndex,
    stop: Option<NodeIndex>,
    frame: Arc<Frame>,
    entered: Option<NodeIndex>,
) -> BoxFuture<'a, Result<(), Stop>> {
    Box::pin(async move {
        let mut cur = Some(start);
        let mut guarded = entered;
        while let Some(n) = cur {
            if Some(n) == stop {
                break;
            }
            if run.opts.cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            let Some(node) = g.node_weight(n) else { break };
            if let Some(step) = node.step.as_deref()
                && guarded != Some(n)
                && run.entry_of(g, step) == Some(n)
                && let Entry::GoTo(next) = step_entry(run, g, n, &node.id, step, &frame).await?
            {
                cur = next;
                continue;
            }
            guarded = None;
            let begun = std::time::Instant::now();
            let done = match exec_node(run, g, n, &frame).await {
                Ok(d) => d,
                Err(Stop::Failed(e)) => return Err(node_failed(run, g, n, begun, e)),
                Err(other) => return Err(other),
            };
            note_step(
                run,
                node.step.as_deref(),
                n,
                g,
                begun,
                done.confidence,
                None,
            );
            trace(run, node, "ok", done.confidence, begun, done.detail.clone());
            cur = next(
                run,
                g,
                n,
                &node.kind,
                node.step.as_deref(),
                done.label,
                &frame,
            )
            .await?;
        }
        Ok(())
    })
}

/// What the walk does at the entry node of a step.
enum Entry {
    /// Runs the node.
    Run,
    /// Goes on at this node (none: the walk ends): the step was skipped, or run under its
    /// `onError`.
    GoTo(Option<NodeIndex>),
}

/// At a step's entry node: a step whose `condition` does not hold is skipped; a step with
/// `onError` runs to its exit here, its failure handled by the policy.
async fn step_entry(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    node_id: &str,
    step: &str,
    frame: &Arc<Frame>,
) -> Result<Entry, Stop> {
    let Some(s) = run.step(step) else {
        return Ok(Entry::Run);
    };
    if let Some(cond) = &s.condition {
        let go = {
            let scope = frame.scope();
            super::expr::eval_bool(cond, &scope, &[])
                .map_err(|e| Stop::fail("prism::run::expression", e.to_string(), Some(node_id)))?
        };
        if !go {
            skip_step(run, frame, step);
            return Ok(Entry::GoTo(match exit_of(g, n, step) {
                Some(next) => next,
                None => control_out(g, n).first().map(|(t, _)| *t),
            }));
        }
    }
    if let Some(on_error) = s.on_error.clone()
        && let Some(exit) = exit_of(g, n, step)
    {
        match walk(run, g, n, exit, frame.clone(), Some(n)).await {
            Ok(()) => {}
            Err(Stop::Failed(e)) => control::on_error(run, frame, step, &on_error, e)?,
            Err(other) => return Err(other),
        }
        return Ok(Entry::GoTo(exit));
    }
    Ok(Entry::Run)
}

/// A node's failure: located at the node when it says nowhere else, noted in its step and
/// traced.
fn node_failed(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    begun: std::time::Instant,
    mut e: RunError,
) -> Stop {
    let Some(node) = g.node_weight(n) else {
        return Stop::Failed(e);
    };
    if e.node.is_none() {
        e.node = Some(node.id.clone());
    }
    if e.span.is_none() {
        e.span = Some((node.span.start, node.span.end));
    }
    note_step(
        run,
        node.step.as_deref(),
        n,
        g,
        begun,
        None,
        Some(&e.message),
    );
    trace(run, node, "failed", None, begun, e.message.clone());
    Stop::Failed(e)
}

fn trace(
    run: &Run,
    node: &prism_compiler::plan::Node,
    status: &'static str,
    confidence: Option<f64>,
    begun: std::time::Instant,
    detail: String,
) {
    run.trace(TraceEvent {
        node: node.id.clone(),
        kind: node.kind.name(),
        step: node.step.clone(),
        status,
        confidence,
        duration_ms: begun.elapsed().as_millis() as u64,
        detail,
    });
}

fn skip_step(run: &Run, frame: &Frame, step: &str) {
    let mut rec = Rec::new(Json::Null, 0.0);
    rec.fields.insert("success".into(), json!(false));
    rec.fields.insert("skipped".into(), json!(true));
    rec.fields.insert("source".into(), json!(step));
    frame.set_rec(step, rec.clone());
    if let Some(s) = run.step(step)
        && let Some(prism_compiler::pattern::model::StepOutput::Name(n)) = &s.output
    {
        frame.set_rec(&n.value, rec);
    }
    run.st().push_step(StepRecord {
        id: step.to_string(),
        status: "skipped".into(),
        confidence: 0.0,
        attempts: 0,
        duration_ms: 0,
        error: None,
    });
}

/// Keeps the execution record's step list up to date as a step's nodes complete.
fn note_step(
    run: &Run,
    step: Option<&str>,
    n: NodeIndex,
    g: &Graph,
    begun: std::time::Instant,
    confidence: Option<f64>,
    error: Option<&str>,
) {
    let Some(step) = step else { return };
    let entry = run.entry_of(g, step) == Some(n);
    let ms = begun.elapsed().as_millis() as u64;
    let mut st = run.st();
    let existing = st.step_at(step);
    match existing {
        Some(i) if !entry || st.steps[i].status == "running" => {
            let s = &mut st.steps[i];
            s.duration_ms += ms;
            if let Some(c) = confidence {
                s.confidence = c;
            }
            if let Some(e) = error {
                s.status = "failed".into();
                s.error = Some(e.to_string());
            } else {
                s.status = "completed".into();
            }
        }
        Some(i) => {
            let s = &mut st.steps[i];
            s.attempts += 1;
            s.duration_ms += ms;
            s.confidence = confidence.unwrap_or(s.confidence);
            s.status = if error.is_some() {
                "failed".into()
            } else {
                "completed".into()
            };
            s.error = error.map(str::to_string);
        }
        None => st.push_step(StepRecord {
            id: step.to_string(),
            status: if error.is_some() {
                "failed".into()
            } else {
                "completed".into()
            },
            confidence: confidence.unwrap_or(0.0),
            attempts: 1,
            duration_ms: ms,
            error: error.map(str::to_string),
        }),
    }
}

async fn exec_node(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    frame: &Arc<Frame>,
) -> Result<Done, Stop> {
    let Some(node) = g.node_weight(n) else {
        return Ok(Done::default());
    };
    let is_org = run.plan.meta.source_kind == SourceKind::OrgChart;
    match &node.kind {
        NodeKind::Input { .. } => Ok(Done {
            confidence: Some(1.0),
            ..Done::default()
        }),
        NodeKind::AgentGroup { .. } if is_org => org::role(run, node, frame).await,
        NodeKind::AgentGroup { .. } => phase::agent_group(run, node, frame).await,
        NodeKind::Group { .. } => phase::group(run, node, frame),
        NodeKind::Aggregate { .. } if is_org => org::aggregate(run, node, frame),
        NodeKind::Aggregate { .. } => phase::aggregate(run, node, frame),
        NodeKind::Validate { .. } => phase::validate(run, g, n, frame).await,
        NodeKind::Confidence { .. } => phase::confidence(run, node, frame),
        NodeKind::Fallback { .. } => phase::fallback(run, g, n, frame).await,
        NodeKind::Output { .. } if is_org => org::output(run, node, frame),
        NodeKind::Output { .. } => phase::output(run, node, frame),
        NodeKind::Script { .. } => script::run_script(run, node, frame).await,
        NodeKind::Switch { .. } if is_org => org::condition(run, node, frame),
        NodeKind::Switch { .. } => control::switch(run, node, frame),
        NodeKind::Gate { .. } => control::gate(run, node, frame),
        NodeKind::Loop { .. } => control::looped(run, node, frame).await,
        NodeKind::Batch { .. } => control::batch(run, node, frame).await,
        NodeKind::Assign { .. } => control::assign(run, node, frame),
        NodeKind::Const { .. } => control::constant(run, node, frame),
        NodeKind::SubPattern { .. } => control::sub_pattern(run, node, frame).await,
        NodeKind::Task { .. } => org::task(run, node, frame).await,
        NodeKind::Escalate { to, context } => {
            let scope = frame.scope();
            let ctx = context
                .as_ref()
                .map(|c| super::output::render(c, &scope, &[]).unwrap_or(Json::Null));
            Err(Stop::Escalated(json!({
                "target": to.clone().unwrap_or_else(|| "human".into()),
                "reason": format!("step `{}` escalated", node.step.clone().unwrap_or_default()),
                "context": ctx,
            })))
        }
        NodeKind::Parallel | NodeKind::Sequence => Ok(Done::default()),
    }
}

/// Decides where control goes after node `n`.
async fn next(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    kind: &NodeKind,
    step: Option<&str>,
    label: Option<String>,
    frame: &Arc<Frame>,
) -> Result<Option<NodeIndex>, Stop> {
    let outs = control_out(g, n);
    if matches!(kind, NodeKind::Parallel) {
        return parallel_next(run, g, n, &outs, frame).await;
    }
    if let Some(label) = label {
        return labelled_next(run, g, n, kind, step, &label, &outs, frame);
    }
    // A backward `then` jump: taken at most `max` times per site, then the flow goes on.
    if let Some((t, Edge::Retry { max, .. })) =
        outs.iter().find(|(_, e)| matches!(e, Edge::Retry { .. }))
    {
        let max = *max;
        let key = (n.index(), t.index(), 0);
        let mut st = run.st();
        let count = st.jumps.entry(key).or_insert(0);
        if *count < max {
            *count += 1;
            return Ok(Some(*t));
        }
    }
    // Several control successors: the dead ends (org-chart roles) run first, in order.
    let plain: Vec<NodeIndex> = outs
        .iter()
        .filter(|(_, e)| matches!(e, Edge::Control))
        .map(|(t, _)| *t)
        .collect();
    if plain.len() > 1 {
        let (ends, rest): (Vec<NodeIndex>, Vec<NodeIndex>) = plain
            .into_iter()
            .partition(|t| control_out(g, *t).is_empty());
        for t in ends {
            walk(run, g, t, None, frame.clone(), None).await?;
        }
        if let Some(t) = rest.first() {
            return Ok(Some(*t));
        }
        return Ok(None);
    }
    Ok(outs
        .iter()
        .find(|(_, e)| matches!(e, Edge::Control))
        .or_else(|| outs.iter().find(|(_, e)| matches!(e, Edge::Branch { .. })))
        .map(|(t, _)| *t))
}

/// After a fork: every branch walked concurrently up to their join, where the walk goes on.
async fn parallel_next(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    outs: &[(NodeIndex, Edge)],
    frame: &Arc<Frame>,
) -> Result<Option<NodeIndex>, Stop> {
    let branches: Vec<NodeIndex> = outs
        .iter()
        .filter(|(_, e)| matches!(e, Edge::Branch { .. }))
        .map(|(t, _)| *t)
        .collect();
    let join = join_of(g, &branches);
    run.st().parallel_paths += branches.len() as u64;
    let results = join_all(
        branches
            .iter()
            .map(|b| walk(run, g, *b, join, frame.clone(), None)),
    )
    .await;
    for r in results {
        r?;
    }
    if run.plan.meta.source_kind == SourceKind::OrgChart {
        org::join_parallel(run, g, n, frame);
    }
    Ok(join)
}

/// After a switch or gate that chose `label`: the jump of that case or outcome (fail the run,
/// finish, retry, a backward `next`), else its branch.
#[allow(clippy::too_many_arguments)]
fn labelled_next(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    kind: &NodeKind,
    step: Option<&str>,
    label: &str,
    outs: &[(NodeIndex, Edge)],
    frame: &Arc<Frame>,
) -> Result<Option<NodeIndex>, Stop> {
    let jump = step
        .and_then(|s| run.step(s))
        .and_then(|s| control::jump_for(s, label));
    let branch = outs
        .iter()
        .find(|(_, e)| matches!(e, Edge::Branch { label: l } if l == label))
        .map(|(t, _)| *t);
    match jump {
        Some(Jump::Fail) => {
            let id = step.unwrap_or_default();
            let msg = if matches!(kind, NodeKind::Gate { .. }) {
                format!("gate {id} failed")
            } else {
                format!("switch {id}: case `{label}` fails the run")
            };
            Err(Stop::fail("prism::run::gate", msg, None))
        }
        Some(Jump::Finish(r)) => {
            control::finish_with(run, frame, r.as_deref());
            Ok(branch)
        }
        Some(Jump::Retry { target, max }) => {
            let to = target.as_ref().map(|t| t.value.clone());
            Ok(back_jump(run, g, n, outs, to.as_deref(), max, label).or(branch))
        }
        Some(Jump::Next { target, max })
            if branch.is_none() || has_retry_to(g, outs, &target.value) =>
        {
            Ok(back_jump(run, g, n, outs, Some(&target.value), max, label).or(branch))
        }
        _ => Ok(branch),
    }
}

fn has_retry_to(g: &Graph, outs: &[(NodeIndex, Edge)], target: &str) -> bool {
    outs.iter().any(|(t, e)| {
        matches!(e, Edge::Retry { .. })
            && g.node_weight(*t).and_then(|n| n.step.as_deref()) == Some(target)
    })
}

fn back_jump(
    run: &Run,
    g: &Graph,
    n: NodeIndex,
    outs: &[(NodeIndex, Edge)],
    target: Option<&str>,
    max: u32,
    label: &str,
) -> Option<NodeIndex> {
    let to = outs
        .iter()
        .filter(|(_, e)| matches!(e, Edge::Retry { .. }))
        .find(|(t, _)| {
            target.is_none_or(|id| g.node_weight(*t).and_then(|x| x.step.as_deref()) == Some(id))
        })
        .map(|(t, _)| *t)
        .or_else(|| target.and_then(|id| run.entry_of(g, id)))?;
    let site = label
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
    let mut st = run.st();
    let count = st.jumps.entry((n.index(), to.index(), site)).or_insert(0);
    if *count < max {
        *count += 1;
        st.retries += 1;
        Some(to)
    } else {
        None
    }
}
