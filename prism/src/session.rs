//! [`Session`]: one interpreter on its own thread (with the large stack deep recursion
//! needs), driven by messages from any thread — run a program, call a script function, set
//! or read a global — and the [`Outcome`] each call returns.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use prism_compiler::SourceFile;
use prism_compiler::span::Span;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::engine::{CancelHandle, Engine, OutputMode, PrintFn, Stream};
use crate::error::{CompileError, Error};
use crate::{from_data, to_data};
use prism_interp::Data;
use prism_interp::output::{CaptureOutput, Output, StdOutput};
use prism_interp::value::Value;
use prism_interp::{DEFAULT_MAX_CALL_DEPTH, RunLimits};
use prism_interp::{Interpreter, LARGE_STACK_BYTES, Options};

/// What a run or a call produced: its value, what it printed (with [`OutputMode::Capture`]),
/// and how many steps and how long it took.
///
/// ```
/// let out = prism_lang::Engine::new().run("for (let i = 0; i < 3; i++) { print(i) }\n'done'")?;
/// assert_eq!(out.value().as_str(), Some("done"));
/// assert_eq!(out.stdout(), "0\n1\n2\n");
/// assert_eq!(out.steps(), 3);
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    value: Data,
    stdout: String,
    stderr: String,
    steps: u64,
    elapsed: Duration,
}

impl Outcome {
    /// The value.
    ///
    /// ```
    /// let out = prism_lang::Engine::new().run("'x' ~> 0.5")?;
    /// assert_eq!(out.value(), &prism_lang::Data::confident("x", 0.5));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn value(&self) -> &Data {
        &self.value
    }

    /// The value, owned.
    ///
    /// ```
    /// let data = prism_lang::Engine::new().run("[1]")?.into_value();
    /// assert_eq!(data.as_array().map(|a| a.len()), Some(1));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn into_value(self) -> Data {
        self.value
    }

    /// The value as a Rust type (see [`from_data`]).
    ///
    /// ```
    /// use prism_lang::Confident;
    /// #[derive(serde::Deserialize)]
    /// struct Triage { queue: String, urgent: Confident<bool> }
    /// let out = prism_lang::Engine::new().run("({queue: 'billing', urgent: true ~> 0.7})")?;
    /// let t: Triage = out.get()?;
    /// assert_eq!((t.queue.as_str(), t.urgent.confidence), ("billing", 0.7));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, Error> {
        from_data(&self.value)
    }

    /// The value's confidence, if it has one.
    ///
    /// ```
    /// let out = prism_lang::Engine::new().run("(70 ~> 0.9) + (2 ~> 0.6)")?;
    /// assert_eq!(out.confidence(), Some(0.6));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn confidence(&self) -> Option<f64> {
        self.value.confidence()
    }

    /// What the run wrote to standard output (`print`, `console.log`), with
    /// [`OutputMode::Capture`].
    ///
    /// ```
    /// assert_eq!(prism_lang::Engine::new().run("print(1 ~> 0.5)")?.stdout(), "1 ~> 0.50\n");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// What the run wrote to standard error (`console.error`, `console.warn`), with
    /// [`OutputMode::Capture`].
    ///
    /// ```
    /// assert_eq!(prism_lang::Engine::new().run("console.error('bad')")?.stderr(), "bad\n");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// The steps (loop iterations and calls) the run took.
    ///
    /// ```
    /// let out = prism_lang::Engine::new().run("function f() { return 1 }\nf() + f()")?;
    /// assert_eq!(out.steps(), 2);
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// How long the run took (on the interpreter's thread).
    ///
    /// ```
    /// let out = prism_lang::Engine::new().run("await sleep(10)")?;
    /// assert!(out.elapsed() >= std::time::Duration::from_millis(10));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// What the session thread is asked to do.
enum Command {
    Run { name: String, source: String },
    Call { function: String, args: Data },
    SetGlobal { name: String, value: Data },
    Global { name: String },
}

/// A job's answer: the outcome, and whether a looked-up global was bound.
type Reply = Result<(Outcome, bool), Error>;

struct Job {
    command: Command,
    cancel: CancellationToken,
    reply: oneshot::Sender<Reply>,
}

