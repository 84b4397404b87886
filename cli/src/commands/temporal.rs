//! Distributed execution on Temporal: `prism worker --temporal HOST:PORT` (a worker that runs
//! pattern workflows and calls agents) and `prism run PATTERN --temporal HOST:PORT` (the run
//! as a workflow whose id is its execution id; prints what a local run prints). Both need
//! the enterprise feature `distributed_execution`, checked before anything connects; the
//! Temporal client and worker are in builds with the `temporal` cargo feature.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use prism_compiler::pattern::Loaded;
use prism_compiler::plan::Plan;
use prism_executor::ExecutionRecord;
use prism_license::{Feature, License, UPGRADE_URL};

use super::run_pattern::PatternArgs;
use crate::report::{EXIT_COMPILE, EXIT_RUNTIME};

/// Arguments of `prism worker`.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The Temporal server (`HOST:PORT`, e.g. `127.0.0.1:7233`).
    #[arg(long, value_name = "HOST:PORT")]
    pub temporal: String,
    /// The namespace.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub namespace: String,
    /// The task queue to poll (runs started with the same `--task-queue`).
    #[arg(long = "task-queue", value_name = "QUEUE", default_value = "prism")]
    pub task_queue: String,
}

/// `Ok` when the license grants `distributed_execution`; else prints the license message
/// and gives the exit code.
pub fn require_license(license: &License) -> Result<(), ExitCode> {
    if license.grants(Feature::DistributedExecution) {
        return Ok(());
    }
    // The note (edition, or why a key was not used) is the one every denial carries.
    let note = prism_license::denial(prism_license::Directive::Schedule, license).note;
    eprint!(
        "error[prism::license::distributed]: `--temporal` needs Prism Enterprise (feature `distributed_execution`)\n  \
         = note: {note}\n  \
         = help: install a key with `prism license install <KEY|FILE>` or set PRISM_LICENSE_KEY,\n          \
         or run without `--temporal` to run in this process\n  \
         = help: {UPGRADE_URL}\n"
    );
    Err(ExitCode::from(EXIT_COMPILE))
}

/// Runs `prism worker`.
pub fn worker(args: WorkerArgs) -> ExitCode {
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    if let Err(code) = require_license(license) {
        return code;
    }
    imp::worker(&args)
}

/// Runs `plan` on Temporal and returns its record (`Err`: reported already).
pub fn run_remote(
    address: &str,
    path: &Path,
    text: &str,
    plan: &std::sync::Arc<Plan>,
    loaded: Option<&Loaded>,
    args: &PatternArgs,
    persistence: Option<serde_json::Value>,
) -> Result<ExecutionRecord, ExitCode> {
    let unsupported = [
        (args.registry.is_some(), "--registry"),
        (args.agent_results.is_some(), "--agent-results"),
        (args.workspace.is_some(), "--workspace"),
        (args.allow_commands, "--allow-commands"),
        (args.trace, "--trace"),
    ];
    if let Some((_, flag)) = unsupported.iter().find(|(set, _)| *set) {
        eprintln!("error: {flag} is not available with --temporal");
        return Err(ExitCode::from(EXIT_COMPILE));
    }
    imp::run_remote(address, path, text, plan, loaded, args, persistence)
}

#[cfg(not(feature = "temporal"))]
mod imp {
    use super::*;

    fn not_built() -> ExitCode {
        eprintln!(
            "error: this prism was built without Temporal support; build it with `cargo build --release -p prism-cli --features temporal` (needs protoc)"
        );
        ExitCode::from(EXIT_RUNTIME)
    }

    pub fn worker(_args: &WorkerArgs) -> ExitCode {
        not_built()
    }

    pub fn run_remote(
        _address: &str,
        _path: &Path,
        _text: &str,
        _plan: &std::sync::Arc<Plan>,
        _loaded: Option<&Loaded>,
        _args: &PatternArgs,
        _persistence: Option<serde_json::Value>,
    ) -> Result<ExecutionRecord, ExitCode> {
        Err(not_built())
    }
}

