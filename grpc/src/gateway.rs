//! The agent gateway (`parallax.gateway.AgentGateway.Connect`): an agent opens a stream and
//! says `AgentHello`; Prism acknowledges, lists it beside the registered agents, and sends
//! its tasks down the stream as `TaskRequest`s, matched with the `TaskResult` / `TaskError`
//! that come back. Heartbeats keep the agent: none for three of its intervals ends the
//! session. When the stream ends, every call still waiting fails at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use prism_agents::{Agent, AgentAnswer, AgentError, AgentFuture, AgentInfo, AgentRequest};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::{self, Answer};
use crate::directory::Directory;
use crate::proto::gateway::agent_gateway_server::AgentGateway;
use crate::proto::gateway::agent_to_control_plane::Payload as Up;
use crate::proto::gateway::control_plane_to_agent::Payload as Down;
use crate::proto::gateway::{
    AgentHello, AgentToControlPlane, CancelTask, ControlPlaneToAgent, ServerAck,
};
use crate::proto::registry::AgentRegistration;
use crate::proto::registry::agent_registration::Metadata;

/// How long a new stream may take to say `AgentHello`.
const HELLO_WAIT: Duration = Duration::from_secs(10);
/// The heartbeat interval assumed when the hello names none (the SDKs' default).
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
/// A session ends after this many heartbeat intervals without a message.
const MISSED_HEARTBEATS: u32 = 3;
/// The node id sent in `ServerAck`.
const NODE_ID: &str = "prism";

type Outcome = Result<AgentAnswer, AgentError>;
type Outbound = mpsc::Sender<Result<ControlPlaneToAgent, Status>>;

static SERIALS: AtomicU64 = AtomicU64::new(1);

/// One connected agent's stream: the way down and the calls waiting for an answer.
pub struct Session {
    /// Tells a session from the one that replaced it after a reconnection.
    pub(crate) serial: u64,
    agent_id: String,
    tx: Outbound,
    state: Mutex<SessionState>,
}

#[derive(Default)]
struct SessionState {
    /// Waiting calls by request id: the task id and where the answer goes.
    pending: HashMap<String, (String, oneshot::Sender<Outcome>)>,
    /// Why the session ended, once it has.
    closed: Option<String>,
}

impl Session {
    fn new(agent_id: String, tx: Outbound) -> Session {
        Session {
            serial: SERIALS.fetch_add(1, Ordering::Relaxed),
            agent_id,
            tx,
            state: Mutex::new(SessionState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the session: every waiting call fails with `why`, at once.
    pub(crate) fn close(&self, why: &str) {
        let pending = {
            let mut st = self.lock();
            if st.closed.is_none() {
                st.closed = Some(why.to_string());
            }
            std::mem::take(&mut st.pending)
        };
        for (_, (_, answer)) in pending {
            let _ = answer.send(Err(self.closed_error(why)));
        }
    }

    fn closed_error(&self, why: &str) -> AgentError {
        AgentError::Transport(format!(
            "the gateway stream of {} closed: {why}",
            self.agent_id
        ))
    }

    /// Hands an answer to the call waiting for it (by request id, else by task id).
    fn resolve(&self, request_id: &str, task_id: &str, outcome: Outcome) {
        let waiting = {
            let mut st = self.lock();
            let key = if st.pending.contains_key(request_id) {
                Some(request_id.to_string())
            } else {
                st.pending
                    .iter()
                    .find(|(_, (t, _))| t == task_id)
                    .map(|(k, _)| k.clone())
            };
            key.and_then(|k| st.pending.remove(&k))
        };
        if let Some((_, answer)) = waiting {
            let _ = answer.send(outcome);
        }
    }

    /// Sends one task down the stream and waits for its answer (at most `deadline`).
    async fn dispatch(&self, request: &AgentRequest) -> Outcome {
        let deadline = Duration::from_millis(request.timeout_ms.max(1));
        let request_id = format!("task-{}", uuid::Uuid::now_v7());
        let (answer_tx, answer_rx) = oneshot::channel();
        {
            let mut st = self.lock();
            if let Some(why) = &st.closed {
                return Err(self.closed_error(why));
            }
            st.pending
                .insert(request_id.clone(), (request.id.clone(), answer_tx));
        }
        let mut waiting = Waiting {
            session: self,
            request_id: request_id.clone(),
            task_id: request.id.clone(),
            done: false,
        };
        let message = ControlPlaneToAgent {
            request_id,
            payload: Some(Down::TaskRequest(convert::task_request(request, deadline))),
        };
        if self.tx.send(Ok(message)).await.is_err() {
            waiting.done = true;
            self.close("the stream is gone");
            return Err(self.closed_error("the stream is gone"));
        }
        let outcome = match tokio::time::timeout(deadline, answer_rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(self.closed_error("the session ended")),
            Err(_) => return Err(AgentError::Timeout(request.timeout_ms)),
        };
        waiting.done = true;
        outcome
    }
}

/// A call under way: when it is dropped before its answer came (timeout, race won, run
/// cancelled), the agent is told with `CancelTask`.
struct Waiting<'a> {
    session: &'a Session,
    request_id: String,
    task_id: String,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let removed = self.session.lock().pending.remove(&self.request_id);
        if removed.is_some() {
            let _ = self.session.tx.try_send(Ok(ControlPlaneToAgent {
                request_id: self.request_id.clone(),
                payload: Some(Down::CancelTask(CancelTask {
                    task_id: self.task_id.clone(),
                    reason: "Prism no longer needs the answer".into(),
                })),
            }));
        }
    }
}

/// An agent connected through the gateway. Each call goes to its current session, so a
/// retry after a reconnection reaches the new stream.
pub struct GatewayAgent {
    info: AgentInfo,
    directory: Weak<Directory>,
}

impl GatewayAgent {
    async fn call(&self, request: &AgentRequest) -> Outcome {
        let session = self
            .directory
            .upgrade()
            .and_then(|d| d.session(&self.info.id))
            .ok_or_else(|| {
                AgentError::Failed(format!(
                    "agent {} is not connected to the gateway",
                    self.info.id
                ))
            })?;
        session.dispatch(request).await
    }
}

impl Agent for GatewayAgent {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(self.call(request))
    }
}

