//! The run workflow: compiles the pinned pattern, checks its plan hash and runs the ordinary
//! plan executor with [`TemporalEffects`], so voting, consensus and every aggregation happen
//! inside the workflow, deterministically, and are replayed from history after a crash.
//!
//! The executor's futures are `Send` and the workflow context is not, so the two meet
//! through a [`Bridge`]: an effect (an agent-call attempt, a wait) files a request there and
//! sleeps; the workflow's driver loop, which owns the context, starts an activity or a timer
//! for each new request in the order filed, and hands back results in the order they
//! resolve. Everything is polled on the workflow's one thread in a fixed order, so a replay
//! files the same requests in the same order. When one step files [`fanout::SPLIT_AT`]
//! attempts or more at once, they go out as `PrismCalls` child workflows of at most
//! [`fanout::CHUNK`] attempts each (ids `EXECUTION/calls-N`), not as activities. The bridge wakes the executor's futures itself,
//! which the SDK's detector of foreign wake-ups would flag, so workers turn it off.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::{BoxFuture, LocalBoxFuture};
use prism_agents::{AgentError, AgentRequest, AgentSet, SharedAgent};
use prism_executor::dispatch::{CallPolicy, result_of};
use prism_executor::{AgentResult, Effects, RunOptions, ScriptOutput};
use prism_license::License;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, ChildWorkflowOptions, WorkflowContext, WorkflowResult,
};
use temporalio_workflow::RetryPolicy;

use super::activity::PrismActivities;
use super::calls::{PrismCalls, attempt_options};
use crate::fanout::{self, CallsInput};
use crate::policy::{AttemptOutcome, CallSpec, RequestData};
use crate::records::{RecordWrite, Written};
use crate::{AgentDefs, RunInput, pinned_plan, refusals};

/// What an effect asks the workflow for.
enum Request {
    /// One attempt of an agent call.
    Attempt(Box<CallSpec>),
    /// A timer.
    Timer(Duration),
    /// A write of a node's row (nobody waits for it; the run waits for all before it ends).
    Write(Box<RecordWrite>),
}

/// What came back.
enum Reply {
    /// The attempt's outcome, or why the activity failed for good.
    Attempt(Result<Box<AttemptOutcome>, String>),
    /// The timer fired.
    Timer,
    /// The write is done, or failed for good (after its retries; the run's own record is
    /// written to the same store at the end, and its failure fails the run).
    Written,
}

/// Requests filed by the executor's effects and replies handed back by the driver.
#[derive(Default)]
struct Bridge {
    next: u64,
    filed: Vec<(u64, Request)>,
    replies: HashMap<u64, Reply>,
    wakers: HashMap<u64, Waker>,
    abandoned: std::collections::HashSet<u64>,
}

type SharedBridge = Arc<Mutex<Bridge>>;

