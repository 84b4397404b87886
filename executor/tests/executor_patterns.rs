//! The executor on deterministic local agents: input validation before any call, steps
//! (switch, gate, loop, batch, assign, default, onError), validation policies, fallbacks,
//! sequential phases, `.prism` scripts with injected globals and `analyze()`, org charts.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use prism_agents::protocol::{AgentAnswer, AgentRequest};
use prism_agents::{Agent, AgentFuture, AgentInfo, SharedAgent};
use prism_executor::RunStatus;
use serde_json::{Value, json};
use support::{redacted, respond, run};

/// Answers its request's task with a fixed confidence and counts its calls.
struct Counting {
    info: AgentInfo,
    confidence: f64,
    calls: AtomicU32,
}

impl Agent for Counting {
    fn info(&self) -> &AgentInfo {
        &self.info
    }
    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let answer =
            json!({"task": request.task, "call": n, "previous": request.context["previous"]});
        Box::pin(async move { Ok(AgentAnswer::new(answer, self.confidence)) })
    }
}

fn counting(name: &str, caps: &[&str], confidence: f64) -> Arc<Counting> {
    Arc::new(Counting {
        info: AgentInfo::new(name, caps.iter().map(|c| c.to_string()).collect()),
        confidence,
        calls: AtomicU32::new(0),
    })
}

