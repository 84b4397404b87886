//! Between Prism's JSON agent protocol and the Parallax messages: JSON values and
//! `google.protobuf.Struct`, a Prism request as an `AgentRequest` (or a gateway
//! `TaskRequest`), a `ConfidenceResult` (or `TaskResult`) as an agent answer, and gRPC
//! statuses as agent errors.

use std::collections::HashMap;
use std::time::Duration;

use prism_agents::protocol::clamp;
use prism_agents::{AgentAnswer, AgentError, AgentRequest};
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

use crate::proto::confidence as pc;
use crate::proto::gateway as pg;

/// How much of a bad `value_json` an error message quotes.
const EXCERPT: usize = 200;

/// A JSON value as a protobuf `Value`.
pub fn to_value(json: &Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        Json::Object(m) => Kind::StructValue(to_struct(m)),
    };
    Value { kind: Some(kind) }
}

/// A JSON object as a protobuf `Struct`.
pub fn to_struct(map: &Map<String, Json>) -> Struct {
    Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
    }
}

/// A protobuf `Value` as JSON (whole numbers come back as integers).
pub fn from_value(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => from_struct(s),
    }
}

/// A protobuf `Struct` as a JSON object (keys sorted: a `Struct` has no order).
pub fn from_struct(s: &Struct) -> Json {
    let mut keys: Vec<&String> = s.fields.keys().collect();
    keys.sort();
    Json::Object(
        keys.into_iter()
            .map(|k| (k.clone(), from_value(&s.fields[k])))
            .collect(),
    )
}

fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Json::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// The request's `data` as the `Struct` an SDK agent reads: an object as it is, any other
/// value as `{"value": …}`.
pub fn request_data(request: &AgentRequest) -> Struct {
    match &request.data {
        Json::Object(m) => to_struct(m),
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other.clone());
            to_struct(&m)
        }
    }
}

/// The flat string context of a request: the protocol, the pattern's version, the step and
/// role, and each non-null entry of the request's `context` (objects as JSON text).
pub fn request_context(request: &AgentRequest) -> HashMap<String, String> {
    let mut out = HashMap::new();
    out.insert("protocol".to_string(), request.protocol.to_string());
    if let Some(v) = request.pattern.get("version").and_then(Json::as_str) {
        out.insert("patternVersion".into(), v.to_string());
    }
    if let Some(step) = &request.step {
        out.insert("step".into(), step.clone());
    }
    if let Some(role) = &request.role {
        out.insert("role".into(), role.clone());
    }
    if let Some(ctx) = request.context.as_object() {
        for (k, v) in ctx {
            match v {
                Json::Null => {}
                Json::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                other => {
                    out.insert(k.clone(), other.to_string());
                }
            }
        }
    }
    if request.input != request.data {
        out.insert("input".into(), request.input.to_string());
    }
    out
}

/// Milliseconds as the `int32` the messages carry.
fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// The request's pattern name.
fn pattern_name(request: &AgentRequest) -> String {
    request
        .pattern
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A Prism request as `parallax.confidence.AgentRequest`.
pub fn agent_request(request: &AgentRequest, deadline: Duration) -> pc::AgentRequest {
    pc::AgentRequest {
        task_id: request.id.clone(),
        task_description: request.task.clone(),
        data: Some(request_data(request)),
        context: request_context(request),
        timeout_ms: millis(deadline),
        pattern_name: pattern_name(request),
    }
}

/// A Prism request as the gateway's `TaskRequest`.
pub fn task_request(request: &AgentRequest, deadline: Duration) -> pg::TaskRequest {
    pg::TaskRequest {
        task_id: request.id.clone(),
        task_description: request.task.clone(),
        data: Some(request_data(request)),
        context: request_context(request),
        timeout_ms: millis(deadline),
        pattern_name: pattern_name(request),
    }
}

/// The parts of an answer both result messages carry.
pub struct Answer<'a> {
    /// The value as JSON text.
    pub value_json: &'a str,
    /// The confidence.
    pub confidence: f64,
    /// Reasoning (empty: none).
    pub reasoning: &'a str,
    /// Uncertainties.
    pub uncertainties: &'a [String],
    /// Metadata.
    pub metadata: &'a HashMap<String, String>,
}

impl<'a> From<&'a pc::ConfidenceResult> for Answer<'a> {
    fn from(r: &'a pc::ConfidenceResult) -> Self {
        Answer {
            value_json: &r.value_json,
            confidence: r.confidence,
            reasoning: &r.reasoning,
            uncertainties: &r.uncertainties,
            metadata: &r.metadata,
        }
    }
}

impl<'a> From<&'a pg::TaskResult> for Answer<'a> {
    fn from(r: &'a pg::TaskResult) -> Self {
        Answer {
            value_json: &r.value_json,
            confidence: r.confidence,
            reasoning: &r.reasoning,
            uncertainties: &[],
            metadata: &r.metadata,
        }
    }
}

