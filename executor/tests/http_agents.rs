//! HTTP and LLM agents against a real server on 127.0.0.1: answers, every fault (500,
//! malformed JSON, hangs, refusals, bad confidences), retries, timeouts, cancellation.

mod support;

use std::sync::Arc;
use std::time::Duration;

use prism_agents::http::{HttpAgent, client};
use prism_agents::llm::{LlmAgent, LlmSpec};
use prism_agents::{Agent, AgentInfo, AgentRequest, SharedAgent};
use prism_executor::{CallStatus, RunStatus};
use serde_json::json;
use support::server::{Server, start};
use support::{redacted, run, statuses};

fn http(s: &Server, name: &str) -> SharedAgent {
    Arc::new(HttpAgent::new(
        AgentInfo::new(name, vec!["vote".into()]),
        &s.agent(name),
        client(),
    ))
}

const VOTE: &str = "name: http-vote\ninput: {}\nagents:\n  capabilities: [vote]\n  min: 1\n  taskTimeout: 500\n  retries: 1\naggregation:\n  strategy: voting\n  method: majority\noutput:\n  decision: $vote.winner\n  voters: $totalCount\n";

#[tokio::test]
async fn faulty_agents_are_recorded_and_the_vote_goes_on() {
    let s = start().await;
    let names = [
        "ok-yes",
        "ok-yes2",
        "ok-no",
        "fail",
        "malformed",
        "hang",
        "refuse",
        "badconf",
    ];
    let agents = names.iter().map(|n| http(&s, n)).collect();
    let record = run("vote.yaml", VOTE, agents, json!({})).await;
    assert_eq!(record.status, RunStatus::Completed);
    let (value, confidence) = record.result.clone().unwrap_or_default();
    assert_eq!(value, json!({"decision": "yes", "voters": 3}));
    // Five of the eight agents failed: they are no ballots (§1.6), `yes` has 2 of the 3 valid
    // votes, and the record names the failed agents.
    assert!((confidence - 2.0 / 3.0 * 0.85).abs() < 1e-9, "{confidence}");
    assert_eq!(
        record.to_json()["failedAgents"],
        json!(["fail", "malformed", "hang", "refuse", "badconf"])
    );
    let by_name = |n: &str| {
        record
            .agent_results
            .iter()
            .find(|r| r.agent_name == n)
            .cloned()
    };
    let fail = by_name("fail").expect("fail");
    assert_eq!(fail.status, CallStatus::Failed);
    assert!(fail.error.as_deref().unwrap_or_default().contains(&format!(
        "HTTP 500 from {}/fail/analyze: internal boom (on all 2 attempts)",
        s.url
    )));
    assert_eq!(fail.attempts, 2, "a 5xx is retried once (retries: 1)");
    assert_eq!(s.calls("fail"), 2);
    let hang = by_name("hang").expect("hang");
    assert_eq!(hang.status, CallStatus::TimedOut);
    assert!(
        by_name("malformed")
            .and_then(|r| r.error)
            .unwrap_or_default()
            .contains("not JSON")
    );
    assert_eq!(s.calls("malformed"), 1, "protocol errors are not retried");
    assert_eq!(s.calls("refuse"), 1, "an `error` answer is not retried");
    assert!(
        by_name("refuse")
            .and_then(|r| r.error)
            .unwrap_or_default()
            .contains("cannot do that")
    );
    assert!(
        by_name("badconf")
            .and_then(|r| r.error)
            .unwrap_or_default()
            .contains("must be a number")
    );
    insta::assert_json_snapshot!("http_vote_record", redacted(&record));
}