/// One interpreter that keeps its globals — and the functions a script defines — between
/// calls, running on its own thread. Methods may be called from any thread (the session is
/// `Send` and `Sync`); calls run one at a time, in order. Dropping the session cancels what
/// it is running and ends its thread.
///
/// ```
/// use prism_lang::{Confident, Engine};
///
/// let session = Engine::new().session()?;
/// session.run("function score(x) { return (x * 2) ~> 0.9 }")?;
/// let s: Confident<f64> = session.call("score", &(21,))?.get()?;
/// assert_eq!(s, Confident::new(42.0, 0.9));
/// # Ok::<(), prism_lang::Error>(())
/// ```
pub struct Session {
    tx: mpsc::Sender<Job>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The thread ends once the current job stops and the channel is closed.
        self.cancel.cancel();
    }
}

/// Cancels a call whose future is dropped before it completes.
struct CancelOnDrop(Option<CancellationToken>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

impl Session {
    pub(crate) fn start(engine: Engine) -> Result<Session, Error> {
        let cancel = engine.run_token();
        let (tx, rx) = mpsc::channel::<Job>();
        // Each nesting level of Prism calls needs some native stack: give deep limits room.
        let stack = LARGE_STACK_BYTES.max(engine.limits.max_call_depth.saturating_mul(22 * 1024));
        std::thread::Builder::new()
            .name("prism-session".into())
            .stack_size(stack)
            .spawn(move || serve(engine, rx))
            .map_err(|e| Error::Host(format!("cannot start the interpreter thread: {e}")))?;
        Ok(Session { tx, cancel })
    }

    /// Sends a job; the receiver gets its result.
    fn send(&self, command: Command) -> (oneshot::Receiver<Reply>, CancellationToken) {
        let (reply, rx) = oneshot::channel();
        let cancel = self.cancel.child_token();
        let job = Job {
            command,
            cancel: cancel.clone(),
            reply,
        };
        // A closed channel drops the job and its reply sender: the receiver reports it.
        let _ = self.tx.send(job);
        (rx, cancel)
    }

    fn blocking(&self, command: Command) -> Reply {
        let (rx, _) = self.send(command);
        futures::executor::block_on(rx).unwrap_or_else(|_| Err(stopped()))
    }

    fn later(
        &self,
        command: Command,
    ) -> impl std::future::Future<Output = Result<Outcome, Error>> + Send + 'static {
        let (rx, cancel) = self.send(command);
        async move {
            let mut guard = CancelOnDrop(Some(cancel));
            let r = rx.await.unwrap_or_else(|_| Err(stopped()));
            guard.0 = None;
            r.map(|(out, _)| out)
        }
    }

    /// Runs a program (named `<script>` in errors); its declarations stay in the session.
    ///
    /// ```
    /// let s = prism_lang::Engine::new().session()?;
    /// s.run("let greeting = 'hello'")?;
    /// assert_eq!(s.run("greeting + '!'")?.value().as_str(), Some("hello!"));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn run(&self, source: &str) -> Result<Outcome, Error> {
        self.run_named("<script>", source)
    }

    /// Runs a program under a file name (used in errors and to resolve relative imports).
    ///
    /// ```
    /// let s = prism_lang::Engine::new().session()?;
    /// let err = s.run_named("setup.prism", "throw 'no'").unwrap_err();
    /// assert_eq!(err.to_string(), "setup.prism:1:1: no");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn run_named(&self, name: &str, source: &str) -> Result<Outcome, Error> {
        self.blocking(Command::Run {
            name: name.to_owned(),
            source: source.to_owned(),
        })
        .map(|(out, _)| out)
    }

    /// [`Session::run`] for async hosts. Dropping the future cancels the run (the session
    /// stays usable).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), prism_lang::Error> {
    /// let s = prism_lang::Engine::new().session()?;
    /// let out = s.run_async("40 + 2").await?;
    /// assert_eq!(out.value().as_f64(), Some(42.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_async(
        &self,
        source: &str,
    ) -> impl std::future::Future<Output = Result<Outcome, Error>> + Send + 'static {
        self.later(Command::Run {
            name: "<script>".to_owned(),
            source: source.to_owned(),
        })
    }

    /// Calls a function the script defined (or any global function) with arguments given as
    /// a tuple (`()` for none, `(x,)` for one); its result is awaited if it is a promise.
    ///
    /// ```
    /// use prism_lang::{Confident, Engine, Error};
    /// let s = Engine::new().session()?;
    /// s.run("function weigh(x, w) { return x ~> w }")?;
    /// let r: Confident<String> = s.call("weigh", &("yes", 0.8))?.get()?;
    /// assert_eq!(r, Confident::new("yes".to_string(), 0.8));
    /// assert_eq!(s.call("Math.max", &(3, 9))?.value().as_f64(), Some(9.0));
    /// assert!(matches!(s.call("Math", &()), Err(Error::NotAFunction(name)) if name == "Math"));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn call<A: Serialize + ?Sized>(&self, function: &str, args: &A) -> Result<Outcome, Error> {
        let args = to_data(args)?;
        self.blocking(Command::Call {
            function: function.to_owned(),
            args,
        })
        .map(|(out, _)| out)
    }

    /// [`Session::call`] for async hosts. Dropping the future cancels the call.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), prism_lang::Error> {
    /// let s = prism_lang::Engine::new().session()?;
    /// s.run_async("let twice = x => 2 * x").await?;
    /// assert_eq!(s.call_async("twice", &(4,))?.await?.value().as_f64(), Some(8.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn call_async<A: Serialize + ?Sized>(
        &self,
        function: &str,
        args: &A,
    ) -> Result<impl std::future::Future<Output = Result<Outcome, Error>> + Send + 'static, Error>
    {
        let args = to_data(args)?;
        Ok(self.later(Command::Call {
            function: function.to_owned(),
            args,
        }))
    }

    /// Binds a global in the session.
    ///
    /// ```
    /// let s = prism_lang::Engine::new().session()?;
    /// s.set_global("user", &serde_json::json!({"name": "Ada"}))?;
    /// assert_eq!(s.run("user.name")?.value().as_str(), Some("Ada"));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn set_global<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), Error> {
        let value = to_data(value)?;
        self.blocking(Command::SetGlobal {
            name: name.to_owned(),
            value,
        })
        .map(|_| ())
    }

    /// The value of a global (`None` if unbound).
    ///
    /// ```
    /// let s = prism_lang::Engine::new().session()?;
    /// s.run("let count = 3 ~> 0.5")?;
    /// assert_eq!(s.global("count")?, Some(prism_lang::Data::confident(3.0, 0.5)));
    /// assert_eq!(s.global("missing")?, None);
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn global(&self, name: &str) -> Result<Option<Data>, Error> {
        let (out, bound) = self.blocking(Command::Global {
            name: name.to_owned(),
        })?;
        Ok(bound.then_some(out.value))
    }

    /// A handle that cancels this session: what it runs now and every later call fail with
    /// [`Error::Cancelled`].
    ///
    /// ```
    /// let s = prism_lang::Engine::new().session()?;
    /// s.cancel_handle().cancel();
    /// assert!(matches!(s.run("1"), Err(prism_lang::Error::Cancelled)));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::from_token(self.cancel.clone())
    }
}

