//! The serving loop with real parts: compiled YAML patterns, local agents with real latency,
//! an SQLite store in a temporary directory, the system clock and 1 s intervals.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_agents::load_agents_file;
use prism_compiler::pattern::{compile_file, load_file};
use prism_executor::RunOptions;
use prism_serve::{Event, Job, ServeOptions, serve};
use prism_store::{RecordQuery, Retention, Store};
use tokio_util::sync::CancellationToken;

const AGENTS: &str = "agents:\n  - name: slow\n    capabilities: [echo]\n    latencyMs: LATENCY\n    respond: {value: done, confidence: 0.75}\n";

fn job(dir: &Path, schedule: &str, latency_ms: u64, records: Option<Arc<Store>>) -> Job {
    let agents = dir.join("agents.yaml");
    std::fs::write(&agents, AGENTS.replace("LATENCY", &latency_ms.to_string())).expect("write");
    let text = format!(
        "name: tick\ninput:\n  who: {{type: string, default: world}}\nagents:\n  capabilities: [echo]\noutput: $result\nschedule: {schedule}\n"
    );
    let path = dir.join("tick.yaml");
    let compiled = compile_file(&path, &text);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let plan = Arc::new(compiled.plan.expect("plan"));
    let options = RunOptions {
        agents: load_agents_file(&agents).expect("agents"),
        model: load_file(&path, &text).0.map(Arc::new),
        ..RunOptions::default()
    };
    Job::new(plan, options, records.map(|s| (s, Retention::KEEP_ALL))).expect("job")
}

/// Serves `jobs` until they end (or `stop_after` runs have finished, then shuts down).
fn serve_collect(jobs: Vec<Job>, store: Arc<Store>, stop_after: Option<usize>) -> Vec<Event> {
    serve_until(jobs, store, stop_after, None, Duration::from_secs(5))
}

/// [`serve_collect`], also shutting down after `stop_at`, with `grace` for in-flight runs.
fn serve_until(
    jobs: Vec<Job>,
    store: Arc<Store>,
    stop_after: Option<usize>,
    stop_at: Option<Duration>,
    grace: Duration,
) -> Vec<Event> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let events = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let sink = {
        let (events, shutdown) = (events.clone(), shutdown.clone());
        Arc::new(move |e: Event| {
            let mut all = events.lock().expect("lock");
            all.push(e);
            let ran = all
                .iter()
                .filter(|e| matches!(e, Event::Ran { .. }))
                .count();
            if stop_after.is_some_and(|n| ran >= n) {
                shutdown.cancel();
            }
        })
    };
    let options = ServeOptions {
        grace,
        ..ServeOptions::default()
    };
    if let Some(after) = stop_at {
        let shutdown = shutdown.clone();
        rt.spawn(async move {
            tokio::time::sleep(after).await;
            shutdown.cancel();
        });
    }
    let finished = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(60),
            serve(jobs, store, options, shutdown, sink),
        )
        .await
    });
    assert!(finished.is_ok(), "serve did not end");
    Arc::try_unwrap(events)
        .map(|m| m.into_inner().expect("lock"))
        .unwrap_or_default()
}

fn ran(events: &[Event]) -> Vec<(u64, String, String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Ran { run, record, .. } => Some((
                *run,
                record.status.as_str().to_string(),
                record.started_at.clone(),
                record.ended_at.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn overlapped(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Overlapped { .. }))
        .count()
}

#[test]
fn runs_on_time_until_max_runs_and_writes_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        Store::open_url(Some(&format!(
            "sqlite:{}",
            dir.path().join("s.db").display()
        )))
        .expect("store"),
    );
    let j = job(
        dir.path(),
        "{interval: 1s, maxRuns: 2}",
        10,
        Some(store.clone()),
    );
    let key = j.key();
    let events = serve_collect(vec![j], store.clone(), None);
    let runs = ran(&events);
    assert_eq!(runs.len(), 2, "{events:?}");
    assert!(runs.iter().all(|r| r.1 == "completed"), "{runs:?}");
    assert!(matches!(events.last(), Some(Event::Ended { runs: 2, .. })));
    // Each record carries its trigger and the schedule's input with defaults applied.
    let Some(Event::Ran {
        record,
        scheduled_for,
        ..
    }) = events.iter().find(|e| matches!(e, Event::Ran { .. }))
    else {
        panic!("no run");
    };
    assert_eq!(record.trigger["kind"], "schedule");
    assert_eq!(
        record.trigger["scheduledFor"],
        prism_executor::record::rfc3339(scheduled_for.timestamp_millis() as u64)
    );
    assert_eq!(record.input["who"], "world");
    let stored = store
        .list_records(&RecordQuery {
            pattern: Some("tick".into()),
            limit: 10,
        })
        .expect("records");
    assert_eq!(stored.len(), 2);
    let state = store.load_schedule(&key).expect("state").expect("saved");
    assert_eq!(state.runs, 2);
    assert_eq!(state.next_run_ms, None);
    assert_eq!(state.last_status.as_deref(), Some("completed"));
}

