//! Every test runs against both backends through the same function: SQLite in a temporary
//! file, and PostgreSQL when `PRISM_TEST_POSTGRES_URL` names a server (each test in a fresh
//! database). Without the variable the PostgreSQL half is skipped with a note, unless
//! `PRISM_REQUIRE_POSTGRES=1`, which makes it fail.

use serde_json::{Value, json};

use crate::*;

/// A store for one test; keeps its temporary directory or database alive.
struct TestStore {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _db: Option<test_db::Database>,
}

mod test_db {
    //! Throw-away PostgreSQL databases for tests.

    use std::str::FromStr;

    /// A database created for one test and dropped after it.
    pub(super) struct Database {
        admin_url: String,
        name: String,
    }

    impl Drop for Database {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
                let _ = c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }

    /// The server's URL, or why there is none (`Err(None)`: skip; `Err(Some)`: fail).
    pub(super) fn server_url() -> Result<String, Option<String>> {
        match std::env::var("PRISM_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Ok(url),
            _ if std::env::var("PRISM_REQUIRE_POSTGRES").as_deref() == Ok("1") => Err(Some(
                "PRISM_REQUIRE_POSTGRES=1 but PRISM_TEST_POSTGRES_URL is not set".into(),
            )),
            _ => Err(None),
        }
    }

    /// Creates a fresh database on the server; returns its URL.
    pub(super) fn create(admin_url: &str, test: &str) -> (String, Database) {
        let name = format!(
            "prism_t_{}_{}_{}",
            test.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect::<String>(),
            std::process::id(),
            super::now_ms()
        )
        .to_lowercase();
        let mut admin = postgres::Client::connect(admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to PRISM_TEST_POSTGRES_URL: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        // Swap the database name in the URL (path segment before any `?`).
        let (base, query) = admin_url
            .split_once('?')
            .map_or((admin_url, ""), |(b, q)| (b, q));
        let authority_start = base.find("://").map_or(0, |i| i + 3);
        let base = match base[authority_start..].find('/') {
            Some(slash) => &base[..authority_start + slash],
            None => base,
        };
        let url = if query.is_empty() {
            format!("{base}/{name}")
        } else {
            format!("{base}/{name}?{query}")
        };
        assert!(
            postgres::Config::from_str(&url).is_ok(),
            "bad test URL {url}"
        );
        (
            url,
            Database {
                admin_url: admin_url.to_string(),
                name,
            },
        )
    }
}

fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&Location::Sqlite(dir.path().join("store.db"))).expect("open sqlite");
    TestStore {
        store,
        _dir: Some(dir),
        _db: None,
    }
}

fn postgres(test: &str) -> Option<TestStore> {
    let url = match test_db::server_url() {
        Ok(url) => url,
        Err(Some(why)) => panic!("{why}"),
        Err(None) => {
            eprintln!("note: {test}: PostgreSQL half skipped (PRISM_TEST_POSTGRES_URL is not set)");
            return None;
        }
    };
    let (url, db) = test_db::create(&url, test);
    let store = Store::open(&Location::Postgres(url)).expect("open postgres");
    Some(TestStore {
        store,
        _dir: None,
        _db: Some(db),
    })
}

/// Runs `body` on SQLite and (if available) PostgreSQL.
fn both(test: &str, body: fn(&Store)) {
    body(&sqlite().store);
    if let Some(pg) = postgres(test) {
        body(&pg.store);
    }
}

fn record(
    id: &str,
    pattern: &str,
    started_ms: i64,
    status: &str,
    confidence: Option<f64>,
) -> Value {
    json!({
        "id": id,
        "pattern": {"name": pattern, "version": "1.0.0", "source": "p.yaml", "planHash": "sha256:00"},
        "status": status,
        "trigger": {"kind": "manual"},
        "startedAt": format_ms(started_ms),
        "endedAt": format_ms(started_ms + 5),
        "durationMs": 5,
        "input": {"q": "ünïcode ✓"},
        "result": confidence.map(|c| json!({"value": "x", "confidence": c})),
        "agentResults": [], "steps": [], "metrics": {}, "warnings": [], "error": null
    })
}