#[tokio::test]
async fn requests_follow_the_protocol() {
    let s = start().await;
    let record = run(
        "vote.yaml",
        VOTE,
        vec![http(&s, "ok-yes")],
        json!({"task": "decide", "data": {"q": 1}}),
    )
    .await;
    assert_eq!(record.status, RunStatus::Completed);
    let seen = s.seen.lock().map(|x| x.bodies.clone()).unwrap_or_default();
    let (_, body) = &seen[0];
    assert_eq!(body["protocol"], json!("prism-agent/1"));
    assert_eq!(body["task"], json!("decide"));
    assert_eq!(body["data"], json!({"q": 1}));
    assert_eq!(body["input"], json!({"task": "decide", "data": {"q": 1}}));
    assert_eq!(
        body["pattern"],
        json!({"name": "http-vote", "version": "1.0.0"})
    );
    assert_eq!(body["timeoutMs"], json!(500));
    assert_eq!(body["context"]["executionId"], json!(record.id));
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let s = start().await;
    let record = run("vote.yaml", VOTE, vec![http(&s, "flaky")], json!({})).await;
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.agent_results[0].attempts, 2);
    assert_eq!(record.metrics["retries"], json!(1));
    assert_eq!(s.calls("flaky"), 2);
}

#[tokio::test]
async fn too_few_valid_answers_fail_the_phase_naming_each_error() {
    let s = start().await;
    let agents = vec![http(&s, "fail"), http(&s, "malformed")];
    let record = run("vote.yaml", VOTE, agents, json!({})).await;
    assert_eq!(record.status, RunStatus::Failed);
    let err = record.error.clone().expect("an error");
    assert_eq!(err.code, "prism::run::agents");
    assert!(err.message.contains("fail: HTTP 500"), "{}", err.message);
    assert!(
        err.message.contains("malformed: protocol error"),
        "{}",
        err.message
    );
    assert_eq!(record.agent_results.len(), 2);
}

#[tokio::test]
async fn a_connection_refused_is_a_failed_answer() {
    let agent: SharedAgent = Arc::new(HttpAgent::new(
        AgentInfo::new("gone", vec!["vote".into()]),
        "http://127.0.0.1:9",
        client(),
    ));
    let record = run("vote.yaml", VOTE, vec![agent], json!({})).await;
    assert_eq!(record.status, RunStatus::Failed);
    assert!(
        record.agent_results[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("transport error")
    );
}

#[tokio::test]
async fn out_of_range_confidences_are_clamped_with_a_warning() {
    let s = start().await;
    let record = run("vote.yaml", VOTE, vec![http(&s, "clamp")], json!({})).await;
    assert_eq!(record.agent_results[0].confidence, 1.0);
    assert_eq!(
        record.agent_results[0].metadata,
        Some(json!({"warnings": ["confidence 1.7 clamped to 1"]}))
    );
}

#[tokio::test]
async fn the_run_timeout_stops_hanging_agents() {
    let s = start().await;
    let text = VOTE.replace("taskTimeout: 500", "taskTimeout: 600000");
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut opts) = support::compile(dir.path(), "vote.yaml", &text);
    opts.agents = prism_agents::AgentSet::new(vec![http(&s, "hang")]);
    opts.timeout = Some(Duration::from_millis(200));
    let record = tokio::time::timeout(
        Duration::from_secs(30),
        prism_executor::execute(Arc::new(plan), opts),
    )
    .await
    .expect("the run returns after its timeout");
    assert_eq!(record.status, RunStatus::TimedOut);
    assert_eq!(
        statuses(&record),
        vec![("hang".to_string(), "cancelled".to_string())]
    );
    assert_eq!(
        record.error.map(|e| e.code),
        Some("prism::run::timeout".to_string())
    );
}

#[tokio::test]
async fn cancelling_a_run_cancels_its_calls() {
    let s = start().await;
    let text = VOTE.replace("taskTimeout: 500", "taskTimeout: 600000");
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut opts) = support::compile(dir.path(), "vote.yaml", &text);
    opts.agents = prism_agents::AgentSet::new(vec![http(&s, "hang")]);
    let cancel = opts.cancel.clone();
    let hanging = s.hanging.clone();
    tokio::spawn(async move {
        hanging.notified().await;
        cancel.cancel();
    });
    let record = tokio::time::timeout(
        Duration::from_secs(30),
        prism_executor::execute(Arc::new(plan), opts),
    )
    .await
    .expect("a cancelled run returns");
    assert_eq!(record.status, RunStatus::Cancelled);
    assert_eq!(
        statuses(&record),
        vec![("hang".to_string(), "cancelled".to_string())]
    );
    assert_eq!(
        record.error.map(|e| e.code),
        Some("prism::run::cancelled".to_string())
    );
}

