//! The serving loop: one tokio task per scheduled pattern sleeps until its next time, applies
//! the `overlap` policy, runs the plan with the executor (`trigger {kind: schedule,
//! scheduledFor}`), writes the execution record when the pattern has persistence, and saves
//! the schedule state to the store after every change, so a restart goes on where it
//! stopped. Everything worth telling goes out as an [`Event`]; printing is the caller's job.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prism_compiler::plan::Plan;
use prism_executor::input::validate_input;
use prism_executor::record::rfc3339;
use prism_executor::{ExecutionRecord, RunOptions, execute};
use prism_store::{Retention, ScheduleState, Store};
use serde_json::{Value as Json, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::spec::{Missed, Overlap, ScheduleSpec, SpecError};
use crate::timing::{first_run, from_ms, next_after, resume};

/// Where "now" comes from (injectable for tests; sleeping is always real time).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Why a pattern cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The plan has no `schedule` directive.
    #[error("the pattern has no schedule")]
    NoSchedule,
    /// The directive cannot be served.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// `schedule.input` does not satisfy the pattern's input schema.
    #[error("schedule input does not satisfy the pattern's input: {}", .0.join("; "))]
    Input(Vec<String>),
}

/// One scheduled pattern.
pub struct Job {
    /// The pattern's name (logs and the state key).
    pub name: String,
    /// The schedule.
    pub spec: ScheduleSpec,
    /// The compiled plan.
    pub plan: Arc<Plan>,
    /// Options every run starts from (agents, source, model, workspace, …); the input, the
    /// trigger and the cancellation token are set per run.
    pub options: RunOptions,
    /// The validated input with defaults applied.
    pub input: Json,
    /// With persistence: the store and retention the execution records go to.
    pub records: Option<(Arc<Store>, Retention)>,
}

impl Job {
    /// A job for `plan`: reads its schedule directive and validates the schedule's input
    /// against the pattern's input schema (defaults applied).
    pub fn new(
        plan: Arc<Plan>,
        options: RunOptions,
        records: Option<(Arc<Store>, Retention)>,
    ) -> Result<Job, JobError> {
        let directive = plan
            .directives()
            .iter()
            .find(|d| d.kind == prism_compiler::pattern::directives::DirectiveKind::Schedule)
            .ok_or(JobError::NoSchedule)?;
        let spec = ScheduleSpec::from_config(&directive.config)?;
        let input = validate_input(&plan.meta.input, &spec.input).map_err(JobError::Input)?;
        Ok(Job {
            name: plan.meta.name.clone(),
            spec,
            plan,
            options,
            input,
            records,
        })
    }

    /// The key its state is saved under: the pattern name and the schedule's fingerprint.
    pub fn key(&self) -> String {
        format!("{}#{}", self.name, self.spec.fingerprint)
    }
}

