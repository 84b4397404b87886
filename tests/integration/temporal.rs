//! Distributed execution on Temporal through real `prism` processes (docs/distributed.md):
//! without `distributed_execution` the commands stop before connecting anywhere; with a
//! Temporal server (`PRISM_TEMPORAL_ADDR`, started by `.ci/temporal.sh`) and a `prism` built
//! with the `temporal` feature and the test key (`PRISM_TEMPORAL_BIN`), a 50-agent vote run
//! across two worker processes gives the local result, and a run whose worker is killed with
//! SIGKILL completes on a new worker with exactly one record per agent call and per step;
//! `prism serve --temporal` makes a schedule the server fires, also once `serve` is killed;
//! and a run rides out its server being killed and started again on the same database (a
//! server of its own: the `temporal` CLI on PATH); a vote of 1,000 agents goes out as a few
//! child workflows (not 1,000 activities in the run's history) with the local result.
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
            "temporal::schedule_fires_on_the_server_without_serve",
            schedule_fires_on_the_server_without_serve,
        ),
        Trial::test(
            "temporal::server_restart_run_survives",
            server_restart_run_survives,
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
    // `serve --temporal` needs `scheduled_patterns` first (the open-source edition has
    // neither), then `distributed_execution`: refused before anything connects either way.
    std::fs::write(
        dir.path().join("tick.yaml"),
        "name: tick\ninput: {}\nagents:\n  min: 3\noutput: $result\nschedule: {interval: 2s}\n",
    )?;
    let serve = ["serve", "tick.yaml", "--temporal", &address];
    let run = run_prism_with(&serve, dir.path(), Duration::from_secs(60), None, &[])?;
    if run.code != Some(2) || !run.stderr.contains("error[prism::license::") {
        return Err(format!(
            "{serve:?}: expected the license message, got {:?}: {}{}",
            run.code, run.stdout, run.stderr
        )
        .into());
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
    // Eight agents called one after another, 700 ms each: the run lasts about 6 s. Its
    // records are kept: the workers write each node's row and the run's record.
    let dir = vote_project(700, 8, true)?;
    let pattern = dir.path().join("vote.yaml");
    let text = std::fs::read_to_string(&pattern)?;
    std::fs::write(&pattern, format!("{text}persistence: true\n"))?;
    let db = dir.path().join("runs.db");
    let store = format!("sqlite:{}", db.display());
    let q = queue("kill");
    let mut first = worker(&bin, dir.path(), &key, &addr, &q)?;
    let run = licensed(&bin, dir.path(), &key)
        .args(remote_run(&addr, &q, true))
        .args(["--store", &store])
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
    completed_once_per_agent(&record, 8)?;
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
    stored_once(&db, &record)
}

/// The store holds the run's record once and one row per node of the vote, each `ok`.
fn stored_once(db: &Path, record: &Value) -> Result<(), Failed> {
    let id = record["id"].as_str().ok_or("the record has no id")?;
    let conn = rusqlite::Connection::open(db)?;
    let records: i64 = conn.query_row(
        "SELECT COUNT(*) FROM execution_records WHERE id = ?1 AND status = 'completed'",
        [id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(
        "SELECT node, status FROM execution_nodes WHERE execution_id = ?1 ORDER BY node",
    )?;
    let nodes: Vec<(String, String)> = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let want: Vec<(String, String)> = ["agents", "aggregate", "confidence", "input", "output"]
        .iter()
        .map(|n| (n.to_string(), "ok".to_string()))
        .collect();
    if records != 1 || nodes != want {
        return Err(format!(
            "expected the run's record once ({records} stored) and one row per node {want:?}, got {nodes:?}"
        )
        .into());
    }
    Ok(())
}

/// The run completed with exactly one result for each of its `agents` agents.
fn completed_once_per_agent(record: &Value, agents: usize) -> Result<(), Failed> {
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
    if calls != agents || names.len() != agents {
        return Err(format!(
            "expected one result per agent ({agents}), got {calls} for {} agents: {record}",
            names.len()
        )
        .into());
    }
    Ok(())
}

/// How many lines the file has (0 when it does not exist yet).
fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Waits until `done` or the deadline; `false` on the deadline.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn schedule_fires_on_the_server_without_serve() -> Result<(), Failed> {
    let Some((addr, bin)) = server("temporal::schedule_fires_on_the_server_without_serve")? else {
        return Ok(());
    };
    let key = enterprise_key()?;
    let dir = tempfile::tempdir()?;
    let q = queue("sched");
    // A name of its own, so that a server used before holds no schedule of that id.
    let name = format!("tick{}", q.rsplit('-').next().unwrap_or("0"));
    std::fs::write(
        dir.path().join("tick.yaml"),
        format!(
            "name: {name}\ninput: {{}}\nagents:\n  capabilities: [tick]\noutput: $result\nschedule: {{interval: 2s, maxRuns: 2}}\n"
        ),
    )?;
    // The command agent appends a line per call: only a run on a worker writes it.
    std::fs::write(
        dir.path().join("agents.yaml"),
        "agents:\n  - name: ticker\n    capabilities: [tick]\n    mode: oneshot\n    command: \"date +%s.%N >> fired.log; echo ok\"\n",
    )?;
    let fired = dir.path().join("fired.log");
    let _worker = worker(&bin, dir.path(), &key, &addr, &q)?;
    let started = Instant::now();
    let serve_out = dir.path().join("serve.out");
    let mut serve = Worker(
        licensed(&bin, dir.path(), &key)
            .args([
                "serve",
                "tick.yaml",
                "--temporal",
                &addr,
                "--task-queue",
                &q,
            ])
            .stdout(std::fs::File::create(&serve_out)?)
            .stderr(std::fs::File::create(dir.path().join("serve.err"))?)
            .spawn()?,
    );
    // The first run ends on a worker and `serve` reports it.
    let reported = wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(&serve_out).is_ok_and(|t| {
            t.lines()
                .any(|l| l.contains(&format!(" {name} completed ")))
        })
    });
    let first = started.elapsed();
    let out = std::fs::read_to_string(&serve_out).unwrap_or_default();
    let err = std::fs::read_to_string(dir.path().join("serve.err")).unwrap_or_default();
    if !reported || lines_in(&fired) == 0 {
        return Err(format!(
            "no run reported within 60 s ({} agent call(s)):\nstdout:\n{out}\nstderr:\n{err}",
            lines_in(&fired)
        )
        .into());
    }
    if !err.contains(&format!("schedule prism-{name} created")) {
        return Err(format!("serve did not say it created the schedule:\n{err}").into());
    }
    if !out.contains(&format!(" {name} started workflow=prism-{name}-")) {
        return Err(format!("no `started` line:\n{out}").into());
    }
    eprintln!(
        "note: the first scheduled run was reported {} ms after serve started",
        first.as_millis()
    );
    // SIGKILL: the schedule is the server's, the second run comes all the same.
    serve.0.kill()?;
    serve.0.wait()?;
    if !wait_until(Duration::from_secs(30), || lines_in(&fired) >= 2) {
        return Err(format!(
            "the schedule stopped with serve: {} run(s)",
            lines_in(&fired)
        )
        .into());
    }
    // `maxRuns: 2`: no third; a second `serve` updates the schedule without starting over.
    let again = licensed(&bin, dir.path(), &key)
        .args([
            "serve",
            "tick.yaml",
            "--temporal",
            &addr,
            "--task-queue",
            &q,
            "--detach",
        ])
        .output()?;
    let again_err = String::from_utf8_lossy(&again.stderr);
    if !again.status.success() || !again_err.contains("updated to match the pattern (2 run(s)") {
        return Err(format!("serve again ({:?}):\n{again_err}", again.status).into());
    }
    std::thread::sleep(Duration::from_secs(4));
    if lines_in(&fired) != 2 {
        return Err(format!("maxRuns: 2, but {} runs", lines_in(&fired)).into());
    }
    // Its pattern no longer served on that task queue: `serve` deletes the schedule.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other)?;
    std::fs::write(
        other.join("tock.yaml"),
        format!(
            "name: tock{name}\ninput: {{}}\nagents:\n  min: 3\noutput: $result\nschedule: {{cron: \"0 0 1 1 *\"}}\n"
        ),
    )?;
    let pruned = licensed(&bin, dir.path(), &key)
        .args([
            "serve",
            "other",
            "--temporal",
            &addr,
            "--task-queue",
            &q,
            "--detach",
        ])
        .output()?;
    let pruned_err = String::from_utf8_lossy(&pruned.stderr);
    if !pruned.status.success() || !pruned_err.contains(&format!("schedule prism-{name} deleted")) {
        return Err(format!("serve other ({:?}):\n{pruned_err}", pruned.status).into());
    }
    Ok(())
}

/// Free ports on 127.0.0.1 (bound, then released).
fn free_ports(n: usize) -> Result<Vec<u16>, Failed> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()?)
}

