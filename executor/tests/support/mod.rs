//! Helpers shared by the executor integration tests: compiling pattern text, running it
//! against agents, a local HTTP test server, and redaction of volatile record fields.
#![allow(dead_code)]

pub mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prism_agents::local::{Behaviour, LocalAgent};
use prism_agents::{AgentInfo, AgentSet, SharedAgent};
use prism_compiler::pattern::{compile_file, load_file};
use prism_compiler::plan::Plan;
use prism_executor::{ExecutionRecord, RunOptions, ScriptOutput, execute};
use serde_json::{Value as Json, json};

/// Compiles `text` as `dir/name` (the extension picks the kind of pattern).
pub fn compile(dir: &Path, name: &str, text: &str) -> (Plan, RunOptions) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the pattern");
    let out = compile_file(&path, text);
    let errors: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert!(errors.is_empty(), "pattern does not compile: {errors:?}");
    let plan = out.plan.expect("a plan");
    let opts = RunOptions {
        source: Some(Arc::from(text)),
        model: load_file(&path, text).0.map(Arc::new),
        backoff: Duration::from_millis(1),
        script_output: ScriptOutput::Discard,
        ..RunOptions::default()
    };
    (plan, opts)
}

/// Compiles and runs a pattern with the given agents and input.
pub async fn run(name: &str, text: &str, agents: Vec<SharedAgent>, input: Json) -> ExecutionRecord {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, mut opts) = compile(dir.path(), name, text);
    opts.agents = AgentSet::new(agents);
    opts.input = input;
    execute(Arc::new(plan), opts).await
}

/// A local agent answering `value` with `confidence`.
pub fn respond(name: &str, caps: &[&str], value: Json, confidence: f64) -> SharedAgent {
    Arc::new(LocalAgent::new(
        AgentInfo::new(name, caps.iter().map(|c| c.to_string()).collect()),
        Behaviour::Respond { value, confidence },
        None,
    ))
}

/// The record as JSON with volatile fields replaced.
pub fn redacted(record: &ExecutionRecord) -> Json {
    let mut j = record.to_json();
    redact(&mut j);
    j
}

fn redact(j: &mut Json) {
    match j {
        Json::Object(m) => {
            for (k, v) in m.iter_mut() {
                match k.as_str() {
                    "id" if v.as_str().is_some_and(|s| s.len() == 36) => *v = json!("[redacted]"),
                    "startedAt" | "endedAt" | "durationMs" | "executionTimeMs" | "timestamp"
                    | "latencyMs" | "planHash" | "source" | "executionId" => {
                        if !v.is_null() && !v.is_object() {
                            *v = json!("[redacted]");
                        }
                    }
                    _ => redact(v),
                }
            }
        }
        Json::Array(a) => a.iter_mut().for_each(redact),
        Json::String(text) => *text = redact_port(text),
        _ => {}
    }
}

/// `http://127.0.0.1:PORT` → `http://127.0.0.1:[port]` (the test server's port varies).
fn redact_port(text: &str) -> String {
    let host = "127.0.0.1:";
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(host) {
        out.push_str(&rest[..i + host.len()]);
        rest = &rest[i + host.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[port]");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The status words of a record's agent results, by agent name.
pub fn statuses(record: &ExecutionRecord) -> Vec<(String, String)> {
    record
        .agent_results
        .iter()
        .map(|r| (r.agent_name.clone(), r.status.as_str().to_string()))
        .collect()
}
