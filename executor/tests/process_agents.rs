//! Process agents: a real JSON-lines process kept for the run (concurrent calls, crashes and
//! restarts, garbage lines) and one-shot processes (text answers, non-zero exits, hangs that
//! kill the process group), also through an agents file and a whole pattern run.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prism_agents::process::{ProcessAgent, ProcessMode, ProcessSpec};
use prism_agents::{Agent, AgentError, AgentInfo, AgentRequest};
use prism_executor::RunStatus;
use serde_json::json;

fn script(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/agents")
        .join(name)
        .display()
        .to_string()
}

fn agent(file: &str, mode: ProcessMode) -> ProcessAgent {
    ProcessAgent::new(
        AgentInfo::new("proc", vec!["vote".into()]),
        ProcessSpec {
            command: vec!["python3".into(), script(file)],
            shell: false,
            cwd: None,
            mode,
            max_answer_bytes: prism_agents::DEFAULT_MAX_ANSWER_BYTES,
        },
    )
}

fn req(id: &str, task: &str, input: serde_json::Value) -> AgentRequest {
    AgentRequest::new(id, task, input)
}

#[tokio::test]
async fn a_lines_process_serves_concurrent_calls_matched_by_id() {
    let a = agent("lines_agent.py", ProcessMode::Lines);
    let (r1, r2, r3) = (
        req("a", "x", json!({"n": 1})),
        req("b", "x", json!({"n": 2})),
        req("c", "x", json!({"n": 3})),
    );
    let (x, y, z) = tokio::join!(a.analyze(&r1), a.analyze(&r2), a.analyze(&r3));
    let (x, y, z) = (x.expect("a"), y.expect("b"), z.expect("c"));
    assert_eq!(x.value["echo"], json!({"n": 1}));
    assert_eq!(y.value["echo"], json!({"n": 2}));
    assert_eq!(z.value["echo"], json!({"n": 3}));
    assert_eq!(x.value["pid"], y.value["pid"], "one process serves the run");
    assert_eq!(x.confidence, 0.75);
    a.shutdown().await;
}

#[tokio::test]
async fn a_crash_fails_the_pending_call_and_the_next_call_restarts() {
    let a = agent("lines_agent.py", ProcessMode::Lines);
    let first = a.analyze(&req("1", "x", json!({}))).await.expect("first");
    let crash = a.analyze(&req("2", "crash", json!({}))).await;
    match crash {
        Err(AgentError::Process(m)) => assert!(m.contains("exited"), "{m}"),
        other => panic!("expected a process error, got {other:?}"),
    }
    let again = a
        .analyze(&req("3", "x", json!({})))
        .await
        .expect("restarted");
    assert_ne!(first.value["pid"], again.value["pid"]);
    let garbage = a.analyze(&req("4", "garbage", json!({}))).await;
    assert!(
        matches!(garbage, Err(AgentError::Protocol(_))),
        "{garbage:?}"
    );
    a.shutdown().await;
}

#[tokio::test]
async fn oneshot_processes_answer_text_json_and_exit_codes() {
    let a = agent("oneshot_agent.py", ProcessMode::Oneshot);
    let t = a.analyze(&req("1", "text", json!({}))).await.expect("text");
    assert_eq!((t.value, t.confidence), (json!("The answer is 42."), 0.65));
    let j = a
        .analyze(&req("2", "hello", json!({})))
        .await
        .expect("json");
    assert_eq!((j.value, j.confidence), (json!("hello"), 0.9));
    match a.analyze(&req("3", "fail", json!({}))).await {
        Err(AgentError::Exit { code, stderr }) => {
            assert_eq!(code, 2);
            assert!(stderr.contains("bad input"), "{stderr}");
        }
        other => panic!("expected an exit error, got {other:?}"),
    }
}

fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn a_timed_out_oneshot_call_kills_the_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let a = agent("oneshot_agent.py", ProcessMode::Oneshot);
    let r = req(
        "1",
        "hang",
        json!({"data": {"pidfile": pidfile.display().to_string()}}),
    );
    let mut call = a.analyze(&r);
    // Wait until the grandchild exists, then abandon the call as a timeout would.
    let mut child = None;
    for _ in 0..500 {
        tokio::select! {
            _ = &mut call => panic!("the hanging agent answered"),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            child = Some(pid);
            break;
        }
    }
    let child = child.expect("the agent started its child");
    assert!(!gone(child));
    drop(call);
    let mut dead = false;
    for _ in 0..500 {
        if gone(child) {
            dead = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(dead, "the child {child} outlived the cancelled call");
}

#[tokio::test]
async fn process_agents_from_an_agents_file_run_a_pattern() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("agents.yaml");
    let text = format!(
        "agents:\n  - name: lines\n    capabilities: [vote]\n    command: [python3, {}]\n  - name: once\n    capabilities: [vote]\n    mode: oneshot\n    command: python3 {} \n  - name: broken\n    capabilities: [vote]\n    mode: oneshot\n    command: [python3, {}]\n",
        script("lines_agent.py"),
        script("oneshot_agent.py"),
        script("oneshot_agent.py"),
    );
    std::fs::write(&file, text).expect("write");
    let set = prism_agents::load_agents_file(&file).expect("agents file");
    let pattern = "name: procs\ninput: {}\nagents:\n  capabilities: [vote]\n  retries: 0\noutput: $validResults\n";
    let dir2 = tempfile::tempdir().expect("tempdir");
    let (plan, mut opts) = support::compile(dir2.path(), "p.yaml", pattern);
    opts.agents = set;
    opts.input = json!({"task": "text"});
    let record = prism_executor::execute(Arc::new(plan), opts).await;
    assert_eq!(record.status, RunStatus::Completed);
    let answered: Vec<(String, bool)> = record
        .agent_results
        .iter()
        .map(|r| (r.agent_name.clone(), r.is_valid()))
        .collect();
    assert_eq!(
        answered,
        vec![
            ("lines".into(), true),
            ("once".into(), true),
            ("broken".into(), true)
        ]
    );
}
