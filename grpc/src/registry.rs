//! The agent registry (`parallax.registry.Registry`): `Register` adds an agent under a lease
//! (its `ttl`, else 60 s) and Prism calls it at its endpoint as a gRPC agent; `Renew` extends
//! the lease, `Unregister` removes the agent, and an agent whose lease runs out leaves by
//! itself. `ListAgents`, `GetAgent` and `Watch` show the registered and the gateway agents.

use std::sync::Arc;
use std::time::Duration;

use prism_agents::AgentInfo;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::agent::{GrpcAgent, Target};
use crate::directory::{Change, Directory};
use crate::proto::registry::registry_server::Registry;
use crate::proto::registry::watch_event::EventType;
use crate::proto::registry::{
    AgentRegistration, GetAgentRequest, ListAgentsRequest, ListAgentsResponse, RegisterRequest,
    RegisterResponse, RenewRequest, WatchEvent, WatchRequest,
};

/// The `Registry` service.
pub struct RegistryService {
    directory: Arc<Directory>,
    stop: CancellationToken,
}

impl RegistryService {
    /// A registry keeping its agents in `directory`; `stop` ends every `Watch`.
    pub fn new(directory: Arc<Directory>, stop: CancellationToken) -> Self {
        RegistryService { directory, stop }
    }
}

/// What Prism knows of a registered agent: name (else id), id, capabilities, and from its
/// metadata the region, the labels (`value` and `key=value`) and the default confidence.
fn registration_info(r: &AgentRegistration) -> AgentInfo {
    let name = if r.name.is_empty() { &r.id } else { &r.name };
    let mut info = AgentInfo::new(name.clone(), r.capabilities.clone());
    info.id = r.id.clone();
    if let Some(m) = &r.metadata {
        info.region = (!m.region.is_empty()).then(|| m.region.clone());
        let mut labels: Vec<(&String, &String)> = m.labels.iter().collect();
        labels.sort();
        for (k, v) in labels {
            info.labels.push(v.clone());
            info.labels.push(format!("{k}={v}"));
        }
        info.confidence = Some(m.default_confidence).filter(|c| *c > 0.0 && *c <= 1.0);
    }
    info
}

fn duration(d: Option<&prost_types::Duration>) -> Option<Duration> {
    d.and_then(|d| Duration::try_from(*d).ok())
}

fn matches(r: &AgentRegistration, capabilities: &[String]) -> bool {
    capabilities.iter().all(|c| r.capabilities.contains(c))
}

#[tonic::async_trait]
impl Registry for RegistryService {
    type WatchStream = ReceiverStream<Result<WatchEvent, Status>>;

    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let Some(registration) = request.into_inner().agent else {
            return Err(Status::invalid_argument("RegisterRequest has no agent"));
        };
        if registration.id.trim().is_empty() {
            return Err(Status::invalid_argument("the agent has no id"));
        }
        if registration.endpoint.trim().is_empty() {
            return Err(Status::invalid_argument(format!(
                "agent {} has no endpoint (host:port of its ConfidenceAgent service)",
                registration.id
            )));
        }
        let agent = GrpcAgent::new(
            registration_info(&registration),
            &Target::new(registration.endpoint.trim()),
        )
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let ttl = duration(registration.ttl.as_ref());
        let id = registration.id.clone();
        let (lease_id, ttl) = self.directory.register(registration, Arc::new(agent), ttl);
        Ok(Response::new(RegisterResponse {
            success: true,
            message: format!("registered {id}; the lease lasts {} s", ttl.as_secs()),
            lease_id,
        }))
    }

    async fn unregister(
        &self,
        request: Request<AgentRegistration>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let id = request.into_inner().id;
        let removed = self.directory.unregister(&id);
        Ok(Response::new(RegisterResponse {
            success: removed,
            message: if removed {
                format!("unregistered {id}")
            } else {
                format!("no registered agent {id}")
            },
            lease_id: String::new(),
        }))
    }

    async fn renew(
        &self,
        request: Request<RenewRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let r = request.into_inner();
        match self.directory.renew(&r.lease_id, duration(r.ttl.as_ref())) {
            Some((id, ttl)) => Ok(Response::new(RegisterResponse {
                success: true,
                message: format!("renewed {id} for {} s", ttl.as_secs()),
                lease_id: r.lease_id,
            })),
            None => Err(Status::not_found(format!(
                "no lease {}: it expired or was never granted; register again",
                r.lease_id
            ))),
        }
    }

    async fn list_agents(
        &self,
        request: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        let r = request.into_inner();
        let all: Vec<AgentRegistration> = self
            .directory
            .list()
            .into_iter()
            .filter(|a| matches(a, &r.capabilities))
            .filter(|a| {
                r.labels.iter().all(|(k, v)| {
                    a.metadata
                        .as_ref()
                        .is_some_and(|m| m.labels.get(k) == Some(v))
                })
            })
            .collect();
        let total = all.len();
        let start = if r.continuation_token.is_empty() {
            0
        } else {
            r.continuation_token
                .parse::<usize>()
                .map_err(|_| Status::invalid_argument("unknown continuation_token"))?
        };
        let limit = usize::try_from(r.limit)
            .ok()
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let agents: Vec<AgentRegistration> = all.into_iter().skip(start).take(limit).collect();
        let next = start.saturating_add(agents.len());
        Ok(Response::new(ListAgentsResponse {
            next_continuation_token: if next < total {
                next.to_string()
            } else {
                String::new()
            },
            agents,
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    async fn get_agent(
        &self,
        request: Request<GetAgentRequest>,
    ) -> Result<Response<AgentRegistration>, Status> {
        let id = request.into_inner().agent_id;
        self.directory
            .get(&id)
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no agent {id}")))
    }

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let r = request.into_inner();
        // Listen before reading the list, so no change falls between the two.
        let mut changes = self.directory.subscribe();
        let initial = if r.include_initial {
            self.directory.list()
        } else {
            Vec::new()
        };
        let (tx, rx) = mpsc::channel(64);
        let stop = self.stop.clone();
        tokio::spawn(async move {
            let event = |kind: EventType, agent: AgentRegistration| WatchEvent {
                r#type: kind as i32,
                agent: Some(agent),
                timestamp: Some(std::time::SystemTime::now().into()),
            };
            for agent in initial.into_iter().filter(|a| matches(a, &r.capabilities)) {
                if tx.send(Ok(event(EventType::Added, agent))).await.is_err() {
                    return;
                }
            }
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tx.closed() => return,
                    change = changes.recv() => match change {
                        Ok(Change { kind, registration }) => {
                            if matches(&registration, &r.capabilities)
                                && tx.send(Ok(event(kind, registration))).await.is_err()
                            {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::registry::agent_registration::Metadata;
    use std::collections::HashMap;

    #[test]
    fn registrations_become_agent_info() {
        let r = AgentRegistration {
            id: "sa-1".into(),
            name: String::new(),
            endpoint: "127.0.0.1:1".into(),
            capabilities: vec!["sentiment".into()],
            metadata: Some(Metadata {
                region: "eu".into(),
                labels: HashMap::from([("team".to_string(), "nlp".to_string())]),
                default_confidence: 0.8,
                ..Metadata::default()
            }),
            ..Default::default()
        };
        let info = registration_info(&r);
        assert_eq!(info.name, "sa-1");
        assert_eq!(info.id, "sa-1");
        assert_eq!(info.capabilities, vec!["sentiment"]);
        assert_eq!(info.region.as_deref(), Some("eu"));
        assert_eq!(info.labels, vec!["nlp", "team=nlp"]);
        assert_eq!(info.confidence, Some(0.8));
    }
}