#[test]
fn overlap_skip_drops_runs_due_while_one_is_going() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        Store::open_url(Some(&format!(
            "sqlite:{}",
            dir.path().join("s.db").display()
        )))
        .expect("store"),
    );
    // Each run takes 2.5 s; with a 1 s interval the next one or two are due meanwhile.
    let events = serve_collect(
        vec![job(dir.path(), "{interval: 1s, maxRuns: 2}", 2500, None)],
        store,
        None,
    );
    let runs = ran(&events);
    assert_eq!(runs.len(), 2, "{events:?}");
    assert!(overlapped(&events) >= 1, "{events:?}");
    assert!(
        runs[1].2 >= runs[0].3,
        "skip never runs two at once: {runs:?}"
    );
}

#[test]
fn overlap_queue_runs_them_one_after_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        Store::open_url(Some(&format!(
            "sqlite:{}",
            dir.path().join("s.db").display()
        )))
        .expect("store"),
    );
    let events = serve_collect(
        vec![job(
            dir.path(),
            "{interval: 1s, maxRuns: 3, overlap: queue}",
            1800,
            None,
        )],
        store,
        None,
    );
    let runs = ran(&events);
    assert_eq!(runs.len(), 3, "{events:?}");
    assert!(overlapped(&events) >= 1, "{events:?}");
    for pair in runs.windows(2) {
        assert!(
            pair[1].2 >= pair[0].3,
            "queued runs do not overlap: {runs:?}"
        );
    }
}

#[test]
fn overlap_allow_runs_them_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        Store::open_url(Some(&format!(
            "sqlite:{}",
            dir.path().join("s.db").display()
        )))
        .expect("store"),
    );
    let events = serve_collect(
        vec![job(
            dir.path(),
            "{interval: 1s, maxRuns: 2, overlap: allow}",
            2500,
            None,
        )],
        store,
        None,
    );
    let runs = ran(&events);
    assert_eq!(runs.len(), 2, "{events:?}");
    assert_eq!(overlapped(&events), 0);
    assert!(
        runs[1].2 < runs[0].3,
        "the second started before the first ended: {runs:?}"
    );
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let schedule = "{interval: 1s, maxRuns: 3}";
    let store = Arc::new(Store::open_url(Some(&url)).expect("store"));
    let first = serve_collect(vec![job(dir.path(), schedule, 10, None)], store, Some(1));
    assert_eq!(ran(&first).len(), 1, "{first:?}");
    drop(first);
    // A new store handle and a new job, as after a restart of the process.
    let store = Arc::new(Store::open_url(Some(&url)).expect("store"));
    let second = serve_collect(vec![job(dir.path(), schedule, 10, None)], store, None);
    let Some(Event::Scheduled { runs, .. }) = second.first() else {
        panic!("{second:?}");
    };
    assert_eq!(*runs, 1, "the run count continues");
    let numbers: Vec<u64> = ran(&second).iter().map(|r| r.0).collect();
    assert_eq!(numbers, [2, 3], "{second:?}");
}

#[test]
fn shutdown_cancels_a_run_that_outlasts_the_grace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let store = Arc::new(Store::open_url(Some(&url)).expect("store"));
    let j = job(dir.path(), "{interval: 1s}", 20_000, Some(store.clone()));
    let key = j.key();
    // The run starts after 1 s and would take 20 s; stop at 2 s with 300 ms of grace.
    let events = serve_until(
        vec![j],
        store.clone(),
        None,
        Some(Duration::from_secs(2)),
        Duration::from_millis(300),
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Stopping { in_flight: 1, .. })),
        "{events:?}"
    );
    let runs = ran(&events);
    assert_eq!(runs.len(), 1, "{events:?}");
    assert_eq!(runs[0].1, "cancelled");
    let state = store.load_schedule(&key).expect("state").expect("saved");
    assert_eq!(state.runs, 1);
    assert_eq!(state.last_status.as_deref(), Some("cancelled"));
    assert!(
        state.next_run_ms.is_some(),
        "the schedule goes on after a restart"
    );
    let stored = store
        .list_records(&RecordQuery {
            pattern: Some("tick".into()),
            limit: 10,
        })
        .expect("records");
    assert_eq!(stored.len(), 1, "the cancelled run's record is written too");
}
