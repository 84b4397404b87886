//! `prism serve [PATH…]`: runs every scheduled pattern under the paths on time, until each
//! schedule has ended or Ctrl-C / SIGTERM. Needs the `scheduled_patterns` feature. Schedule
//! state (next run, run count, last run) lives in the store, so a restart goes on where the
//! last one stopped; patterns with `persistence` also get each execution record written.
//!
//! Output: one line per run on stdout —
//! `<ended> <pattern> <status> confidence=<c> duration=<ms>ms run=<n>[/<max>] scheduledFor=<t> id=<id>` —
//! and what the server does (schedules taken on, missed and skipped runs, shutdown) on stderr.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use prism_compiler::pattern::directives::DirectiveKind;
use prism_compiler::pattern::{CompileOptions, Loaded};
use prism_compiler::plan::Plan;
use prism_executor::record::rfc3339;
use prism_executor::{RunOptions, ScriptOutput, largest_min};
use prism_license::License;
use prism_serve::{Event, Job, ServeOptions, serve};
use prism_store::{Location, Retention, Store};
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::compile::{Compiled, FileKind, collect_files, compile, kind_of};
use super::run_pattern::load_agents;
use crate::report::{EXIT_COMPILE, EXIT_RUNTIME, print_diagnostics};

/// Arguments of `prism serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Pattern files, or directories searched recursively for `.yaml`, `.yml` and `.prism`
    /// patterns (default: the current directory). Patterns without `schedule` are ignored.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The store for schedule state, and for the execution records of patterns whose
    /// `persistence` names no store (`sqlite:PATH` or `postgres://…`; default: $PRISM_STORE,
    /// else `<data dir>/prism/prism.db`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// On Ctrl-C / SIGTERM, how long runs in flight may go on before they are cancelled.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub grace: u64,
    /// The agents file for every pattern (default: `agents.yaml` beside each pattern, else
    /// built-in local agents).
    #[arg(long, value_name = "FILE")]
    pub agents: Option<PathBuf>,
    /// An HTTP agent `name=URL` (repeatable).
    #[arg(long = "agent", value_name = "NAME=URL")]
    pub agent: Vec<String>,
    /// Serve a Parallax agent registry and agent gateway on ADDR (`host:port`): agents that
    /// register or connect there join every run (without an agents file, instead of the
    /// built-in agents).
    #[arg(long, value_name = "ADDR", conflicts_with = "temporal")]
    pub registry: Option<String>,
    /// Make each schedule a Temporal Schedule on the server at HOST:PORT (created, or updated
    /// to match, under the id `prism-<pattern>`): the server fires the runs, which `prism
    /// worker` processes run, whether or not this process stays up (needs
    /// `distributed_execution`; see docs/distributed.md).
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
    /// With `--temporal`: the task queue of the runs (the workers' `--task-queue`).
    #[arg(
        long = "task-queue",
        value_name = "QUEUE",
        default_value = "prism",
        requires = "temporal"
    )]
    pub task_queue: String,
    /// With `--temporal`: exit once the schedules are on the server instead of reporting
    /// their runs until they end or Ctrl-C / SIGTERM.
    #[arg(long, requires = "temporal")]
    pub detach: bool,
}

