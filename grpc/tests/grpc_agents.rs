//! `grpc` agents from an agents file against real gRPC servers on 127.0.0.1: the request they
//! get, the answer Prism reads, capabilities from `GetCapabilities`, `HealthCheck` for
//! patterns that ask for healthy agents, and failures recorded per agent.

mod support;

use std::time::{Duration, Instant};

use prism_executor::RunStatus;
use prism_grpc::proto::confidence::health;
use serde_json::json;
use support::{
    Reply, TestAgent, agents_file, agents_file_with, closed_port, results, run, serve, serve_with,
};

const VOTE: &str = "name: sentiment-vote\nversion: 1.2.0\ninput:\n  text: string\n  task: {type: string, required: false}\nagents:\n  capabilities: [sentiment]\n  min: 1\n  retries: 0\n  taskTimeout: 5000\naggregation:\n  strategy: voting\noutput:\n  label: $vote.winner\n  voters: $totalCount\n";

#[tokio::test]
async fn grpc_agents_answer_a_vote_like_every_other_kind() {
    let a = serve(TestAgent::new(
        "a",
        Reply::Answer("\"positive\"".into(), 0.9),
    ))
    .await;
    let b = serve(TestAgent::new(
        "b",
        Reply::Answer("\"positive\"".into(), 0.7),
    ))
    .await;
    let c = serve(TestAgent::new(
        "c",
        Reply::Answer("\"negative\"".into(), 0.8),
    ))
    .await;
    // `c` lists no capabilities: Prism asks it with GetCapabilities.
    let (_dir, set) = agents_file(&format!(
        "agents:\n  - name: a\n    capabilities: [sentiment]\n    grpc: {}\n  - name: b\n    capabilities: [sentiment]\n    grpc: http://{}\n  - name: c\n    grpc: {}\n",
        a.address, b.address, c.address
    ));
    let record = run(
        VOTE,
        json!({"text": "a great day", "task": "classify the sentiment"}),
        set,
    )
    .await;
    assert_eq!(record.status, RunStatus::Completed, "{:?}", record.error);
    let (value, confidence) = record.result.clone().unwrap_or_default();
    assert_eq!(value, json!({"label": "positive", "voters": 3}));
    assert!((confidence - 2.0 / 3.0 * 0.8).abs() < 1e-9, "{confidence}");
    assert_eq!(
        results(&record),
        vec![
            ("a".into(), json!("positive"), 0.9, None),
            ("b".into(), json!("positive"), 0.7, None),
            ("c".into(), json!("negative"), 0.8, None),
        ]
    );
    let first = &record.agent_results[0];
    assert_eq!(first.reasoning.as_deref(), Some("a read the text"));
    assert_eq!(first.uncertainties, Some(json!(["short text"])));
    assert_eq!(first.metadata, Some(json!({"model": "test"})));
    assert_eq!(record.agent_results[2].capabilities, vec!["sentiment"]);
    assert_eq!(
        record.agent_results[2].expertise, 0.9,
        "GetCapabilities' expertise"
    );

    let seen = a.agent.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.task_description, "classify the sentiment");
    assert_eq!(r.pattern_name, "sentiment-vote");
    assert_eq!(r.timeout_ms, 5000);
    assert!(!r.task_id.is_empty());
    assert_eq!(
        r.data.as_ref().map(prism_grpc::from_struct),
        Some(json!({"task": "classify the sentiment", "text": "a great day"}))
    );
    assert_eq!(
        r.context.get("protocol").map(String::as_str),
        Some("prism-agent/1")
    );
    assert_eq!(
        r.context.get("patternVersion").map(String::as_str),
        Some("1.2.0")
    );
    assert_eq!(r.context.get("executionId"), Some(&record.id));
}

