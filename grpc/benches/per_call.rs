//! The per-call overhead of a `grpc` agent against an `url` (HTTP) agent, on this machine in
//! the same run: each kind answers from a server on 127.0.0.1 that returns a fixed answer at
//! once, so what is measured is Prism's side of a call (building the request, the transport,
//! reading the answer) plus the loopback round trip.
//!
//! - `agent_call/{http,grpc}`: one `analyze` call on the agent;
//! - `pattern_run/{http,grpc}`: a one-agent voting pattern run end to end (selection,
//!   dispatch, aggregation, output and record).
//!
//! `cargo bench -p prism-grpc --bench per_call`

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use prism_agents::http::{HttpAgent, client};
use prism_agents::{AgentInfo, AgentRequest, AgentSet, SharedAgent};
use prism_compiler::pattern::compile_file;
use prism_executor::{RunOptions, RunStatus, execute};
use prism_grpc::proto::confidence::confidence_agent_server::{
    ConfidenceAgent, ConfidenceAgentServer,
};
use prism_grpc::proto::confidence::{
    AgentRequest as PbRequest, Capabilities, ConfidenceResult, Health,
};
use prism_grpc::{GrpcAgent, Target};
use serde_json::json;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

const PATTERN: &str = "name: one-call\ninput: {}\nagents:\n  capabilities: [vote]\n  min: 1\n  retries: 0\naggregation:\n  strategy: voting\noutput:\n  decision: $vote.winner\n";

struct Fixed;

#[tonic::async_trait]
impl ConfidenceAgent for Fixed {
    type StreamAnalyzeStream =
        tokio_stream::wrappers::ReceiverStream<Result<ConfidenceResult, Status>>;

    async fn analyze(
        &self,
        request: Request<PbRequest>,
    ) -> Result<Response<ConfidenceResult>, Status> {
        Ok(Response::new(ConfidenceResult {
            value_json: "\"yes\"".into(),
            confidence: 0.9,
            agent_id: request.into_inner().task_id,
            ..Default::default()
        }))
    }

    async fn get_capabilities(&self, _: Request<()>) -> Result<Response<Capabilities>, Status> {
        Ok(Response::new(Capabilities::default()))
    }

    async fn health_check(&self, _: Request<()>) -> Result<Response<Health>, Status> {
        Ok(Response::new(Health::default()))
    }

    async fn stream_analyze(
        &self,
        _: Request<PbRequest>,
    ) -> Result<Response<Self::StreamAnalyzeStream>, Status> {
        Err(Status::unimplemented(""))
    }
}

async fn grpc_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"))
        .to_string();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ConfidenceAgentServer::new(Fixed))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    address
}

async fn http_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"))
        .to_string();
    let app = Router::new().route(
        "/analyze",
        post(
            |axum::Json(body): axum::Json<serde_json::Value>| async move {
                axum::Json(json!({"id": body["id"], "value": "yes", "confidence": 0.9}))
            },
        ),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio: {e}"));
    let (grpc_address, http_url) =
        rt.block_on(async { (grpc_server().await, http_server().await) });
    let info = || AgentInfo::new("agent", vec!["vote".into()]);
    let grpc: SharedAgent = Arc::new(
        GrpcAgent::new(info(), &Target::new(grpc_address))
            .unwrap_or_else(|e| panic!("grpc agent: {e}")),
    );
    let http: SharedAgent = Arc::new(HttpAgent::new(info(), &http_url, client()));
    let out = compile_file("bench.yaml", PATTERN);
    let plan = Arc::new(
        out.plan
            .unwrap_or_else(|| panic!("the bench pattern compiles: {:?}", out.diagnostics)),
    );
    let request = AgentRequest::new("bench-1", "analyze", json!({"text": "a great day"}));

    let mut g = c.benchmark_group("agent_call");
    g.measurement_time(Duration::from_secs(8));
    for (name, agent) in [("http", &http), ("grpc", &grpc)] {
        // The first call opens the connection; what is measured reuses it, as a run does.
        rt.block_on(agent.analyze(&request))
            .unwrap_or_else(|e| panic!("{name} agent answers: {e}"));
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(agent.analyze(&request))
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pattern_run");
    g.measurement_time(Duration::from_secs(8));
    for (name, agent) in [("http", &http), ("grpc", &grpc)] {
        let set = AgentSet::new(vec![agent.clone()]);
        g.bench_function(name, |b| {
            b.iter(|| {
                let opts = RunOptions {
                    agents: set.clone(),
                    ..RunOptions::default()
                };
                let record = rt.block_on(execute(plan.clone(), opts));
                assert_eq!(record.status, RunStatus::Completed);
                record
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
