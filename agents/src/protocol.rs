//! The JSON agent protocol `prism-agent/1` (§6): the request every agent receives and how a
//! response (or a plain-text answer) becomes an [`AgentAnswer`].

use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{AgentError, PROTOCOL};

/// One request to an agent.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AgentRequest {
    /// Always `prism-agent/1`.
    pub protocol: &'static str,
    /// A request id, unique in the run; the response echoes it.
    pub id: String,
    /// The task text.
    pub task: String,
    /// The request input (the pattern input or the step's shaped input).
    pub input: Json,
    /// `input.data`, else the input.
    pub data: Json,
    /// `{name, version}` of the pattern.
    pub pattern: Json,
    /// The step id, if the call belongs to a step.
    pub step: Option<String>,
    /// The org-chart role, if any.
    pub role: Option<String>,
    /// The per-call timeout.
    pub timeout_ms: u64,
    /// `{executionId, previous, thread, workspace, routing}`.
    pub context: Json,
}

impl AgentRequest {
    /// A request with the given id, task and input; `data` is `input.data`, else the input.
    pub fn new(id: impl Into<String>, task: impl Into<String>, input: Json) -> Self {
        let data = input.get("data").cloned().unwrap_or_else(|| input.clone());
        AgentRequest {
            protocol: PROTOCOL,
            id: id.into(),
            task: task.into(),
            input,
            data,
            pattern: json!({}),
            step: None,
            role: None,
            timeout_ms: 30_000,
            context: json!({"executionId": null, "previous": null, "thread": null, "workspace": null, "routing": null}),
        }
    }

    /// The request as JSON.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentAnswer {
    /// The answer's value.
    pub value: Json,
    /// Its confidence in [0, 1].
    pub confidence: f64,
    /// Reasoning, if given.
    pub reasoning: Option<String>,
    /// Uncertainties, if given.
    pub uncertainties: Option<Json>,
    /// Metadata, if given.
    pub metadata: Option<Json>,
    /// Protocol warnings (a clamped confidence, …).
    pub warnings: Vec<String>,
}

impl AgentAnswer {
    /// An answer with a value and confidence.
    pub fn new(value: Json, confidence: f64) -> Self {
        AgentAnswer {
            value,
            confidence,
            ..AgentAnswer::default()
        }
    }
}

/// Reads a protocol response: `value` (or `result`), `confidence` (missing → 0.5, outside
/// [0, 1] → clamped with a warning, not a number → protocol error), `reasoning`,
/// `uncertainties`, `metadata`; an `error` field makes it a failed answer.
pub fn parse_response(body: &Json) -> Result<AgentAnswer, AgentError> {
    let Some(obj) = body.as_object() else {
        return Err(AgentError::Protocol(format!(
            "expected a JSON object, got {}",
            type_word(body)
        )));
    };
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        let msg = match err {
            Json::String(s) => s.clone(),
            Json::Object(m) => m
                .get("message")
                .and_then(Json::as_str)
                .map_or_else(|| err.to_string(), str::to_string),
            other => other.to_string(),
        };
        return Err(AgentError::Answered(msg));
    }
    let value = match (obj.get("value"), obj.get("result")) {
        (Some(v), _) => v.clone(),
        (None, Some(r)) => r.clone(),
        (None, None) => {
            return Err(AgentError::Protocol(
                "the response has neither `value` nor `result`".into(),
            ));
        }
    };
    let mut warnings = Vec::new();
    let confidence = match obj.get("confidence") {
        None | Some(Json::Null) => 0.5,
        Some(Json::Number(n)) => {
            let c = n.as_f64().unwrap_or(0.5);
            let clamped = clamp(c);
            if clamped != c {
                warnings.push(format!("confidence {c} clamped to {clamped}"));
            }
            clamped
        }
        Some(other) => {
            return Err(AgentError::Protocol(format!(
                "`confidence` must be a number, got {}",
                type_word(other)
            )));
        }
    };
    let reasoning = obj.get("reasoning").and_then(|r| match r {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    });
    Ok(AgentAnswer {
        value,
        confidence,
        reasoning,
        uncertainties: obj.get("uncertainties").filter(|v| !v.is_null()).cloned(),
        metadata: obj.get("metadata").filter(|v| !v.is_null()).cloned(),
        warnings,
    })
}

/// Reads a text answer: a JSON response if the text is one, else the text is the value and
/// its last `CONFIDENCE: x` line (removed from the value) gives the confidence (else 0.5).
pub fn parse_text_answer(text: &str) -> Result<AgentAnswer, AgentError> {
    let trimmed = text.trim();
    if let Ok(j) = serde_json::from_str::<Json>(trimmed)
        && j.is_object()
        && (j.get("value").is_some() || j.get("result").is_some() || j.get("error").is_some())
    {
        return parse_response(&j);
    }
    let (body, confidence) = confidence_line(trimmed);
    Ok(AgentAnswer::new(
        Json::String(body),
        confidence.map_or(0.5, clamp),
    ))
}

/// Splits off the last `CONFIDENCE: x` line of a text.
pub fn confidence_line(text: &str) -> (String, Option<f64>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate().rev() {
        let l = line.trim();
        let upper = l.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("CONFIDENCE") {
            let rest = rest.trim_start_matches([':', ' ', '=']).trim();
            let number = rest.trim_end_matches('%');
            if let Ok(mut c) = number.parse::<f64>() {
                if rest.ends_with('%') || c > 1.0 {
                    c /= 100.0;
                }
                let mut kept: Vec<&str> = lines[..i].to_vec();
                kept.extend_from_slice(&lines[i + 1..]);
                return (kept.join("\n").trim().to_string(), Some(c));
            }
        }
    }
    (text.to_string(), None)
}

/// Clamps a confidence to [0, 1]; NaN becomes 0.
pub fn clamp(c: f64) -> f64 {
    if c.is_nan() { 0.0 } else { c.clamp(0.0, 1.0) }
}

fn type_word(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_follow_the_protocol() {
        let a = parse_response(&json!({"id": "1", "value": "yes", "confidence": 0.9})).ok();
        assert_eq!(
            a.map(|a| (a.value, a.confidence)),
            Some((json!("yes"), 0.9))
        );
        let a = parse_response(&json!({"result": 3})).ok();
        assert_eq!(a.map(|a| a.confidence), Some(0.5));
        let a = parse_response(&json!({"value": 1, "confidence": 1.5})).ok();
        assert_eq!(a.as_ref().map(|a| a.confidence), Some(1.0));
        assert_eq!(a.map(|a| a.warnings.len()), Some(1));
        assert!(matches!(
            parse_response(&json!({"value": 1, "confidence": "high"})),
            Err(AgentError::Protocol(_))
        ));
        assert!(matches!(
            parse_response(&json!({"value": 1, "error": "no"})),
            Err(AgentError::Answered(m)) if m == "no"
        ));
        assert!(matches!(
            parse_response(&json!([1])),
            Err(AgentError::Protocol(_))
        ));
    }

    #[test]
    fn text_answers_read_a_confidence_line() {
        let a = parse_text_answer("Paris is the capital.\nCONFIDENCE: 0.85\n").ok();
        assert_eq!(
            a.map(|a| (a.value, a.confidence)),
            Some((json!("Paris is the capital."), 0.85))
        );
        let a = parse_text_answer("just text").ok();
        assert_eq!(a.map(|a| a.confidence), Some(0.5));
        let a = parse_text_answer("{\"value\": 2, \"confidence\": 0.4}").ok();
        assert_eq!(a.map(|a| a.value), Some(json!(2)));
    }
}
