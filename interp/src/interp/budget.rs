//! Resource limits of a run — a step budget, a wall-time deadline and a cancellation token —
//! checked together once every [`CHECK_INTERVAL`] steps, so that the hot path of a loop
//! iteration or a call is one decrement and one branch.
//!
//! Cost, measured as instructions inside `run_program` per run of `benches/interp.rs`
//! (`valgrind --tool=callgrind` on the bench binary with `--bench --profile-time 1`, before and
//! after steps were counted): fib_25 +0.09 %, arith_loop_1m +0.31 %, map_filter_reduce_100k
//! +0.25 %, string_build_100k +0.20 % (2–7 instructions a step); with a step limit, a timeout
//! and a cancellation token all set (`arith_loop_1m_limited`) +0.005 % more.

use std::time::{Duration, Instant};

use prism_compiler::span::Span;
use tokio_util::sync::CancellationToken;

use super::Interpreter;
use crate::error::{ErrorKind, Eval, Flow, RuntimeError};

/// Steps between two checks of the clock and the cancellation token.
pub(crate) const CHECK_INTERVAL: u32 = 1024;

/// Limits on one run of the interpreter. A *step* is one loop iteration or one call of a
/// Prism function: every unbounded computation a script can write takes steps, so a step
/// limit, a timeout or a cancellation stops `while (true) {}` and runaway recursion alike.
/// All three stop the run with a fatal error ([`ErrorKind::is_fatal`]) that `try` cannot
/// catch.
#[derive(Debug, Clone, Default)]
pub struct RunLimits {
    /// The most steps a run may take; `None` for no limit.
    pub max_steps: Option<u64>,
    /// The longest a run may take, counted from [`Interpreter::set_limits`] (or the
    /// interpreter's creation); `None` for no limit. Also bounds each `await`.
    pub timeout: Option<Duration>,
    /// Stops the run when cancelled (checked with the clock, and while awaiting).
    pub cancel: Option<CancellationToken>,
    /// The most memory the process may hold, in bytes (its resident set, read with the clock
    /// on Linux; elsewhere not enforced); `None` for no limit.
    pub max_memory: Option<u64>,
}

/// The state of the limits during a run.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    limits: RunLimits,
    deadline: Option<Instant>,
    /// Steps charged by completed chunks.
    charged: u64,
    /// The size of the current chunk (what `fuel` counted down from).
    chunk: u32,
}

impl Budget {
    /// A budget starting now; returns it with the fuel of its first chunk.
    pub(crate) fn start(limits: RunLimits) -> (Budget, u32) {
        let deadline = limits.timeout.and_then(|t| Instant::now().checked_add(t));
        let mut b = Budget {
            limits,
            deadline,
            charged: 0,
            chunk: 0,
        };
        b.chunk = b.next_chunk();
        let fuel = b.chunk;
        (b, fuel)
    }

    fn next_chunk(&self) -> u32 {
        match self.limits.max_steps {
            Some(max) => max
                .saturating_sub(self.charged)
                .min(u64::from(CHECK_INTERVAL)) as u32,
            None => CHECK_INTERVAL,
        }
    }

    /// Why the run must stop now, if it must (the step limit only when `steps`).
    pub(crate) fn exceeded(&self, steps: bool) -> Option<(ErrorKind, String)> {
        if self
            .limits
            .cancel
            .as_ref()
            .is_some_and(|c| c.is_cancelled())
        {
            return Some((ErrorKind::Cancelled, "Cancelled".into()));
        }
        if let (Some(deadline), Some(t)) = (self.deadline, self.limits.timeout)
            && Instant::now() >= deadline
        {
            return Some((
                ErrorKind::Timeout,
                format!("Timed out after {} ms", t.as_millis()),
            ));
        }
        if let Some(max) = self.limits.max_memory
            && let Some(used) = resident_bytes()
            && used > max
        {
            return Some((
                ErrorKind::MemoryLimit,
                format!(
                    "Memory limit exceeded: the run holds {} MiB, more than the {} MiB allowed",
                    used >> 20,
                    max >> 20
                ),
            ));
        }
        if let Some(max) = self.limits.max_steps
            && steps
            && self.charged >= max
        {
            return Some((
                ErrorKind::StepLimit,
                format!("Step limit exceeded: the run took more than {max} steps"),
            ));
        }
        None
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.limits.timeout
    }

    pub(crate) fn cancel(&self) -> Option<&CancellationToken> {
        self.limits.cancel.as_ref()
    }
}

/// The resident memory of this process in bytes (Linux: `/proc/self/statm`), if known.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

impl Interpreter {
    /// Charges one step (a loop iteration or a call); fails once a limit is reached.
    #[inline(always)]
    pub(crate) fn tick(&mut self, span: Span) -> Eval<()> {
        match self.fuel.checked_sub(1) {
            Some(f) => {
                self.fuel = f;
                Ok(())
            }
            None => self.refuel(span),
        }
    }

    /// The current chunk is used up: check the limits and start the next chunk.
    #[cold]
    #[inline(never)]
    fn refuel(&mut self, span: Span) -> Eval<()> {
        let b = &mut self.budget;
        b.charged += u64::from(b.chunk);
        b.chunk = 0;
        if let Some((kind, message)) = b.exceeded(true) {
            return Err(Flow::from(RuntimeError::of_kind(kind, message, span)));
        }
        b.chunk = b.next_chunk();
        // `next_chunk` is at least 1 here: the step limit was not reached.
        self.fuel = b.chunk.saturating_sub(1);
        Ok(())
    }

    /// The run's limits.
    pub fn limits(&self) -> &RunLimits {
        &self.budget.limits
    }

    /// Replaces the run's limits and starts counting steps and time afresh.
    pub fn set_limits(&mut self, limits: RunLimits) {
        let (budget, fuel) = Budget::start(limits);
        self.budget = budget;
        self.fuel = fuel;
    }

    /// Steps taken since the limits were last set.
    pub fn steps_taken(&self) -> u64 {
        self.budget.charged + u64::from(self.budget.chunk - self.fuel.min(self.budget.chunk))
    }

    /// Fails with the fatal error of a passed deadline or a cancellation (before a run
    /// starts, or between two steps of host code).
    pub fn check_limits(&self) -> Result<(), RuntimeError> {
        match self.budget.exceeded(false) {
            Some((kind, message)) => Err(RuntimeError {
                span: None,
                ..RuntimeError::of_kind(kind, message, Span::default())
            }),
            None => Ok(()),
        }
    }
}
