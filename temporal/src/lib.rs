//! Distributed execution of Prism patterns on Temporal.
//!
//! A run becomes one workflow whose input ([`RunInput`]) pins the pattern: its source, version
//! and plan hash, the input and the agents. The workflow compiles the source again, refuses a
//! plan whose hash differs, and runs the ordinary plan executor with Temporal effects: each
//! agent-call attempt is an activity ([`CallSpec`] maps the pattern's timeout, retries and
//! backoff to activity options), each wait a workflow timer. Schedule directives map to
//! Temporal schedules ([`schedule`]), with what cannot be mapped refused. Each call carries
//! only its agent's definition ([`AgentDef`]); large fan-outs go out as child workflows
//! ([`fanout`]). Runs with `persistence` have their records written by the workers
//! ([`records`]).
//!
//! The pure parts here build without the Temporal SDK; the worker, workflow, activities and
//! client are behind the `sdk` feature (which needs `protoc` at build time).

pub mod agent_def;
pub mod fanout;
pub mod input;
pub mod payload;
pub mod policy;
pub mod records;
pub mod schedule;
#[cfg(feature = "sdk")]
pub mod sdk;

pub use agent_def::{AgentDef, AgentDefs};
pub use input::{AgentsData, PinError, RunInput, new_execution_id, pinned_plan, refusals};
pub use policy::{AttemptOutcome, CallSpec};
pub use records::{RecordWrite, Written};
pub use schedule::{MappedSchedule, ScheduleRefusal, map_schedule};

/// The default task queue of workers and runs.
pub const DEFAULT_TASK_QUEUE: &str = "prism";

/// The default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The workflow type every run starts.
pub const WORKFLOW_TYPE: &str = "PrismRun";