fn lock(b: &SharedBridge) -> MutexGuard<'_, Bridge> {
    b.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request in flight: filed on its first poll (so ids follow the executor's poll order).
struct Wait {
    bridge: SharedBridge,
    request: Option<Request>,
    id: Option<u64>,
}

impl Future for Wait {
    type Output = Reply;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let this = self.get_mut();
        let bridge = this.bridge.clone();
        let mut b = lock(&bridge);
        let id = match this.id {
            Some(id) => id,
            None => {
                let id = b.next;
                b.next += 1;
                if let Some(r) = this.request.take() {
                    b.filed.push((id, r));
                }
                this.id = Some(id);
                id
            }
        };
        match b.replies.remove(&id) {
            Some(r) => {
                b.wakers.remove(&id);
                Poll::Ready(r)
            }
            None => {
                b.wakers.insert(id, cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let mut b = lock(&self.bridge);
            if b.replies.remove(&id).is_none() {
                b.abandoned.insert(id);
            }
            b.wakers.remove(&id);
        }
    }
}

/// The executor's effects inside the workflow.
pub struct TemporalEffects {
    bridge: SharedBridge,
    defs: AgentDefs,
}

impl TemporalEffects {
    fn wait(&self, request: Request) -> Wait {
        Wait {
            bridge: self.bridge.clone(),
            request: Some(request),
            id: None,
        }
    }
}

impl Effects for TemporalEffects {
    fn call<'a>(
        &'a self,
        agent: SharedAgent,
        request: AgentRequest,
        policy: &'a CallPolicy,
        step: Option<&'a str>,
        seq: &'a (dyn Fn() -> u64 + Sync),
    ) -> BoxFuture<'a, (AgentResult, u32)> {
        Box::pin(async move {
            let Some(def) = self.defs.get(&agent.info().name).cloned() else {
                let why = format!("agent {} is not among the run's agents", agent.info().name);
                let r = result_of(&agent, Err(AgentError::Failed(why)), 0, 1, step, seq());
                return (r, 0);
            };
            let data = RequestData::from(&request);
            let mut latency = 0u64;
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                let spec = CallSpec {
                    agent: agent.info().name.clone(),
                    attempt,
                    timeout_ms: policy.timeout.as_millis() as u64,
                    request: data.clone(),
                    def: def.clone(),
                };
                let wait = self.wait(Request::Attempt(Box::new(spec)));
                let outcome = tokio::select! {
                    biased;
                    _ = policy.cancel.cancelled() => Err(AgentError::Cancelled),
                    reply = wait => match reply {
                        Reply::Attempt(Ok(o)) => {
                            let (r, ms) = (*o).into_result();
                            latency += ms;
                            r
                        }
                        Reply::Attempt(Err(why)) => Err(AgentError::Failed(why)),
                        Reply::Timer | Reply::Written => {
                            Err(AgentError::Failed("unexpected reply to an agent call".into()))
                        }
                    },
                };
                match outcome {
                    Err(e) if e.is_retryable() && attempt <= policy.retries => {
                        let backoff = policy.backoff_after(attempt);
                        let pause = self.wait(Request::Timer(backoff));
                        tokio::select! {
                            biased;
                            _ = policy.cancel.cancelled() => {
                                let r = result_of(&agent, Err(AgentError::Cancelled), latency, attempt, step, seq());
                                return (r, attempt - 1);
                            }
                            _ = pause => {}
                        }
                        latency += backoff.as_millis() as u64;
                    }
                    other => {
                        let r = result_of(&agent, other, latency, attempt, step, seq());
                        return (r, attempt - 1);
                    }
                }
            }
        })
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let wait = self.wait(Request::Timer(duration));
        Box::pin(async move {
            let _ = wait.await;
        })
    }

    fn prepare_agents<'a>(
        &'a self,
        agents: &'a AgentSet,
    ) -> BoxFuture<'a, (AgentSet, Vec<String>)> {
        // The workers prepare agents; the workflow only selects them (no I/O here).
        Box::pin(std::future::ready((agents.clone(), Vec::new())))
    }

    fn release_agents<'a>(&'a self, _agents: &'a AgentSet) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// The run workflow (type `PrismRun`).
#[workflow]
#[derive(Default)]
pub struct PrismRun;

#[workflow_methods]
impl PrismRun {
    /// Runs the pinned plan; the output is the execution record (JSON text).
    #[run(name = "PrismRun")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: RunInput) -> WorkflowResult<String> {
        let license = License::current();
        let (plan, model) = pinned_plan(&input, license)
            .map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
        let refused = refusals(&plan);
        if !refused.is_empty() {
            return Err(ApplicationFailure::non_retryable(refused.join("\n")).into());
        }
        let agents = input
            .agents
            .build()
            .map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
        let (execution_id, trigger) = input.execution(ctx.workflow_id(), ctx.run_id());
        let bridge: SharedBridge = Arc::default();
        let trace = input
            .persistence
            .clone()
            .map(|p| node_writer(&bridge, p, execution_id.clone()));
        let effects = Arc::new(TemporalEffects {
            bridge: bridge.clone(),
            defs: AgentDefs::of(&input.agents),
        });
        let options = RunOptions {
            input: input.input.clone(),
            agents,
            timeout: input.timeout_ms.map(Duration::from_millis),
            source: Some(Arc::from(input.source.as_str())),
            model,
            trigger,
            backoff: Duration::from_millis(input.backoff_ms),
            script_output: ScriptOutput::Discard,
            effects,
            execution_id: Some(execution_id),
            trace,
            ..RunOptions::default()
        };
        let run = prism_executor::execute(plan, options);
        let record = drive(ctx, &bridge, run).await.to_json();
        // Long records travel packed (Temporal refuses payloads over 2 MB).
        let record = serde_json::to_string(&record)
            .map(crate::payload::pack)
            .map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
        if let Some(persistence) = input.persistence.clone() {
            // The run's record, keyed by its execution id, once every node row is written.
            let write = RecordWrite {
                persistence,
                what: Written::Run {
                    record: record.clone(),
                },
            };
            ctx.execute_activity(PrismActivities::write_record, write, write_options())
                .await
                .map_err(|e| {
                    ApplicationFailure::non_retryable(format!(
                        "the run's record was not saved: {e}"
                    ))
                })?;
        }
        Ok(record)
    }
}

