//! The PostgreSQL backend, for stores shared by several machines.
//!
//! Driver: the synchronous `postgres` crate (the blocking face of `tokio-postgres`, by the
//! same maintainers). The store's API is synchronous because SQLite's is, and one blocking
//! shape keeps both backends behind one trait with the same tests; the async client would
//! force every caller (the CLI's `run`, `history`, `publish`) into a runtime for no gain.
//! The blocking client runs its own small runtime, which may not be entered from a thread
//! that is already inside a tokio runtime, so calls made from such a thread (e.g. a
//! scheduler's task) run on a short-lived scoped thread instead of panicking.
//!
//! Connections are plain TCP or Unix sockets (`NoTls`): TLS (`sslmode=require`) is not
//! supported yet.

use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, Config, NoTls, Row};

use crate::backend::{Backend, count_from_db, count_to_db, like_prefix};
use crate::error::{Result, StoreError};
use crate::migrations::{LATEST, MIGRATIONS, SCHEMA_VERSION_TABLE};
use crate::model::{
    NewVersion, NodeRow, PatternVersion, PublishOutcome, RecordQuery, RecordSummary, StoredVersion,
    now_ms, versions_to_prune,
};
use crate::retention::Retention;
use crate::schedule::ScheduleState;

/// The advisory lock that serialises migrations of one database.
const MIGRATION_LOCK: i64 = 0x7072_6973_6d00; // "prism\0"

/// An open PostgreSQL store.
pub(crate) struct PostgresBackend {
    client: Client,
}

/// Runs `f` here, or on a scoped thread when this thread is inside a tokio runtime (where
/// the blocking client must not start its own).
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(f).join()).map_err(|_| StoreError::Worker)?
    } else {
        f()
    }
}

impl PostgresBackend {
    /// Connects and migrates.
    pub(crate) fn open(url: &str) -> Result<PostgresBackend> {
        let mut config = Config::from_str(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("prism");
        }
        let client = off_runtime(|| Ok(config.connect(NoTls)?))?;
        let mut backend = PostgresBackend { client };
        backend.run(migrate)?;
        Ok(backend)
    }

