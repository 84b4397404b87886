//! `prism serve --temporal`: each `schedule` directive as a Temporal Schedule, created or
//! updated on the server under its stable id (`prism-<pattern>`), whose action starts the
//! same `PrismRun` workflow as `prism run --temporal`. From then on the server fires the runs:
//! the `serve` process only applies the schedules and, while it stays up, reports them.
//!
//! A schedule is `serve`'s own when its id starts with [`SCHEDULE_ID_PREFIX`], its action
//! starts [`WORKFLOW_TYPE`] and its task queue is the one served; [`Schedules::prune`] deletes
//! such schedules whose pattern is no longer served, and [`Schedules::apply`] refuses to take
//! over a schedule of that id that is not `serve`'s own.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use temporalio_client::schedules::{
    CreateScheduleOptions, DeleteScheduleOptions, ListSchedulesOptions, ScheduleAction,
    ScheduleDescription, ScheduleDescriptionAction, ScheduleError, ScheduleIntervalSpec,
    ScheduleOverlapPolicy, ScheduleSpec,
};
use temporalio_client::tonic::Code;
use temporalio_client::{Client, RpcOptions};

use super::client::{Endpoint, TemporalError, connect, wait_record};
use super::workflow::PrismRun;
use crate::schedule::{Fire, MappedSchedule, OverlapPolicy};
use crate::{RunInput, WORKFLOW_TYPE};

/// The prefix of every schedule id `serve` makes (`prism-<pattern>`).
pub const SCHEDULE_ID_PREFIX: &str = "prism-";

/// One served pattern's schedule: the mapping of its directive and the input of its runs
/// (whose execution id is empty: each run takes its workflow run id).
#[derive(Debug, Clone)]
pub struct ServedSchedule {
    /// The pattern's name.
    pub pattern: String,
    /// The mapped directive.
    pub mapped: MappedSchedule,
    /// The input every run starts with.
    pub input: RunInput,
}

/// What [`Schedules::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A new schedule.
    Created,
    /// The existing schedule now matches the pattern; it had started `ran` runs.
    Updated {
        /// Runs the schedule had started before.
        ran: u64,
    },
}

/// What the server says about a schedule, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    /// Runs started so far.
    pub started: u64,
    /// The workflows of the most recent runs (the server keeps the last few): id and when
    /// each was scheduled.
    pub recent: Vec<(String, Option<SystemTime>)>,
    /// Runs still going.
    pub running: usize,
    /// The next fire time, if any.
    pub next: Option<SystemTime>,
}

impl ScheduleState {
    /// No run will start any more and none is going.
    pub fn ended(&self) -> bool {
        self.next.is_none() && self.running == 0
    }
}

/// The schedules of one namespace and task queue.
#[derive(Clone)]
pub struct Schedules {
    client: Client,
    endpoint: Endpoint,
}

/// Connects to the server for schedules.
pub async fn connect_schedules(endpoint: &Endpoint) -> Result<Schedules, TemporalError> {
    Ok(Schedules {
        client: connect(endpoint).await?,
        endpoint: endpoint.clone(),
    })
}

fn failed(id: &str, e: impl std::fmt::Display) -> TemporalError {
    TemporalError::Schedule {
        id: id.to_string(),
        message: e.to_string(),
    }
}

impl Schedules {
    /// Creates the schedule, or updates the one of its id so that it matches the pattern
    /// again (spec, action, policies, runs left, unpaused).
    pub async fn apply(&self, served: &ServedSchedule) -> Result<Applied, TemporalError> {
        let id = served.mapped.id.as_str();
        let spec = spec_of(&served.mapped).map_err(|e| failed(id, e))?;
        let action = || {
            ScheduleAction::start_workflow(
                PrismRun::run,
                served.input.clone(),
                self.endpoint.task_queue.clone(),
                id.to_string(),
            )
        };
        let note = note_of(&served.pattern, &served.input.plan_hash);
        // Created paused, then unpaused by the update that sets what creation cannot (runs
        // left, catch-up window): no run fires from a half-made schedule.
        let created = self
            .client
            .create_schedule(
                id,
                CreateScheduleOptions::builder()
                    .action(action())
                    .spec(spec.clone())
                    .overlap_policy(overlap_of(served.mapped.overlap))
                    .paused(true)
                    .note(note.clone())
                    .build(),
            )
            .await;
        let created = match created {
            Ok(_) => true,
            Err(ScheduleError::Rpc(status)) if status.code() == Code::AlreadyExists => false,
            Err(e) => return Err(failed(id, e)),
        };
        let handle = self.client.get_schedule_handle(id);
        let description = handle
            .describe(RpcOptions::default())
            .await
            .map_err(|e| failed(id, e))?;
        let ran = u64::try_from(description.action_count()).unwrap_or(0);
        if let Err(why) = owned(&description, &self.endpoint.task_queue) {
            return Err(failed(id, why));
        }
        let mut update = description.into_update();
        update
            .set_spec(spec)
            .set_action(action())
            .set_overlap_policy(overlap_of(served.mapped.overlap))
            .set_catchup_window(served.mapped.catchup_window)
            .set_remaining_actions(remaining(served.mapped.remaining_actions, ran))
            .set_note(note)
            .set_paused(false);
        handle
            .send_update(update, RpcOptions::default())
            .await
            .map_err(|e| failed(id, e))?;
        Ok(if created {
            Applied::Created
        } else {
            Applied::Updated { ran }
        })
    }

