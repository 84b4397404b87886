//! [`Engine`]: what a host configures once — native functions, agents, globals, limits,
//! where `print` goes, cancellation — and the entry points that run programs and patterns.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::native::{NativeAsyncFn, NativeBody, NativeFn};
use crate::session::{Outcome, Session};
use crate::to_data;
use prism_agents::{Agent, SharedAgent};
use prism_interp::DEFAULT_MAX_CALL_DEPTH;
use prism_interp::Data;

/// Resource limits of each run, so untrusted scripts cannot hang or exhaust the host.
///
/// A *step* is one loop iteration or one call of a Prism function. Limits apply to each
/// program run and each [`Session::call`] separately; a pattern run's timeout covers the
/// whole run. Step and time limits and cancellation cannot be caught by the script's `try`.
///
/// ```
/// use std::time::Duration;
/// use prism_lang::{Engine, Error, Limits};
///
/// let mut engine = Engine::new();
/// engine.set_limits(
///     Limits::default()
///         .with_max_steps(100_000)
///         .with_timeout(Duration::from_secs(30))
///         .with_max_call_depth(500),
/// );
/// let err = engine.run("function f(n) { return f(n + 1) }\nf(0)").unwrap_err();
/// assert_eq!(err.to_string(), "call depth limit exceeded: calls nested deeper than 500");
/// assert!(matches!(engine.run("while (true) {}"), Err(Error::LimitExceeded(_))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most steps a run may take (`None`: unlimited, the default).
    pub max_steps: Option<u64>,
    /// The longest a run may take (`None`: unlimited, the default). Also bounds `await`.
    pub timeout: Option<Duration>,
    /// The deepest nesting of Prism calls (12 000 by default). Deeper recursion fails with
    /// [`Limit::CallDepth`](crate::Limit::CallDepth), which `try` can catch.
    pub max_call_depth: usize,
    /// The most memory the process may hold while a script runs, in bytes (`None`:
    /// unlimited, the default). Checked with the clock, from the resident set on Linux.
    pub max_memory: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: None,
            timeout: None,
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            max_memory: None,
        }
    }
}

impl Limits {
    /// These limits with at most `bytes` of memory held while a script runs.
    ///
    /// ```
    /// use prism_lang::Limits;
    /// assert_eq!(Limits::default().with_max_memory(1 << 30).max_memory, Some(1 << 30));
    /// ```
    pub fn with_max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = Some(bytes);
        self
    }

    /// These limits with at most `steps` steps per run.
    ///
    /// ```
    /// use prism_lang::Limits;
    /// assert_eq!(Limits::default().with_max_steps(10).max_steps, Some(10));
    /// ```
    pub fn with_max_steps(mut self, steps: u64) -> Self {
        self.max_steps = Some(steps);
        self
    }

    /// These limits with runs stopped after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use prism_lang::Limits;
    /// let l = Limits::default().with_timeout(Duration::from_secs(1));
    /// assert_eq!(l.timeout, Some(Duration::from_secs(1)));
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// These limits with calls nested at most `depth` deep.
    ///
    /// ```
    /// use prism_lang::Limits;
    /// assert_eq!(Limits::default().with_max_call_depth(64).max_call_depth, 64);
    /// ```
    pub fn with_max_call_depth(mut self, depth: usize) -> Self {
        self.max_call_depth = depth;
        self
    }
}

/// Which stream a line of script output was written to.
///
/// ```
/// use prism_lang::Stream;
/// assert_ne!(Stream::Stdout, Stream::Stderr);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// `print`, `console.log`, `console.debug`.
    Stdout,
    /// `console.error`, `console.warn`.
    Stderr,
}

