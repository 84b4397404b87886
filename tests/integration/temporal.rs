//! Distributed execution on Temporal through real `prism` processes (docs/distributed.md):
//! without `distributed_execution` the commands stop before connecting anywhere; with a
//! Temporal server (`PRISM_TEMPORAL_ADDR`, started by `.ci/temporal.sh`) and a `prism` built
//! with the `temporal` feature and the test key (`PRISM_TEMPORAL_BIN`), a 50-agent vote run
//! across two worker processes gives the local result, and a run whose worker is killed with
//! SIGKILL completes on a new worker with exactly one record per agent call and per step,
//! and a vote of 1,000 agents goes out as a few child workflows (not 1,000 activities in the
//! run's history) with the local result.
//!
//! Without `PRISM_TEMPORAL_ADDR` the server tests are skipped with a note, unless
//! `PRISM_REQUIRE_TEMPORAL=1` (CI), where that is a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{data, run_prism_with};

/// The Temporal trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "temporal::refused_without_a_license_before_connecting",
            refused_without_a_license_before_connecting,
        ),
        Trial::test(
            "temporal::vote_across_two_workers_matches_local",
            vote_across_two_workers_matches_local,
        ),
        Trial::test(
            "temporal::killed_worker_run_completes_once",
            killed_worker_run_completes_once,
        ),
        Trial::test(
            "temporal::large_fan_out_goes_out_in_child_workflows",
            large_fan_out_goes_out_in_child_workflows,
        ),
    ]
}

fn enterprise_key() -> Result<String, Failed> {
    let text = std::fs::read_to_string(data().join("license/vectors.json"))?;
    let json: Value = serde_json::from_str(&text)?;
    json["vectors"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["name"] == "enterprise-valid"))
        .and_then(|x| x["key"].as_str())
        .map(str::to_string)
        .ok_or_else(|| "no enterprise-valid vector".into())
}

const VOTE: &str = "name: vote50\nversion: 1.0.0\ninput: {}\nagents:\n  min: 50\n  taskTimeout: 20000\naggregation:\n  strategy: voting\n  method: majority\noutput:\n  label: $vote.winner\n  agreement: $vote.agreement\n  voters: $totalCount\n";

/// A folder with the 50-agent vote and its agents (`latency_ms` each).
fn vote_project(
    latency_ms: u64,
    agents: usize,
    sequential: bool,
) -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::tempdir()?;
    let mut pattern = VOTE.replace("min: 50", &format!("min: {agents}"));
    if sequential {
        pattern.push_str("execution:\n  strategy: sequential\n");
    }
    std::fs::write(dir.path().join("vote.yaml"), pattern)?;
    let mut file = String::from("agents:\n");
    for i in 1..=agents {
        let (value, conf) = if i % 3 == 0 {
            ("dog", 0.6)
        } else {
            ("cat", 0.7 + (i % 4) as f64 * 0.05)
        };
        file.push_str(&format!(
            "  - name: a{i:02}\n    latencyMs: {latency_ms}\n    respond: {{value: {value}, confidence: {conf}}}\n"
        ));
    }
    std::fs::write(dir.path().join("agents.yaml"), file)?;
    Ok(dir)
}

fn refused_without_a_license_before_connecting() -> Result<(), Failed> {
    let dir = vote_project(0, 3, false)?;
    // A listener nobody should reach: the license check comes first.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?.to_string();
    let runs: [&[&str]; 2] = [
        &["run", "vote.yaml", "--temporal", &address],
        &["worker", "--temporal", &address],
    ];
    for args in runs {
        let run = run_prism_with(args, dir.path(), Duration::from_secs(60), None, &[])?;
        if run.code != Some(2)
            || !run.stderr.contains("error[prism::license::distributed]")
            || !run.stderr.contains("feature `distributed_execution`")
        {
            return Err(format!(
                "{args:?}: expected the license message, got {:?}: {}{}",
                run.code, run.stdout, run.stderr
            )
            .into());
        }
        if run.stdout.contains("confidence") {
            return Err(format!("{args:?}: ran anyway: {}", run.stdout).into());
        }
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
        Ok((_, from)) => Err(format!("something connected to the server from {from}").into()),
        Err(e) => Err(e.into()),
    }
}

