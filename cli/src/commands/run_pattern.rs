//! `prism run` for patterns: YAML patterns, org charts and annotated `.prism` patterns run
//! against agents (an agents file, `--agent name=URL`, or the built-in local agents), printing
//! the result and its confidence, or the execution record with `--json`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use prism_agents::{AgentSet, builtin_agents, load_agents_file};
use prism_compiler::pattern::directives::DirectiveKind;
use prism_compiler::pattern::{CompileOptions, Loaded};
use prism_compiler::plan::Plan;
use prism_compiler::{Diagnostic, SourceFile};
use prism_executor::{
    ExecutionRecord, RunOptions, RunStatus, ScriptOutput, TraceEvent, execute, largest_min,
};
use prism_grpc::ControlPlane;
use prism_license::{Directive, License};
use serde_json::Value as Json;

use super::compile::{Compiled, compile};
use super::pattern_store::{fail, open, require_directive, with_causes};
use crate::report::{EXIT_COMPILE, EXIT_RUNTIME, color, live_terminal, print_diagnostics};

/// The pattern options of `prism run`.
#[derive(Args, Debug, Clone, Default)]
pub struct PatternArgs {
    /// The pattern input: JSON text, `@FILE` to read it from a file, or `@-` from standard
    /// input.
    #[arg(long, value_name = "JSON|@FILE|@-")]
    pub input: Option<String>,
    /// Print the execution record as JSON instead of the result.
    #[arg(long)]
    pub json: bool,
    /// Print each plan node as it completes (to stderr).
    #[arg(long)]
    pub trace: bool,
    /// The agents file (default: `agents.yaml` beside the pattern, else built-in agents).
    #[arg(long, value_name = "FILE")]
    pub agents: Option<PathBuf>,
    /// An HTTP agent `name=URL` (repeatable).
    #[arg(long = "agent", value_name = "NAME=URL")]
    pub agent: Vec<String>,
    /// The workspace directory passed to agents and scripts.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Inject these agent records (a JSON list) instead of calling agents (`.prism` patterns).
    #[arg(long = "agent-results", value_name = "FILE")]
    pub agent_results: Option<PathBuf>,
    /// Allow org-chart `verify.command` oracles to run commands.
    #[arg(long = "allow-commands")]
    pub allow_commands: bool,
    /// Overall timeout in milliseconds, for a program as for a pattern (default: a pattern's
    /// `@timeout`, else none).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// The store for `NAME@VERSION` and for records when the pattern's `persistence` names
    /// none (`sqlite:PATH` or `postgres://…`; default: $PRISM_STORE, else
    /// `<data dir>/prism/prism.db`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Serve a Parallax agent registry and agent gateway on ADDR (`host:port`) for this run:
    /// agents that register or connect there join it (without `--agents`, instead of the
    /// built-in agents).
    #[arg(long, value_name = "ADDR")]
    pub registry: Option<String>,
    /// With `--registry`: wait up to this long for agents to join before the run starts
    /// (until the file's and the joined agents number the pattern's largest `min`).
    #[arg(
        long = "registry-wait",
        value_name = "SECONDS",
        default_value_t = 10,
        requires = "registry"
    )]
    pub registry_wait: u64,
    /// Run on a Temporal server at HOST:PORT (workers started with `prism worker`): the run
    /// survives the loss of a worker (needs `distributed_execution`).
    #[arg(long, value_name = "HOST:PORT")]
    pub temporal: Option<String>,
    /// With `--temporal`: the namespace.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "temporal"
    )]
    pub namespace: String,
    /// With `--temporal`: the task queue the workers poll.
    #[arg(
        long = "task-queue",
        value_name = "QUEUE",
        default_value = "prism",
        requires = "temporal"
    )]
    pub task_queue: String,
}

pub(crate) fn read_input(arg: Option<&str>) -> Result<Json, String> {
    let Some(arg) = arg else {
        return Ok(serde_json::json!({}));
    };
    let (text, from) = match arg.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            (text, "standard input".to_string())
        }
        Some(file) => (
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?,
            file.to_string(),
        ),
        None => (arg.to_string(), "--input".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| format!("{from} is not valid JSON: {e}"))
}

