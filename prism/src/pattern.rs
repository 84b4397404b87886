//! Patterns from the host: [`Pattern`] compiles a YAML pattern, org chart or annotated
//! `.prism` pattern once; [`Engine::run_pattern`] runs it on the plan executor against the
//! engine's agents and returns a [`PatternOutcome`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prism_compiler::SourceFile;
use prism_compiler::pattern::{CompileOptions, Loaded, compile_file_with};
use prism_compiler::plan::Plan;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::engine::{Engine, OutputMode, Stream};
use crate::error::{CompileError, Error, PatternError};
use crate::session::{install, script_call_depth};
use crate::{from_data, to_data};
use prism_agents::{AgentSet, builtin_agents};
use prism_executor::{
    ExecutionRecord, RunOptions, RunStatus, ScriptOutput, ScriptSetup, execute, largest_min,
};
use prism_interp::Data;
use prism_interp::output::Output;

/// A compiled pattern, ready to run any number of times.
///
/// ```
/// use prism_lang::Pattern;
/// let p = Pattern::yaml("name: hello\ninput:\n  text: string\nagents:\n  min: 1\noutput:\n  answer: $result\n")?;
/// assert_eq!(p.name(), "hello");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pattern {
    plan: Arc<Plan>,
    source: Arc<str>,
    model: Option<Arc<Loaded>>,
    timeout: Option<Duration>,
}

impl Pattern {
    /// Compiles a YAML pattern or org chart.
    ///
    /// ```
    /// use prism_lang::{Error, Pattern};
    /// let err = Pattern::yaml("name: broken\n").unwrap_err();
    /// assert!(matches!(err, Error::Compile(_)));
    /// ```
    pub fn yaml(text: &str) -> Result<Pattern, Error> {
        Pattern::compile("pattern.yaml", text)
    }

    /// Compiles an annotated `.prism` pattern (a `/** @name … */` header, then the script).
    ///
    /// ```
    /// let p = prism_lang::Pattern::prism(
    ///     "/**\n * @name triage\n * @agents {\"minAgents\": 1}\n */\nlet x = 1\nx ~> 0.5\n",
    /// )?;
    /// assert_eq!(p.name(), "triage");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn prism(text: &str) -> Result<Pattern, Error> {
        Pattern::compile("pattern.prism", text)
    }

    /// Compiles a pattern whose kind the file name's extension gives (`.prism`, else YAML);
    /// the name appears in diagnostics and locates relative sub-pattern references.
    ///
    /// ```
    /// use prism_lang::{Error, Pattern};
    /// let Err(Error::Compile(e)) = Pattern::compile("flows/triage.yaml", "name: [") else {
    ///     panic!("not YAML")
    /// };
    /// assert_eq!(e.file_name(), "flows/triage.yaml");
    /// ```
    pub fn compile(file_name: impl AsRef<Path>, text: &str) -> Result<Pattern, Error> {
        let path = file_name.as_ref();
        let out = compile_file_with(path, text, &CompileOptions::default());
        let file = || SourceFile::new(path.display().to_string(), text);
        let plan = match out.plan {
            Some(plan) if !out.has_errors() => plan,
            _ => return Err(Error::Compile(CompileError::new(file(), out.diagnostics))),
        };
        let model = out.loaded;
        let timeout = match &model {
            Some(Loaded::Prism(p)) => Some(Duration::from_millis(p.timeout_ms)),
            _ => None,
        };
        Ok(Pattern {
            plan: Arc::new(plan),
            source: Arc::from(text),
            model: model.map(Arc::new),
            timeout,
        })
    }

    /// Reads and compiles a pattern file.
    ///
    /// ```
    /// use prism_lang::{Error, Pattern};
    /// assert!(matches!(Pattern::from_file("/no/such/pattern.yaml"), Err(Error::Host(_))));
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Pattern, Error> {
        let path: PathBuf = path.as_ref().into();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Host(format!("cannot read {}: {e}", path.display())))?;
        Pattern::compile(&path, &text)
    }

    /// The pattern's name.
    ///
    /// ```
    /// let p = prism_lang::Pattern::yaml("name: n1\ninput: {}\nagents:\n  min: 1\noutput:\n  r: $result\n")?;
    /// assert_eq!(p.name(), "n1");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.plan.meta.name
    }

    /// The execution plan the pattern compiled to.
    ///
    /// ```
    /// let p = prism_lang::Pattern::yaml("name: n2\ninput: {}\nagents:\n  min: 2\noutput:\n  r: $result\n")?;
    /// assert!(p.plan().nodes().count() >= 2);
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// What a pattern run produced: its result with the run's confidence, the execution
/// record, and what its script printed (with [`OutputMode::Capture`]).
///
/// ```
/// use prism_lang::{Engine, Pattern};
/// let p = Pattern::prism("/**\n * @name sum\n * @agents {\"minAgents\": 1}\n */\nprint('summing')\nlet sum = input.a + input.b\nsum ~> 0.9\n")?;
/// let out = Engine::new().run_pattern_blocking(&p, &serde_json::json!({"a": 1, "b": 2}))?;
/// assert_eq!(out.get::<f64>()?, 3.0);
/// assert_eq!(out.confidence(), Some(0.9));
/// assert_eq!(out.stdout(), "summing\n");
/// assert_eq!(out.record().status.as_str(), "completed");
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PatternOutcome {
    value: Data,
    record: ExecutionRecord,
    stdout: String,
    stderr: String,
}

