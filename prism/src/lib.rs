//! Embed [Prism] — the confidence-aware language for AI-agent coordination patterns — in a
//! Rust program: run scripts and patterns, call Rust from Prism and Prism from Rust, and
//! exchange `serde` values with their confidences.
//!
//! ```
//! use prism_lang::{Confident, Engine};
//!
//! #[derive(serde::Serialize)]
//! struct Order { total: f64, country: String }
//!
//! let mut engine = Engine::new();
//! engine.register_fn("vatRate", |country: String| if country == "DE" { 0.19 } else { 0.2 });
//! engine.set_global("order", &Order { total: 100.0, country: "DE".into() })?;
//!
//! let out = engine.run("
//!     let gross = order.total * (1 + vatRate(order.country))
//!     print('gross:', gross)
//!     gross ~> 0.95
//! ")?;
//! assert_eq!(out.get::<Confident<f64>>()?, Confident::new(119.0, 0.95));
//! assert_eq!(out.stdout(), "gross: 119\n");
//! # Ok::<(), prism_lang::Error>(())
//! ```
//!
//! # What an engine offers
//!
//! - **Native functions**: [`Engine::register_fn`] and [`Engine::register_async_fn`] make
//!   Rust closures callable from Prism; arguments and results are any `serde` types, and a
//!   [`NativeError`] becomes an error the script can catch.
//! - **Values, not source text**: [`Engine::set_global`], [`Session::set_global`] and
//!   [`Session::call`] take `Serialize` values; [`Outcome::get`] reads results into
//!   `Deserialize` types. [`Confident<T>`] carries a confidence across (`value ~>
//!   confidence` in Prism); [`Data`] is the dynamic form.
//! - **Agents in Rust**: implement [`Agent`] and [`Engine::register_agent`] it; the
//!   [`Pattern`]s the engine runs ([`Engine::run_pattern`]) select from your agents.
//! - **Sessions**: [`Engine::session`] keeps one interpreter alive, so the host can call
//!   the functions a script defines ([`Session::call`]).
//! - **Limits**: [`Limits`] caps steps (loop iterations and calls), wall time and call depth,
//!   so `while (true) {}` in an untrusted script cannot hang the host; a [`CancelHandle`]
//!   stops runs from any thread. Scripts cannot catch either.
//! - **Output**: `print` is captured per run by default ([`Outcome::stdout`]), or forwarded
//!   line by line, inherited or dropped ([`OutputMode`]).
//! - **Sync and async**: every entry point has an async form ([`Engine::run_async`],
//!   [`Session::run_async`], [`Engine::run_pattern`]); the interpreter always runs on its own
//!   thread with a stack large enough for deep recursion.
//! - **One error type**: [`Error`] — compile errors with every diagnostic, runtime errors
//!   with position and call stack, timeouts, cancellation, limits, failed pattern runs.
//!
//! [Prism]: https://example.invalid/prism

mod engine;
mod error;
mod native;
mod pattern;
mod session;

pub use engine::{CancelHandle, Engine, Limits, OutputMode, PrintFn, Stream};
pub use error::{CompileError, Error, Limit, PatternError, ScriptError, StackFrame};
pub use native::{NativeAsyncFn, NativeError, NativeFn, marker};
pub use pattern::{Pattern, PatternOutcome};
pub use session::{Outcome, Session};

/// Converts any `serde::Serialize` value into [`Data`] (confidences from [`Confident`]).
///
/// ```
/// use prism_lang::{Confident, Data, to_data};
///
/// #[derive(serde::Serialize)]
/// struct Reading { sensor: String, celsius: Confident<f64> }
///
/// let d = to_data(&Reading { sensor: "t1".into(), celsius: Confident::new(21.5, 0.9) })?;
/// assert_eq!(d.get("celsius").and_then(Data::confidence), Some(0.9));
/// # Ok::<(), prism_lang::Error>(())
/// ```
pub fn to_data<T: serde::Serialize + ?Sized>(value: &T) -> Result<Data, Error> {
    prism_interp::to_data(value).map_err(Error::from)
}