    /// Deletes `serve`'s schedules of this task queue whose id is not in `keep`; returns
    /// their ids.
    pub async fn prune(&self, keep: &BTreeSet<String>) -> Result<Vec<String>, TemporalError> {
        let mut candidates = Vec::new();
        let mut list = self.client.list_schedules(ListSchedulesOptions::default());
        while let Some(entry) = list.next().await {
            let entry = entry.map_err(|e| failed("(list)", e))?;
            let id = entry.schedule_id();
            if id.starts_with(SCHEDULE_ID_PREFIX)
                && !keep.contains(id)
                && entry.workflow_type().is_none_or(|t| t == WORKFLOW_TYPE)
            {
                candidates.push(id.to_string());
            }
        }
        let mut deleted = Vec::new();
        for id in candidates {
            let handle = self.client.get_schedule_handle(id.clone());
            let description = match handle.describe(RpcOptions::default()).await {
                Ok(d) => d,
                // Listed, then gone (visibility lags behind): nothing to delete.
                Err(ScheduleError::Rpc(s)) if s.code() == Code::NotFound => continue,
                Err(e) => return Err(failed(&id, e)),
            };
            if owned(&description, &self.endpoint.task_queue).is_err() {
                continue;
            }
            handle
                .delete(DeleteScheduleOptions::default())
                .await
                .map_err(|e| failed(&id, e))?;
            deleted.push(id);
        }
        Ok(deleted)
    }

    /// The execution record of the run workflow `workflow_id` (waits for it to end).
    pub async fn record(&self, workflow_id: &str) -> Result<serde_json::Value, TemporalError> {
        wait_record(
            &self.client,
            &self.endpoint.address,
            workflow_id,
            &mut |_: &str| {},
        )
        .await
    }

    /// What the server says about the schedule `id`.
    pub async fn state(&self, id: &str) -> Result<ScheduleState, TemporalError> {
        let d = self
            .client
            .get_schedule_handle(id)
            .describe(RpcOptions::default())
            .await
            .map_err(|e| failed(id, e))?;
        let limited_out = d
            .raw()
            .schedule
            .as_ref()
            .and_then(|s| s.state.as_ref())
            .is_some_and(|s| s.limited_actions && s.remaining_actions <= 0);
        Ok(ScheduleState {
            started: u64::try_from(d.action_count()).unwrap_or(0),
            recent: d
                .recent_actions()
                .into_iter()
                .map(|a| (a.workflow_id, a.schedule_time))
                .collect(),
            running: d.running_actions().len(),
            next: if limited_out {
                None
            } else {
                d.future_action_times().into_iter().next()
            },
        })
    }
}

/// `Ok` when the described schedule is `serve`'s own on `task_queue`; else why not.
fn owned(d: &ScheduleDescription, task_queue: &str) -> Result<(), String> {
    let ScheduleDescriptionAction::StartWorkflow(action) = d.action() else {
        return Err("a schedule of this id exists and does not start a workflow: it is not prism serve's; delete it or rename the pattern".into());
    };
    ownership(action.workflow_type(), action.task_queue(), task_queue)
}

fn ownership(workflow_type: &str, queue: &str, served_queue: &str) -> Result<(), String> {
    if workflow_type != WORKFLOW_TYPE {
        return Err(format!(
            "a schedule of this id exists and starts `{workflow_type}`, not `{WORKFLOW_TYPE}`: it is not prism serve's; delete it or rename the pattern"
        ));
    }
    if queue != served_queue {
        return Err(format!(
            "a schedule of this id exists for task queue `{queue}` (another `prism serve --temporal`?), not `{served_queue}`; delete it or serve that task queue"
        ));
    }
    Ok(())
}

