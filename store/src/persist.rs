//! Writing execution records for plans with a granted `persistence` directive: the entry
//! point shared by `prism run` and the scheduler.
//!
//! The caller passes the directive's normalised config (`{enabled, store?, retention?}`, as
//! the compiler keeps it in `Directive::config`) and the record's JSON (§5). License gating
//! happens at build time: a plan that still carries the directive was granted it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::location::Location;
use crate::model::RecordSummary;
use crate::retention::Retention;

/// The settings of one `persistence` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    /// Where records go: the directive's `store`, else `$PRISM_STORE`, else the default file.
    pub location: Location,
    /// What to keep after each write.
    pub retention: Retention,
}

impl Persistence {
    /// Reads a directive config; `None` for `persistence: false`.
    pub fn from_config(config: &Value) -> Result<Option<Persistence>> {
        if config.get("enabled").and_then(Value::as_bool) == Some(false) {
            return Ok(None);
        }
        let store = match config.get("store") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(StoreError::BadUrl(other.to_string())),
        };
        Ok(Some(Persistence {
            location: Location::resolve(store)?,
            retention: Retention::from_json(config.get("retention"))?,
        }))
    }
}

/// What a persisted write did.
#[derive(Debug, Clone, PartialEq)]
pub struct Persisted {
    /// The row written.
    pub summary: RecordSummary,
    /// Records deleted by retention.
    pub pruned: u64,
    /// The store written to.
    pub location: Location,
}

/// Writes records, opening each store once and keeping it open (for long-running callers
/// like `prism serve`, where reopening per run would redo the schema check).
#[derive(Debug, Default)]
pub struct Recorder {
    stores: Mutex<HashMap<Location, Arc<Store>>>,
}

impl Recorder {
    /// A recorder with no store open yet.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// The open store at `location` (opened on first use).
    pub fn store(&self, location: &Location) -> Result<Arc<Store>> {
        let mut stores = self
            .stores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = stores.get(location) {
            return Ok(s.clone());
        }
        let store = Arc::new(Store::open(location)?);
        stores.insert(location.clone(), store.clone());
        Ok(store)
    }

    /// Writes `record` as the `persistence` directive `config` says; committed on return.
    /// `Ok(None)` when the directive is `false`.
    pub fn persist_record(&self, config: &Value, record: &Value) -> Result<Option<Persisted>> {
        let Some(p) = Persistence::from_config(config)? else {
            return Ok(None);
        };
        let store = self.store(&p.location)?;
        let (summary, pruned) = store.write_record(record, &p.retention)?;
        Ok(Some(Persisted {
            summary,
            pruned,
            location: p.location,
        }))
    }
}

/// Writes one record (opening and closing the store): for a single `prism run`.
pub fn persist_record(config: &Value, record: &Value) -> Result<Option<Persisted>> {
    Recorder::new().persist_record(config, record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_forms() {
        assert_eq!(
            Persistence::from_config(&json!({"enabled": false})).ok(),
            Some(None)
        );
        let p = Persistence::from_config(
            &json!({"enabled": true, "store": "sqlite:/tmp/x.db", "retention": 5}),
        )
        .ok()
        .flatten();
        assert_eq!(
            p,
            Some(Persistence {
                location: Location::Sqlite("/tmp/x.db".into()),
                retention: Retention {
                    max_age_ms: None,
                    max_records: Some(5)
                }
            })
        );
        assert!(Persistence::from_config(&json!({"store": "ftp://x"})).is_err());
    }

    #[test]
    fn a_record_is_written_and_retention_applied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("p.db").display());
        let config = json!({"enabled": true, "store": url, "retention": 1});
        let recorder = Recorder::new();
        for (i, id) in ["a", "b"].iter().enumerate() {
            let rec = json!({
                "id": id, "pattern": {"name": "n", "version": "1.0.0"}, "status": "completed",
                "trigger": {"kind": "manual"}, "startedAt": format!("2026-01-01T00:00:0{i}.000Z"),
                "endedAt": "2026-01-01T00:00:09.000Z", "durationMs": 1, "result": null
            });
            let done = recorder
                .persist_record(&config, &rec)
                .expect("persist")
                .expect("enabled");
            assert_eq!(done.pruned, i as u64);
        }
        let store = recorder
            .store(&Location::parse(&url).expect("url"))
            .expect("open");
        assert!(store.get_record("a").expect("get").is_none());
        assert!(store.get_record("b").expect("get").is_some());
    }
}
