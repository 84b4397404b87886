//! The plan executor: runs an execution plan (§5) against agents on tokio and produces the
//! execution record.
//!
//! [`execute`] validates the input (§1.2) before any call, then walks the plan from its
//! `Input` node ([`walk`]): agent groups dispatch to selected agents ([`dispatch`]), phase
//! nodes aggregate and validate ([`phase`]), control nodes branch and loop ([`control`]),
//! org-chart tasks go to roles ([`org`]) and `.prism` scripts run on the interpreter with the
//! injected globals of §4 ([`script`]). The overall timeout and cancellation stop every
//! pending call; an agent failure alone never fails a run.

pub mod aggregate;
mod control;
pub mod dispatch;
pub mod effects;
pub mod expr;
pub mod input;
pub mod merge;
pub mod natives;
mod org;
pub mod output;
mod phase;
pub mod plan_natives;
pub mod record;
mod script;
mod state;
mod validate;
mod walk;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prism_compiler::pattern::Loaded;
use prism_compiler::plan::Plan;
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

pub use effects::{Effects, SharedEffects, TokioEffects};
use prism_agents::AgentSet;
pub use record::{AgentResult, CallStatus, ExecutionRecord, RunError, RunStatus, StepRecord};
pub use state::TraceEvent;

/// Called as each plan node completes (`--trace`, progress displays).
pub type TraceFn = Arc<dyn Fn(&TraceEvent) + Send + Sync>;

/// An agent call starting or ending (retries included in one call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The agent's name.
    pub agent: String,
    /// The step the call belongs to, if any.
    pub step: Option<String>,
    /// False when the call starts, true when it has ended (answered, failed or cancelled).
    pub finished: bool,
}

/// Called as agent calls start and end (progress displays: the agents still awaited).
pub type CallFn = Arc<dyn Fn(&CallEvent) + Send + Sync>;

/// Keeps the record of an included pattern that carries `persistence` (its directive's
/// settings, then the record, whose id is the including run's execution id); the host owns
/// the store. An error is recorded on the step.
pub type PersistFn = Arc<dyn Fn(&Json, &Json) -> Result<(), String> + Send + Sync>;

/// Prepares the interpreter of each `.prism` pattern script (embedders' native functions,
/// globals, output and limits): called after the pattern builtins are installed and before
/// the injected globals (`input`, `agentResults`, …) are bound.
pub type ScriptSetup = Arc<dyn Fn(&mut prism_interp::Interpreter) + Send + Sync>;

/// Where a `.prism` script's `print` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptOutput {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error (when stdout carries the execution record).
    Stderr,
    /// Discarded.
    Discard,
}

/// Everything a run needs besides the plan.
#[derive(Clone)]
pub struct RunOptions {
    /// The input (validated against the plan's schema first).
    pub input: Json,
    /// The agents.
    pub agents: AgentSet,
    /// The overall timeout (`.prism` `@timeout`, else none).
    pub timeout: Option<Duration>,
    /// Called as each node completes.
    pub trace: Option<TraceFn>,
    /// Called as each agent call starts and ends.
    pub on_call: Option<CallFn>,
    /// Cancels the run (Ctrl-C).
    pub cancel: CancellationToken,
    /// The source text (for `.prism` scripts).
    pub source: Option<Arc<str>>,
    /// The loaded pattern (step details the plan does not carry: conditions, output shapes,
    /// switch jumps, `onError`).
    pub model: Option<Arc<Loaded>>,
    /// `--workspace DIR`.
    pub workspace: Option<PathBuf>,
    /// `{kind, scheduledFor?}` (default manual).
    pub trigger: Json,
    /// `--agent-results FILE`: records injected instead of selection and dispatch.
    pub agent_results: Option<Vec<Json>>,
    /// The first retry's backoff (1 s; doubles each retry).
    pub backoff: Duration,
    /// Where script output goes.
    pub script_output: ScriptOutput,
    /// `--allow-commands` (org-chart `verify.command` oracles).
    pub allow_commands: bool,
    /// Prepares each script's interpreter (embedding).
    pub script_setup: Option<ScriptSetup>,
    /// Writes the records of included patterns that carry `persistence` (the license gate
    /// has passed them at compile time). Without it such a run fails rather than drop them.
    pub persist: Option<PersistFn>,
    /// How agents are called and time passes ([`TokioEffects`] by default; a distributed
    /// host supplies its own).
    pub effects: SharedEffects,
    /// The execution id (default: a fresh UUIDv7; a workflow passes its own so that a replay
    /// sees the same id).
    pub execution_id: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            input: json!({}),
            agents: AgentSet::default(),
            timeout: None,
            trace: None,
            on_call: None,
            cancel: CancellationToken::new(),
            source: None,
            model: None,
            workspace: None,
            trigger: json!({"kind": "manual"}),
            agent_results: None,
            backoff: Duration::from_secs(1),
            script_output: ScriptOutput::Stdout,
            allow_commands: false,
            script_setup: None,
            persist: None,
            effects: Arc::new(TokioEffects),
            execution_id: None,
        }
    }
}

/// The largest `min` of the plan's agent groups (sizes the built-in agents, §6).
pub fn largest_min(plan: &Plan) -> usize {
    plan.nodes()
        .filter_map(|(_, n)| match &n.kind {
            prism_compiler::plan::NodeKind::AgentGroup { selection, .. } => selection.min(),
            _ => None,
        })
        .max()
        .unwrap_or(1) as usize
}

/// Runs a plan to completion (or failure, timeout, cancellation) and returns its record.
pub async fn execute(plan: Arc<Plan>, options: RunOptions) -> ExecutionRecord {
    walk::run(plan, options).await
}
