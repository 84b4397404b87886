//! The embedding API end to end: value round trips, native functions, Rust agents in
//! patterns, limits, timeouts, cancellation, output capture, sessions and async entry points.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prism_lang::{
    Agent, AgentAnswer, AgentFuture, AgentInfo, AgentRequest, CancelHandle, Confident, Data,
    Engine, Error, Limit, Limits, NativeError, OutputMode, Pattern, Stream,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Hosts share engines and sessions between threads and move results across them.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
    shareable::<prism_lang::Session>();
    shareable::<prism_lang::Outcome>();
    shareable::<Data>();
    shareable::<Error>();
    shareable::<Pattern>();
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ticket {
    id: u32,
    subject: String,
    priority: Confident<String>,
    tags: Vec<String>,
    estimate: Option<Confident<f64>>,
}

fn ticket() -> Ticket {
    Ticket {
        id: 7,
        subject: "refund".into(),
        priority: Confident::new("high".into(), 0.75),
        tags: vec!["billing".into()],
        estimate: Some(Confident::new(2.5, 0.4)),
    }
}

#[test]
fn serde_values_round_trip_with_their_confidences() {
    let mut engine = Engine::new();
    engine.set_global("ticket", &ticket()).expect("converts");
    let out = engine
        .run("ticket.tags.push('urgent')\nticket")
        .expect("runs");
    let back: Ticket = out.get().expect("reads back");
    assert_eq!(
        back,
        Ticket {
            tags: vec!["billing".into(), "urgent".into()],
            ..ticket()
        }
    );
    // The script sees the confidences as Prism confidences.
    let seen = engine
        .run("[<~ ticket.priority, <~ ticket.estimate, ticket.priority == 'high']")
        .expect("runs");
    assert_eq!(
        seen.value(),
        &Data::Array(vec![0.75.into(), 0.4.into(), Data::confident(true, 0.75)])
    );
}

#[test]
fn confidence_arithmetic_comes_back_as_confident() {
    let mut engine = Engine::new();
    engine
        .set_global("a", &Confident::new(10.0, 0.9))
        .and_then(|e| e.set_global("b", &Confident::new(5.0, 0.6)))
        .expect("converts");
    let out = engine.run("a + b").expect("runs");
    assert_eq!(
        out.get::<Confident<f64>>().expect("confident"),
        Confident::new(15.0, 0.6)
    );
    assert_eq!(out.get::<f64>().expect("plain"), 15.0);
}

#[test]
fn native_functions_take_and_return_serde_types() {
    #[derive(Deserialize)]
    struct Query {
        words: Vec<String>,
    }
    #[derive(Serialize)]
    struct Stats {
        count: usize,
        longest: Confident<String>,
    }
    let mut engine = Engine::new();
    engine.register_fn("stats", |q: Query| Stats {
        count: q.words.len(),
        longest: Confident::new(
            q.words
                .iter()
                .max_by_key(|w| w.len())
                .cloned()
                .unwrap_or_default(),
            0.8,
        ),
    });
    let out = engine
        .run("let s = stats({words: ['a', 'abc', 'ab']});\n[s.count, s.longest, <~ s.longest]")
        .expect("runs");
    assert_eq!(
        out.value().to_json(),
        json!([3, "abc", 0.8]),
        "{}",
        out.value()
    );
}

#[test]
fn native_function_errors_are_catchable_script_errors() {
    let mut engine = Engine::new();
    engine.register_fn("parse", |s: String| -> Result<f64, NativeError> {
        s.trim()
            .parse::<f64>()
            .map_err(|e| NativeError::new(format!("cannot parse {s:?}: {e}")))
    });
    engine.register_fn("deny", || -> Result<(), NativeError> {
        Err(NativeError::thrown(&json!({"code": 403})))
    });
    let caught = engine
        .run("try { parse('x') } catch (e) { 'caught: ' + e }")
        .expect("runs");
    assert_eq!(
        caught.value().as_str(),
        Some("caught: cannot parse \"x\": invalid float literal")
    );
    let thrown = engine
        .run("try { deny() } catch (e) { e.code }")
        .expect("runs");
    assert_eq!(thrown.value().as_f64(), Some(403.0));

    let Err(Error::Runtime(e)) = engine.run("let n = 1\nn + parse('nope')") else {
        panic!("an uncaught native error fails the run");
    };
    assert_eq!(e.message, "cannot parse \"nope\": invalid float literal");
    assert_eq!((e.line, e.column), (Some(2), Some(5)));

    let Err(Error::Runtime(e)) = engine.run("parse(42)") else {
        panic!("a wrong argument type fails the run");
    };
    assert!(
        e.message.starts_with("parse(): argument 1: invalid type"),
        "{}",
        e.message
    );
}

