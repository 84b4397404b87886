//! Org charts (§2): roles filled from the agents (unused agents first), workflow tasks sent to
//! a role's agents in rotation with `${…}` interpolation, review/approve verdicts, the role
//! confidence policy (accept, one retry below `retryBelow`, escalation to `reportsTo`), and
//! the workflow's final value.

use std::sync::Arc;
use std::time::Duration;

use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;
use prism_compiler::plan::output::OutputValue;
use prism_compiler::plan::settings::{AgentSelection, Num, RolePolicy, RoleSelection};
use prism_compiler::plan::{Edge, Graph, Node, NodeKind};
use serde_json::{Map, Value as Json, json};

use prism_agents::{Selection, SharedAgent, select_agents};

use super::aggregate::aggregate_results;
use super::dispatch::{CallPolicy, RequestTemplate, call_agent};
use super::expr::{Bound, Rec, eval, json_num, truthy};
use super::record::AgentResult;
use super::state::{Frame, Run, Stop};
use super::walk::Done;

/// Stops the run before any call when a role has a `verify.command` oracle and commands are
/// not allowed (`--allow-commands`).
pub fn check_commands(run: &Run) -> Result<(), Stop> {
    if run.opts.allow_commands {
        return Ok(());
    }
    for (_, n) in run.plan.nodes() {
        if let NodeKind::AgentGroup {
            selection,
            role: Some(role),
            ..
        } = &n.kind
        {
            let AgentSelection::Role(RoleSelection { verify, .. }) = selection else {
                continue;
            };
            let has_command = match verify {
                Json::Array(a) => a.iter().any(|v| v.get("command").is_some()),
                Json::Object(m) => m.contains_key("command"),
                _ => false,
            };
            if has_command {
                return Err(Stop::fail(
                    "prism::run::commands",
                    format!(
                        "role `{role}` verifies with a command; run with --allow-commands to allow it"
                    ),
                    Some(&n.id),
                ));
            }
        }
    }
    Ok(())
}

/// Fills a role: its agents, preferring agents no other role uses yet.
pub async fn role(run: &Arc<Run>, node: &Node, _frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::AgentGroup {
        selection,
        role: Some(role),
        ..
    } = &node.kind
    else {
        return Ok(Done::default());
    };
    let chosen = fill_role(run, role, role_selection(selection))
        .map_err(|m| Stop::fail("prism::run::agents", m, Some(&node.id)))?;
    Ok(Done {
        detail: chosen.join(", "),
        ..Done::default()
    })
}

/// What a role node selects: its capabilities, `agentType` preferred, min/max instances.
fn role_selection(selection: &AgentSelection) -> Selection {
    match selection {
        AgentSelection::Role(r) => Selection::from_role(r),
        AgentSelection::Agents(a) => Selection {
            prefer: Vec::new(),
            ..Selection::from_settings(a, selection.capabilities().to_vec(), Vec::new())
        },
    }
}

/// Fills `role` from its selection (capabilities, `agentType` preferred, min/max instances),
/// agents no other role uses first; returns the chosen agents' names.
pub fn fill_role(run: &Run, role: &str, mut sel: Selection) -> Result<Vec<String>, String> {
    let want = sel.max.unwrap_or(sel.min).max(sel.min);
    sel.max = None;
    let candidates = select_agents(&run.opts.agents.agents, &sel)
        .map_err(|e| format!("role `{role}`: {}", e.message))?;
    let used: Vec<String> = run
        .st()
        .roles
        .values()
        .flatten()
        .map(|a| a.info().id.clone())
        .collect();
    let (fresh, shared): (Vec<SharedAgent>, Vec<SharedAgent>) = candidates
        .into_iter()
        .partition(|a| !used.contains(&a.info().id));
    if fresh.len() < want && !shared.is_empty() {
        run.warn(
            "prism::run::shared-agent",
            format!("role `{role}` shares agents with other roles"),
        );
    }
    let chosen: Vec<SharedAgent> = fresh.into_iter().chain(shared).take(want).collect();
    let names = chosen.iter().map(|a| a.info().name.clone()).collect();
    run.st().roles.insert(role.to_string(), chosen);
    Ok(names)
}

fn names(frame: &Frame) -> Vec<(String, Json)> {
    frame
        .scope()
        .into_iter()
        .filter(|(k, _)| k == "input" || k.ends_with("_result"))
        .map(|(k, v)| {
            let j = match v {
                Bound::Plain(j) => j,
                Bound::Rec(r) => r.value,
            };
            (k, j)
        })
        .collect()
}

