//! Agents as `prism run` users meet them: process agents started from the pattern's folder,
//! failed answers in votes, and messages that name the cause.

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{run_prism, run_prism_with};

/// The agent trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "agents::process_agents_start_from_the_agents_file_folder",
            process_agents_start_from_the_agents_file_folder,
        ),
        Trial::test(
            "agents::a_dead_agent_is_no_ballot_and_the_record_says_so",
            a_dead_agent_is_no_ballot,
        ),
        Trial::test(
            "agents::failed_calls_name_their_cause",
            failed_calls_name_their_cause,
        ),
    ]
}

/// A JSON-lines agent answering every request with `vote` and confidence 0.9.
const LINES_AGENT: &str = "import json, sys\nfor line in sys.stdin:\n    req = json.loads(line)\n    print(json.dumps({\"id\": req[\"id\"], \"value\": \"yes\", \"confidence\": 0.9}), flush=True)\n";

/// A one-shot agent printing text and a `CONFIDENCE:` line.
const ONESHOT_AGENT: &str = "#!/bin/sh\ncat > /dev/null\necho yes\necho CONFIDENCE: 0.8\n";

fn write(dir: &Path, name: &str, text: &str) -> Result<(), Failed> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, text)?;
    #[cfg(unix)]
    if name.ends_with(".sh") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// `prism run vote.yaml` (a bare file name) starts relative `command:` programs and `cwd:`
/// folders from the agents file's folder, exactly as `prism run ./vote.yaml` does.
fn process_agents_start_from_the_agents_file_folder() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "lines_agent.py", LINES_AGENT)?;
    write(dir.path(), "bin/oneshot.sh", ONESHOT_AGENT)?;
    write(dir.path(), "tools/lines_agent.py", LINES_AGENT)?;
    write(
        dir.path(),
        "agents.yaml",
        "agents:\n  - name: shell\n    capabilities: [vote]\n    command: python3 lines_agent.py\n  - name: argv\n    capabilities: [vote]\n    mode: oneshot\n    command: [bin/oneshot.sh]\n  - name: dotted\n    capabilities: [vote]\n    mode: oneshot\n    command: [./bin/oneshot.sh]\n  - name: moved\n    capabilities: [vote]\n    cwd: tools\n    command: python3 lines_agent.py\n",
    )?;
    write(
        dir.path(),
        "vote.yaml",
        "name: vote\ninput: {}\nagents:\n  capabilities: [vote]\n  min: 4\n  retries: 0\naggregation:\n  strategy: voting\noutput:\n  winner: $vote.winner\n  voters: $totalCount\n",
    )?;
    for file in ["vote.yaml", "./vote.yaml"] {
        let r = run_prism(&["run", file], dir.path(), Duration::from_secs(60))?;
        assert_eq!(
            r.stdout, "{\n  \"winner\": \"yes\",\n  \"voters\": 4\n}\nconfidence: 0.850\n",
            "prism run {file}\n{}",
            r.stderr
        );
        assert_eq!(r.code, Some(0), "prism run {file}: {}", r.stderr);
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    }
    // From another folder, the same agents file works through a relative path too.
    let parent = dir.path().parent().unwrap_or(dir.path());
    let name = dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let rel = format!("{}/vote.yaml", name.unwrap_or_default());
    let r = run_prism(&["run", &rel], parent, Duration::from_secs(60))?;
    assert_eq!(r.code, Some(0), "prism run {rel}: {}", r.stderr);
    Ok(())
}

/// Three voters, the third of which can be swapped for one that dies.
fn voters(third: &str) -> String {
    format!(
        "agents:\n  - name: a\n    capabilities: [vote]\n    respond: {{value: cat, confidence: 0.9}}\n  - name: b\n    capabilities: [vote]\n    respond: {{value: cat, confidence: 0.85}}\n{third}"
    )
}

const DOG: &str =
    "  - name: c\n    capabilities: [vote]\n    respond: {value: dog, confidence: 0.6}\n";
