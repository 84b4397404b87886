//! The Prism interpreter core: values with confidences, scopes, builtins, modules and the
//! tree-walking interpreter. Agents (`prism-agents`), the plan executor (`prism-executor`) and
//! the embedding API (`prism-lang`) build on it.
//!
//! ```no_run
//! use prism_interp::{Interpreter, Options, run_with_large_stack};
//! let source = "print(1 + 2 ~> 0.5)";
//! run_with_large_stack(move || {
//!     let parsed = prism_compiler::parse(source);
//!     let file = prism_compiler::SourceFile::new("main.prism", source);
//!     let mut interp = Interpreter::new(Options::default());
//!     interp.run_program(&parsed.program, &file).map(|_| ()).map_err(|e| e.message)
//! });
//! ```

mod builtins;
pub mod data;
pub mod error;
pub mod format;
mod interp;
pub mod json;
pub mod output;
pub mod promise;
pub mod scope;
pub mod value;

#[cfg(test)]
mod test_support;

pub use data::{Confident, Data, DataError, from_data, to_data};
pub use error::{ErrorKind, Frame, RuntimeError};
pub use interp::{DEFAULT_MAX_CALL_DEPTH, Interpreter, Options, RunLimits};
pub use json::{from_json, to_json};
pub use output::{CaptureOutput, Output, StdOutput};
pub use value::Value;

/// The stack size [`run_with_large_stack`] gives its thread.
pub const LARGE_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Runs `f` on a new thread with a 256 MiB stack and waits for it, so that deep Prism recursion
/// reaches the "Maximum call depth exceeded" error instead of overflowing the native stack.
/// If the thread cannot be started, `f` runs on the current thread.
pub fn run_with_large_stack<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("prism-interpreter".into())
            .stack_size(LARGE_STACK_BYTES)
            .spawn_scoped(s, f);
        match handle {
            Ok(h) => match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => unreachable_fallback(),
        }
    })
}

#[cold]
fn unreachable_fallback<R>() -> R {
    // Spawning failed (out of memory or thread limits): there is no way to run `f` any more
    // since it was moved into the failed spawn; report it the only way left.
    std::process::abort()
}