/// `${…}` holes: objects as JSON; a lone hole yields the value.
fn interpolate(text: &str, frame: &Frame) -> Json {
    let owned = names(frame);
    let ns: Vec<(&str, Json)> = owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    interpolate_with(text, &ns)
}

/// `${…}` holes over the given names (`input`, step results): objects as JSON, a hole that
/// fails to evaluate as empty; a lone hole yields the value.
pub fn interpolate_with(text: &str, ns: &[(&str, Json)]) -> Json {
    let ns = ns.to_vec();
    let scope = super::expr::Scope::new();
    let t = text.trim();
    if t.starts_with("${") && t.ends_with('}') && t[2..].find('}') == Some(t.len() - 3) {
        return eval(&t[2..t.len() - 1], &scope, &ns)
            .map(|e| e.value)
            .unwrap_or(Json::Null);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        match eval(&after[..close], &scope, &ns)
            .map(|e| e.value)
            .unwrap_or(Json::Null)
        {
            Json::String(s) => out.push_str(&s),
            Json::Null => {}
            other => out.push_str(&other.to_string()),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Json::String(out)
}

fn next_agent(run: &Run, role: &str) -> Option<SharedAgent> {
    let mut st = run.st();
    let agents = st.roles.get(role).cloned().unwrap_or_default();
    if agents.is_empty() {
        return None;
    }
    let i = st.rotation.entry(role.to_string()).or_insert(0);
    let a = agents[*i % agents.len()].clone();
    *i += 1;
    Some(a)
}

fn policy_of(run: &Run, role: &str) -> (RolePolicy, Option<String>) {
    for (_, n) in run.plan.nodes() {
        if let NodeKind::AgentGroup {
            selection,
            role: Some(r),
            ..
        } = &n.kind
            && r == role
        {
            return match selection {
                AgentSelection::Role(r) => {
                    (r.policy.clone().unwrap_or_default(), r.reports_to.clone())
                }
                AgentSelection::Agents(_) => (RolePolicy::default(), None),
            };
        }
    }
    (RolePolicy::default(), None)
}

async fn ask(
    run: &Arc<Run>,
    agent: SharedAgent,
    role: &str,
    task: &str,
    input: Json,
    step: &str,
) -> AgentResult {
    let t = RequestTemplate {
        task: task.to_string(),
        input,
        pattern: run.pattern_ref(),
        step: Some(step.to_string()),
        role: Some(role.to_string()),
        context: json!({"executionId": run.id, "previous": null, "thread": null, "workspace": null,
            "routing": run.plan.meta.extra.get("context").and_then(|c| c.get("routing")).cloned().unwrap_or(Json::Null)}),
    };
    let req = t.request(
        run.request_id(),
        &run.st().last.clone().map_or(Json::Null, |r| r.value),
    );
    let policy = task_policy(run);
    let (r, retries) = call_agent(agent, req, policy, Some(step.to_string()), || {
        run.next_seq()
    })
    .await;
    let mut st = run.st();
    st.results.push(r.clone());
    st.retries += u64::from(retries);
    r
}

/// An org-chart task: `assign`, `review`, `approve` or `select`.
pub async fn task(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Task { action, role, task } = &node.kind else {
        return Ok(Done::default());
    };
    let step = node.step.clone().unwrap_or_default();
    let text = match task.as_deref().map(|t| interpolate(t, frame)) {
        Some(Json::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let subject = run.st().last.clone().map_or(Json::Null, |r| r.value);
    let (value, conf, answers) = run_task(run, action, role, text, &step, subject)
        .await
        .map_err(|m| Stop::fail("prism::run::agents", m, Some(&node.id)))?;
    let rec = Rec::new(value, conf);
    frame.set_rec(&format!("{step}_result"), rec.clone());
    let mut st = run.st();
    st.last = Some(rec);
    st.last_answers = answers;
    Ok(Done {
        confidence: Some(conf),
        detail: format!("{action} → {role}"),
        ..Done::default()
    })
}

/// What an org-chart task produced: its value, confidence and the answers it got.
pub type TaskOutcome = (Json, f64, Vec<AgentResult>);

/// Runs one org-chart task for `role`: `assign` sends `text` (default `analyze`) to the
/// role's next agent and applies the role's confidence policy; `review`/`approve` judge
/// `subject`; `select` asks every agent of the role and keeps the most confident answer.
pub async fn run_task(
    run: &Arc<Run>,
    action: &str,
    role: &str,
    text: Option<String>,
    step: &str,
    subject: Json,
) -> Result<TaskOutcome, String> {
    let no_agent = || format!("role `{role}` has no agents");
    match action {
        "assign" => {
            let text = text.unwrap_or_else(|| "analyze".into());
            let agent = next_agent(run, role).ok_or_else(no_agent)?;
            Ok(assign(run, agent, role, &text, step).await)
        }
        "review" | "approve" => {
            let agent = next_agent(run, role).ok_or_else(no_agent)?;
            Ok(judge(run, agent, action, role, subject, step).await)
        }
        _ => {
            let agents = run.st().roles.get(role).cloned().unwrap_or_default();
            if agents.is_empty() {
                return Err(no_agent());
            }
            let input = run.opts.input.clone();
            let mut all = Vec::new();
            for a in agents {
                all.push(ask(run, a, role, "select", input.clone(), step).await);
            }
            let best = super::phase::most_confident(&all);
            Ok((best.value, best.confidence, all))
        }
    }
}

/// `assign`: the task to the role's agent, with the role's policy applied to a weak answer:
/// asked again with a critique below `retryBelow`, of the role it reports to below
/// `escalateBelow`, and a warning when it stays below `accept`.
async fn assign(
    run: &Arc<Run>,
    agent: SharedAgent,
    role: &str,
    text: &str,
    step: &str,
) -> TaskOutcome {
    let input = run.opts.input.clone();
    let mut r = ask(run, agent, role, text, input.clone(), step).await;
    let (policy, reports) = policy_of(run, role);
    let accept = policy.accept();
    let retry_below = policy.retry_below.as_ref().map(Num::get);
    let escalate_below = policy.escalate_below.as_ref().map(Num::get);
    if r.is_valid() && r.confidence < accept {
        if retry_below.is_some_and(|t| r.confidence < t)
            && let Some(a) = next_agent(run, role)
        {
            let critique = format!(
                "{text}\n\nA previous attempt scored {:.2}; improve on it:\n{}",
                r.confidence, r.result
            );
            let again = ask(run, a, role, &critique, input.clone(), step).await;
            if again.is_valid() && again.confidence > r.confidence {
                r = again;
            }
        }
        if escalate_below.is_some_and(|t| r.confidence < t)
            && let Some(boss) = reports.as_deref()
            && let Some(a) = next_agent(run, boss)
        {
            let up = ask(run, a, boss, text, input.clone(), step).await;
            if up.is_valid() {
                r = up;
            }
        }
        if r.confidence < accept {
            run.warn(
                "low_confidence",
                format!(
                    "{step}: role `{role}` answered with confidence {:.2}",
                    r.confidence
                ),
            );
        }
    }
    let v = json!({"role": role, "task": text, "result": r.result, "confidence": json_num(r.confidence), "agentId": r.agent_id});
    (v, r.confidence, vec![r])
}

/// `review` / `approve`: the role's agent judges `subject`; approved as it says, else when its
/// confidence passes the bar (0.6 to review, 0.7 to approve).
async fn judge(
    run: &Arc<Run>,
    agent: SharedAgent,
    action: &str,
    role: &str,
    subject: Json,
    step: &str,
) -> TaskOutcome {
    let input = run.opts.input.clone();
    let text = format!(
        "{} the following work:\n{}",
        if action == "review" {
            "Review"
        } else {
            "Approve or reject"
        },
        subject
    );
    let r = ask(
        run,
        agent,
        role,
        &text,
        json!({"subject": subject, "input": input}),
        step,
    )
    .await;
    let bar = if action == "review" { 0.6 } else { 0.7 };
    let approved = r
        .result
        .get("approved")
        .and_then(Json::as_bool)
        .unwrap_or(r.confidence > bar);
    let feedback = r
        .result
        .get("feedback")
        .cloned()
        .unwrap_or_else(|| r.result.clone());
    let v = json!({"approved": approved, "feedback": feedback, "confidence": json_num(r.confidence), "role": role});
    (v, r.confidence, vec![r])
}

/// `aggregate {method}` over the previous step's answers.
pub fn aggregate(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Aggregate { config } = &node.kind else {
        return Ok(Done::default());
    };
    let answers = run.st().last_answers.clone();
    let rec = aggregate_results(&answers, config, &frame.scope());
    let c = rec.confidence;
    if let Some(s) = &node.step {
        frame.set_rec(&format!("{s}_result"), rec.clone());
    }
    run.st().last = Some(rec);
    Ok(Done {
        confidence: Some(c),
        ..Done::default()
    })
}

/// `condition {check, then, else}`.
pub fn condition(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Switch { value, .. } = &node.kind else {
        return Ok(Done::default());
    };
    let check = value.trim();
    let check = check
        .strip_prefix("${")
        .and_then(|c| c.strip_suffix('}'))
        .unwrap_or(check);
    let owned = names(frame);
    let ns: Vec<(&str, Json)> = owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let v = eval(check, &super::expr::Scope::new(), &ns)
        .map_err(|e| Stop::fail("prism::run::expression", e.to_string(), Some(&node.id)))?;
    let label = if truthy(&v.value) { "then" } else { "else" };
    let _ = run;
    Ok(Done {
        label: Some(label.into()),
        detail: label.into(),
        ..Done::default()
    })
}

/// After a `parallel` workflow step: its result is the list of its sub-steps' results
/// (confidence = their mean).
pub fn join_parallel(run: &Arc<Run>, g: &Graph, n: NodeIndex, frame: &Arc<Frame>) {
    let Some(step) = g.node_weight(n).and_then(|x| x.step.clone()) else {
        return;
    };
    let mut values = Vec::new();
    let mut confs = Vec::new();
    let mut answers = Vec::new();
    // Branches in workflow order (petgraph lists a node's edges newest first).
    let mut branches: Vec<(usize, String)> = g
        .edges_directed(n, Direction::Outgoing)
        .filter_map(|e| match e.weight() {
            Edge::Branch { label } => Some((e.target().index(), label.clone())),
            _ => None,
        })
        .collect();
    branches.sort();
    for (_, label) in branches {
        if let Some(Bound::Rec(r)) = frame.get(&format!("{label}_result")) {
            values.push(r.value.clone());
            confs.push(r.confidence);
        }
    }
    for r in run.st().results.iter().filter(|r| {
        r.step
            .as_deref()
            .is_some_and(|s| s.starts_with(&step) && s != step)
    }) {
        answers.push(r.clone());
    }
    let c = if confs.is_empty() {
        0.0
    } else {
        confs.iter().sum::<f64>() / confs.len() as f64
    };
    let rec = Rec::new(Json::Array(values), c);
    frame.set_rec(&format!("{step}_result"), rec.clone());
    let mut st = run.st();
    st.last = Some(rec);
    st.last_answers = answers;
}

/// The workflow's value `{patternName, workflow, result, roles, agentsUsed, confidence}`.
pub fn output(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    let NodeKind::Output { value } = &node.kind else {
        return Ok(Done::default());
    };
    let name = value
        .field("result")
        .and_then(OutputValue::written_str)
        .map(|s| {
            let s = s.strip_prefix("${").map_or(s, |x| x.trim_end_matches('}'));
            s.trim_start_matches('$').to_string()
        })
        .unwrap_or_default();
    let result = match frame.get(&name) {
        Some(Bound::Rec(r)) => r.value,
        Some(Bound::Plain(v)) => v,
        None => run.st().last.clone().map_or(Json::Null, |r| r.value),
    };
    let mut st = run.st();
    let used: Vec<String> = {
        let mut v: Vec<String> = st.results.iter().map(|r| r.agent_id.clone()).collect();
        v.dedup();
        v
    };
    let roles = role_agent_ids(&st.roles);
    let conf = st.confidence.unwrap_or(0.0);
    st.output = Some(json!({
        "patternName": run.plan.meta.name,
        "workflow": run.plan.meta.extra.get("workflow").cloned().unwrap_or_else(|| json!(run.plan.meta.name)),
        "result": result,
        "roles": roles,
        "agentsUsed": used,
        "confidence": json_num(conf),
    }));
    Ok(Done {
        confidence: Some(conf),
        ..Done::default()
    })
}

/// How an org-chart task or a script's agent call is made: 30 s a call, two retries, the
/// run's backoff, cancellation, call observer and effects.
pub(crate) fn task_policy(run: &Run) -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_millis(30_000),
        retries: 2,
        backoff: run.opts.backoff,
        cancel: run.opts.cancel.clone(),
        on_call: run.opts.on_call.clone(),
        effects: run.opts.effects.clone(),
    }
}

/// Each filled role with the ids of its agents.
pub(crate) fn role_agent_ids(
    roles: &std::collections::HashMap<String, Vec<SharedAgent>>,
) -> Map<String, Json> {
    roles
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(v.iter().map(|a| a.info().id.clone()).collect::<Vec<_>>()),
            )
        })
        .collect()
}
