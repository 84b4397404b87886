//! gRPC agents: a Parallax `ConfidenceAgent` service called with `Analyze` for each task,
//! `GetCapabilities` when the agents file lists no capabilities, and `HealthCheck` when a
//! pattern asks for healthy agents. Failures become the same agent errors as every other
//! kind's (unavailable: a transport error, retried; a deadline: a timeout; a bad `value_json`:
//! a protocol error).

use std::sync::OnceLock;
use std::time::Duration;

use futures::future::BoxFuture;
use prism_agents::{Agent, AgentAnswer, AgentError, AgentFuture, AgentInfo, AgentRequest};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::convert::{self, Answer};
use crate::error::TargetError;
use crate::proto::confidence::confidence_agent_client::ConfidenceAgentClient;
use crate::proto::confidence::health::Status as HealthStatus;

/// How long connecting, `GetCapabilities` and `HealthCheck` may take.
const CONTROL_DEADLINE: Duration = Duration::from_secs(5);

/// Where an agent listens and how to reach it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// `host:port`, or a URL `http://host:port` / `https://host:port`.
    pub address: String,
    /// TLS, when the agent wants it (`https://` implies it).
    pub tls: Option<Tls>,
    /// The longest a call may take (the pattern's `taskTimeout` still applies when shorter).
    pub timeout: Option<Duration>,
}

/// TLS settings of a target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tls {
    /// A PEM certificate authority to trust instead of the public roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The name the certificate must carry (default: the address's host).
    pub domain: Option<String>,
}

impl Target {
    /// A plain-text target at `address`.
    pub fn new(address: impl Into<String>) -> Self {
        Target {
            address: address.into(),
            ..Target::default()
        }
    }

    /// The endpoint (no connection yet).
    fn endpoint(&self) -> Result<Endpoint, TargetError> {
        let tls = self
            .tls
            .clone()
            .or_else(|| self.address.starts_with("https://").then(Tls::default));
        let uri = if self.address.contains("://") {
            self.address.trim_end_matches('/').to_string()
        } else if tls.is_some() {
            format!("https://{}", self.address)
        } else {
            format!("http://{}", self.address)
        };
        let bad = |why: String| TargetError::Address {
            address: self.address.clone(),
            why,
        };
        let mut endpoint = Endpoint::from_shared(uri)
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(CONTROL_DEADLINE)
            .tcp_nodelay(true);
        if let Some(tls) = tls {
            let mut config = ClientTlsConfig::new();
            config = match &tls.ca_pem {
                Some(pem) => config.ca_certificate(Certificate::from_pem(pem)),
                None => config.with_webpki_roots(),
            };
            if let Some(d) = &tls.domain {
                config = config.domain_name(d.clone());
            }
            endpoint = endpoint.tls_config(config).map_err(|e| TargetError::Tls {
                address: self.address.clone(),
                why: e.to_string(),
            })?;
        }
        Ok(endpoint)
    }
}

/// An agent serving `parallax.confidence.ConfidenceAgent`.
pub struct GrpcAgent {
    declared: AgentInfo,
    /// The declared data with the capabilities `GetCapabilities` gave, once asked.
    resolved: OnceLock<AgentInfo>,
    address: String,
    endpoint: Endpoint,
    /// Made on first use (inside the async runtime); calls share its HTTP/2 connection.
    channel: tokio::sync::OnceCell<Channel>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for GrpcAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcAgent")
            .field("name", &self.info().name)
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GrpcAgent {
    /// An agent at `target`; nothing is connected until the first call.
    pub fn new(info: AgentInfo, target: &Target) -> Result<GrpcAgent, TargetError> {
        Ok(GrpcAgent {
            declared: info,
            resolved: OnceLock::new(),
            address: target.address.clone(),
            endpoint: target.endpoint()?,
            channel: tokio::sync::OnceCell::new(),
            timeout: target.timeout,
        })
    }

    /// The address as written.
    pub fn address(&self) -> &str {
        &self.address
    }

    async fn client(&self) -> ConfidenceAgentClient<Channel> {
        let channel = self
            .channel
            .get_or_init(|| async { self.endpoint.connect_lazy() })
            .await;
        ConfidenceAgentClient::new(channel.clone())
    }

    /// `GetCapabilities`: the capabilities and expertise the agent declares.
    pub async fn capabilities(&self) -> Result<(Vec<String>, Option<f64>), AgentError> {
        let mut request = tonic::Request::new(());
        request.set_timeout(CONTROL_DEADLINE);
        let call = async { self.client().await.get_capabilities(request).await };
        let caps = match tokio::time::timeout(CONTROL_DEADLINE, call).await {
            Err(_) => return Err(AgentError::Timeout(ms(CONTROL_DEADLINE))),
            Ok(r) => r
                .map_err(|s| convert::status_error(&s, &self.address, ms(CONTROL_DEADLINE)))?
                .into_inner(),
        };
        let expertise = Some(caps.expertise_level)
            .filter(|e| e.is_finite() && (0.0..=1.0).contains(e) && *e > 0.0);
        Ok((caps.capabilities, expertise))
    }

    /// `HealthCheck`: Ok when the agent says HEALTHY or DEGRADED.
    pub async fn health_check(&self) -> Result<(), AgentError> {
        let mut request = tonic::Request::new(());
        request.set_timeout(CONTROL_DEADLINE);
        let call = async { self.client().await.health_check(request).await };
        let health = match tokio::time::timeout(CONTROL_DEADLINE, call).await {
            Err(_) => return Err(AgentError::Timeout(ms(CONTROL_DEADLINE))),
            Ok(r) => r
                .map_err(|s| convert::status_error(&s, &self.address, ms(CONTROL_DEADLINE)))?
                .into_inner(),
        };
        match health.status() {
            HealthStatus::Healthy | HealthStatus::Degraded => Ok(()),
            other => Err(AgentError::Failed(format!(
                "HealthCheck at {} says {}{}",
                self.address,
                other.as_str_name(),
                if health.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", health.message)
                }
            ))),
        }
    }

    async fn call(&self, request: &AgentRequest) -> Result<AgentAnswer, AgentError> {
        let mut deadline = Duration::from_millis(request.timeout_ms.max(1));
        if let Some(t) = self.timeout {
            deadline = deadline.min(t);
        }
        let mut message = tonic::Request::new(convert::agent_request(request, deadline));
        message.set_timeout(deadline);
        let call = async { self.client().await.analyze(message).await };
        let result = match tokio::time::timeout(deadline, call).await {
            Err(_) => return Err(AgentError::Timeout(ms(deadline))),
            Ok(r) => r
                .map_err(|s| convert::status_error(&s, &self.address, ms(deadline)))?
                .into_inner(),
        };
        convert::answer(Answer::from(&result))
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Agent for GrpcAgent {
    fn info(&self) -> &AgentInfo {
        self.resolved.get().unwrap_or(&self.declared)
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(self.call(request))
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async {
            let declared = &self.declared;
            if !declared.capabilities.is_empty()
                || declared.any_capability
                || self.resolved.get().is_some()
            {
                return Ok(());
            }
            let (capabilities, expertise) = self.capabilities().await.map_err(|e| {
                AgentError::Failed(format!(
                    "GetCapabilities failed, so it has no capabilities in this run: {e}"
                ))
            })?;
            let mut info = declared.clone();
            info.capabilities = capabilities;
            if let Some(e) = expertise {
                info.expertise = e;
            }
            let _ = self.resolved.set(info);
            Ok(())
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(self.health_check())
    }
}
