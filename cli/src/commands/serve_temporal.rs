//! `prism serve --temporal HOST:PORT`: every `schedule` directive under the paths becomes a
//! Temporal Schedule (id `prism-<pattern>`), created or updated to match the pattern, whose
//! action starts the `PrismRun` workflow that `prism run --temporal` starts. The server fires
//! the runs from then on; `prism worker` processes run them. This process applies the
//! schedules, deletes its own schedules of patterns no longer served (same namespace and task
//! queue), then reports each run the server starts until every schedule has ended or Ctrl-C /
//! SIGTERM (`--detach`: exits at once). Stopping it stops nothing on the server.
//!
//! Every directive is mapped and every agents file read before anything connects; one that
//! cannot run on Temporal stops `serve` with its diagnostic and changes nothing.
//!
//! Output on stdout: one line when the server starts a run —
//! `<seen> <pattern> started workflow=<workflow id> scheduledFor=<t>` — and one when it ends,
//! as a local `serve` prints it (with `workflow=<workflow id>`); on stderr what `serve` does.

use std::process::ExitCode;

use prism_license::License;

use super::serve::ServeArgs;

/// Runs `prism serve --temporal ADDRESS` (the licence is checked already).
pub fn serve(address: &str, args: &ServeArgs, license: &License) -> ExitCode {
    imp::serve(address, args, license)
}

#[cfg(not(feature = "temporal"))]
mod imp {
    use super::*;
    use crate::report::EXIT_RUNTIME;

    pub fn serve(_address: &str, _args: &ServeArgs, _license: &License) -> ExitCode {
        eprintln!(
            "error: this prism was built without Temporal support; build it with `cargo build --release -p prism-cli --features temporal` (needs protoc)"
        );
        ExitCode::from(EXIT_RUNTIME)
    }
}

#[cfg(feature = "temporal")]
mod imp {
    use std::collections::{BTreeSet, HashSet};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use prism_compiler::pattern::directives::DirectiveKind;
    use prism_compiler::plan::Plan;
    use prism_executor::record::rfc3339;
    use prism_executor::{ExecutionRecord, largest_min};
    use prism_temporal::input::SCHEDULE_TRIGGER;
    use prism_temporal::sdk::Endpoint;
    use prism_temporal::sdk::schedules::{Applied, Schedules, ServedSchedule, connect_schedules};
    use prism_temporal::{RunInput, map_schedule, refusals};
    use serde_json::json;

    use super::*;
    use crate::commands::compile::Compiled;
    use crate::commands::serve::{scheduled_units, signalled};
    use crate::commands::temporal::imp::agents_data;
    use crate::report::{EXIT_COMPILE, EXIT_RUNTIME};

    /// How often the report asks the server about the schedules.
    const POLL: Duration = Duration::from_secs(1);

    pub fn serve(address: &str, args: &ServeArgs, license: &License) -> ExitCode {
        let units = match scheduled_units(&args.paths, license) {
            Ok(u) => u,
            Err(code) => return code,
        };
        let mut served = Vec::new();
        let mut refused = 0;
        for (path, unit, plan) in &units {
            match served_schedule(path, unit, plan, args) {
                Ok(s) => served.push(s),
                Err(why) => {
                    for line in why {
                        eprintln!("error: {}: {line}", path.display());
                    }
                    refused += 1;
                }
            }
        }
        if refused > 0 {
            eprintln!(
                "error: {refused} scheduled pattern(s) cannot be served on Temporal; nothing was changed on the server"
            );
            return ExitCode::from(EXIT_COMPILE);
        }
        let endpoint = Endpoint {
            address: address.to_string(),
            namespace: args.namespace.clone(),
            task_queue: args.task_queue.clone(),
        };
        let runtime = match crate::report::async_runtime() {
            Ok(rt) => rt,
            Err(code) => return code,
        };
        let code = runtime.block_on(async {
            let schedules = match apply_all(&endpoint, &served).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            if args.detach {
                eprintln!(
                    "serve: the schedules are on the server, which fires them; `prism worker --temporal {} --task-queue {}` runs them",
                    endpoint.address, endpoint.task_queue
                );
                return ExitCode::SUCCESS;
            }
            report(&schedules, &served).await;
            ExitCode::SUCCESS
        });
        runtime.shutdown_timeout(Duration::from_millis(500));
        code
    }

