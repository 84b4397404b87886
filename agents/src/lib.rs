//! Agents (§6): one async [`Agent`] trait and its implementations — deterministic local agents
//! ([`local`]), HTTP agents ([`http`]), process agents ([`process`]) and OpenAI-compatible LLM
//! agents ([`llm`]) — the agents file ([`config`]), capability-based selection ([`select`]) and
//! the JSON agent protocol ([`protocol`]).

mod bounded;
pub mod config;
pub mod http;
pub mod llm;
pub mod local;
pub mod process;
pub mod protocol;
pub mod reap;
pub mod select;

pub use bounded::DEFAULT_MAX_ANSWER_BYTES;

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value as Json;

pub use config::{
    AgentKind, AgentSet, AgentsFileError, builtin_agents, load_agents_file, register_agent_kind,
};
pub use protocol::{AgentAnswer, AgentRequest};
pub use select::{Selection, SelectionError, select_agents};

/// The protocol name sent in every request.
pub const PROTOCOL: &str = "prism-agent/1";

/// What the executor knows about an agent before calling it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentInfo {
    /// A stable id (defaults to the name).
    pub id: String,
    /// The display name.
    pub name: String,
    /// Declared capabilities.
    pub capabilities: Vec<String>,
    /// True for agents that have every capability (the built-in local agents).
    pub any_capability: bool,
    /// Declared expertise in [0, 1] (0.7 when not declared).
    pub expertise: f64,
    /// Region, for `region`/`distribution` selection.
    pub region: Option<String>,
    /// Labels (org-chart `agentType` preferences match them).
    pub labels: Vec<String>,
    /// The confidence the agents file declares for it, if any (static estimates).
    pub confidence: Option<f64>,
}

impl AgentInfo {
    /// An agent with a name and capabilities and default everything else.
    pub fn new(name: impl Into<String>, capabilities: Vec<String>) -> Self {
        let name = name.into();
        AgentInfo {
            id: name.clone(),
            name,
            capabilities,
            any_capability: false,
            expertise: 0.7,
            region: None,
            labels: Vec::new(),
            confidence: None,
        }
    }

    /// True if the agent has `capability`.
    pub fn has(&self, capability: &str) -> bool {
        self.any_capability || self.capabilities.iter().any(|c| c == capability)
    }

    /// The agent as the `agentList` entry of §4 (without `analyze`).
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "capabilities": self.capabilities,
            "expertise": self.expertise,
            "historicalConfidence": 0.75,
        })
    }
}

/// Why an agent call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// No answer within the call's timeout.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// A non-2xx HTTP status from `url`, with an excerpt of the body and, when we know one, the
    /// likely cause (an unset `apiKeyEnv` variable, …).
    #[error("HTTP {status} from {url}: {body}{}", hint.as_ref().map_or_else(String::new, |h| format!(" ({h})")))]
    Http {
        /// The status code.
        status: u16,
        /// The URL that answered.
        url: String,
        /// The first bytes of the body.
        body: String,
        /// The likely cause, if known.
        hint: Option<String>,
    },
    /// Connection refused or reset, DNS, I/O.
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer is not a valid protocol response.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The agent answered with an `error` field.
    #[error("agent error: {0}")]
    Answered(String),
    /// The agent's process died or could not be started.
    #[error("process error: {0}")]
    Process(String),
    /// The agent's process exited non-zero.
    #[error("exit status {code}{}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Exit {
        /// The exit code (-1 when killed by a signal).
        code: i32,
        /// The tail of its standard error.
        stderr: String,
    },
    /// The call was cancelled (race won, enough results, run timeout or Ctrl-C).
    #[error("cancelled")]
    Cancelled,
    /// The agent's behaviour failed (a `function` agent threw, …).
    #[error("{0}")]
    Failed(String),
}

impl AgentError {
    /// True for errors that `retries` retry: transport errors, timeouts and HTTP 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            AgentError::Timeout(_) | AgentError::Transport(_) => true,
            AgentError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// A short kind word for the execution record (`timeout`, `http`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            AgentError::Timeout(_) => "timeout",
            AgentError::Http { .. } => "http",
            AgentError::Transport(_) => "transport",
            AgentError::Protocol(_) => "protocol",
            AgentError::Answered(_) => "agent",
            AgentError::Process(_) => "process",
            AgentError::Exit { .. } => "exit",
            AgentError::Cancelled => "cancelled",
            AgentError::Failed(_) => "failed",
        }
    }
}

/// The future an agent call returns.
pub type AgentFuture<'a> = BoxFuture<'a, Result<AgentAnswer, AgentError>>;

/// An agent: something that answers analysis requests. Dropping the returned future cancels
/// the call (HTTP requests are aborted, one-shot processes killed).
pub trait Agent: Send + Sync {
    /// What the agent declares about itself.
    fn info(&self) -> &AgentInfo;

    /// Answers one request.
    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a>;

    /// Releases resources kept for the run (process agents stop their processes).
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Gets ready for a run, before any selection (a gRPC agent whose file lists no
    /// capabilities asks the agent for them); an error becomes a warning of the run.
    fn prepare(&self) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether the agent is up (HTTP `GET /health`, gRPC `HealthCheck`), for patterns that
    /// ask for healthy agents; agents without a check are healthy.
    fn health(&self) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A shared agent.
pub type SharedAgent = Arc<dyn Agent>;

/// Agents that join and leave while Prism runs (the agents of a registry): each run takes
/// those live when it starts.
pub trait AgentSource: Send + Sync {
    /// The agents live now, in the order they joined.
    fn live_agents(&self) -> Vec<SharedAgent>;
}

/// The first `max` characters of a text (for body and stderr excerpts).
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.chars().count() <= max {
        return t.to_string();
    }
    let cut: String = t.chars().take(max).collect();
    format!("{cut}…")
}

/// The last `max` characters of a text (stderr tails).
pub(crate) fn tail(text: &str, max: usize) -> String {
    let t = text.trim();
    let n = t.chars().count();
    if n <= max {
        return t.to_string();
    }
    let cut: String = t.chars().skip(n - max).collect();
    format!("…{cut}")
}
