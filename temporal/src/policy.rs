//! How an agent call maps to Temporal. The pattern's retries and backoff stay the
//! executor's: each attempt is one activity (its per-call timeout enforced by the activity,
//! the start-to-close timeout a little longer) and each backoff a durable workflow timer, so
//! a record made on Temporal counts attempts and words errors as a local run does. Temporal's
//! own retry policy covers only what the pattern cannot see: a worker lost in the middle of
//! an attempt (its heartbeats stop) is retried on another worker.

use std::time::Duration;

use prism_agents::{AgentAnswer, AgentError, AgentRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What start-to-close adds to the per-call timeout (the activity stops the call itself at
/// the timeout; this covers starting the agent and reporting back).
pub const START_TO_CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Without a heartbeat for this long an attempt counts as lost (its worker died) and runs
/// again elsewhere.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a running attempt heartbeats.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// How many times Temporal runs an attempt whose worker was lost (then the call fails).
pub const LOST_WORKER_ATTEMPTS: u32 = 5;

/// One attempt of an agent call: the activity's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSpec {
    /// The agent's name in the run's agents.
    pub agent: String,
    /// Which attempt (1-based).
    pub attempt: u32,
    /// The per-call timeout in ms (`taskTimeout`).
    pub timeout_ms: u64,
    /// The request.
    pub request: RequestData,
    /// How to build the agent (its entry, not the whole agents file; the activity builds
    /// it, cached by this definition).
    pub def: crate::AgentDef,
}

impl CallSpec {
    /// The activity's start-to-close timeout: the call's timeout and a grace.
    pub fn start_to_close(&self) -> Duration {
        Duration::from_millis(self.timeout_ms).saturating_add(START_TO_CLOSE_GRACE)
    }
}

/// An agent request as data (the protocol's request is not deserialisable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestData {
    /// Request id.
    pub id: String,
    /// Task text.
    pub task: String,
    /// Input.
    pub input: Json,
    /// `input.data`, else the input.
    pub data: Json,
    /// `{name, version}`.
    pub pattern: Json,
    /// Step id.
    pub step: Option<String>,
    /// Org-chart role.
    pub role: Option<String>,
    /// Per-call timeout.
    pub timeout_ms: u64,
    /// Context.
    pub context: Json,
}

impl From<&AgentRequest> for RequestData {
    fn from(r: &AgentRequest) -> Self {
        RequestData {
            id: r.id.clone(),
            task: r.task.clone(),
            input: r.input.clone(),
            data: r.data.clone(),
            pattern: r.pattern.clone(),
            step: r.step.clone(),
            role: r.role.clone(),
            timeout_ms: r.timeout_ms,
            context: r.context.clone(),
        }
    }
}

impl RequestData {
    /// The protocol request.
    pub fn to_request(&self) -> AgentRequest {
        let mut r = AgentRequest::new(self.id.clone(), self.task.clone(), self.input.clone());
        r.data = self.data.clone();
        r.pattern = self.pattern.clone();
        r.step = self.step.clone();
        r.role = self.role.clone();
        r.timeout_ms = self.timeout_ms;
        r.context = self.context.clone();
        r
    }
}

/// How one attempt ended: the activity's output. Agent failures are outcomes, not activity
/// failures (the executor decides about retries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttemptOutcome {
    /// The agent answered.
    Answer {
        /// Value.
        value: Json,
        /// Confidence.
        confidence: f64,
        /// Reasoning.
        reasoning: Option<String>,
        /// Uncertainties.
        uncertainties: Option<Json>,
        /// Metadata.
        metadata: Option<Json>,
        /// Protocol warnings.
        warnings: Vec<String>,
        /// How long the attempt took.
        latency_ms: u64,
    },
    /// The attempt failed.
    Error {
        /// The error.
        error: ErrorData,
        /// How long the attempt took.
        latency_ms: u64,
    },
}

impl AttemptOutcome {
    /// The outcome of an attempt that took `latency_ms`.
    pub fn of(outcome: Result<AgentAnswer, AgentError>, latency_ms: u64) -> Self {
        match outcome {
            Ok(a) => AttemptOutcome::Answer {
                value: a.value,
                confidence: a.confidence,
                reasoning: a.reasoning,
                uncertainties: a.uncertainties,
                metadata: a.metadata,
                warnings: a.warnings,
                latency_ms,
            },
            Err(e) => AttemptOutcome::Error {
                error: ErrorData::from(&e),
                latency_ms,
            },
        }
    }

    /// The agent's answer or error, and the latency.
    pub fn into_result(self) -> (Result<AgentAnswer, AgentError>, u64) {
        match self {
            AttemptOutcome::Answer {
                value,
                confidence,
                reasoning,
                uncertainties,
                metadata,
                warnings,
                latency_ms,
            } => (
                Ok(AgentAnswer {
                    value,
                    confidence,
                    reasoning,
                    uncertainties,
                    metadata,
                    warnings,
                }),
                latency_ms,
            ),
            AttemptOutcome::Error { error, latency_ms } => (Err(error.into()), latency_ms),
        }
    }
}