/// The server and the feature-built binary, or `None` (skip) when not configured.
fn server(test: &str) -> Result<Option<(String, PathBuf)>, Failed> {
    let addr = std::env::var("PRISM_TEMPORAL_ADDR")
        .ok()
        .filter(|s| !s.is_empty());
    let bin = std::env::var("PRISM_TEMPORAL_BIN")
        .ok()
        .filter(|s| !s.is_empty());
    match (addr, bin) {
        (Some(a), Some(b)) => Ok(Some((a, PathBuf::from(b)))),
        _ if std::env::var("PRISM_REQUIRE_TEMPORAL").as_deref() == Ok("1") => Err(
            "PRISM_REQUIRE_TEMPORAL=1 but PRISM_TEMPORAL_ADDR or PRISM_TEMPORAL_BIN is not set"
                .into(),
        ),
        _ => {
            eprintln!(
                "note: {test} skipped: PRISM_TEMPORAL_ADDR and PRISM_TEMPORAL_BIN are not set (.ci/temporal.sh sets them)"
            );
            Ok(None)
        }
    }
}

/// A worker process, killed on drop.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn licensed(bin: &Path, dir: &Path, key: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PRISM_LICENSE_KEY", key)
        .env_remove("PARALLAX_LICENSE_KEY");
    cmd
}

fn worker(bin: &Path, dir: &Path, key: &str, addr: &str, queue: &str) -> Result<Worker, Failed> {
    static WORKERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = WORKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = std::fs::File::create(dir.join(format!("worker-{n}.log")))?;
    let child = licensed(bin, dir, key)
        .args(["worker", "--temporal", addr, "--task-queue", queue])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(Worker(child))
}

/// `prism run vote.yaml [--json] --temporal ADDR --task-queue Q`.
fn remote_run<'a>(addr: &'a str, queue: &'a str, json: bool) -> Vec<&'a str> {
    let mut args = vec!["run", "vote.yaml"];
    if json {
        args.push("--json");
    }
    args.extend(["--temporal", addr, "--task-queue", queue]);
    args
}

fn queue(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{test}-{}-{nanos}", std::process::id())
}

fn output_json(out: &Output, what: &str) -> Result<Value, Failed> {
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({:?}): {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{what}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?)
}

