//! The registry and the agent gateway served by [`ControlPlane`] on 127.0.0.1, driven by
//! real gRPC clients: registered agents are called at their endpoint and selected by
//! capability, leases expire, `Watch` reports changes; gateway agents get their tasks down
//! the stream, and a dropped stream fails their calls at once.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use prism_agents::AgentSet;
use prism_executor::RunStatus;
use prism_grpc::proto::gateway::agent_gateway_client::AgentGatewayClient;
use prism_grpc::proto::gateway::agent_to_control_plane::Payload as Up;
use prism_grpc::proto::gateway::control_plane_to_agent::Payload as Down;
use prism_grpc::proto::gateway::{
    AgentHeartbeat, AgentHello, AgentToControlPlane, ControlPlaneToAgent, TaskError, TaskResult,
};
use prism_grpc::proto::registry::registry_client::RegistryClient;
use prism_grpc::proto::registry::watch_event::EventType;
use prism_grpc::proto::registry::{
    AgentRegistration, GetAgentRequest, ListAgentsRequest, RegisterRequest, RenewRequest,
    WatchRequest,
};
use prism_grpc::{ControlPlane, Directory};
use serde_json::json;
use support::{Reply, TestAgent, results, run, serve};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

const VOTE: &str = "name: vote\ninput:\n  text: string\nagents:\n  capabilities: [sentiment]\n  min: 1\n  retries: 0\n  taskTimeout: 30000\naggregation:\n  strategy: voting\noutput:\n  label: $vote.winner\n  voters: $totalCount\n";

async fn plane() -> ControlPlane {
    ControlPlane::start("127.0.0.1:0", Directory::new())
        .await
        .expect("the control plane listens")
}

async fn channel(plane: &ControlPlane) -> Channel {
    Channel::from_shared(format!("http://{}", plane.address()))
        .expect("a URI")
        .connect()
        .await
        .expect("connect to the control plane")
}

async fn registry(plane: &ControlPlane) -> RegistryClient<Channel> {
    RegistryClient::new(channel(plane).await)
}

fn live(plane: &ControlPlane) -> AgentSet {
    AgentSet {
        live: Some(plane.directory().clone()),
        ..AgentSet::default()
    }
}

