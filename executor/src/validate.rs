//! Validation (§1.8) of a phase's aggregated record — `minConfidence`, `schema`,
//! `maxLatency`, `$custom`, an aggregation not reached — with the policies `fail`, `retry`
//! (re-running the phase) and `fallback` (`default`, `cached`, `escalate`); and the top-level
//! `fallback` (`default`, `retry`, `escalate`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use petgraph::stable_graph::NodeIndex;
use prism_compiler::plan::settings::{Num, ValidationFallback, ValidationSettings};
use prism_compiler::plan::{Graph, NodeKind};
use serde_json::{Value as Json, json};

use super::aggregate::{aggregate_results, canon};
use super::expr::{Bound, Rec, eval_bool, json_num};
use super::output::render;
use super::record::AgentResult;
use super::state::{Frame, Run, Stop, lock};
use super::walk::{Done, walk};

/// Last successful records by pattern, step and input (`{type: cached}` fallbacks).
static CACHE: LazyLock<Mutex<HashMap<String, (Rec, Instant)>>> = LazyLock::new(Mutex::default);

/// A record literal (§1.8): a mapping with `result` (+ `confidence`, default 0; other keys go
/// to its `metadata`); any other value v means `{result: v, confidence: 0}`.
pub fn record_literal(v: &Json) -> Rec {
    match v {
        Json::Object(m) if m.contains_key("result") => {
            let mut rec = Rec::new(
                m["result"].clone(),
                m.get("confidence").and_then(Json::as_f64).unwrap_or(0.0),
            );
            let meta: serde_json::Map<String, Json> = m
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "result" | "confidence"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            rec.fields.insert("metadata".into(), Json::Object(meta));
            rec
        }
        other => Rec::new(other.clone(), 0.0),
    }
}

/// Why a record fails validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Not reached, below `minConfidence`, or a `$custom` condition holds (`onFailure`).
    Unmet(String),
    /// The value does not match `schema` (`onInvalid`).
    Invalid(String),
    /// Answers came after `maxLatency` (`onTimeout`).
    Timeout(String),
}

impl Failure {
    /// The reason, for messages.
    pub fn reason(&self) -> &str {
        match self {
            Failure::Unmet(r) | Failure::Invalid(r) | Failure::Timeout(r) => r,
        }
    }

    /// The policy that applies: `onInvalid`/`onTimeout` default to `onFailure`, that to `fail`.
    pub fn policy(&self, config: &ValidationSettings) -> String {
        let own = match self {
            Failure::Unmet(_) => &config.on_failure,
            Failure::Invalid(_) => &config.on_invalid,
            Failure::Timeout(_) => &config.on_timeout,
        };
        own.as_deref()
            .or(config.on_failure.as_deref())
            .unwrap_or("fail")
            .to_string()
    }
}

/// Marks the valid results that came after `max` ms as failed; returns how many.
pub fn mark_late(results: &mut [AgentResult], max: u64) -> usize {
    let mut late = 0;
    for r in results
        .iter_mut()
        .filter(|r| r.is_valid() && r.latency_ms > max)
    {
        r.error = Some(format!(
            "answered after maxLatency {max} ms ({} ms)",
            r.latency_ms
        ));
        late += 1;
    }
    late
}

/// The checks on the record itself, in order: an aggregation not reached, `minConfidence`,
/// `schema`.
pub fn check_record(config: &ValidationSettings, rec: &Rec) -> Option<Failure> {
    if rec.fields.get("reached") == Some(&Json::Bool(false)) {
        return Some(Failure::Unmet("the aggregation was not reached".into()));
    }
    if let Some(min) = config.min_confidence.as_ref().map(Num::get)
        && rec.confidence < min
    {
        return Some(Failure::Unmet(format!(
            "confidence {:.3} is below minConfidence {min}",
            rec.confidence
        )));
    }
    if let Some(schema) = &config.schema
        && let Err(errors) = super::input::validate_input(schema, &rec.value)
    {
        let errors: Vec<String> = errors
            .iter()
            .map(|e| e.replacen("input", "value", 1))
            .collect();
        return Some(Failure::Invalid(errors.join("; ")));
    }
    None
}

/// The key of the last successful record of a phase for this pattern and input.
pub fn cache_key(run: &Run, step: Option<&str>) -> String {
    format!(
        "{}\u{1}{}\u{1}{}",
        run.plan.meta.name,
        step.unwrap_or_default(),
        canon(&run.opts.input)
    )
}

/// Remembers a record that passed validation (for `{type: cached}` fallbacks).
pub fn remember(key: String, rec: &Rec) {
    lock(&CACHE).insert(key, (rec.clone(), Instant::now()));
}

/// What a validation fallback decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Fallen {
    /// Accept this record, from `cached` or `fallback`.
    Accept(Rec, &'static str),
    /// Fail the run with this message.
    Fail(String),
    /// End the run escalated.
    Escalate(Json),
}

