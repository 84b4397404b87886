//! The execution record (§5): what `prism run --json` prints and persistence stores, and the
//! per-agent result records of §4.

use serde_json::{Map, Value as Json, json};

use super::expr::json_num;

/// How one agent call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Answered.
    Ok,
    /// Failed (HTTP error, protocol error, crash, …).
    Failed,
    /// Timed out (per call or phase timeout).
    TimedOut,
    /// Cancelled (race won, enough results, run cancelled).
    Cancelled,
}

impl CallStatus {
    /// The word used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Failed => "failed",
            CallStatus::TimedOut => "timed_out",
            CallStatus::Cancelled => "cancelled",
        }
    }

    /// The status a record's word names (`None` for an unknown word).
    pub fn parse(word: &str) -> Option<CallStatus> {
        [
            CallStatus::Ok,
            CallStatus::Failed,
            CallStatus::TimedOut,
            CallStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }
}

/// One agent's answer (or failure), in the §4 shape.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentResult {
    /// The agent's id.
    pub agent_id: String,
    /// The agent's name.
    pub agent_name: String,
    /// Its capabilities.
    pub capabilities: Vec<String>,
    /// Declared expertise.
    pub expertise: f64,
    /// The answer's value (`null` on failure).
    pub result: Json,
    /// The answer's confidence (0 on failure).
    pub confidence: f64,
    /// Reasoning.
    pub reasoning: Option<String>,
    /// When the answer arrived (ms since the epoch).
    pub timestamp: u64,
    /// How long the call took.
    pub latency_ms: u64,
    /// Uncertainties, if given.
    pub uncertainties: Option<Json>,
    /// Metadata, if given.
    pub metadata: Option<Json>,
    /// Why the call failed.
    pub error: Option<String>,
    /// How the call ended.
    pub status: CallStatus,
    /// The step it belongs to.
    pub step: Option<String>,
    /// Calls made (1 + retries).
    pub attempts: u32,
    /// Arrival order in the run (for `first`); not part of the record.
    pub seq: u64,
}

impl AgentResult {
    /// Valid results (§1.6): not failed, confidence > 0, result not null.
    pub fn is_valid(&self) -> bool {
        self.error.is_none() && self.confidence > 0.0 && !self.result.is_null()
    }

    /// A result from its record (the inverse of [`AgentResult::to_json`]), as scripts and
    /// `--agent-results` files give them; `index` is its place in the list. The one reading of
    /// the record shape: the id falls back to the name, then to `agent-N`; a record's `status`
    /// word wins, else a non-null `error` means failed; arrival order is the list order.
    pub fn from_json(r: &Json, index: usize) -> AgentResult {
        let s = |k: &str| r.get(k).and_then(Json::as_str).map(str::to_string);
        let id = s("agentId")
            .or_else(|| s("agentName"))
            .unwrap_or_else(|| format!("agent-{}", index + 1));
        let error = s("error");
        let status = match r
            .get("status")
            .and_then(Json::as_str)
            .and_then(CallStatus::parse)
        {
            Some(status) => status,
            None if error.is_some() => CallStatus::Failed,
            None => CallStatus::Ok,
        };
        AgentResult {
            agent_id: id.clone(),
            agent_name: s("agentName").unwrap_or(id),
            capabilities: prism_agents::select::strings(r.get("capabilities")),
            expertise: r.get("expertise").and_then(Json::as_f64).unwrap_or(0.7),
            result: r.get("result").cloned().unwrap_or(Json::Null),
            confidence: r.get("confidence").and_then(Json::as_f64).unwrap_or(0.0),
            reasoning: s("reasoning"),
            timestamp: r.get("timestamp").and_then(Json::as_u64).unwrap_or(0),
            latency_ms: r.get("latencyMs").and_then(Json::as_u64).unwrap_or(0),
            uncertainties: r.get("uncertainties").cloned(),
            metadata: r.get("metadata").cloned(),
            error,
            status,
            step: s("step"),
            attempts: r
                .get("attempts")
                .and_then(Json::as_u64)
                .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            seq: index as u64,
        }
    }

