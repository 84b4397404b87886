//! The embedded default backend: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! committed record survives a crash of the process (and of the machine), and a busy timeout
//! so several `prism` processes can share the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::backend::{Backend, count_from_db, count_to_db, like_prefix};
use crate::error::{Result, StoreError};
use crate::migrations::{LATEST, MIGRATIONS, SCHEMA_VERSION_TABLE};
use crate::model::{
    NewVersion, NodeRow, PatternVersion, PublishOutcome, RecordQuery, RecordSummary, StoredVersion,
    now_ms, versions_to_prune,
};
use crate::retention::Retention;
use crate::schedule::ScheduleState;

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open SQLite store.
pub(crate) struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
}

trait Ctx<T> {
    fn ctx(self, path: &Path) -> Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, path: &Path) -> Result<T> {
        self.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl SqliteBackend {
    /// Opens (creating the file and its directory if needed) and migrates, trying again while
    /// another process holds a lock the busy handler does not wait for.
    pub(crate) fn open(path: &Path) -> Result<SqliteBackend> {
        retry_busy(|| SqliteBackend::open_once(path))
    }

    fn open_once(path: &Path) -> Result<SqliteBackend> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).ctx(path)?;
        conn.busy_timeout(BUSY_TIMEOUT).ctx(path)?;
        // `journal_mode` answers with the mode it set.
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .ctx(path)?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .ctx(path)?;
        let mut backend = SqliteBackend {
            conn,
            path: path.to_path_buf(),
        };
        backend.migrate()?;
        Ok(backend)
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&path)?;
        tx.execute_batch(SCHEMA_VERSION_TABLE).ctx(&path)?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .ctx(&path)?;
        if current > LATEST {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: LATEST,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql).ctx(&path)?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                params![i as i64 + 1, now_ms()],
            )
            .ctx(&path)?;
        }
        tx.commit().ctx(&path)
    }
}

/// Runs `op` again (with a growing pause) while it fails with [`StoreError::is_busy`], for up
/// to [`BUSY_TIMEOUT`] in all; then returns its last answer.
pub(crate) fn retry_busy<T>(mut op: impl FnMut() -> Result<T>) -> Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match op() {
            Err(e) if e.is_busy() && std::time::Instant::now() + pause < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            answer => return answer,
        }
    }
}

const SUMMARY_COLUMNS: &str =
    "id, pattern, version, status, trigger_kind, started_at, ended_at, duration_ms, confidence";

fn summary(row: &Row<'_>) -> rusqlite::Result<RecordSummary> {
    Ok(RecordSummary {
        id: row.get(0)?,
        pattern: row.get(1)?,
        version: row.get(2)?,
        status: row.get(3)?,
        trigger: row.get(4)?,
        started_at_ms: row.get(5)?,
        ended_at_ms: row.get(6)?,
        duration_ms: row.get(7)?,
        confidence: row.get(8)?,
    })
}

const VERSION_COLUMNS: &str =
    "name, version, content_hash, file_name, author, published_at, active";

fn version_row(row: &Row<'_>) -> rusqlite::Result<PatternVersion> {
    Ok(PatternVersion {
        name: row.get(0)?,
        version: row.get(1)?,
        content_hash: row.get(2)?,
        file_name: row.get(3)?,
        author: row.get(4)?,
        published_at_ms: row.get(5)?,
        active: row.get(6)?,
    })
}

impl Backend for SqliteBackend {
    fn schema_version(&mut self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .ctx(&self.path)
    }