/// A function that receives every line a script prints.
///
/// ```
/// use std::sync::Arc;
/// use prism_lang::{Engine, OutputMode, PrintFn, Stream};
///
/// let log: PrintFn = Arc::new(|stream, line| {
///     if stream == Stream::Stderr {
///         eprintln!("script warning: {line}");
///     }
/// });
/// let mut engine = Engine::new();
/// engine.set_output(OutputMode::Callback(log));
/// assert_eq!(engine.run("print('to the callback')")?.stdout(), "");
/// # Ok::<(), prism_lang::Error>(())
/// ```
pub type PrintFn = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// Where `print` and `console.*` write.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use prism_lang::{Engine, OutputMode, Stream};
///
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let sink = lines.clone();
/// let mut engine = Engine::new();
/// engine.set_output(OutputMode::callback(move |stream, line| {
///     sink.lock().unwrap().push((stream, line.to_string()));
/// }));
/// engine.run("print('a', 1)\nconsole.error('oops')")?;
/// assert_eq!(
///     *lines.lock().unwrap(),
///     [(Stream::Stdout, "a 1".to_string()), (Stream::Stderr, "oops".to_string())]
/// );
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum OutputMode {
    /// Kept in memory and returned with each result ([`Outcome::stdout`]) — the default.
    /// What a failed run printed is dropped with it; use [`OutputMode::Callback`] to keep it.
    #[default]
    Capture,
    /// Written to the process's standard output and standard error.
    Inherit,
    /// Dropped.
    Discard,
    /// Given line by line to a function, as it is written.
    Callback(PrintFn),
}

impl OutputMode {
    /// Output given line by line to `f`.
    ///
    /// ```
    /// use prism_lang::OutputMode;
    /// let mode = OutputMode::callback(|_stream, line| eprintln!("[script] {line}"));
    /// assert!(matches!(mode, OutputMode::Callback(_)));
    /// ```
    pub fn callback(f: impl Fn(Stream, &str) + Send + Sync + 'static) -> Self {
        OutputMode::Callback(Arc::new(f))
    }
}

impl fmt::Debug for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputMode::Capture => "Capture",
            OutputMode::Inherit => "Inherit",
            OutputMode::Discard => "Discard",
            OutputMode::Callback(_) => "Callback(..)",
        })
    }
}

/// Stops runs from any thread: every run that watches a cancelled handle fails with
/// [`Error::Cancelled`] at its next step or `await`. A handle stays cancelled; use a new one
/// for new runs.
///
/// ```
/// use std::time::Duration;
/// use prism_lang::{CancelHandle, Engine, Error};
///
/// let cancel = CancelHandle::new();
/// let mut engine = Engine::new();
/// engine.set_cancel_handle(&cancel);
/// let stopper = cancel.clone();
/// std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(20));
///     stopper.cancel();
/// });
/// assert!(matches!(engine.run("while (true) {}"), Err(Error::Cancelled)));
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    token: CancellationToken,
}

impl CancelHandle {
    /// A handle that is not cancelled.
    ///
    /// ```
    /// assert!(!prism_lang::CancelHandle::new().is_cancelled());
    /// ```
    pub fn new() -> Self {
        CancelHandle::default()
    }

    /// Cancels every run watching this handle.
    ///
    /// ```
    /// let h = prism_lang::CancelHandle::new();
    /// h.clone().cancel();
    /// assert!(h.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// True once cancelled.
    ///
    /// ```
    /// assert!(!prism_lang::CancelHandle::new().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    pub(crate) fn from_token(token: CancellationToken) -> Self {
        CancelHandle { token }
    }

    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// A Prism engine: the configuration every run starts from — native functions, agents,