/// Runs `prism serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    if let Err(denial) = license.check_command("serve") {
        eprint!("{}", denial.render());
        return ExitCode::from(EXIT_COMPILE);
    }
    if let Some(address) = &args.temporal {
        // Both features before anything connects.
        if let Err(code) = super::temporal::require_license(license) {
            return code;
        }
        return super::serve_temporal::serve(address, &args, license);
    }
    let store = match Store::open_url(args.store.as_deref()) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: cannot open the store: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let mut jobs = match load_jobs(&args, license, &store) {
        Ok(jobs) => jobs,
        Err(code) => return code,
    };
    let directory = args.registry.as_ref().map(|_| prism_grpc::Directory::new());
    if let Some(d) = &directory {
        for job in &mut jobs {
            super::registry::attach(&mut job.options.agents, d);
        }
    }
    eprintln!(
        "serve: serving {} scheduled pattern(s); state in {}",
        jobs.len(),
        store.location()
    );
    let runtime = match crate::report::async_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let plane = match (&args.registry, directory) {
        (Some(address), Some(d)) => match runtime.block_on(super::registry::start(address, d)) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        },
        _ => None,
    };
    let shutdown = CancellationToken::new();
    let options = ServeOptions {
        grace: Duration::from_secs(args.grace),
        ..ServeOptions::default()
    };
    runtime.block_on(async {
        tokio::spawn(stop_on_signal(shutdown.clone()));
        serve(
            jobs,
            store,
            options,
            shutdown.clone(),
            Arc::new(print_event),
        )
        .await;
        if let Some(plane) = plane {
            plane.stop().await;
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(500));
    if shutdown.is_cancelled() {
        eprintln!("serve: stopped; schedule state saved");
    } else {
        eprintln!("serve: every schedule has ended");
    }
    ExitCode::SUCCESS
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    signalled().await;
    eprintln!("serve: stopping (finishing runs in flight)");
    shutdown.cancel();
}

/// Returns on Ctrl-C or SIGTERM.
pub(crate) async fn signalled() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Compiles every pattern under the paths and makes a job of each one with a schedule.
/// Files with errors are reported and not served; no scheduled pattern at all is an error.
fn load_jobs(
    args: &ServeArgs,
    license: &License,
    store: &Arc<Store>,
) -> Result<Vec<Job>, ExitCode> {
    let mut jobs = Vec::new();
    let mut record_stores: HashMap<String, Arc<Store>> = HashMap::new();
    for (path, compiled, plan) in scheduled_units(&args.paths, license)? {
        let job = make_job(args, &compiled, plan, store, &mut record_stores).map_err(|e| {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::from(EXIT_COMPILE)
        })?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// Every pattern with a `schedule` under the paths (default: the current directory),
/// compiled: its file, its unit and its plan. Files with errors are reported and left out;
/// two scheduled patterns of one name, or none at all, are an error.
pub(crate) fn scheduled_units(
    paths: &[PathBuf],
    license: &License,
) -> Result<Vec<(PathBuf, Compiled, Arc<Plan>)>, ExitCode> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    for p in &paths {
        if !p.exists() {
            eprintln!("error: {} does not exist", p.display());
            return Err(ExitCode::from(EXIT_COMPILE));
        }
    }
    let options = CompileOptions::from_env();
    let mut units = Vec::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    for (_, path) in collect_files(&paths) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("warning: cannot read {}: {e}", path.display());
                continue;
            }
        };
        if kind_of(&path, &text) != FileKind::Pattern {
            continue;
        }
        let compiled = compile(&path, &text, &options, license);
        if compiled.errors() > 0 {
            print_diagnostics(&compiled.diagnostics, &compiled.file);
            eprintln!("warning: {} is not served: it has errors", path.display());
            continue;
        }
        let Some(plan) = compiled.plan.clone() else {
            continue;
        };
        if !plan
            .directives()
            .iter()
            .any(|d| d.kind == DirectiveKind::Schedule)
        {
            continue;
        }
        if let Some(first) = names.get(&plan.meta.name) {
            eprintln!(
                "error: {} and {} both define the scheduled pattern `{}`; names must be unique",
                first.display(),
                path.display(),
                plan.meta.name
            );
            return Err(ExitCode::from(EXIT_COMPILE));
        }
        names.insert(plan.meta.name.clone(), path.clone());
        units.push((path, compiled, plan));
    }
    if units.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "error: no pattern with a `schedule` under {}",
            shown.join(", ")
        );
        return Err(ExitCode::from(EXIT_COMPILE));
    }
    Ok(units)
}

