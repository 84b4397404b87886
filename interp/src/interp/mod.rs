//! The tree-walking evaluator: the [`Interpreter`] and its options.
//!
//! Submodules split the evaluator by what it evaluates: expressions, operators, member and
//! index access, assignment, calls, statements, destructuring patterns, `match`, pipelines and
//! modules.

mod access;
mod assign;
mod budget;
mod call;
mod expr;
mod matching;
mod module;
mod ops;
mod pattern;
mod slots;
mod stmt;

use std::path::PathBuf;

use prism_compiler::SourceFile;
use prism_compiler::ast::{self, Name};
use prism_compiler::span::Span;

use crate::error::{ErrorKind, Flow, RuntimeError};
use crate::output::{Output, StdOutput};
use crate::promise::{AsyncRuntime, NativeFuture, WaitError};
use crate::scope::{Env, Scope};
use crate::value::{ObjectRef, Value};

pub use budget::RunLimits;
pub(crate) use module::ModuleRegistry;
pub(crate) use ops::{js_pow, to_number};
pub(crate) use slots::ir::FnCode;

/// The default limit on nested Prism calls. With [`crate::run_with_large_stack`]'s stack,
/// recursion this deep completes; deeper recursion stops with "Maximum call depth exceeded".
pub const DEFAULT_MAX_CALL_DEPTH: usize = 12_000;

/// Settings for one program run.
pub struct Options {
    /// Calls nested deeper than this fail with "Maximum call depth exceeded". Each level uses
    /// a few KiB of native stack: keep `max_call_depth × 8 KiB` below the thread's stack size.
    pub max_call_depth: usize,
    /// Where `print` and `console.*` write.
    pub output: Box<dyn Output>,
    /// The directory relative imports resolve from when the program's file name has none.
    pub base_dir: Option<PathBuf>,
    /// A tokio runtime for native asynchronous work; one is created on first use if `None`.
    /// The interpreter blocks on it at `await`, so it must not be called from async code.
    pub runtime: Option<tokio::runtime::Handle>,
    /// Step, time and cancellation limits (none by default).
    pub limits: RunLimits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            output: Box::new(StdOutput::new()),
            base_dir: None,
            runtime: None,
            limits: RunLimits::default(),
        }
    }
}

/// One program run: globals, loaded modules, output and the async runtime.
pub struct Interpreter {
    pub(crate) output: Box<dyn Output>,
    pub(crate) max_call_depth: usize,
    pub(crate) base_dir: Option<PathBuf>,
    pub(crate) globals: Env,
    pub(crate) depth: usize,
    /// Every source file seen (the program and its modules); closures refer to them by index.
    pub(crate) files: Vec<SourceFile>,
    /// The file being evaluated.
    pub(crate) file: usize,
    /// The value `_` stands for inside the right side of a pipeline.
    pub(crate) placeholder: Option<Value>,
    /// The exports of the module being evaluated.
    pub(crate) exports: Option<ObjectRef>,
    pub(crate) modules: ModuleRegistry,
    pub(crate) asyncrt: AsyncRuntime,
    /// Steps left before the limits are checked again (see [`budget`]).
    pub(crate) fuel: u32,
    pub(crate) budget: budget::Budget,
    /// The slots of the compiled functions running now, innermost last.
    pub(crate) frame: Vec<slots::Slot>,
    /// Where the innermost compiled frame starts in `frame`.
    pub(crate) base: usize,
    /// Runs everything on the tree-walking evaluator, compiling nothing to slot form (set by
    /// the `PRISM_TREE_WALKER` environment variable: for comparing the two evaluators).
    pub(crate) tree_walker: bool,
    /// Each function compiled so far (by its syntax tree's address, kept alive here).
    pub(crate) fn_codes:
        rustc_hash::FxHashMap<usize, (std::sync::Arc<ast::Function>, Option<std::rc::Rc<FnCode>>)>,
}

impl Interpreter {
    /// An interpreter with the builtins installed.
    pub fn new(options: Options) -> Self {
        let globals = Scope::root();
        crate::builtins::install(&globals);
        let (budget, fuel) = budget::Budget::start(options.limits);
        Interpreter {
            output: options.output,
            max_call_depth: options.max_call_depth,
            base_dir: options.base_dir,
            globals,
            depth: 0,
            files: Vec::new(),
            file: 0,
            placeholder: None,
            exports: None,
            modules: ModuleRegistry::default(),
            asyncrt: AsyncRuntime::with_handle(options.runtime),
            fuel,
            budget,
            frame: Vec::new(),
            base: 0,
            tree_walker: std::env::var_os("PRISM_TREE_WALKER").is_some(),
            fn_codes: Default::default(),
        }
    }