/// globals, limits, output and cancellation. Cheap to clone, `Send` and `Sync`: each run
/// gets a fresh interpreter on its own thread (with a stack large enough for deep
/// recursion), so nothing a script does leaks into the next run; use a [`Session`] to keep
/// a script's state between calls.
///
/// ```
/// use prism_lang::{Confident, Engine};
///
/// #[derive(serde::Serialize)]
/// struct Order { total: f64, country: String }
///
/// let mut engine = Engine::new();
/// engine.register_fn("vat", |country: String| if country == "DE" { 0.19 } else { 0.2 });
/// engine.set_global("order", &Order { total: 100.0, country: "DE".into() })?;
/// let out = engine.run("print('checking')\nlet gross = order.total * (1 + vat(order.country))\ngross ~> 0.95")?;
/// assert_eq!(out.get::<Confident<f64>>()?, Confident::new(119.0, 0.95));
/// assert_eq!(out.stdout(), "checking\n");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Engine {
    pub(crate) natives: Vec<(Arc<str>, NativeBody)>,
    pub(crate) globals: Vec<(String, Data)>,
    pub(crate) agents: Vec<SharedAgent>,
    pub(crate) limits: Limits,
    pub(crate) output: OutputMode,
    pub(crate) cancel: Option<CancelHandle>,
    pub(crate) base_dir: Option<PathBuf>,
    pub(crate) tokio: Option<tokio::runtime::Handle>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field(
                "natives",
                &self.natives.iter().map(|(n, _)| &**n).collect::<Vec<_>>(),
            )
            .field(
                "globals",
                &self.globals.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "agents",
                &self
                    .agents
                    .iter()
                    .map(|a| a.info().name.clone())
                    .collect::<Vec<_>>(),
            )
            .field("limits", &self.limits)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with the builtins only, no limits, and captured output.
    ///
    /// ```
    /// let out = prism_lang::Engine::new().run("Math.max(1, 2) ~> 0.5")?;
    /// assert_eq!(out.value().to_string(), "2 ~> 0.50");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn new() -> Self {
        Engine::default()
    }

    /// Makes a Rust function callable from Prism as `name(...)` (see [`NativeFn`] for the
    /// forms accepted). Registering a name again replaces the function.
    ///
    /// ```
    /// use prism_lang::Engine;
    /// let mut engine = Engine::new();
    /// engine.register_fn("shout", |s: String| s.to_uppercase());
    /// assert_eq!(engine.run("shout('hi')")?.value().as_str(), Some("HI"));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn register_fn<Args, Marker>(
        &mut self,
        name: &str,
        f: impl NativeFn<Args, Marker>,
    ) -> &mut Self {
        let name: Arc<str> = name.into();
        let body = f.into_body(name.clone());
        self.add_native(name, body)
    }

    /// Makes an async Rust function callable from Prism: calling it returns a promise the
    /// script `await`s (see [`NativeAsyncFn`]). The future runs on the engine's tokio
    /// runtime ([`Engine::set_tokio_handle`]) or one the run creates.
    ///
    /// ```
    /// use prism_lang::{Engine, NativeError};
    /// let mut engine = Engine::new();
    /// engine.register_async_fn("load", |key: String| async move {
    ///     if key == "a" { Ok(1) } else { Err(NativeError::new(format!("no key {key}"))) }
    /// });
    /// let out = engine.run("let x = await load('a')\ntry { await load('b') } catch (e) { x + ' ' + e }")?;
    /// assert_eq!(out.value().as_str(), Some("1 no key b"));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn register_async_fn<Args, Marker>(
        &mut self,
        name: &str,
        f: impl NativeAsyncFn<Args, Marker>,
    ) -> &mut Self {
        let name: Arc<str> = name.into();
        let body = f.into_body(name.clone());
        self.add_native(name, body)
    }

    fn add_native(&mut self, name: Arc<str>, body: NativeBody) -> &mut Self {
        self.natives.retain(|(n, _)| *n != name);
        self.natives.push((name, body));
        self
    }

    /// Adds an agent written in Rust: the patterns this engine runs select from the
    /// registered agents (by capability) instead of the built-in local agents.
    ///
    /// ```
    /// use prism_lang::{Agent, AgentAnswer, AgentFuture, AgentInfo, AgentRequest, Engine};
    ///
    /// struct Constant(AgentInfo);
    /// impl Agent for Constant {
    ///     fn info(&self) -> &AgentInfo { &self.0 }
    ///     fn analyze<'a>(&'a self, _request: &'a AgentRequest) -> AgentFuture<'a> {
    ///         Box::pin(async { Ok(AgentAnswer::new("ok".into(), 0.9)) })
    ///     }
    /// }
    ///
    /// let mut engine = Engine::new();
    /// engine.register_agent(Constant(AgentInfo::new("constant", vec!["review".into()])));
    /// assert_eq!(engine.agents().len(), 1);
    /// ```
    pub fn register_agent(&mut self, agent: impl Agent + 'static) -> &mut Self {
        self.agents.push(Arc::new(agent));
        self
    }

    /// Adds an agent already shared (`Arc<dyn Agent>`), e.g. one another engine holds.
    ///
    /// ```
    /// use prism_lang::Engine;
    /// let mut first = Engine::new();
    /// first.load_agents_yaml("agents:\n  - name: a\n    echo: true\n  - name: b\n    echo: true\n")?;
    /// let mut engine = Engine::new();
    /// for a in first.agents() {
    ///     engine.register_shared_agent(a.clone());
    /// }
    /// assert_eq!(engine.agents().len(), 2);
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn register_shared_agent(&mut self, agent: SharedAgent) -> &mut Self {
        self.agents.push(agent);
        self
    }

    /// Adds the agents of an agents file (`agents.yaml`: local, HTTP, process and LLM agents;
    /// see `docs/agents.md`); relative `command:` paths start from the file's folder.
    ///
    /// ```no_run
    /// let mut engine = prism_lang::Engine::new();
    /// engine.load_agents_file("agents.yaml")?;
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn load_agents_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, Error> {
        let set = prism_agents::config::load_agents_file(path.as_ref())
            .map_err(|e| Error::Agents(e.to_string()))?;
        self.agents.extend(set.agents);
        Ok(self)
    }

    /// Adds the agents of an agents file given as text (as [`Engine::load_agents_file`]; relative
    /// paths start from the current folder).
    ///
    /// ```
    /// let mut engine = prism_lang::Engine::new();
    /// engine.load_agents_yaml("agents:\n  - name: echo\n    capabilities: [test]\n    echo: true\n")?;
    /// assert_eq!(engine.agents()[0].info().name, "echo");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn load_agents_yaml(&mut self, text: &str) -> Result<&mut Self, Error> {
        let set = prism_agents::config::parse_agents(text, Path::new("agents.yaml"))
            .map_err(|e| Error::Agents(e.to_string()))?;
        self.agents.extend(set.agents);
        Ok(self)
    }

    /// The registered agents.
    ///
    /// ```
    /// assert!(prism_lang::Engine::new().agents().is_empty());
    /// ```
    pub fn agents(&self) -> &[SharedAgent] {
        &self.agents
    }

    /// Binds a global every run sees, converted from any `Serialize` value
    /// ([`Confident`](crate::Confident) values keep their confidence).
    ///
    /// ```
    /// use prism_lang::{Confident, Engine};
    /// let mut engine = Engine::new();
    /// engine.set_global("limits", &serde_json::json!({"max": 3}))?;
    /// engine.set_global("risk", &Confident::new("low", 0.6))?;
    /// let out = engine.run("[limits.max, <~ risk]")?;
    /// assert_eq!(out.get::<(u32, f64)>()?, (3, 0.6));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn set_global<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<&mut Self, Error> {
        let d = to_data(value)?;
        self.globals.retain(|(n, _)| n != name);
        self.globals.push((name.to_owned(), d));
        Ok(self)
    }

    /// Sets the limits of each run.
    ///
    /// ```
    /// use prism_lang::{Engine, Limits};
    /// let mut engine = Engine::new();
    /// engine.set_limits(Limits::default().with_max_steps(5));
    /// assert!(engine.run("for (let i = 0; i < 5; i++) {}").is_ok());
    /// assert!(engine.run("for (let i = 0; i < 6; i++) {}").is_err());
    /// ```
    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The limits of each run.
    ///
    /// ```
    /// use prism_lang::{Engine, Limits};
    /// assert_eq!(*Engine::new().limits(), Limits::default());
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets where `print` and `console.*` write.
    ///
    /// ```
    /// use prism_lang::{Engine, OutputMode};
    /// let mut engine = Engine::new();
    /// engine.set_output(OutputMode::Discard);
    /// assert_eq!(engine.run("print('gone')")?.stdout(), "");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn set_output(&mut self, output: OutputMode) -> &mut Self {
        self.output = output;
        self
    }

    /// Makes every run of this engine (programs, sessions, patterns) stop when `handle` is
    /// cancelled.
    ///
    /// ```
    /// use prism_lang::{CancelHandle, Engine, Error};
    /// let handle = CancelHandle::new();
    /// let mut engine = Engine::new();
    /// engine.set_cancel_handle(&handle);
    /// handle.cancel();
    /// assert!(matches!(engine.run("1"), Err(Error::Cancelled)));
    /// ```
    pub fn set_cancel_handle(&mut self, handle: &CancelHandle) -> &mut Self {
        self.cancel = Some(handle.clone());
        self
    }

    /// Sets the directory relative `import`s resolve from.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("prism-embed-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("util.prism"), "export function twice(x) { return 2 * x }").unwrap();
    /// let mut engine = prism_lang::Engine::new();
    /// engine.set_base_dir(&dir);
    /// let out = engine.run("import { twice } from './util.prism'\ntwice(21)")?;
    /// assert_eq!(out.value().as_f64(), Some(42.0));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn set_base_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Runs async native functions on this tokio runtime (with its time driver enabled, for
    /// timeouts) instead of one per run.
    ///
    /// ```
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let mut engine = prism_lang::Engine::new();
    /// engine.set_tokio_handle(rt.handle().clone());
    /// engine.register_async_fn("answer", || async { 42 });
    /// assert_eq!(engine.run("await answer()")?.value().as_f64(), Some(42.0));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn set_tokio_handle(&mut self, handle: tokio::runtime::Handle) -> &mut Self {
        self.tokio = Some(handle);
        self
    }

    /// Runs a program (named `<script>` in errors) and returns its last value, awaited if
    /// it is a promise.
    ///
    /// ```
    /// let out = prism_lang::Engine::new().run("let xs = [1, 2, 3]\nxs.map(x => x * x)")?;
    /// assert_eq!(out.get::<Vec<u32>>()?, [1, 4, 9]);
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn run(&self, source: &str) -> Result<Outcome, Error> {
        self.run_named("<script>", source)
    }

    /// Runs a program under a file name (used in errors and to resolve relative imports).
    ///
    /// ```
    /// let err = prism_lang::Engine::new().run_named("rules.prism", "\nnope").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "rules.prism:2:1: Error at line 2, column 1: Undefined variable: nope"
    /// );
    /// ```
    pub fn run_named(&self, name: &str, source: &str) -> Result<Outcome, Error> {
        self.session()?.run_named(name, source)
    }

    /// [`Engine::run`] for async hosts: the interpreter runs on its own thread while the
    /// future waits. Dropping the future cancels the run.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), prism_lang::Error> {
    /// let engine = prism_lang::Engine::new();
    /// let out = engine.run_async("[1, 2].length").await?;
    /// assert_eq!(out.value().as_f64(), Some(2.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_async(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Outcome, Error>> + Send + 'static {
        let engine = self.clone();
        let source = source.to_owned();
        async move {
            let session = engine.session()?;
            session.run_async(&source).await
        }
    }

    /// Starts a [`Session`]: one interpreter, on its own thread, that keeps the script's
    /// globals and functions between calls.
    ///
    /// ```
    /// let session = prism_lang::Engine::new().session()?;
    /// session.run("let total = 0\nfunction add(x) { total += x; return total }")?;
    /// session.call("add", &(5,))?;
    /// assert_eq!(session.call("add", &(2,))?.value().as_f64(), Some(7.0));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn session(&self) -> Result<Session, Error> {
        Session::start(self.clone())
    }

    /// The token a new run watches: a child of the engine's handle, if any.
    pub(crate) fn run_token(&self) -> CancellationToken {
        match &self.cancel {
            Some(h) => h.token().child_token(),
            None => CancellationToken::new(),
        }
    }
}