#[test]
fn async_native_functions_are_awaited_and_reject_with_their_error() {
    let mut engine = Engine::new();
    engine.register_async_fn("slowDouble", |x: f64| async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Confident::new(x * 2.0, 0.5)
    });
    engine.register_async_fn("fail", || async { Err::<(), _>(NativeError::new("down")) });
    let started = Instant::now();
    let out = engine
        .run("let a = slowDouble(1)\nlet b = slowDouble(2);\n[await a, await b, await Promise.all([slowDouble(3)])]")
        .expect("runs");
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "spawned calls run concurrently"
    );
    assert_eq!(
        out.value(),
        &Data::Array(vec![
            Data::confident(2.0, 0.5),
            Data::confident(4.0, 0.5),
            Data::Array(vec![Data::confident(6.0, 0.5)]),
        ])
    );
    let out = engine
        .run("try { await fail() } catch (e) { 'rejected: ' + e }")
        .expect("runs");
    assert_eq!(out.value().as_str(), Some("rejected: down"));
}

/// A Rust agent: classifies by keyword, counting its calls.
struct KeywordAgent {
    info: AgentInfo,
    calls: Arc<AtomicU64>,
}

impl Agent for KeywordAgent {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let text = request
                .input
                .get("text")
                .and_then(|t| t.as_str())
                .unwrap_or_default();
            let label = if text.contains("refund") {
                "billing"
            } else {
                "other"
            };
            Ok(AgentAnswer::new(json!(label), 0.9))
        })
    }
}

const VOTE: &str = "name: vote
input:
  text: string
agents:
  capabilities: [classification]
  min: 2
aggregation:
  strategy: voting
  method: majority
output:
  label: $vote.winner
";

#[test]
fn registered_rust_agents_answer_patterns() {
    let calls = Arc::new(AtomicU64::new(0));
    let mut engine = Engine::new();
    for name in ["kw-1", "kw-2"] {
        engine.register_agent(KeywordAgent {
            info: AgentInfo::new(name, vec!["classification".into()]),
            calls: calls.clone(),
        });
    }
    let pattern = Pattern::yaml(VOTE).expect("compiles");
    let out = engine
        .run_pattern_blocking(&pattern, &json!({"text": "please refund me"}))
        .expect("runs");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        out.value().get("label").and_then(Data::as_str),
        Some("billing")
    );
    let confidence = out.confidence().expect("a confidence");
    assert!((confidence - 0.9).abs() < 1e-9, "{confidence}");
    assert_eq!(
        out.record()
            .agent_results
            .iter()
            .map(|r| r.agent_name.as_str())
            .collect::<Vec<_>>(),
        ["kw-1", "kw-2"]
    );
}

#[test]
fn pattern_scripts_see_registered_functions_and_globals() {
    let mut engine = Engine::new();
    engine.register_fn("boost", |c: f64| (c + 0.05).min(1.0));
    engine.set_global("team", &"ops").expect("converts");
    let pattern = Pattern::prism(
        "/**\n * @name boosted\n * @agents {\"minAgents\": 1}\n */\nlet best = synthesize(agentResults)\nprint(team)\nteam ~> boost(best.confidence)\n",
    )
    .expect("compiles");
    let out = engine
        .run_pattern_blocking(&pattern, &json!({"q": 1}))
        .expect("runs");
    assert_eq!(out.get::<String>().expect("a string"), "ops");
    assert_eq!(out.confidence().map(|c| (c * 100.0).round()), Some(85.0));
    assert_eq!(out.stdout(), "ops\n");
}