    /// Replaces where `print` and `console.*` write.
    pub fn set_output(&mut self, output: Box<dyn Output>) {
        self.output.flush();
        self.output = output;
    }

    /// Flushes the program's output.
    pub fn flush_output(&mut self) {
        self.output.flush();
    }

    /// Sets the limit on nested Prism calls.
    pub fn set_max_call_depth(&mut self, depth: usize) {
        self.max_call_depth = depth;
    }

    /// Every source file seen so far (the program and its modules), by the index closures and
    /// errors refer to.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// Binds a global name (for embedding: injected inputs, agents, host functions).
    pub fn define_global(&mut self, name: &str, value: Value) {
        let name: Name = name.into();
        self.globals.define(&name, value);
    }

    /// The value of a global, if bound.
    pub fn global(&self, name: &str) -> Option<Value> {
        self.globals.lookup(name)
    }

    /// The names bound in the global scope (builtins and the program's own globals), in
    /// binding order.
    pub fn global_names(&self) -> Vec<String> {
        self.globals.names().iter().map(|n| n.to_string()).collect()
    }

    /// Runs a parsed program; its top-level declarations become globals. Returns the value of
    /// the last statement.
    pub fn run_program(
        &mut self,
        program: &ast::Program,
        file: &SourceFile,
    ) -> Result<Value, RuntimeError> {
        self.files.push(file.clone());
        self.file = self.files.len() - 1;
        let env = self.globals.clone();
        let result = self.exec_program(&program.stmts, &env);
        self.output.flush();
        match result {
            Ok(v) => Ok(v),
            Err(flow) => Err(self.finish_error(*flow.into_error())),
        }
    }

    /// Calls a Prism or native function value with arguments (for builtins and embedders).
    pub fn call_function(
        &mut self,
        f: &Value,
        args: &[Value],
        span: Span,
    ) -> Result<Value, RuntimeError> {
        self.call(f, args.to_vec(), span)
    }

    /// Waits for a value if it is a promise: its result, or its rejection as an error. The
    /// wait ends early, with a fatal error, when the run's timeout passes or it is cancelled.
    pub fn await_value(&mut self, v: Value, span: Span) -> Result<Value, RuntimeError> {
        match &v {
            Value::Promise(p) => {
                let stop = crate::promise::StopOn {
                    deadline: self.budget.deadline(),
                    cancel: self.budget.cancel().cloned(),
                };
                match self.asyncrt.wait(p, &stop) {
                    Ok(v) => Ok(v),
                    Err(WaitError::Rejected(reason)) => Err(RuntimeError::thrown(reason, span)),
                    Err(WaitError::Stopped(ErrorKind::Timeout)) => Err(RuntimeError::of_kind(
                        ErrorKind::Timeout,
                        format!(
                            "Timed out after {} ms",
                            self.budget.timeout().map_or(0, |t| t.as_millis())
                        ),
                        span,
                    )),
                    Err(WaitError::Stopped(kind)) => {
                        Err(RuntimeError::of_kind(kind, "Cancelled", span))
                    }
                }
            }
            _ => Ok(v),
        }
    }

    /// Spawns a native asynchronous operation and returns its promise.
    pub fn spawn(&mut self, fut: NativeFuture) -> Result<Value, RuntimeError> {
        self.asyncrt.spawn(fut)
    }

    /// Spawns a native asynchronous operation resolving with thread-safe data and returns
    /// its promise.
    pub fn spawn_data(&mut self, fut: crate::promise::DataFuture) -> Result<Value, RuntimeError> {
        self.asyncrt.spawn_data(fut)
    }

    /// Writes a line to the program's standard output.
    pub fn write_stdout(&mut self, line: &str) {
        self.output.stdout(line);
    }

    /// Writes a line to the program's standard error.
    pub fn write_stderr(&mut self, line: &str) {
        self.output.stderr(line);
    }

    /// The name of the file being evaluated.
    pub(crate) fn file_name(&self) -> String {
        self.files
            .get(self.file)
            .map(|f| f.name.to_string())
            .unwrap_or_default()
    }

    /// An error the reference words as `Error at line L, column C: message`: the message
    /// stays bare, the position (column from 0, as the reference counts it) is data.
    pub(crate) fn located(&self, message: impl Into<String>, span: Span) -> Flow {
        let e = RuntimeError::new(message, span);
        Flow::from(match self.files.get(self.file) {
            Some(f) => {
                let (line, col) = f.line_col(span.start);
                e.located_at(line, col.saturating_sub(1))
            }
            None => e,
        })
    }

    fn finish_error(&self, mut e: RuntimeError) -> RuntimeError {
        if e.file.is_none() && e.span.is_some() {
            e.file = Some(self.file_name());
        }
        e
    }
}
