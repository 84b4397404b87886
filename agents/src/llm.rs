//! LLM agents: an OpenAI-compatible `POST {endpoint}/chat/completions`, asked to answer with
//! `{"value", "confidence", "reasoning"}`. When the answer is not that JSON, the text is the
//! value and the confidence comes from the tokens' log-probabilities, a `CONFIDENCE:` line, or
//! 0.5.

use std::time::Duration;

use serde_json::{Value as Json, json};

use super::http::transport;
use super::protocol::{AgentAnswer, AgentRequest, clamp, confidence_line, parse_response};
use super::{Agent, AgentError, AgentFuture, AgentInfo, excerpt};

const SYSTEM_PROMPT: &str = "You are an agent in a Prism coordination pattern. Answer with one JSON object \
{\"value\": <your answer>, \"confidence\": <a number from 0 to 1>, \"reasoning\": \"<one sentence>\"} and nothing else.";

/// Settings of an LLM agent.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSpec {
    /// The API base, e.g. `http://127.0.0.1:8080/v1`.
    pub endpoint: String,
    /// The model name.
    pub model: String,
    /// The API key, if any (from the variable named by `apiKeyEnv`).
    pub api_key: Option<String>,
    /// The variable `apiKeyEnv` names, if any (named in messages when a call is refused).
    pub api_key_env: Option<String>,
    /// Sampling temperature (0).
    pub temperature: f64,
}

/// An agent backed by an OpenAI-compatible chat endpoint.
#[derive(Debug, Clone)]
pub struct LlmAgent {
    info: AgentInfo,
    spec: LlmSpec,
    client: reqwest::Client,
}

impl LlmAgent {
    /// An LLM agent sharing `client`.
    pub fn new(info: AgentInfo, spec: LlmSpec, client: reqwest::Client) -> Self {
        LlmAgent { info, spec, client }
    }

    /// Sends one prompt and reads the answer (for `llm()` in scripts and for `analyze`).
    pub async fn complete(&self, prompt: &str, timeout_ms: u64) -> Result<AgentAnswer, AgentError> {
        let body = json!({
            "model": self.spec.model,
            "temperature": self.spec.temperature,
            "logprobs": true,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt},
            ],
        });
        let url = format!(
            "{}/chat/completions",
            self.spec.endpoint.trim_end_matches('/')
        );
        let mut req = self
            .client
            .post(&url)
            .timeout(Duration::from_millis(timeout_ms.max(1)))
            .json(&body);
        if let Some(key) = &self.spec.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                AgentError::Timeout(timeout_ms)
            } else {
                transport(e)
            }
        })?;
        let status = resp.status();
        let limit = if status.is_success() {
            crate::DEFAULT_MAX_ANSWER_BYTES
        } else {
            64 << 10
        };
        let text = super::http::read_body(resp, limit)
            .await
            .map_err(|e| match e {
                super::http::BodyError::Http(e) => transport(e),
                super::http::BodyError::TooLong => AgentError::Protocol(format!(
                    "the completion is longer than {} bytes",
                    crate::DEFAULT_MAX_ANSWER_BYTES
                )),
            })?;
        if !status.is_success() {
            return Err(AgentError::Http {
                status: status.as_u16(),
                url,
                body: excerpt(&text, 200),
                hint: self.hint(status.as_u16()),
            });
        }
        let json: Json = serde_json::from_str(&text).map_err(|e| {
            AgentError::Protocol(format!(
                "the completion is not JSON ({e}): {}",
                excerpt(&text, 200)
            ))
        })?;
        read_completion(&json)
    }
}

impl LlmAgent {
    /// The likely cause of a refused call: the API key (a missing variable above all) for 401
    /// and 403, the endpoint for 404.
    fn hint(&self, status: u16) -> Option<String> {
        let var = self.spec.api_key_env.as_deref();
        match (status, var, &self.spec.api_key) {
            (401 | 403, Some(v), None) => Some(format!(
                "the environment variable `{v}` that `llm.apiKeyEnv` names is not set, so no API key was sent"
            )),
            (401 | 403, Some(v), Some(_)) => Some(format!(
                "the endpoint refused the API key in `{v}` (`llm.apiKeyEnv`)"
            )),
            (401 | 403, None, _) => Some(
                "no API key was sent: name the variable that holds it with `llm.apiKeyEnv`".into(),
            ),
            (404, _, _) => Some(
                "`llm.endpoint` is the API base that `/chat/completions` is under, e.g. `https://api.openai.com/v1`"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl Agent for LlmAgent {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(async move {
            let mut prompt = format!("Task: {}\n", request.task);
            let data = serde_json::to_string_pretty(&request.data).unwrap_or_default();
            prompt.push_str(&format!("Data:\n{data}\n"));
            if let Some(prev) = request.context.get("previous").filter(|p| !p.is_null()) {
                prompt.push_str(&format!("Previous answer:\n{prev}\n"));
            }
            self.complete(&prompt, request.timeout_ms).await
        })
    }
}

/// Reads an OpenAI chat completion into an answer.
pub fn read_completion(json: &Json) -> Result<AgentAnswer, AgentError> {
    let choice = json
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| AgentError::Protocol("the completion has no `choices`".into()))?;
    let content = choice
        .pointer("/message/content")
        .and_then(Json::as_str)
        .ok_or_else(|| AgentError::Protocol("the completion has no message content".into()))?;
    if let Some(structured) = structured(content) {
        return parse_response(&structured);
    }
    let (text, line) = confidence_line(content.trim());
    let confidence = logprob_confidence(choice)
        .or(line.map(clamp))
        .unwrap_or(0.5);
    Ok(AgentAnswer {
        value: Json::String(text),
        confidence,
        ..AgentAnswer::default()
    })
}

/// The `{"value", …}` object in a reply, also inside a fenced code block.
fn structured(content: &str) -> Option<Json> {
    let t = content.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .unwrap_or(t)
        .trim();
    let j: Json = serde_json::from_str(t).ok()?;
    (j.is_object() && (j.get("value").is_some() || j.get("result").is_some())).then_some(j)
}

/// exp(mean token log-probability), when the reply has log-probabilities.
fn logprob_confidence(choice: &Json) -> Option<f64> {
    let tokens = choice.pointer("/logprobs/content")?.as_array()?;
    let lps: Vec<f64> = tokens
        .iter()
        .filter_map(|t| t.get("logprob").and_then(Json::as_f64))
        .collect();
    if lps.is_empty() {
        return None;
    }
    let mean = lps.iter().sum::<f64>() / lps.len() as f64;
    Some(clamp(mean.exp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_give_values_and_confidences() {
        let structured = json!({"choices": [{"message": {"content": "{\"value\": \"B\", \"confidence\": 0.7}"}}]});
        assert_eq!(
            read_completion(&structured).map(|a| (a.value, a.confidence)),
            Ok((json!("B"), 0.7))
        );
        let with_lp = json!({"choices": [{"message": {"content": "yes"}, "logprobs": {"content": [{"token": "yes", "logprob": -0.1053605}]}}]});
        let c = read_completion(&with_lp)
            .map(|a| a.confidence)
            .unwrap_or(0.0);
        assert!((c - 0.9).abs() < 1e-6);
        let line = json!({"choices": [{"message": {"content": "It is red.\nCONFIDENCE: 0.6"}}]});
        assert_eq!(
            read_completion(&line).map(|a| (a.value, a.confidence)),
            Ok((json!("It is red."), 0.6))
        );
        assert!(read_completion(&json!({"choices": []})).is_err());
    }
}
