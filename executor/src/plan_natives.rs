//! The plan executor's own steps as natives of pattern scripts, so that the Prism that
//! `prism build --emit prism` writes for a YAML pattern or an org chart runs exactly as the
//! plan does — one implementation, two front doors. A *record* here is an object
//! `{value, confidence, …fields}` (what a `$reference` of §1.9 names: `$vote` is
//! `vote.value`, `$vote.distribution` the field), an *agent record* the §4 shape of
//! `agentResults`.
//!
//! | native | what it is |
//! | --- | --- |
//! | `callAgents(selection, {step, task, input, execution})` | selection and dispatch of one phase (§1.3–1.4); resolves to its agent records, rejects with the phase's error |
//! | `aggregate(results, config)` | the §1.6 aggregation record (`$aggregation`) of the valid results |
//! | `mostConfident(results)` | the record of an agent step without aggregation |
//! | `stepRecord(record, step, results)` | a step record: `success agents results attempts source error` added |
//! | `checkValidation(record, results, validation, aggregation)` | `{record, failure}`: `maxLatency`, not reached, `minConfidence`, `schema` (§1.8); `failure` is `null` or `{kind, reason, policy}` |
//! | `settleValidation(record, failure, attempts, validation, step)` | `{record, validation}` once retries are over: accepted live, or the `fallback`; fails or escalates the run otherwise |
//! | `recordLiteral(value)` | a §1.8 record literal |
//! | `escalate({target, reason, context})` | ends the run `escalated` |
//! | `flagEscalation({target, reason})` | the run goes on and ends `escalated` |
//! | `fail(message)` | fails the run with this message |
//! | `executionInfo()` | `$execution` |
//! | `runPattern(name, path, input, step)` | a composed pattern's record |
//! | `fillRole(role, selection)` | fills an org-chart role (§2); its agents' names |
//! | `orgTask({action, role, task, step, subject})` | an org-chart task with the role policy; resolves to `{value, confidence, answers}` |
//! | `interpolate(text, names)` | an org-chart `${…}` string |
//! | `roleAgents()` | `{role: [agent ids]}` |
//! | `runAnswers()` | every agent record of the run so far |

use prism_agents::Selection;
use prism_agents::select::strings;
use prism_compiler::plan::settings::{
    AgentSelection, AgentsSelection, AggregationSettings, ExecutionSettings, ValidationSettings,
};
use std::sync::Arc;

use serde_json::{Value as Json, json};

use prism_interp::promise::{NativeFuture, Settled};
use prism_interp::value::Value;
use prism_interp::{Interpreter, RuntimeError, from_json, to_json};

use super::aggregate::aggregate_results;
use super::expr::{Bound, Rec, Scope, json_num};
use super::phase::{
    dispatch, most_confident, names_of, pipeline_calls, request_template, select, step_fields,
};
use super::record::AgentResult;
use super::state::Run;
use super::validate::{
    Failure, Fallen, cache_key, check_record, fallback_outcome, mark_late, record_literal, remember,
};

/// A record from its object form.
pub fn rec_from_json(j: &Json) -> Rec {
    let mut fields = j.as_object().cloned().unwrap_or_default();
    let value = fields.remove("value").unwrap_or(Json::Null);
    let confidence = fields
        .remove("confidence")
        .and_then(|c| c.as_f64())
        .unwrap_or(0.0);
    Rec {
        value,
        confidence,
        fields,
    }
}

/// Agent records (§4 shape) as results; arrival order follows `timestamp`, then list order.
pub fn results_from_json(records: &Json) -> Vec<AgentResult> {
    let list = records.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut out: Vec<AgentResult> = list
        .iter()
        .enumerate()
        .map(|(i, r)| AgentResult::from_json(r, i))
        .collect();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&i| (out[i].timestamp, i));
    for (rank, i) in order.into_iter().enumerate() {
        out[i].seq = rank as u64;
    }
    out
}

fn arg(args: &[Value], i: usize) -> Json {
    args.get(i).map(to_json).unwrap_or(Json::Null)
}

fn records(results: &[AgentResult]) -> Json {
    Json::Array(results.iter().map(AgentResult::to_json).collect())
}

