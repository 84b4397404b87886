//! HTTP agents: `POST {url}/analyze` with the JSON request of §6, `GET {url}/health`.
//! Non-2xx answers, resets and non-JSON bodies become failed answers with the status and a
//! body excerpt; dropping the call's future aborts the request.

use std::time::Duration;

use serde_json::Value as Json;

use super::protocol::{AgentAnswer, AgentRequest, parse_response};
use super::{Agent, AgentError, AgentFuture, AgentInfo, DEFAULT_MAX_ANSWER_BYTES, excerpt};

/// How much of a body an error message quotes.
const EXCERPT: usize = 200;

/// An agent reached over HTTP.
#[derive(Debug, Clone)]
pub struct HttpAgent {
    info: AgentInfo,
    url: String,
    client: reqwest::Client,
    max_body: usize,
}

impl HttpAgent {
    /// An agent at `url` (its `/analyze` and `/health` endpoints), sharing `client`.
    pub fn new(info: AgentInfo, url: &str, client: reqwest::Client) -> Self {
        HttpAgent {
            info,
            url: url.trim_end_matches('/').to_string(),
            client,
            max_body: DEFAULT_MAX_ANSWER_BYTES,
        }
    }

    /// This agent with answers of at most `bytes` (`maxAnswerBytes`): a longer body fails the
    /// call as soon as it is seen.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The agent's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET {url}/health`: Ok when it answers 2xx.
    pub async fn health(&self) -> Result<(), AgentError> {
        let url = format!("{}/health", self.url);
        let resp = self.client.get(&url).send().await.map_err(transport)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_body(resp, EXCERPT_BODY).await.unwrap_or_default();
        Err(AgentError::Http {
            status: status.as_u16(),
            url,
            body: excerpt(&body, EXCERPT),
            hint: None,
        })
    }

    async fn call(&self, request: &AgentRequest) -> Result<AgentAnswer, AgentError> {
        let url = format!("{}/analyze", self.url);
        let resp = self
            .client
            .post(&url)
            .timeout(Duration::from_millis(request.timeout_ms.max(1)))
            .json(request)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    AgentError::Timeout(request.timeout_ms)
                } else {
                    transport(e)
                }
            })?;
        let status = resp.status();
        let limit = if status.is_success() {
            self.max_body
        } else {
            EXCERPT_BODY
        };
        let body = read_body(resp, limit).await.map_err(|e| match e {
            BodyError::Http(e) if e.is_timeout() => AgentError::Timeout(request.timeout_ms),
            BodyError::Http(e) => transport(e),
            BodyError::TooLong => AgentError::Protocol(format!(
                "the body is longer than {} bytes (`maxAnswerBytes`)",
                self.max_body
            )),
        })?;
        if !status.is_success() {
            return Err(AgentError::Http {
                status: status.as_u16(),
                url,
                body: excerpt(&body, EXCERPT),
                hint: (status.as_u16() == 404)
                    .then(|| "an agent's `url` is the base its `/analyze` is under".to_string()),
            });
        }
        let json: Json = serde_json::from_str(&body).map_err(|e| {
            AgentError::Protocol(format!(
                "the body is not JSON ({e}): {}",
                excerpt(&body, EXCERPT)
            ))
        })?;
        parse_response(&json)
    }
}

impl Agent for HttpAgent {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(self.call(request))
    }

    fn health(&self) -> futures::future::BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(HttpAgent::health(self))
    }
}

/// How much of an error body is read.
const EXCERPT_BODY: usize = 64 << 10;

pub(crate) enum BodyError {
    Http(reqwest::Error),
    TooLong,
}

/// The body of `resp`, read chunk by chunk up to `max` bytes. An error answer is cut at `max`;
/// a successful one longer than that is an error.
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<String, BodyError> {
    let cut = !resp.status().is_success();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > max {
            if cut {
                body.extend_from_slice(&chunk[..max - body.len()]);
                break;
            }
            return Err(BodyError::TooLong);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// A transport error with its causes.
pub(crate) fn transport(e: reqwest::Error) -> AgentError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    AgentError::Transport(msg)
}

/// The HTTP client shared by the agents of a run.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}