/// The trace hook of a run with `persistence`: files a write of each completed node's row,
/// keyed (execution id, node). Nobody waits for a write; [`drive`] ends only once all are done.
fn node_writer(
    bridge: &SharedBridge,
    persistence: serde_json::Value,
    execution_id: String,
) -> prism_executor::TraceFn {
    let bridge = bridge.clone();
    Arc::new(move |ev: &prism_executor::TraceEvent| {
        let write = RecordWrite {
            persistence: persistence.clone(),
            what: Written::Node {
                execution_id: execution_id.clone(),
                node: ev.node.clone(),
                status: ev.status.to_string(),
                record: serde_json::json!({
                    "kind": ev.kind,
                    "step": ev.step,
                    "confidence": ev.confidence,
                    "durationMs": ev.duration_ms,
                    "detail": ev.detail,
                }),
            },
        };
        let mut b = lock(&bridge);
        let id = b.next;
        b.next += 1;
        b.abandoned.insert(id);
        b.filed.push((id, Request::Write(Box::new(write))));
    })
}

/// The options of a record write: a store that is down is tried again for a while.
fn write_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .maximum_attempts(10)
                .build(),
        )
        .build()
}

/// Polls the executor and serves its requests until it finishes.
async fn drive<T>(
    ctx: &WorkflowContext<PrismRun>,
    bridge: &SharedBridge,
    run: impl Future<Output = T>,
) -> T {
    let mut run = std::pin::pin!(run);
    let mut running: Vec<Started> = Vec::new();
    let mut children = 0u64;
    // The run's output, kept until the requests still in flight (node writes) are done.
    let mut done: Option<T> = None;
    std::future::poll_fn(|cx| {
        loop {
            if done.is_none()
                && let Poll::Ready(out) = run.as_mut().poll(cx)
            {
                done = Some(out);
            }
            let filed = std::mem::take(&mut lock(bridge).filed);
            let started = !filed.is_empty();
            let in_flight = running.iter().filter(|s| s.activity).count();
            running.extend(start_all(ctx, filed, in_flight, &mut children));
            let mut replies = Vec::new();
            running.retain_mut(|s| match s.replies.as_mut().poll(cx) {
                Poll::Ready(reply) => {
                    replies.extend(s.ids.iter().copied().zip(reply));
                    false
                }
                Poll::Pending => true,
            });
            if running.is_empty()
                && let Some(out) = done.take()
            {
                return Poll::Ready(out);
            }
            if replies.is_empty() && !started {
                return Poll::Pending;
            }
            let mut b = lock(bridge);
            for (id, reply) in replies {
                if b.abandoned.remove(&id) {
                    continue;
                }
                b.replies.insert(id, reply);
                if let Some(w) = b.wakers.remove(&id) {
                    w.wake();
                }
            }
        }
    })
    .await
}

/// What serves a group of requests.
struct Started {
    /// The requests' ids.
    ids: Vec<u64>,
    /// True for an attempt run as the run's own activity.
    activity: bool,
    /// One reply per id, in order.
    replies: LocalBoxFuture<'static, Vec<Reply>>,
}