    /// The §4 record (plus `step`, `status`, `attempts`).
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("agentId".into(), json!(self.agent_id));
        m.insert("agentName".into(), json!(self.agent_name));
        m.insert("capabilities".into(), json!(self.capabilities));
        m.insert("expertise".into(), json_num(self.expertise));
        m.insert("result".into(), self.result.clone());
        m.insert("confidence".into(), json_num(self.confidence));
        m.insert(
            "reasoning".into(),
            self.reasoning.clone().map_or(Json::Null, Json::String),
        );
        m.insert("timestamp".into(), json!(self.timestamp));
        m.insert("latencyMs".into(), json!(self.latency_ms));
        if let Some(u) = &self.uncertainties {
            m.insert("uncertainties".into(), u.clone());
        }
        if let Some(md) = &self.metadata {
            m.insert("metadata".into(), md.clone());
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        m.insert("status".into(), json!(self.status.as_str()));
        m.insert("attempts".into(), json!(self.attempts));
        m.insert(
            "step".into(),
            self.step.clone().map_or(Json::Null, Json::String),
        );
        Json::Object(m)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Still running.
    Running,
    /// Finished with a result.
    Completed,
    /// Failed.
    Failed,
    /// Ended by an escalation.
    Escalated,
    /// Stopped by the overall timeout.
    TimedOut,
    /// Cancelled (Ctrl-C).
    Cancelled,
}

impl RunStatus {
    /// The word used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Escalated => "escalated",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// One executed step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The step id (or plan node id).
    pub id: String,
    /// `completed`, `failed`, `skipped`.
    pub status: String,
    /// Its confidence.
    pub confidence: f64,
    /// Times it ran.
    pub attempts: u32,
    /// How long it took (all attempts).
    pub duration_ms: u64,
    /// Why it failed.
    pub error: Option<String>,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunError {
    /// A stable code (`prism::run::agents`, …).
    pub code: String,
    /// The message.
    pub message: String,
    /// The plan node, if any.
    pub node: Option<String>,
    /// The source span `[start, end]`, if any.
    pub span: Option<(u32, u32)>,
}

/// The execution record of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    /// UUIDv7.
    pub id: String,
    /// `{name, version, source, planHash}`.
    pub pattern: Json,
    /// How the run ended.
    pub status: RunStatus,
    /// `{kind, scheduledFor?}`.
    pub trigger: Json,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub ended_at: String,
    /// Duration.
    pub duration_ms: u64,
    /// The validated input.
    pub input: Json,
    /// `(value, confidence)`, when the run produced one.
    pub result: Option<(Json, f64)>,
    /// Every agent call, in call order.
    pub agent_results: Vec<AgentResult>,
    /// Executed steps.
    pub steps: Vec<StepRecord>,
    /// `metrics`.
    pub metrics: Json,
    /// `{target, reason}` for escalated runs.
    pub escalation: Option<Json>,
    /// `{reason, action, step?}` when a fallback fired (a validation fallback or the
    /// top-level `fallback`).
    pub fallback: Option<Json>,
    /// `(code, message)` warnings.
    pub warnings: Vec<(String, String)>,
    /// Why the run failed.
    pub error: Option<RunError>,
}

impl ExecutionRecord {
    /// The names of the agents whose calls failed or timed out (not those cancelled because
    /// they were no longer needed), each once, in call order.
    pub fn failed_agents(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in &self.agent_results {
            let failed = matches!(r.status, CallStatus::Failed | CallStatus::TimedOut)
                || (r.status == CallStatus::Ok && r.error.is_some());
            if failed && !names.contains(&r.agent_name) {
                names.push(r.agent_name.clone());
            }
        }
        names
    }

