//! The executor's seam to the outside world: agent calls (with their policy), timers, and
//! the agents' preparation and release around a run. [`TokioEffects`] is the default (calls
//! run on tokio with `tokio::time` timeouts and sleeps); a distributed host supplies its own
//! (`prism-temporal`: each attempt an activity, each wait a workflow timer).
//!
//! Everything else the executor does is a pure function of the plan, the input and what
//! these effects return, which is what lets a workflow engine replay a run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use prism_agents::{AgentError, AgentRequest, AgentSet, SharedAgent};

use super::dispatch::{CallPolicy, result_of};
use super::record::AgentResult;

/// How a run reaches the outside world.
pub trait Effects: Send + Sync {
    /// Calls one agent under `policy` (per-call timeout, retries with backoff, cancellation);
    /// never fails (failures are results). Returns the result and the number of retries
    /// made; `seq` numbers the result when it arrives.
    fn call<'a>(
        &'a self,
        agent: SharedAgent,
        request: AgentRequest,
        policy: &'a CallPolicy,
        step: Option<&'a str>,
        seq: &'a (dyn Fn() -> u64 + Sync),
    ) -> BoxFuture<'a, (AgentResult, u32)>;

    /// Waits `duration` (phase and run timeouts, validation retry delays).
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// The agents of one run, prepared, with the preparation errors as warnings
    /// ([`AgentSet::for_run`] by default).
    fn prepare_agents<'a>(
        &'a self,
        agents: &'a AgentSet,
    ) -> BoxFuture<'a, (AgentSet, Vec<String>)> {
        Box::pin(agents.for_run())
    }

    /// Releases what the agents keep for the run ([`AgentSet::shutdown`] by default).
    fn release_agents<'a>(&'a self, agents: &'a AgentSet) -> BoxFuture<'a, ()> {
        Box::pin(agents.shutdown())
    }
}

/// Shared effects.
pub type SharedEffects = Arc<dyn Effects>;

/// The default effects: agents called in this process on tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioEffects;

impl Effects for TokioEffects {
    fn call<'a>(
        &'a self,
        agent: SharedAgent,
        request: AgentRequest,
        policy: &'a CallPolicy,
        step: Option<&'a str>,
        seq: &'a (dyn Fn() -> u64 + Sync),
    ) -> BoxFuture<'a, (AgentResult, u32)> {
        Box::pin(call_loop(agent, request, policy, step, seq))
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Calls `agent` until it answers, fails for good or has used its retries, each attempt
/// within the policy's timeout and the backoff doubling between attempts.
async fn call_loop(
    agent: SharedAgent,
    request: AgentRequest,
    policy: &CallPolicy,
    step: Option<&str>,
    seq: &(dyn Fn() -> u64 + Sync),
) -> (AgentResult, u32) {
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let call = tokio::time::timeout(policy.timeout, agent.analyze(&request));
        let outcome = tokio::select! {
            biased;
            _ = policy.cancel.cancelled() => Err(AgentError::Cancelled),
            r = call => match r {
                Ok(r) => r,
                Err(_) => Err(AgentError::Timeout(request.timeout_ms)),
            },
        };
        match outcome {
            Err(e) if e.is_retryable() && attempt <= policy.retries => {
                let wait = policy.backoff_after(attempt);
                tokio::select! {
                    _ = policy.cancel.cancelled() => {
                        let latency = started.elapsed().as_millis() as u64;
                        let r = result_of(&agent, Err(AgentError::Cancelled), latency, attempt, step, seq());
                        return (r, attempt - 1);
                    }
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            other => {
                let latency = started.elapsed().as_millis() as u64;
                let r = result_of(&agent, other, latency, attempt, step, seq());
                return (r, attempt - 1);
            }
        }
    }
}

/// `fut`'s output, or `None` when `duration` passes first (`fut` is polled first).
pub async fn within<T>(
    effects: &dyn Effects,
    duration: Duration,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    let fut = std::pin::pin!(fut);
    match futures::future::select(fut, effects.sleep(duration)).await {
        futures::future::Either::Left((v, _)) => Some(v),
        futures::future::Either::Right(_) => None,
    }
}