/// A dev server of the test's own on a database file (as `.ci/temporal.sh` starts one).
struct OwnServer {
    child: Option<Child>,
    ports: Vec<u16>,
    db: PathBuf,
    log: PathBuf,
}

impl OwnServer {
    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.ports[0])
    }

    /// Starts it and waits until its default namespace answers.
    fn start(&mut self) -> Result<(), Failed> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new("temporal")
            .args(["server", "start-dev", "--ip", "127.0.0.1", "--headless"])
            .args(["--port", &self.ports[0].to_string()])
            .args(["--http-port", &self.ports[1].to_string()])
            .args(["--metrics-port", &self.ports[2].to_string()])
            .arg("--db-filename")
            .arg(&self.db)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let address = self.address();
        let ready = wait_until(Duration::from_secs(60), || {
            Command::new("temporal")
                .args(["operator", "namespace", "describe", "--address", &address])
                .args(["-n", "default"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if !ready {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            return Err(format!("the dev server at {address} did not start:\n{log}").into());
        }
        Ok(())
    }

    /// SIGKILL: no goodbye, whatever it had not written is lost.
    fn kill(&mut self) -> Result<(), Failed> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn server_restart_run_survives() -> Result<(), Failed> {
    let Some((_, bin)) = server("temporal::server_restart_run_survives")? else {
        return Ok(());
    };
    let on_path = Command::new("temporal")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !on_path {
        if std::env::var("PRISM_REQUIRE_TEMPORAL").as_deref() == Ok("1") {
            return Err("PRISM_REQUIRE_TEMPORAL=1 but the `temporal` CLI is not on PATH".into());
        }
        eprintln!(
            "note: temporal::server_restart_run_survives skipped: the `temporal` CLI is not on PATH"
        );
        return Ok(());
    }
    let key = enterprise_key()?;
    // Eight agents one after another, 700 ms each: the run lasts 6 to 8 s.
    let dir = vote_project(700, 8, true)?;
    let mut own = OwnServer {
        child: None,
        ports: free_ports(3)?,
        db: dir.path().join("temporal.db"),
        log: dir.path().join("server.log"),
    };
    own.start()?;
    let addr = own.address();
    let q = queue("restart");
    let mut w = worker(&bin, dir.path(), &key, &addr, &q)?;
    let run = licensed(&bin, dir.path(), &key)
        .args(remote_run(&addr, &q, true))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(3000));
    own.kill()?;
    let killed_at = Instant::now();
    // Down long enough for the client's and the worker's own retries to give out.
    std::thread::sleep(Duration::from_secs(5));
    own.start()?;
    let restarted = killed_at.elapsed();
    let out = run.wait_with_output()?;
    let recovered = killed_at.elapsed();
    let record = output_json(&out, "the run")?;
    let asked_again = String::from_utf8_lossy(&out.stderr).contains("lost the Temporal server");
    eprintln!(
        "note: server down {} ms; the run finished {} ms after the kill (client {})",
        restarted.as_millis(),
        recovered.as_millis(),
        if asked_again {
            "lost the server and asked again"
        } else {
            "rode it out on its connection's own retries"
        }
    );
    completed_once_per_agent(&record, 8)?;
    if let Ok(Some(status)) = w.0.try_wait() {
        return Err(format!("the worker did not ride out the restart: {status}").into());
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