/// The agents of a run of the pattern at `path`: the `--agents` file, else `agents.yaml`
/// beside the pattern, else at least `min` (and 3) built-in agents; then the `--agent` URLs.
pub(crate) fn load_agents(
    path: &Path,
    agents: Option<&Path>,
    urls: &[String],
    min: usize,
) -> Result<AgentSet, String> {
    let beside = path.parent().map(|d| d.join("agents.yaml"));
    let mut set = match (agents, beside) {
        (Some(f), _) => load_agents_file(f).map_err(|e| e.to_string())?,
        (None, Some(b)) if b.is_file() && b != path => {
            load_agents_file(&b).map_err(|e| e.to_string())?
        }
        _ => builtin_agents(min.max(3)),
    };
    for flag in urls {
        set.add_url_flag(flag).map_err(|e| e.to_string())?;
    }
    Ok(set)
}

/// Live progress on a terminal: one line rewritten as nodes complete and agent calls start
/// and end.
#[derive(Default)]
struct Progress {
    done: AtomicUsize,
    /// The last completed node and the agents whose calls are under way (a name once per
    /// call in flight).
    state: Mutex<(String, Vec<String>)>,
}

impl Progress {
    /// Redraws the line of the pattern `name`.
    fn draw(&self, name: &str) {
        if let Ok(st) = self.state.lock() {
            let line = progress_line(name, self.done.load(Ordering::Relaxed), &st.0, &st.1);
            eprint!("\r\x1b[2K{line}");
        }
    }
}

/// The progress line: nodes done, the last one, and the agents still awaited.
fn progress_line(name: &str, done: usize, last: &str, awaited: &[String]) -> String {
    let mut line = format!("⋯ {name}: {done} node(s) done");
    if !last.is_empty() {
        line.push_str(&format!(", last {last}"));
    }
    if !awaited.is_empty() {
        let mut names: Vec<&str> = awaited.iter().map(String::as_str).collect();
        names.dedup();
        const SHOWN: usize = 5;
        let more = names.len().saturating_sub(SHOWN);
        names.truncate(SHOWN);
        line.push_str(&format!("; waiting for {}", names.join(", ")));
        if more > 0 {
            line.push_str(&format!(" and {more} more"));
        }
    }
    line
}

/// Where the pattern text came from.
enum Origin {
    /// A file given to `prism run`: its `versioning.rollback` is followed.
    File,
    /// A published version (with its stored content hash): run as stored.
    Stored(String),
}

/// Compiles and runs a pattern file.
pub fn run_pattern(path: &Path, text: &str, args: &PatternArgs) -> ExitCode {
    run_pattern_from(path, text, args, Origin::File)
}