impl PatternOutcome {
    /// The result with the run's confidence (`Null` when the run produced none, as an
    /// escalation may).
    ///
    /// ```
    /// use prism_lang::{Data, Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name v\n * @agents {\"minAgents\": 1}\n */\n'ok' ~> 0.7\n")?;
    /// let out = Engine::new().run_pattern_blocking(&p, &())?;
    /// assert_eq!(out.value(), &Data::confident("ok", 0.7));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn value(&self) -> &Data {
        &self.value
    }

    /// The result as a Rust type ([`Confident`](crate::Confident) reads the run's
    /// confidence).
    ///
    /// ```
    /// use prism_lang::{Confident, Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name g\n * @agents {\"minAgents\": 1}\n */\n({n: 2}) ~> 0.6\n")?;
    /// #[derive(serde::Deserialize)]
    /// struct R { n: u8 }
    /// let r: Confident<R> = Engine::new().run_pattern_blocking(&p, &())?.get()?;
    /// assert_eq!((r.value.n, r.confidence), (2, 0.6));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, Error> {
        from_data(&self.value)
    }

    /// The run's confidence, if it produced a result.
    ///
    /// ```
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name c\n * @agents {\"minAgents\": 1}\n */\n1 ~> 0.25\n")?;
    /// assert_eq!(Engine::new().run_pattern_blocking(&p, &())?.confidence(), Some(0.25));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn confidence(&self) -> Option<f64> {
        self.record.result.as_ref().map(|(_, c)| *c)
    }

    /// The execution record: every agent call, step, metric and warning.
    ///
    /// ```
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::yaml("name: r\ninput: {}\nagents:\n  min: 2\noutput:\n  r: $result\n")?;
    /// let out = Engine::new().run_pattern_blocking(&p, &())?;
    /// assert_eq!(out.record().agent_results.len(), 3, "three built-in agents answer");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn record(&self) -> &ExecutionRecord {
        &self.record
    }

    /// `{target, reason}` when the run escalated instead of completing.
    ///
    /// ```
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::yaml("name: e\ninput: {}\nagents:\n  min: 1\noutput:\n  r: $result\nfallback:\n  condition: confidence < 0.99\n  action: escalate\n  target: human\n")?;
    /// let out = Engine::new().run_pattern_blocking(&p, &())?;
    /// let target = out.escalation().and_then(|e| e.get("target")).and_then(|t| t.as_str());
    /// assert_eq!(target, Some("human"));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn escalation(&self) -> Option<&Json> {
        self.record.escalation.as_ref()
    }

    /// What the pattern's script wrote to standard output, with [`OutputMode::Capture`].
    ///
    /// ```
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name p\n * @agents {\"minAgents\": 1}\n */\nprint(agentCount)\n1\n")?;
    /// assert_eq!(Engine::new().run_pattern_blocking(&p, &())?.stdout(), "3\n");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// What the pattern's script wrote to standard error, with [`OutputMode::Capture`].
    ///
    /// ```
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name p\n * @agents {\"minAgents\": 1}\n */\nconsole.warn('careful')\n1\n")?;
    /// assert_eq!(Engine::new().run_pattern_blocking(&p, &())?.stderr(), "careful\n");
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn stderr(&self) -> &str {
        &self.stderr
    }
}

/// Pattern script output, shared with the host across the script's thread.
#[derive(Clone, Default)]
struct SharedCapture(Arc<Mutex<(String, String)>>);