#[test]
fn step_limit_stops_infinite_loops_and_runaway_recursion() {
    let mut engine = Engine::new();
    engine.set_limits(Limits::default().with_max_steps(10_000));
    for source in [
        "while (true) {}",
        "for (;;) { let x = 1 }",
        "do {} while (true)",
        "let xs = [1]\nfor (x in xs) { xs.push(x) }",
        "function f(n) { return f(n + 1) + 1 }\nlet r = 0\nwhile (true) { try { f(0) } catch (e) { r += 1 } }",
        "function g(n) { if (n > 0) { g(n - 1)\ng(n - 1) } }\ng(40)",
        "let c = true ~> 0.9\nuncertain while (c) { high { } medium { } low { } }",
    ] {
        let started = Instant::now();
        let err = engine.run(source).expect_err(source);
        assert!(
            matches!(err, Error::LimitExceeded(Limit::Steps(10_000))),
            "{source}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{source}");
    }
    let ok = engine
        .run("let n = 0\nfor (let i = 0; i < 9000; i++) { n += i }\nn")
        .expect("within the limit");
    assert_eq!(ok.steps(), 9000);
}

#[test]
fn limits_cannot_be_caught_or_turned_into_rejections() {
    let mut engine = Engine::new();
    engine.set_limits(Limits::default().with_max_steps(1000));
    engine.register_fn("record", |_: String| -> Result<(), NativeError> {
        Err(NativeError::new("finally must not run"))
    });
    for source in [
        "while (true) { try { while (true) {} } catch (e) {} }",
        "try { while (true) {} } catch (e) { 'caught' }",
        "try { while (true) {} } finally { record('finally') }",
        "async function spin() { while (true) {} }\ntry { await spin() } catch (e) { 'caught' }",
    ] {
        let err = engine.run(source).expect_err(source);
        assert!(matches!(err, Error::LimitExceeded(_)), "{source}: {err}");
    }
}

#[test]
fn call_depth_limit_is_an_error_scripts_can_catch() {
    let mut engine = Engine::new();
    engine.set_limits(Limits::default().with_max_call_depth(100));
    let deep = "function d(n) { return n == 0 ? 0 : 1 + d(n - 1) }";
    assert_eq!(
        engine
            .run(&format!("{deep}\nd(90)"))
            .expect("within the limit")
            .value()
            .as_f64(),
        Some(90.0)
    );
    assert!(matches!(
        engine.run(&format!("{deep}\nd(200)")),
        Err(Error::LimitExceeded(Limit::CallDepth(100)))
    ));
    let caught = engine
        .run(&format!("{deep}\ntry {{ d(200) }} catch (e) {{ e }}"))
        .expect("caught");
    assert_eq!(caught.value().as_str(), Some("Maximum call depth exceeded"));
}

#[test]
fn timeout_stops_loops_and_pending_awaits() {
    let mut engine = Engine::new();
    engine.set_limits(Limits::default().with_timeout(Duration::from_millis(100)));
    engine.register_async_fn("hang", || async {
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    for source in ["while (true) {}", "await hang()"] {
        let started = Instant::now();
        let err = engine.run(source).expect_err(source);
        assert!(
            matches!(err, Error::Timeout(d) if d == Duration::from_millis(100)),
            "{err}"
        );
        assert_eq!(err.to_string(), "timed out after 100 ms");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_secs(5),
            "{source}: {took:?}"
        );
    }
}

#[test]
fn cancellation_from_another_thread_stops_the_run() {
    let cancel = CancelHandle::new();
    let mut engine = Engine::new();
    engine.set_cancel_handle(&cancel);
    let iterations = Arc::new(AtomicU64::new(0));
    let counter = iterations.clone();
    engine.register_fn("tick", move || counter.fetch_add(1, Ordering::SeqCst));
    let stopper = cancel.clone();
    let watcher = iterations.clone();
    let thread = std::thread::spawn(move || {
        while watcher.load(Ordering::SeqCst) < 100 {
            std::thread::yield_now();
        }
        stopper.cancel();
    });
    let started = Instant::now();
    let err = engine
        .run("while (true) { try { tick() } catch (e) {} }")
        .expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(thread.join().is_ok());
    // The handle stays cancelled: later runs of this engine stop at once.
    assert!(matches!(engine.run("1"), Err(Error::Cancelled)));
}

#[test]
fn a_cancelled_session_stops_its_current_call() {
    let session = Engine::new().session().expect("starts");
    session
        .run("function spin() { while (true) {} }")
        .expect("defines");
    let handle = session.cancel_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.cancel();
    });
    assert!(matches!(session.call("spin", &()), Err(Error::Cancelled)));
    assert!(t.join().is_ok());
}

