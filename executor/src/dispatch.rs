//! Dispatch of one agent group (§1.3–1.4): selection, then `parallel` (phase timeout,
//! `waitForAll`/`minResults`), `sequential` (answers feed `context.previous`, pipelines of
//! `steps`) or `race` (first answer ≥ `minConfidence` wins); per-call timeouts, retries with
//! exponential backoff, and cancellation of calls no longer needed.

use prism_compiler::plan::settings::{ExecutionSettings, ExecutionStrategy};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::effects::SharedEffects;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use prism_agents::{AgentError, AgentRequest, SharedAgent};

use super::record::{AgentResult, CallStatus, now_ms};

/// How calls are made: per-call timeout, retries and backoff, and the run's cancellation.
#[derive(Clone)]
pub struct CallPolicy {
    /// Per-call timeout (`taskTimeout`, 30 s).
    pub timeout: Duration,
    /// Retries of retryable failures (2).
    pub retries: u32,
    /// The first backoff (1 s), doubled each retry.
    pub backoff: Duration,
    /// Cancels every pending call.
    pub cancel: CancellationToken,
    /// Told when a call starts and when it ends (progress displays).
    pub on_call: Option<super::CallFn>,
    /// How calls are made (the run's [`super::Effects`]).
    pub effects: SharedEffects,
}

impl CallPolicy {
    /// The wait after failed attempt `attempt` (1-based): the backoff, doubled per retry.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
    }
}

/// The result record of a call that ended with `outcome` after `attempts` attempts, with
/// the agent's declared data.
pub fn result_of(
    agent: &SharedAgent,
    outcome: Result<prism_agents::AgentAnswer, AgentError>,
    latency_ms: u64,
    attempts: u32,
    step: Option<&str>,
    seq: u64,
) -> AgentResult {
    let info = agent.info();
    let mut r = AgentResult {
        agent_id: info.id.clone(),
        agent_name: info.name.clone(),
        capabilities: info.capabilities.clone(),
        expertise: info.expertise,
        result: Json::Null,
        confidence: 0.0,
        reasoning: None,
        timestamp: now_ms(),
        latency_ms,
        uncertainties: None,
        metadata: None,
        error: None,
        status: CallStatus::Ok,
        step: step.map(str::to_string),
        attempts,
        seq,
    };
    match outcome {
        Ok(a) => {
            r.result = a.value;
            r.confidence = a.confidence;
            r.reasoning = a.reasoning;
            r.uncertainties = a.uncertainties;
            r.metadata = a.metadata;
            if !a.warnings.is_empty() {
                let mut md = r.metadata.take().unwrap_or_else(|| json!({}));
                if let Some(m) = md.as_object_mut() {
                    m.insert("warnings".into(), json!(a.warnings));
                }
                r.metadata = Some(md);
            }
        }
        Err(e) => {
            r.status = match e {
                AgentError::Timeout(_) => CallStatus::TimedOut,
                AgentError::Cancelled => CallStatus::Cancelled,
                _ => CallStatus::Failed,
            };
            r.reasoning = Some("Agent failed to respond".into());
            r.error = Some(match (&e, attempts) {
                (AgentError::Timeout(ms), n) if n > 1 => format!(
                    "timed out on all {n} attempts (1 call + {} {}), each stopped after {ms} ms (taskTimeout)",
                    n - 1,
                    if n == 2 { "retry" } else { "retries" }
                ),
                (_, n) if n > 1 && e.is_retryable() => format!("{e} (on all {n} attempts)"),
                _ => e.to_string(),
            });
        }
    }
    r
}

/// Calls one agent with timeout, retries and cancellation through the policy's effects;
/// never fails (failures are results). Returns the result and the number of retries made.
pub async fn call_agent(
    agent: SharedAgent,
    mut request: AgentRequest,
    policy: CallPolicy,
    step: Option<String>,
    seq: impl Fn() -> u64 + Sync,
) -> (AgentResult, u32) {
    request.timeout_ms = policy.timeout.as_millis() as u64;
    let tell = |finished: bool| {
        if let Some(f) = &policy.on_call {
            f(&super::CallEvent {
                agent: agent.info().name.clone(),
                step: step.clone(),
                finished,
            });
        }
    };
    tell(false);
    let effects = policy.effects.clone();
    let out = effects
        .call(agent.clone(), request, &policy, step.as_deref(), &seq)
        .await;
    tell(true);
    out
}

