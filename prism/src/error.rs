//! The one error type of the embedding API: compile errors with their diagnostics, runtime
//! errors with their position and call stack, timeouts, cancellation, limits, failed pattern
//! runs and conversion errors.
//!
//! `Display` is one line per problem (`main.prism:3:9: Division by zero`) followed by the call
//! stack; the alternate form (`{:#}`) draws the source snippet as the `prism` command does.

use std::fmt;
use std::time::Duration;

use prism_compiler::diagnostic::render;
use prism_compiler::span::Span;
use prism_compiler::{Diagnostic, SourceFile};

use prism_executor::ExecutionRecord;
use prism_interp::Data;
use prism_interp::error::{ErrorKind, RuntimeError};

impl From<prism_interp::DataError> for Error {
    fn from(e: prism_interp::DataError) -> Self {
        Error::Conversion(e.0)
    }
}

/// Everything that can go wrong when embedding Prism.
///
/// ```
/// use prism_lang::{Engine, Error};
///
/// let engine = Engine::new();
/// let err = engine.run("let x = 1 / 0").unwrap_err();
/// assert!(matches!(err, Error::Runtime(_)));
/// assert_eq!(err.to_string(), "<script>:1:9: Division by zero");
///
/// let err = engine.run("let = 2").unwrap_err();
/// assert!(matches!(err, Error::Compile(_)));
/// assert!(err.to_string().starts_with("<script>:1:5: error"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source does not parse, or a pattern does not compile.
    #[error(transparent)]
    Compile(CompileError),
    /// The script stopped with an uncaught error or thrown value.
    #[error(transparent)]
    Runtime(Box<ScriptError>),
    /// The run took longer than [`Limits::timeout`](crate::Limits::timeout) allows.
    #[error("timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The run was cancelled through a [`CancelHandle`](crate::CancelHandle) (or its future
    /// was dropped).
    #[error("cancelled")]
    Cancelled,
    /// The run reached a step or call-depth limit.
    #[error("{0}")]
    LimitExceeded(Limit),
    /// A pattern run failed (its execution record says where).
    #[error(transparent)]
    Pattern(Box<PatternError>),
    /// A value could not be converted between Rust and Prism.
    #[error("cannot convert the value: {0}")]
    Conversion(String),
    /// An agents file could not be read or has errors.
    #[error("agents file: {0}")]
    Agents(String),
    /// [`Session::call`](crate::Session::call) named something that is not a function.
    #[error("`{0}` is not a function")]
    NotAFunction(String),
    /// The host could not provide what the run needs (a thread, an async runtime, a file).
    #[error("{0}")]
    Host(String),
}

/// A resource limit that stopped a run.
///
/// ```
/// use prism_lang::{Engine, Error, Limit, Limits};
///
/// let mut engine = Engine::new();
/// engine.set_limits(Limits::default().with_max_steps(100));
/// let err = engine.run("while (true) {}").unwrap_err();
/// assert!(matches!(err, Error::LimitExceeded(Limit::Steps(100))));
/// assert_eq!(err.to_string(), "step limit exceeded: the run took more than 100 steps");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Limit {
    /// More steps (loop iterations and calls) than [`Limits::max_steps`](crate::Limits::max_steps).
    #[error("step limit exceeded: the run took more than {0} steps")]
    Steps(u64),
    /// Calls nested deeper than [`Limits::max_call_depth`](crate::Limits::max_call_depth).
    #[error("call depth limit exceeded: calls nested deeper than {0}")]
    CallDepth(usize),
    /// More memory held than [`Limits::max_memory`](crate::Limits::max_memory), in bytes.
    #[error("memory limit exceeded: more than {0} bytes held")]
    Memory(u64),
}