/// Settings of the serving loop.
#[derive(Clone)]
pub struct ServeOptions {
    /// On shutdown, how long in-flight runs may go on before they are cancelled.
    pub grace: Duration,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            grace: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

/// What happened, for the caller to print.
#[derive(Debug, Clone)]
pub enum Event {
    /// A schedule was taken on (or resumed).
    Scheduled {
        /// Pattern name.
        job: String,
        /// `every 1s`, `cron "…" (zone)`.
        schedule: String,
        /// Its next time, if it goes on.
        next: Option<DateTime<Utc>>,
        /// Runs so far (from the store).
        runs: u64,
    },
    /// Runs were due while nothing served the schedule.
    Missed {
        /// Pattern name.
        job: String,
        /// How many (at least, when `capped`).
        count: usize,
        /// More were missed than examined.
        capped: bool,
        /// The policy applied.
        policy: Missed,
        /// How many of them run now.
        running: usize,
    },
    /// A run was due while the previous one was still going.
    Overlapped {
        /// Pattern name.
        job: String,
        /// When it was due.
        scheduled_for: DateTime<Utc>,
        /// The policy applied: `skip` (not run) or `queue` (runs when the other ends).
        policy: Overlap,
    },
    /// A run finished (its record was written first, with persistence).
    Ran {
        /// Pattern name.
        job: String,
        /// Its number (1-based, across restarts).
        run: u64,
        /// `maxRuns`.
        max_runs: Option<u64>,
        /// When it was due.
        scheduled_for: DateTime<Utc>,
        /// The execution record.
        record: Box<ExecutionRecord>,
        /// Why writing the record failed, if it did.
        store_error: Option<String>,
    },
    /// Reading or writing the schedule state failed (the loop goes on).
    StoreError {
        /// Pattern name.
        job: String,
        /// What failed and why.
        message: String,
    },
    /// The schedule ended (`maxRuns`, `end`) and nothing is running.
    Ended {
        /// Pattern name.
        job: String,
        /// Runs in all.
        runs: u64,
    },
    /// Shutting down with runs still going.
    Stopping {
        /// Pattern name.
        job: String,
        /// Runs still going.
        in_flight: usize,
        /// How long they may take before they are cancelled.
        grace: Duration,
    },
}

/// The sink events go to.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// Serves every job until each schedule has ended or `shutdown` is cancelled; then lets
/// in-flight runs finish (up to [`ServeOptions::grace`], then cancels them) and saves state.
pub async fn serve(
    jobs: Vec<Job>,
    store: Arc<Store>,
    options: ServeOptions,
    shutdown: CancellationToken,
    events: EventSink,
) {
    let mut tasks = JoinSet::new();
    for job in jobs {
        let ctx = JobCtx {
            key: job.key(),
            job: Arc::new(job),
            store: store.clone(),
            options: options.clone(),
            events: events.clone(),
            runs_cancel: CancellationToken::new(),
        };
        tasks.spawn(ctx.run(shutdown.clone()));
    }
    while tasks.join_next().await.is_some() {}
}

struct JobCtx {
    job: Arc<Job>,
    key: String,
    store: Arc<Store>,
    options: ServeOptions,
    events: EventSink,
    runs_cancel: CancellationToken,
}

/// A finished run, back from its task.
struct Finished {
    run: u64,
    scheduled_for: DateTime<Utc>,
    record: ExecutionRecord,
    store_error: Option<String>,
}

impl JobCtx {
    fn emit(&self, event: Event) {
        (self.events)(event);
    }

    fn save(&self, state: &ScheduleState) {
        if let Err(e) = self.store.save_schedule(&self.key, state) {
            self.emit(Event::StoreError {
                job: self.job.name.clone(),
                message: format!("cannot save the schedule state: {e}"),
            });
        }
    }

    /// The stored state, with the `missed` policy applied: the runs to start now.
    fn take_on(&self) -> (ScheduleState, VecDeque<DateTime<Utc>>) {
        let now = self.options.clock.now();
        let spec = &self.job.spec;
        let stored = match self.store.load_schedule(&self.key) {
            Ok(s) => s,
            Err(e) => {
                self.emit(Event::StoreError {
                    job: self.job.name.clone(),
                    message: format!("cannot read the schedule state (starting afresh): {e}"),
                });
                None
            }
        };
        let Some(mut state) = stored else {
            let state = ScheduleState {
                next_run_ms: first_run(spec, now).map(|t| t.timestamp_millis()),
                ..ScheduleState::default()
            };
            return (state, VecDeque::new());
        };
        let r = resume(spec, &state, now);
        if r.missed > 0 {
            self.emit(Event::Missed {
                job: self.job.name.clone(),
                count: r.missed,
                capped: r.capped,
                policy: spec.missed,
                running: r.run.len(),
            });
        }
        state.next_run_ms = r.next.map(|t| t.timestamp_millis());
        (state, r.run.into())
    }

