//! The embedding API: run Prism inside a Rust program.
//!
//! An [`Engine`] holds what every run starts from — native functions written in Rust (sync
//! and async), agents written in Rust, globals converted from any `serde` type, resource
//! [`Limits`], where `print` goes, a [`CancelHandle`]. Each run gets its own interpreter on
//! its own thread; a [`Session`] keeps one interpreter alive so the host can call the
//! functions a script defines. Values cross as [`Data`] and convert to and from Rust types
//! through serde, confidences included ([`Confident`]). Patterns compile once ([`Pattern`])
//! and run on the plan executor against the engine's agents. Everything fails with one
//! [`Error`].
//!
//! The `prism-lang` crate re-exports this module; the examples use its paths.
//!
//! ```
//! # use prism_runtime::embed as prism_lang;
//! use prism_lang::{Confident, Engine};
//!
//! let mut engine = Engine::new();
//! engine.register_fn("threshold", || 0.5);
//! engine.set_global("score", &Confident::new(0.8, 0.9))?;
//! let out = engine.run("score > threshold()")?;
//! assert_eq!(out.get::<Confident<bool>>()?, Confident::new(true, 0.9));
//! # Ok::<(), prism_lang::Error>(())
//! ```

mod confident;
mod data;
mod de;
mod engine;
mod error;
mod native;
mod pattern;
mod ser;
mod session;

pub use confident::Confident;
pub use data::Data;
pub use de::from_data;
pub use engine::{CancelHandle, Engine, Limits, OutputMode, PrintFn, Stream};
pub use error::{CompileError, Error, Limit, PatternError, ScriptError, StackFrame};
pub use native::{NativeAsyncFn, NativeError, NativeFn, marker};
pub use pattern::{Pattern, PatternOutcome};
pub use ser::to_data;
pub use session::{Outcome, Session};

pub use crate::agents::{
    Agent, AgentAnswer, AgentError, AgentFuture, AgentInfo, AgentRequest, SharedAgent,
};
pub use crate::executor::ExecutionRecord;
pub use prism_compiler::{Diagnostic, Span};