fn format_ms(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

#[test]
fn schedule_state_round_trips() {
    both("schedule_state_round_trips", |s| {
        assert_eq!(s.load_schedule("nightly").expect("load"), None);
        let st = ScheduleState {
            next_run_ms: Some(1_700_000_000_000),
            runs: 3,
            last_run_ms: Some(1_699_999_000_000),
            last_status: Some("completed".into()),
        };
        s.save_schedule("nightly", &st).expect("save");
        assert_eq!(s.load_schedule("nightly").expect("load"), Some(st.clone()));
        let ended = ScheduleState {
            next_run_ms: None,
            runs: 4,
            last_run_ms: None,
            last_status: None,
        };
        s.save_schedule("nightly", &ended).expect("save again");
        assert_eq!(s.load_schedule("nightly").expect("load"), Some(ended));
        assert_eq!(s.load_schedule("other").expect("load other"), None);
        let too_many = ScheduleState {
            runs: u64::MAX,
            ..ScheduleState::default()
        };
        assert!(matches!(
            s.save_schedule("x", &too_many),
            Err(StoreError::Corrupt(_))
        ));
    });
}

#[test]
fn records_round_trip_newest_first() {
    both("records_round_trip_newest_first", |s| {
        let now = now_ms();
        for (i, id) in ["01a", "01b", "01c"].iter().enumerate() {
            let r = record(
                id,
                "vote",
                now - 1000 + i as i64,
                "completed",
                Some(0.5 + i as f64 / 10.0),
            );
            s.write_record(&r, &Retention::KEEP_ALL).expect("write");
        }
        s.write_record(
            &record("02a", "other", now, "failed", None),
            &Retention::KEEP_ALL,
        )
        .expect("write other");
        let all = s
            .list_records(&RecordQuery {
                pattern: None,
                limit: 10,
            })
            .expect("list");
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["02a", "01c", "01b", "01a"]
        );
        let vote = s
            .list_records(&RecordQuery {
                pattern: Some("vote".into()),
                limit: 2,
            })
            .expect("list vote");
        assert_eq!(
            vote.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["01c", "01b"]
        );
        assert_eq!(vote[0].confidence, Some(0.7));
        assert_eq!(all[0].confidence, None);
        assert_eq!(all[0].status, "failed");

        let exact = s.get_record("01b").expect("get").expect("found");
        assert_eq!(
            exact.record,
            record("01b", "vote", now - 999, "completed", Some(0.6))
        );
        assert_eq!(
            s.get_record("02").expect("prefix").map(|r| r.summary.id),
            Some("02a".into())
        );
        assert!(matches!(
            s.get_record("01"),
            Err(StoreError::AmbiguousId(_))
        ));
        assert_eq!(s.get_record("zz").expect("none"), None);
        // LIKE wildcards in the id are literal.
        assert_eq!(s.get_record("0_").expect("wildcard"), None);
        assert_eq!(s.get_record("%").expect("wildcard"), None);
    });
}

#[test]
fn running_row_is_replaced_by_the_final_record() {
    both("running_row_is_replaced", |s| {
        let now = now_ms();
        let mut r = record("r1", "slow", now, "running", None);
        r["endedAt"] = Value::Null;
        r["durationMs"] = Value::Null;
        s.write_record(&r, &Retention::KEEP_ALL).expect("running");
        let row = s.get_record("r1").expect("get").expect("found");
        assert_eq!(
            (row.summary.status.as_str(), row.summary.ended_at_ms),
            ("running", None)
        );
        s.write_record(
            &record("r1", "slow", now, "completed", Some(0.9)),
            &Retention::KEEP_ALL,
        )
        .expect("final");
        let row = s.get_record("r1").expect("get").expect("found");
        assert_eq!(row.summary.status, "completed");
        assert_eq!(row.summary.duration_ms, Some(5));
        assert_eq!(
            s.list_records(&RecordQuery {
                pattern: None,
                limit: 10
            })
            .expect("list")
            .len(),
            1
        );
    });
}