#[tokio::test]
async fn a_race_takes_the_first_sure_answer_and_cancels_the_rest() {
    let s = start().await;
    let text = "name: race\ninput: {}\nagents:\n  capabilities: [vote]\n  taskTimeout: 600000\nexecution:\n  strategy: race\n  minConfidence: 0.75\naggregation:\n  strategy: first\n  minConfidence: 0.75\noutput: $first.result\n";
    let agents = vec![http(&s, "hang"), http(&s, "ok-no"), http(&s, "ok-yes")];
    let record = run("race.yaml", text, agents, json!({})).await;
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.result, Some((json!("yes"), 0.9)));
    let st = statuses(&record);
    assert!(
        st.contains(&("hang".to_string(), "cancelled".to_string())),
        "{st:?}"
    );
}

#[tokio::test]
async fn wait_for_all_false_stops_at_min_results() {
    let s = start().await;
    let text = "name: enough\ninput: {}\nagents:\n  capabilities: [vote]\n  taskTimeout: 600000\nexecution:\n  strategy: parallel\n  waitForAll: false\n  minResults: 1\noutput: $validResults\n";
    let record = run(
        "enough.yaml",
        text,
        vec![http(&s, "hang"), http(&s, "ok-yes")],
        json!({}),
    )
    .await;
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(
        statuses(&record),
        vec![
            ("hang".to_string(), "cancelled".to_string()),
            ("ok-yes".to_string(), "ok".to_string())
        ]
    );
}

fn llm(s: &Server, kind: &str) -> LlmAgent {
    LlmAgent::new(
        AgentInfo::new("gpt", vec![]),
        LlmSpec {
            endpoint: format!("{}/llm/{kind}", s.url),
            model: "test-model".into(),
            api_key: None,
            api_key_env: None,
            temperature: 0.0,
        },
        client(),
    )
}

#[tokio::test]
async fn llm_agents_read_structured_answers_and_logprobs() {
    let s = start().await;
    let req = AgentRequest::new("1", "capital of France?", json!({}));
    let a = llm(&s, "structured")
        .analyze(&req)
        .await
        .expect("an answer");
    assert_eq!(
        (a.value, a.confidence, a.reasoning.as_deref()),
        (json!("Paris"), 0.95, Some("capital of France"))
    );
    let b = llm(&s, "logprobs").analyze(&req).await.expect("an answer");
    assert_eq!(b.value, json!("Paris"));
    assert!((b.confidence - (-0.1f64).exp()).abs() < 1e-9);
    let c = llm(&s, "fail").analyze(&req).await;
    assert!(matches!(
        c,
        Err(prism_agents::AgentError::Http { status: 502, .. })
    ));
}

#[tokio::test]
async fn health_checks_and_agents_files_with_urls() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("agents.yaml");
    std::fs::write(
        &file,
        format!(
            "agents:\n  - name: a\n    capabilities: [vote]\n    url: {}\n",
            s.agent("ok-yes")
        ),
    )
    .expect("write");
    let set = prism_agents::load_agents_file(&file).expect("agents file");
    let record = run("vote.yaml", VOTE, set.agents.clone(), json!({})).await;
    assert_eq!(
        record.result.map(|r| r.0),
        Some(json!({"decision": "yes", "voters": 1}))
    );
    let h = HttpAgent::new(AgentInfo::new("a", vec![]), &s.agent("ok-yes"), client());
    assert!(h.health().await.is_ok());
}