/// Starts the requests filed in one step: each on its own, in filing order, unless they and
/// the `in_flight` activities of the run make [`fanout::SPLIT_AT`] attempts or more; then the
/// timers first and the attempts as child workflows, one per chunk, in filing order
/// (`children` counts the run's chunks).
fn start_all(
    ctx: &WorkflowContext<PrismRun>,
    filed: Vec<(u64, Request)>,
    in_flight: usize,
    children: &mut u64,
) -> Vec<Started> {
    let attempts = filed
        .iter()
        .filter(|(_, r)| matches!(r, Request::Attempt(_)))
        .count();
    let one = |id: u64, request: Request| Started {
        ids: vec![id],
        activity: matches!(request, Request::Attempt(_)),
        replies: start(ctx, request),
    };
    let Some(chunks) = fanout::chunks(attempts, in_flight) else {
        return filed
            .into_iter()
            .map(|(id, request)| one(id, request))
            .collect();
    };
    let mut out = Vec::new();
    let mut specs = Vec::with_capacity(attempts);
    for (id, request) in filed {
        match request {
            Request::Attempt(spec) => specs.push((id, *spec)),
            other => out.push(one(id, other)),
        }
    }
    let mut specs = specs.into_iter();
    for chunk in chunks {
        let (ids, chunk): (Vec<u64>, Vec<CallSpec>) = specs.by_ref().take(chunk.len()).unzip();
        let child = fanout::child_id(ctx.workflow_id(), *children);
        *children += 1;
        out.push(Started {
            ids,
            activity: false,
            replies: start_chunk(ctx, child, chunk),
        });
    }
    out
}

/// Starts the activity or timer of a request.
fn start(ctx: &WorkflowContext<PrismRun>, request: Request) -> LocalBoxFuture<'static, Vec<Reply>> {
    match request {
        Request::Timer(d) => {
            let ctx = ctx.clone();
            Box::pin(async move {
                let _ = ctx.timer(d).await;
                vec![Reply::Timer]
            })
        }
        Request::Write(write) => {
            let ctx = ctx.clone();
            Box::pin(async move {
                let _ = ctx
                    .execute_activity(PrismActivities::write_record, *write, write_options())
                    .await;
                vec![Reply::Written]
            })
        }
        Request::Attempt(spec) => {
            let options = attempt_options(&spec);
            // The future owns its context (the activity is scheduled on its first poll, which
            // the driver makes at once, in request order).
            let ctx = ctx.clone();
            Box::pin(async move {
                let call = ctx.execute_activity(PrismActivities::call_agent, *spec, options);
                vec![Reply::Attempt(
                    call.await.map(Box::new).map_err(|e| e.to_string()),
                )]
            })
        }
    }
}

/// Starts the child workflow of a chunk of attempts; one reply per attempt, in order (all
/// failed with the reason when the child does not start or fails).
fn start_chunk(
    ctx: &WorkflowContext<PrismRun>,
    id: String,
    specs: Vec<CallSpec>,
) -> LocalBoxFuture<'static, Vec<Reply>> {
    let n = specs.len();
    let ctx = ctx.clone();
    Box::pin(async move {
        let input = CallsInput::pack(specs);
        let options = ChildWorkflowOptions::workflow_id(id.clone());
        let outcome = match ctx
            .start_child_workflow(PrismCalls::run, input, options)
            .await
        {
            Ok(child) => child
                .result()
                .await
                .map_err(|e| format!("the calls of child workflow {id} failed: {e}")),
            Err(e) => Err(format!("child workflow {id} did not start: {e}")),
        };
        match outcome {
            Ok(outcomes) => {
                let mut replies: Vec<Reply> = outcomes
                    .into_iter()
                    .take(n)
                    .map(|o| Reply::Attempt(o.map(Box::new)))
                    .collect();
                while replies.len() < n {
                    let why = format!("child workflow {id} returned too few outcomes");
                    replies.push(Reply::Attempt(Err(why)));
                }
                replies
            }
            Err(why) => (0..n).map(|_| Reply::Attempt(Err(why.clone()))).collect(),
        }
    })
}