    fn run<T: Send>(&mut self, f: impl FnOnce(&mut Client) -> Result<T> + Send) -> Result<T> {
        let client = &mut self.client;
        off_runtime(move || f(client))
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(SCHEMA_VERSION_TABLE)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )?
        .get(0);
    if current > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: LATEST,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[&(i as i64 + 1), &now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

const SUMMARY_COLUMNS: &str =
    "id, pattern, version, status, trigger_kind, started_at, ended_at, duration_ms, confidence";

fn summary(row: &Row) -> Result<RecordSummary> {
    Ok(RecordSummary {
        id: row.try_get(0)?,
        pattern: row.try_get(1)?,
        version: row.try_get(2)?,
        status: row.try_get(3)?,
        trigger: row.try_get(4)?,
        started_at_ms: row.try_get(5)?,
        ended_at_ms: row.try_get(6)?,
        duration_ms: row.try_get(7)?,
        confidence: row.try_get(8)?,
    })
}

const VERSION_COLUMNS: &str =
    "name, version, content_hash, file_name, author, published_at, active";

fn version_row(row: &Row) -> Result<PatternVersion> {
    Ok(PatternVersion {
        name: row.try_get(0)?,
        version: row.try_get(1)?,
        content_hash: row.try_get(2)?,
        file_name: row.try_get(3)?,
        author: row.try_get(4)?,
        published_at_ms: row.try_get(5)?,
        active: row.try_get(6)?,
    })
}

impl Backend for PostgresBackend {
    fn schema_version(&mut self) -> Result<i64> {
        self.run(|c| {
            Ok(c.query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
                &[],
            )?
            .try_get(0)?)
        })
    }

    fn load_schedule(&mut self, key: &str) -> Result<Option<ScheduleState>> {
        self.run(|c| {
            let row = c.query_opt(
                "SELECT next_run_ms, runs, last_run_ms, last_status FROM schedule_state WHERE key = $1",
                &[&key],
            )?;
            row.map(|r| {
                Ok(ScheduleState {
                    next_run_ms: r.try_get(0)?,
                    runs: count_from_db(r.try_get(1)?)?,
                    last_run_ms: r.try_get(2)?,
                    last_status: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    fn save_schedule(&mut self, key: &str, state: &ScheduleState) -> Result<()> {
        let runs = count_to_db(state.runs)?;
        self.run(|c| {
            c.execute(
                "INSERT INTO schedule_state (key, next_run_ms, runs, last_run_ms, last_status, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (key) DO UPDATE SET next_run_ms = EXCLUDED.next_run_ms,
                   runs = EXCLUDED.runs, last_run_ms = EXCLUDED.last_run_ms,
                   last_status = EXCLUDED.last_status, updated_at = EXCLUDED.updated_at",
                &[
                    &key,
                    &state.next_run_ms,
                    &runs,
                    &state.last_run_ms,
                    &state.last_status,
                    &now_ms(),
                ],
            )?;
            Ok(())
        })
    }

    fn write_record(
        &mut self,
        s: &RecordSummary,
        json: &str,
        retention: &Retention,
        now: i64,
    ) -> Result<u64> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO execution_records
                   (id, pattern, version, status, trigger_kind, started_at, ended_at, duration_ms, confidence, record)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (id) DO UPDATE SET pattern = EXCLUDED.pattern, version = EXCLUDED.version,
                   status = EXCLUDED.status, trigger_kind = EXCLUDED.trigger_kind,
                   started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
                   duration_ms = EXCLUDED.duration_ms, confidence = EXCLUDED.confidence,
                   record = EXCLUDED.record",
                &[
                    &s.id,
                    &s.pattern,
                    &s.version,
                    &s.status,
                    &s.trigger,
                    &s.started_at_ms,
                    &s.ended_at_ms,
                    &s.duration_ms,
                    &s.confidence,
                    &json,
                ],
            )?;
            let mut pruned = 0;
            if let Some(age) = retention.max_age_ms {
                let cutoff = now.saturating_sub(i64::try_from(age).unwrap_or(i64::MAX));
                tx.execute(
                    "DELETE FROM execution_nodes WHERE execution_id IN
                       (SELECT id FROM execution_records WHERE pattern = $1 AND started_at < $2)",
                    &[&s.pattern, &cutoff],
                )?;
                pruned += tx.execute(
                    "DELETE FROM execution_records WHERE pattern = $1 AND started_at < $2",
                    &[&s.pattern, &cutoff],
                )?;
            }
            if let Some(max) = retention.max_records {
                let max = i64::try_from(max).unwrap_or(i64::MAX);
                tx.execute(
                    "DELETE FROM execution_nodes WHERE execution_id IN
                       (SELECT id FROM execution_records WHERE pattern = $1
                         AND (started_at, id) <= (
                           SELECT started_at, id FROM execution_records WHERE pattern = $1
                           ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET $2))",
                    &[&s.pattern, &max],
                )?;
                pruned += tx.execute(
                    "DELETE FROM execution_records WHERE pattern = $1
                       AND (started_at, id) <= (
                         SELECT started_at, id FROM execution_records WHERE pattern = $1
                         ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET $2)",
                    &[&s.pattern, &max],
                )?;
            }
            tx.commit()?;
            Ok(pruned)
        })
    }

    fn write_node(&mut self, n: &NodeRow) -> Result<()> {
        self.run(|c| {
            c.execute(
                "INSERT INTO execution_nodes (execution_id, node, status, written_at, record)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (execution_id, node) DO UPDATE SET status = EXCLUDED.status,
                   written_at = EXCLUDED.written_at, record = EXCLUDED.record",
                &[
                    &n.execution_id,
                    &n.node,
                    &n.status,
                    &n.written_at_ms,
                    &n.record,
                ],
            )?;
            Ok(())
        })
    }

    fn nodes(&mut self, execution_id: &str) -> Result<Vec<NodeRow>> {
        self.run(|c| {
            c.query(
                "SELECT execution_id, node, status, written_at, record FROM execution_nodes
                 WHERE execution_id = $1 ORDER BY written_at, node",
                &[&execution_id],
            )?
            .iter()
            .map(|r| {
                Ok(NodeRow {
                    execution_id: r.try_get(0)?,
                    node: r.try_get(1)?,
                    status: r.try_get(2)?,
                    written_at_ms: r.try_get(3)?,
                    record: r.try_get(4)?,
                })
            })
            .collect()
        })
    }

    fn list_records(&mut self, q: &RecordQuery) -> Result<Vec<RecordSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM execution_records
             WHERE ($1::TEXT IS NULL OR pattern = $1) ORDER BY started_at DESC, id DESC LIMIT $2"
        );
        let limit = i64::from(q.limit);
        self.run(|c| {
            c.query(&sql, &[&q.pattern, &limit])?
                .iter()
                .map(summary)
                .collect()
        })
    }

    fn find_records(&mut self, prefix: &str) -> Result<Vec<(RecordSummary, String)>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, record FROM execution_records
             WHERE id LIKE $1 ESCAPE '\\' ORDER BY id LIMIT 2"
        );
        let pattern = like_prefix(prefix);
        self.run(|c| {
            c.query(&sql, &[&pattern])?
                .iter()
                .map(|r| Ok((summary(r)?, r.try_get(9)?)))
                .collect()
        })
    }