    /// The schedule of one pattern, or every reason it cannot be one.
    fn served_schedule(
        path: &Path,
        unit: &Compiled,
        plan: &Arc<Plan>,
        args: &ServeArgs,
    ) -> Result<ServedSchedule, Vec<String>> {
        let mut why = refusals(plan);
        let config = plan
            .directives()
            .iter()
            .find(|d| d.kind == DirectiveKind::Schedule)
            .map(|d| d.config.clone())
            .unwrap_or_default();
        let mapped = map_schedule(&plan.meta.name, &config).map_err(|e| e.to_string());
        let agents = agents_data(path, args.agents.as_deref(), &args.agent, largest_min(plan));
        if let Err(e) = &mapped {
            why.push(e.clone());
        }
        if let Err(e) = &agents {
            why.push(e.clone());
        }
        let (Ok(mapped), Ok(agents), true) = (mapped, agents, why.is_empty()) else {
            return Err(why);
        };
        let input = RunInput {
            // Each run takes its workflow run id (see `RunInput::execution`).
            execution_id: String::new(),
            file_name: path.display().to_string(),
            source: unit.file.text.to_string(),
            version: plan.meta.version.clone(),
            plan_hash: plan.hash(),
            input: mapped.input.clone(),
            agents,
            timeout_ms: None,
            backoff_ms: 1000,
            trigger: json!({"kind": SCHEDULE_TRIGGER, "schedule": mapped.id}),
            // The workers write each run's records where the pattern keeps them.
            persistence: crate::commands::run_pattern::persistence_config(
                plan,
                args.store.as_ref(),
            ),
        };
        Ok(ServedSchedule {
            pattern: plan.meta.name.clone(),
            mapped,
            input,
        })
    }

    /// Creates or updates every schedule, then deletes `serve`'s schedules of patterns no
    /// longer served.
    async fn apply_all(
        endpoint: &Endpoint,
        served: &[ServedSchedule],
    ) -> Result<Schedules, ExitCode> {
        let fail = |e: prism_temporal::sdk::TemporalError| {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        };
        let schedules = connect_schedules(endpoint).await.map_err(fail)?;
        for s in served {
            let what = match schedules.apply(s).await.map_err(fail)? {
                Applied::Created => "created".to_string(),
                Applied::Updated { ran } => {
                    format!("updated to match the pattern ({ran} run(s) started before)")
                }
            };
            eprintln!(
                "serve: {}: schedule {} {what}; {}",
                s.pattern,
                s.mapped.id,
                describe(s)
            );
        }
        let keep: BTreeSet<String> = served.iter().map(|s| s.mapped.id.clone()).collect();
        for id in schedules.prune(&keep).await.map_err(fail)? {
            eprintln!(
                "serve: schedule {id} deleted: its pattern is no longer served on task queue {}",
                endpoint.task_queue
            );
        }
        eprintln!(
            "serve: {} schedule(s) on Temporal at {} (namespace {}, task queue {})",
            served.len(),
            endpoint.address,
            endpoint.namespace,
            endpoint.task_queue
        );
        Ok(schedules)
    }

    /// `every 2s, at most 2 runs, overlap skip, catch-up 10s` and the like.
    fn describe(s: &ServedSchedule) -> String {
        use prism_temporal::schedule::{Fire, OverlapPolicy};
        let m = &s.mapped;
        let mut out = match &m.fire {
            Fire::Cron(expr) => format!("cron `{expr}` in {}", m.timezone),
            Fire::Interval { every, phase } if phase.is_zero() => {
                format!("every {}s", every.as_secs_f64())
            }
            Fire::Interval { every, phase } => format!(
                "every {}s (offset {}s)",
                every.as_secs_f64(),
                phase.as_secs_f64()
            ),
        };
        if let Some(n) = m.remaining_actions {
            out.push_str(&format!(", at most {n} run(s)"));
        }
        out.push_str(match m.overlap {
            OverlapPolicy::Skip => ", overlap skip",
            OverlapPolicy::BufferAll => ", overlap buffer all",
            OverlapPolicy::AllowAll => ", overlap allow all",
        });
        out.push_str(&format!(", catch-up {}s", m.catchup_window.as_secs()));
        out
    }