#[tokio::test]
async fn input_is_validated_before_any_call() {
    let a = counting("a", &["x"], 0.9);
    let text = "name: v\ninput:\n  n: {type: integer, minimum: 1}\n  mode: {type: string, default: fast}\nagents:\n  capabilities: [x]\noutput: $input\n";
    let bad = run(
        "v.yaml",
        text,
        vec![a.clone() as SharedAgent],
        json!({"n": 0}),
    )
    .await;
    assert_eq!(bad.status, RunStatus::Failed);
    assert_eq!(
        bad.error.map(|e| (e.code, e.message)),
        Some(("prism::run::input".into(), "input.n: must be ≥ 1".into()))
    );
    assert_eq!(a.calls.load(Ordering::SeqCst), 0);
    let good = run(
        "v.yaml",
        text,
        vec![a.clone() as SharedAgent],
        json!({"n": 2, "extra": true}),
    )
    .await;
    assert_eq!(
        good.result.map(|r| r.0),
        Some(json!({"n": 2, "extra": true, "mode": "fast"}))
    );
    assert_eq!(a.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn selection_is_and_matched_and_reports_near_misses() {
    let text =
        "name: s\ninput: {}\nagents:\n  capabilities: [a, b]\n  min: 2\noutput: $totalCount\n";
    let agents = vec![
        respond("one", &["a", "b"], json!(1), 0.9),
        respond("two", &["a"], json!(2), 0.9),
    ];
    let r = run("s.yaml", text, agents, json!({})).await;
    assert_eq!(r.status, RunStatus::Failed);
    let msg = r.error.map(|e| e.message).unwrap_or_default();
    assert!(
        msg.starts_with("Not enough agents available. Required: 2, Available: 1"),
        "{msg}"
    );
    assert!(msg.contains("two lacks `b`"), "{msg}");
}

#[tokio::test]
async fn sequential_phases_feed_the_previous_answer() {
    let a = counting("a", &["x"], 0.9);
    let b = counting("b", &["x"], 0.8);
    let text = "name: seq\ninput: {}\nagents:\n  capabilities: [x]\nexecution:\n  strategy: sequential\noutput: $results\n";
    let r = run(
        "seq.yaml",
        text,
        vec![a as SharedAgent, b as SharedAgent],
        json!({"task": "t"}),
    )
    .await;
    let results = r.result.map(|x| x.0).unwrap_or_default();
    assert_eq!(
        results[1]["result"]["previous"],
        json!({"task": "t", "call": 1, "previous": null})
    );
}

const CASCADE: &str = "name: cascade\ninput: {}\nsteps:\n  - id: quick\n    agents: {capabilities: [fast], min: 1}\n  - id: check\n    type: switch\n    value: $quick.confidence\n    cases:\n      sure:\n        condition: gte 0.8\n        output: $quick\n    default:\n      next: expert\n  - id: expert\n    agents: {capabilities: [expert], min: 1}\noutput:\n  answer: $final.result\n  source: $final.source\n";

#[tokio::test]
async fn a_switch_finishes_early_or_jumps_forward() {
    let sure = run(
        "c.yaml",
        CASCADE,
        vec![
            respond("f", &["fast"], json!("quick"), 0.9),
            respond("e", &["expert"], json!("slow"), 0.95),
        ],
        json!({}),
    )
    .await;
    assert_eq!(
        sure.result,
        Some((json!({"answer": "quick", "source": "quick"}), 0.9))
    );
    assert_eq!(sure.agent_results.len(), 1, "the expert is not asked");
    let unsure = run(
        "c.yaml",
        CASCADE,
        vec![
            respond("f", &["fast"], json!("quick"), 0.5),
            respond("e", &["expert"], json!("slow"), 0.95),
        ],
        json!({}),
    )
    .await;
    assert_eq!(
        unsure.result,
        Some((json!({"answer": "slow", "source": "expert"}), 0.95))
    );
    insta::assert_json_snapshot!("cascade_record", redacted(&unsure));
}

#[tokio::test]
async fn a_failing_gate_fails_the_run() {
    let text = "name: g\ninput: {}\nsteps:\n  - id: ask\n    agents: {capabilities: [x], min: 1}\n  - id: check\n    type: gate\n    condition: $ask.confidence > 0.8\noutput: $ask.result\n";
    let pass = run(
        "g.yaml",
        text,
        vec![respond("a", &["x"], json!("ok"), 0.9)],
        json!({}),
    )
    .await;
    assert_eq!(pass.status, RunStatus::Completed);
    let fail = run(
        "g.yaml",
        text,
        vec![respond("a", &["x"], json!("ok"), 0.5)],
        json!({}),
    )
    .await;
    assert_eq!(fail.status, RunStatus::Failed);
    assert_eq!(
        fail.error.map(|e| e.message),
        Some("gate check failed".into())
    );
}

#[tokio::test]
async fn validation_retries_then_falls_back() {
    let a = counting("a", &["x"], 0.4);
    let text = "name: val\ninput: {}\nagents:\n  capabilities: [x]\nvalidation:\n  minConfidence: 0.7\n  onFailure: retry\n  maxRetries: 2\n  retryDelay: 1\n  fallback:\n    type: default\n    value: {result: fallback-answer, confidence: 0.3}\noutput:\n  value: $validation.source\n";
    let r = run("val.yaml", text, vec![a.clone() as SharedAgent], json!({})).await;
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(a.calls.load(Ordering::SeqCst), 3, "1 call + 2 retries");
    assert_eq!(r.result.map(|x| x.0), Some(json!({"value": "fallback"})));
    let strict = text.replace("onFailure: retry", "onFailure: fail");
    let r = run(
        "val.yaml",
        &strict,
        vec![counting("a", &["x"], 0.4) as SharedAgent],
        json!({}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.error
            .map(|e| e.message)
            .unwrap_or_default()
            .contains("below minConfidence 0.7")
    );
}

#[tokio::test]
async fn fallback_escalates_low_confidence() {
    let text = "name: esc\ninput: {}\nagents:\n  capabilities: [x]\noutput: $validResults\nconfidence: average\nfallback:\n  condition: confidence < 0.6\n  action: escalate\n  target: reviewer\n";
    let r = run(
        "esc.yaml",
        text,
        vec![respond("a", &["x"], json!(1), 0.5)],
        json!({}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Escalated);
    assert_eq!(
        r.escalation.as_ref().and_then(|e| e.get("target")).cloned(),
        Some(json!("reviewer"))
    );
    assert!(r.result.is_some(), "the value is kept");
}

#[tokio::test]
async fn loops_batches_and_assignments() {
    let text = "name: lb\ninput:\n  items: array\nsteps:\n  - id: each\n    type: batch\n    items: $input.items\n    concurrency: 2\n    task:\n      id: ask\n      agents: {capabilities: [x], min: 1}\n      input: {item: $item}\n  - id: again\n    type: loop\n    maxIterations: 3\n    steps:\n      - id: poll\n        agents: {capabilities: [x], min: 1}\n  - id: names\n    type: assign\n    values:\n      count: $each.result.length\noutput:\n  batch: $each.result\n  passes: $again.iterations\n  count: $count\n";
    let r = run(
        "lb.yaml",
        text,
        vec![support::respond("a", &["x"], json!("done"), 0.7)],
        json!({"items": [1, 2, 3]}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        r.result.map(|x| x.0),
        Some(json!({"batch": ["done", "done", "done"], "passes": 3, "count": 3}))
    );
    assert_eq!(r.agent_results.len(), 6);
}

#[tokio::test]
async fn on_error_continue_keeps_going() {
    let text = "name: oe\ninput: {}\nsteps:\n  - id: risky\n    agents: {capabilities: [missing], min: 1}\n    onError: {type: default, value: {result: spare, confidence: 0.2}}\n  - id: next\n    agents: {capabilities: [x], min: 1}\noutput:\n  risky: $risky.result\n  next: $next.result\n";
    let r = run(
        "oe.yaml",
        text,
        vec![respond("a", &["x"], json!("fine"), 0.9)],
        json!({}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        r.result.map(|x| x.0),
        Some(json!({"risky": "spare", "next": "fine"}))
    );
    assert_eq!(
        r.warnings
            .iter()
            .filter(|(c, _)| c == "prism::run::step")
            .count(),
        1
    );
}

const SCRIPT: &str = "/**\n * @name scripted\n * @agents {\"capabilities\": [\"x\"], \"minAgents\": 2}\n */\nlet sure = successfulResults.filter(r => r.confidence > 0.6)\nlet extra = await agentList[0].analyze(\"follow up\", {q: 1})\nlet vote = majorityVote(agentResults.map(r => r.result ~> r.confidence))\nlet out = { winner: vote, sure: sure.length, count: agentCount, extra: extra.task, pattern: pattern.name }\nout ~> 0.66\n";

#[tokio::test]
async fn prism_scripts_get_native_globals_and_analyze() {
    let agents: Vec<SharedAgent> = vec![counting("a", &["x"], 0.9), counting("b", &["x"], 0.5)];
    let r = run("scripted.prism", SCRIPT, agents, json!({"task": "first"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let (value, confidence) = r.result.clone().unwrap_or_default();
    assert_eq!(confidence, 0.66);
    assert_eq!(value["sure"], json!(1));
    assert_eq!(value["count"], json!(2));
    assert_eq!(value["extra"], json!("follow up"));
    assert_eq!(value["pattern"], json!("scripted"));
    assert_eq!(
        r.agent_results.len(),
        3,
        "two dispatched calls and one analyze()"
    );
}

#[tokio::test]
async fn a_throw_fails_the_run_with_its_span() {
    let text = "/**\n * @name thrower\n */\nlet x = 1\nthrow \"no way\"\n";
    let r = run("thrower.prism", text, vec![], json!({})).await;
    assert_eq!(r.status, RunStatus::Failed);
    let e = r.error.expect("an error");
    assert!(e.message.contains("no way"), "{}", e.message);
    let (s, _) = e.span.expect("a span");
    assert_eq!(&text[s as usize..s as usize + 5], "throw");
}

#[tokio::test]
async fn org_charts_assign_review_and_finish() {
    let text = "name: team\nstructure:\n  name: team\n  roles:\n    writer:\n      capabilities: [write]\n    reviewer:\n      capabilities: [review]\nworkflow:\n  name: ship\n  input:\n    topic: string\n  steps:\n    - type: assign\n      role: writer\n      task: \"Write about ${input.topic}\"\n    - type: review\n      reviewer: reviewer\n";
    let agents = vec![
        respond("w", &["write"], json!("a draft"), 0.9),
        respond(
            "r",
            &["review"],
            json!({"approved": true, "feedback": "good"}),
            0.8,
        ),
    ];
    let r = run("team.yaml", text, agents, json!({"topic": "rust"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let v: Value = r.result.map(|x| x.0).unwrap_or_default();
    assert_eq!(v["result"]["approved"], json!(true), "{v}");
    assert_eq!(v["patternName"], json!("team"));
    assert_eq!(r.agent_results.len(), 2);
}

#[tokio::test]
async fn org_chart_output_names_a_step_result() {
    let text = "name: team\nstructure:\n  name: team\n  roles:\n    writer:\n      capabilities: [write]\n    reviewer:\n      capabilities: [review]\nworkflow:\n  name: ship\n  input:\n    topic: string\n  steps:\n    - type: assign\n      role: writer\n      task: \"Write about ${input.topic}\"\n    - type: review\n      reviewer: reviewer\n  output: step_0_result\n";
    let agents = vec![
        respond("w", &["write"], json!("a draft"), 0.9),
        respond("r", &["review"], json!({"approved": true}), 0.8),
    ];
    let r = run("team.yaml", text, agents, json!({"topic": "rust"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let v: Value = r.result.map(|x| x.0).unwrap_or_default();
    assert_eq!(v["result"]["result"], json!("a draft"), "{v}");
    assert_eq!(v["result"]["role"], json!("writer"), "{v}");
}

/// An included pattern runs only as it was when the including pattern was compiled (and
/// license-gated): a child edited since (here: given `persistence`) is refused at run time,
/// not run with a directive the gate never saw. A child that carries `persistence` needs the
/// host's store (`RunOptions::persist`) and fails without one rather than drop the record.
#[tokio::test]
async fn included_patterns_are_pinned_and_their_persistence_needs_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let child = "name: child\ninput: {}\nagents: {capabilities: [x]}\noutput: {r: $result}\n";
    std::fs::write(dir.path().join("child.yaml"), child).expect("child");
    let parent =
        "name: parent\ninput: {}\nsteps:\n  - id: c\n    pattern: ./child.yaml\noutput: {r: $c}\n";
    let agent = || vec![respond("a", &["x"], json!("yes"), 0.9)];

    let (plan, mut opts) = support::compile(dir.path(), "parent.yaml", parent);
    opts.agents = prism_agents::AgentSet::new(agent());
    let ok = prism_executor::execute(Arc::new(plan.clone()), opts.clone()).await;
    assert_eq!(ok.status, RunStatus::Completed, "{:?}", ok.error);

    std::fs::write(
        dir.path().join("child.yaml"),
        format!("{child}persistence: true\n"),
    )
    .expect("edit the child");
    let changed = prism_executor::execute(Arc::new(plan), opts).await;
    assert_eq!(changed.status, RunStatus::Failed);
    let message = changed.error.map(|e| e.message).unwrap_or_default();
    assert!(message.contains("changed since"), "{message}");

    // Compiled with the directive in place, the child runs only where a store is given.
    let (plan, mut opts) = support::compile(dir.path(), "parent.yaml", parent);
    opts.agents = prism_agents::AgentSet::new(agent());
    let refused = prism_executor::execute(Arc::new(plan.clone()), opts.clone()).await;
    let message = refused.error.map(|e| e.message).unwrap_or_default();
    assert!(message.contains("no store"), "{message}");
    let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = kept.clone();
    opts.persist = Some(Arc::new(move |_config, record| {
        sink.lock().map_err(|e| e.to_string())?.push(record.clone());
        Ok(())
    }));
    let persisted = prism_executor::execute(Arc::new(plan), opts).await;
    assert_eq!(
        persisted.status,
        RunStatus::Completed,
        "{:?}",
        persisted.error
    );
    let kept = kept.lock().expect("records").clone();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"], json!(persisted.id));
    assert_eq!(kept[0]["pattern"]["name"], json!("child"));
}

/// `runPattern` in a pattern's script names its file at run time, where no license gate
/// looks: a pattern that carries a licensed directive is refused there, never run with it.
#[tokio::test]
async fn a_script_cannot_run_a_pattern_with_licensed_directives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let child = dir.path().join("child.yaml");
    std::fs::write(
        &child,
        "name: child\ninput: {}\nagents: {capabilities: [x]}\noutput: {r: $result}\nschedule: {interval: 1h}\n",
    )
    .expect("child");
    let script = format!(
        "/**\n * @name s\n */\nlet r = await runPattern(\"child\", {:?}, {{}}, \"c\")\nr\n",
        child.display().to_string()
    );
    let record = run(
        "s.prism",
        &script,
        vec![respond("a", &["x"], json!("yes"), 0.9)],
        json!({}),
    )
    .await;
    assert_eq!(record.status, RunStatus::Failed);
    let message = record.error.map(|e| e.message).unwrap_or_default();
    assert!(
        message.contains("cannot run a pattern with licensed directives"),
        "{message}"
    );
}