/// A source that does not parse, or a pattern that does not compile: every diagnostic.
///
/// ```
/// use prism_lang::{Engine, Error};
///
/// let Err(Error::Compile(e)) = Engine::new().run("print(") else { panic!("must not parse") };
/// assert_eq!(e.file_name(), "<script>");
/// assert!(!e.diagnostics().is_empty());
/// assert!(format!("{e:#}").contains("print("), "the alternate form shows the source");
/// ```
#[derive(Debug, Clone)]
pub struct CompileError {
    file: SourceFile,
    diagnostics: Vec<Diagnostic>,
}

impl CompileError {
    pub(crate) fn new(file: SourceFile, diagnostics: Vec<Diagnostic>) -> Self {
        CompileError { file, diagnostics }
    }

    /// The name of the file that failed.
    ///
    /// ```
    /// use prism_lang::{Engine, Error};
    /// let Err(Error::Compile(e)) = Engine::new().run_named("rules.prism", "let = 1") else {
    ///     panic!()
    /// };
    /// assert_eq!(e.file_name(), "rules.prism");
    /// ```
    pub fn file_name(&self) -> &str {
        &self.file.name
    }

    /// Every diagnostic (errors and warnings), in source order.
    ///
    /// ```
    /// use prism_lang::{Engine, Error};
    /// let Err(Error::Compile(e)) = Engine::new().run("let = 1") else { panic!() };
    /// assert!(e.diagnostics().iter().any(|d| d.code.starts_with("prism::syntax")));
    /// ```
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<&Diagnostic> = self.diagnostics.iter().filter(|d| d.is_error()).collect();
        if f.alternate() {
            let owned: Vec<Diagnostic> = errors.into_iter().cloned().collect();
            return f.write_str(render(&owned, &self.file, false).trim_end());
        }
        for (i, d) in errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let (line, col) = self.file.line_col(d.primary_span().start);
            write!(
                f,
                "{}:{line}:{col}: error: {} [{}]",
                self.file.name, d.message, d.code
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileError {}

/// A runtime error: the message, where it happened, the call stack and any thrown value.
///
/// ```
/// use prism_lang::{Engine, Error};
///
/// let source = "function check(x) {\n  if (x < 0) { throw {code: 7} }\n}\ncheck(-1)";
/// let Err(Error::Runtime(e)) = Engine::new().run(source) else { panic!("must fail") };
/// assert_eq!((e.line, e.column), (Some(2), Some(16)));
/// assert_eq!(e.stack[0].function, "check");
/// assert_eq!(e.stack[0].line, 4);
/// let thrown = e.thrown.as_ref().and_then(|t| t.get("code")).and_then(|c| c.as_f64());
/// assert_eq!(thrown, Some(7.0));
/// assert!(e.to_string().contains("in check called at <script>:4:1"));
/// ```
#[derive(Debug, Clone)]
pub struct ScriptError {
    /// What went wrong, as the `prism` command words it.
    pub message: String,
    /// The file it happened in, if known.
    pub file: Option<String>,
    /// The 1-based line, if known.
    pub line: Option<u32>,
    /// The 1-based column, if known.
    pub column: Option<u32>,
    /// The byte span in `file`, if known.
    pub span: Option<Span>,
    /// The calls that were active, innermost first.
    pub stack: Vec<StackFrame>,
    /// The value of a `throw` (or a rejected promise), if that is what stopped the script.
    pub thrown: Option<Data>,
    source: Option<SourceFile>,
}

/// One call of a [`ScriptError`]'s stack.
///
/// ```
/// use prism_lang::{Engine, Error, StackFrame};
/// let Err(Error::Runtime(e)) = Engine::new().run("let f = () => null.x\nf()") else { panic!() };
/// let frame: &StackFrame = &e.stack[0];
/// assert_eq!((frame.function.as_str(), frame.line, frame.column), ("lambda", 2, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFrame {
    /// The function's name (`lambda` for anonymous functions).
    pub function: String,
    /// The file of the call.
    pub file: String,
    /// The 1-based line of the call.
    pub line: u32,
    /// The 1-based column of the call.
    pub column: u32,
}

impl ScriptError {
    /// Builds the error from the interpreter's, with positions resolved in `files`.
    pub(crate) fn from_runtime(e: &RuntimeError, files: &[SourceFile]) -> ScriptError {
        let find = |name: &str| files.iter().rev().find(|f| &*f.name == name);
        let source = e.file.as_deref().and_then(find).cloned();
        let (line, column) = match (&source, e.span) {
            (Some(f), Some(s)) => {
                let (l, c) = f.line_col(s.start);
                (Some(l), Some(c))
            }
            _ => (None, None),
        };
        let stack = e
            .stack
            .iter()
            .map(|fr| {
                let (line, column) =
                    find(&fr.file).map_or((0, 0), |f| f.line_col(fr.call_span.start));
                StackFrame {
                    function: fr.name.clone(),
                    file: fr.file.clone(),
                    line,
                    column,
                }
            })
            .collect();
        let thrown = e
            .value
            .as_ref()
            .map(|v| Data::from_value(v).unwrap_or_default());
        ScriptError {
            message: e.report_message(),
            file: e.file.clone(),
            line,
            column,
            span: e.span,
            stack,
            thrown,
            source,
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate()
            && let (Some(src), Some(span)) = (&self.source, self.span)
        {
            let mut d = Diagnostic::error("prism::runtime", self.message.clone(), span);
            if !self.stack.is_empty() {
                let mut help = String::from("call stack (innermost first):");
                for fr in &self.stack {
                    help.push_str(&format!(
                        "\n  in {} called at {}:{}:{}",
                        fr.function, fr.file, fr.line, fr.column
                    ));
                }
                d = d.with_help(help);
            }
            return f.write_str(render(&[d], src, false).trim_end());
        }
        match (&self.file, self.line, self.column) {
            (Some(file), Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {}", self.message)?,
            (Some(file), _, _) => write!(f, "{file}: {}", self.message)?,
            _ => f.write_str(&self.message)?,
        }
        for fr in &self.stack {
            write!(
                f,
                "\n  in {} called at {}:{}:{}",
                fr.function, fr.file, fr.line, fr.column
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ScriptError {}

/// A pattern run that failed: the failure's code, message and node, and the whole record.
///
/// ```
/// use prism_lang::{Engine, Error, Pattern};
///
/// let pattern = Pattern::yaml(
///     "name: needs-text\ninput:\n  text: string\nagents:\n  min: 1\noutput:\n  answer: $result\n",
/// )?;
/// let Err(Error::Pattern(e)) = Engine::new().run_pattern_blocking(&pattern, &serde_json::json!({}))
/// else {
///     panic!("the input lacks `text`")
/// };
/// assert_eq!(e.code, "prism::run::input");
/// assert_eq!(e.record.status.as_str(), "failed");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PatternError {
    /// A stable code (`prism::run::input`, `prism::runtime`, …).
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The plan node that failed, if any.
    pub node: Option<String>,
    /// The execution record of the run.
    pub record: ExecutionRecord,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern run failed: {} [{}]", self.message, self.code)?;
        if let Some(n) = &self.node {
            write!(f, " at node `{n}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for PatternError {}

impl Error {
    /// The embedding error for an interpreter error.
    pub(crate) fn from_runtime(
        e: &RuntimeError,
        files: &[SourceFile],
        limits: &super::Limits,
    ) -> Error {
        match e.kind {
            ErrorKind::Timeout => Error::Timeout(limits.timeout.unwrap_or_default()),
            ErrorKind::Cancelled => Error::Cancelled,
            ErrorKind::StepLimit => {
                Error::LimitExceeded(Limit::Steps(limits.max_steps.unwrap_or_default()))
            }
            ErrorKind::CallDepth => Error::LimitExceeded(Limit::CallDepth(limits.max_call_depth)),
            ErrorKind::MemoryLimit => {
                Error::LimitExceeded(Limit::Memory(limits.max_memory.unwrap_or_default()))
            }
            _ => Error::Runtime(Box::new(ScriptError::from_runtime(e, files))),
        }
    }
}
