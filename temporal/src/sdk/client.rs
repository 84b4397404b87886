//! Connecting to a Temporal server: the worker (`prism worker --temporal`) and the client of
//! a run (`prism run --temporal`: start the workflow under the execution id, wait, return the
//! execution record).

use std::str::FromStr;
use std::time::{Duration, Instant};

use temporalio_client::errors::WorkflowGetResultError;
use temporalio_client::tonic::Code;
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
    /// A schedule could not be created, updated, read or deleted.
    #[error("schedule {id}: {message}")]
    Schedule {
        /// The schedule id.
        id: String,
        /// Why.
        message: String,
    },
}

/// How long a client waiting for a run's result goes on trying to reach a server that went
/// away (restarted, failed over) before it gives up.
pub const RECONNECT_WINDOW: Duration = Duration::from_secs(300);

fn url_of(address: &str) -> Result<Url, TemporalError> {
    let text = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    Url::from_str(&text).map_err(|_| TemporalError::Address(address.to_string()))
}

pub(crate) async fn connect(endpoint: &Endpoint) -> Result<Client, TemporalError> {
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

/// Starts the run workflow (id = the execution id) and waits for its execution record. When
/// the server goes away while the client waits (a restart, a fail-over), the client goes on
/// asking for the result for up to [`RECONNECT_WINDOW`]; the run itself is the server's and
/// goes on once it is back. `note` hears when the server was lost and when it answered again.
pub async fn start_and_wait(
    endpoint: &Endpoint,
    input: RunInput,
    mut note: impl FnMut(&str),
) -> Result<serde_json::Value, TemporalError> {
    let client = connect(endpoint).await?;
    let id = input.execution_id.clone();
    client
        .start_workflow(
            PrismRun::run,
            input,
            WorkflowStartOptions::new(endpoint.task_queue.clone(), id.clone()).build(),
        )
        .await
        .map_err(|e| TemporalError::Start(e.to_string()))?;
    wait_record(&client, &endpoint.address, &id, &mut note).await
}

/// Waits for the execution record of the run workflow `workflow_id` (its latest run), asking
/// again for up to [`RECONNECT_WINDOW`] while the server cannot be reached.
pub(crate) async fn wait_record(
    client: &Client,
    address: &str,
    workflow_id: &str,
    note: &mut impl FnMut(&str),
) -> Result<serde_json::Value, TemporalError> {
    let handle = client.get_workflow_handle::<PrismRun>(workflow_id);
    let mut lost: Option<Instant> = None;
    let mut attempt = 0u32;
    let text = loop {
        match handle.get_result(WorkflowGetResultOptions::default()).await {
            Ok(text) => break text,
            Err(e) if transient(&e) => {
                let since = *lost.get_or_insert_with(|| {
                    note(&format!(
                        "lost the Temporal server at {address} while waiting for the run ({}); the run is the server's: asking again for up to {} s",
                        error_chain(&e),
                        RECONNECT_WINDOW.as_secs()
                    ));
                    Instant::now()
                });
                if since.elapsed() >= RECONNECT_WINDOW {
                    return Err(TemporalError::Failed(format!(
                        "no answer from the server for {} s: {}",
                        RECONNECT_WINDOW.as_secs(),
                        error_chain(&e)
                    )));
                }
                tokio::time::sleep(retry_delay(attempt)).await;
                attempt = attempt.saturating_add(1);
            }
            Err(e) => return Err(TemporalError::Failed(error_chain(&e))),
        }
    };
    if lost.is_some() {
        note(&format!("the Temporal server at {address} answered again"));
    }
    let text = crate::payload::unpack(&text).map_err(TemporalError::Record)?;
    serde_json::from_str(&text).map_err(|e| TemporalError::Record(e.to_string()))
}

/// Whether waiting for the result failed because the server could not be reached (or was
/// not ready yet), not because of the run.
fn transient(e: &WorkflowGetResultError) -> bool {
    match e {
        WorkflowGetResultError::Rpc(s) | WorkflowGetResultError::NotFound(s) => {
            transient_status(s.code(), s.message())
        }
        _ => false,
    }
}

fn transient_status(code: Code, message: &str) -> bool {
    match code {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Unknown
        | Code::Internal
        | Code::Aborted
        | Code::ResourceExhausted
        | Code::Cancelled => true,
        // A server starting up answers for a while that it does not know the namespace yet.
        Code::NotFound => message.to_ascii_lowercase().contains("namespace"),
        _ => false,
    }
}

/// 0.5 s, doubling, at most 5 s.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(4)).min(5000))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_server_is_asked_again_and_a_lost_run_is_not() {
        assert!(transient_status(Code::Unavailable, "tcp connect error"));
        assert!(transient_status(Code::DeadlineExceeded, ""));
        assert!(transient_status(
            Code::NotFound,
            "Namespace default is not found."
        ));
        assert!(!transient_status(Code::NotFound, "workflow not found"));
        assert!(!transient_status(Code::InvalidArgument, ""));
        assert!(!transient_status(Code::PermissionDenied, ""));
        let delays: Vec<u64> = (0..7).map(|a| retry_delay(a).as_millis() as u64).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }
}