/// Execution settings of a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// `parallel`, `sequential` or `race` (a role's `rotation` dispatches in parallel).
    pub strategy: ExecutionStrategy,
    /// Phase timeout.
    pub timeout: Option<Duration>,
    /// `waitForAll` (true).
    pub wait_for_all: bool,
    /// `minResults` (1).
    pub min_results: usize,
    /// `stopOnError` (true).
    pub stop_on_error: bool,
    /// `minConfidence` for race (0).
    pub min_confidence: f64,
}

impl Execution {
    /// Reads a plan's `execution` settings.
    pub fn from_settings(c: &ExecutionSettings) -> Self {
        Execution {
            strategy: match c.strategy() {
                ExecutionStrategy::Rotation => ExecutionStrategy::Parallel,
                s => s,
            },
            timeout: c.timeout.map(Duration::from_millis),
            wait_for_all: c.wait_for_all(),
            min_results: c.min_results.unwrap_or(1) as usize,
            stop_on_error: c.stop_on_error(),
            min_confidence: c.min_confidence(),
        }
    }
}

/// What a dispatch produced.
#[derive(Debug, Default)]
pub struct Dispatched {
    /// One result per agent (in agent order for parallel; call order for sequential).
    pub results: Vec<AgentResult>,
    /// Retries made.
    pub retries: u64,
    /// Why the phase failed, if it did.
    pub failure: Option<String>,
}

/// Runs calls to `agents` concurrently; `requests[i]` goes to `agents[i]`. A race without a
/// winner fails here; whether there are enough answers is for the caller to judge
/// (`execution.minResults`, [`shortfall`]).
pub async fn parallel(
    agents: &[SharedAgent],
    requests: Vec<AgentRequest>,
    policy: &CallPolicy,
    exec: &Execution,
    step: Option<&str>,
    seq: &(dyn Fn() -> u64 + Sync),
) -> Dispatched {
    let phase_cancel = policy.cancel.child_token();
    let call_policy = CallPolicy {
        cancel: phase_cancel.clone(),
        ..policy.clone()
    };
    let race = exec.strategy == ExecutionStrategy::Race;
    let mut pending: FuturesUnordered<_> = agents
        .iter()
        .cloned()
        .zip(requests)
        .enumerate()
        .map(|(i, (a, req))| {
            let p = call_policy.clone();
            let step = step.map(str::to_string);
            async move { (i, call_agent(a, req, p, step, seq).await) }
        })
        .collect();
    let mut slots: Vec<Option<AgentResult>> = vec![None; agents.len()];
    let mut out = Dispatched::default();
    let mut valid = 0usize;
    let mut winner = false;
    // The phase timeout: one timer for the whole phase.
    let mut deadline = exec.timeout.map(|t| policy.effects.sleep(t));
    let mut timed_out = false;
    loop {
        let next = async {
            match deadline.as_mut() {
                Some(d) => match futures::future::select(pending.next(), d).await {
                    futures::future::Either::Left((v, _)) => Some(v),
                    futures::future::Either::Right(_) => None,
                },
                None => Some(pending.next().await),
            }
        };
        match next.await {
            Some(Some((i, (r, retries)))) => {
                out.retries += u64::from(retries);
                let ok = r.is_valid();
                let wins = race && ok && r.confidence >= exec.min_confidence;
                slots[i] = Some(r);
                if ok {
                    valid += 1;
                }
                if wins || (!race && !exec.wait_for_all && valid >= exec.min_results) {
                    winner = wins;
                    phase_cancel.cancel();
                }
            }
            Some(None) => break,
            None => {
                timed_out = true;
                phase_cancel.cancel();
            }
        }
        if phase_cancel.is_cancelled() {
            // Drain: the cancelled calls come back as `cancelled` results at once.
            while let Some((i, (mut r, retries))) = pending.next().await {
                out.retries += u64::from(retries);
                if timed_out && r.status == CallStatus::Cancelled {
                    r.status = CallStatus::TimedOut;
                    r.error = Some(format!(
                        "timed out: the phase timeout of {} ms passed",
                        exec.timeout.map_or(0, |t| t.as_millis())
                    ));
                }
                slots[i] = Some(r);
            }
            break;
        }
    }
    out.results = slots.into_iter().flatten().collect();
    if race && !winner {
        out.failure = Some(format!(
            "race: no answer reached confidence {}{}",
            exec.min_confidence,
            errors_of(&out.results)
        ));
    }
    out
}