/// What must agree between two runs: status, result and each agent's answer.
fn essence(record: &Value) -> Value {
    let mut answers: Vec<(String, Value, Value)> = record["agentResults"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["agentName"].as_str().unwrap_or_default().to_string(),
                        r["result"].clone(),
                        r["confidence"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    serde_json::json!({
        "status": record["status"],
        "result": record["result"],
        "answers": answers,
        "steps": record["steps"].as_array().map(|s| s.iter().map(|x| x["id"].clone()).collect::<Vec<_>>()),
    })
}

fn vote_across_two_workers_matches_local() -> Result<(), Failed> {
    let Some((addr, bin)) = server("temporal::vote_across_two_workers_matches_local")? else {
        return Ok(());
    };
    let key = enterprise_key()?;
    let dir = vote_project(5, 50, false)?;
    let q = queue("vote");
    let _w1 = worker(&bin, dir.path(), &key, &addr, &q)?;
    let _w2 = worker(&bin, dir.path(), &key, &addr, &q)?;
    let local = licensed(&bin, dir.path(), &key)
        .args(["run", "vote.yaml", "--json"])
        .output()?;
    let local = output_json(&local, "the local run")?;
    let remote = licensed(&bin, dir.path(), &key)
        .args(remote_run(&addr, &q, true))
        .output()?;
    let remote = output_json(&remote, "the Temporal run")?;
    if essence(&local) != essence(&remote) {
        return Err(format!(
            "the Temporal run differs from the local one:\nlocal:  {}\nremote: {}",
            essence(&local),
            essence(&remote)
        )
        .into());
    }
    if remote["agentResults"].as_array().map(Vec::len) != Some(50) {
        return Err(format!("expected 50 agent results: {remote}").into());
    }
    // The human output is the local one too.
    let text = |args: &[&str]| -> Result<String, Failed> {
        let out = licensed(&bin, dir.path(), &key).args(args).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let local_text = text(&["run", "vote.yaml"])?;
    let remote_text = text(&remote_run(&addr, &q, false))?;
    if local_text != remote_text {
        return Err(
            format!("stdout differs:\nlocal:\n{local_text}\nremote:\n{remote_text}").into(),
        );
    }
    Ok(())
}

fn killed_worker_run_completes_once() -> Result<(), Failed> {
    let Some((addr, bin)) = server("temporal::killed_worker_run_completes_once")? else {
        return Ok(());
    };
    let key = enterprise_key()?;
    // Eight agents called one after another, 700 ms each: the run lasts about 6 s.
    let dir = vote_project(700, 8, true)?;
    let q = queue("kill");
    let mut first = worker(&bin, dir.path(), &key, &addr, &q)?;
    let run = licensed(&bin, dir.path(), &key)
        .args(remote_run(&addr, &q, true))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(2500));
    // SIGKILL: no goodbye to the server.
    first.0.kill()?;
    first.0.wait()?;
    let killed_at = Instant::now();
    let _second = worker(&bin, dir.path(), &key, &addr, &q)?;
    let out = run.wait_with_output()?;
    let recovered = killed_at.elapsed();
    let record = output_json(&out, "the run")?;
    eprintln!(
        "note: the run finished {} ms after its worker was killed",
        recovered.as_millis()
    );
    if record["status"] != "completed" {
        return Err(format!("not completed: {record}").into());
    }
    let mut names: Vec<&str> = record["agentResults"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["agentName"].as_str()).collect())
        .unwrap_or_default();
    let calls = names.len();
    names.sort_unstable();
    names.dedup();
    if calls != 8 || names.len() != 8 {
        return Err(format!(
            "expected one result per agent (8), got {calls} for {} agents: {record}",
            names.len()
        )
        .into());
    }
    let mut steps: Vec<&str> = record["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
        .unwrap_or_default();
    let n = steps.len();
    steps.sort_unstable();
    steps.dedup();
    if n != steps.len() {
        return Err(format!("a step is recorded twice: {record}").into());
    }
    Ok(())
}

/// The `temporal` CLI (`PRISM_TEMPORAL_CLI`, else `temporal` on PATH): `ARGS --address ADDR
/// --output json`, parsed.
fn temporal_json(addr: &str, args: &[&str]) -> Result<Value, Failed> {
    let cli = std::env::var("PRISM_TEMPORAL_CLI").unwrap_or_else(|_| "temporal".into());
    let out = Command::new(&cli)
        .args(args)
        .args(["--address", addr, "--output", "json"])
        .output()
        .map_err(|e| format!("cannot run the Temporal CLI `{cli}` (PRISM_TEMPORAL_CLI): {e}"))?;
    output_json(&out, &format!("temporal {}", args.join(" ")))
}

/// How many events of `history` (`temporal workflow show --output json`) are of `kind`
/// (`ActivityTaskScheduled`; either spelling of the event type).
fn events_of(history: &Value, kind: &str) -> usize {
    let want = kind.to_ascii_lowercase();
    history["events"].as_array().map_or(0, |events| {
        events
            .iter()
            .filter_map(|e| e["eventType"].as_str())
            .filter(|t| {
                let t: String = t
                    .trim_start_matches("EVENT_TYPE_")
                    .chars()
                    .filter(|c| *c != '_')
                    .collect();
                t.to_ascii_lowercase() == want
            })
            .count()
    })
}

fn large_fan_out_goes_out_in_child_workflows() -> Result<(), Failed> {
    let Some((addr, bin)) = server("temporal::large_fan_out_goes_out_in_child_workflows")? else {
        return Ok(());
    };
    const AGENTS: usize = 1_000;
    let key = enterprise_key()?;
    let dir = vote_project(0, AGENTS, false)?;
    let q = queue("fanout");
    let _w = worker(&bin, dir.path(), &key, &addr, &q)?;
    let local = licensed(&bin, dir.path(), &key)
        .args(["run", "vote.yaml", "--json"])
        .output()?;
    let local = output_json(&local, "the local run")?;
    let started = Instant::now();
    let remote = licensed(&bin, dir.path(), &key)
        .args(remote_run(&addr, &q, true))
        .output()?;
    let took = started.elapsed();
    let remote = output_json(&remote, "the Temporal run")?;
    if essence(&local) != essence(&remote) {
        return Err(format!(
            "the Temporal run differs from the local one:\nlocal:  {}\nremote: {}",
            essence(&local),
            essence(&remote)
        )
        .into());
    }
    if remote["agentResults"].as_array().map(Vec::len) != Some(AGENTS) {
        return Err(format!("expected {AGENTS} agent results").into());
    }
    let id = remote["id"]
        .as_str()
        .ok_or("the record has no execution id")?;
    let history = temporal_json(&addr, &["workflow", "show", "--workflow-id", id])?;
    let children = events_of(&history, "StartChildWorkflowExecutionInitiated");
    let activities = events_of(&history, "ActivityTaskScheduled");
    let described = temporal_json(&addr, &["workflow", "describe", "--workflow-id", id])?;
    let info = &described["workflowExecutionInfo"];
    eprintln!(
        "note: {AGENTS} agents on Temporal in {} ms: {children} child workflows, {activities} activities, history {} events / {} bytes",
        took.as_millis(),
        info["historyLength"],
        info["historySizeBytes"],
    );
    if children < 2 || activities != 0 {
        return Err(format!(
            "expected the calls in child workflows, got {children} children and {activities} activities in the run's history"
        )
        .into());
    }
    Ok(())
}