fn stopped() -> Error {
    Error::Host("the interpreter thread stopped".into())
}

/// Script output given line by line to the host.
struct CallbackOutput(PrintFn);

impl Output for CallbackOutput {
    fn stdout(&mut self, line: &str) {
        (self.0)(Stream::Stdout, line);
    }
    fn stderr(&mut self, line: &str) {
        (self.0)(Stream::Stderr, line);
    }
}

/// The session thread: builds the interpreter, then answers jobs until the session is gone.
fn serve(engine: Engine, rx: mpsc::Receiver<Job>) {
    let capture = CaptureOutput::new();
    let output: Box<dyn Output> = match &engine.output {
        OutputMode::Capture | OutputMode::Discard => Box::new(capture.clone()),
        OutputMode::Inherit => Box::new(StdOutput::new()),
        OutputMode::Callback(f) => Box::new(CallbackOutput(f.clone())),
    };
    let mut interp = Interpreter::new(Options {
        max_call_depth: engine.limits.max_call_depth,
        output,
        base_dir: engine.base_dir.clone(),
        runtime: engine.tokio.clone(),
        limits: RunLimits::default(),
    });
    install(&engine, &mut interp);
    while let Ok(job) = rx.recv() {
        if job.reply.is_canceled() {
            continue;
        }
        interp.set_limits(RunLimits {
            max_steps: engine.limits.max_steps,
            timeout: engine.limits.timeout,
            cancel: Some(job.cancel),
            max_memory: engine.limits.max_memory,
        });
        let started = Instant::now();
        let result = answer(&engine, &mut interp, job.command);
        interp.flush_output();
        let (stdout, stderr) = match engine.output {
            OutputMode::Capture => (
                std::mem::take(&mut *capture.out.borrow_mut()),
                std::mem::take(&mut *capture.err.borrow_mut()),
            ),
            _ => {
                capture.out.borrow_mut().clear();
                capture.err.borrow_mut().clear();
                (String::new(), String::new())
            }
        };
        let result = result.map(|(value, bound)| {
            let out = Outcome {
                value,
                stdout,
                stderr,
                steps: interp.steps_taken(),
                elapsed: started.elapsed(),
            };
            (out, bound)
        });
        let _ = job.reply.send(result);
    }
}