/// Runs a published version of `name`: `spec` is a version or a semver range (the newest
/// matching version runs), `None` the active version. Needs `pattern_versioning`.
pub fn run_stored(name: &str, spec: Option<&str>, args: &PatternArgs) -> ExitCode {
    if let Err(code) = require_directive(Directive::Versioning) {
        return code;
    }
    let store = match open(args.store.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let stored = match store.resolve_version(name, spec) {
        Ok(Some(v)) => v,
        Ok(None) => {
            let published = store.versions(name).unwrap_or_default();
            let wanted = spec.map_or("an active version".to_string(), |s| format!("`{s}`"));
            if published.is_empty() {
                eprintln!(
                    "error: no published versions of `{name}` in {}",
                    store.location()
                );
            } else {
                let list: Vec<&str> = published.iter().map(|v| v.version.as_str()).collect();
                eprintln!(
                    "error: no published version of `{name}` matches {wanted}; published: {}",
                    list.join(", ")
                );
            }
            return ExitCode::from(EXIT_COMPILE);
        }
        Err(e) => return fail(&e),
    };
    drop(store);
    if !args.json {
        eprintln!("running {name}@{} from the store", stored.info.version);
    }
    let path = PathBuf::from(&stored.info.file_name);
    run_pattern_from(
        &path,
        &stored.source,
        args,
        Origin::Stored(stored.info.content_hash.clone()),
    )
}

/// For `prism run NAME` when no file NAME exists: runs the active published version if the
/// license grants versioning and one is published; `None` otherwise (the caller reports the
/// missing file).
pub fn run_active_if_published(name: &str, args: &PatternArgs) -> Option<ExitCode> {
    if License::current().check(Directive::Versioning).is_err() {
        return None;
    }
    let store = prism_store::Store::open_url(args.store.as_deref()).ok()?;
    let published = store.versions(name).ok()?;
    if !published.iter().any(|v| v.active) {
        return None;
    }
    drop(store);
    Some(run_stored(name, None, args))
}

fn run_pattern_from(path: &Path, text: &str, args: &PatternArgs, origin: Origin) -> ExitCode {
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    // A distributed run needs its feature before anything else happens (nothing connects).
    if args.temporal.is_some()
        && let Err(code) = super::temporal::require_license(license)
    {
        return code;
    }
    let compiled = compile(path, text, &CompileOptions::default(), license);
    let has_errors = compiled.errors() > 0;
    if has_errors || !args.json {
        print_diagnostics(&compiled.diagnostics, &compiled.file);
    }
    let Some(plan) = compiled.plan.clone().filter(|_| !has_errors) else {
        return ExitCode::from(EXIT_COMPILE);
    };
    if let Some(code) = redirect(&plan, path, &origin, args) {
        return code;
    }
    let persistence = persistence_config(&plan, args.store.as_ref());
    match &args.temporal {
        Some(address) => run_on_temporal(address, path, text, &plan, &compiled, args, persistence),
        None => run_here(path, text, plan, &compiled, args, persistence),
    }
}

/// `--temporal ADDRESS`: runs the plan on the Temporal server's workers, which write the
/// records, then reports the run.
fn run_on_temporal(
    address: &str,
    path: &Path,
    text: &str,
    plan: &Arc<Plan>,
    compiled: &Compiled,
    args: &PatternArgs,
    persistence: Option<Json>,
) -> ExitCode {
    // The workers write the records (each node as it completes, then the run's).
    let written_by_workers = persistence.is_some();
    match super::temporal::run_remote(
        address,
        path,
        text,
        plan,
        compiled.loaded.as_deref(),
        args,
        persistence,
    ) {
        Ok(record) => {
            if written_by_workers && !args.json {
                eprintln!("run {} saved by the workers to their store", record.id);
            }
            conclude(&record, None, args, &compiled.file)
        }
        Err(code) => code,
    }
}

/// Runs the plan in this process against its agents (and those of `--registry`), stopping at
/// Ctrl-C, then saves and reports the run.
fn run_here(
    path: &Path,
    text: &str,
    plan: Arc<Plan>,
    compiled: &Compiled,
    args: &PatternArgs,
    persistence: Option<Json>,
) -> ExitCode {
    let (input, mut agents, agent_results) = match run_inputs(path, &plan, args) {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let loaded = compiled.loaded.clone();
    let timeout = args.timeout.or(match loaded.as_deref() {
        Some(Loaded::Prism(p)) => Some(p.timeout_ms),
        _ => None,
    });
    let runtime = match crate::report::async_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let plane = match open_registry(&runtime, args, &mut agents, &plan) {
        Ok(plane) => plane,
        Err(code) => return code,
    };
    let tty = live_terminal() && !args.trace;
    let (trace, on_call) = observers(&plan.meta.name, args.trace, tty);
    let options = RunOptions {
        input,
        agents,
        timeout: timeout.map(Duration::from_millis),
        trace,
        on_call,
        source: Some(Arc::from(text)),
        model: loaded,
        workspace: args.workspace.clone(),
        agent_results,
        script_output: if args.json {
            ScriptOutput::Stderr
        } else {
            ScriptOutput::Stdout
        },
        allow_commands: args.allow_commands,
        persist: Some(nested_persistence(args.store.clone())),
        ..RunOptions::default()
    };
    let cancel = options.cancel.clone();
    let record = runtime.block_on(async move {
        let ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.cancel();
            }
        });
        execute(plan, options).await
    });
    if tty {
        eprint!("\r\x1b[2K");
    }
    if let Some(plane) = plane {
        runtime.block_on(plane.stop());
    }
    runtime.shutdown_timeout(Duration::from_millis(500));
    conclude(&record, persistence, args, &compiled.file)
}

