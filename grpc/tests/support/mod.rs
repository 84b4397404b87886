//! Real gRPC servers on 127.0.0.1 for the tests: a `ConfidenceAgent` whose answers are set per
//! server, and helpers to compile and run patterns against agents.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_agents::AgentSet;
use prism_compiler::pattern::compile_file;
use prism_executor::{ExecutionRecord, RunOptions, execute};
use prism_grpc::proto::confidence::confidence_agent_server::{
    ConfidenceAgent, ConfidenceAgentServer,
};
use prism_grpc::proto::confidence::{AgentRequest, Capabilities, ConfidenceResult, Health, health};
use serde_json::Value as Json;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// How a test agent answers `Analyze`.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This `value_json` and confidence, with reasoning and uncertainties.
    Answer(String, f64),
    /// The answer after a delay.
    Slow(Duration, String, f64),
    /// A status (INTERNAL, …).
    Fail(tonic::Code, String),
}

/// One test agent's behaviour and what it saw.
#[derive(Clone)]
pub struct TestAgent {
    pub id: String,
    pub reply: Reply,
    pub capabilities: Vec<String>,
    pub health: health::Status,
    pub seen: Arc<Mutex<Vec<AgentRequest>>>,
}

impl TestAgent {
    pub fn new(id: &str, reply: Reply) -> Self {
        TestAgent {
            id: id.to_string(),
            reply,
            capabilities: vec!["sentiment".into()],
            health: health::Status::Healthy,
            seen: Arc::default(),
        }
    }

    pub fn requests(&self) -> Vec<AgentRequest> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[tonic::async_trait]
impl ConfidenceAgent for TestAgent {
    type StreamAnalyzeStream =
        tokio_stream::wrappers::ReceiverStream<Result<ConfidenceResult, Status>>;

    async fn analyze(
        &self,
        request: Request<AgentRequest>,
    ) -> Result<Response<ConfidenceResult>, Status> {
        if let Ok(mut s) = self.seen.lock() {
            s.push(request.get_ref().clone());
        }
        let (value_json, confidence) = match &self.reply {
            Reply::Answer(v, c) => (v.clone(), *c),
            Reply::Slow(d, v, c) => {
                tokio::time::sleep(*d).await;
                (v.clone(), *c)
            }
            Reply::Fail(code, message) => return Err(Status::new(*code, message.clone())),
        };
        Ok(Response::new(ConfidenceResult {
            value_json,
            confidence,
            agent_id: self.id.clone(),
            timestamp: None,
            uncertainties: vec!["short text".into()],
            reasoning: format!("{} read the text", self.id),
            metadata: [("model".to_string(), "test".to_string())].into(),
        }))
    }

    async fn get_capabilities(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Capabilities>, Status> {
        Ok(Response::new(Capabilities {
            agent_id: self.id.clone(),
            name: self.id.clone(),
            capabilities: self.capabilities.clone(),
            expertise_level: 0.9,
            capability_scores: Default::default(),
        }))
    }

    async fn health_check(&self, _request: Request<()>) -> Result<Response<Health>, Status> {
        Ok(Response::new(Health {
            status: self.health as i32,
            message: "test agent".into(),
            last_check: None,
            details: Default::default(),
        }))
    }

    async fn stream_analyze(
        &self,
        _request: Request<AgentRequest>,
    ) -> Result<Response<Self::StreamAnalyzeStream>, Status> {
        Err(Status::unimplemented("not used by Prism"))
    }
}

/// A running test agent server.
pub struct Served {
    pub address: String,
    pub agent: TestAgent,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Stops the server (its port then refuses connections).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `agent` on a free port of 127.0.0.1.
pub async fn serve(agent: TestAgent) -> Served {
    serve_with(agent, None).await
}

/// Serves `agent` on a free port of 127.0.0.1, over TLS with `identity` when given.
pub async fn serve_with(agent: TestAgent, identity: Option<tonic::transport::Identity>) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address").to_string();
    let service = ConfidenceAgentServer::new(agent.clone());
    let mut builder = tonic::transport::Server::builder();
    if let Some(identity) = identity {
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .expect("the server's TLS settings");
    }
    let task = tokio::spawn(async move {
        let _ = builder
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
    });
    Served {
        address,
        agent,
        task,
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("address").port()
}

/// Compiles a YAML pattern and runs it against `agents`.
pub async fn run(pattern: &str, input: Json, agents: AgentSet) -> ExecutionRecord {
    let out = compile_file("pattern.yaml", pattern);
    let plan = out
        .plan
        .unwrap_or_else(|| panic!("the pattern compiles: {:?}", out.diagnostics));
    let options = RunOptions {
        input,
        agents,
        backoff: Duration::from_millis(10),
        ..RunOptions::default()
    };
    execute(Arc::new(plan), options).await
}

/// The agents of an agents file written to a temporary folder.
pub fn agents_file(text: &str) -> (tempfile::TempDir, AgentSet) {
    agents_file_with(text, &[])
}

/// The agents of an agents file written to a temporary folder with other files beside it.
pub fn agents_file_with(text: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, AgentSet) {
    prism_grpc::install();
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).expect("write a file");
    }
    let path = dir.path().join("agents.yaml");
    std::fs::write(&path, text).expect("write agents.yaml");
    let set = prism_agents::load_agents_file(&path)
        .unwrap_or_else(|e| panic!("the agents file loads: {e}"));
    (dir, set)
}

/// `(agentName, result, confidence, error)` of each agent result of a record.
pub fn results(record: &ExecutionRecord) -> Vec<(String, Json, f64, Option<String>)> {
    record
        .agent_results
        .iter()
        .map(|r| {
            (
                r.agent_name.clone(),
                r.result.clone(),
                r.confidence,
                r.error.clone(),
            )
        })
        .collect()
}