const DEAD: &str = "  - name: c\n    capabilities: [vote]\n    mode: oneshot\n    command: \"echo out of memory >&2; exit 3\"\n";
const VOTE: &str = "name: vote\ninput: {}\nagents:\n  capabilities: [vote]\n  min: 3\n  retries: 0\naggregation:\n  strategy: voting\noutput:\n  winner: $vote.winner\n  agreement: $vote.agreement\n";

fn json_run(dir: &Path, args: &[&str]) -> Result<(serde_json::Value, String), Failed> {
    let r = run_prism(args, dir, Duration::from_secs(60))?;
    let record =
        serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}\n{}", r.stdout, r.stderr))?;
    Ok((record, r.stderr))
}

/// A dead agent is no ballot (patterns.md §1.6): the record names it (`failedAgents`, the vote's
/// `asked`/`missing`), a fallback can act on that and the record says why it fired; too few
/// answers for `execution.minResults` fail the phase, and with every agent dead the message
/// cites no setting the pattern did not write.
fn a_dead_agent_is_no_ballot() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "vote.yaml", VOTE)?;
    write(dir.path(), "agents.yaml", &voters(DOG))?;
    let (all, _) = json_run(dir.path(), &["run", "vote.yaml", "--json"])?;
    let c_all = all["result"]["confidence"].as_f64().unwrap_or(f64::NAN);
    assert!((c_all - 2.0 / 3.0 * 0.875).abs() < 1e-9, "{all:#}");
    write(dir.path(), "agents.yaml", &voters(DEAD))?;
    // The two answers that came back agree; the record says the third is missing.
    let (dead, _) = json_run(dir.path(), &["run", "vote.yaml", "--json"])?;
    assert_eq!(dead["status"], "completed", "{dead:#}");
    assert_eq!(dead["failedAgents"], serde_json::json!(["c"]));
    assert_eq!(dead["result"]["value"]["agreement"], 1, "{dead:#}");
    let c_dead = dead["result"]["confidence"].as_f64().unwrap_or(f64::NAN);
    assert!((c_dead - 0.875).abs() < 1e-9, "{dead:#}");
    // `minResults: 3` asks for three answers: two fail the phase, naming the dead agent.
    write(
        dir.path(),
        "all3.yaml",
        &VOTE.replace(
            "  retries: 0\n",
            "  retries: 0\nexecution:\n  minResults: 3\n",
        ),
    )?;
    let (short, _) = json_run(dir.path(), &["run", "all3.yaml", "--json"])?;
    assert_eq!(short["status"], "failed", "{short:#}");
    let message = short["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("only 2 of 3 agent(s) answered; `execution.minResults: 3` asks for 3")
            && message.contains("c: exit status 3: out of memory"),
        "{message}"
    );
    // A fallback on the missing answer, and the record names why it fired.
    let fallback = format!(
        "{}  missing: $vote.missing\nfallback:\n  condition: $vote.missing > 0\n  action: default\n  value: {{winner: ask a human}}\n",
        VOTE
    );
    write(dir.path(), "fallback.yaml", &fallback)?;
    let (fell, _) = json_run(dir.path(), &["run", "fallback.yaml", "--json"])?;
    assert_eq!(fell["status"], "completed", "{fell:#}");
    assert_eq!(fell["result"]["value"]["winner"], "ask a human");
    let reason = fell["fallback"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("$vote.missing > 0"), "{fell:#}");
    assert_eq!(fell["fallback"]["action"], "default");
    assert_eq!(fell["failedAgents"], serde_json::json!(["c"]));
    let human = run_prism(
        &["run", "fallback.yaml"],
        dir.path(),
        Duration::from_secs(60),
    )?;
    assert!(
        human.stderr.contains("fallback taken: fallback condition"),
        "{}",
        human.stderr
    );
    // Every agent dead: no phantom `minResults is 1`.
    write(
        dir.path(),
        "agents.yaml",
        &format!(
            "agents:\n{}{}{}",
            DEAD.replace("name: c", "name: a"),
            DEAD.replace("name: c", "name: b"),
            DEAD
        ),
    )?;
    let (none, _) = json_run(dir.path(), &["run", "vote.yaml", "--json"])?;
    let message = none["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("no agent answered (3 asked): a: exit status 3"),
        "{message}"
    );
    assert!(!message.contains("minResults"), "{message}");
    Ok(())
}