#[test]
fn print_output_is_captured_per_run_or_forwarded() {
    let engine = Engine::new();
    let out = engine
        .run("print('a', 1 ~> 0.5)\nconsole.log('b')\nconsole.error('e1')\nconsole.warn('e2')\n3")
        .expect("runs");
    assert_eq!(out.stdout(), "a 1 ~> 0.50\nb\n");
    assert_eq!(out.stderr(), "e1\ne2\n");

    let session = engine.session().expect("starts");
    assert_eq!(session.run("print(1)").expect("runs").stdout(), "1\n");
    assert_eq!(
        session.run("print(2)").expect("runs").stdout(),
        "2\n",
        "each call gets its own output"
    );

    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    let mut forwarding = Engine::new();
    forwarding.set_output(OutputMode::callback(move |stream, line| {
        if let Ok(mut l) = sink.lock() {
            l.push((stream, line.to_owned()));
        }
    }));
    let out = forwarding
        .run("print('x')\nconsole.error('y')")
        .expect("runs");
    assert_eq!(out.stdout(), "");
    assert_eq!(
        lines.lock().map(|l| l.clone()).unwrap_or_default(),
        [
            (Stream::Stdout, "x".to_owned()),
            (Stream::Stderr, "y".to_owned())
        ]
    );
}

#[test]
fn sessions_keep_state_and_call_script_functions() {
    let mut engine = Engine::new();
    engine.register_fn(
        "weight",
        |label: String| if label == "spam" { 0.3 } else { 0.9 },
    );
    let session = engine.session().expect("starts");
    session
        .run("let seen = []\nfunction classify(msg) {\n  seen.push(msg.text)\n  let label = msg.text.includes('win') ? 'spam' : 'ham'\n  return label ~> weight(label)\n}")
        .expect("defines");
    let r: Confident<String> = session
        .call("classify", &(json!({"text": "you win"}),))
        .and_then(|o| o.get())
        .expect("calls");
    assert_eq!(r, Confident::new("spam".into(), 0.3));
    session
        .call("classify", &(json!({"text": "lunch?"}),))
        .expect("calls");
    assert_eq!(
        session.global("seen").expect("reads"),
        Some(Data::Array(vec!["you win".into(), "lunch?".into()]))
    );
    session.set_global("seen", &()).expect("sets");
    assert_eq!(session.global("seen").expect("reads"), Some(Data::Null));
    assert!(matches!(
        session.call("nothing", &()),
        Err(Error::NotAFunction(n)) if n == "nothing"
    ));
    let Err(Error::Runtime(e)) = session.call("classify", &(1,)) else {
        panic!("a failing call is a runtime error");
    };
    assert_eq!(
        e.stack.first().map(|f| f.function.as_str()),
        Some("classify")
    );
}

#[test]
fn errors_render_usefully() {
    let engine = Engine::new();
    let err = engine
        .run_named(
            "calc.prism",
            "function half(x) {\n  return x / 0\n}\nhalf(4)",
        )
        .expect_err("fails");
    assert_eq!(
        err.to_string(),
        "calc.prism:2:10: Division by zero\n  in half called at calc.prism:4:1"
    );
    let drawn = format!("{err:#}");
    assert!(drawn.contains("return x / 0"), "{drawn}");
    assert!(
        drawn.contains("in half called at calc.prism:4:1"),
        "{drawn}"
    );

    let err = engine
        .run_named("bad.prism", "let x = (1 +\nlet y = 2")
        .expect_err("does not parse");
    let Error::Compile(c) = &err else {
        panic!("a compile error: {err}");
    };
    assert!(!c.diagnostics().is_empty());
    assert!(
        err.to_string().starts_with("bad.prism:2:1: error: "),
        "{err}"
    );
    assert!(format!("{err:#}").contains("let y = 2"));
}