#[test]
fn retention_by_count_and_age() {
    both("retention_by_count_and_age", |s| {
        let now = now_ms();
        let keep3 = Retention {
            max_records: Some(3),
            max_age_ms: None,
        };
        let mut pruned_total = 0;
        for i in 0..6 {
            let (_, pruned) = s
                .write_record(
                    &record(&format!("c{i}"), "count", now + i, "completed", Some(0.8)),
                    &keep3,
                )
                .expect("write");
            pruned_total += pruned;
        }
        // Another pattern is untouched by this pattern's retention.
        s.write_record(
            &record("o1", "untouched", now - 10, "completed", None),
            &Retention::KEEP_ALL,
        )
        .expect("write");
        assert_eq!(pruned_total, 3);
        let ids: Vec<String> = s
            .list_records(&RecordQuery {
                pattern: Some("count".into()),
                limit: 100,
            })
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["c5", "c4", "c3"]);

        let day = 86_400_000;
        for (id, age_days) in [("a40", 40), ("a31", 31), ("a29", 29)] {
            s.write_record(
                &record(id, "aged", now - age_days * day, "completed", None),
                &Retention::KEEP_ALL,
            )
            .expect("write old");
        }
        let thirty_days = Retention::from_json(Some(&json!("30d"))).expect("30d");
        let (_, pruned) = s
            .write_record(&record("a0", "aged", now, "completed", None), &thirty_days)
            .expect("write new");
        assert_eq!(pruned, 2);
        let ids: Vec<String> = s
            .list_records(&RecordQuery {
                pattern: Some("aged".into()),
                limit: 100,
            })
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["a0", "a29"]);
        assert!(s.get_record("o1").expect("get").is_some());
    });
}

fn new_version(name: &str, version: &str, source: &str) -> NewVersion {
    NewVersion {
        name: name.into(),
        version: semver::Version::parse(version).expect("semver"),
        content_hash: format!("sha256:{}", source.len()),
        plan: json!({"planVersion": 1, "name": name}).to_string(),
        source: source.into(),
        file_name: format!("{name}.yaml"),
        author: "tester".into(),
        published_at_ms: now_ms(),
    }
}

#[test]
fn publish_versions_and_rollback() {
    both("publish_versions_and_rollback", |s| {
        let published = |o: PublishOutcome| matches!(o, PublishOutcome::Published { .. });
        assert!(published(
            s.publish(&new_version("p", "1.0.0", "a"), None)
                .expect("1.0.0")
        ));
        assert_eq!(
            s.publish(&new_version("p", "1.0.0", "a"), None)
                .expect("again"),
            PublishOutcome::Unchanged
        );
        assert!(matches!(
            s.publish(&new_version("p", "1.0.0", "bb"), None),
            Err(StoreError::VersionConflict { .. })
        ));
        assert!(published(
            s.publish(&new_version("p", "1.2.0", "ccc"), None)
                .expect("1.2.0")
        ));
        assert!(published(
            s.publish(&new_version("p", "2.0.0", "dddd"), None)
                .expect("2.0.0")
        ));
        assert!(published(
            s.publish(&new_version("p", "1.10.0", "eeeee"), None)
                .expect("1.10.0")
        ));
        let versions = s.versions("p").expect("versions");
        assert_eq!(
            versions
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>(),
            ["2.0.0", "1.10.0", "1.2.0", "1.0.0"]
        );
        assert_eq!(versions.iter().filter(|v| v.active).count(), 1);
        assert!(versions[1].active, "the last published is active");

        let active = s
            .resolve_version("p", None)
            .expect("resolve")
            .expect("active");
        assert_eq!(active.info.version, "1.10.0");
        assert_eq!(active.source, "eeeee");
        let ver = |spec: &str| {
            s.resolve_version("p", Some(spec))
                .expect("resolve")
                .map(|v| v.info.version)
        };
        assert_eq!(ver("1.2.0").as_deref(), Some("1.2.0"));
        assert_eq!(ver("^1").as_deref(), Some("1.10.0"));
        assert_eq!(ver("~1.2").as_deref(), Some("1.2.0"));
        assert_eq!(ver(">=1, <1.5").as_deref(), Some("1.2.0"));
        assert_eq!(ver("*").as_deref(), Some("2.0.0"));
        assert_eq!(ver("3.0.0"), None);
        assert!(matches!(
            s.resolve_version("p", Some("latest!")),
            Err(StoreError::BadRange(_))
        ));

        assert!(s.set_active("p", "1.0.0").expect("rollback"));
        assert!(!s.set_active("p", "9.9.9").expect("missing"));
        assert!(matches!(
            s.set_active("p", "one"),
            Err(StoreError::BadVersion(_))
        ));
        let active = s
            .resolve_version("p", None)
            .expect("resolve")
            .expect("active");
        assert_eq!(active.info.version, "1.0.0");
        assert_eq!(
            s.versions("p")
                .expect("versions")
                .iter()
                .filter(|v| v.active)
                .count(),
            1
        );
        assert_eq!(s.versions("nobody").expect("none"), Vec::new());
    });
}