/// Reads [`Data`] into any `serde::Deserialize` type (confidences into [`Confident`]).
///
/// ```
/// use prism_lang::{Confident, Engine, from_data};
///
/// let out = Engine::new().run("[1 ~> 0.5, 2]")?;
/// let xs: Vec<Confident<f64>> = from_data(out.value())?;
/// assert_eq!(xs, vec![Confident::new(1.0, 0.5), Confident::new(2.0, 1.0)]);
/// # Ok::<(), prism_lang::Error>(())
/// ```
pub fn from_data<'de, T: serde::Deserialize<'de>>(data: &'de Data) -> Result<T, Error> {
    prism_interp::from_data(data).map_err(Error::from)
}

/// A value with a confidence on the Rust side: `Confident<T>` converts to and from
/// `value ~> confidence`.
///
/// ```
/// use prism_lang::{Confident, Engine};
/// let out = Engine::new().run("42 ~> 0.8")?;
/// assert_eq!(out.get::<Confident<u32>>()?, Confident::new(42, 0.8));
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[doc(inline)]
pub use prism_interp::Confident;

/// A Prism value as plain, thread-safe data, with confidences at any depth: what scripts
/// return and what globals and native functions receive.
///
/// ```
/// use prism_lang::{Data, Engine};
///
/// let out = Engine::new().run(r#"({label: "spam" ~> 0.8, score: 3})"#)?;
/// let data: &Data = out.value();
/// let label = data.get("label").expect("a label");
/// assert_eq!(label.confidence(), Some(0.8));
/// assert_eq!(label.as_str(), Some("spam"));
/// assert_eq!(data.get("score").and_then(Data::as_f64), Some(3.0));
/// assert_eq!(data.to_string(), "{ label: spam (~80.0%), score: 3 }");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[doc(inline)]
pub use prism_interp::Data;

/// An agent written in Rust: it declares itself ([`AgentInfo`]) and answers requests
/// asynchronously. Patterns select agents by capability and aggregate their answers.
///
/// ```
/// use prism_lang::{Agent, AgentAnswer, AgentFuture, AgentInfo, AgentRequest, Engine, Pattern};
///
/// struct Sentiment { info: AgentInfo }
///
/// impl Agent for Sentiment {
///     fn info(&self) -> &AgentInfo { &self.info }
///     fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
///         Box::pin(async move {
///             let text = request.input["text"].as_str().unwrap_or_default();
///             let label = if text.contains("love") { "positive" } else { "neutral" };
///             Ok(AgentAnswer::new(label.into(), 0.8))
///         })
///     }
/// }
///
/// let mut engine = Engine::new();
/// engine.register_agent(Sentiment { info: AgentInfo::new("sentiment", vec!["nlp".into()]) });
/// let pattern = Pattern::yaml(
///     "name: mood\ninput:\n  text: string\nagents:\n  capabilities: [nlp]\n  min: 1\n\
///      aggregation:\n  strategy: voting\n  method: majority\noutput:\n  mood: $vote.winner\n",
/// )?;
/// let out = engine.run_pattern_blocking(&pattern, &serde_json::json!({"text": "I love it"}))?;
/// assert_eq!(out.value().get("mood").and_then(|m| m.as_str()), Some("positive"));
/// assert_eq!(out.confidence(), Some(0.8));
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[doc(inline)]
pub use prism_agents::Agent;

/// What an agent declares: id, name, capabilities (patterns select by them), expertise,
/// region and labels.
///
/// ```
/// use prism_lang::AgentInfo;
/// let mut info = AgentInfo::new("reviewer", vec!["code-review".into()]);
/// info.expertise = 0.9;
/// assert!(info.has("code-review"));
/// assert!(!info.has("translation"));
/// ```
#[doc(inline)]
pub use prism_agents::AgentInfo;

