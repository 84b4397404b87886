//! Persistence and versioning through the real `prism` binary (patterns.md §3): licensed
//! runs write execution records that outlive the process, retention prunes them, a run killed
//! with SIGKILL loses nothing that had completed, and publish / versions / rollback /
//! `run NAME@VERSION|RANGE` work against SQLite and a real PostgreSQL server.
//!
//! Licensed commands use the `enterprise-valid` key of `tests/data/license/vectors.json`: test
//! builds of `prism` trust its public test key (cli's dev-dependency on `prism-license` with
//! the `test-key` feature; release builds refuse that feature).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;
use wait_timeout::ChildExt;

use crate::support::{data, prism, repo};

/// The persistence and versioning trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "store::test_key_grants_enterprise",
            test_key_grants_enterprise,
        ),
        Trial::test(
            "store::commands_stop_without_a_license",
            commands_stop_without_a_license,
        ),
        Trial::test(
            "store::history_survives_a_restart",
            history_survives_a_restart,
        ),
        Trial::test("store::retention_prunes", retention_prunes),
        Trial::test(
            "store::concurrent_runs_share_one_file",
            concurrent_runs_share_one_file,
        ),
        Trial::test(
            "store::sigkill_loses_no_completed_record",
            sigkill_loses_no_completed_record,
        ),
        Trial::test(
            "store::publish_versions_rollback_run",
            publish_versions_rollback_run,
        ),
        Trial::test("store::keep_history_prunes", keep_history_prunes),
        Trial::test(
            "store::rollback_directive_runs_the_stored_version",
            rollback_directive_runs_the_stored_version,
        ),
        Trial::test("store::postgres_end_to_end", postgres_end_to_end),
        Trial::test(
            "store::nested_persistence_keeps_the_child_record",
            nested_persistence_keeps_the_child_record,
        ),
    ]
}

/// An isolated home for one test: its own data, config and home directories, so the default
/// store and license files are the test's own.
struct Sandbox {
    dir: tempfile::TempDir,
    key: Option<String>,
    store: Option<String>,
}

struct Out {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

impl Out {
    fn json(&self) -> Result<Value, Failed> {
        serde_json::from_str(&self.stdout).map_err(|e| {
            format!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
            .into()
        })
    }

    fn expect(self, code: i32, what: &str) -> Result<Out, Failed> {
        if self.code == Some(code) {
            Ok(self)
        } else {
            Err(format!(
                "{what}: exit {:?}, expected {code}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
            .into())
        }
    }
}

fn enterprise_key() -> Result<String, Failed> {
    let path = data().join("license/vectors.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let vectors: Value = serde_json::from_str(&text)?;
    vectors["vectors"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "enterprise-valid"))
        .and_then(|v| v["key"].as_str())
        .map(str::to_string)
        .ok_or_else(|| "no enterprise-valid vector".into())
}

impl Sandbox {
    fn licensed() -> Result<Sandbox, Failed> {
        Ok(Sandbox {
            dir: tempfile::tempdir()?,
            key: Some(enterprise_key()?),
            store: None,
        })
    }