#[test]
fn keep_history_prunes_the_oldest_but_never_the_active() {
    both("keep_history", |s| {
        for (i, v) in ["1.0.0", "1.1.0", "1.2.0"].iter().enumerate() {
            s.publish(&new_version("k", v, &"x".repeat(i + 1)), Some(2))
                .expect("publish");
        }
        let names = |s: &Store| {
            s.versions("k")
                .expect("versions")
                .into_iter()
                .map(|v| v.version)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(s), ["1.2.0", "1.1.0"]);
        assert!(s.set_active("k", "1.1.0").expect("rollback"));
        let out = s
            .publish(&new_version("k", "1.3.0", "yyyy"), Some(1))
            .expect("publish");
        assert_eq!(
            out,
            PublishOutcome::Published {
                pruned: vec!["1.2.0".into(), "1.1.0".into()]
            }
        );
        assert_eq!(names(s), ["1.3.0"]);
    });
}

#[test]
fn reopening_keeps_everything_and_the_schema_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let loc = Location::Sqlite(dir.path().join("nested/dir/store.db"));
    {
        let s = Store::open(&loc).expect("open");
        s.write_record(
            &record("x1", "p", now_ms(), "completed", Some(0.9)),
            &Retention::KEEP_ALL,
        )
        .expect("write");
        s.save_schedule(
            "k",
            &ScheduleState {
                runs: 7,
                ..Default::default()
            },
        )
        .expect("save");
    }
    let s = Store::open(&loc).expect("reopen");
    assert_eq!(s.schema_version().expect("version"), migrations::LATEST);
    assert!(s.get_record("x1").expect("get").is_some());
    assert_eq!(
        s.load_schedule("k").expect("load").map(|st| st.runs),
        Some(7)
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    drop(Store::open(&Location::Sqlite(path.clone())).expect("open"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute("INSERT INTO schema_version VALUES (99, 0)", [])
        .expect("bump");
    drop(conn);
    assert!(matches!(
        Store::open(&Location::Sqlite(path)),
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));
}

#[test]
fn postgres_calls_work_inside_a_tokio_runtime() {
    let Some(pg) = postgres("inside_tokio") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        pg.store
            .save_schedule(
                "t",
                &ScheduleState {
                    runs: 1,
                    ..Default::default()
                },
            )
            .expect("save inside a runtime");
        assert_eq!(
            pg.store.load_schedule("t").expect("load").map(|s| s.runs),
            Some(1)
        );
    });
}

#[test]
fn a_bad_postgres_server_is_an_error_not_a_panic() {
    // Port 1 on loopback: nothing listens there.
    let err = Store::open(&Location::Postgres(
        "postgres://prism@127.0.0.1:1/prism".into(),
    ));
    assert!(matches!(err, Err(StoreError::Postgres(_))));
}

#[test]
fn retention_by_count_breaks_ties_by_id() {
    both("retention_ties", |s| {
        let keep2 = Retention {
            max_records: Some(2),
            max_age_ms: None,
        };
        let at = now_ms();
        for id in ["t1", "t3", "t2", "t5", "t4"] {
            s.write_record(&record(id, "tie", at, "completed", None), &keep2)
                .expect("write");
        }
        let ids: Vec<String> = s
            .list_records(&RecordQuery {
                pattern: Some("tie".into()),
                limit: 10,
            })
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["t5", "t4"]);
    });
}

#[test]
fn a_version_1_database_is_migrated_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(migrations::SCHEMA_VERSION_TABLE)
            .expect("schema_version");
        conn.execute_batch(migrations::MIGRATIONS[0]).expect("v1");
        conn.execute("INSERT INTO schema_version VALUES (1, 0)", [])
            .expect("at v1");
        conn.execute(
            "INSERT INTO execution_records (id, pattern, version, status, trigger_kind, started_at, record)
             VALUES ('old', 'p', '1.0.0', 'completed', 'manual', 1, '{\"id\": \"old\"}')",
            [],
        )
        .expect("a v1 row");
    }
    let s = Store::open(&Location::Sqlite(path.clone())).expect("migrate");
    assert_eq!(s.schema_version().expect("version"), migrations::LATEST);
    assert!(s.get_record("old").expect("get").is_some());
    drop(s);
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'execution_records' ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("indexes");
    assert!(indexes.contains(&"execution_records_by_pattern_start_id".to_string()));
    assert!(!indexes.contains(&"execution_records_by_pattern".to_string()));
}