/// A local server on 127.0.0.1: an OpenAI-compatible `/v1/chat/completions` that wants a
/// bearer key, and an agent `/slow/analyze` that never answers in time. Returns its base URL;
/// the server lives as long as the returned runtime.
fn start_server() -> Result<(String, tokio::runtime::Runtime), Failed> {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(|headers: HeaderMap| async move {
                match headers.get("authorization") {
                    Some(_) => (
                        StatusCode::OK,
                        r#"{"choices": [{"message": {"content": "{\"value\": \"Paris\", \"confidence\": 0.9}"}}]}"#,
                    ),
                    None => (StatusCode::UNAUTHORIZED, r#"{"error": "no key"}"#),
                }
            }),
        )
        .route(
            "/slow/analyze",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "{}"
            }),
        );
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, rt))
}

/// An unset `apiKeyEnv` variable is named (not a bare `HTTP 401`); a wrong endpoint shows its
/// URL with `HTTP 404`; a timeout with retries says how many attempts and the per-attempt
/// timeout.
fn failed_calls_name_their_cause() -> Result<(), Failed> {
    let (url, _server) = start_server()?;
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "agents.yaml",
        &format!(
            "agents:\n  - name: gpt\n    capabilities: [ask]\n    llm: {{endpoint: \"{url}/v1\", model: m, apiKeyEnv: PRISM_TEST_KEY}}\n  - name: typo\n    capabilities: [typo]\n    llm: {{endpoint: \"{url}/wrong\", model: m}}\n  - name: slow\n    capabilities: [slow]\n    url: {url}/slow\n"
        ),
    )?;
    let pattern = |cap: &str, extra: &str| {
        format!(
            "name: p\ninput: {{}}\nagents:\n  capabilities: [{cap}]\n{extra}output: $validResults\n"
        )
    };
    write(dir.path(), "ask.yaml", &pattern("ask", "  retries: 0\n"))?;
    write(dir.path(), "typo.yaml", &pattern("typo", "  retries: 0\n"))?;
    write(
        dir.path(),
        "slow.yaml",
        &pattern("slow", "  taskTimeout: 300\n  retries: 2\n"),
    )?;
    let limit = Duration::from_secs(60);
    let error_of = |file: &str, env: &[(&str, &str)]| -> Result<String, Failed> {
        let r = run_prism_with(&["run", file, "--json"], dir.path(), limit, None, env)?;
        let record: serde_json::Value =
            serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stderr))?;
        Ok(record["agentResults"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    };
    let unset = error_of("ask.yaml", &[("PRISM_TEST_KEY", "")])?;
    assert_eq!(
        unset,
        format!(
            "HTTP 401 from {url}/v1/chat/completions: {{\"error\": \"no key\"}} (the environment variable `PRISM_TEST_KEY` that `llm.apiKeyEnv` names is not set, so no API key was sent)"
        )
    );
    let with_key = run_prism_with(
        &["run", "ask.yaml"],
        dir.path(),
        limit,
        None,
        &[("PRISM_TEST_KEY", "secret")],
    )?;
    assert!(with_key.stdout.contains("Paris"), "{}", with_key.stderr);
    let typo = error_of("typo.yaml", &[])?;
    assert!(
        typo.starts_with(&format!("HTTP 404 from {url}/wrong/chat/completions")),
        "{typo}"
    );
    let started = std::time::Instant::now();
    let slow = error_of("slow.yaml", &[])?;
    assert_eq!(
        slow,
        "timed out on all 3 attempts (1 call + 2 retries), each stopped after 300 ms (taskTimeout)"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    // The human report shows the same cause.
    let human = run_prism_with(&["run", "typo.yaml"], dir.path(), limit, None, &[])?;
    assert!(
        human
            .stderr
            .contains(&format!("HTTP 404 from {url}/wrong/chat/completions")),
        "{}",
        human.stderr
    );
    Ok(())
}
