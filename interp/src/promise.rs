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

use crate::error::{ErrorKind, RuntimeError};
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

/// A native asynchronous operation that resolves with thread-safe data, confidences at any
/// depth included (embedders' async functions).
pub type DataFuture =
    Pin<Box<dyn Future<Output = Result<crate::data::Data, String>> + Send + 'static>>;

/// What ends a wait early besides the promise settling.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopOn {
    /// The run's deadline.
    pub deadline: Option<std::time::Instant>,
    /// The run's cancellation.
    pub cancel: Option<tokio_util::sync::CancellationToken>,
}

/// Why a wait did not give a value.
pub(crate) enum WaitError {
    /// The promise was rejected with this reason.
    Rejected(Value),
    /// The run's deadline passed or it was cancelled (the kind says which).
    Stopped(crate::error::ErrorKind),
}

/// The state of a promise.
pub enum PromiseState {
    /// Fulfilled with a value.
    Resolved(Value),
    /// Rejected with a reason.
    Rejected(Value),
    /// A spawned native operation not awaited yet.
    Pending(JoinHandle<Result<Settled, String>>),
    /// A spawned native operation resolving with thread-safe data, not awaited yet.
    PendingData(JoinHandle<Result<crate::data::Data, String>>),
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

    /// Spawns a native operation resolving with thread-safe data and returns its promise.
    pub(crate) fn spawn_data(&mut self, fut: DataFuture) -> Result<Value, RuntimeError> {
        let handle = self.handle()?;
        let task = handle.spawn(fut);
        Ok(Value::Promise(Rc::new(PromiseCell {
            state: RefCell::new(Some(PromiseState::PendingData(task))),
        })))
    }

    /// Waits for a promise: its value, or its rejection reason as the error. `stop` ends the
    /// wait early (the native operation is aborted and the promise rejected).
    pub(crate) fn wait(&mut self, cell: &PromiseCell, stop: &StopOn) -> Result<Value, WaitError> {
        let state = cell.state.borrow_mut().take();
        let settled = match state {
            Some(PromiseState::Pending(task)) => self.block_on_task(task, stop).map(|r| match r {
                Ok(Ok(settled)) => {
                    let v = crate::json::from_json(&settled.value);
                    PromiseState::Resolved(match settled.confidence {
                        Some(c) => Value::confident(v, c),
                        None => v,
                    })
                }
                Ok(Err(msg)) => PromiseState::Rejected(Value::str(msg)),
                Err(reason) => PromiseState::Rejected(reason),
            }),
            Some(PromiseState::PendingData(task)) => {
                self.block_on_task(task, stop).map(|r| match r {
                    Ok(Ok(data)) => PromiseState::Resolved(data.to_value()),
                    Ok(Err(msg)) => PromiseState::Rejected(Value::str(msg)),
                    Err(reason) => PromiseState::Rejected(reason),
                })
            }
            Some(s) => Ok(s),
            None => Ok(PromiseState::Rejected(Value::str(
                "Promise is already being awaited",
            ))),
        };
        let settled = match settled {
            Ok(s) => s,
            Err(kind) => {
                *cell.state.borrow_mut() = Some(PromiseState::Rejected(Value::str(
                    "The awaiting run was stopped",
                )));
                return Err(WaitError::Stopped(kind));
            }
        };
        let result = match &settled {
            PromiseState::Resolved(v) => Ok(v.clone()),
            PromiseState::Rejected(v) => Err(WaitError::Rejected(v.clone())),
            PromiseState::Pending(_) | PromiseState::PendingData(_) => {
                Err(WaitError::Rejected(Value::str("Promise did not settle")))
            }
        };
        *cell.state.borrow_mut() = Some(settled);
        result
    }

    /// Blocks on a spawned task until it ends or `stop` fires. `Ok(Err(reason))` when the
    /// task cannot be awaited or failed; `Err(kind)` when `stop` fired first.
    fn block_on_task<T: Send + 'static>(
        &mut self,
        task: JoinHandle<T>,
        stop: &StopOn,
    ) -> Result<Result<T, Value>, ErrorKind> {
        if Handle::try_current().is_ok() {
            task.abort();
            return Ok(Err(Value::str(
                "Cannot await a native operation inside an async context; run the interpreter on its own thread",
            )));
        }
        let handle = match (&self.owned, &self.handle) {
            (Some(rt), _) => rt.handle().clone(),
            (None, Some(h)) => h.clone(),
            (None, None) => return Ok(Err(Value::str("No async runtime"))),
        };
        let outcome = if stop.deadline.is_none() && stop.cancel.is_none() {
            Ok(block_on(&self.owned, &handle, task))
        } else {
            let (deadline, cancel) = (stop.deadline, stop.cancel.clone());
            let abort = task.abort_handle();
            let raced = async move {
                let cancelled = async {
                    match &cancel {
                        Some(c) => c.cancelled().await,
                        None => std::future::pending().await,
                    }
                };
                let timed_out = async {
                    match deadline {
                        Some(d) => {
                            tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    r = task => Ok(r),
                    _ = cancelled => Err(ErrorKind::Cancelled),
                    _ = timed_out => Err(ErrorKind::Timeout),
                }
            };
            let r = block_on(&self.owned, &handle, raced);
            if r.is_err() {
                abort.abort();
            }
            r
        }?;
        Ok(outcome.map_err(|e| Value::str(format!("Async task failed: {e}"))))
    }
}

/// Runs a future to completion on the owned runtime, or through a handle.
fn block_on<F: Future>(owned: &Option<Runtime>, handle: &Handle, fut: F) -> F::Output {
    match owned {
        Some(rt) => rt.block_on(fut),
        None => handle.block_on(fut),
    }
}
