//! The `PrismCalls` child workflow: a chunk of a large fan-out ([`crate::fanout`]). It runs
//! each attempt of its input as one `prism_call_agent` activity, all at once, with the
//! options a run gives a single attempt, and returns their outcomes in input order. The
//! pattern's retries stay the run's: a failed attempt comes back as an outcome and the
//! executor files the retry.

use std::time::Duration;

use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, ApplicationFailure, WorkflowContext, WorkflowResult};
use temporalio_workflow::RetryPolicy;

use super::activity::PrismActivities;
use crate::fanout::{CallsInput, CallsOutput};
use crate::policy::{CallSpec, HEARTBEAT_TIMEOUT, LOST_WORKER_ATTEMPTS};

/// The activity options of one attempt: start-to-close the call's timeout and a grace,
/// heartbeats, and Temporal's retries only for a lost worker.
pub(super) fn attempt_options(spec: &CallSpec) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(spec.start_to_close())
        .heartbeat_timeout(HEARTBEAT_TIMEOUT)
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(10))
                .maximum_attempts(LOST_WORKER_ATTEMPTS)
                .build(),
        )
        .build()
}

/// A chunk of a fan-out (type `PrismCalls`).
#[workflow]
#[derive(Default)]
pub struct PrismCalls;

#[workflow_methods]
impl PrismCalls {
    /// Runs the chunk's attempts; one outcome per attempt, in input order.
    #[run(name = "PrismCalls")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: CallsInput,
    ) -> WorkflowResult<CallsOutput> {
        let specs = input
            .unpack()
            .map_err(|e| ApplicationFailure::non_retryable(format!("a bad chunk of calls: {e}")))?;
        let calls = specs.into_iter().map(|spec| {
            let options = attempt_options(&spec);
            let ctx = ctx.clone();
            async move {
                ctx.execute_activity(PrismActivities::call_agent, spec, options)
                    .await
                    .map_err(|e| e.to_string())
            }
        });
        Ok(temporalio_workflow::join_all(calls).await)
    }
}