/// Why a phase has too few answers, citing only what the pattern wrote: `no agent answered
/// (3 asked): …` or ``only 2 of 3 agent(s) answered; `agents.min: 3` asks for 3: …``, then
/// each agent's error.
pub fn shortfall(results: &[AgentResult], required: usize, setting: Option<&str>) -> String {
    let valid = results.iter().filter(|r| r.is_valid()).count();
    let asked = super::aggregate::asked(results);
    let head = match (valid, setting) {
        (0, _) => format!("no agent answered ({asked} asked)"),
        (_, Some(s)) => {
            format!("only {valid} of {asked} agent(s) answered; `{s}` asks for {required}")
        }
        (_, None) => format!("only {valid} of {asked} agent(s) answered"),
    };
    match errors_of(results).strip_prefix("; ") {
        Some(errors) => format!("{head}: {errors}"),
        None => head,
    }
}

/// `; a: timed out …; b: HTTP 500 …` for the failed results.
pub fn errors_of(results: &[AgentResult]) -> String {
    let errs: Vec<String> = results
        .iter()
        .filter(|r| !r.is_valid())
        .map(|r| {
            format!(
                "{}: {}",
                r.agent_name,
                r.error.clone().unwrap_or_else(|| format!(
                    "no valid answer (confidence {}, result {})",
                    r.confidence, r.result
                ))
            )
        })
        .collect();
    if errs.is_empty() {
        String::new()
    } else {
        format!("; {}", errs.join("; "))
    }
}

/// Calls agents one after another, each request carrying the previous answer in
/// `context.previous`; `make(i, previous)` builds request i. Fails where `stopOnError` stops.
pub async fn sequential(
    agents: &[SharedAgent],
    make: &(dyn Fn(usize, &Json) -> AgentRequest + Sync),
    policy: &CallPolicy,
    exec: &Execution,
    step: Option<&str>,
    seq: &(dyn Fn() -> u64 + Sync),
) -> Dispatched {
    let mut out = Dispatched::default();
    let mut previous = Json::Null;
    let deadline = exec.timeout.map(|t| Instant::now() + t);
    for (i, a) in agents.iter().enumerate() {
        let req = make(i, &previous);
        let mut p = policy.clone();
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            p.timeout = p.timeout.min(left.max(Duration::from_millis(1)));
        }
        let (r, retries) = call_agent(a.clone(), req, p, step.map(str::to_string), seq).await;
        out.retries += u64::from(retries);
        let ok = r.is_valid();
        if ok {
            previous = r.result.clone();
        }
        out.results.push(r);
        if !ok && exec.stop_on_error {
            out.failure = Some(format!(
                "sequential: stopped at {} (stopOnError){}",
                a.info().name,
                errors_of(&out.results)
            ));
            break;
        }
        if policy.cancel.is_cancelled() {
            break;
        }
    }
    out
}

/// A request template: the parts every request of a phase shares.
#[derive(Clone)]
pub struct RequestTemplate {
    /// Task text.
    pub task: String,
    /// Request input.
    pub input: Json,
    /// `{name, version}`.
    pub pattern: Json,
    /// Step id.
    pub step: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// `context` (without `previous`).
    pub context: Json,
}

impl RequestTemplate {
    /// A request with a fresh id and `context.previous`.
    pub fn request(&self, id: String, previous: &Json) -> AgentRequest {
        let mut r = AgentRequest::new(id, self.task.clone(), self.input.clone());
        r.pattern = self.pattern.clone();
        r.step = self.step.clone();
        r.role = self.role.clone();
        let mut ctx = self.context.clone();
        if let Some(m) = ctx.as_object_mut() {
            m.insert("previous".into(), previous.clone());
        }
        r.context = ctx;
        r
    }
}

/// Shares a sequence counter as a `Fn() -> u64`.
pub fn counter(run: &Arc<super::state::Run>) -> impl Fn() -> u64 + Sync + '_ {
    move || run.next_seq()
}