/// Installs the engine's native functions and globals.
pub(crate) fn install(engine: &Engine, interp: &mut Interpreter) {
    for (name, body) in &engine.natives {
        let body = body.clone();
        interp.define_global(
            name,
            Value::native(name, move |it, args, span| body(it, args, span)),
        );
    }
    for (name, value) in &engine.globals {
        interp.define_global(name, value.to_value());
    }
}

/// Carries out one job: its value, and whether a looked-up global was bound.
fn answer(
    engine: &Engine,
    interp: &mut Interpreter,
    command: Command,
) -> Result<(Data, bool), Error> {
    let fail = |interp: &Interpreter, e: &prism_interp::RuntimeError| {
        Error::from_runtime(e, interp.files(), &engine.limits)
    };
    match command {
        Command::Run { name, source } => {
            let parsed = prism_compiler::parse(&source);
            let file = SourceFile::new(name.as_str(), source.as_str());
            if parsed.has_errors() {
                return Err(Error::Compile(CompileError::new(
                    file,
                    parsed.diagnostics.clone(),
                )));
            }
            interp.check_limits().map_err(|e| fail(interp, &e))?;
            let v = interp
                .run_program(&parsed.program, &file)
                .and_then(|v| interp.await_value(v, Span::default()))
                .map_err(|e| fail(interp, &e))?;
            Ok((Data::from_value(&v)?, true))
        }
        Command::Call { function, args } => {
            let f = lookup_path(interp, &function)
                .filter(Value::is_callable)
                .ok_or_else(|| Error::NotAFunction(function.clone()))?;
            let args: Vec<Value> = match args {
                Data::Array(items) => items.iter().map(Data::to_value).collect(),
                Data::Null => Vec::new(),
                one => vec![one.to_value()],
            };
            interp.check_limits().map_err(|e| fail(interp, &e))?;
            let v = interp
                .call_function(&f, &args, Span::default())
                .and_then(|v| interp.await_value(v, Span::default()))
                .map_err(|e| fail(interp, &e))?;
            Ok((Data::from_value(&v)?, true))
        }
        Command::SetGlobal { name, value } => {
            interp.define_global(&name, value.to_value());
            Ok((Data::Null, true))
        }
        Command::Global { name } => match interp.global(&name) {
            Some(v) => Ok((Data::from_value(&v)?, true)),
            None => Ok((Data::Null, false)),
        },
    }
}

/// A global, or a property path from one (`Math.max`, `tools.parse`).
fn lookup_path(interp: &Interpreter, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let mut v = interp.global(parts.next()?)?;
    for p in parts {
        let next = match v.unwrap_confident() {
            Value::Object(o) => o.borrow().get(p).cloned(),
            _ => None,
        };
        v = next?;
    }
    Some(v)
}

/// The call depth a pattern script may use: the engine's, within what the script thread's
/// stack allows.
pub(crate) fn script_call_depth(engine: &Engine) -> usize {
    engine.limits.max_call_depth.min(DEFAULT_MAX_CALL_DEPTH)
}
