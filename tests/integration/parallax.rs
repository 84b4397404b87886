//! Parallax agents written with the official TypeScript SDK (`@parallaxai/sdk-typescript`,
//! installed in `tests/parallax-sdk/` with `npm ci`) answer `prism run`: one served at its own
//! address (`grpc:` in the agents file), one registered with Prism's registry and one
//! connected through its gateway (`--registry`). A vote over the three gives the expected
//! result and record; agents killed mid-run are recorded and the run finishes; the example
//! under `examples/parallax/` runs against its SDK agent.
//!
//! Without the SDK installed (or without `node`) each test is skipped with a note;
//! `PRISM_REQUIRE_PARALLAX_SDK=1` (set by `.ci/run`, which installs it) makes that a failure.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use serde_json::{Value as Json, json};

use crate::support::{prism, repo};

/// The SDK trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "parallax::sdk_agents_served_registered_and_gated_vote",
            sdk_agents_vote,
        ),
        Trial::test(
            "parallax::sdk_agents_killed_mid_run_are_recorded_and_the_run_finishes",
            killed_agents_are_recorded,
        ),
        Trial::test(
            "parallax::the_example_runs_against_its_sdk_agent",
            the_example_runs,
        ),
    ]
}

/// `tests/parallax-sdk/` when the SDK is installed there and `node` runs; `None` (after a
/// note) when not, unless `PRISM_REQUIRE_PARALLAX_SDK=1`.
fn sdk(test: &str) -> Result<Option<PathBuf>, Failed> {
    let dir = repo().join("tests").join("parallax-sdk");
    let installed = dir
        .join("node_modules/@parallaxai/sdk-typescript/package.json")
        .is_file();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed && node {
        return Ok(Some(dir));
    }
    let why = if node {
        "the Parallax SDK is not installed (npm ci --prefix tests/parallax-sdk)"
    } else {
        "node is not installed"
    };
    if std::env::var("PRISM_REQUIRE_PARALLAX_SDK").as_deref() == Ok("1") {
        return Err(format!("PRISM_REQUIRE_PARALLAX_SDK=1 but {why}").into());
    }
    eprintln!("note: {test} skipped: {why}");
    Ok(None)
}

/// A process whose output lines a test waits for; killed when dropped.
struct Proc {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command, watch_stderr: bool) -> Result<Proc, Failed> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let (tx, lines) = mpsc::channel();
        let watched: Option<Box<dyn Read + Send>> = if watch_stderr {
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>)
        } else {
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>)
        };
        if let Some(out) = watched {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Proc {
            name: name.to_string(),
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// An SDK agent: `node agent.js ARGS` in `sdk`.
    fn agent(sdk: &Path, name: &str, args: &[&str]) -> Result<Proc, Failed> {
        let mut cmd = Command::new("node");
        cmd.arg("agent.js").args(args).current_dir(sdk);
        Proc::spawn(name, cmd, false)
    }

    /// Waits for an output line containing `text`; returns it.
    fn wait_for(&mut self, text: &str, limit: Duration) -> Result<String, Failed> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "{} did not print `{text}` within {limit:?}; it printed:\n{}",
                        self.name,
                        self.seen.join("\n")
                    )
                    .into());
                }
            }
        }
    }

    /// Kills the process (SIGKILL) and reaps it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> Result<u16, Failed> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// `prism run ARGS` in `dir`, its stderr watched (the registry's address is printed there).
fn start_prism(dir: &Path, args: &[&str]) -> Result<Proc, Failed> {
    let mut cmd = Command::new(prism());
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("PRISM_LICENSE_KEY");
    Proc::spawn("prism", cmd, true)
}

/// The address in the line `registry: serving … on ADDR`.
fn registry_address(p: &mut Proc) -> Result<String, Failed> {
    let line = p.wait_for("registry: serving", Duration::from_secs(30))?;
    Ok(line
        .rsplit(' ')
        .next()
        .ok_or("no address in the registry line")?
        .to_string())
}