#[tokio::test]
async fn failures_are_recorded_per_agent_and_the_vote_goes_on() {
    let good = serve(TestAgent::new(
        "good",
        Reply::Answer("\"positive\"".into(), 0.9),
    ))
    .await;
    let slow = serve(TestAgent::new(
        "slow",
        Reply::Slow(Duration::from_secs(10), "\"positive\"".into(), 0.9),
    ))
    .await;
    let bad = serve(TestAgent::new("bad", Reply::Answer("positive".into(), 0.9))).await;
    let empty = serve(TestAgent::new("empty", Reply::Answer(String::new(), 0.9))).await;
    let throws = serve(TestAgent::new(
        "throws",
        Reply::Fail(tonic::Code::Internal, "model crashed".into()),
    ))
    .await;
    let down = closed_port();
    let (_dir, set) = agents_file(&format!(
        "agents:\n  - name: good\n    capabilities: [sentiment]\n    grpc: {}\n  - name: slow\n    capabilities: [sentiment]\n    grpc: {}\n    timeout: 200\n  - name: bad\n    capabilities: [sentiment]\n    grpc: {}\n  - name: empty\n    capabilities: [sentiment]\n    grpc: {}\n  - name: throws\n    capabilities: [sentiment]\n    grpc: {}\n  - name: down\n    capabilities: [sentiment]\n    grpc: 127.0.0.1:{down}\n",
        good.address, slow.address, bad.address, empty.address, throws.address
    ));
    let started = Instant::now();
    let record = run(VOTE, json!({"text": "great"}), set).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the slow agent was cut at 200 ms"
    );
    assert_eq!(record.status, RunStatus::Completed, "{:?}", record.error);
    assert_eq!(
        record.result.as_ref().map(|r| r.0.clone()),
        Some(json!({"label": "positive", "voters": 1}))
    );
    let errors: Vec<(String, String, String)> = record
        .agent_results
        .iter()
        .map(|r| {
            (
                r.agent_name.clone(),
                r.status.as_str().to_string(),
                r.error.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(errors[0], ("good".into(), "ok".into(), String::new()));
    assert_eq!(errors[1].1, "timed_out", "{errors:?}");
    assert_eq!(errors[1].2, "timed out after 200 ms");
    assert!(
        errors[2]
            .2
            .starts_with("protocol error: the answer's `value_json` is not JSON"),
        "{errors:?}"
    );
    assert!(errors[2].2.ends_with(": positive"), "{errors:?}");
    assert_eq!(
        errors[3].2,
        "protocol error: the answer's `value_json` is empty (the agent returned no value)"
    );
    assert_eq!(
        errors[4].2,
        format!(
            "agent error: model crashed (gRPC INTERNAL from {})",
            throws.address
        )
    );
    assert!(
        errors[5].2.starts_with(&format!(
            "transport error: gRPC UNAVAILABLE from 127.0.0.1:{down}"
        )),
        "{errors:?}"
    );
    assert_eq!(
        record.failed_agents(),
        vec!["slow", "bad", "empty", "throws", "down"]
    );
}

#[tokio::test]
async fn unavailable_agents_are_retried_like_http_agents() {
    let down = closed_port();
    let (_dir, set) = agents_file(&format!(
        "agents:\n  - name: down\n    capabilities: [sentiment]\n    grpc: 127.0.0.1:{down}\n"
    ));
    let pattern = VOTE.replace("retries: 0", "retries: 2");
    let record = run(&pattern, json!({"text": "great"}), set).await;
    let r = &record.agent_results[0];
    assert_eq!(r.attempts, 3);
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.ends_with("(on all 3 attempts)")),
        "{:?}",
        r.error
    );
}

#[tokio::test]
async fn patterns_that_ask_for_healthy_agents_leave_the_others_out() {
    let well = serve(TestAgent::new(
        "well",
        Reply::Answer("\"positive\"".into(), 0.9),
    ))
    .await;
    let mut sick = TestAgent::new("sick", Reply::Answer("\"negative\"".into(), 0.9));
    sick.health = health::Status::Unhealthy;
    let sick = serve(sick).await;
    let down = closed_port();
    let file = format!(
        "agents:\n  - name: well\n    capabilities: [sentiment]\n    grpc: {}\n  - name: sick\n    capabilities: [sentiment]\n    grpc: {}\n  - name: down\n    capabilities: [sentiment]\n    grpc: 127.0.0.1:{down}\n  - name: local\n    capabilities: [sentiment]\n    respond: positive\n",
        well.address, sick.address
    );
    let healthy = VOTE.replace("  min: 1\n", "  min: 1\n  healthy: true\n");
    let (_dir, set) = agents_file(&file);
    let record = run(&healthy, json!({"text": "great"}), set).await;
    let called: Vec<String> = record
        .agent_results
        .iter()
        .map(|r| r.agent_name.clone())
        .collect();
    assert_eq!(called, vec!["well", "local"]);
    assert!(sick.agent.requests().is_empty());
    let warnings: Vec<&str> = record
        .warnings
        .iter()
        .filter(|(code, _)| code == "prism::run::unhealthy")
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("agent sick is left out of phases that ask for healthy agents: ")
            && warnings[0].contains("says UNHEALTHY: test agent"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("agent down"), "{warnings:?}");

    // Without `healthy`, every agent is called.
    let (_dir, set) = agents_file(&file);
    let record = run(VOTE, json!({"text": "great"}), set).await;
    assert_eq!(record.agent_results.len(), 4);
    assert!(
        record
            .warnings
            .iter()
            .all(|(c, _)| c != "prism::run::unhealthy")
    );
}