#[tokio::test]
async fn async_entry_points_run_without_blocking_the_runtime() {
    let mut engine = Engine::new();
    engine.register_async_fn("later", |x: u32| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        x + 1
    });
    let (a, b) = tokio::join!(
        engine.run_async("await later(1)"),
        engine.run_async("await later(2)")
    );
    assert_eq!(a.ok().and_then(|o| o.value().as_f64()), Some(2.0));
    assert_eq!(b.ok().and_then(|o| o.value().as_f64()), Some(3.0));

    let session = engine.session().expect("starts");
    session
        .run_async("let k = 10\nfunction add(x) { return k + x }")
        .await
        .expect("defines");
    let out = session
        .call_async("add", &(5,))
        .expect("converts")
        .await
        .expect("calls");
    assert_eq!(out.value().as_f64(), Some(15.0));

    let pattern = Pattern::prism(
        "/**\n * @name twice\n * @agents {\"minAgents\": 1}\n */\nlet t = input.n * 2\nt ~> 0.8\n",
    )
    .expect("compiles");
    let out = engine
        .run_pattern(&pattern, &json!({"n": 4}))
        .await
        .expect("runs");
    assert_eq!(
        out.get::<Confident<u32>>().expect("reads"),
        Confident::new(8, 0.8)
    );
}

#[tokio::test]
async fn dropping_an_async_run_cancels_it() {
    let iterations = Arc::new(AtomicU64::new(0));
    let counter = iterations.clone();
    let mut engine = Engine::new();
    engine.register_fn("tick", move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let session = engine.session().expect("starts");
    let run = session.run_async("while (true) { tick() }");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), run)
            .await
            .is_err()
    );
    // The dropped run stops; the session serves the next call.
    let out = session.run_async("'still here'").await.expect("runs");
    assert_eq!(out.value().as_str(), Some("still here"));
    let after = iterations.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(iterations.load(Ordering::SeqCst), after, "the loop stopped");
}

#[test]
fn pattern_timeout_stops_the_script_thread() {
    let iterations = Arc::new(AtomicU64::new(0));
    let counter = iterations.clone();
    let mut engine = Engine::new();
    engine.register_fn("tick", move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    engine.set_limits(Limits::default().with_timeout(Duration::from_millis(100)));
    let pattern = Pattern::prism(
        "/**\n * @name spin\n * @agents {\"minAgents\": 1}\n */\nwhile (true) { tick() }\n",
    )
    .expect("compiles");
    let err = engine
        .run_pattern_blocking(&pattern, &())
        .expect_err("times out");
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert!(iterations.load(Ordering::SeqCst) > 0, "the script ran");
    // A script still running would keep counting; give a loaded machine a few tries to
    // reach the script's next check.
    let stopped = (0..20).any(|_| {
        let before = iterations.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        iterations.load(Ordering::SeqCst) == before
    });
    assert!(stopped, "the script stopped with its run");
}

#[test]
fn pattern_failures_and_step_limits_are_reported() {
    let mut engine = Engine::new();
    engine.set_limits(Limits::default().with_max_steps(500));
    let pattern = Pattern::prism(
        "/**\n * @name loops\n * @agents {\"minAgents\": 1}\n */\nwhile (true) {}\n",
    )
    .expect("compiles");
    let Err(Error::Pattern(e)) = engine.run_pattern_blocking(&pattern, &()) else {
        panic!("the script's step limit fails the run");
    };
    assert_eq!(e.code, "prism::runtime");
    assert!(e.message.contains("Step limit exceeded"), "{}", e.message);
    let compile = Pattern::yaml("name: x\nagents: 3\n").expect_err("does not compile");
    assert!(matches!(compile, Error::Compile(_)));
}