/// An [`AgentError`] as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ErrorData {
    /// Timed out after ms.
    Timeout {
        /// ms.
        ms: u64,
    },
    /// HTTP status.
    Http {
        /// Status.
        status: u16,
        /// URL.
        url: String,
        /// Body excerpt.
        body: String,
        /// Hint.
        hint: Option<String>,
    },
    /// Transport.
    Transport {
        /// Why.
        message: String,
    },
    /// Protocol.
    Protocol {
        /// Why.
        message: String,
    },
    /// The agent's error.
    Answered {
        /// Why.
        message: String,
    },
    /// Process.
    Process {
        /// Why.
        message: String,
    },
    /// Exit status.
    Exit {
        /// Code.
        code: i32,
        /// Stderr tail.
        stderr: String,
    },
    /// Cancelled.
    Cancelled,
    /// Failed.
    Failed {
        /// Why.
        message: String,
    },
}

impl From<&AgentError> for ErrorData {
    fn from(e: &AgentError) -> Self {
        match e.clone() {
            AgentError::Timeout(ms) => ErrorData::Timeout { ms },
            AgentError::Http {
                status,
                url,
                body,
                hint,
            } => ErrorData::Http {
                status,
                url,
                body,
                hint,
            },
            AgentError::Transport(message) => ErrorData::Transport { message },
            AgentError::Protocol(message) => ErrorData::Protocol { message },
            AgentError::Answered(message) => ErrorData::Answered { message },
            AgentError::Process(message) => ErrorData::Process { message },
            AgentError::Exit { code, stderr } => ErrorData::Exit { code, stderr },
            AgentError::Cancelled => ErrorData::Cancelled,
            AgentError::Failed(message) => ErrorData::Failed { message },
        }
    }
}

impl From<ErrorData> for AgentError {
    fn from(e: ErrorData) -> Self {
        match e {
            ErrorData::Timeout { ms } => AgentError::Timeout(ms),
            ErrorData::Http {
                status,
                url,
                body,
                hint,
            } => AgentError::Http {
                status,
                url,
                body,
                hint,
            },
            ErrorData::Transport { message } => AgentError::Transport(message),
            ErrorData::Protocol { message } => AgentError::Protocol(message),
            ErrorData::Answered { message } => AgentError::Answered(message),
            ErrorData::Process { message } => AgentError::Process(message),
            ErrorData::Exit { code, stderr } => AgentError::Exit { code, stderr },
            ErrorData::Cancelled => AgentError::Cancelled,
            ErrorData::Failed { message } => AgentError::Failed(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_error_round_trips_through_json() {
        let errors = [
            AgentError::Timeout(30_000),
            AgentError::Http {
                status: 503,
                url: "http://a/".into(),
                body: "busy".into(),
                hint: Some("h".into()),
            },
            AgentError::Transport("refused".into()),
            AgentError::Protocol("bad".into()),
            AgentError::Answered("no".into()),
            AgentError::Process("died".into()),
            AgentError::Exit {
                code: 2,
                stderr: "oops".into(),
            },
            AgentError::Cancelled,
            AgentError::Failed("threw".into()),
        ];
        for e in errors {
            let out = AttemptOutcome::of(Err(e.clone()), 7);
            let text = serde_json::to_string(&out).expect("json");
            let back: AttemptOutcome = serde_json::from_str(&text).expect("back");
            let (r, latency) = back.into_result();
            assert_eq!(r, Err(e.clone()));
            assert_eq!(latency, 7);
            // Retryability is the executor's rule, kept across the trip.
            assert_eq!(r.err().map(|e| e.is_retryable()), Some(e.is_retryable()));
        }
        let mut answer = AgentAnswer::new(serde_json::json!("cat"), 0.9);
        answer.warnings.push("clamped".into());
        let (r, _) = AttemptOutcome::of(Ok(answer.clone()), 3).into_result();
        assert_eq!(r, Ok(answer));
    }

    #[test]
    fn requests_round_trip_and_start_to_close_adds_the_grace() {
        let mut req = AgentRequest::new("r-1", "vote", serde_json::json!({"data": [1]}));
        req.step = Some("s".into());
        req.timeout_ms = 2_000;
        let data = RequestData::from(&req);
        let text = serde_json::to_string(&data).expect("json");
        let back: RequestData = serde_json::from_str(&text).expect("back");
        assert_eq!(back.to_request(), req);
        let spec = CallSpec {
            agent: "a".into(),
            attempt: 1,
            timeout_ms: 2_000,
            request: back,
            def: crate::AgentDef::Builtin { count: 3 },
        };
        assert_eq!(spec.start_to_close(), Duration::from_secs(12));
    }
}