fn list(v: Option<&Json>) -> Vec<Json> {
    match v {
        Some(Json::Array(a)) => a.clone(),
        Some(Json::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

fn settled(value: Json) -> Settled {
    Settled {
        value,
        confidence: None,
    }
}

fn define(
    interp: &mut Interpreter,
    name: &'static str,
    f: impl Fn(&mut Interpreter, &[Value]) -> Result<Value, RuntimeError> + 'static,
) {
    interp.define_global(name, Value::native(name, move |it, args, _| f(it, args)));
}

/// Installs the natives of this module for a script of `run`.
pub fn install(interp: &mut Interpreter, run: Arc<Run>) {
    phase_natives(interp, &run);
    validation_natives(interp, &run);
    ending_natives(interp, &run);
    let r = run.clone();
    define(interp, "runPattern", move |it, args| {
        run_pattern(&r, it, args)
    });
    org_natives(interp, run);
}

/// `callAgents`, `aggregate`, `mostConfident` and `stepRecord`: one phase's dispatch and
/// records.
fn phase_natives(interp: &mut Interpreter, run: &Arc<Run>) {
    let r = run.clone();
    define(interp, "callAgents", move |it, args| {
        call_agents(&r, it, args)
    });
    define(interp, "aggregate", |_, args| {
        let results = results_from_json(&arg(args, 0));
        // A script's settings: values of another type are ignored, as the keys it lacks.
        let config = AggregationSettings::parse(&arg(args, 1)).0;
        let rec = aggregate_results(&results, &config, &Scope::new());
        Ok(from_json(&rec.to_json()))
    });
    define(interp, "mostConfident", |_, args| {
        let results = results_from_json(&arg(args, 0));
        Ok(from_json(&most_confident(&results).to_json()))
    });
    define(interp, "stepRecord", |_, args| {
        let mut rec = rec_from_json(&arg(args, 0));
        let step = arg(args, 1);
        let results = results_from_json(&arg(args, 2));
        step_fields(&mut rec, step.as_str().unwrap_or_default(), &results);
        Ok(from_json(&rec.to_json()))
    });
}

/// `checkValidation`, `settleValidation` and `recordLiteral`: a phase's validation (§1.8).
fn validation_natives(interp: &mut Interpreter, run: &Arc<Run>) {
    define(interp, "checkValidation", |_, args| check_validation(args));
    let r = run.clone();
    define(interp, "settleValidation", move |_, args| {
        settle_validation(&r, args)
    });
    define(interp, "recordLiteral", |_, args| {
        Ok(from_json(&record_literal(&arg(args, 0)).to_json()))
    });
}

/// `escalate`, `flagEscalation`, `fail` and `executionInfo`: how a run ends, and `$execution`.
fn ending_natives(interp: &mut Interpreter, run: &Arc<Run>) {
    let r = run.clone();
    define(interp, "escalate", move |_, args| {
        let info = arg(args, 0);
        let message = format!(
            "escalated to {}",
            info.get("target").and_then(Json::as_str).unwrap_or("human")
        );
        r.st().script_escalation = Some(info);
        Err(RuntimeError::msg(message))
    });
    let r = run.clone();
    define(interp, "flagEscalation", move |_, args| {
        r.st().escalation = Some(arg(args, 0));
        Ok(Value::Null)
    });
    define(interp, "fail", |_, args| {
        let message = match arg(args, 0) {
            Json::String(s) => s,
            other => other.to_string(),
        };
        Err(RuntimeError::msg(message))
    });
    let r = run.clone();
    define(interp, "executionInfo", move |_, _| {
        Ok(from_json(&r.execution_json(1)))
    });
}

/// `callAgents(selection, {step, task, input, execution})`: selects and calls one phase's
/// agents (a pipeline when the execution has steps); resolves to their agent records.
fn call_agents(r: &Arc<Run>, it: &mut Interpreter, args: &[Value]) -> Result<Value, RuntimeError> {
    let selection = arg(args, 0);
    let request = arg(args, 1);
    let caps = names_of(&list(selection.get("capabilities")));
    let exclude = names_of(&list(selection.get("exclude")));
    // The rest of a script's selection, typed: values of another type are ignored, as the
    // keys it lacks (`capabilities` and `exclude` are the evaluated lists above).
    let selection = AgentSelection::Agents(AgentsSelection::parse(&selection).0);
    let input = match request.get("input") {
        Some(v) => v.clone(),
        None => r.opts.input.clone(),
    };
    let task = match request.get("task") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => r
            .opts
            .input
            .get("task")
            .and_then(Json::as_str)
            .unwrap_or("analyze")
            .to_string(),
        Some(other) => other.to_string(),
    };
    let step = request.get("step").and_then(Json::as_str);
    // A script's settings: values of another type are ignored, as the keys it lacks.
    let execution = ExecutionSettings::parse(request.get("execution").unwrap_or(&json!({}))).0;
    let template = request_template(r, task, input.clone(), step, None);
    let run = r.clone();
    let fut: NativeFuture = Box::pin(async move {
        if let Some(pipe) = &execution.steps {
            let agents = select(&run, &selection, caps, exclude)?;
            let mut scope = Scope::new();
            scope.insert("input".into(), Bound::Plain(run.opts.input.clone()));
            return pipeline_calls(
                &run, &agents, pipe, &template, &selection, &execution, scope,
            )
            .await
            .map(|(results, _, _)| settled(records(&results)))
            .map_err(|(_, m)| m);
        }
        dispatch(&run, &selection, caps, exclude, &execution, &template)
            .await
            .map(|results| settled(records(&results)))
            .map_err(|f| f.message)
    });
    it.spawn(fut)
}

/// `checkValidation(record, results, validation, aggregation)`: `maxLatency` (late answers
/// dropped, the record made again), then the record's checks; `{record, failure}`.
fn check_validation(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut rec = rec_from_json(&arg(args, 0));
    let mut results = results_from_json(&arg(args, 1));
    // A script's settings: values of another type are ignored, as the keys it lacks.
    let config = ValidationSettings::parse(&arg(args, 2)).0;
    let aggregation = arg(args, 3);
    let mut failure = None;
    if let Some(max) = config.max_latency {
        let late = mark_late(&mut results, max);
        if late > 0 {
            rec = if aggregation.is_null() {
                most_confident(&results)
            } else {
                let aggregation = AggregationSettings::parse(&aggregation).0;
                aggregate_results(&results, &aggregation, &Scope::new())
            };
            if rec.value.is_null() {
                failure = Some(Failure::Timeout(format!(
                    "{late} answer(s) came after maxLatency {max} ms"
                )));
            }
        }
    }
    let failure = failure.or_else(|| check_record(&config, &rec));
    let failure = failure.map_or(Json::Null, |f| {
        let kind = match f {
            Failure::Unmet(_) => "unmet",
            Failure::Invalid(_) => "invalid",
            Failure::Timeout(_) => "timeout",
        };
        json!({"kind": kind, "reason": f.reason(), "policy": f.policy(&config)})
    });
    Ok(from_json(
        &json!({"record": rec.to_json(), "failure": failure}),
    ))
}

/// `settleValidation(record, failure, attempts, validation, step)`: a record without failure
/// is accepted live; otherwise the fallback decides, or the run fails.
fn settle_validation(r: &Arc<Run>, args: &[Value]) -> Result<Value, RuntimeError> {
    let rec = rec_from_json(&arg(args, 0));
    let failure = arg(args, 1);
    let attempts = arg(args, 2).as_u64().unwrap_or(1);
    let config = ValidationSettings::parse(&arg(args, 3)).0;
    let step = arg(args, 4);
    let key = cache_key(r, step.as_str());
    let accepted = |rec: Rec, source: &str| {
        let v = json!({"passed": source == "live", "attempts": attempts, "source": source});
        Ok(from_json(
            &json!({"record": rec.to_json(), "validation": v}),
        ))
    };
    if failure.is_null() {
        remember(key, &rec);
        return accepted(rec, "live");
    }
    let reason = failure
        .get("reason")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let policy = failure
        .get("policy")
        .and_then(Json::as_str)
        .unwrap_or("fail");
    match &config.fallback {
        Some(fb) if matches!(policy, "retry" | "fallback") => {
            match fallback_outcome(fb, &key, &reason) {
                Fallen::Accept(rec, source) => accepted(rec, source),
                Fallen::Fail(message) => Err(RuntimeError::msg(message)),
                Fallen::Escalate(info) => {
                    let message = info["reason"].as_str().unwrap_or_default().to_string();
                    r.st().script_escalation = Some(info);
                    Err(RuntimeError::msg(message))
                }
            }
        }
        _ => Err(RuntimeError::msg(format!("validation failed: {reason}"))),
    }
}

/// `runPattern(name, path, input, step)`: a composed pattern's run, resolved to its step record.
fn run_pattern(r: &Arc<Run>, it: &mut Interpreter, args: &[Value]) -> Result<Value, RuntimeError> {
    let name = arg(args, 0).as_str().unwrap_or_default().to_string();
    let path = arg(args, 1).as_str().unwrap_or_default().to_string();
    let input = match args.get(2) {
        Some(v) if !matches!(v, Value::Null) => to_json(v),
        _ => r.opts.input.clone(),
    };
    let step = arg(args, 3).as_str().map(str::to_string);
    let run = r.clone();
    let fut: NativeFuture = Box::pin(async move {
        match super::control::run_sub_pattern(&run, &name, &path, None, input, step.clone()).await {
            Ok((value, confidence, results)) => {
                let mut rec = Rec::new(value, confidence);
                step_fields(&mut rec, step.as_deref().unwrap_or_default(), &results);
                Ok(settled(rec.to_json()))
            }
            Err(super::state::Stop::Failed(e)) => Err(e.message),
            Err(super::state::Stop::Escalated(info)) => {
                let message = info["reason"].as_str().unwrap_or("escalated").to_string();
                run.st().script_escalation = Some(info);
                Err(message)
            }
            Err(_) => Err("the composed pattern was stopped".into()),
        }
    });
    it.spawn(fut)
}

/// The selection a script's `fillRole` passes (a role's plan selection as JSON): its
/// capabilities, `agentType` preferred, and the counts and regions read as typed settings (the
/// role's other keys are ignored).
fn role_selection(v: &Json) -> Selection {
    let settings = AgentsSelection::parse(v).0;
    Selection {
        prefer: strings(v.get("agentType")),
        ..Selection::from_settings(&settings, strings(v.get("capabilities")), Vec::new())
    }
}

fn org_natives(interp: &mut Interpreter, run: Arc<Run>) {
    let r = run.clone();
    define(interp, "fillRole", move |_, args| {
        let role = arg(args, 0);
        let sel = role_selection(&arg(args, 1));
        super::org::fill_role(&r, role.as_str().unwrap_or_default(), sel)
            .map(|names| from_json(&json!(names)))
            .map_err(RuntimeError::msg)
    });
    let r = run.clone();
    define(interp, "orgTask", move |it, args| {
        let req = arg(args, 0);
        let s = |k: &str| req.get(k).and_then(Json::as_str).map(str::to_string);
        let action = s("action").unwrap_or_else(|| "assign".into());
        let role = s("role").unwrap_or_default();
        let task = match req.get("task") {
            Some(Json::String(t)) => Some(t.clone()),
            Some(other) => Some(other.to_string()),
            None => None,
        };
        let step = s("step").unwrap_or_default();
        let subject = req.get("subject").cloned().unwrap_or(Json::Null);
        let run = r.clone();
        let fut: NativeFuture = Box::pin(async move {
            let (value, confidence, answers) =
                super::org::run_task(&run, &action, &role, task, &step, subject).await?;
            Ok(settled(json!({
                "value": value,
                "confidence": json_num(confidence),
                "answers": records(&answers),
            })))
        });
        it.spawn(fut)
    });
    define(interp, "interpolate", |_, args| {
        let text = arg(args, 0);
        let names: Vec<(String, Json)> = match arg(args, 1) {
            Json::Object(m) => m.into_iter().collect(),
            _ => Vec::new(),
        };
        let ns: Vec<(&str, Json)> = names.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        Ok(from_json(&super::org::interpolate_with(
            text.as_str().unwrap_or_default(),
            &ns,
        )))
    });
    let r = run.clone();
    define(interp, "roleAgents", move |_, _| {
        let roles = super::org::role_agent_ids(&r.st().roles);
        Ok(from_json(&Json::Object(roles)))
    });
    let r = run;
    define(interp, "runAnswers", move |_, _| {
        Ok(from_json(&records(&r.st().results)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CallStatus;

    #[test]
    fn records_and_results_come_back_from_json() {
        let mut rec = Rec::new(json!({"a": 1}), 0.7);
        rec.fields.insert("winner".into(), json!("a"));
        assert_eq!(rec_from_json(&rec.to_json()), rec);
        let rs = results_from_json(&json!([
            {"agentId": "x", "result": 1, "confidence": 0.8, "timestamp": 20},
            {"agentId": "y", "result": null, "confidence": 0.0, "timestamp": 10, "error": "boom"},
        ]));
        assert_eq!(rs.len(), 2);
        assert_eq!(
            (rs[0].seq, rs[1].seq),
            (1, 0),
            "arrival order follows timestamps"
        );
        assert!(rs[0].is_valid());
        assert_eq!(rs[1].status, CallStatus::Failed);
        assert_eq!(rs[1].error.as_deref(), Some("boom"));
    }
}