impl SharedCapture {
    fn take(&self) -> (String, String) {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Output for SharedCapture {
    fn stdout(&mut self, line: &str) {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        g.0.push_str(line);
        g.0.push('\n');
    }
    fn stderr(&mut self, line: &str) {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        g.1.push_str(line);
        g.1.push('\n');
    }
}

/// Pattern script output given to the host's function.
struct ForwardOutput(crate::engine::PrintFn);

impl Output for ForwardOutput {
    fn stdout(&mut self, line: &str) {
        (self.0)(Stream::Stdout, line);
    }
    fn stderr(&mut self, line: &str) {
        (self.0)(Stream::Stderr, line);
    }
}

impl Engine {
    /// Runs a pattern on the plan executor: its agents are the registered ones (the built-in
    /// local agents if none are registered), its script sees the registered functions and
    /// globals, `input` is any `Serialize` value. The timeout is [`Limits::timeout`](
    /// super::Limits::timeout), else the pattern's `@timeout`. An agent failing does not
    /// fail the run; dropping the future cancels it. An input of `()` (or anything that
    /// converts to `null`) is the empty object.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), prism_lang::Error> {
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name a\n * @agents {\"minAgents\": 1}\n */\ninput.x * 2\n")?;
    /// let out = Engine::new().run_pattern(&p, &serde_json::json!({"x": 21})).await?;
    /// assert_eq!(out.get::<u32>()?, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_pattern<T: Serialize + ?Sized>(
        &self,
        pattern: &Pattern,
        input: &T,
    ) -> impl Future<Output = Result<PatternOutcome, Error>> + Send + 'static {
        let prepared = to_data(input).map(|d| {
            let json = match d {
                Data::Null => Json::Object(Default::default()),
                d => d.to_json(),
            };
            self.pattern_options(pattern, json)
        });
        let plan = pattern.plan.clone();
        async move {
            let (options, capture) = prepared?;
            let timeout = options.timeout;
            let cancel = options.cancel.clone();
            let guard = CancelOnDrop(Some(cancel));
            let record = execute(plan, options).await;
            drop(guard.disarm());
            finish(record, capture, timeout)
        }
    }

    /// [`Engine::run_pattern`] for synchronous hosts: runs on the engine's tokio runtime
    /// ([`Engine::set_tokio_handle`]) or a new one. Must not be called from async code.
    ///
    /// ```
    /// use prism_lang::{Engine, Pattern};
    /// let p = Pattern::prism("/**\n * @name b\n * @agents {\"minAgents\": 1}\n */\ninput.name.length\n")?;
    /// let out = Engine::new().run_pattern_blocking(&p, &serde_json::json!({"name": "Ada"}))?;
    /// assert_eq!(out.get::<usize>()?, 3);
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn run_pattern_blocking<T: Serialize + ?Sized>(
        &self,
        pattern: &Pattern,
        input: &T,
    ) -> Result<PatternOutcome, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Host(
                "run_pattern_blocking cannot run inside an async runtime: await run_pattern instead"
                    .into(),
            ));
        }
        let fut = self.run_pattern(pattern, input);
        match &self.tokio {
            Some(h) => h.block_on(fut),
            None => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Error::Host(format!("cannot start the async runtime: {e}")))?
                .block_on(fut),
        }
    }

    fn pattern_options(&self, pattern: &Pattern, input: Json) -> (RunOptions, SharedCapture) {
        let agents = if self.agents.is_empty() {
            builtin_agents(largest_min(&pattern.plan).max(3))
        } else {
            AgentSet::new(self.agents.clone())
        };
        let capture = SharedCapture::default();
        let engine = self.clone();
        let sink = capture.clone();
        let setup: ScriptSetup = Arc::new(move |interp| {
            install(&engine, interp);
            match &engine.output {
                OutputMode::Capture => interp.set_output(Box::new(sink.clone())),
                OutputMode::Callback(f) => interp.set_output(Box::new(ForwardOutput(f.clone()))),
                OutputMode::Inherit => interp.set_output(Box::new(prism_interp::StdOutput::new())),
                OutputMode::Discard => {}
            }
            interp.set_max_call_depth(script_call_depth(&engine));
            let mut limits = interp.limits().clone();
            limits.max_steps = engine.limits.max_steps;
            interp.set_limits(limits);
        });
        let options = RunOptions {
            input,
            agents,
            timeout: self.limits.timeout.or(pattern.timeout),
            cancel: self.run_token(),
            source: Some(pattern.source.clone()),
            model: pattern.model.clone(),
            script_output: ScriptOutput::Discard,
            script_setup: Some(setup),
            ..RunOptions::default()
        };
        (options, capture)
    }
}

/// Cancels a pattern run whose future is dropped before it completes.
struct CancelOnDrop(Option<tokio_util::sync::CancellationToken>);

impl CancelOnDrop {
    fn disarm(mut self) -> Self {
        self.0 = None;
        self
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

fn finish(
    record: ExecutionRecord,
    capture: SharedCapture,
    timeout: Option<Duration>,
) -> Result<PatternOutcome, Error> {
    match record.status {
        RunStatus::Completed | RunStatus::Escalated => {
            let value = match &record.result {
                Some((v, c)) => Data::confident(Data::from(v.clone()), *c),
                None => Data::Null,
            };
            let (stdout, stderr) = capture.take();
            Ok(PatternOutcome {
                value,
                record,
                stdout,
                stderr,
            })
        }
        RunStatus::TimedOut => Err(Error::Timeout(timeout.unwrap_or_default())),
        RunStatus::Cancelled => Err(Error::Cancelled),
        RunStatus::Failed | RunStatus::Running => {
            let (code, message, node) = match &record.error {
                Some(e) => (e.code.clone(), e.message.clone(), e.node.clone()),
                None => ("prism::run".into(), "the run failed".into(), None),
            };
            Err(Error::Pattern(Box::new(PatternError {
                code,
                message,
                node,
                record,
            })))
        }
    }
}