    fn load_schedule(&mut self, key: &str) -> Result<Option<ScheduleState>> {
        let row = self
            .conn
            .query_row(
                "SELECT next_run_ms, runs, last_run_ms, last_status FROM schedule_state WHERE key = ?1",
                params![key],
                |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()
            .ctx(&self.path)?;
        row.map(|(next_run_ms, runs, last_run_ms, last_status)| {
            Ok(ScheduleState {
                next_run_ms,
                runs: count_from_db(runs)?,
                last_run_ms,
                last_status,
            })
        })
        .transpose()
    }

    fn save_schedule(&mut self, key: &str, state: &ScheduleState) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO schedule_state (key, next_run_ms, runs, last_run_ms, last_status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (key) DO UPDATE SET next_run_ms = excluded.next_run_ms,
                   runs = excluded.runs, last_run_ms = excluded.last_run_ms,
                   last_status = excluded.last_status, updated_at = excluded.updated_at",
                params![
                    key,
                    state.next_run_ms,
                    count_to_db(state.runs)?,
                    state.last_run_ms,
                    state.last_status,
                    now_ms()
                ],
            )
            .ctx(&self.path)?;
        Ok(())
    }

    fn write_record(
        &mut self,
        s: &RecordSummary,
        json: &str,
        retention: &Retention,
        now: i64,
    ) -> Result<u64> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&path)?;
        tx.execute(
            "INSERT INTO execution_records
               (id, pattern, version, status, trigger_kind, started_at, ended_at, duration_ms, confidence, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO UPDATE SET pattern = excluded.pattern, version = excluded.version,
               status = excluded.status, trigger_kind = excluded.trigger_kind,
               started_at = excluded.started_at, ended_at = excluded.ended_at,
               duration_ms = excluded.duration_ms, confidence = excluded.confidence,
               record = excluded.record",
            params![
                s.id,
                s.pattern,
                s.version,
                s.status,
                s.trigger,
                s.started_at_ms,
                s.ended_at_ms,
                s.duration_ms,
                s.confidence,
                json
            ],
        )
        .ctx(&path)?;
        let mut pruned = 0;
        if let Some(age) = retention.max_age_ms {
            let cutoff = now.saturating_sub(i64::try_from(age).unwrap_or(i64::MAX));
            tx.execute(
                "DELETE FROM execution_nodes WHERE execution_id IN
                   (SELECT id FROM execution_records WHERE pattern = ?1 AND started_at < ?2)",
                params![s.pattern, cutoff],
            )
            .ctx(&path)?;
            pruned += tx
                .execute(
                    "DELETE FROM execution_records WHERE pattern = ?1 AND started_at < ?2",
                    params![s.pattern, cutoff],
                )
                .ctx(&path)?;
        }
        if let Some(max) = retention.max_records {
            tx.execute(
                "DELETE FROM execution_nodes WHERE execution_id IN
                   (SELECT id FROM execution_records WHERE pattern = ?1
                     AND (started_at, id) <= (
                       SELECT started_at, id FROM execution_records WHERE pattern = ?1
                       ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?2))",
                params![s.pattern, i64::try_from(max).unwrap_or(i64::MAX)],
            )
            .ctx(&path)?;
            pruned += tx
                .execute(
                    "DELETE FROM execution_records WHERE pattern = ?1
                       AND (started_at, id) <= (
                         SELECT started_at, id FROM execution_records WHERE pattern = ?1
                         ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?2)",
                    params![s.pattern, i64::try_from(max).unwrap_or(i64::MAX)],
                )
                .ctx(&path)?;
        }
        tx.commit().ctx(&path)?;
        Ok(pruned as u64)
    }

    fn write_node(&mut self, n: &NodeRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO execution_nodes (execution_id, node, status, written_at, record)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (execution_id, node) DO UPDATE SET status = excluded.status,
                   written_at = excluded.written_at, record = excluded.record",
                params![n.execution_id, n.node, n.status, n.written_at_ms, n.record],
            )
            .ctx(&self.path)?;
        Ok(())
    }

    fn nodes(&mut self, execution_id: &str) -> Result<Vec<NodeRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT execution_id, node, status, written_at, record FROM execution_nodes
                 WHERE execution_id = ?1 ORDER BY written_at, node",
            )
            .ctx(&self.path)?;
        let rows = stmt
            .query_map(params![execution_id], |r| {
                Ok(NodeRow {
                    execution_id: r.get(0)?,
                    node: r.get(1)?,
                    status: r.get(2)?,
                    written_at_ms: r.get(3)?,
                    record: r.get(4)?,
                })
            })
            .ctx(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(&self.path)
    }

    fn list_records(&mut self, q: &RecordQuery) -> Result<Vec<RecordSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM execution_records
             WHERE (?1 IS NULL OR pattern = ?1) ORDER BY started_at DESC, id DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx(&self.path)?;
        let rows = stmt
            .query_map(params![q.pattern, i64::from(q.limit)], summary)
            .ctx(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(&self.path)
    }

    fn find_records(&mut self, prefix: &str) -> Result<Vec<(RecordSummary, String)>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, record FROM execution_records
             WHERE id LIKE ?1 ESCAPE '\\' ORDER BY id LIMIT 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx(&self.path)?;
        let rows = stmt
            .query_map(params![like_prefix(prefix)], |r| {
                Ok((summary(r)?, r.get(9)?))
            })
            .ctx(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(&self.path)
    }

    fn publish(&mut self, v: &NewVersion, keep: Option<u64>) -> Result<PublishOutcome> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&path)?;
        let version = v.version.to_string();
        let stored: Option<String> = tx
            .query_row(
                "SELECT content_hash FROM pattern_versions WHERE name = ?1 AND version = ?2",
                params![v.name, version],
                |r| r.get(0),
            )
            .optional()
            .ctx(&path)?;
        match stored {
            Some(h) if h == v.content_hash => return Ok(PublishOutcome::Unchanged),
            Some(h) => {
                return Err(StoreError::VersionConflict {
                    name: v.name.clone(),
                    version,
                    stored: h,
                });
            }
            None => {}
        }
        tx.execute(
            "UPDATE pattern_versions SET active = FALSE WHERE name = ?1",
            params![v.name],
        )
        .ctx(&path)?;
        tx.execute(
            "INSERT INTO pattern_versions
               (name, version, content_hash, plan, source, file_name, author, published_at, active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, TRUE)",
            params![
                v.name,
                version,
                v.content_hash,
                v.plan,
                v.source,
                v.file_name,
                v.author,
                v.published_at_ms
            ],
        )
        .ctx(&path)?;
        let all = {
            let sql = format!("SELECT {VERSION_COLUMNS} FROM pattern_versions WHERE name = ?1");
            let mut stmt = tx.prepare(&sql).ctx(&path)?;
            let rows = stmt.query_map(params![v.name], version_row).ctx(&path)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().ctx(&path)?
        };
        let pruned = versions_to_prune(&all, keep);
        for old in &pruned {
            tx.execute(
                "DELETE FROM pattern_versions WHERE name = ?1 AND version = ?2",
                params![v.name, old],
            )
            .ctx(&path)?;
        }
        tx.commit().ctx(&path)?;
        Ok(PublishOutcome::Published { pruned })
    }

    fn versions(&mut self, name: &str) -> Result<Vec<PatternVersion>> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM pattern_versions WHERE name = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).ctx(&self.path)?;
        let rows = stmt.query_map(params![name], version_row).ctx(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(&self.path)
    }

    fn version(&mut self, name: &str, version: &str) -> Result<Option<StoredVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, plan, source FROM pattern_versions WHERE name = ?1 AND version = ?2"
        );
        self.conn
            .query_row(&sql, params![name, version], |r| {
                Ok(StoredVersion {
                    info: version_row(r)?,
                    plan: r.get(7)?,
                    source: r.get(8)?,
                })
            })
            .optional()
            .ctx(&self.path)
    }

    fn set_active(&mut self, name: &str, version: &str) -> Result<bool> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&path)?;
        let exists = tx
            .query_row(
                "SELECT 1 FROM pattern_versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |_| Ok(()),
            )
            .optional()
            .ctx(&path)?
            .is_some();
        if exists {
            tx.execute(
                "UPDATE pattern_versions SET active = (version = ?2) WHERE name = ?1",
                params![name, version],
            )
            .ctx(&path)?;
        }
        tx.commit().ctx(&path)?;
        Ok(exists)
    }
}