/// The validation `fallback` (`default`, `cached`, `escalate`) after a failure for `reason`.
pub fn fallback_outcome(fb: &ValidationFallback, cache_key: &str, reason: &str) -> Fallen {
    match fb.kind() {
        "cached" => {
            let max_age = fb.max_age.map(Duration::from_millis);
            let hit = lock(&CACHE).get(cache_key).cloned();
            match hit {
                Some((rec, at)) if max_age.is_none_or(|m| at.elapsed() <= m) => {
                    Fallen::Accept(rec, "cached")
                }
                _ => Fallen::Fail(format!("validation failed: {reason}; no cached record")),
            }
        }
        "escalate" => Fallen::Escalate(json!({
            "target": fb.to.as_deref().unwrap_or("human"),
            "reason": format!("validation failed: {reason}"),
        })),
        _ => Fallen::Accept(
            record_literal(fb.value.as_ref().unwrap_or(&Json::Null)),
            "fallback",
        ),
    }
}

fn first_agent_node(g: &Graph, validate: NodeIndex) -> Option<NodeIndex> {
    let step = g.node_weight(validate)?.step.clone();
    g.node_indices().find(|&i| {
        g.node_weight(i)
            .is_some_and(|n| n.step == step && matches!(n.kind, NodeKind::AgentGroup { .. }))
    })
}

fn reaggregate(
    run: &Arc<Run>,
    g: &Graph,
    step: &Option<String>,
    frame: &Arc<Frame>,
) -> Option<Rec> {
    let config = g.node_indices().find_map(|i| match g.node_weight(i) {
        Some(n) if n.step == *step => match &n.kind {
            NodeKind::Aggregate { config } => Some(config.clone()),
            _ => None,
        },
        _ => None,
    });
    let results = run.st().phase.get(step).cloned().unwrap_or_default();
    Some(match config {
        Some(c) => aggregate_results(&results, &c, &frame.scope()),
        None => super::phase::most_confident(&results),
    })
}

/// Checks the phase's record, applying the policies.
pub async fn validate(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    frame: &Arc<Frame>,
) -> Result<Done, Stop> {
    let Some(node) = g.node_weight(n) else {
        return Ok(Done::default());
    };
    let NodeKind::Validate { config } = &node.kind else {
        return Ok(Done::default());
    };
    let step = node.step.clone();
    let max_retries = config.max_retries.unwrap_or(2) as u32;
    let delay = Duration::from_millis(config.retry_delay.unwrap_or(1000));
    let cache_key = cache_key(run, step.as_deref());
    let mut attempts = 1u32;
    loop {
        let mut rec = run.st().phase_rec.get(&step).cloned().unwrap_or_default();
        let failure = check(run, g, config, &step, frame, &mut rec)?;
        let Some(failure) = failure else {
            remember(cache_key, &rec);
            return Ok(accept(run, frame, &step, rec, attempts, "live"));
        };
        let (policy, reason) = (failure.policy(config), failure.reason().to_string());
        let fallback_cfg = config.fallback.as_ref();
        match (policy.as_str(), fallback_cfg) {
            ("retry", _) if attempts <= max_retries => {
                attempts += 1;
                run.st().retries += 1;
                run.warn(
                    "prism::run::validation",
                    format!("validation failed ({reason}); retrying"),
                );
                run.opts.effects.sleep(delay).await;
                if let Some(agent) = first_agent_node(g, n) {
                    walk(run, g, agent, Some(n), frame.clone(), None).await?;
                }
            }
            ("retry" | "fallback", Some(fb)) => {
                return apply_fallback(run, frame, &step, fb, &cache_key, attempts, &reason);
            }
            _ => {
                return Err(Stop::fail(
                    "prism::run::validation",
                    format!("validation failed: {reason}"),
                    Some(&node.id),
                ));
            }
        }
    }
}

fn check(
    run: &Arc<Run>,
    g: &Graph,
    config: &ValidationSettings,
    step: &Option<String>,
    frame: &Arc<Frame>,
    rec: &mut Rec,
) -> Result<Option<Failure>, Stop> {
    if let Some(max) = config.max_latency {
        let late = run
            .st()
            .phase
            .get_mut(step)
            .map_or(0, |rs| mark_late(rs, max));
        if late > 0 {
            if let Some(r) = reaggregate(run, g, step, frame) {
                *rec = r;
                run.st().phase_rec.insert(step.clone(), rec.clone());
            }
            if rec.value.is_null() {
                return Ok(Some(Failure::Timeout(format!(
                    "{late} answer(s) came after maxLatency {max} ms"
                ))));
            }
        }
    }
    if let Some(f) = check_record(config, rec) {
        return Ok(Some(f));
    }
    if let Some(custom) = &config.custom {
        let cond = custom.condition.as_deref().unwrap_or("false");
        let mut scope = frame.scope();
        scope.insert("result".into(), Bound::Rec(rec.clone()));
        let names = [
            ("confidence", json_num(rec.confidence)),
            ("value", rec.value.clone()),
        ];
        let hit = eval_bool(cond, &scope, &names)
            .map_err(|e| Stop::fail("prism::run::expression", e.to_string(), None))?;
        if hit {
            match custom.action.as_deref().unwrap_or("fail") {
                "override" => {
                    *rec = record_literal(custom.value.as_ref().unwrap_or(&Json::Null));
                    run.st().phase_rec.insert(step.clone(), rec.clone());
                }
                _ => {
                    return Ok(Some(Failure::Unmet(format!(
                        "$custom condition `{cond}` holds"
                    ))));
                }
            }
        }
    }
    Ok(None)
}