/// An included pattern that asks for healthy agents leaves out the unhealthy ones too, though
/// the including pattern does not ask: the run checks its agents once, when the first such
/// pattern is included, and warns in its own record.
#[tokio::test]
async fn included_patterns_that_ask_for_healthy_agents_leave_the_others_out() {
    let well = serve(TestAgent::new(
        "well",
        Reply::Answer("\"positive\"".into(), 0.9),
    ))
    .await;
    let mut sick = TestAgent::new("sick", Reply::Answer("\"negative\"".into(), 0.9));
    sick.health = health::Status::Unhealthy;
    let sick = serve(sick).await;
    let (dir, set) = agents_file(&format!(
        "agents:\n  - name: well\n    capabilities: [sentiment]\n    grpc: {}\n  - name: sick\n    capabilities: [sentiment]\n    grpc: {}\n",
        well.address, sick.address
    ));
    let child = VOTE.replace("  min: 1\n", "  min: 1\n  healthy: true\n");
    std::fs::write(dir.path().join("child.yaml"), &child).expect("write child.yaml");
    let parent = "name: parent\ninput:\n  text: string\nsteps:\n  - id: first\n    pattern: ./child.yaml\n    input: {text: $input.text}\n  - id: second\n    pattern: ./child.yaml\n    input: {text: $input.text}\noutput: {first: $first, second: $second}\n";
    let path = dir.path().join("parent.yaml");
    std::fs::write(&path, parent).expect("write parent.yaml");
    let out = prism_compiler::pattern::compile_file(&path, parent);
    let plan = out
        .plan
        .unwrap_or_else(|| panic!("the parent compiles: {:?}", out.diagnostics));
    let options = prism_executor::RunOptions {
        input: json!({"text": "great"}),
        agents: set,
        source: Some(std::sync::Arc::from(parent)),
        model: prism_compiler::pattern::load_file(&path, parent)
            .0
            .map(std::sync::Arc::new),
        ..prism_executor::RunOptions::default()
    };
    let record = prism_executor::execute(std::sync::Arc::new(plan), options).await;
    assert_eq!(record.status, RunStatus::Completed, "{:?}", record.error);
    let called: Vec<String> = record
        .agent_results
        .iter()
        .map(|r| r.agent_name.clone())
        .collect();
    assert_eq!(called, vec!["well", "well"]);
    assert!(sick.agent.requests().is_empty());
    let warnings: Vec<&str> = record
        .warnings
        .iter()
        .filter(|(code, _)| code == "prism::run::unhealthy")
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "checked once: {warnings:?}");
    assert!(warnings[0].starts_with("agent sick "), "{warnings:?}");
}

#[tokio::test]
async fn an_agent_that_cannot_say_its_capabilities_has_none_and_the_run_says_why() {
    let down = closed_port();
    let ok = serve(TestAgent::new(
        "ok",
        Reply::Answer("\"positive\"".into(), 0.9),
    ))
    .await;
    let (_dir, set) = agents_file(&format!(
        "agents:\n  - name: mute\n    grpc: 127.0.0.1:{down}\n  - name: ok\n    grpc: {}\n",
        ok.address
    ));
    let record = run(VOTE, json!({"text": "great"}), set).await;
    let called: Vec<&str> = record
        .agent_results
        .iter()
        .map(|r| r.agent_name.as_str())
        .collect();
    assert_eq!(called, vec!["ok"]);
    assert!(
        record
            .warnings
            .iter()
            .any(|(code, m)| code == "prism::run::agent"
                && m.starts_with(
                    "agent mute: GetCapabilities failed, so it has no capabilities in this run: "
                )),
        "{:?}",
        record.warnings
    );
}

#[tokio::test]
async fn tls_agents_are_reached_with_the_certificate_authority_the_file_names() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("a key");
    let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("a key");
    let leaf = CertificateParams::new(vec!["agents.test".to_string()])
        .expect("leaf parameters")
        .signed_by(&leaf_key, &issuer)
        .expect("the agent's certificate");
    let identity = tonic::transport::Identity::from_pem(leaf.pem(), leaf_key.serialize_pem());
    let secure = serve_with(
        TestAgent::new("secure", Reply::Answer("\"positive\"".into(), 0.9)),
        Some(identity),
    )
    .await;
    let file = format!(
        "agents:\n  - name: secure\n    capabilities: [sentiment]\n    grpc: {}\n    tls: {{ca: ca.pem, domain: agents.test}}\n  - name: untrusted\n    capabilities: [sentiment]\n    grpc: {}\n    tls: true\n  - name: plain\n    capabilities: [sentiment]\n    grpc: {}\n",
        secure.address, secure.address, secure.address
    );
    let (_dir, set) = agents_file_with(&file, &[("ca.pem", &ca.pem())]);
    let record = run(VOTE, json!({"text": "great"}), set).await;
    let got: Vec<(String, String)> = record
        .agent_results
        .iter()
        .map(|r| (r.agent_name.clone(), r.status.as_str().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("secure".to_string(), "ok".to_string()),
            ("untrusted".to_string(), "failed".to_string()),
            ("plain".to_string(), "failed".to_string()),
        ],
        "{:?}",
        record.agent_results
    );
    let error = |i: usize| record.agent_results[i].error.clone().unwrap_or_default();
    assert!(
        error(1).starts_with(&format!(
            "transport error: gRPC UNAVAILABLE from {}",
            secure.address
        )) && error(1).contains("UnknownIssuer"),
        "{}",
        error(1)
    );
    assert!(error(2).starts_with("transport error: "), "{}", error(2));
    // Only the agent that trusts the file's CA got through: one request reached the server.
    assert_eq!(secure.agent.requests().len(), 1);
}