/// `--registry ADDRESS`: serves a Parallax registry and gateway whose agents join `agents`
/// (waiting for as many as the plan needs); `None` without the option, the exit code if it
/// cannot be served (reported).
fn open_registry(
    runtime: &tokio::runtime::Runtime,
    args: &PatternArgs,
    agents: &mut AgentSet,
    plan: &Plan,
) -> Result<Option<ControlPlane>, ExitCode> {
    let Some(address) = &args.registry else {
        return Ok(None);
    };
    match super::registry::open_for_run(
        runtime,
        address,
        Duration::from_secs(args.registry_wait),
        agents,
        largest_min(plan),
    ) {
        Ok(plane) => Ok(Some(plane)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(EXIT_RUNTIME))
        }
    }
}

/// Saves the record where the pattern has `persistence`, then reports the run.
fn conclude(
    record: &ExecutionRecord,
    persistence: Option<Json>,
    args: &PatternArgs,
    file: &SourceFile,
) -> ExitCode {
    // The record is committed before the run reports anything.
    let saved = persistence.map(|config| prism_store::persist_record(&config, &record.to_json()));
    let code = report(record, args.json, file);
    match saved {
        Some(Err(e)) => {
            eprintln!("error: the run's record was not saved: {}", with_causes(&e));
            ExitCode::from(EXIT_RUNTIME)
        }
        Some(Ok(Some(done))) if !args.json => {
            let pruned = match done.pruned {
                0 => String::new(),
                n => format!(" ({n} older record(s) removed by retention)"),
            };
            eprintln!("saved run {} to {}{pruned}", done.summary.id, done.location);
            code
        }
        _ => code,
    }
}

/// Where the pattern's `versioning.rollback` names a stored version, runs that version
/// instead (and says so); warns when a stored source does not match its hash.
fn redirect(plan: &Plan, path: &Path, origin: &Origin, args: &PatternArgs) -> Option<ExitCode> {
    match origin {
        Origin::File => {
            let version = plan
                .directives()
                .iter()
                .find(|d| d.kind == DirectiveKind::Versioning)
                .and_then(|d| d.config.get("rollback"))
                .and_then(Json::as_str)?;
            eprintln!(
                "warning: `versioning.rollback: {version}` in {}: running the stored {}@{version}, not this file",
                path.display(),
                plan.meta.name
            );
            let exact = format!("={version}");
            Some(run_stored(&plan.meta.name, Some(&exact), args))
        }
        Origin::Stored(hash) => {
            if *hash != plan.meta.source_hash {
                eprintln!(
                    "warning: the stored source of {}@{} does not match its content hash ({hash})",
                    plan.meta.name, plan.meta.version
                );
            }
            None
        }
    }
}

/// Writes the records of included patterns that carry `persistence` (to their own store, or
/// `--store` where they name none).
pub(crate) fn nested_persistence(store: Option<String>) -> prism_executor::PersistFn {
    Arc::new(move |config: &Json, record: &Json| {
        let mut config = config.clone();
        if let (Some(store), Some(map)) = (&store, config.as_object_mut()) {
            map.entry("store")
                .or_insert_with(|| Json::from(store.clone()));
        }
        prism_store::persist_record(&config, record)
            .map(|_| ())
            .map_err(|e| with_causes(&e))
    })
}

/// The pattern's `persistence` directive, with `--store` filled in where it names none.
pub(crate) fn persistence_config(plan: &Plan, store: Option<&String>) -> Option<Json> {
    plan.directives()
        .iter()
        .find(|d| d.kind == DirectiveKind::Persistence)
        .map(|d| {
            let mut config = d.config.clone();
            if let (Some(store), Some(map)) = (store, config.as_object_mut()) {
                map.entry("store")
                    .or_insert_with(|| Json::from(store.clone()));
            }
            config
        })
        .filter(|config| config["enabled"] != false)
}

/// What the run starts from: the input, the agents and any `--agent-results` records.
fn run_inputs(
    path: &Path,
    plan: &Plan,
    args: &PatternArgs,
) -> Result<(Json, AgentSet, Option<Vec<Json>>), String> {
    let input = read_input(args.input.as_deref())?;
    let agents = load_agents(path, args.agents.as_deref(), &args.agent, largest_min(plan))?;
    let agent_results = match &args.agent_results {
        None => None,
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Vec<Json>>(&t).map_err(|e| e.to_string()))
                .map_err(|e| format!("--agent-results {}: {e}", f.display()))?,
        ),
    };
    Ok((input, agents, agent_results))
}