/// Reads an answer as Prism's agent answer: `value_json` must be JSON; a confidence outside
/// [0, 1] is clamped with a warning, one that is not a number is a protocol error.
pub fn answer(a: Answer<'_>) -> Result<AgentAnswer, AgentError> {
    if a.value_json.trim().is_empty() {
        return Err(AgentError::Protocol(
            "the answer's `value_json` is empty (the agent returned no value)".into(),
        ));
    }
    let value: Json = serde_json::from_str(a.value_json).map_err(|e| {
        AgentError::Protocol(format!(
            "the answer's `value_json` is not JSON ({e}): {}",
            excerpt(a.value_json)
        ))
    })?;
    if !a.confidence.is_finite() {
        return Err(AgentError::Protocol(format!(
            "the answer's confidence is not a number ({})",
            a.confidence
        )));
    }
    let confidence = clamp(a.confidence);
    let mut warnings = Vec::new();
    if confidence != a.confidence {
        warnings.push(format!(
            "confidence {} clamped to {confidence}",
            a.confidence
        ));
    }
    let metadata = (!a.metadata.is_empty()).then(|| {
        let mut keys: Vec<&String> = a.metadata.keys().collect();
        keys.sort();
        Json::Object(
            keys.into_iter()
                .map(|k| (k.clone(), Json::String(a.metadata[k].clone())))
                .collect(),
        )
    });
    Ok(AgentAnswer {
        value,
        confidence,
        reasoning: (!a.reasoning.is_empty()).then(|| a.reasoning.to_string()),
        uncertainties: (!a.uncertainties.is_empty()).then(|| {
            Json::Array(
                a.uncertainties
                    .iter()
                    .map(|u| Json::String(u.clone()))
                    .collect(),
            )
        }),
        metadata,
        warnings,
    })
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() <= EXCERPT {
        return t.to_string();
    }
    let cut: String = t.chars().take(EXCERPT).collect();
    format!("{cut}…")
}

/// A gRPC status from the agent at `address` as an agent error: unavailable (and aborted,
/// resource exhausted, or a connection that broke mid-call) is a transport error, retried; a
/// deadline a timeout (also tonic's own deadline on this side, which it reports as
/// `CANCELLED`); `INTERNAL` (an SDK agent whose `analyze` threw) an error answer, not
/// retried; anything else a failure.
pub fn status_error(status: &tonic::Status, address: &str, timeout_ms: u64) -> AgentError {
    use tonic::Code;
    let message = status_text(status);
    // A status made on this side from an I/O error (the agent died, the connection reset)
    // carries that error; one the agent sent carries none.
    let broken = status.code() == Code::Unknown && std::error::Error::source(status).is_some();
    // tonic enforces the deadline a request carries and words its expiry as `TimeoutExpired`.
    let expired = status.code() == Code::Cancelled
        && status.message() == tonic::TimeoutExpired(()).to_string();
    match status.code() {
        Code::DeadlineExceeded => AgentError::Timeout(timeout_ms),
        Code::Cancelled if expired => AgentError::Timeout(timeout_ms),
        Code::Unavailable | Code::Aborted | Code::ResourceExhausted => {
            AgentError::Transport(format!(
                "gRPC {} from {address}: {message}",
                code_name(status.code())
            ))
        }
        Code::Unknown if broken => AgentError::Transport(format!(
            "the connection to {address} broke mid-call: {message}"
        )),
        Code::Internal => AgentError::Answered(format!("{message} (gRPC INTERNAL from {address})")),
        code => AgentError::Failed(format!(
            "gRPC {} from {address}: {message}",
            code_name(code)
        )),
    }
}

