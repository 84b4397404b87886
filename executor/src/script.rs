//! The script step of annotated `.prism` patterns (§4): the script runs on its own
//! interpreter thread (the interpreter is `!Send`) with the injected globals as native values
//! — `input`, `agentResults`, `successfulResults`, `agentList`/`agents` (each with an async
//! `analyze(task, data?)` bridged back to tokio), `agentCount`, `pattern`, `workspace`,
//! `parallax` — and the builtins `average`, `synthesize`, `majorityVote` and `llm`.

use std::sync::Arc;

use prism_compiler::pattern::Loaded;
use prism_compiler::plan::{Node, NodeKind};
use prism_compiler::span::Span;
use serde_json::{Value as Json, json};

use prism_agents::{AgentRequest, SharedAgent};
use prism_interp::promise::{NativeFuture, Settled};
use prism_interp::value::{Map, Value};
use prism_interp::{Interpreter, Options, from_json};

use super::ScriptOutput;
use super::dispatch::call_agent;
use super::expr::{Bound, Rec};
use super::natives::{install_pattern_builtins, settle};
use super::record::AgentResult;
use super::state::{Frame, Run, Stop};
use super::walk::Done;

/// Records given with `--agent-results FILE` (§4 shape) as agent results, in list order.
pub fn injected_results(records: &[Json]) -> Vec<AgentResult> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| AgentResult::from_json(r, i))
        .collect()
}

/// What the script thread sends back.
type ScriptOutcome = Result<(Json, f64), (String, Option<Span>)>;