/// The `AgentGateway` service.
pub struct GatewayService {
    directory: Arc<Directory>,
    stop: CancellationToken,
}

impl GatewayService {
    /// A gateway adding its agents to `directory`; `stop` ends every session.
    pub fn new(directory: Arc<Directory>, stop: CancellationToken) -> Self {
        GatewayService { directory, stop }
    }
}

#[tonic::async_trait]
impl AgentGateway for GatewayService {
    type ConnectStream = ReceiverStream<Result<ControlPlaneToAgent, Status>>;

    async fn connect(
        &self,
        request: Request<Streaming<AgentToControlPlane>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(run_session(
            self.directory.clone(),
            request.into_inner(),
            tx,
            self.stop.clone(),
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

fn ack(request_id: String, accepted: bool, message: impl Into<String>) -> ControlPlaneToAgent {
    ControlPlaneToAgent {
        request_id,
        payload: Some(Down::Ack(ServerAck {
            accepted,
            message: message.into(),
            assigned_node_id: NODE_ID.into(),
        })),
    }
}

/// What Prism knows of a gateway agent from its hello: name, id, capabilities, and from its
/// metadata `region` and `expertise`.
fn hello_info(hello: &AgentHello) -> AgentInfo {
    let name = if hello.agent_name.is_empty() {
        hello.agent_id.clone()
    } else {
        hello.agent_name.clone()
    };
    let mut info = AgentInfo::new(name, hello.capabilities.clone());
    info.id = hello.agent_id.clone();
    info.region = hello.metadata.get("region").cloned();
    if let Some(e) = hello
        .metadata
        .get("expertise")
        .and_then(|e| e.parse::<f64>().ok())
        .filter(|e| (0.0..=1.0).contains(e))
    {
        info.expertise = e;
    }
    info
}

fn hello_registration(hello: &AgentHello) -> AgentRegistration {
    let mut labels = hello.metadata.clone();
    labels.insert("via".into(), "gateway".into());
    AgentRegistration {
        id: hello.agent_id.clone(),
        name: hello.agent_name.clone(),
        endpoint: String::new(),
        capabilities: hello.capabilities.clone(),
        metadata: Some(Metadata {
            region: hello.metadata.get("region").cloned().unwrap_or_default(),
            labels,
            ..Metadata::default()
        }),
        registered_at: Some(std::time::SystemTime::now().into()),
        ttl: None,
    }
}

/// Serves one stream from its hello to its end.
async fn run_session(
    directory: Arc<Directory>,
    mut inbound: Streaming<AgentToControlPlane>,
    tx: Outbound,
    stop: CancellationToken,
) {
    let first = tokio::time::timeout(HELLO_WAIT, inbound.message()).await;
    let (request_id, hello) = match first {
        Ok(Ok(Some(AgentToControlPlane {
            request_id,
            payload: Some(Up::Hello(hello)),
        }))) => (request_id, hello),
        Ok(Ok(Some(m))) => {
            let _ = tx
                .send(Ok(ack(
                    m.request_id,
                    false,
                    "the first message must be AgentHello",
                )))
                .await;
            return;
        }
        _ => return,
    };
    if hello.agent_id.trim().is_empty() {
        let _ = tx
            .send(Ok(ack(request_id, false, "AgentHello has no agent_id")))
            .await;
        return;
    }
    let interval = u64::try_from(hello.heartbeat_interval_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_HEARTBEAT, Duration::from_millis);
    let session = Arc::new(Session::new(hello.agent_id.clone(), tx.clone()));
    let agent = Arc::new(GatewayAgent {
        info: hello_info(&hello),
        directory: Arc::downgrade(&directory),
    });
    if tx
        .send(Ok(ack(request_id, true, "connected to Prism")))
        .await
        .is_err()
    {
        return;
    }
    directory.connect(hello_registration(&hello), agent, session.clone());
    let mut last = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(interval);
    let why = loop {
        tokio::select! {
            () = stop.cancelled() => break "Prism stopped serving the gateway".to_string(),
            () = tx.closed() => break "the agent stopped reading it".to_string(),
            _ = tick.tick() => {
                if last.elapsed() > interval * MISSED_HEARTBEATS {
                    break format!(
                        "no heartbeat for {} ms ({MISSED_HEARTBEATS} intervals)",
                        last.elapsed().as_millis()
                    );
                }
            }
            message = inbound.message() => match message {
                Ok(Some(m)) => {
                    last = tokio::time::Instant::now();
                    match m.payload {
                        Some(Up::TaskResult(r)) => {
                            let outcome = convert::answer(Answer::from(&r));
                            session.resolve(&m.request_id, &r.task_id, outcome);
                        }
                        Some(Up::TaskError(e)) => {
                            let code = if e.error_code.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", e.error_code)
                            };
                            let outcome = Err(AgentError::Answered(format!("{}{code}", e.error_message)));
                            session.resolve(&m.request_id, &e.task_id, outcome);
                        }
                        // Heartbeats (and anything else) only show the agent is alive.
                        _ => {}
                    }
                }
                Ok(None) => break "the agent ended the stream".to_string(),
                Err(status) => break format!("{} ({})", status.message(), convert::code_name(status.code())),
            },
        }
    };
    session.close(&why);
    directory.disconnect(&hello.agent_id, session.serial);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn answers_find_their_call_and_a_closed_session_fails_the_rest() {
        let (tx, mut rx) = mpsc::channel(8);
        let session = Arc::new(Session::new("a".into(), tx));
        let s = session.clone();
        let call = tokio::spawn(async move {
            let mut r = AgentRequest::new("t-1", "analyze", json!({}));
            r.timeout_ms = 5_000;
            s.dispatch(&r).await
        });
        let sent = rx.recv().await.and_then(Result::ok);
        let Some(ControlPlaneToAgent {
            request_id,
            payload: Some(Down::TaskRequest(task)),
        }) = sent
        else {
            panic!("a TaskRequest goes down the stream: {sent:?}");
        };
        assert_eq!(task.task_id, "t-1");
        session.resolve(&request_id, "t-1", Ok(AgentAnswer::new(json!("yes"), 0.9)));
        let got = call.await.ok().and_then(Result::ok);
        assert_eq!(got.map(|a| a.value), Some(json!("yes")));

        let s = session.clone();
        let call = tokio::spawn(async move {
            let mut r = AgentRequest::new("t-2", "analyze", json!({}));
            r.timeout_ms = 60_000;
            s.dispatch(&r).await
        });
        let _ = rx.recv().await;
        session.close("the agent ended the stream");
        let got = tokio::time::timeout(Duration::from_secs(1), call).await;
        let err = got.ok().and_then(Result::ok).and_then(Result::err);
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "transport error: the gateway stream of a closed: the agent ended the stream"
                    .to_string()
            )
        );
        let mut r = AgentRequest::new("t-3", "analyze", json!({}));
        r.timeout_ms = 100;
        assert!(
            session.dispatch(&r).await.is_err(),
            "a closed session takes no calls"
        );
    }

    #[tokio::test]
    async fn a_call_given_up_is_cancelled_on_the_stream() {
        let (tx, mut rx) = mpsc::channel(8);
        let session = Session::new("a".into(), tx);
        let mut r = AgentRequest::new("t-1", "analyze", json!({}));
        r.timeout_ms = 20;
        let got = session.dispatch(&r).await;
        assert_eq!(got.err(), Some(AgentError::Timeout(20)));
        let _task = rx.recv().await;
        let cancel = rx.recv().await.and_then(Result::ok).and_then(|m| m.payload);
        assert!(
            matches!(cancel, Some(Down::CancelTask(CancelTask { ref task_id, .. })) if task_id == "t-1"),
            "{cancel:?}"
        );
        assert!(session.lock().pending.is_empty());
    }
}