fn accept(
    run: &Arc<Run>,
    frame: &Arc<Frame>,
    step: &Option<String>,
    rec: Rec,
    attempts: u32,
    source: &str,
) -> Done {
    let v = json!({"passed": source == "live", "attempts": attempts, "source": source});
    let c = rec.confidence;
    run.st().phase_rec.insert(step.clone(), rec.clone());
    match step {
        None => {
            frame.set("validation", Bound::Plain(v));
            if let Some(Bound::Rec(_)) = frame.get("aggregation") {
                frame.set_rec("aggregation", rec.clone());
            }
        }
        Some(s) => {
            let mut r = rec;
            let results = run.st().phase.get(step).cloned().unwrap_or_default();
            super::phase::step_fields(&mut r, s, &results);
            r.fields.insert("passed".into(), json!(source == "live"));
            r.fields.insert("attempts".into(), json!(attempts));
            r.fields.insert("validation".into(), v);
            super::phase::set_step_record(run, frame, s, r);
        }
    }
    Done {
        confidence: Some(c),
        detail: format!("{source} after {attempts} attempt(s)"),
        ..Done::default()
    }
}

fn apply_fallback(
    run: &Arc<Run>,
    frame: &Arc<Frame>,
    step: &Option<String>,
    fb: &ValidationFallback,
    cache_key: &str,
    attempts: u32,
    reason: &str,
) -> Result<Done, Stop> {
    let kind = fb.kind();
    let mut fired = json!({"reason": format!("validation failed: {reason}"), "action": kind});
    if let (Some(s), Some(m)) = (step, fired.as_object_mut()) {
        m.insert("step".into(), json!(s));
    }
    run.st().fallback = Some(fired);
    match fallback_outcome(fb, cache_key, reason) {
        Fallen::Accept(rec, source) => Ok(accept(run, frame, step, rec, attempts, source)),
        Fallen::Fail(message) => Err(Stop::fail("prism::run::validation", message, None)),
        Fallen::Escalate(info) => Err(Stop::Escalated(info)),
    }
}

/// The top-level fallback: runs last, `confidence` in its condition is the pattern's.
pub async fn fallback(
    run: &Arc<Run>,
    g: &Graph,
    n: NodeIndex,
    frame: &Arc<Frame>,
) -> Result<Done, Stop> {
    let Some(NodeKind::Fallback { config }) = g.node_weight(n).map(|x| &x.kind) else {
        return Ok(Done::default());
    };
    let cond = config.condition.as_deref().unwrap_or("true");
    let holds = |run: &Arc<Run>| -> Result<bool, Stop> {
        let c = run.st().confidence.unwrap_or(0.0);
        eval_bool(cond, &frame.scope(), &[("confidence", json_num(c))])
            .map_err(|e| Stop::fail("prism::run::expression", e.to_string(), Some("fallback")))
    };
    if !holds(run)? {
        return Ok(Done {
            detail: "condition does not hold".into(),
            ..Done::default()
        });
    }
    let action = config.action();
    let reason = format!(
        "fallback condition `{cond}` holds (confidence {:.3})",
        run.st().confidence.unwrap_or(0.0)
    );
    run.st().fallback = Some(json!({"reason": reason, "action": action}));
    match action {
        "retry" => {
            let max = config.max_retries.unwrap_or(3);
            let mut best = (run.st().confidence.unwrap_or(0.0), frame.snapshot());
            let mut tries = 0;
            while tries < max && holds(run)? {
                tries += 1;
                run.st().retries += 1;
                walk(run, g, run.plan.entry, Some(n), frame.clone(), None).await?;
                let c = run.st().confidence.unwrap_or(0.0);
                if c > best.0 {
                    best = (c, frame.snapshot());
                }
            }
            frame.restore(best.1);
            run.st().confidence = Some(best.0);
            Ok(Done {
                confidence: Some(best.0),
                detail: format!("retried {tries} time(s)"),
                ..Done::default()
            })
        }
        "escalate" => {
            let c = run.st().confidence.unwrap_or(0.0);
            let target = config.target.as_deref().unwrap_or("human");
            run.st().escalation = Some(json!({"target": target, "reason": reason}));
            Ok(Done {
                confidence: Some(c),
                detail: format!("escalated to {target}"),
                ..Done::default()
            })
        }
        _ => {
            let v = config
                .value
                .as_ref()
                .map_or(Ok(Json::Null), |v| render(v, &frame.scope(), &[]))
                .map_err(|e| {
                    Stop::fail("prism::run::expression", e.to_string(), Some("fallback"))
                })?;
            run.st().fallback_output = Some(v);
            Ok(Done {
                detail: "default output".into(),
                ..Done::default()
            })
        }
    }
}
