//! Control steps (§1.5): switch, gate, loop, batch, assign, default, composed patterns, and
//! `onError`.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use prism_compiler::pattern::model::{Jump, Step, StepKind};
use prism_compiler::plan::output::OutputValue;
use prism_compiler::plan::settings::{GateCondition, GateTest};
use prism_compiler::plan::{Node, NodeKind, SubPlan};
use serde_json::{Value as Json, json};

use super::expr::{
    Bound, Evaluated, ExprError, Rec, Scope, eval, eval_bool, eval_compiled, json_num, truthy,
};
use super::phase::set_step_record;
use super::record::RunError;
use super::state::{Frame, Run, Stop};
use super::validate::record_literal;
use super::walk::{Done, walk};

fn expr_fail(node: &Node) -> impl Fn(super::expr::ExprError) -> Stop + '_ {
    move |e| Stop::fail("prism::run::expression", e.to_string(), Some(&node.id))
}

/// The jump of a switch case or gate outcome, from the loaded step.
pub fn jump_for(step: &Step, label: &str) -> Option<Jump> {
    match &step.kind {
        StepKind::Switch { cases, .. } => cases
            .iter()
            .find(|c| c.label == label)
            .map(|c| c.jump.clone()),
        StepKind::Gate {
            on_pass, on_fail, ..
        } => match label {
            "pass" => Some(on_pass.clone()),
            "fail" => Some(on_fail.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A finishing case: `$final` becomes the referenced record (or the last one).
pub fn finish_with(run: &Arc<Run>, frame: &Arc<Frame>, reference: Option<&str>) {
    let rec = reference.and_then(|r| {
        let name = r.trim_start_matches('$');
        let name = name.split('.').next().unwrap_or(name);
        match frame.get(name) {
            Some(Bound::Rec(rec)) => Some(rec),
            Some(Bound::Plain(v)) => Some(Rec::new(v, 1.0)),
            None => eval(r, &frame.scope(), &[])
                .ok()
                .map(|e| Rec::new(e.value, e.confidence.unwrap_or(1.0))),
        }
    });
    let mut st = run.st();
    st.finished = rec.or_else(|| st.last.clone());
}

/// `gte 0.8`-style conditions, or an expression over `value`.
fn case_holds(
    cond: &str,
    value: &Json,
    scope: &super::expr::Scope,
) -> Result<bool, super::expr::ExprError> {
    let mut parts = cond.split_whitespace();
    if let (Some(op), Some(num), None) = (parts.next(), parts.next(), parts.next())
        && let (Ok(n), Some(v)) = (num.parse::<f64>(), value.as_f64())
    {
        let r = match op {
            "eq" => Some(v == n),
            "ne" => Some(v != n),
            "gt" => Some(v > n),
            "gte" => Some(v >= n),
            "lt" => Some(v < n),
            "lte" => Some(v <= n),
            _ => None,
        };
        if let Some(r) = r {
            return Ok(r);
        }
    }
    eval_bool(cond, scope, &[("value", value.clone())])
}

fn label_matches(label: &str, value: &Json) -> bool {
    match value {
        Json::String(s) => s == label,
        Json::Bool(b) => label == if *b { "true" } else { "false" },
        Json::Number(n) => label.parse::<f64>().ok() == n.as_f64(),
        Json::Null => label == "null",
        _ => false,
    }
}

/// A switch: the first matching case; `default` when none; none at all → error.
pub fn switch(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Switch { value, cases } = &node.kind else {
        return Ok(Done::default());
    };
    let scope = frame.scope();
    let text = value.clone();
    let v = eval(&text, &scope, &[]).map_err(expr_fail(node))?;
    let mut chosen = None;
    for (label, cond) in cases.iter().filter(|(l, _)| l != "default") {
        let hit = match cond {
            Some(c) => case_holds(c, &v.value, &scope).map_err(expr_fail(node))?,
            None => label_matches(label, &v.value),
        };
        if hit {
            chosen = Some(label.clone());
            break;
        }
    }
    let chosen = chosen.or_else(|| {
        cases
            .iter()
            .find(|(l, _)| l == "default")
            .map(|(l, _)| l.clone())
    });
    let Some(label) = chosen else {
        return Err(Stop::fail(
            "prism::run::switch",
            format!(
                "switch {}: no case matches {}",
                node.step.clone().unwrap_or_default(),
                v.value
            ),
            Some(&node.id),
        ));
    };
    if let Some(s) = &node.step {
        let mut rec = Rec::new(v.value.clone(), v.confidence.unwrap_or(1.0));
        rec.fields.insert("case".into(), json!(label));
        frame.set_rec(s, rec);
    }
    let _ = run;
    Ok(Done {
        label: Some(label.clone()),
        confidence: v.confidence,
        detail: format!("case {label}"),
    })
}

/// A gate: `pass` or `fail`.
pub fn gate(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Gate { condition } = &node.kind else {
        return Ok(Done::default());
    };
    let scope = frame.scope();
    let test = |c: &GateTest| -> Result<bool, Stop> {
        match c {
            GateTest::Expr(s) => eval_bool(s, &scope, &[]).map_err(expr_fail(node)),
            GateTest::Literal(Json::Bool(b)) => Ok(*b),
            GateTest::Literal(other) => Ok(truthy(other)),
        }
    };
    let all = |tests: &[GateTest]| -> Result<Vec<bool>, Stop> { tests.iter().map(test).collect() };
    let passed = match condition {
        GateCondition::All(tests) => all(tests)?.into_iter().all(|b| b),
        GateCondition::Any(tests) => all(tests)?.into_iter().any(|b| b),
        GateCondition::Test(t) => test(t)?,
    };
    if let Some(s) = &node.step {
        let mut rec = Rec::new(json!(passed), 1.0);
        rec.fields.insert("passed".into(), json!(passed));
        frame.set_rec(s, rec);
    }
    let _ = run;
    let label = if passed { "pass" } else { "fail" };
    Ok(Done {
        label: Some(label.into()),
        confidence: None,
        detail: label.into(),
    })
}

async fn run_body(run: &Arc<Run>, body: &SubPlan, frame: &Arc<Frame>) -> Result<Rec, Stop> {
    if let Some(entry) = body.entry {
        walk(run, &body.graph, entry, None, frame.clone(), None).await?;
    }
    let exit = body.exit.and_then(|e| body.graph.node_weight(e));
    let rec = exit
        .and_then(|n| n.step.as_deref())
        .and_then(|s| frame.get(s))
        .map(|b| match b {
            Bound::Rec(r) => r,
            Bound::Plain(v) => Rec::new(v, 1.0),
        });
    Ok(rec.or_else(|| run.st().last.clone()).unwrap_or_default())
}

/// A loop: the body runs until `condition` (tested after each pass) is false, at most
/// `maxIterations` times; its record is the last pass's.
pub async fn looped(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Loop {
        max_iterations,
        condition,
        body,
    } = &node.kind
    else {
        return Ok(Done::default());
    };
    let mut last = Rec::default();
    let mut iterations = 0u32;
    while iterations < *max_iterations {
        iterations += 1;
        frame.set("iteration", Bound::Plain(json!(iterations)));
        last = run_body(run, body, frame).await?;
        if let Some(c) = condition {
            let go = eval_bool(c, &frame.scope(), &[("iteration", json!(iterations))])
                .map_err(expr_fail(node))?;
            if !go {
                break;
            }
        }
    }
    last.fields.insert("iterations".into(), json!(iterations));
    let c = last.confidence;
    if let Some(s) = &node.step {
        set_step_record(run, frame, s, last);
    }
    Ok(Done {
        confidence: Some(c),
        detail: format!("{iterations} iteration(s)"),
        ..Done::default()
    })
}

/// A batch: the task per item (`$item`, `$index`), `concurrency` at a time; value = list,
/// confidence = mean of the items'.
pub async fn batch(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Batch {
        items,
        concurrency,
        body,
    } = &node.kind
    else {
        return Ok(Done::default());
    };
    let list = match eval(items, &frame.scope(), &[])
        .map_err(expr_fail(node))?
        .value
    {
        Json::Array(a) => a,
        Json::Null => Vec::new(),
        other => vec![other],
    };
    run.st().parallel_paths += list.len() as u64;
    let results: Vec<Result<Rec, Stop>> =
        futures::stream::iter(list.into_iter().enumerate().map(|(i, item)| {
            let child = Frame::child(frame);
            child.set("item", Bound::Plain(item));
            child.set("index", Bound::Plain(json!(i)));
            async move { run_body(run, body, &child).await }
        }))
        .buffered((*concurrency).max(1) as usize)
        .collect()
        .await;
    let mut values = Vec::new();
    let mut confs = Vec::new();
    for r in results {
        let r = r?;
        values.push(r.value);
        confs.push(r.confidence);
    }
    let c = if confs.is_empty() {
        0.0
    } else {
        confs.iter().sum::<f64>() / confs.len() as f64
    };
    let n = values.len();
    let rec = Rec::new(Json::Array(values), c);
    if let Some(s) = &node.step {
        set_step_record(run, frame, s, rec);
    }
    Ok(Done {
        confidence: Some(c),
        detail: format!("{n} item(s)"),
        ..Done::default()
    })
}

/// `assign`: each name gets its expression's value.
pub fn assign(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Assign { values } = &node.kind else {
        return Ok(Done::default());
    };
    let mut out = serde_json::Map::new();
    for (k, v) in values {
        let e = assigned(v, &frame.scope()).map_err(expr_fail(node))?;
        frame.set_rec(k, Rec::new(e.value.clone(), e.confidence.unwrap_or(1.0)));
        out.insert(k.clone(), e.value);
    }
    if let Some(s) = &node.step {
        frame.set_rec(s, Rec::new(Json::Object(out), 1.0));
    }
    let _ = run;
    Ok(Done::default())
}

/// An assigned value: a `$` expression's value, `$$` text without its first `$`, anything else
/// as written (its strings are not read).
fn assigned(v: &OutputValue, scope: &Scope) -> Result<Evaluated, ExprError> {
    Ok(match v {
        OutputValue::Ref(e) => return eval_compiled(&e.compiled, scope, &[]),
        OutputValue::Escaped { text, .. } => Evaluated {
            value: Json::String(text[1..].to_string()),
            confidence: None,
        },
        other => Evaluated {
            value: other.to_json(),
            confidence: None,
        },
    })
}

/// `default`: a record literal (an agent step without agents gives null).
pub fn constant(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Const { value } = &node.kind else {
        return Ok(Done::default());
    };
    let rendered = super::output::render(value, &frame.scope(), &[]).map_err(expr_fail(node))?;
    let rec = record_literal(&rendered);
    let c = rec.confidence;
    if let Some(s) = &node.step {
        set_step_record(run, frame, s, rec);
    }
    Ok(Done {
        confidence: Some(c),
        ..Done::default()
    })
}

/// A composed pattern: compiled from its resolved file and run with the same agents.
pub async fn sub_pattern(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::SubPattern {
        name,
        resolved,
        input,
        ..
    } = &node.kind
    else {
        return Ok(Done::default());
    };
    let fail = |m: String| Stop::fail("prism::run::pattern", m, Some(&node.id));
    let resolved = resolved
        .as_ref()
        .ok_or_else(|| fail(format!("pattern `{name}` was not resolved")))?;
    let path = resolved.path.as_str();
    let pinned = Some(resolved.plan_hash.as_str());
    let sub_input = match input {
        Some(shape) => {
            super::output::render(shape, &frame.scope(), &[]).map_err(expr_fail(node))?
        }
        None => run.opts.input.clone(),
    };
    let (value, conf, results) =
        run_sub_pattern(run, name, path, pinned, sub_input, node.step.clone())
            .await
            .map_err(|e| match e {
                Stop::Failed(mut err) => {
                    err.node = Some(node.id.clone());
                    Stop::Failed(err)
                }
                other => other,
            })?;
    let mut rec = Rec::new(value, conf);
    if let Some(s) = &node.step {
        super::phase::step_fields(&mut rec, s, &results);
        set_step_record(run, frame, s, rec);
    }
    Ok(Done {
        confidence: Some(conf),
        detail: format!("pattern {name}"),
        ..Done::default()
    })
}

/// Runs a composed pattern from its resolved file with the same agents and options: its
/// output, confidence and agent results (recorded in this run under `step`). `pinned` is the
/// plan hash the including pattern was compiled (and license-gated) against: a file changed
/// since then is refused, so a directive added later cannot slip past the gate. A pattern
/// that carries `persistence` has its record written by the host (`RunOptions::persist`),
/// under this run's execution id.
pub async fn run_sub_pattern(
    run: &Arc<Run>,
    name: &str,
    path: &str,
    pinned: Option<&str>,
    sub_input: Json,
    step: Option<String>,
) -> Result<(Json, f64, Vec<super::record::AgentResult>), Stop> {
    let fail = |m: String| Stop::fail("prism::run::pattern", m, None);
    let SubPattern {
        text,
        plan,
        loaded,
        persistence,
    } = load_sub_pattern(run, name, path, pinned)?;
    let started_ms = super::record::now_ms();
    let mut opts = run.opts.clone();
    opts.input = sub_input;
    opts.source = Some(Arc::from(text.as_str()));
    opts.model = loaded.map(Arc::new);
    opts.trace = None;
    let sub = Arc::new(super::state::Run::new(Arc::new(plan), opts, run.id.clone()));
    share_health(run, &sub).await;
    let input = match super::input::validate_input(&sub.plan.meta.input, &sub.opts.input) {
        Ok(v) => v,
        Err(errs) => return Err(fail(format!("pattern `{name}`: {}", errs.join("; ")))),
    };
    sub.root.set("input", Bound::Plain(input));
    let outcome = walk(
        &sub,
        &sub.plan.graph,
        sub.plan.entry,
        None,
        sub.root.clone(),
        None,
    )
    .await;
    let (value, conf, results, retries) = {
        let st = sub.st();
        (
            st.output.clone().unwrap_or(Json::Null),
            st.confidence.unwrap_or(0.0),
            st.results.clone(),
            st.retries,
        )
    };
    if let (Some(config), Some(persist)) = (&persistence, &run.opts.persist) {
        let input = sub.opts.input.clone();
        let record = super::walk::finish(&sub, started_ms, input, outcome.clone());
        persist(config, &record.to_json())
            .map_err(|e| fail(format!("pattern `{name}`: its record was not saved: {e}")))?;
    }
    {
        let mut st = run.st();
        st.results.extend(results.iter().cloned().map(|mut r| {
            r.step = step.clone();
            r
        }));
        st.retries += retries;
    }
    match outcome {
        Ok(()) => Ok((value, conf, results)),
        Err(Stop::Failed(e)) => Err(fail(format!("pattern `{name}` failed: {}", e.message))),
        Err(other) => Err(other),
    }
}

/// A composed pattern read and compiled: its text, plan, loaded model and `persistence`.
struct SubPattern {
    text: String,
    plan: prism_compiler::plan::Plan,
    loaded: Option<prism_compiler::pattern::Loaded>,
    persistence: Option<Json>,
}

/// Reads and compiles a composed pattern, refusing one changed since the including pattern
/// was compiled (`pinned`), one a script names that carries licensed directives, and one with
/// `persistence` when the run has no store.
fn load_sub_pattern(
    run: &Run,
    name: &str,
    path: &str,
    pinned: Option<&str>,
) -> Result<SubPattern, Stop> {
    let fail = |m: String| Stop::fail("prism::run::pattern", m, None);
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read {path}: {e}")))?;
    let compiled = prism_compiler::pattern::compile_file(path, &text);
    let plan = compiled
        .plan
        .ok_or_else(|| fail(format!("pattern `{name}` ({path}) does not compile")))?;
    if let Some(pinned) = pinned
        && plan.hash() != pinned
    {
        return Err(fail(format!(
            "pattern `{name}` ({path}) changed since this pattern was compiled: build it again"
        )));
    }
    if pinned.is_none()
        && let Some(loaded) = &compiled.loaded
        && let Some(d) =
            prism_compiler::pattern::included::carried(loaded, Path::new(path), &text).first()
    {
        // A script's `runPattern` names its file at run time, where no license gate looks.
        return Err(fail(format!(
            "pattern `{name}` ({path}) carries `{}` ({}): a script cannot run a pattern with licensed directives; include it with a `pattern:` step, which the license gate checks",
            d.directive.kind.key(),
            d.file.name
        )));
    }
    let persistence = plan
        .directives()
        .iter()
        .find(|d| d.kind == prism_compiler::pattern::directives::DirectiveKind::Persistence)
        .map(|d| d.config.clone());
    if persistence.is_some() && run.opts.persist.is_none() {
        return Err(fail(format!(
            "pattern `{name}` ({path}) carries `persistence`, and this run has no store to keep its record"
        )));
    }
    Ok(SubPattern {
        text,
        plan,
        loaded: compiled.loaded,
        persistence,
    })
}

/// The phases of an included pattern that ask for healthy agents leave out those the run
/// found unhealthy; the run checks its agents (once, warning in its own record) when the
/// first pattern that asks is included.
async fn share_health(run: &Arc<Run>, sub: &Run) {
    if super::walk::asks_for_healthy_agents(&sub.plan) {
        let known = run.st().unhealthy.clone();
        let unhealthy = match known {
            Some(ids) => ids,
            None => {
                let ids = super::walk::check_health(&sub.opts.agents, run).await;
                run.st().unhealthy = Some(ids.clone());
                ids
            }
        };
        sub.st().unhealthy = Some(unhealthy);
    }
}

/// `onError {type: fail|continue|default, value}` for a failed step.
pub fn on_error(
    run: &Arc<Run>,
    frame: &Arc<Frame>,
    step: &str,
    config: &Json,
    e: RunError,
) -> Result<(), Stop> {
    let kind = config.get("type").and_then(Json::as_str).unwrap_or("fail");
    let rec = match kind {
        "continue" => {
            let mut r = Rec::new(Json::Null, 0.0);
            r.fields.insert("success".into(), json!(false));
            r.fields.insert("error".into(), json!(e.message));
            r
        }
        "default" => {
            let mut r = record_literal(config.get("value").unwrap_or(&Json::Null));
            r.fields.insert("success".into(), json!(false));
            r.fields.insert("error".into(), json!(e.message));
            r
        }
        _ => return Err(Stop::Failed(e)),
    };
    run.warn(
        "prism::run::step",
        format!("step `{step}` failed ({}); onError {kind}", e.message),
    );
    frame.set_rec(step, rec.clone());
    let mut st = run.st();
    st.last = Some(rec);
    let _ = json_num(0.0);
    Ok(())
}
