//! Large fan-outs as child workflows. When one step of the run workflow files
//! [`SPLIT_AT`] or more agent-call attempts at once, they go out as child workflows
//! (`PrismCalls`) of at most [`CHUNK`] attempts each instead of one activity per attempt, so the
//! run's history holds a few children, not thousands of activities, and no workflow has more
//! than [`CHUNK`] activities pending (Temporal's default limit is 2,000 per workflow).
//!
//! The decision only looks at the attempts filed in one step of the workflow, in filing order,
//! and at the attempts already running as the run's own activities, both of which a replay
//! rebuilds the same way: it is deterministic. The run itself never has [`SPLIT_AT`]
//! activities pending. A child's input holds
//! each distinct request once (the calls of one phase usually share their task, input and
//! context).

use serde::{Deserialize, Serialize};

use crate::AgentDef;
use crate::policy::{AttemptOutcome, CallSpec, RequestData};

/// From this many attempts filed at once, the attempts go out as child workflows.
pub const SPLIT_AT: usize = 1_000;

/// At most this many attempts per child workflow.
pub const CHUNK: usize = 500;

/// The workflow type of a chunk of calls.
pub const CALLS_WORKFLOW_TYPE: &str = "PrismCalls";

/// How `attempts` filed at once go out while `in_flight` of the run's own activities are
/// pending: `None`, each as its own activity; else the index ranges of the chunks, in filing
/// order, each run by one child workflow.
pub fn chunks(attempts: usize, in_flight: usize) -> Option<Vec<std::ops::Range<usize>>> {
    if attempts == 0 || attempts.saturating_add(in_flight) < SPLIT_AT {
        return None;
    }
    Some(
        (0..attempts)
            .step_by(CHUNK)
            .map(|start| start..(start + CHUNK).min(attempts))
            .collect(),
    )
}

/// The workflow id of a run's `n`-th chunk (0-based, counted over the whole run).
pub fn child_id(parent: &str, n: u64) -> String {
    format!("{parent}/calls-{n}")
}

/// One attempt of a chunk: its spec without the request, which is `requests[request]`, whose
/// own id is `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkCall {
    /// The agent's name.
    pub agent: String,
    /// How to build it.
    pub def: AgentDef,
    /// Which attempt (1-based).
    pub attempt: u32,
    /// The per-call timeout in ms.
    pub timeout_ms: u64,
    /// Index into [`CallsInput::requests`].
    pub request: usize,
    /// The request's id.
    pub request_id: String,
}

/// The input of a `PrismCalls` child workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CallsInput {
    /// The distinct requests (their ids blank).
    pub requests: Vec<RequestData>,
    /// The attempts, in filing order.
    pub calls: Vec<ChunkCall>,
}

impl CallsInput {
    /// Packs attempts for one child, each distinct request once.
    pub fn pack(specs: Vec<CallSpec>) -> Self {
        let mut out = CallsInput::default();
        for spec in specs {
            let mut request = spec.request;
            let request_id = std::mem::take(&mut request.id);
            let index = match out.requests.iter().rposition(|r| *r == request) {
                Some(i) => i,
                None => {
                    out.requests.push(request);
                    out.requests.len() - 1
                }
            };
            out.calls.push(ChunkCall {
                agent: spec.agent,
                def: spec.def,
                attempt: spec.attempt,
                timeout_ms: spec.timeout_ms,
                request: index,
                request_id,
            });
        }
        out
    }

    /// The attempts again, in filing order; an index out of range is an error.
    pub fn unpack(self) -> Result<Vec<CallSpec>, String> {
        let CallsInput { requests, calls } = self;
        calls
            .into_iter()
            .map(|c| {
                let mut request = requests.get(c.request).cloned().ok_or_else(|| {
                    format!(
                        "call of {} names request #{} of {}",
                        c.agent,
                        c.request,
                        requests.len()
                    )
                })?;
                request.id = c.request_id;
                Ok(CallSpec {
                    agent: c.agent,
                    attempt: c.attempt,
                    timeout_ms: c.timeout_ms,
                    request,
                    def: c.def,
                })
            })
            .collect()
    }
}

/// The output of a `PrismCalls` child: one entry per attempt, in the input's order (the
/// outcome, or why its activity failed for good).
pub type CallsOutput = Vec<Result<AttemptOutcome, String>>;

#[cfg(test)]
mod tests {
    use super::*;
    use prism_agents::AgentRequest;

    fn spec(i: usize, input: serde_json::Value) -> CallSpec {
        let mut req = AgentRequest::new(format!("r-{i}"), "vote", input);
        req.step = Some("s".into());
        CallSpec {
            agent: format!("a{i}"),
            attempt: 1,
            timeout_ms: 1_000,
            request: RequestData::from(&req),
            def: AgentDef::Builtin { count: 3 },
        }
    }

    #[test]
    fn only_large_batches_are_split_into_bounded_chunks_in_order() {
        assert_eq!(chunks(0, 0), None);
        assert_eq!(chunks(0, SPLIT_AT), None);
        assert_eq!(chunks(SPLIT_AT - 1, 0), None);
        // A few more while many run already: a child, so the run stays under the limit.
        let few = chunks(2, SPLIT_AT - 2).expect("a child");
        assert_eq!(few.len(), 1);
        assert_eq!(few[0], 0..2);
        assert_eq!(chunks(1, SPLIT_AT - 2), None);
        let split = chunks(SPLIT_AT, 0).expect("split");
        assert_eq!(split.first().map(|r| r.start), Some(0));
        assert_eq!(split.last().map(|r| r.end), Some(SPLIT_AT));
        assert!(split.iter().all(|r| r.len() <= CHUNK && !r.is_empty()));
        assert!(split.windows(2).all(|w| w[0].end == w[1].start));
        let odd = chunks(2 * CHUNK + 1 + SPLIT_AT, 0).expect("split");
        assert_eq!(
            odd.iter().map(|r| r.len()).sum::<usize>(),
            2 * CHUNK + 1 + SPLIT_AT
        );
        assert_eq!(odd.last().map(|r| r.len()), Some(1));
        assert_eq!(child_id("e-1", 3), "e-1/calls-3");
    }

    #[test]
    fn a_chunk_holds_each_request_once_and_unpacks_to_the_same_specs() {
        let big = serde_json::json!({"text": "x".repeat(10_000)});
        let mut specs: Vec<CallSpec> = (0..40).map(|i| spec(i, big.clone())).collect();
        specs.push(spec(40, serde_json::json!({"other": 1})));
        let packed = CallsInput::pack(specs.clone());
        assert_eq!(packed.requests.len(), 2);
        let text = serde_json::to_string(&packed).expect("json");
        assert!(text.len() < 2 * 10_000 + 40 * 200, "{}", text.len());
        let back: CallsInput = serde_json::from_str(&text).expect("back");
        assert_eq!(back.unpack().expect("unpack"), specs);
        let broken = CallsInput {
            requests: Vec::new(),
            calls: packed.calls,
        };
        assert!(broken.unpack().is_err());
    }
}