/// Everything the script thread needs (all `Send`).
struct ScriptJob {
    /// The script's syntax tree, parsed when the pattern was loaded.
    program: Arc<prism_compiler::ast::Program>,
    /// The file's text (for error positions).
    text: Arc<str>,
    name: String,
    globals: Vec<(&'static str, Json)>,
    agents: Vec<SharedAgent>,
    run: Arc<Run>,
    handle: tokio::runtime::Handle,
}

/// Runs the script and binds `$result`; the run's confidence is the script's (§4).
pub async fn run_script(run: &Arc<Run>, node: &Node, frame: &Arc<Frame>) -> Result<Done, Stop> {
    if !matches!(node.kind, NodeKind::Script { .. }) {
        return Ok(Done::default());
    }
    let (Some(source), Some(Loaded::Prism(pattern))) =
        (run.opts.source.clone(), run.opts.model.as_deref())
    else {
        return Err(Stop::fail(
            "prism::run::script",
            "the pattern's script is not available (run it from its loaded pattern)",
            Some(&node.id),
        ));
    };
    let program = pattern.script.clone();
    let results = run.st().phase.get(&None).cloned().unwrap_or_default();
    let called = called_agents(run, &results);
    let globals = script_globals(run, &results, called.len());
    let job = ScriptJob {
        program,
        text: source,
        name: run.plan.meta.source_path.clone(),
        globals,
        agents: called,
        run: run.clone(),
        handle: tokio::runtime::Handle::current(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<ScriptOutcome>();
    let spawned = std::thread::Builder::new()
        .name("prism-pattern-script".into())
        .stack_size(prism_interp::LARGE_STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(script_thread(job));
        });
    if let Err(e) = spawned {
        return Err(Stop::fail(
            "prism::run::script",
            format!("cannot start the script thread: {e}"),
            Some(&node.id),
        ));
    }
    let outcome = tokio::select! {
        r = rx => r.unwrap_or_else(|_| Err(("the script thread stopped".into(), None))),
        _ = run.opts.cancel.cancelled() => return Err(Stop::Cancelled),
    };
    settle_script(run, node, frame, outcome)
}

/// The agents the script may call: those the `@agents` group called, else (when it called
/// none and no agents are injected) every agent of the run.
fn called_agents(run: &Run, results: &[AgentResult]) -> Vec<SharedAgent> {
    let ids: Vec<&str> = results.iter().map(|r| r.agent_id.as_str()).collect();
    let set = &run.opts.agents.agents;
    let picked: Vec<SharedAgent> = set
        .iter()
        .filter(|a| ids.contains(&a.info().id.as_str()))
        .cloned()
        .collect();
    if picked.is_empty() && run.injected.is_none() {
        set.clone()
    } else {
        picked
    }
}

/// The script's globals: `input`, `agentResults`, `successfulResults`, `agentCount`,
/// `pattern` (with its agents' selection) and `workspace`.
fn script_globals(
    run: &Run,
    results: &[AgentResult],
    agent_count: usize,
) -> Vec<(&'static str, Json)> {
    let agent_results: Vec<Json> = results.iter().map(AgentResult::to_json).collect();
    let successful: Vec<Json> = results
        .iter()
        .filter(|r| r.confidence > 0.0)
        .map(AgentResult::to_json)
        .collect();
    let selection = run.plan.nodes().find_map(|(_, n)| match &n.kind {
        NodeKind::AgentGroup { selection, .. } => Some(selection.to_json()),
        _ => None,
    });
    let mut agents_cfg = selection.unwrap_or(Json::Null);
    if let Some(m) = agents_cfg.as_object_mut()
        && !m.contains_key("minConfidence")
    {
        m.insert("minConfidence".into(), Json::Null);
    }
    let workspace = run
        .opts
        .workspace
        .as_ref()
        .map_or(Json::Null, |w| json!({"path": w.display().to_string()}));
    vec![
        ("input", run.opts.input.clone()),
        ("agentResults", Json::Array(agent_results)),
        ("successfulResults", Json::Array(successful)),
        ("agentCount", json!(agent_count)),
        (
            "pattern",
            json!({"name": run.plan.meta.name, "version": run.plan.meta.version, "agents": agents_cfg}),
        ),
        ("workspace", workspace),
    ]
}

/// The script's value binds `$result` and is the run's confidence; its error fails the run
/// (or escalates it when the script called `escalate`).
fn settle_script(
    run: &Run,
    node: &Node,
    frame: &Frame,
    outcome: ScriptOutcome,
) -> Result<Done, Stop> {
    match outcome {
        Ok((value, confidence)) => {
            frame.set("result", Bound::Rec(Rec::new(value.clone(), confidence)));
            let mut st = run.st();
            st.confidence = Some(confidence);
            st.last = Some(Rec::new(value, confidence));
            Ok(Done {
                confidence: Some(confidence),
                ..Done::default()
            })
        }
        Err((message, span)) => {
            if let Some(info) = run.st().script_escalation.take() {
                return Err(Stop::Escalated(info));
            }
            Err(Stop::Failed(super::record::RunError {
                code: "prism::runtime".into(),
                message,
                node: Some(node.id.clone()),
                span: span.map(|s| (s.start, s.end)),
            }))
        }
    }
}

fn script_thread(job: ScriptJob) -> ScriptOutcome {
    let output: Box<dyn prism_interp::Output> = match job.run.opts.script_output {
        ScriptOutput::Stdout => Box::new(prism_interp::StdOutput::new()),
        ScriptOutput::Stderr => Box::new(StderrOutput),
        ScriptOutput::Discard => Box::new(prism_interp::CaptureOutput::default()),
    };
    // The run's token is cancelled by its timeout and by cancellation: the script stops then
    // instead of running on after the run has ended.
    let mut interp = Interpreter::new(Options {
        output,
        runtime: Some(job.handle.clone()),
        limits: prism_interp::RunLimits {
            cancel: Some(job.run.opts.cancel.clone()),
            ..prism_interp::RunLimits::default()
        },
        ..Options::default()
    });
    install_pattern_builtins(&mut interp, job.run.opts.agents.llm.clone());
    super::plan_natives::install(&mut interp, job.run.clone());
    if let Some(setup) = &job.run.opts.script_setup {
        setup(&mut interp);
    }
    for (k, v) in &job.globals {
        interp.define_global(k, from_json(v));
    }
    let list = Value::array(
        job.agents
            .iter()
            .map(|a| agent_value(a, &job.run))
            .collect(),
    );
    interp.define_global("agentList", list.clone());
    interp.define_global("agents", list.clone());
    let mut parallax = Map::default();
    parallax.insert("agentList".into(), list);
    parallax.insert("patterns".into(), Value::object(Map::default()));
    parallax.insert("confidence".into(), Value::object(Map::default()));
    interp.define_global("parallax", Value::object(parallax));
    let file = prism_compiler::SourceFile::new(job.name.as_str(), job.text.clone());
    let v = interp
        .run_program(&job.program, &file)
        .and_then(|v| interp.await_value(v, Span::default()))
        .map_err(|e| (e.report_message(), e.span))?;
    drop(interp);
    Ok(settle(&v))
}

/// An `agentList` entry: the agent's info and an async `analyze(task, data?)`.
fn agent_value(agent: &SharedAgent, run: &Arc<Run>) -> Value {
    let mut m = Map::default();
    if let Value::Object(o) = from_json(&agent.info().to_json()) {
        for (k, v) in o.borrow().iter() {
            m.insert(k.clone(), v.clone());
        }
    }
    let (agent, run) = (agent.clone(), run.clone());
    m.insert(
        "analyze".into(),
        Value::native("analyze", move |it: &mut Interpreter, args: &[Value], _| {
            let task = args
                .first()
                .map(|t| {
                    t.as_str()
                        .map_or_else(|| prism_interp::to_json(t).to_string(), str::to_string)
                })
                .unwrap_or_else(|| "analyze".into());
            let input = run.opts.input.clone();
            let data = args.get(1).map(prism_interp::to_json);
            let mut req = AgentRequest::new(run.request_id(), task, input);
            if let Some(d) = data {
                req.data = d;
            }
            req.pattern = run.pattern_ref();
            let (agent, run) = (agent.clone(), run.clone());
            let fut: NativeFuture = Box::pin(async move {
                let policy = super::org::task_policy(&run);
                let (r, retries) =
                    call_agent(agent, req, policy, Some("script".into()), || run.next_seq()).await;
                {
                    let mut st = run.st();
                    st.results.push(r.clone());
                    st.retries += u64::from(retries);
                }
                match r.error {
                    Some(e) => Err(format!("{}: {e}", r.agent_name)),
                    None => Ok(Settled {
                        value: r.result,
                        confidence: Some(r.confidence),
                    }),
                }
            });
            it.spawn(fut)
        }),
    );
    Value::object(m)
}

struct StderrOutput;

impl prism_interp::Output for StderrOutput {
    fn stdout(&mut self, line: &str) {
        eprintln!("{line}");
    }
    fn stderr(&mut self, line: &str) {
        eprintln!("{line}");
    }
}
