//! Connecting to a Temporal server: the worker (`prism worker --temporal`) and the client of
//! a run (`prism run --temporal`: start the workflow under the execution id, wait, return the
//! execution record).

use std::str::FromStr;

use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowStartOptions,
};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use super::activity::PrismActivities;
use super::calls::PrismCalls;
use super::workflow::PrismRun;
use crate::RunInput;

/// Where the server is and which namespace and task queue to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `HOST:PORT` (or a URL).
    pub address: String,
    /// The namespace.
    pub namespace: String,
    /// The task queue.
    pub task_queue: String,
}

/// What went wrong talking to Temporal.
#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    /// The address is not a URL.
    #[error("--temporal {0}: not a HOST:PORT or URL")]
    Address(String),
    /// No connection.
    #[error("cannot connect to Temporal at {address}: {message}")]
    Connect {
        /// The address.
        address: String,
        /// Why.
        message: String,
    },
    /// The worker could not start or stopped with an error.
    #[error("worker: {0}")]
    Worker(String),
    /// The workflow could not be started.
    #[error("cannot start the run on Temporal: {0}")]
    Start(String),
    /// The workflow failed.
    #[error("the run failed on Temporal: {0}")]
    Failed(String),
    /// The workflow's output is not a record.
    #[error("the run's record from Temporal is not JSON: {0}")]
    Record(String),
}

fn url_of(address: &str) -> Result<Url, TemporalError> {
    let text = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    Url::from_str(&text).map_err(|_| TemporalError::Address(address.to_string()))
}

async fn connect(endpoint: &Endpoint) -> Result<Client, TemporalError> {
    let url = url_of(&endpoint.address)?;
    let failed = |message: String| TemporalError::Connect {
        address: endpoint.address.clone(),
        message,
    };
    let options = ConnectionOptions::new(url)
        .identity(format!("prism-{}@{}", std::process::id(), hostname()))
        .build();
    let connection = Connection::connect(options)
        .await
        .map_err(|e| failed(e.to_string()))?;
    Client::new(
        connection,
        ClientOptions::new(endpoint.namespace.clone()).build(),
    )
    .map_err(|e| failed(e.to_string()))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Runs a worker until it fails (or the process stops): the run workflow and the agent-call
/// activity on `endpoint`'s task queue. `ready` is called once the worker is polling.
pub async fn run_worker(endpoint: &Endpoint, ready: impl FnOnce()) -> Result<(), TemporalError> {
    let client = connect(endpoint).await?;
    let runtime = Runtime::from_current_tokio(Default::default())
        .map_err(|e| TemporalError::Worker(e.to_string()))?;
    let options = WorkerOptions::new(endpoint.task_queue.clone())
        .register_activities(PrismActivities::default())
        .register_workflow::<PrismRun>()
        .map_err(|e| TemporalError::Worker(e.to_string()))?
        .register_workflow::<PrismCalls>()
        .map_err(|e| TemporalError::Worker(e.to_string()))?
        // The bridge between the executor and the workflow wakes futures itself (see
        // `workflow`); its order is fixed, which is what the detector guards.
        .detect_nondeterministic_futures(false)
        .build();
    let mut worker =
        Worker::new(&runtime, client, options).map_err(|e| TemporalError::Worker(e.to_string()))?;
    ready();
    worker
        .run()
        .await
        .map_err(|e| TemporalError::Worker(e.to_string()))
}

/// Starts the run workflow (id = the execution id) and waits for its execution record.
pub async fn start_and_wait(
    endpoint: &Endpoint,
    input: RunInput,
) -> Result<serde_json::Value, TemporalError> {
    let client = connect(endpoint).await?;
    let id = input.execution_id.clone();
    let handle = client
        .start_workflow(
            PrismRun::run,
            input,
            WorkflowStartOptions::new(endpoint.task_queue.clone(), id).build(),
        )
        .await
        .map_err(|e| TemporalError::Start(e.to_string()))?;
    let text = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .map_err(|e| TemporalError::Failed(error_chain(&e)))?;
    serde_json::from_str(&text).map_err(|e| TemporalError::Record(e.to_string()))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