/// A request to an agent: the task, the pattern's input and the request's data.
///
/// ```
/// use prism_lang::AgentRequest;
/// let r = AgentRequest::new("req-1", "classify", serde_json::json!({"data": [1, 2]}));
/// assert_eq!(r.task, "classify");
/// assert_eq!(r.data, serde_json::json!([1, 2]));
/// ```
#[doc(inline)]
pub use prism_agents::AgentRequest;

/// An agent's answer: a JSON value and its confidence (plus optional reasoning).
///
/// ```
/// use prism_lang::AgentAnswer;
/// let mut a = AgentAnswer::new(serde_json::json!("approve"), 0.85);
/// a.reasoning = Some("tests pass".into());
/// assert_eq!((a.value.as_str(), a.confidence), (Some("approve"), 0.85));
/// ```
#[doc(inline)]
pub use prism_agents::AgentAnswer;

/// Why an agent call failed; the run records the failure and goes on with the other agents.
///
/// ```
/// use prism_lang::AgentError;
/// let e = AgentError::Failed("model overloaded".into());
/// assert_eq!(e.to_string(), "model overloaded");
/// assert!(AgentError::Timeout(500).is_retryable());
/// ```
#[doc(inline)]
pub use prism_agents::AgentError;

/// The future [`Agent::analyze`] returns (boxed, `Send`).
///
/// ```
/// use prism_lang::{AgentAnswer, AgentFuture};
/// let f: AgentFuture<'static> = Box::pin(async { Ok(AgentAnswer::new(1.into(), 0.5)) });
/// # drop(f);
/// ```
#[doc(inline)]
pub use prism_agents::AgentFuture;

/// An agent shared between runs: `Arc<dyn Agent>`.
///
/// ```
/// use prism_lang::{Engine, SharedAgent};
/// let mut engine = Engine::new();
/// engine.load_agents_yaml("agents:\n  - name: echo\n    capabilities: [test]\n    echo: true\n")?;
/// let shared: SharedAgent = engine.agents()[0].clone();
/// let mut other = Engine::new();
/// other.register_shared_agent(shared);
/// assert_eq!(other.agents()[0].info().name, "echo");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[doc(inline)]
pub use prism_agents::SharedAgent;

/// The execution record of a pattern run: status, every agent call, steps, metrics.
///
/// ```
/// use prism_lang::{Engine, ExecutionRecord, Pattern};
/// let p = Pattern::yaml("name: rec\ninput: {}\nagents:\n  min: 1\noutput:\n  r: $result\n")?;
/// let out = Engine::new().run_pattern_blocking(&p, &())?;
/// let record: &ExecutionRecord = out.record();
/// assert_eq!(record.to_json()["status"], "completed");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[doc(inline)]
pub use prism_executor::ExecutionRecord;

/// One problem the compiler found, with a stable code, a message and labelled spans.
///
/// ```
/// use prism_lang::{Engine, Error};
/// let Err(Error::Compile(e)) = Engine::new().run("let x = ") else { panic!() };
/// let d = &e.diagnostics()[0];
/// assert!(d.is_error());
/// assert!(d.code.starts_with("prism::syntax"));
/// ```
#[doc(inline)]
pub use prism_compiler::Diagnostic;

/// A byte range in a source file (error positions).
///
/// ```
/// use prism_lang::{Engine, Error};
/// let Err(Error::Runtime(e)) = Engine::new().run("1 + nope") else { panic!() };
/// let span = e.span.expect("a position");
/// assert_eq!((span.start, span.end), (4, 8));
/// ```
#[doc(inline)]
pub use prism_compiler::Span;

/// Checks a script without running it: every diagnostic of the parser and of the early
/// checks (syntax errors, `const` without a value, …).
///
/// ```
/// let diagnostics = prism_lang::check("let x = 1 ~> 0.5");
/// assert!(diagnostics.iter().all(|d| !d.is_error()));
/// assert!(prism_lang::check("let = 1").iter().any(|d| d.is_error()));
/// ```
pub fn check(source: &str) -> Vec<Diagnostic> {
    prism_compiler::parse(source).diagnostics
}