#[cfg(feature = "temporal")]
pub(super) mod imp {
    use super::*;
    use prism_executor::largest_min;
    use prism_temporal::sdk::{Endpoint, run_worker, start_and_wait};
    use prism_temporal::{AgentsData, RunInput, refusals};

    pub fn worker(args: &WorkerArgs) -> ExitCode {
        let runtime = match crate::report::async_runtime() {
            Ok(rt) => rt,
            Err(code) => return code,
        };
        let endpoint = Endpoint {
            address: args.temporal.clone(),
            namespace: args.namespace.clone(),
            task_queue: args.task_queue.clone(),
        };
        let outcome = runtime.block_on(run_worker(&endpoint, || {
            eprintln!(
                "worker polling task queue {} in namespace {} at {}",
                endpoint.task_queue, endpoint.namespace, endpoint.address
            );
        }));
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_RUNTIME)
            }
        }
    }

    /// The agents of a run as data: what `load_agents` would build, from the same sources
    /// (`--agents FILE`, else `agents.yaml` beside the pattern, else built-in agents; then
    /// the `--agent NAME=URL` flags).
    pub fn agents_data(
        path: &Path,
        agents: Option<&Path>,
        urls: &[String],
        min: usize,
    ) -> Result<AgentsData, String> {
        let beside = path.parent().map(|d| d.join("agents.yaml"));
        let file = match (agents, beside) {
            (Some(f), _) => Some(f.to_path_buf()),
            (None, Some(b)) if b.is_file() && b != path => Some(b),
            _ => None,
        };
        let file = match file {
            Some(f) => {
                let text = prism_compiler::source::read_source(&f)
                    .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
                let abs = std::path::absolute(&f).unwrap_or(f);
                Some((abs.display().to_string(), text))
            }
            None => None,
        };
        let data = AgentsData {
            file,
            builtin: min.max(3),
            urls: urls.to_vec(),
        };
        // Built here too, so a bad agents file is reported before the run starts.
        data.build()?;
        Ok(data)
    }

    pub fn run_remote(
        address: &str,
        path: &Path,
        text: &str,
        plan: &std::sync::Arc<Plan>,
        loaded: Option<&Loaded>,
        args: &PatternArgs,
        persistence: Option<serde_json::Value>,
    ) -> Result<ExecutionRecord, ExitCode> {
        let refused = refusals(plan);
        if !refused.is_empty() {
            for why in refused {
                eprintln!("error: {why}");
            }
            return Err(ExitCode::from(EXIT_COMPILE));
        }
        let compile_error = |e: String| {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_COMPILE)
        };
        let input =
            super::super::run_pattern::read_input(args.input.as_deref()).map_err(compile_error)?;
        let agents = agents_data(path, args.agents.as_deref(), &args.agent, largest_min(plan))
            .map_err(compile_error)?;
        let timeout_ms = args.timeout.or(match loaded {
            Some(Loaded::Prism(p)) => Some(p.timeout_ms),
            _ => None,
        });
        let run = RunInput {
            execution_id: prism_temporal::new_execution_id(),
            file_name: path.display().to_string(),
            source: text.to_string(),
            version: plan.meta.version.clone(),
            plan_hash: plan.hash(),
            input,
            agents,
            timeout_ms,
            backoff_ms: 1000,
            trigger: serde_json::json!({"kind": "manual"}),
            persistence,
        };
        let endpoint = Endpoint {
            address: address.to_string(),
            namespace: args.namespace.clone(),
            task_queue: args.task_queue.clone(),
        };
        let runtime = crate::report::async_runtime()?;
        let outcome = runtime.block_on(start_and_wait(&endpoint, run, |note| {
            eprintln!("note: {note}");
        }));
        runtime.shutdown_timeout(std::time::Duration::from_millis(500));
        let json = outcome.map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        })?;
        ExecutionRecord::from_json(&json).ok_or_else(|| {
            eprintln!("error: the run's record from Temporal is not an execution record");
            ExitCode::from(EXIT_RUNTIME)
        })
    }
}
