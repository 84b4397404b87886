//! `prism serve` as a real process: a pattern with `interval: 1s` fires, `maxRuns` ends it,
//! its state survives SIGTERM and a restart (with the `missed` policy applied), and without
//! a license it refuses to start. Licensed runs use the `enterprise-valid` test vector (test
//! builds of `prism` trust the test key, see cli/Cargo.toml).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use wait_timeout::ChildExt;

use crate::support::{data, prism};

/// The `prism serve` trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("serve::refuses_without_license", refuses_without_license),
        Trial::test("serve::fires_until_max_runs", fires_until_max_runs),
        Trial::test("serve::restart_continues_and_skips_missed", restart_skip),
        Trial::test("serve::restart_runs_every_missed_run", restart_all),
        Trial::test("serve::no_scheduled_pattern_is_an_error", nothing_to_serve),
        Trial::test(
            "serve::registry_agents_answer_scheduled_runs",
            registry_agents_answer,
        ),
    ]
}

/// Generous: the machine is shared; nothing here measures speed.
const DEADLINE: Duration = Duration::from_secs(90);

fn key(vector: &str) -> Result<String, Failed> {
    let text = std::fs::read_to_string(data().join("license/vectors.json"))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    json["vectors"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["name"] == vector))
        .and_then(|x| x["key"].as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("no vector {vector}").into())
}

/// A directory with an agents file and one scheduled pattern.
fn project(schedule: &str) -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::tempdir()?;
    let patterns = dir.path().join("patterns");
    std::fs::create_dir_all(&patterns)?;
    std::fs::write(
        patterns.join("agents.yaml"),
        "agents:\n  - name: echo\n    capabilities: [echo]\n    respond: {value: beat, confidence: 0.75}\n",
    )?;
    std::fs::write(
        patterns.join("heartbeat.yaml"),
        format!(
            "name: heartbeat\ninput:\n  who: {{type: string, default: world}}\nagents:\n  capabilities: [echo]\noutput: $result\nschedule: {schedule}\npersistence: true\n"
        ),
    )?;
    // A pattern without a schedule is ignored.
    std::fs::write(
        patterns.join("on-demand.yaml"),
        "name: on-demand\ninput: {}\nagents:\n  capabilities: [echo]\noutput: $result\n",
    )?;
    Ok(dir)
}

/// A running `prism serve`: stdout arrives line by line, stderr is collected.
struct Serve {
    child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

fn command(dir: &Path, key: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(prism());
    cmd.arg("serve")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("PRISM_LICENSE_FILE")
        .env_remove("PARALLAX_LICENSE_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match key {
        Some(k) => cmd.env("PRISM_LICENSE_KEY", k),
        None => cmd.env_remove("PRISM_LICENSE_KEY"),
    };
    cmd
}

impl Serve {
    fn start(dir: &Path) -> Result<Serve, Failed> {
        let store = format!("sqlite:{}", dir.join("prism.db").display());
        let key = key("enterprise-valid")?;
        let mut child = command(dir, Some(&key), &["--store", &store, "patterns"]).spawn()?;
        let (tx, lines) = channel();
        let out = child.stdout.take().ok_or("no stdout")?;
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().ok_or("no stderr")?;
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(Serve {
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        })
    }

    /// Waits for the next run line.
    fn next_line(&mut self) -> Result<String, Failed> {
        let line = self
            .lines
            .recv_timeout(DEADLINE)
            .map_err(|_| "no run line from prism serve in time")?;
        self.stdout.push(line.clone());
        Ok(line)
    }

    fn terminate(&self) -> Result<(), Failed> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id())?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        Ok(())
    }

    /// Waits for the process to exit: (exit code, every stdout line, stderr).
    fn finish(mut self) -> Result<(i32, Vec<String>, String), Failed> {
        let status = self.child.wait_timeout(DEADLINE)?;
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let started = Instant::now();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push(line);
            if started.elapsed() > DEADLINE {
                break;
            }
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        let code = status
            .and_then(|s| s.code())
            .ok_or_else(|| format!("prism serve did not exit in time\n{stderr}"))?;
        Ok((code, self.stdout, stderr))
    }
}

/// `key=value` from a run line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
}

