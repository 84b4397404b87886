//! Schedule state for `prism serve`: when a schedule runs next and what its last run did,
//! kept across restarts.

use serde::{Deserialize, Serialize};

/// The persisted state of one schedule (keyed by the caller, e.g. `pattern-name` or a path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleState {
    /// When the schedule is next due (ms since the Unix epoch); `None` when it has ended.
    pub next_run_ms: Option<i64>,
    /// Runs started so far (for `maxRuns`).
    pub runs: u64,
    /// When the last run started (ms since the epoch).
    pub last_run_ms: Option<i64>,
    /// How the last run ended (`completed`, `failed`, …).
    pub last_status: Option<String>,
}