    fn publish(&mut self, v: &NewVersion, keep: Option<u64>) -> Result<PublishOutcome> {
        let version = v.version.to_string();
        self.run(|c| {
            let mut tx = c.transaction()?;
            // Serialises concurrent publishes of one name (the row may not exist yet).
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&v.name])?;
            let stored = tx.query_opt(
                "SELECT content_hash FROM pattern_versions WHERE name = $1 AND version = $2",
                &[&v.name, &version],
            )?;
            if let Some(row) = stored {
                let h: String = row.try_get(0)?;
                return if h == v.content_hash {
                    Ok(PublishOutcome::Unchanged)
                } else {
                    Err(StoreError::VersionConflict {
                        name: v.name.clone(),
                        version: version.clone(),
                        stored: h,
                    })
                };
            }
            tx.execute(
                "UPDATE pattern_versions SET active = FALSE WHERE name = $1",
                &[&v.name],
            )?;
            tx.execute(
                "INSERT INTO pattern_versions
                   (name, version, content_hash, plan, source, file_name, author, published_at, active)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE)",
                &[
                    &v.name,
                    &version,
                    &v.content_hash,
                    &v.plan,
                    &v.source,
                    &v.file_name,
                    &v.author,
                    &v.published_at_ms,
                ],
            )?;
            let sql = format!("SELECT {VERSION_COLUMNS} FROM pattern_versions WHERE name = $1");
            let all = tx
                .query(&sql, &[&v.name])?
                .iter()
                .map(version_row)
                .collect::<Result<Vec<_>>>()?;
            let pruned = versions_to_prune(&all, keep);
            for old in &pruned {
                tx.execute(
                    "DELETE FROM pattern_versions WHERE name = $1 AND version = $2",
                    &[&v.name, old],
                )?;
            }
            tx.commit()?;
            Ok(PublishOutcome::Published { pruned })
        })
    }

    fn versions(&mut self, name: &str) -> Result<Vec<PatternVersion>> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM pattern_versions WHERE name = $1");
        self.run(|c| c.query(&sql, &[&name])?.iter().map(version_row).collect())
    }

    fn version(&mut self, name: &str, version: &str) -> Result<Option<StoredVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, plan, source FROM pattern_versions WHERE name = $1 AND version = $2"
        );
        self.run(|c| {
            c.query_opt(&sql, &[&name, &version])?
                .map(|r| {
                    Ok(StoredVersion {
                        info: version_row(&r)?,
                        plan: r.try_get(7)?,
                        source: r.try_get(8)?,
                    })
                })
                .transpose()
        })
    }

    fn set_active(&mut self, name: &str, version: &str) -> Result<bool> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM pattern_versions WHERE name = $1 AND version = $2 FOR UPDATE",
                    &[&name, &version],
                )?
                .is_some();
            if exists {
                tx.execute(
                    "UPDATE pattern_versions SET active = (version = $2) WHERE name = $1",
                    &[&name, &version],
                )?;
            }
            tx.commit()?;
            Ok(exists)
        })
    }
}
