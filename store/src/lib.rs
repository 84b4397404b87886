//! The pattern store: execution records (persistence), published pattern versions
//! (versioning) and schedule state (`prism serve`), in one SQLite file by default or in
//! PostgreSQL (§3 of `patterns.md`).
//!
//! [`Store`] is one type over both backends; every write is a transaction committed before
//! the call returns, so a caller that reports a run as finished after [`Store::write_record`]
//! never loses it. The schema is migrated on open and versioned in `schema_version`.
//!
//! Every method takes `&self` (the connection sits behind a mutex), so a `Store` can be
//! shared between threads (`Arc<Store>`). The calls block: from async code, prefer
//! `tokio::task::spawn_blocking`; calling them on a runtime thread is allowed and safe.

mod backend;
mod error;
mod location;
mod migrations;
mod model;
pub mod persist;
mod postgres;
mod retention;
mod schedule;
mod sqlite;

use std::sync::Mutex;

use serde_json::Value;

use crate::backend::Backend;

pub use crate::error::{Result, StoreError};
pub use crate::location::{Location, STORE_ENV};
pub use crate::model::{
    NewVersion, NodeRow, PatternVersion, PublishOutcome, RecordQuery, RecordSummary, StoredRecord,
    StoredVersion, format_time_ms, now_ms, parse_time_ms,
};
pub use crate::persist::{Persisted, Persistence, Recorder, persist_record};
pub use crate::retention::Retention;
pub use crate::schedule::ScheduleState;