    /// A record from its JSON (the inverse of [`ExecutionRecord::to_json`]), for records that
    /// come back from elsewhere (a run on Temporal); `None` when `j` is not a record.
    pub fn from_json(j: &Json) -> Option<ExecutionRecord> {
        let s = |k: &str| j.get(k).and_then(Json::as_str).map(str::to_string);
        let status = match j.get("status").and_then(Json::as_str)? {
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "escalated" => RunStatus::Escalated,
            "timed_out" => RunStatus::TimedOut,
            "cancelled" => RunStatus::Cancelled,
            _ => return None,
        };
        let list = |k: &str| {
            j.get(k)
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let some = |k: &str| j.get(k).filter(|v| !v.is_null()).cloned();
        Some(ExecutionRecord {
            id: s("id")?,
            pattern: j.get("pattern").cloned().unwrap_or(Json::Null),
            status,
            trigger: j.get("trigger").cloned().unwrap_or(Json::Null),
            started_at: s("startedAt").unwrap_or_default(),
            ended_at: s("endedAt").unwrap_or_default(),
            duration_ms: j.get("durationMs").and_then(Json::as_u64).unwrap_or(0),
            input: j.get("input").cloned().unwrap_or(Json::Null),
            result: j.get("result").filter(|r| !r.is_null()).map(|r| {
                (
                    r.get("value").cloned().unwrap_or(Json::Null),
                    r.get("confidence").and_then(Json::as_f64).unwrap_or(0.0),
                )
            }),
            agent_results: list("agentResults")
                .iter()
                .enumerate()
                .map(|(i, r)| AgentResult::from_json(r, i))
                .collect(),
            steps: list("steps")
                .iter()
                .map(|st| StepRecord {
                    id: st
                        .get("id")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    status: st
                        .get("status")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    confidence: st.get("confidence").and_then(Json::as_f64).unwrap_or(0.0),
                    attempts: st
                        .get("attempts")
                        .and_then(Json::as_u64)
                        .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                    duration_ms: st.get("durationMs").and_then(Json::as_u64).unwrap_or(0),
                    error: st.get("error").and_then(Json::as_str).map(str::to_string),
                })
                .collect(),
            metrics: j.get("metrics").cloned().unwrap_or(Json::Null),
            escalation: some("escalation"),
            fallback: some("fallback"),
            warnings: list("warnings")
                .iter()
                .map(|w| {
                    let f = |k: &str| {
                        w.get(k)
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    (f("code"), f("message"))
                })
                .collect(),
            error: j.get("error").filter(|e| !e.is_null()).map(|e| {
                let f = |k: &str| e.get(k).and_then(Json::as_str).map(str::to_string);
                RunError {
                    code: f("code").unwrap_or_default(),
                    message: f("message").unwrap_or_default(),
                    node: f("node"),
                    span: e.get("span").and_then(Json::as_array).and_then(|a| {
                        let n = |i: usize| {
                            a.get(i)
                                .and_then(Json::as_u64)
                                .and_then(|v| u32::try_from(v).ok())
                        };
                        Some((n(0)?, n(1)?))
                    }),
                }
            }),
        })
    }

    /// The record as the JSON of §5.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("pattern".into(), self.pattern.clone());
        m.insert("status".into(), json!(self.status.as_str()));
        m.insert("trigger".into(), self.trigger.clone());
        m.insert("startedAt".into(), json!(self.started_at));
        m.insert("endedAt".into(), json!(self.ended_at));
        m.insert("durationMs".into(), json!(self.duration_ms));
        m.insert("input".into(), self.input.clone());
        m.insert(
            "result".into(),
            self.result.as_ref().map_or(
                Json::Null,
                |(v, c)| json!({"value": v, "confidence": json_num(*c)}),
            ),
        );
        m.insert(
            "agentResults".into(),
            Json::Array(
                self.agent_results
                    .iter()
                    .map(AgentResult::to_json)
                    .collect(),
            ),
        );
        m.insert(
            "steps".into(),
            Json::Array(
                self.steps
                    .iter()
                    .map(|s| {
                        let mut o = json!({
                            "id": s.id,
                            "status": s.status,
                            "confidence": json_num(s.confidence),
                            "attempts": s.attempts,
                            "durationMs": s.duration_ms,
                        });
                        if let (Some(e), Some(obj)) = (&s.error, o.as_object_mut()) {
                            obj.insert("error".into(), json!(e));
                        }
                        o
                    })
                    .collect(),
            ),
        );
        m.insert("metrics".into(), self.metrics.clone());
        m.insert("failedAgents".into(), json!(self.failed_agents()));
        if let Some(e) = &self.escalation {
            m.insert("escalation".into(), e.clone());
        }
        if let Some(f) = &self.fallback {
            m.insert("fallback".into(), f.clone());
        }
        m.insert(
            "warnings".into(),
            Json::Array(
                self.warnings
                    .iter()
                    .map(|(c, msg)| json!({"code": c, "message": msg}))
                    .collect(),
            ),
        );
        m.insert(
            "error".into(),
            self.error.as_ref().map_or(Json::Null, |e| {
                let mut o = json!({"code": e.code, "message": e.message});
                if let Some(obj) = o.as_object_mut() {
                    if let Some(n) = &e.node {
                        obj.insert("node".into(), json!(n));
                    }
                    if let Some((s, en)) = e.span {
                        obj.insert("span".into(), json!([s, en]));
                    }
                }
                o
            }),
        );
        Json::Object(m)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// RFC 3339 (UTC, milliseconds) of a time in ms since the epoch.
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_record_reads_back_as_it_was_written() {
        let r = AgentResult {
            agent_id: "a1".into(),
            agent_name: "Alpha".into(),
            capabilities: vec!["vote".into()],
            expertise: 0.9,
            result: json!("yes"),
            confidence: 0.8,
            reasoning: Some("because".into()),
            timestamp: 17,
            latency_ms: 4,
            uncertainties: Some(json!(["u"])),
            metadata: Some(json!({"m": 1})),
            error: Some("late".into()),
            status: CallStatus::TimedOut,
            step: Some("s1".into()),
            attempts: 3,
            seq: 2,
        };
        assert_eq!(AgentResult::from_json(&r.to_json(), 2), r);
        // The one fallback rule: id from the name, then the place in the list; an error
        // without a status word is a failure.
        let named = AgentResult::from_json(&json!({"agentName": "n", "error": "boom"}), 0);
        assert_eq!(
            (named.agent_id.as_str(), named.status),
            ("n", CallStatus::Failed)
        );
        let bare = AgentResult::from_json(&json!({"result": 1, "confidence": 0.5}), 4);
        assert_eq!(
            (bare.agent_id.as_str(), bare.status),
            ("agent-5", CallStatus::Ok)
        );
    }

    #[test]
    fn an_execution_record_reads_back_as_it_was_written() {
        let agent = AgentResult::from_json(
            &json!({"agentName": "a", "result": "x", "confidence": 0.5}),
            0,
        );
        let rec = ExecutionRecord {
            id: "e1".into(),
            pattern: json!({"name": "p", "version": "1.0.0"}),
            status: RunStatus::Escalated,
            trigger: json!({"kind": "manual"}),
            started_at: rfc3339(0),
            ended_at: rfc3339(5),
            duration_ms: 5,
            input: json!({"q": 1}),
            result: Some((json!("x"), 0.5)),
            agent_results: vec![agent],
            steps: vec![StepRecord {
                id: "s".into(),
                status: "failed".into(),
                confidence: 0.25,
                attempts: 2,
                duration_ms: 3,
                error: Some("no".into()),
            }],
            metrics: json!({"agentCalls": 1}),
            escalation: Some(json!({"target": "human", "reason": "low"})),
            fallback: Some(json!({"reason": "r", "action": "default"})),
            warnings: vec![("prism::run::agent".into(), "w".into())],
            error: Some(RunError {
                code: "prism::runtime".into(),
                message: "m".into(),
                node: Some("n".into()),
                span: Some((1, 4)),
            }),
        };
        assert_eq!(ExecutionRecord::from_json(&rec.to_json()), Some(rec));
        assert_eq!(ExecutionRecord::from_json(&json!({"id": "x"})), None);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
