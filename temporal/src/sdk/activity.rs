//! The `call_agent` activity: one attempt of one agent call. The worker builds the agent from
//! its definition in the activity input (cached by that definition, prepared once), calls the
//! named agent within the per-call timeout and heartbeats while it waits, so that a worker
//! lost in the middle of an attempt is noticed within [`crate::policy::HEARTBEAT_TIMEOUT`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prism_agents::{AgentError, AgentSet};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::policy::{AttemptOutcome, CallSpec, HEARTBEAT_EVERY};
use crate::records::RecordWrite;

/// The activities of a Prism worker.
#[derive(Default)]
pub struct PrismActivities {
    /// Agents built from their definitions (keyed by its JSON), prepared once.
    agents: tokio::sync::Mutex<HashMap<String, AgentSet>>,
    /// Calls made by this worker (for tests and logs).
    pub calls: Mutex<u64>,
    /// The stores records are written to, each opened once.
    recorder: Arc<prism_store::Recorder>,
}

impl PrismActivities {
    async fn agents_for(&self, spec: &CallSpec) -> Result<AgentSet, String> {
        let key = serde_json::to_string(&spec.def).map_err(|e| e.to_string())?;
        let mut cache = self.agents.lock().await;
        if let Some(set) = cache.get(&key) {
            return Ok(set.clone());
        }
        let (set, _warnings) = spec.def.build()?.for_run().await;
        cache.insert(key, set.clone());
        Ok(set)
    }
}

#[activities]
impl PrismActivities {
    /// Writes one node row or a run's record into the store of its `persistence` directive;
    /// a write done twice replaces itself (see [`crate::records`]). A failed write fails the
    /// activity, which Temporal tries again.
    #[activity(name = "prism_write_record")]
    pub async fn write_record(
        self: Arc<Self>,
        _ctx: ActivityContext,
        write: RecordWrite,
    ) -> Result<(), ActivityError> {
        let recorder = self.recorder.clone();
        let written = tokio::task::spawn_blocking(move || write.apply(&recorder))
            .await
            .map_err(|e| ActivityError::from(std::io::Error::other(e.to_string())))?;
        written.map_err(|e| ActivityError::from(std::io::Error::other(e)))
    }

    /// One attempt of an agent call; agent failures are outcomes (never activity failures).
    #[activity(name = "prism_call_agent")]
    pub async fn call_agent(
        self: Arc<Self>,
        ctx: ActivityContext,
        spec: CallSpec,
    ) -> Result<AttemptOutcome, ActivityError> {
        if let Ok(mut n) = self.calls.lock() {
            *n += 1;
        }
        let started = Instant::now();
        let set = match self.agents_for(&spec).await {
            Ok(set) => set,
            Err(e) => {
                let err = AgentError::Failed(format!("the worker cannot build the agent: {e}"));
                return Ok(AttemptOutcome::of(Err(err), 0));
            }
        };
        let Some(agent) = set
            .agents
            .iter()
            .find(|a| a.info().name == spec.agent)
            .cloned()
        else {
            let err = AgentError::Failed(format!(
                "agent {} is not among the worker's agents",
                spec.agent
            ));
            return Ok(AttemptOutcome::of(Err(err), 0));
        };
        let request = spec.request.to_request();
        let call = tokio::time::timeout(
            Duration::from_millis(spec.timeout_ms),
            agent.analyze(&request),
        );
        let mut call = std::pin::pin!(call);
        // The first heartbeat after a second: short calls send none.
        let mut beat = tokio::time::interval_at(
            tokio::time::Instant::now() + HEARTBEAT_EVERY,
            HEARTBEAT_EVERY,
        );
        let outcome = loop {
            tokio::select! {
                biased;
                r = &mut call => break match r {
                    Ok(r) => r,
                    Err(_) => Err(AgentError::Timeout(spec.timeout_ms)),
                },
                _ = ctx.cancelled() => break Err(AgentError::Cancelled),
                _ = beat.tick() => {
                    let _ = ctx.record_heartbeat(spec.attempt).await;
                }
            }
        };
        Ok(AttemptOutcome::of(
            outcome,
            started.elapsed().as_millis() as u64,
        ))
    }
}
