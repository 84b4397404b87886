//! The operations every backend provides. Each write is one transaction, committed before
//! the call returns.

use crate::error::Result;
use crate::model::{
    NewVersion, NodeRow, PatternVersion, PublishOutcome, RecordQuery, RecordSummary, StoredVersion,
};
use crate::retention::Retention;
use crate::schedule::ScheduleState;

/// A store backend (SQLite or PostgreSQL).
pub(crate) trait Backend: Send {
    /// The schema version after migrating.
    fn schema_version(&mut self) -> Result<i64>;
    /// The state saved under `key`.
    fn load_schedule(&mut self, key: &str) -> Result<Option<ScheduleState>>;
    /// Saves (replaces) the state under `key`.
    fn save_schedule(&mut self, key: &str, state: &ScheduleState) -> Result<()>;
    /// Inserts or replaces a record, then applies `retention` to its pattern in the same
    /// transaction; returns how many records retention deleted.
    fn write_record(
        &mut self,
        summary: &RecordSummary,
        json: &str,
        retention: &Retention,
        now_ms: i64,
    ) -> Result<u64>;
    /// Inserts or replaces the row of one completed node of a run.
    fn write_node(&mut self, node: &NodeRow) -> Result<()>;
    /// The node rows of a run, in the order written.
    fn nodes(&mut self, execution_id: &str) -> Result<Vec<NodeRow>>;
    /// Summaries, newest first.
    fn list_records(&mut self, query: &RecordQuery) -> Result<Vec<RecordSummary>>;
    /// Records whose id starts with `prefix` (at most 2: enough to tell "ambiguous").
    fn find_records(&mut self, prefix: &str) -> Result<Vec<(RecordSummary, String)>>;
    /// Stores a version (made active) unless the same content is stored under it; prunes to
    /// `keep_history`.
    fn publish(
        &mut self,
        version: &NewVersion,
        keep_history: Option<u64>,
    ) -> Result<PublishOutcome>;
    /// Every stored version of `name` (any order).
    fn versions(&mut self, name: &str) -> Result<Vec<PatternVersion>>;
    /// One version with its source and plan.
    fn version(&mut self, name: &str, version: &str) -> Result<Option<StoredVersion>>;
    /// Makes `version` the active one; false if it is not stored.
    fn set_active(&mut self, name: &str, version: &str) -> Result<bool>;
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` prefix match.
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Converts a stored count back to `u64`.
pub(crate) fn count_from_db(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| crate::StoreError::Corrupt(format!("negative run count {n}")))
}

/// Converts a count to the database's `BIGINT`.
pub(crate) fn count_to_db(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| crate::StoreError::Corrupt(format!("run count {n} is too large")))
}