#[test]
fn concurrent_opens_of_a_fresh_postgres_database_migrate_once() {
    let Some(pg) = postgres("concurrent_opens") else {
        return;
    };
    let Location::Postgres(url) = pg.store.location().clone() else {
        return;
    };
    drop(pg.store);
    // A fresh schema in the same database: drop the tables the first open created.
    let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect");
    c.batch_execute(
        "DROP TABLE execution_records, execution_nodes, pattern_versions, schedule_state, schema_version",
    )
    .expect("reset");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Store::open(&Location::Postgres(url)).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().expect("thread").expect("open");
    }
    let rows: i64 = c
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .expect("count")
        .get(0);
    assert_eq!(rows, migrations::LATEST);
    drop(pg._db);
}

#[test]
fn busy_answers_are_tried_again_and_other_errors_are_not() {
    let busy = || StoreError::Sqlite {
        path: "x.db".into(),
        source: rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        ),
    };
    let mut calls = 0;
    let answer = sqlite::retry_busy(|| {
        calls += 1;
        if calls < 4 { Err(busy()) } else { Ok(calls) }
    });
    assert_eq!(answer.ok(), Some(4));
    let mut calls = 0;
    let answer: Result<()> = sqlite::retry_busy(|| {
        calls += 1;
        Err(StoreError::Corrupt("bad".into()))
    });
    assert!(matches!(answer, Err(StoreError::Corrupt(_))));
    assert_eq!(calls, 1, "a lasting error is not tried again");
}

#[test]
fn a_new_file_opened_by_many_at_once() {
    // Six `prism run`s that find no store yet all create, turn to WAL and migrate the same
    // new file at once; some of the locks that takes are refused without SQLite's busy
    // handler waiting (it would deadlock), so the store tries again itself.
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("new.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || -> std::result::Result<(), String> {
                    barrier.wait();
                    let store = Store::open(&Location::Sqlite(path))
                        .map_err(|e| format!("round {round}, open: {e}"))?;
                    store
                        .write_record(
                            &record(
                                &format!("r-{t}"),
                                "p",
                                1_800_000_000_000,
                                "success",
                                Some(0.9),
                            ),
                            &Retention::default(),
                        )
                        .map(drop)
                        .map_err(|e| format!("round {round}, write: {e}"))
                })
            })
            .collect();
        let failures: Vec<String> = threads
            .into_iter()
            .filter_map(|t| t.join().expect("thread").err())
            .collect();
        assert!(failures.is_empty(), "{failures:?}");
    }
}

#[test]
fn node_rows_are_keyed_by_run_and_node_and_pruned_with_their_record() {
    both("node_rows", |s| {
        let row = |id: &str, node: &str, status: &str| NodeRow {
            execution_id: id.into(),
            node: node.into(),
            status: status.into(),
            written_at_ms: 1_800_000_000_000,
            record: format!("{{\"node\":\"{node}\"}}"),
        };
        // Written twice (an activity run again): still one row, the last one.
        s.write_node(&row("run-1", "step:ask", "failed"))
            .expect("write");
        s.write_node(&row("run-1", "step:ask", "ok"))
            .expect("write again");
        s.write_node(&row("run-1", "agents", "ok")).expect("write");
        s.write_node(&row("run-2", "agents", "ok")).expect("write");
        let nodes = s.nodes("run-1").expect("nodes");
        let names: Vec<(&str, &str)> = nodes
            .iter()
            .map(|n| (n.node.as_str(), n.status.as_str()))
            .collect();
        assert_eq!(names, [("agents", "ok"), ("step:ask", "ok")]);
        // Retention that deletes run-1's record deletes its nodes too, not run-2's.
        let keep_one = Retention {
            max_records: Some(1),
            ..Retention::default()
        };
        s.write_record(
            &record("run-1", "p", 1_800_000_000_000, "success", Some(0.9)),
            &keep_one,
        )
        .expect("record 1");
        s.write_record(
            &record("run-2", "p", 1_800_000_001_000, "success", Some(0.9)),
            &keep_one,
        )
        .expect("record 2");
        assert!(s.nodes("run-1").expect("nodes").is_empty());
        assert_eq!(s.nodes("run-2").expect("nodes").len(), 1);
    });
}