    async fn run(self, shutdown: CancellationToken) {
        let (mut state, mut queue) = self.take_on();
        self.save(&state);
        self.emit(Event::Scheduled {
            job: self.job.name.clone(),
            schedule: self.job.spec.describe(),
            next: state.next_run_ms.and_then(from_ms),
            runs: state.runs,
        });
        let overlap = self.job.spec.overlap;
        let mut in_flight: JoinSet<Finished> = JoinSet::new();
        loop {
            while !queue.is_empty() && (in_flight.is_empty() || overlap == Overlap::Allow) {
                let Some(t) = queue.pop_front() else { break };
                state.runs += 1;
                state.last_run_ms = Some(self.options.clock.now().timestamp_millis());
                in_flight.spawn(self.start(t, state.runs));
                self.save(&state);
            }
            let next = state.next_run_ms.and_then(from_ms);
            if next.is_none() && queue.is_empty() && in_flight.is_empty() {
                self.emit(Event::Ended {
                    job: self.job.name.clone(),
                    runs: state.runs,
                });
                break;
            }
            let wait = next.map(|t| (t - self.options.clock.now()).to_std().unwrap_or_default());
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                    self.finished(joined, &mut state);
                }
                () = sleep_or_forever(wait) => {
                    let Some(t) = next else { continue };
                    let now = self.options.clock.now();
                    if in_flight.is_empty() || overlap == Overlap::Allow {
                        queue.push_back(t);
                    } else {
                        if overlap == Overlap::Queue {
                            queue.push_back(t);
                        }
                        self.emit(Event::Overlapped {
                            job: self.job.name.clone(),
                            scheduled_for: t,
                            policy: overlap,
                        });
                    }
                    let accepted = state.runs + queue.len() as u64;
                    state.next_run_ms = next_after(&self.job.spec, t, now, accepted)
                        .map(|t| t.timestamp_millis());
                    self.save(&state);
                }
            }
        }
        if !in_flight.is_empty() {
            self.emit(Event::Stopping {
                job: self.job.name.clone(),
                in_flight: in_flight.len(),
                grace: self.options.grace,
            });
            let deadline = tokio::time::sleep(self.options.grace);
            tokio::pin!(deadline);
            while !in_flight.is_empty() {
                tokio::select! {
                    Some(joined) = in_flight.join_next() => self.finished(joined, &mut state),
                    () = &mut deadline, if !self.runs_cancel.is_cancelled() => self.runs_cancel.cancel(),
                }
            }
        }
        // Runs accepted but not started are due again at the next start (`missed` decides).
        if let Some(first) = queue.front() {
            state.next_run_ms = Some(first.timestamp_millis());
        }
        self.save(&state);
    }

    fn finished(
        &self,
        joined: Result<Finished, tokio::task::JoinError>,
        state: &mut ScheduleState,
    ) {
        match joined {
            Ok(done) => {
                state.last_status = Some(done.record.status.as_str().to_string());
                self.save(state);
                self.emit(Event::Ran {
                    job: self.job.name.clone(),
                    run: done.run,
                    max_runs: self.job.spec.max_runs,
                    scheduled_for: done.scheduled_for,
                    record: Box::new(done.record),
                    store_error: done.store_error,
                });
            }
            Err(e) => {
                state.last_status = Some("failed".into());
                self.save(state);
                self.emit(Event::StoreError {
                    job: self.job.name.clone(),
                    message: format!("a run stopped unexpectedly: {e}"),
                });
            }
        }
    }

    /// The future of one run: execute, then write the record (with persistence).
    fn start(
        &self,
        scheduled_for: DateTime<Utc>,
        run: u64,
    ) -> impl std::future::Future<Output = Finished> + Send + 'static {
        let job = self.job.clone();
        let cancel = self.runs_cancel.child_token();
        async move {
            let mut options = job.options.clone();
            options.input = job.input.clone();
            let ms = u64::try_from(scheduled_for.timestamp_millis()).unwrap_or(0);
            options.trigger = json!({"kind": "schedule", "scheduledFor": rfc3339(ms)});
            options.cancel = cancel;
            let record = execute(job.plan.clone(), options).await;
            let store_error = match &job.records {
                None => None,
                Some((store, retention)) => {
                    let (store, retention, json) = (store.clone(), *retention, record.to_json());
                    match tokio::task::spawn_blocking(move || store.write_record(&json, &retention))
                        .await
                    {
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(e) => Some(e.to_string()),
                    }
                }
            };
            Finished {
                run,
                scheduled_for,
                record,
                store_error,
            }
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
