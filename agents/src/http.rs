//! HTTP agents: `POST {url}/analyze` with the JSON request of §6, `GET {url}/health`.
//! Non-2xx answers, resets and non-JSON bodies become failed answers with the status and a
//! body excerpt; dropping the call's future aborts the request.

use std::time::Duration;

use serde_json::Value as Json;

use super::protocol::{AgentAnswer, AgentRequest, parse_response};
use super::{Agent, AgentError, AgentFuture, AgentInfo, excerpt};

/// How much of a body an error message quotes.
const EXCERPT: usize = 200;

/// An agent reached over HTTP.
#[derive(Debug, Clone)]
pub struct HttpAgent {
    info: AgentInfo,
    url: String,
    client: reqwest::Client,
}

impl HttpAgent {
    /// An agent at `url` (its `/analyze` and `/health` endpoints), sharing `client`.
    pub fn new(info: AgentInfo, url: &str, client: reqwest::Client) -> Self {
        HttpAgent {
            info,
            url: url.trim_end_matches('/').to_string(),
            client,
        }
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
        let body = resp.text().await.unwrap_or_default();
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
        let body = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                AgentError::Timeout(request.timeout_ms)
            } else {
                transport(e)
            }
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
