//! Promises and the tokio runtime that drives native asynchronous work.
//!
//! The evaluator itself is synchronous: an `async function` runs to completion and returns a
//! settled promise. Native operations (timers now, agent and LLM calls later) are real futures
//! spawned on a tokio runtime owned by the interpreter (created on first use) or passed in
//! through [`crate::Options::runtime`]; `await` blocks on them, so several spawned operations
//! awaited together (e.g. through `Promise.all`) run concurrently.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::error::RuntimeError;
use crate::value::Value;

/// What a native future settles with: a JSON value and, optionally, its confidence.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// The result.
    pub value: serde_json::Value,
    /// Its confidence, if it has one.
    pub confidence: Option<f64>,
}

/// A native asynchronous operation: resolves with a [`Settled`] or rejects with a message.
pub type NativeFuture = Pin<Box<dyn Future<Output = Result<Settled, String>> + Send>>;

/// The state of a promise.
pub enum PromiseState {
    /// Fulfilled with a value.
    Resolved(Value),
    /// Rejected with a reason.
    Rejected(Value),
    /// A spawned native operation not awaited yet.
    Pending(JoinHandle<Result<Settled, String>>),
}

/// A promise value's shared cell.
pub struct PromiseCell {
    state: RefCell<Option<PromiseState>>,
}

impl PromiseCell {
    /// A promise fulfilled with `v`.
    pub fn resolved(v: Value) -> Value {
        Self::with(PromiseState::Resolved(v))
    }

    /// A promise rejected with `reason`.
    pub fn rejected(reason: Value) -> Value {
        Self::with(PromiseState::Rejected(reason))
    }

    fn with(state: PromiseState) -> Value {
        Value::Promise(Rc::new(PromiseCell {
            state: RefCell::new(Some(state)),
        }))
    }
}

/// The interpreter's access to a tokio runtime.
#[derive(Default)]
pub(crate) struct AsyncRuntime {
    owned: Option<Runtime>,
    handle: Option<Handle>,
}

impl AsyncRuntime {
    /// Uses the given runtime instead of creating one.
    pub(crate) fn with_handle(handle: Option<Handle>) -> Self {
        AsyncRuntime {
            owned: None,
            handle,
        }
    }

    fn handle(&mut self) -> Result<Handle, RuntimeError> {
        if let Some(h) = &self.handle {
            return Ok(h.clone());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RuntimeError::msg(format!("Cannot start the async runtime: {e}")))?;
        let h = rt.handle().clone();
        self.owned = Some(rt);
        self.handle = Some(h.clone());
        Ok(h)
    }

    /// Spawns a native operation and returns its promise.
    pub(crate) fn spawn(&mut self, fut: NativeFuture) -> Result<Value, RuntimeError> {
        let handle = self.handle()?;
        let task = handle.spawn(fut);
        Ok(Value::Promise(Rc::new(PromiseCell {
            state: RefCell::new(Some(PromiseState::Pending(task))),
        })))
    }

    /// Waits for a promise: its value, or its rejection reason as the error.
    pub(crate) fn wait(&mut self, cell: &PromiseCell) -> Result<Value, Value> {
        let state = cell.state.borrow_mut().take();
        let settled = match state {
            Some(PromiseState::Pending(task)) => self.block_on_task(task),
            Some(s) => s,
            None => PromiseState::Rejected(Value::str("Promise is already being awaited")),
        };
        let result = match &settled {
            PromiseState::Resolved(v) => Ok(v.clone()),
            PromiseState::Rejected(v) => Err(v.clone()),
            PromiseState::Pending(_) => Err(Value::str("Promise did not settle")),
        };
        *cell.state.borrow_mut() = Some(settled);
        result
    }

    fn block_on_task(&mut self, task: JoinHandle<Result<Settled, String>>) -> PromiseState {
        if Handle::try_current().is_ok() {
            task.abort();
            return PromiseState::Rejected(Value::str(
                "Cannot await a native operation inside an async context; run the interpreter on its own thread",
            ));
        }
        let outcome = match &self.owned {
            Some(rt) => rt.block_on(task),
            None => match &self.handle {
                Some(h) => h.block_on(task),
                None => return PromiseState::Rejected(Value::str("No async runtime")),
            },
        };
        match outcome {
            Ok(Ok(settled)) => {
                let v = crate::json::from_json(&settled.value);
                PromiseState::Resolved(match settled.confidence {
                    Some(c) => Value::confident(v, c),
                    None => v,
                })
            }
            Ok(Err(msg)) => PromiseState::Rejected(Value::str(msg)),
            Err(e) => PromiseState::Rejected(Value::str(format!("Async task failed: {e}"))),
        }
    }
}
