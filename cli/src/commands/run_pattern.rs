//! `prism run` for patterns: YAML patterns, org charts and annotated `.prism` patterns run
//! against agents (an agents file, `--agent name=URL`, or the built-in local agents), printing
//! the result and its confidence, or the execution record with `--json`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use prism_compiler::pattern::{Loaded, compile_file, load_file};
use prism_compiler::{Diagnostic, SourceFile};
use prism_runtime::agents::{AgentSet, builtin_agents, load_agents_file};
use prism_runtime::executor::{
    ExecutionRecord, RunOptions, RunStatus, ScriptOutput, TraceEvent, execute, largest_min,
};
use serde_json::Value as Json;

use crate::report::{EXIT_COMPILE, EXIT_RUNTIME, color, print_diagnostics};

/// The pattern options of `prism run`.
#[derive(Args, Debug, Clone, Default)]
pub struct PatternArgs {
    /// The pattern input: JSON text, or `@FILE` to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
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
    /// Overall timeout in milliseconds (default: the pattern's `@timeout`, else none).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
}

/// True for files `prism run` treats as patterns: `.yaml`/`.yml`, and `.prism` files with a
/// `/** … */` header naming the pattern or its agents or input.
pub fn is_pattern(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml") | Some("yml") => true,
        Some("prism") => {
            prism_compiler::pattern::header::find_header(text).is_some_and(|(_, tags)| {
                tags.iter()
                    .any(|t| matches!(t.name.as_str(), "name" | "agents" | "minAgents" | "input"))
            })
        }
        _ => false,
    }
}

fn read_input(arg: Option<&str>) -> Result<Json, String> {
    let Some(arg) = arg else {
        return Ok(serde_json::json!({}));
    };
    let (text, from) = match arg.strip_prefix('@') {
        Some(file) => (
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?,
            file.to_string(),
        ),
        None => (arg.to_string(), "--input".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| format!("{from} is not valid JSON: {e}"))
}

fn load_agents(path: &Path, args: &PatternArgs, min: usize) -> Result<AgentSet, String> {
    let beside = path.parent().map(|d| d.join("agents.yaml"));
    let mut set = match (&args.agents, beside) {
        (Some(f), _) => load_agents_file(f).map_err(|e| e.to_string())?,
        (None, Some(b)) if b.is_file() && b != path => {
            load_agents_file(&b).map_err(|e| e.to_string())?
        }
        _ => builtin_agents(min.max(3)),
    };
    for flag in &args.agent {
        set.add_url_flag(flag).map_err(|e| e.to_string())?;
    }
    Ok(set)
}

/// Live progress on a terminal: one line rewritten as nodes complete.
struct Progress {
    done: AtomicUsize,
    last: Mutex<String>,
}

/// Compiles and runs a pattern file.
pub fn run_pattern(path: &Path, text: &str, args: &PatternArgs) -> ExitCode {
    let file = SourceFile::new(path.display().to_string(), text);
    let compiled = compile_file(path, text);
    let has_errors = compiled.has_errors();
    if has_errors || !args.json {
        print_diagnostics(&compiled.diagnostics, &file);
    }
    let Some(plan) = compiled.plan.filter(|_| !has_errors) else {
        return ExitCode::from(EXIT_COMPILE);
    };
    let input = match read_input(args.input.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let agents = match load_agents(path, args, largest_min(&plan)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let agent_results = match &args.agent_results {
        None => None,
        Some(f) => match std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Vec<Json>>(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("error: --agent-results {}: {e}", f.display());
                return ExitCode::from(EXIT_COMPILE);
            }
        },
    };
    let loaded = load_file(path, text).0;
    let timeout = args.timeout.or(match &loaded {
        Some(Loaded::Prism(p)) => Some(p.timeout_ms),
        _ => None,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let tty = std::io::stderr().is_terminal() && !args.trace;
    let progress = Arc::new(Progress {
        done: AtomicUsize::new(0),
        last: Mutex::new(String::new()),
    });
    let trace: Option<prism_runtime::executor::TraceFn> = if args.trace {
        Some(Arc::new(|ev: &TraceEvent| eprintln!("{}", trace_line(ev))))
    } else if tty {
        let p = progress.clone();
        let name = plan.meta.name.clone();
        Some(Arc::new(move |ev: &TraceEvent| {
            let n = p.done.fetch_add(1, Ordering::Relaxed) + 1;
            let line = format!("⋯ {name}: {n} node(s) done, last {}", ev.node);
            if let Ok(mut last) = p.last.lock() {
                *last = line.clone();
            }
            eprint!("\r\x1b[2K{line}");
        }))
    } else {
        None
    };
    let options = RunOptions {
        input,
        agents,
        timeout: timeout.map(Duration::from_millis),
        trace,
        source: Some(Arc::from(text)),
        model: loaded.map(Arc::new),
        workspace: args.workspace.clone(),
        agent_results,
        script_output: if args.json {
            ScriptOutput::Stderr
        } else {
            ScriptOutput::Stdout
        },
        allow_commands: args.allow_commands,
        ..RunOptions::default()
    };
    let cancel = options.cancel.clone();
    let plan = Arc::new(plan);
    let record = runtime.block_on(async move {
        let ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.cancel();
            }
        });
        execute(plan, options).await
    });
    if tty && progress.done.load(Ordering::Relaxed) > 0 {
        eprint!("\r\x1b[2K");
    }
    runtime.shutdown_timeout(Duration::from_millis(500));
    report(&record, args.json, &file)
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
        for r in record.agent_results.iter().filter(|r| r.error.is_some()) {
            eprintln!(
                "warning: agent {} {}: {}",
                r.agent_name,
                r.status.as_str(),
                r.error.clone().unwrap_or_default()
            );
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