fn run_numbers(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| field(l, "run").to_string()).collect()
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn refuses_without_license() -> Result<(), Failed> {
    let dir = project("{interval: 1s}")?;
    let out = command(dir.path(), None, &["patterns"]).output()?;
    let shown = format!(
        "exit: {}\nstdout: {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(crate::support::repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("serve__refuses_without_license", shown));
    assert!(!dir.path().join("prism.db").exists(), "nothing is done");
    Ok(())
}

fn fires_until_max_runs() -> Result<(), Failed> {
    let dir = project("{interval: 1s, maxRuns: 2}")?;
    let (code, lines, stderr) = Serve::start(dir.path())?.finish()?;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(run_numbers(&lines), ["1/2", "2/2"], "{lines:?}\n{stderr}");
    for line in &lines {
        assert!(
            line.contains(" heartbeat completed confidence=0.750 "),
            "{line}"
        );
    }
    assert!(
        stderr.contains("serve: heartbeat: every 1s, next run "),
        "{stderr}"
    );
    assert!(
        stderr.contains("serve: heartbeat: schedule ended after 2 run(s)"),
        "{stderr}"
    );
    assert!(!stderr.contains("on-demand"), "{stderr}");
    // Persistence: both records are in the store with their trigger.
    let store = prism_store::Store::open_url(Some(&format!(
        "sqlite:{}",
        dir.path().join("prism.db").display()
    )))?;
    for line in &lines {
        let record = store
            .get_record(field(line, "id"))?
            .ok_or("record not stored")?
            .record;
        assert_eq!(record["trigger"]["kind"], "schedule");
        assert_eq!(
            record["trigger"]["scheduledFor"],
            field(line, "scheduledFor")
        );
        assert_eq!(record["input"]["who"], "world");
        assert_eq!(record["status"], "completed");
    }
    Ok(())
}

/// Serves until the first run, stops it with SIGTERM, waits `down`, serves again to the end.
fn stop_and_restart(
    schedule: &str,
    down: Duration,
) -> Result<(Vec<String>, String, String, String), Failed> {
    let dir = project(schedule)?;
    let mut first = Serve::start(dir.path())?;
    let line = first.next_line()?;
    first.terminate()?;
    let (code, lines, stderr) = first.finish()?;
    assert_eq!(code, 0, "SIGTERM stops cleanly: {stderr}");
    assert!(
        stderr.contains("serve: stopped; schedule state saved"),
        "{stderr}"
    );
    assert_eq!(lines.first(), Some(&line));
    let n = lines.len();
    std::thread::sleep(down);
    let restarted = now();
    let (code, lines, stderr) = Serve::start(dir.path())?.finish()?;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("({n} run(s) so far)")),
        "the count continues: {stderr}"
    );
    Ok((lines, stderr, restarted, n.to_string()))
}

fn restart_skip() -> Result<(), Failed> {
    let (lines, stderr, restarted, before) =
        stop_and_restart("{interval: 1s, maxRuns: 4}", Duration::from_millis(3500))?;
    assert!(
        stderr.contains("run(s) missed while not served (missed: skip): running 0 now"),
        "{stderr}"
    );
    let first: u64 = before.parse()?;
    let expected: Vec<String> = (first + 1..=4).map(|i| format!("{i}/4")).collect();
    assert_eq!(run_numbers(&lines), expected, "{lines:?}");
    for line in &lines {
        assert!(
            field(line, "scheduledFor") > restarted.as_str(),
            "skipped runs are not run late: {line} (restarted {restarted})"
        );
    }
    Ok(())
}

fn restart_all() -> Result<(), Failed> {
    let (lines, stderr, restarted, before) = stop_and_restart(
        "{interval: 1s, maxRuns: 6, missed: all}",
        Duration::from_millis(3500),
    )?;
    let first: u64 = before.parse()?;
    let expected: Vec<String> = (first + 1..=6).map(|i| format!("{i}/6")).collect();
    assert_eq!(run_numbers(&lines), expected, "{lines:?}\n{stderr}");
    let missed_line = stderr
        .lines()
        .find(|l| l.contains("missed while not served (missed: all)"))
        .ok_or_else(|| format!("no missed line: {stderr}"))?;
    let running: usize = missed_line
        .rsplit("running ")
        .next()
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or("bad missed line")?;
    assert!(running >= 2, "{missed_line}");
    // The missed runs ran first, each with its own scheduledFor on the 1 s grid, and the
    // grid goes on after them.
    let times: Vec<chrono::DateTime<chrono::Utc>> = lines
        .iter()
        .map(|l| chrono::DateTime::parse_from_rfc3339(field(l, "scheduledFor")).map(|t| t.to_utc()))
        .collect::<Result<_, _>>()?;
    assert!(
        times
            .first()
            .is_some_and(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string() < restarted),
        "the first missed run is run late: {lines:?} (restarted {restarted})"
    );
    for pair in times[..=running.min(times.len() - 1)].windows(2) {
        assert_eq!(pair[1] - pair[0], chrono::Duration::seconds(1), "{lines:?}");
    }
    assert!(times.windows(2).all(|p| p[0] < p[1]), "{lines:?}");
    Ok(())
}