/// The run's observers: `--trace` lines, or on a live terminal a progress line that names
/// the node and the agents being called.
fn observers(
    name: &str,
    trace: bool,
    tty: bool,
) -> (
    Option<prism_executor::TraceFn>,
    Option<prism_executor::CallFn>,
) {
    let progress = Arc::new(Progress::default());
    let trace: Option<prism_executor::TraceFn> = if trace {
        Some(Arc::new(|ev: &TraceEvent| eprintln!("{}", trace_line(ev))))
    } else if tty {
        let p = progress.clone();
        let name = name.to_string();
        Some(Arc::new(move |ev: &TraceEvent| {
            p.done.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut st) = p.state.lock() {
                st.0 = ev.node.clone();
            }
            p.draw(&name);
        }))
    } else {
        None
    };
    let on_call: Option<prism_executor::CallFn> = tty.then(|| {
        let p = progress.clone();
        let name = name.to_string();
        Arc::new(move |ev: &prism_executor::CallEvent| {
            if let Ok(mut st) = p.state.lock() {
                if ev.finished {
                    if let Some(i) = st.1.iter().position(|a| *a == ev.agent) {
                        st.1.remove(i);
                    }
                } else {
                    st.1.push(ev.agent.clone());
                    st.1.sort();
                }
            }
            p.draw(&name);
        }) as prism_executor::CallFn
    });
    (trace, on_call)
}

fn trace_line(ev: &TraceEvent) -> String {
    let conf = ev
        .confidence
        .map_or_else(String::new, |c| format!(" confidence {c:.3}"));
    let detail = if ev.detail.is_empty() {
        String::new()
    } else {
        format!(" — {}", ev.detail)
    };
    format!(
        "[trace] {:<28} {:<11} {:<6}{conf} ({} ms){detail}",
        ev.node, ev.kind, ev.status, ev.duration_ms
    )
}

fn report(record: &ExecutionRecord, json: bool, file: &SourceFile) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&record.to_json()).unwrap_or_default()
        );
    } else {
        if let Some((value, confidence)) = &record.result {
            match value {
                Json::String(s) => println!("{s}"),
                other => println!(
                    "{}",
                    serde_json::to_string_pretty(other).unwrap_or_default()
                ),
            }
            println!("confidence: {confidence:.3}");
        }
        for (code, message) in &record.warnings {
            if code == "prism::run::unhealthy" || code == "prism::run::agent" {
                eprintln!("warning: {message}");
            }
        }
        for r in record.agent_results.iter().filter(|r| r.error.is_some()) {
            eprintln!(
                "warning: agent {} {}: {}",
                r.agent_name,
                r.status.as_str(),
                r.error.clone().unwrap_or_default()
            );
        }
        if let Some(reason) = record
            .fallback
            .as_ref()
            .and_then(|f| f.get("reason"))
            .and_then(Json::as_str)
        {
            eprintln!("fallback taken: {reason}");
        }
        if let Some(e) = &record.escalation {
            eprintln!(
                "escalated to {}: {}",
                e.get("target").and_then(Json::as_str).unwrap_or("human"),
                e.get("reason").and_then(Json::as_str).unwrap_or_default()
            );
        }
        if let Some(err) = &record.error {
            match err.span {
                Some((s, e)) if err.code == "prism::runtime" => {
                    let d = Diagnostic::error(
                        "prism::runtime",
                        err.message.clone(),
                        prism_compiler::Span::new(s as usize, e as usize),
                    );
                    eprint!(
                        "{}",
                        prism_compiler::diagnostic::render(&[d], file, color())
                    );
                }
                _ => eprintln!("error[{}]: {}", err.code, err.message),
            }
        }
    }
    match record.status {
        RunStatus::Completed | RunStatus::Escalated => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_RUNTIME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_names_the_agents_still_awaited() {
        let awaited: Vec<String> = ["b", "c", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            progress_line("vote", 1, "input", &awaited),
            "⋯ vote: 1 node(s) done, last input; waiting for b, c"
        );
        assert_eq!(
            progress_line("vote", 4, "output", &[]),
            "⋯ vote: 4 node(s) done, last output"
        );
        let many: Vec<String> = (1..=7).map(|i| format!("a{i}")).collect();
        assert!(
            progress_line("p", 0, "", &many).ends_with("waiting for a1, a2, a3, a4, a5 and 2 more")
        );
    }
}