/// An open pattern store.
pub struct Store {
    location: Location,
    backend: Mutex<Box<dyn Backend>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location.to_string())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `location`, creating and migrating its schema as needed.
    pub fn open(location: &Location) -> Result<Store> {
        let backend: Box<dyn Backend> = match location {
            Location::Sqlite(path) => Box::new(sqlite::SqliteBackend::open(path)?),
            Location::Postgres(url) => Box::new(postgres::PostgresBackend::open(url)?),
        };
        Ok(Store {
            location: location.clone(),
            backend: Mutex::new(backend),
        })
    }

    /// Opens `sqlite:PATH` / `postgres://…`, or the default SQLite file when `url` is `None`.
    pub fn open_url(url: Option<&str>) -> Result<Store> {
        Store::open(&Location::resolve(url)?)
    }

    /// Where this store lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Runs `f` on the backend; an SQLite answer of "busy" that the busy handler did not wait
    /// out is tried again (see [`sqlite::retry_busy`]).
    fn with<T>(&self, mut f: impl FnMut(&mut dyn Backend) -> Result<T>) -> Result<T> {
        // A panic while holding the lock cannot leave a half-done write behind (each write
        // is one transaction), so a poisoned lock is still usable.
        let mut guard = self
            .backend
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sqlite::retry_busy(|| f(guard.as_mut()))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        self.with(|b| b.schema_version())
    }

    /// The schedule state saved under `key`, if any.
    pub fn load_schedule(&self, key: &str) -> Result<Option<ScheduleState>> {
        self.with(|b| b.load_schedule(key))
    }

    /// Saves the schedule state under `key` (replacing what was there), committed on return.
    pub fn save_schedule(&self, key: &str, state: &ScheduleState) -> Result<()> {
        self.with(|b| b.save_schedule(key, state))
    }

    /// Writes an execution record (§5 JSON; a record with the same id is replaced, so a
    /// `running` row can be updated at the end), then applies `retention` to its pattern.
    /// Committed on return. Returns the summary written and how many records retention
    /// deleted.
    pub fn write_record(
        &self,
        record: &Value,
        retention: &Retention,
    ) -> Result<(RecordSummary, u64)> {
        let summary = RecordSummary::from_record(record)?;
        let json =
            serde_json::to_string(record).map_err(|e| StoreError::BadRecord(e.to_string()))?;
        let pruned = self.with(|b| b.write_record(&summary, &json, retention, now_ms()))?;
        Ok((summary, pruned))
    }

    /// Writes (or writes again: the same row, replaced) one completed node of a run, keyed by
    /// (execution id, node), committed on return. A distributed run writes each node through
    /// an activity that the engine may run more than once.
    pub fn write_node(&self, row: &NodeRow) -> Result<()> {
        self.with(|b| b.write_node(row))
    }

    /// The node rows of a run, in the order written.
    pub fn nodes(&self, execution_id: &str) -> Result<Vec<NodeRow>> {
        self.with(|b| b.nodes(execution_id))
    }

    /// Record summaries, newest first.
    pub fn list_records(&self, query: &RecordQuery) -> Result<Vec<RecordSummary>> {
        self.with(|b| b.list_records(query))
    }

    /// The record whose id is `id` or starts with it; an error if several do.
    pub fn get_record(&self, id: &str) -> Result<Option<StoredRecord>> {
        let id = id.trim();
        if id.is_empty() {
            return Ok(None);
        }
        let mut found = self.with(|b| b.find_records(id))?;
        if let Some(pos) = found.iter().position(|(s, _)| s.id == id) {
            found = vec![found.swap_remove(pos)];
        }
        match found.len() {
            0 => Ok(None),
            1 => {
                let (summary, json) = found.swap_remove(0);
                let record = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("record {}: {e}", summary.id)))?;
                Ok(Some(StoredRecord { summary, record }))
            }
            _ => Err(StoreError::AmbiguousId(id.to_string())),
        }
    }

    /// Publishes a version and makes it active; the same content under the same version is
    /// a no-op, other content an error. Then keeps only the newest `keep_history` versions
    /// (by semver; the active one is never deleted).
    pub fn publish(
        &self,
        version: &NewVersion,
        keep_history: Option<u64>,
    ) -> Result<PublishOutcome> {
        self.with(|b| b.publish(version, keep_history))
    }

    /// Every stored version of `name`, newest (by semver) first.
    pub fn versions(&self, name: &str) -> Result<Vec<PatternVersion>> {
        let mut all = self.with(|b| b.versions(name))?;
        all.sort_by(|a, b| {
            let (va, vb) = (
                semver::Version::parse(&a.version),
                semver::Version::parse(&b.version),
            );
            match (va, vb) {
                (Ok(va), Ok(vb)) => vb.cmp(&va),
                _ => b.version.cmp(&a.version),
            }
        });
        Ok(all)
    }

    /// One stored version, with its source and plan.
    pub fn version(&self, name: &str, version: &str) -> Result<Option<StoredVersion>> {
        self.with(|b| b.version(name, version))
    }

    /// Resolves `spec` for `name`: `None` → the active version; an exact version; or a semver
    /// range (`^1.2`, `>=1, <2`, `1.x`) → the newest stored version matching it.
    pub fn resolve_version(&self, name: &str, spec: Option<&str>) -> Result<Option<StoredVersion>> {
        let all = self.versions(name)?;
        let chosen = match spec.map(str::trim) {
            None | Some("") => all.iter().find(|v| v.active),
            Some(spec) => {
                if let Ok(exact) = semver::Version::parse(spec) {
                    all.iter()
                        .find(|v| semver::Version::parse(&v.version).is_ok_and(|s| s == exact))
                } else {
                    let req = semver::VersionReq::parse(spec)
                        .map_err(|_| StoreError::BadRange(spec.to_string()))?;
                    // `all` is newest first.
                    all.iter()
                        .find(|v| semver::Version::parse(&v.version).is_ok_and(|s| req.matches(&s)))
                }
            }
        };
        match chosen {
            Some(v) => self.version(name, &v.version),
            None => Ok(None),
        }
    }

    /// Makes `version` of `name` the active one (rollback); false if it is not stored.
    pub fn set_active(&self, name: &str, version: &str) -> Result<bool> {
        let v = semver::Version::parse(version.trim())
            .map_err(|_| StoreError::BadVersion(version.to_string()))?;
        self.with(|b| b.set_active(name, &v.to_string()))
    }
}

#[cfg(test)]
mod tests;
