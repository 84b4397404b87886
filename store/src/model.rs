//! The rows the store keeps: execution record summaries and published pattern versions.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, StoreError};

/// The indexed columns of one execution record (§5); the full record is kept beside them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSummary {
    /// The run's UUIDv7.
    pub id: String,
    /// The pattern's name.
    pub pattern: String,
    /// The pattern's version.
    pub version: String,
    /// `running`, `completed`, `failed`, `escalated`, `timed_out` or `cancelled`.
    pub status: String,
    /// `manual`, `schedule` or `api`.
    pub trigger: String,
    /// Start (ms since the Unix epoch).
    pub started_at_ms: i64,
    /// End (ms since the epoch), once ended.
    pub ended_at_ms: Option<i64>,
    /// Duration in ms, once ended.
    pub duration_ms: Option<i64>,
    /// The result's confidence, when the run produced a result.
    pub confidence: Option<f64>,
}

impl RecordSummary {
    /// Reads the indexed fields from an execution record's JSON (§5).
    pub fn from_record(record: &Value) -> Result<RecordSummary> {
        let text = |pointer: &str| -> Result<String> {
            record
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| StoreError::BadRecord(format!("`{pointer}` is missing or not text")))
        };
        let time = |pointer: &str| -> Result<Option<i64>> {
            match record.pointer(pointer) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => parse_time_ms(s).map(Some).ok_or_else(|| {
                    StoreError::BadRecord(format!("`{pointer}` is not an RFC 3339 time: {s}"))
                }),
                Some(other) => Err(StoreError::BadRecord(format!(
                    "`{pointer}` is not an RFC 3339 time: {other}"
                ))),
            }
        };
        let started_at_ms = time("/startedAt")?
            .ok_or_else(|| StoreError::BadRecord("`/startedAt` is missing".into()))?;
        let duration_ms = match record.get("durationMs") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|d| i64::try_from(d).ok())
                    .ok_or_else(|| StoreError::BadRecord(format!("`durationMs` is {v}")))?,
            ),
        };
        Ok(RecordSummary {
            id: text("/id")?,
            pattern: text("/pattern/name")?,
            version: text("/pattern/version")?,
            status: text("/status")?,
            trigger: text("/trigger/kind").unwrap_or_else(|_| "manual".to_string()),
            started_at_ms,
            ended_at_ms: time("/endedAt")?,
            duration_ms,
            confidence: record.pointer("/result/confidence").and_then(Value::as_f64),
        })
    }
}

/// An execution record as stored: its summary and the full JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The indexed columns.
    pub summary: RecordSummary,
    /// The full record (§5), exactly as written.
    pub record: Value,
}

/// One completed node of a run, as its run wrote it (`execution_nodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// The run's execution id.
    pub execution_id: String,
    /// The plan node's id (`step:ask`, `agents`, …).
    pub node: String,
    /// `ok`, `skipped`, `failed`.
    pub status: String,
    /// When it was written (ms since the epoch).
    pub written_at_ms: i64,
    /// What the node gave (JSON text).
    pub record: String,
}

/// Which records `history` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// Only this pattern's records.
    pub pattern: Option<String>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// A pattern version to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    /// The pattern's name.
    pub name: String,
    /// Its semver version.
    pub version: semver::Version,
    /// `sha256:<hex>` of the source text.
    pub content_hash: String,
    /// The execution plan (JSON text).
    pub plan: String,
    /// The source text.
    pub source: String,
    /// The source's file name (`review.yaml`, `vote.prism`): how to compile it again.
    pub file_name: String,
    /// Who published it.
    pub author: String,
    /// When (ms since the epoch).
    pub published_at_ms: i64,
}

/// A published version, without its source and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatternVersion {
    /// The pattern's name.
    pub name: String,
    /// Its version (semver text).
    pub version: String,
    /// `sha256:<hex>` of the source.
    pub content_hash: String,
    /// The source's file name.
    pub file_name: String,
    /// Who published it.
    pub author: String,
    /// When (ms since the epoch).
    pub published_at_ms: i64,
    /// Whether `prism run NAME` runs this version (set by publish and rollback).
    pub active: bool,
}

/// A published version with its source and plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    /// Name, version, hash, author, time, active flag.
    pub info: PatternVersion,
    /// The execution plan (JSON text).
    pub plan: String,
    /// The source text.
    pub source: String,
}

/// What `publish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Stored (and made active); `pruned` lists versions removed by `keepHistory`.
    Published {
        /// Versions deleted to keep the newest `keepHistory`.
        pruned: Vec<String>,
    },
    /// The same content was already stored under this version: nothing changed.
    Unchanged,
}

/// Parses an RFC 3339 time into ms since the Unix epoch.
pub fn parse_time_ms(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(text))
        .ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// Formats ms since the epoch as RFC 3339 UTC with seconds (`2026-01-02T03:04:05Z`).
pub fn format_time_ms(ms: i64) -> String {
    let Ok(ms) = u64::try_from(ms) else {
        return ms.to_string();
    };
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The versions to delete so that only the newest `keep` (by semver) remain; the active
/// version is never deleted.
pub(crate) fn versions_to_prune(versions: &[PatternVersion], keep: Option<u64>) -> Vec<String> {
    let Some(keep) = keep else {
        return Vec::new();
    };
    let mut parsed: Vec<(semver::Version, &PatternVersion)> = versions
        .iter()
        .filter_map(|v| semver::Version::parse(&v.version).ok().map(|s| (s, v)))
        .collect();
    parsed.sort_by(|a, b| b.0.cmp(&a.0));
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    parsed
        .into_iter()
        .skip(keep)
        .filter(|(_, v)| !v.active)
        .map(|(_, v)| v.version.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_times_parse() {
        assert_eq!(parse_time_ms("1970-01-01T00:00:01.500Z"), Some(1500));
        assert_eq!(
            parse_time_ms("2023-11-14T22:13:20.123Z"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_time_ms("yesterday"), None);
        assert_eq!(format_time_ms(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn summary_from_a_record() {
        let rec = serde_json::json!({
            "id": "0190", "pattern": {"name": "p", "version": "1.0.0"}, "status": "completed",
            "trigger": {"kind": "schedule"}, "startedAt": "1970-01-01T00:00:01.000Z",
            "endedAt": "1970-01-01T00:00:02.000Z", "durationMs": 1000,
            "result": {"value": 1, "confidence": 0.8}
        });
        let s = RecordSummary::from_record(&rec).ok();
        assert_eq!(s.as_ref().map(|s| s.trigger.as_str()), Some("schedule"));
        assert_eq!(s.as_ref().and_then(|s| s.confidence), Some(0.8));
        assert_eq!(s.as_ref().and_then(|s| s.ended_at_ms), Some(2000));
        let bad = serde_json::json!({"id": "x", "pattern": {"name": "p"}});
        assert!(matches!(
            RecordSummary::from_record(&bad),
            Err(StoreError::BadRecord(_))
        ));
    }
}