    fn time(t: SystemTime) -> String {
        let ms = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        rfc3339(ms)
    }

    /// A run's end, from its record.
    type Ended = (
        String,
        String,
        Option<SystemTime>,
        Result<serde_json::Value, String>,
    );

    /// Reports each run the server starts, and its end, until every schedule has ended and
    /// its runs are reported, or a signal.
    async fn report(schedules: &Schedules, served: &[ServedSchedule]) {
        let mut seen: HashSet<String> = HashSet::new();
        // Runs started before this `serve` are not reported again.
        for s in served {
            if let Ok(state) = schedules.state(&s.mapped.id).await {
                seen.extend(state.recent.into_iter().map(|(id, _)| id));
            }
        }
        let (sender, mut ended) = tokio::sync::mpsc::unbounded_channel::<Ended>();
        let poll = async {
            let mut unreachable = false;
            let mut waiting = 0usize;
            loop {
                while let Ok((pattern, workflow, scheduled, record)) = ended.try_recv() {
                    waiting = waiting.saturating_sub(1);
                    print_ended(&pattern, &workflow, scheduled, record);
                }
                let mut done = 0;
                for s in served {
                    match schedules.state(&s.mapped.id).await {
                        Ok(state) => {
                            if unreachable {
                                eprintln!("serve: the server answers again");
                                unreachable = false;
                            }
                            for (workflow, scheduled) in &state.recent {
                                if !seen.insert(workflow.clone()) {
                                    continue;
                                }
                                println!(
                                    "{} {} started workflow={workflow} scheduledFor={}",
                                    time(SystemTime::now()),
                                    s.pattern,
                                    scheduled.map_or_else(|| "-".to_string(), time)
                                );
                                waiting += 1;
                                let (schedules, sender) = (schedules.clone(), sender.clone());
                                let (pattern, workflow, scheduled) =
                                    (s.pattern.clone(), workflow.clone(), *scheduled);
                                tokio::spawn(async move {
                                    let record = schedules
                                        .record(&workflow)
                                        .await
                                        .map_err(|e| e.to_string());
                                    let _ = sender.send((pattern, workflow, scheduled, record));
                                });
                            }
                            if state.ended() {
                                done += 1;
                            }
                        }
                        Err(e) => {
                            if !unreachable {
                                eprintln!(
                                    "warning: {e}; the schedules are the server's: asking again"
                                );
                                unreachable = true;
                            }
                        }
                    }
                }
                if done == served.len() && waiting == 0 {
                    return;
                }
                tokio::time::sleep(POLL).await;
            }
        };
        tokio::select! {
            () = poll => eprintln!("serve: every schedule has ended"),
            () = signalled() => eprintln!(
                "serve: stopped reporting; the schedules stay on the server and go on firing"
            ),
        }
    }

    /// `<ended> <pattern> <status> confidence=<c> duration=<ms>ms scheduledFor=<t> id=<id>
    /// workflow=<workflow id>`, as a local `serve` prints a run (without the run count).
    fn print_ended(
        pattern: &str,
        workflow: &str,
        scheduled: Option<SystemTime>,
        record: Result<serde_json::Value, String>,
    ) {
        let record = record.and_then(|json| {
            ExecutionRecord::from_json(&json)
                .ok_or_else(|| "the run's record is not an execution record".to_string())
        });
        match record {
            Ok(record) => {
                let confidence = record.result.as_ref().map_or(0.0, |(_, c)| *c);
                println!(
                    "{} {pattern} {} confidence={confidence:.3} duration={}ms scheduledFor={} id={} workflow={workflow}",
                    record.ended_at,
                    record.status.as_str(),
                    record.duration_ms,
                    scheduled.map_or_else(|| "-".to_string(), time),
                    record.id
                );
                if let Some(err) = &record.error {
                    eprintln!(
                        "serve: {pattern}: {workflow}: error[{}]: {}",
                        err.code, err.message
                    );
                }
            }
            Err(e) => eprintln!("serve: {pattern}: {workflow}: {e}"),
        }
    }
}
