//! Execution records of distributed runs, written by the workers: one row per completed node,
//! keyed by (execution id, node), as the run goes, and the run's record at its end, keyed by
//! its execution id. Each write is an activity that Temporal may run more than once (a worker
//! lost after the write and before its answer), so every write replaces what the same key
//! holds: a node is never stored twice.

use prism_store::{NodeRow, Persistence, Recorder, now_ms};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One write (the input of the `prism_write_record` activity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordWrite {
    /// The pattern's `persistence` directive (`{enabled, store?, retention?}`), with the
    /// client's `--store` filled in where it names none; the workers resolve the default store.
    pub persistence: Json,
    /// What to write.
    pub what: Written,
}

/// What a [`RecordWrite`] writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Written {
    /// One completed node.
    #[serde(rename_all = "camelCase")]
    Node {
        /// The run's execution id.
        execution_id: String,
        /// The plan node's id.
        node: String,
        /// `ok`, `skipped`, `failed`.
        status: String,
        /// What the node gave (its trace: kind, step, confidence, duration, detail).
        record: Json,
    },
    /// The run's execution record, at its end.
    Run {
        /// The record (§5) as JSON text, packed when long ([`crate::payload`]).
        record: String,
    },
}

impl RecordWrite {
    /// Writes into the directive's store (blocking: call it off the async runtime).
    pub fn apply(&self, recorder: &Recorder) -> Result<(), String> {
        let Some(persistence) =
            Persistence::from_config(&self.persistence).map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        match &self.what {
            Written::Node {
                execution_id,
                node,
                status,
                record,
            } => {
                let store = recorder
                    .store(&persistence.location)
                    .map_err(|e| e.to_string())?;
                store
                    .write_node(&NodeRow {
                        execution_id: execution_id.clone(),
                        node: node.clone(),
                        status: status.clone(),
                        written_at_ms: now_ms(),
                        record: record.to_string(),
                    })
                    .map_err(|e| e.to_string())
            }
            Written::Run { record } => {
                let text = crate::payload::unpack(record)?;
                let record: Json = serde_json::from_str(&text)
                    .map_err(|e| format!("the run's record is not JSON: {e}"))?;
                recorder
                    .persist_record(&self.persistence, &record)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(id: &str) -> Json {
        json!({
            "id": id,
            "pattern": {"name": "p", "version": "1.0.0", "source": "p.yaml", "planHash": "sha256:00"},
            "status": "completed",
            "trigger": {"kind": "manual"},
            "startedAt": "2027-01-15T08:00:00.000Z",
            "endedAt": "2027-01-15T08:00:01.000Z",
            "durationMs": 1000,
            "input": {},
            "result": {"value": "x", "confidence": 0.9},
            "agentResults": [], "steps": [], "metrics": {}, "warnings": [], "error": null
        })
    }

    #[test]
    fn writes_done_twice_leave_one_row_per_key() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("runs.db");
        let persistence = json!({"enabled": true, "store": format!("sqlite:{}", db.display())});
        let recorder = Recorder::new();
        let node = |status: &str| RecordWrite {
            persistence: persistence.clone(),
            what: Written::Node {
                execution_id: "run-1".into(),
                node: "step:ask".into(),
                status: status.into(),
                record: json!({"detail": status}),
            },
        };
        let run = RecordWrite {
            persistence: persistence.clone(),
            what: Written::Run {
                record: record("run-1").to_string(),
            },
        };
        for write in [node("failed"), node("ok"), node("ok"), run.clone(), run] {
            write.apply(&recorder).expect("written");
        }
        let store = recorder
            .store(&prism_store::Location::Sqlite(db))
            .expect("store");
        let nodes = store.nodes("run-1").expect("nodes");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].status, "ok");
        let stored = store.list_records(&prism_store::RecordQuery {
            pattern: None,
            limit: 10,
        });
        assert_eq!(stored.expect("records").len(), 1);
    }

    #[test]
    fn persistence_false_writes_nothing() {
        let write = RecordWrite {
            persistence: json!({"enabled": false, "store": "sqlite:/nonexistent/dir/x.db"}),
            what: Written::Run {
                record: record("r").to_string(),
            },
        };
        assert_eq!(write.apply(&Recorder::new()), Ok(()));
    }

    #[test]
    fn the_activity_input_round_trips() {
        let write = RecordWrite {
            persistence: json!({"enabled": true}),
            what: Written::Node {
                execution_id: "e".into(),
                node: "agents".into(),
                status: "ok".into(),
                record: json!({"confidence": 0.5}),
            },
        };
        let text = serde_json::to_string(&write).expect("serialise");
        assert!(text.contains("\"kind\":\"node\""), "{text}");
        assert!(text.contains("\"executionId\":\"e\""), "{text}");
        let back: RecordWrite = serde_json::from_str(&text).expect("deserialise");
        assert_eq!(back, write);
    }
}
