//! Record write latency: `Store::write_record` (one committed transaction, retention on) on
//! SQLite (WAL, synchronous = FULL) and, when `PRISM_TEST_POSTGRES_URL` names a server, on
//! PostgreSQL (in a fresh database that is dropped afterwards).
//!
//! `cargo bench -p prism-store --bench write`

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use prism_store::{Location, Retention, Store};
use serde_json::{Value, json};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A record shaped like what `prism run --json` writes for a three-agent vote (~2 KB).
fn record() -> Value {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let agent = |i: u32| {
        json!({"agentId": format!("agent-{i}"), "agentName": format!("agent-{i}"),
               "capabilities": ["analysis"], "expertise": 0.7, "result": "positive",
               "confidence": 0.8, "reasoning": "the input reads as positive overall",
               "timestamp": 1_700_000_000_000u64, "latencyMs": 12, "step": "vote",
               "status": "ok", "attempts": 1})
    };
    json!({
        "id": format!("0193a1b2-0000-7000-8000-{n:012}"),
        "pattern": {"name": "bench", "version": "1.0.0", "source": "bench.yaml", "planHash": "sha256:00"},
        "status": "completed", "trigger": {"kind": "manual"},
        "startedAt": time(n), "endedAt": time(n + 40),
        "durationMs": 40, "input": {"text": "a fine day"},
        "result": {"value": "positive", "confidence": 0.8},
        "agentResults": [agent(1), agent(2), agent(3)],
        "steps": [{"id": "vote", "status": "completed", "confidence": 0.8, "attempts": 1, "durationMs": 38}],
        "metrics": {"agentsSelected": 3, "agentsSucceeded": 3, "agentsFailed": 0,
                    "averageConfidence": 0.8, "executionTimeMs": 40, "parallelPaths": 3, "retries": 0},
        "warnings": [], "error": null
    })
}

/// RFC 3339 of `2026-11-23T10:00:00Z` plus `ms`.
fn time(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_428_000_000 + ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn bench_store(c: &mut Criterion, backend: &str, store: &Store) {
    let keep_1000 = Retention {
        max_age_ms: None,
        max_records: Some(1000),
    };
    for (what, retention) in [
        ("keep_all", Retention::KEEP_ALL),
        ("retention_1000", keep_1000),
    ] {
        c.bench_function(&format!("write_record/{backend}/{what}"), |b| {
            b.iter_batched(
                record,
                |r| store.write_record(&r, &retention).map(|_| ()),
                criterion::BatchSize::SmallInput,
            )
        });
    }
}

fn write_record(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = Store::open(&Location::Sqlite(dir.path().join("bench.db"))).expect("sqlite");
    bench_store(c, "sqlite", &sqlite);

    let Ok(admin) = std::env::var("PRISM_TEST_POSTGRES_URL") else {
        eprintln!("note: PRISM_TEST_POSTGRES_URL is not set: PostgreSQL not measured");
        return;
    };
    let name = format!("prism_bench_{}", std::process::id());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("url with a database");
    let url = format!("{base}/{name}");
    let pg = Store::open(&Location::Postgres(url)).expect("postgres");
    bench_store(c, "postgres", &pg);
    drop(pg);
    let _ = client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
}

criterion_group!(benches, write_record);
criterion_main!(benches);