fn make_job(
    args: &ServeArgs,
    unit: &Compiled,
    plan: Arc<Plan>,
    store: &Arc<Store>,
    record_stores: &mut HashMap<String, Arc<Store>>,
) -> Result<Job, String> {
    let path = Path::new(&*unit.file.name);
    let loaded = unit.loaded.clone();
    let timeout = match loaded.as_deref() {
        Some(Loaded::Prism(p)) => Some(Duration::from_millis(p.timeout_ms)),
        _ => None,
    };
    let agents = load_agents(
        path,
        args.agents.as_deref(),
        &args.agent,
        largest_min(&plan),
    )?;
    let persistence = plan
        .directives()
        .iter()
        .find(|d| d.kind == DirectiveKind::Persistence && d.config["enabled"] != Json::Bool(false))
        .map(|d| d.config.clone());
    let records = match persistence {
        None => None,
        Some(config) => {
            let retention =
                Retention::from_json(config.get("retention")).map_err(|e| e.to_string())?;
            // The directive's own store, else the serve store (as `prism run` does).
            let target = match config.get("store").and_then(Json::as_str) {
                None => store.clone(),
                Some(url) if Location::parse(url).is_ok_and(|l| &l == store.location()) => {
                    store.clone()
                }
                Some(url) => match record_stores.get(url) {
                    Some(s) => s.clone(),
                    None => {
                        let s = Arc::new(
                            Store::open_url(Some(url))
                                .map_err(|e| format!("cannot open the store {url}: {e}"))?,
                        );
                        record_stores.insert(url.to_string(), s.clone());
                        s
                    }
                },
            };
            Some((target, retention))
        }
    };
    let options = RunOptions {
        agents,
        timeout,
        source: Some(unit.file.text.clone()),
        model: loaded,
        script_output: ScriptOutput::Stderr,
        persist: Some(super::run_pattern::nested_persistence(None)),
        ..RunOptions::default()
    };
    Job::new(plan, options, records).map_err(|e| e.to_string())
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    rfc3339(u64::try_from(t.timestamp_millis()).unwrap_or(0))
}

/// One line per run on stdout; everything else on stderr.
fn print_event(event: Event) {
    match event {
        Event::Ran {
            job,
            run,
            max_runs,
            scheduled_for,
            record,
            store_error,
        } => {
            let confidence = record.result.as_ref().map_or(0.0, |(_, c)| *c);
            let of = max_runs.map_or_else(String::new, |m| format!("/{m}"));
            println!(
                "{} {job} {} confidence={confidence:.3} duration={}ms run={run}{of} scheduledFor={} id={}",
                record.ended_at,
                record.status.as_str(),
                record.duration_ms,
                time(scheduled_for),
                record.id
            );
            if let Some(err) = &record.error {
                eprintln!(
                    "serve: {job}: run {run}: error[{}]: {}",
                    err.code, err.message
                );
            }
            if let Some(e) = store_error {
                eprintln!("warning: {job}: run {run}: the execution record was not stored: {e}");
            }
        }
        Event::Scheduled {
            job,
            schedule,
            next,
            runs,
        } => {
            // Without a next run, `Ended` follows at once and says so.
            if let Some(t) = next {
                eprintln!(
                    "serve: {job}: {schedule}, next run {} ({runs} run(s) so far)",
                    time(t)
                );
            }
        }
        Event::Missed {
            job,
            count,
            capped,
            policy,
            running,
        } => eprintln!(
            "serve: {job}: {}{count} run(s) missed while not served (missed: {}): running {running} now",
            if capped { "at least " } else { "" },
            policy.as_str()
        ),
        Event::Overlapped {
            job,
            scheduled_for,
            policy,
        } => eprintln!(
            "serve: {job}: run due {} {} (overlap: {})",
            time(scheduled_for),
            if policy == prism_serve::Overlap::Queue {
                "queued behind the run still going"
            } else {
                "skipped: the previous run is still going"
            },
            policy.as_str()
        ),
        Event::StoreError { job, message } => eprintln!("warning: {job}: {message}"),
        Event::Ended { job, runs } => {
            eprintln!("serve: {job}: schedule ended after {runs} run(s)");
        }
        Event::Stopping {
            job,
            in_flight,
            grace,
        } => eprintln!(
            "serve: {job}: waiting up to {}s for {in_flight} run(s) in flight, then cancelling",
            grace.as_secs()
        ),
    }
}