/// The schedule's note: who made it, for which pattern and plan.
fn note_of(pattern: &str, plan_hash: &str) -> String {
    let short: String = plan_hash.chars().take(12).collect();
    format!("prism serve: pattern {pattern}, plan {short}")
}

/// `maxRuns` less the runs the schedule has started already (`None`: unlimited).
fn remaining(max_runs: Option<u64>, ran: u64) -> Option<i64> {
    max_runs.map(|m| i64::try_from(m.saturating_sub(ran)).unwrap_or(i64::MAX))
}

fn overlap_of(p: OverlapPolicy) -> ScheduleOverlapPolicy {
    match p {
        OverlapPolicy::Skip => ScheduleOverlapPolicy::Skip,
        OverlapPolicy::BufferAll => ScheduleOverlapPolicy::BufferAll,
        OverlapPolicy::AllowAll => ScheduleOverlapPolicy::AllowAll,
    }
}

fn instant(text: &str) -> Result<SystemTime, String> {
    let t = prism_compiler::pattern::directives::parse_rfc3339(text)
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 time"))?;
    let ms = u64::try_from(t.timestamp_millis())
        .map_err(|_| format!("`{text}` is before 1970, which Temporal does not take"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
}

/// The Temporal spec of a mapped directive.
fn spec_of(m: &MappedSchedule) -> Result<ScheduleSpec, String> {
    let start = m.start.as_deref().map(instant).transpose()?;
    let end = m.end.as_deref().map(instant).transpose()?;
    let builder = ScheduleSpec::builder()
        .timezone_name(m.timezone.clone())
        .maybe_start_time(start)
        .maybe_end_time(end);
    Ok(match &m.fire {
        Fire::Cron(expr) => builder.cron_strings(vec![expr.clone()]).build(),
        Fire::Interval { every, phase } => builder
            .intervals(vec![ScheduleIntervalSpec::new(
                *every,
                (!phase.is_zero()).then_some(*phase),
            )])
            .build(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map_schedule;
    use serde_json::json;

    #[test]
    fn a_cron_directive_becomes_a_cron_spec_in_its_zone_and_window() {
        let m = map_schedule(
            "nightly",
            &json!({"cron": "0 2 * * *", "timezone": "Europe/Berlin",
                    "start": "2026-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"}),
        )
        .expect("maps");
        let spec = spec_of(&m).expect("spec");
        assert_eq!(spec.cron_strings, vec!["0 2 * * *".to_string()]);
        assert!(spec.intervals.is_empty());
        assert_eq!(spec.timezone_name, "Europe/Berlin");
        assert_eq!(
            spec.start_time,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        );
        assert_eq!(
            spec.end_time,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000))
        );
    }

    #[test]
    fn an_interval_keeps_its_phase() {
        let m = map_schedule(
            "i",
            &json!({"interval": "15m", "start": "2026-01-01T00:05:00Z"}),
        )
        .expect("maps");
        let spec = spec_of(&m).expect("spec");
        assert_eq!(
            spec.intervals,
            vec![ScheduleIntervalSpec::new(
                Duration::from_secs(900),
                Some(Duration::from_secs(300))
            )]
        );
        let plain =
            spec_of(&map_schedule("j", &json!({"interval": "2s"})).expect("maps")).expect("spec");
        assert_eq!(
            plain.intervals,
            vec![ScheduleIntervalSpec::new(Duration::from_secs(2), None)]
        );
        assert_eq!(plain.timezone_name, "UTC");
        assert_eq!(plain.start_time, None);
    }

    #[test]
    fn policies_runs_left_and_ownership() {
        assert_eq!(overlap_of(OverlapPolicy::Skip), ScheduleOverlapPolicy::Skip);
        assert_eq!(
            overlap_of(OverlapPolicy::BufferAll),
            ScheduleOverlapPolicy::BufferAll
        );
        assert_eq!(
            overlap_of(OverlapPolicy::AllowAll),
            ScheduleOverlapPolicy::AllowAll
        );
        assert_eq!(remaining(None, 7), None);
        assert_eq!(remaining(Some(3), 0), Some(3));
        assert_eq!(remaining(Some(3), 2), Some(1));
        assert_eq!(remaining(Some(3), 5), Some(0));
        assert!(ownership("PrismRun", "q", "q").is_ok());
        assert!(
            ownership("Other", "q", "q")
                .expect_err("not ours")
                .contains("not prism serve's")
        );
        assert!(
            ownership("PrismRun", "other", "q")
                .expect_err("another queue")
                .contains("task queue `other`")
        );
        assert_eq!(
            note_of("vote", "0123456789abcdef"),
            "prism serve: pattern vote, plan 0123456789ab"
        );
    }
}