    fn open_source() -> Result<Sandbox, Failed> {
        Ok(Sandbox {
            dir: tempfile::tempdir()?,
            key: None,
            store: None,
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The default store of this sandbox (`$XDG_DATA_HOME/prism/prism.db`).
    fn default_db(&self) -> PathBuf {
        self.path().join("data/prism/prism.db")
    }

    fn write(&self, name: &str, text: &str) -> Result<(), Failed> {
        std::fs::write(self.path().join(name), text)?;
        Ok(())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(prism());
        cmd.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("HOME", self.path().join("home"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("USER", "tester")
            .env_remove("PRISM_LICENSE_FILE")
            .env_remove("PARALLAX_LICENSE_KEY")
            .env_remove("PRISM_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match &self.key {
            Some(k) => cmd.env("PRISM_LICENSE_KEY", k),
            None => cmd.env_remove("PRISM_LICENSE_KEY"),
        };
        if let Some(s) = &self.store {
            cmd.env("PRISM_STORE", s);
        }
        cmd
    }

    fn spawn(&self, args: &[&str]) -> Result<Child, Failed> {
        Ok(self.command(args).spawn()?)
    }

    fn run(&self, args: &[&str]) -> Result<Out, Failed> {
        finish(self.spawn(args)?, Duration::from_secs(60))
    }
}

/// Waits for `child` (killing it after `limit`) and collects its output.
fn finish(mut child: Child, limit: Duration) -> Result<Out, Failed> {
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let code = match child.wait_timeout(limit)? {
        Some(status) => status.code(),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    Ok(Out {
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        code,
    })
}

/// A YAML pattern with two quick local agents and the given extra top-level keys.
fn quick_pattern(name: &str, extra: &str) -> String {
    format!(
        "name: {name}\nversion: 1.0.0\n{extra}\ninput:\n  topic: string\nsteps:\n  - id: ask\n    agents:\n      capabilities: [analysis]\n      min: 2\n    aggregation:\n      strategy: consensus\n      threshold: 0.5\noutput:\n  answer: $ask.result\n"
    )
}

const QUICK_AGENTS: &str = "agents:\n  - name: a\n    capabilities: [analysis]\n    respond: {value: yes, confidence: 0.9}\n  - name: b\n    capabilities: [analysis]\n    respond: {value: yes, confidence: 0.7}\n";

const SLOW_AGENTS: &str = "agents:\n  - name: slow-a\n    capabilities: [analysis]\n    latencyMs: 120000\n    respond: {value: late, confidence: 0.9}\n  - name: slow-b\n    capabilities: [analysis]\n    latencyMs: 120000\n    respond: {value: late, confidence: 0.9}\n";

fn snapshot(name: &str, text: &str) {
    // Run ids (UUIDv7), times, durations, hashes and temporary paths change every run.
    let mut text = text.to_string();
    for (pattern, with) in [
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[ID]",
        ),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"\b\d+(\.\d+)? (ms|s)\b", "[DURATION]"),
        (r"sha256:[0-9a-f]+", "sha256:[HASH]"),
        (r"sqlite:[^\s;]+", "sqlite:[DB]"),
    ] {
        if let Ok(re) = regex::Regex::new(pattern) {
            text = re.replace_all(&text, with).into_owned();
        }
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("store__{name}"), text));
}

fn test_key_grants_enterprise() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    let out = sb
        .run(&["license", "status"])?
        .expect(0, "license status")?;
    if !out.stdout.contains("Edition:   Enterprise") {
        return Err(format!(
            "the test build does not trust the test key:\n{}",
            out.stdout
        )
        .into());
    }
    Ok(())
}

fn commands_stop_without_a_license() -> Result<(), Failed> {
    let sb = Sandbox::open_source()?;
    sb.write("p.yaml", &quick_pattern("p", "versioning: true"))?;
    let mut shown = String::new();
    for args in [
        &["history"][..],
        &["history", "show", "0190"],
        &["publish", "p.yaml"],
        &["versions", "p"],
        &["rollback", "p", "1.0.0"],
        &["run", "p@1.0.0"],
    ] {
        let out = sb.run(args)?.expect(2, &args.join(" "))?;
        if !out.stdout.is_empty() {
            return Err(format!("{args:?} printed {}", out.stdout).into());
        }
        shown.push_str(&format!("$ prism {}\n{}\n", args.join(" "), out.stderr));
    }
    snapshot("commands_stop_without_a_license", &shown);
    // Stopped before doing anything: no store was created.
    if sb.path().join("data").exists() {
        return Err("a gated command created the store".into());
    }
    Ok(())
}

/// Runs the persisted pattern `p.yaml` once and returns its record.
fn run_persisted(sb: &Sandbox, file: &str) -> Result<Value, Failed> {
    sb.run(&["run", file, "--input", r#"{"topic": "t"}"#, "--json"])?
        .expect(0, "persisted run")?
        .json()
}

fn history_json(sb: &Sandbox, args: &[&str]) -> Result<Vec<Value>, Failed> {
    let mut all = vec!["history", "--json"];
    all.extend_from_slice(args);
    let v = sb.run(&all)?.expect(0, "history --json")?.json()?;
    v.as_array()
        .cloned()
        .ok_or_else(|| "history --json is not a list".into())
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

/// A pattern included by another keeps its `persistence`: its record is written to its store
/// under the including run's execution id, and the including pattern (which carries no
/// directive) writes none.
fn nested_persistence_keeps_the_child_record() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    sb.write("agents.yaml", QUICK_AGENTS)?;
    sb.write("child.yaml", &quick_pattern("child", "persistence: true"))?;
    sb.write(
        "parent.yaml",
        "name: parent\nversion: 1.0.0\ninput:\n  topic: string\nsteps:\n  - id: c\n    pattern: ./child.yaml\noutput:\n  answer: $c.result\n",
    )?;
    let parent = run_persisted(&sb, "parent.yaml")?;
    let id = parent["id"].as_str().ok_or("the record has no id")?;
    let rows = history_json(&sb, &["child"])?;
    if ids(&rows) != [id.to_string()] {
        return Err(format!(
            "child records {:?}, expected the parent's id {id}",
            ids(&rows)
        )
        .into());
    }
    let stored = sb
        .run(&["history", "show", id, "--json"])?
        .expect(0, "history show")?
        .json()?;
    if stored["pattern"]["name"] != "child" || stored["result"]["value"]["answer"] != "yes" {
        return Err(format!("the stored record is not the child's run: {stored}").into());
    }
    if !history_json(&sb, &["parent"])?.is_empty() {
        return Err("the parent, which has no persistence, was persisted".into());
    }
    Ok(())
}

fn history_survives_a_restart() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    sb.write("agents.yaml", QUICK_AGENTS)?;
    sb.write("review.yaml", &quick_pattern("review", "persistence: true"))?;
    sb.write("other.yaml", &quick_pattern("other", "persistence: true"))?;
    let first = run_persisted(&sb, "review.yaml")?;
    let second = run_persisted(&sb, "review.yaml")?;
    run_persisted(&sb, "other.yaml")?;
    if !sb.default_db().is_file() {
        return Err(format!("no store at {}", sb.default_db().display()).into());
    }

    // Each `prism` below is a new process reading what earlier ones committed.
    let rows = history_json(&sb, &["review"])?;
    let want = vec![
        second["id"].as_str().unwrap_or("?").to_string(),
        first["id"].as_str().unwrap_or("?").to_string(),
    ];
    if ids(&rows) != want {
        return Err(format!("history review: {:?}, want {want:?}", ids(&rows)).into());
    }
    if rows[0]["status"] != "completed" || rows[0]["confidence"].as_f64().is_none() {
        return Err(format!("summary: {}", rows[0]).into());
    }
    if history_json(&sb, &[])?.len() != 3 || history_json(&sb, &["--limit", "1"])?.len() != 1 {
        return Err("history without a pattern / with --limit".into());
    }

    let id = want[0].as_str();
    let shown = sb
        .run(&["history", "show", id, "--json"])?
        .expect(0, "history show --json")?
        .json()?;
    if shown != second {
        return Err(format!("stored record differs:\n{shown}\nprinted:\n{second}").into());
    }
    // A unique prefix is enough.
    let prefix = &id[..id.len() - 4];
    sb.run(&["history", "show", prefix])?
        .expect(0, "history show PREFIX")?;

    let table = sb.run(&["history", "review"])?.expect(0, "history")?;
    let show = sb
        .run(&["history", "show", id])?
        .expect(0, "history show")?;
    snapshot(
        "history_table_and_show",
        &format!(
            "$ prism history review\n{}\n$ prism history show ID\n{}",
            table.stdout, show.stdout
        ),
    );
    let missing = sb
        .run(&["history", "show", "nope"])?
        .expect(1, "unknown id")?;
    if !missing.stderr.contains("no run `nope`") {
        return Err(missing.stderr.into());
    }
    // A human run says where its record went.
    let human = sb
        .run(&["run", "review.yaml", "--input", r#"{"topic": "t"}"#])?
        .expect(0, "human run")?;
    if !human.stderr.contains("saved run ") {
        return Err(human.stderr.into());
    }
    Ok(())
}

fn retention_prunes() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    sb.write("agents.yaml", QUICK_AGENTS)?;
    sb.write(
        "keep2.yaml",
        &quick_pattern("keep2", "persistence:\n  retention: 2"),
    )?;
    sb.write(
        "aged.yaml",
        &quick_pattern("aged", "persistence:\n  retention: {maxAge: 1s}"),
    )?;
    let mut all = Vec::new();
    for _ in 0..4 {
        all.push(run_persisted(&sb, "keep2.yaml")?["id"].clone());
    }
    let kept = history_json(&sb, &["keep2"])?;
    let newest: Vec<String> = all
        .iter()
        .rev()
        .take(2)
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if ids(&kept) != newest {
        return Err(format!("kept {:?}, want the newest two {newest:?}", ids(&kept)).into());
    }
    run_persisted(&sb, "aged.yaml")?;
    std::thread::sleep(Duration::from_millis(1500));
    let last = run_persisted(&sb, "aged.yaml")?;
    let aged = history_json(&sb, &["aged"])?;
    if ids(&aged) != [last["id"].as_str().unwrap_or("?")] {
        return Err(format!("maxAge 1s kept {:?}", ids(&aged)).into());
    }
    Ok(())
}

fn concurrent_runs_share_one_file() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    sb.write("agents.yaml", QUICK_AGENTS)?;
    sb.write("many.yaml", &quick_pattern("many", "persistence: true"))?;
    // Six processes write to the same SQLite file at once (WAL + busy timeout).
    let children = (0..6)
        .map(|_| sb.spawn(&["run", "many.yaml", "--input", r#"{"topic": "t"}"#, "--json"]))
        .collect::<Result<Vec<_>, _>>()?;
    let mut written = Vec::new();
    for child in children {
        let rec = finish(child, Duration::from_secs(60))?
            .expect(0, "concurrent run")?
            .json()?;
        written.push(rec["id"].as_str().unwrap_or("?").to_string());
    }
    let mut stored = ids(&history_json(&sb, &["many"])?);
    stored.sort();
    written.sort();
    if stored != written {
        return Err(format!("stored {stored:?}, written {written:?}").into());
    }
    Ok(())
}

fn sigkill_loses_no_completed_record() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    sb.write("agents.yaml", QUICK_AGENTS)?;
    sb.write("slow-agents.yaml", SLOW_AGENTS)?;
    sb.write("job.yaml", &quick_pattern("job", "persistence: true"))?;
    let mut done = Vec::new();
    for _ in 0..3 {
        done.push(run_persisted(&sb, "job.yaml")?);
    }
    let slow = sb.spawn(&[
        "run",
        "job.yaml",
        "--agents",
        "slow-agents.yaml",
        "--input",
        r#"{"topic": "t"}"#,
    ])?;
    // Let it start, compile and dispatch to its agents, then kill it without warning.
    std::thread::sleep(Duration::from_millis(1500));
    let mut slow = slow;
    if slow.try_wait()?.is_some() {
        return Err("the slow run ended before it was killed".into());
    }
    slow.kill()?; // SIGKILL on Unix
    let status = slow.wait()?;
    if status.code().is_some() {
        return Err(format!("not killed by a signal: {status:?}").into());
    }

    let rows = history_json(&sb, &["job"])?;
    let mut want: Vec<String> = done
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    want.reverse();
    if ids(&rows) != want {
        return Err(format!("after SIGKILL: {:?}, want {want:?}", ids(&rows)).into());
    }
    for (row, full) in rows.iter().zip(done.iter().rev()) {
        let id = row["id"].as_str().unwrap_or_default();
        let stored = sb
            .run(&["history", "show", id, "--json"])?
            .expect(0, "show")?
            .json()?;
        if &stored != full {
            return Err(format!("record {id} changed after the kill").into());
        }
    }
    // The file is a sound database, and the next run writes to it.
    let conn = rusqlite::Connection::open(sb.default_db())?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(format!("integrity_check: {check}").into());
    }
    drop(conn);
    run_persisted(&sb, "job.yaml")?;
    if history_json(&sb, &["job"])?.len() != 4 {
        return Err("a run after the kill was not recorded".into());
    }
    Ok(())
}

/// An annotated `.prism` pattern whose result names its version.
fn versioned(name: &str, version: &str, answer: &str, extra: &str) -> String {
    format!(
        "/**\n * @name {name}\n * @version {version}\n{extra} */\nlet answer = \"{answer}\"\nanswer ~> 0.9\n"
    )
}

/// Runs `target` (a file or `NAME@SPEC`) and returns (result value, pattern version, stderr).
fn run_result(sb: &Sandbox, target: &str) -> Result<(String, String, String), Failed> {
    let out = sb.run(&["run", target, "--json"])?.expect(0, target)?;
    let rec = out.json()?;
    Ok((
        rec["result"]["value"].as_str().unwrap_or("?").to_string(),
        rec["pattern"]["version"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        out.stderr,
    ))
}

fn publish_versions_rollback_run() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    let mut shown = String::new();
    let mut step = |args: &[&str], code: i32| -> Result<Out, Failed> {
        let out = sb.run(args)?.expect(code, &args.join(" "))?;
        shown.push_str(&format!(
            "$ prism {}\n{}{}\n",
            args.join(" "),
            out.stdout,
            out.stderr
        ));
        Ok(out)
    };
    sb.write("answer.prism", &versioned("answer", "1.0.0", "one", ""))?;
    step(&["publish", "answer.prism"], 0)?;
    step(&["publish", "answer.prism"], 0)?;
    sb.write("answer.prism", &versioned("answer", "1.0.0", "changed", ""))?;
    let conflict = step(&["publish", "answer.prism"], 2)?;
    if !conflict.stderr.contains("bump the version") {
        return Err(conflict.stderr.into());
    }
    sb.write("answer.prism", &versioned("answer", "1.1.0", "one-one", ""))?;
    step(&["publish", "answer.prism", "--author", "alice"], 0)?;
    sb.write("answer.prism", &versioned("answer", "2.0.0", "two", ""))?;
    step(&["publish", "answer.prism"], 0)?;
    step(&["versions", "answer"], 0)?;
    step(&["rollback", "answer", "1.0.0"], 0)?;
    step(&["versions", "answer"], 0)?;
    step(&["rollback", "answer", "9.9.9"], 1)?;
    step(&["run", "answer@3"], 2)?;
    step(&["run", "answer@not a range"], 2)?;
    snapshot("publish_versions_rollback", &shown);

    let versions = sb
        .run(&["versions", "answer", "--json"])?
        .expect(0, "versions --json")?
        .json()?;
    let listed: Vec<(&str, bool, &str)> = versions
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    (
                        v["version"].as_str().unwrap_or("?"),
                        v["active"].as_bool().unwrap_or(false),
                        v["author"].as_str().unwrap_or("?"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let want = [
        ("2.0.0", false, "tester"),
        ("1.1.0", false, "alice"),
        ("1.0.0", true, "tester"),
    ];
    if listed != want {
        return Err(format!("versions: {listed:?}").into());
    }

    for (target, value, version) in [
        ("answer", "one", "1.0.0"), // the active version, after the rollback
        ("answer@1.1.0", "one-one", "1.1.0"),
        ("answer@^1", "one-one", "1.1.0"),
        ("answer@>=2", "two", "2.0.0"),
        ("answer@*", "two", "2.0.0"),
        ("answer@~1.0", "one", "1.0.0"),
    ] {
        let (got, got_version, stderr) = run_result(&sb, target)?;
        if (got.as_str(), got_version.as_str()) != (value, version) {
            return Err(format!(
                "run {target}: {got} {got_version}, want {value} {version}\n{stderr}"
            )
            .into());
        }
    }
    // The working copy (2.0.0, "two") is not what `answer@1.1.0` ran: the stored source was.
    let (here, _, _) = run_result(&sb, "answer.prism")?;
    if here != "two" {
        return Err(format!("the file itself ran {here}").into());
    }
    Ok(())
}

fn keep_history_prunes() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    for (i, v) in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"].iter().enumerate() {
        sb.write(
            "kept.prism",
            &versioned(
                "kept",
                v,
                &format!("v{i}"),
                " * @versioning {\"keepHistory\": 2}\n",
            ),
        )?;
        let out = sb.run(&["publish", "kept.prism"])?.expect(0, "publish")?;
        if i >= 2 && !out.stdout.contains("removed ") {
            return Err(format!("publish {v} pruned nothing:\n{}", out.stdout).into());
        }
    }
    let versions = sb
        .run(&["versions", "kept", "--json"])?
        .expect(0, "versions")?
        .json()?;
    let listed: Vec<&str> = versions
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["version"].as_str()).collect())
        .unwrap_or_default();
    if listed != ["2.0.0", "1.2.0"] {
        return Err(format!("keepHistory 2 kept {listed:?}").into());
    }
    Ok(())
}

fn rollback_directive_runs_the_stored_version() -> Result<(), Failed> {
    let sb = Sandbox::licensed()?;
    sb.write("pinned.prism", &versioned("pinned", "1.0.0", "stable", ""))?;
    sb.run(&["publish", "pinned.prism"])?
        .expect(0, "publish 1.0.0")?;
    sb.write(
        "pinned.prism",
        &versioned(
            "pinned",
            "1.1.0",
            "broken",
            " * @versioning {\"rollback\": \"1.0.0\"}\n",
        ),
    )?;
    let (value, version, stderr) = run_result(&sb, "pinned.prism")?;
    if (value.as_str(), version.as_str()) != ("stable", "1.0.0") {
        return Err(format!("ran {value} {version}\n{stderr}").into());
    }
    if !stderr.contains("warning: `versioning.rollback: 1.0.0`") {
        return Err(format!("no rollback warning:\n{stderr}").into());
    }
    // Rolled back to a version that was never published: an error, not the file.
    sb.write(
        "pinned.prism",
        &versioned(
            "pinned",
            "1.1.0",
            "broken",
            " * @versioning {\"rollback\": \"0.9.0\"}\n",
        ),
    )?;
    let out = sb
        .run(&["run", "pinned.prism"])?
        .expect(2, "missing rollback")?;
    if out.stdout.contains("broken") {
        return Err("ran the file instead of failing".into());
    }
    Ok(())
}

/// A fresh database on the test server, dropped afterwards.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn pg_database(test: &str) -> Result<Option<PgDatabase>, Failed> {
    let admin = match std::env::var("PRISM_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var("PRISM_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            return Err("PRISM_REQUIRE_POSTGRES=1 but PRISM_TEST_POSTGRES_URL is not set".into());
        }
        _ => {
            eprintln!("note: {test} skipped: PRISM_TEST_POSTGRES_URL is not set");
            return Ok(None);
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("prism_cli_{}_{nanos}", std::process::id());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    client.batch_execute(&format!("CREATE DATABASE {name}"))?;
    let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let cut = base
        .rfind('/')
        .filter(|i| *i > base.find("://").map_or(0, |j| j + 2));
    let base = cut.map_or(base, |i| &base[..i]);
    let url = if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    };
    Ok(Some(PgDatabase { admin, name, url }))
}

fn postgres_end_to_end() -> Result<(), Failed> {
    let Some(db) = pg_database("postgres_end_to_end")? else {
        return Ok(());
    };
    let mut sb = Sandbox::licensed()?;
    sb.write("agents.yaml", QUICK_AGENTS)?;
    sb.write(
        "pg.yaml",
        &quick_pattern(
            "pg",
            &format!("persistence:\n  store: \"{}\"\n  retention: 3", db.url),
        ),
    )?;
    let mut runs = Vec::new();
    for _ in 0..4 {
        runs.push(run_persisted(&sb, "pg.yaml")?);
    }
    // Nothing went to the default SQLite file.
    if sb.default_db().exists() {
        return Err("a postgres-persisted run wrote the default SQLite store".into());
    }
    let rows = history_json(&sb, &["pg", "--store", &db.url])?;
    let want: Vec<String> = runs
        .iter()
        .rev()
        .take(3)
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    if ids(&rows) != want {
        return Err(format!("postgres history {:?}, want {want:?}", ids(&rows)).into());
    }
    let shown = sb
        .run(&["history", "show", &want[0], "--json", "--store", &db.url])?
        .expect(0, "show")?
        .json()?;
    if shown != runs[3] {
        return Err("the record read back from PostgreSQL differs".into());
    }

    // Versioning against the same server, through $PRISM_STORE.
    sb.store = Some(db.url.clone());
    sb.write("ver.prism", &versioned("ver", "1.0.0", "pg-one", ""))?;
    sb.run(&["publish", "ver.prism"])?.expect(0, "publish")?;
    sb.write("ver.prism", &versioned("ver", "1.0.0", "other", ""))?;
    let conflict = sb.run(&["publish", "ver.prism"])?.expect(2, "conflict")?;
    if !conflict.stderr.contains("bump the version") {
        return Err(conflict.stderr.into());
    }
    sb.write("ver.prism", &versioned("ver", "1.1.0", "pg-two", ""))?;
    sb.run(&["publish", "ver.prism"])?
        .expect(0, "publish 1.1.0")?;
    sb.run(&["rollback", "ver", "1.0.0"])?
        .expect(0, "rollback")?;
    for (target, value) in [("ver", "pg-one"), ("ver@^1.1", "pg-two")] {
        let (got, _, stderr) = run_result(&sb, target)?;
        if got != value {
            return Err(format!("{target}: {got}\n{stderr}").into());
        }
    }
    // A server that does not answer is a clear error.
    let down = sb
        .run(&["history", "--store", "postgres://prism@127.0.0.1:1/none"])?
        .expect(1, "unreachable server")?;
    if !down.stderr.starts_with("error: PostgreSQL store:") {
        return Err(down.stderr.into());
    }
    Ok(())
}