/// Waits for `prism` to exit; its status, stdout and the rest of its stderr.
fn finish(mut p: Proc, limit: Duration) -> Result<(i32, String, String), Failed> {
    use wait_timeout::ChildExt;
    let mut out = String::new();
    if let Some(mut o) = p.child.stdout.take() {
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = o.read_to_string(&mut s);
            s
        });
        let status = p.child.wait_timeout(limit)?;
        let Some(status) = status else {
            return Err(format!("prism did not finish within {limit:?}").into());
        };
        out = reader.join().unwrap_or_default();
        let mut err = p.seen.join("\n");
        while let Ok(line) = p.lines.recv_timeout(Duration::from_millis(200)) {
            err.push('\n');
            err.push_str(&line);
        }
        return Ok((status.code().unwrap_or(-1), out, err));
    }
    Err(format!("prism has no stdout: {out}").into())
}

const VOTE: &str = "name: sdk-vote\ninput:\n  text: string\nagents:\n  capabilities: [sentiment]\n  min: 3\n  retries: 0\n  taskTimeout: 30000\n  healthy: true\naggregation:\n  strategy: voting\noutput:\n  label: $vote.winner\n  voters: $totalCount\n  missing: $vote.missing\n";

/// Starts the served agent, writes the agents file and pattern, and starts `prism run
/// --registry` and the agents that join through it.
struct Scene {
    _dir: tempfile::TempDir,
    served: Proc,
    registered: Proc,
    gated: Proc,
    prism: Proc,
}

fn scene(sdk: &Path, delays: [&str; 3]) -> Result<Scene, Failed> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?.to_string();
    let mut served = Proc::agent(
        sdk,
        "served",
        &[
            "serve",
            "--name",
            "served",
            "--port",
            &port,
            "--confidence",
            "0.9",
            "--delay",
            delays[0],
        ],
    )?;
    served.wait_for("listening on port", Duration::from_secs(30))?;
    // No capabilities listed: Prism asks the agent (GetCapabilities).
    std::fs::write(
        dir.path().join("agents.yaml"),
        format!("agents:\n  - name: served\n    grpc: 127.0.0.1:{port}\n"),
    )?;
    std::fs::write(dir.path().join("vote.yaml"), VOTE)?;
    let mut prism = start_prism(
        dir.path(),
        &[
            "run",
            "vote.yaml",
            "--agents",
            "agents.yaml",
            "--registry",
            "127.0.0.1:0",
            "--registry-wait",
            "60",
            "--json",
            "--input",
            "{\"text\":\"a great day\"}",
        ],
    )?;
    let address = registry_address(&mut prism)?;
    let mut registered = Proc::agent(
        sdk,
        "registered",
        &[
            "register",
            "--name",
            "registered",
            "--registry",
            &address,
            "--confidence",
            "0.8",
            "--delay",
            delays[1],
        ],
    )?;
    registered.wait_for("ready register", Duration::from_secs(30))?;
    let mut gated = Proc::agent(
        sdk,
        "gated",
        &[
            "gateway",
            "--name",
            "gated",
            "--gateway",
            &address,
            "--answer",
            "negative",
            "--confidence",
            "0.7",
            "--delay",
            delays[2],
        ],
    )?;
    gated.wait_for("ready gateway", Duration::from_secs(30))?;
    Ok(Scene {
        _dir: dir,
        served,
        registered,
        gated,
        prism,
    })
}

fn record(stdout: &str, stderr: &str) -> Result<Json, Failed> {
    serde_json::from_str(stdout).map_err(|e| {
        format!("the record is not JSON ({e}):\n{stdout}\n--- stderr\n{stderr}").into()
    })
}