/// A status's message with the causes behind it (connection refused, reset, …).
fn status_text(status: &tonic::Status) -> String {
    let mut parts = vec![status.message().to_string()];
    let mut src = std::error::Error::source(status);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    // tonic words every transport failure "transport error"; the causes say more.
    let mut text = String::new();
    for part in parts {
        if part.is_empty() || part == "transport error" || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    if text.is_empty() {
        "no message".to_string()
    } else {
        text
    }
}

/// The upper-case name of a status code, as gRPC documents it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_survives_a_struct() {
        let v = json!({"text": "great", "n": 3, "x": 1.5, "ok": true, "none": null,
                       "list": [1, "a", {"b": false}], "deep": {"k": [[]]}});
        let Json::Object(m) = &v else { unreachable!() };
        assert_eq!(from_struct(&to_struct(m)), v);
    }

    #[test]
    fn requests_carry_data_context_and_deadline() {
        let mut r = AgentRequest::new("run-1", "classify", json!({"text": "great"}));
        r.pattern = json!({"name": "vote", "version": "1.2.0"});
        r.step = Some("first".into());
        r.context = json!({"executionId": "e-1", "previous": {"v": 1}, "thread": null});
        let p = agent_request(&r, Duration::from_millis(1500));
        assert_eq!(p.task_id, "run-1");
        assert_eq!(p.task_description, "classify");
        assert_eq!(p.timeout_ms, 1500);
        assert_eq!(p.pattern_name, "vote");
        assert_eq!(
            p.data.as_ref().map(from_struct),
            Some(json!({"text": "great"}))
        );
        assert_eq!(
            p.context.get("executionId").map(String::as_str),
            Some("e-1")
        );
        assert_eq!(
            p.context.get("previous").map(String::as_str),
            Some("{\"v\":1}")
        );
        assert_eq!(p.context.get("step").map(String::as_str), Some("first"));
        assert_eq!(
            p.context.get("patternVersion").map(String::as_str),
            Some("1.2.0")
        );
        assert!(!p.context.contains_key("thread"));
        let r = AgentRequest::new("2", "t", json!({"data": "plain text"}));
        let p = task_request(&r, Duration::from_secs(1));
        assert_eq!(
            p.data.as_ref().map(from_struct),
            Some(json!({"value": "plain text"}))
        );
        assert_eq!(
            p.context.get("input").map(String::as_str),
            Some("{\"data\":\"plain text\"}")
        );
    }

    #[test]
    fn answers_are_read_like_every_other_kind() {
        let meta = HashMap::from([("timestamp".to_string(), "17".to_string())]);
        let r = pc::ConfidenceResult {
            value_json: "{\"label\":\"positive\"}".into(),
            confidence: 0.9,
            reasoning: "looked".into(),
            uncertainties: vec!["sarcasm".into()],
            metadata: meta,
            ..Default::default()
        };
        let a = answer(Answer::from(&r)).ok();
        assert_eq!(
            a.as_ref().map(|a| (&a.value, a.confidence)),
            Some((&json!({"label": "positive"}), 0.9))
        );
        assert_eq!(
            a.as_ref().and_then(|a| a.reasoning.clone()),
            Some("looked".into())
        );
        assert_eq!(
            a.as_ref().and_then(|a| a.uncertainties.clone()),
            Some(json!(["sarcasm"]))
        );
        assert_eq!(a.and_then(|a| a.metadata), Some(json!({"timestamp": "17"})));
        let mut bad = r.clone();
        bad.value_json = "positive".into();
        assert!(
            matches!(answer(Answer::from(&bad)), Err(AgentError::Protocol(m)) if m.contains("not JSON"))
        );
        bad.value_json = String::new();
        assert!(
            matches!(answer(Answer::from(&bad)), Err(AgentError::Protocol(m)) if m.contains("empty"))
        );
        let mut high = r.clone();
        high.confidence = 1.5;
        let a = answer(Answer::from(&high)).ok();
        assert_eq!(a.as_ref().map(|a| a.confidence), Some(1.0));
        assert_eq!(a.map(|a| a.warnings.len()), Some(1));
        let mut nan = r;
        nan.confidence = f64::NAN;
        assert!(matches!(
            answer(Answer::from(&nan)),
            Err(AgentError::Protocol(_))
        ));
    }

    #[test]
    fn statuses_become_agent_errors() {
        let a = "127.0.0.1:1";
        let e = status_error(&tonic::Status::unavailable("connection refused"), a, 100);
        assert!(e.is_retryable());
        assert_eq!(
            e.to_string(),
            "transport error: gRPC UNAVAILABLE from 127.0.0.1:1: connection refused"
        );
        let e = status_error(&tonic::Status::deadline_exceeded("late"), a, 100);
        assert_eq!(e, AgentError::Timeout(100));
        let expired = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(status_error(&expired, a, 100), AgentError::Timeout(100));
        let e = status_error(&tonic::Status::cancelled("the agent stopped"), a, 100);
        assert_eq!(
            e.to_string(),
            "gRPC CANCELLED from 127.0.0.1:1: the agent stopped"
        );
        let e = status_error(&tonic::Status::internal("model crashed"), a, 100);
        assert!(!e.is_retryable());
        assert_eq!(e.kind(), "agent");
        let broken = tonic::Status::from_error(Box::new(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "stream closed because of a broken pipe",
        )));
        let e = status_error(&broken, a, 100);
        assert!(e.is_retryable());
        assert!(
            e.to_string()
                .starts_with("transport error: the connection to 127.0.0.1:1 broke mid-call: "),
            "{e}"
        );
        let sent = status_error(&tonic::Status::unknown("odd"), a, 100);
        assert_eq!(sent.to_string(), "gRPC UNKNOWN from 127.0.0.1:1: odd");
        let e = status_error(&tonic::Status::unimplemented(""), a, 100);
        assert_eq!(
            e.to_string(),
            "gRPC UNIMPLEMENTED from 127.0.0.1:1: no message"
        );
    }
}