fn nothing_to_serve() -> Result<(), Failed> {
    let dir = project("{interval: 1s}")?;
    std::fs::remove_file(dir.path().join("patterns/heartbeat.yaml"))?;
    let key = key("enterprise-valid")?;
    let store = format!("sqlite:{}", dir.path().join("prism.db").display());
    let out = command(dir.path(), Some(&key), &["--store", &store, "patterns"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no pattern with a `schedule` under patterns\n"
    );
    Ok(())
}

/// `prism serve --registry ADDR`: an agent that connects through the gateway (a Rust client
/// here; the Parallax SDK's in `parallax.rs`) answers the scheduled runs of a pattern no agents
/// file serves.
fn registry_agents_answer() -> Result<(), Failed> {
    use prism_grpc::proto::gateway::agent_gateway_client::AgentGatewayClient;
    use prism_grpc::proto::gateway::agent_to_control_plane::Payload as Up;
    use prism_grpc::proto::gateway::control_plane_to_agent::Payload as Down;
    use prism_grpc::proto::gateway::{AgentHello, AgentToControlPlane, TaskResult};

    let dir = tempfile::tempdir()?;
    let patterns = dir.path().join("patterns");
    std::fs::create_dir_all(&patterns)?;
    std::fs::write(
        patterns.join("gated.yaml"),
        "name: gated\ninput: {}\nagents:\n  capabilities: [gated]\n  retries: 0\noutput: $result\nschedule: {interval: 3s, maxRuns: 1}\n",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let address = format!("127.0.0.1:{port}");
    let store = format!("sqlite:{}", dir.path().join("prism.db").display());
    let key = key("enterprise-valid")?;
    let mut cmd = command(
        dir.path(),
        Some(&key),
        &["--store", &store, "--registry", &address, "patterns"],
    );
    let child = cmd.spawn()?;
    let mut serve = Serve {
        child,
        lines: channel().1,
        stdout: Vec::new(),
        stderr: None,
    };
    if let Some(out) = serve.child.stdout.take() {
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        serve.lines = lines;
    }
    if let Some(mut err) = serve.child.stderr.take() {
        serve.stderr = Some(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let agent = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let channel = loop {
            let endpoint = tonic::transport::Channel::from_shared(format!("http://{address}"))
                .map_err(|e| e.to_string())?;
            match endpoint.connect().await {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(format!("prism serve's gateway does not answer: {e}")),
            }
        };
        let (up, rx) = tokio::sync::mpsc::channel(8);
        let hello = AgentToControlPlane {
            request_id: "hello".into(),
            payload: Some(Up::Hello(AgentHello {
                agent_id: "rust-agent".into(),
                agent_name: "rust-agent".into(),
                capabilities: vec!["gated".into()],
                metadata: Default::default(),
                // This agent sends no heartbeats: it promises one a minute.
                heartbeat_interval_ms: 60_000,
            })),
        };
        up.send(hello).await.map_err(|e| e.to_string())?;
        let mut down = AgentGatewayClient::new(channel)
            .connect(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(|e| e.to_string())?
            .into_inner();
        Ok(tokio::spawn(async move {
            while let Ok(Some(m)) = down.message().await {
                if let Some(Down::TaskRequest(t)) = m.payload {
                    let answer = AgentToControlPlane {
                        request_id: m.request_id,
                        payload: Some(Up::TaskResult(TaskResult {
                            task_id: t.task_id,
                            value_json: "\"via the gateway\"".into(),
                            confidence: 0.9,
                            reasoning: String::new(),
                            metadata: Default::default(),
                        })),
                    };
                    if up.send(answer).await.is_err() {
                        break;
                    }
                }
            }
        }))
    })?;
    let (code, lines, stderr) = serve.finish()?;
    agent.abort();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "registry: serving parallax.registry.Registry and parallax.gateway.AgentGateway on {address}"
        )),
        "{stderr}"
    );
    assert_eq!(lines.len(), 1, "{lines:?}\n{stderr}");
    assert!(
        lines[0].contains(" gated completed confidence=0.900 "),
        "{lines:?}\n{stderr}"
    );
    Ok(())
}