/// `(agentName, result, confidence, reasoning, status)` of each agent result.
fn answers(record: &Json) -> Vec<(String, Json, f64, Json, String)> {
    record["agentResults"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["agentName"].as_str().unwrap_or_default().to_string(),
                        r["result"].clone(),
                        r["confidence"].as_f64().unwrap_or(-1.0),
                        r["reasoning"].clone(),
                        r["status"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn sdk_agents_vote() -> Result<(), Failed> {
    let Some(sdk) = sdk("parallax::sdk_agents_served_registered_and_gated_vote")? else {
        return Ok(());
    };
    let s = scene(&sdk, ["0", "0", "0"])?;
    let (code, stdout, stderr) = finish(s.prism, Duration::from_secs(90))?;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("registry: 2 agent(s) joined: registered, gated"),
        "{stderr}"
    );
    let r = record(&stdout, &stderr)?;
    assert_eq!(r["status"], "completed", "{stderr}");
    assert_eq!(
        r["result"]["value"],
        json!({"label": "positive", "voters": 3, "missing": 0})
    );
    let confidence = r["result"]["confidence"].as_f64().unwrap_or(-1.0);
    assert!(
        (confidence - 2.0 / 3.0 * 0.85).abs() < 1e-9,
        "agreement 2/3 × mean 0.85 of the winners: {confidence}"
    );
    assert_eq!(
        answers(&r),
        vec![
            (
                "served".into(),
                json!("positive"),
                0.9,
                json!("served read \"a great day\""),
                "ok".into()
            ),
            (
                "registered".into(),
                json!("positive"),
                0.8,
                json!("registered read \"a great day\""),
                "ok".into()
            ),
            (
                "gated".into(),
                json!("negative"),
                0.7,
                json!("gated read \"a great day\""),
                "ok".into()
            ),
        ]
    );
    for (i, via) in ["serve", "register", "gateway"].iter().enumerate() {
        assert_eq!(r["agentResults"][i]["metadata"], json!({"via": via}));
        assert_eq!(r["agentResults"][i]["capabilities"], json!(["sentiment"]));
    }
    assert_eq!(r["failedAgents"], json!([]));
    assert_eq!(
        r["warnings"],
        json!([]),
        "every agent passed its health check"
    );
    drop((s.served, s.registered, s.gated));
    Ok(())
}

fn killed_agents_are_recorded() -> Result<(), Failed> {
    let Some(sdk) = sdk("parallax::sdk_agents_killed_mid_run_are_recorded_and_the_run_finishes")?
    else {
        return Ok(());
    };
    // The served and the gateway agent take a minute per task; each is killed once its task
    // has arrived, the registered one answers.
    let mut s = scene(&sdk, ["60000", "0", "60000"])?;
    let started = Instant::now();
    s.served.wait_for("task ", Duration::from_secs(60))?;
    s.gated.wait_for("task ", Duration::from_secs(60))?;
    s.served.kill();
    s.gated.kill();
    let (code, stdout, stderr) = finish(s.prism, Duration::from_secs(90))?;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "the run ends when the agents die, not after taskTimeout (30 s): {elapsed:?}"
    );
    assert_eq!(code, 0, "{stderr}");
    let r = record(&stdout, &stderr)?;
    assert_eq!(r["status"], "completed", "{stderr}");
    assert_eq!(
        r["result"]["value"],
        json!({"label": "positive", "voters": 1, "missing": 2})
    );
    let got = answers(&r);
    assert_eq!(
        got.iter()
            .map(|a| (a.0.as_str(), a.4.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("served", "failed"),
            ("registered", "ok"),
            ("gated", "failed")
        ],
        "{r:#}"
    );
    let error = |i: usize| {
        r["agentResults"][i]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        error(0).starts_with("transport error: ") && error(0).contains("127.0.0.1:"),
        "{}",
        error(0)
    );
    assert!(
        error(2).starts_with("transport error: the gateway stream of gated closed: "),
        "{}",
        error(2)
    );
    assert_eq!(r["failedAgents"], json!(["served", "gated"]));
    drop(s.registered);
    Ok(())
}

fn the_example_runs() -> Result<(), Failed> {
    let Some(sdk) = sdk("parallax::the_example_runs_against_its_sdk_agent")? else {
        return Ok(());
    };
    let mut prism = start_prism(
        &repo(),
        &[
            "run",
            "examples/parallax/sentiment.yaml",
            "--registry",
            "127.0.0.1:0",
            "--registry-wait",
            "60",
            "--input",
            "{\"text\":\"what a great, good day\"}",
        ],
    )?;
    let address = registry_address(&mut prism)?;
    let mut cmd = Command::new("node");
    cmd.arg("examples/parallax/sentiment-agent.js")
        .current_dir(repo())
        .env("NODE_PATH", sdk.join("node_modules"))
        .env("PARALLAX_REGISTRY", &address);
    let mut agent = Proc::spawn("sentiment-agent.js", cmd, false)?;
    agent.wait_for("serves ConfidenceAgent", Duration::from_secs(30))?;
    let (code, stdout, stderr) = finish(prism, Duration::from_secs(90))?;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\n  \"sentiment\": \"positive\",\n  \"why\": [\n    \"2 positive and 0 negative words\"\n  ]\n}\nconfidence: 0.900\n",
        "{stderr}"
    );
    Ok(())
}