fn registration(id: &str, endpoint: &str, capabilities: &[&str]) -> AgentRegistration {
    AgentRegistration {
        id: id.into(),
        name: id.into(),
        endpoint: endpoint.into(),
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn registered_agents_are_selected_by_capability_and_called_at_their_endpoint() {
    let plane = plane().await;
    let mut client = registry(&plane).await;
    let mut watch = client
        .watch(WatchRequest {
            capabilities: vec!["sentiment".into()],
            include_initial: true,
        })
        .await
        .expect("watch")
        .into_inner();
    let yes = serve(TestAgent::new(
        "yes",
        Reply::Answer("\"positive\"".into(), 0.9),
    ))
    .await;
    let other = serve(TestAgent::new("other", Reply::Answer("\"x\"".into(), 0.9))).await;
    let r = client
        .register(RegisterRequest {
            agent: Some(registration("yes", &yes.address, &["sentiment"])),
            auto_renew: true,
        })
        .await
        .expect("register")
        .into_inner();
    assert!(r.success && r.lease_id.starts_with("lease-"), "{r:?}");
    client
        .register(RegisterRequest {
            agent: Some(registration("other", &other.address, &["translation"])),
            auto_renew: true,
        })
        .await
        .expect("register");

    let event = tokio::time::timeout(Duration::from_secs(5), watch.next()).await;
    let event = event.ok().flatten().and_then(Result::ok);
    assert_eq!(
        event.map(|e| (e.r#type(), e.agent.map(|a| a.id))),
        Some((EventType::Added, Some("yes".to_string())))
    );
    let listed = client
        .list_agents(ListAgentsRequest {
            capabilities: vec!["sentiment".into()],
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.total_count, 1);
    assert_eq!(listed.agents[0].id, "yes");
    assert!(listed.agents[0].ttl.is_some() && listed.agents[0].registered_at.is_some());
    let all = client
        .list_agents(ListAgentsRequest {
            limit: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!((all.agents.len(), all.total_count), (1, 2));
    assert_eq!(all.next_continuation_token, "1");
    let got = client
        .get_agent(GetAgentRequest {
            agent_id: "other".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.endpoint, other.address);
    let missing = client
        .get_agent(GetAgentRequest {
            agent_id: "nobody".into(),
        })
        .await;
    assert_eq!(missing.err().map(|s| s.code()), Some(tonic::Code::NotFound));

    let record = run(VOTE, json!({"text": "great"}), live(&plane)).await;
    assert_eq!(record.status, RunStatus::Completed, "{:?}", record.error);
    assert_eq!(
        results(&record),
        vec![("yes".into(), json!("positive"), 0.9, None)]
    );
    assert_eq!(yes.agent.requests().len(), 1);
    assert!(other.agent.requests().is_empty());

    let renewed = client
        .renew(RenewRequest {
            lease_id: r.lease_id.clone(),
            ttl: None,
        })
        .await
        .expect("renew")
        .into_inner();
    assert!(renewed.success);
    let gone = client
        .renew(RenewRequest {
            lease_id: "lease-unknown".into(),
            ttl: None,
        })
        .await;
    assert_eq!(gone.err().map(|s| s.code()), Some(tonic::Code::NotFound));
    let out = client
        .unregister(registration("yes", "", &[]))
        .await
        .expect("unregister")
        .into_inner();
    assert!(out.success);
    let event = tokio::time::timeout(Duration::from_secs(5), watch.next()).await;
    let event = event.ok().flatten().and_then(Result::ok);
    assert_eq!(event.map(|e| e.r#type()), Some(EventType::Deleted));
    let record = run(VOTE, json!({"text": "great"}), live(&plane)).await;
    assert_eq!(
        record.status,
        RunStatus::Failed,
        "no sentiment agent is left"
    );
    plane.stop().await;
}

#[tokio::test]
async fn a_lease_not_renewed_expires_and_watchers_hear_of_it() {
    let plane = plane().await;
    let mut client = registry(&plane).await;
    let agent = serve(TestAgent::new("brief", Reply::Answer("1".into(), 0.9))).await;
    let mut reg = registration("brief", &agent.address, &["sentiment"]);
    reg.ttl = Some(prost_types::Duration {
        seconds: 1,
        nanos: 0,
    });
    client
        .register(RegisterRequest {
            agent: Some(reg),
            auto_renew: false,
        })
        .await
        .expect("register");
    let mut watch = client
        .watch(WatchRequest {
            capabilities: vec![],
            include_initial: true,
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.next().await.and_then(Result::ok);
    assert_eq!(first.map(|e| e.r#type()), Some(EventType::Added));
    let started = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.next()).await;
    let next = next.ok().flatten().and_then(Result::ok);
    assert_eq!(next.map(|e| e.r#type()), Some(EventType::Deleted));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(plane.directory().list().is_empty());
    let bad = client
        .register(RegisterRequest {
            agent: Some(registration("", "127.0.0.1:1", &[])),
            auto_renew: false,
        })
        .await;
    assert_eq!(
        bad.err().map(|s| s.code()),
        Some(tonic::Code::InvalidArgument)
    );
    plane.stop().await;
}

/// A gateway agent driven by the test: the messages it sends and those it receives.
struct GatewayPeer {
    up: mpsc::Sender<AgentToControlPlane>,
    down: tonic::Streaming<ControlPlaneToAgent>,
}

impl GatewayPeer {
    async fn connect(plane: &ControlPlane, id: &str, heartbeat_ms: i32) -> GatewayPeer {
        let mut client = AgentGatewayClient::new(channel(plane).await);
        let (up, rx) = mpsc::channel(16);
        up.send(AgentToControlPlane {
            request_id: format!("hello-{id}"),
            payload: Some(Up::Hello(AgentHello {
                agent_id: id.into(),
                agent_name: id.into(),
                capabilities: vec!["sentiment".into()],
                metadata: [("region".to_string(), "eu".to_string())].into(),
                heartbeat_interval_ms: heartbeat_ms,
            })),
        })
        .await
        .expect("hello");
        let mut down = client
            .connect(ReceiverStream::new(rx))
            .await
            .expect("the stream opens")
            .into_inner();
        let ack = down
            .next()
            .await
            .and_then(Result::ok)
            .and_then(|m| m.payload);
        assert!(
            matches!(ack, Some(Down::Ack(ref a)) if a.accepted),
            "{ack:?}"
        );
        GatewayPeer { up, down }
    }

    /// The next task sent down the stream: its request id and task id.
    async fn next_task(&mut self) -> (String, String) {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), self.down.next())
                .await
                .ok()
                .flatten()
                .and_then(Result::ok)
                .expect("a message down the stream");
            if let Some(Down::TaskRequest(t)) = m.payload {
                return (m.request_id, t.task_id);
            }
        }
    }
}

#[tokio::test]
async fn gateway_agents_get_tasks_down_their_stream() {
    let plane = plane().await;
    let mut peer = GatewayPeer::connect(&plane, "gated", 10_000).await;
    let mut failing = GatewayPeer::connect(&plane, "failing", 10_000).await;
    let answer = tokio::spawn(async move {
        let (request_id, task_id) = peer.next_task().await;
        peer.up
            .send(AgentToControlPlane {
                request_id,
                payload: Some(Up::TaskResult(TaskResult {
                    task_id,
                    value_json: "\"positive\"".into(),
                    confidence: 0.85,
                    reasoning: "it says great".into(),
                    metadata: Default::default(),
                })),
            })
            .await
            .expect("answer");
        peer
    });
    let refuse = tokio::spawn(async move {
        let (request_id, task_id) = failing.next_task().await;
        failing
            .up
            .send(AgentToControlPlane {
                request_id,
                payload: Some(Up::TaskError(TaskError {
                    task_id,
                    error_message: "no model loaded".into(),
                    error_code: "INTERNAL".into(),
                })),
            })
            .await
            .expect("error");
        failing
    });
    let record = run(VOTE, json!({"text": "great"}), live(&plane)).await;
    assert_eq!(record.status, RunStatus::Completed, "{:?}", record.error);
    assert_eq!(
        results(&record),
        vec![
            ("gated".into(), json!("positive"), 0.85, None),
            (
                "failing".into(),
                json!(null),
                0.0,
                Some("agent error: no model loaded (INTERNAL)".into())
            ),
        ]
    );
    assert_eq!(
        record.agent_results[0].reasoning.as_deref(),
        Some("it says great")
    );
    let names = plane.directory().names();
    assert_eq!(names, vec!["gated", "failing"]);
    let listed = plane.directory().list();
    assert_eq!(
        listed[0].metadata.as_ref().map(|m| m.region.as_str()),
        Some("eu")
    );
    drop(answer.await);
    drop(refuse.await);
    plane.stop().await;
}

#[tokio::test]
async fn a_dropped_stream_fails_its_pending_calls_at_once() {
    let plane = plane().await;
    let mut peer = GatewayPeer::connect(&plane, "vanishing", 10_000).await;
    let dropper = tokio::spawn(async move {
        let _ = peer.next_task().await;
        // The agent goes away mid-task: its stream ends.
        drop(peer);
    });
    let started = Instant::now();
    let record = run(VOTE, json!({"text": "great"}), live(&plane)).await;
    let elapsed = started.elapsed();
    let _ = dropper.await;
    assert!(
        elapsed < Duration::from_secs(5),
        "taskTimeout is 30 s: {elapsed:?}"
    );
    let r = &record.agent_results[0];
    assert_eq!(r.status.as_str(), "failed");
    assert!(
        r.error.as_deref().is_some_and(
            |e| e.starts_with("transport error: the gateway stream of vanishing closed: ")
        ),
        "{:?}",
        r.error
    );
    // The agent has left the directory.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !plane.directory().list().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(plane.directory().list().is_empty());
    plane.stop().await;
}

#[tokio::test]
async fn heartbeats_keep_a_gateway_agent_and_their_absence_ends_it() {
    let plane = plane().await;
    let kept = GatewayPeer::connect(&plane, "beating", 100).await;
    let _silent = GatewayPeer::connect(&plane, "silent", 100).await;
    let up = kept.up.clone();
    let beat = tokio::spawn(async move {
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = up
                .send(AgentToControlPlane {
                    request_id: String::new(),
                    payload: Some(Up::Heartbeat(AgentHeartbeat {
                        agent_id: "beating".into(),
                        load: 0.0,
                        status: "healthy".into(),
                        extra: Default::default(),
                    })),
                })
                .await;
        }
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(plane.directory().names(), vec!["beating"]);
    let _ = beat.await;
    drop(kept);
    plane.stop().await;
}

#[tokio::test]
async fn a_stream_that_does_not_say_hello_first_is_refused() {
    let plane = plane().await;
    let mut client = AgentGatewayClient::new(channel(&plane).await);
    let first = AgentToControlPlane {
        request_id: "r-1".into(),
        payload: Some(Up::Heartbeat(AgentHeartbeat::default())),
    };
    let mut down = client
        .connect(tokio_stream::iter(vec![first]))
        .await
        .expect("the stream opens")
        .into_inner();
    let ack = down
        .next()
        .await
        .and_then(Result::ok)
        .and_then(|m| m.payload);
    assert!(
        matches!(ack, Some(Down::Ack(ref a)) if !a.accepted && a.message.contains("AgentHello")),
        "{ack:?}"
    );
    assert!(plane.directory().list().is_empty());
    let _ = Arc::strong_count(plane.directory());
    plane.stop().await;
}
