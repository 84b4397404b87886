//! The shared state of one run: the scope frames references read, every agent result, step
//! records, warnings and metrics, and how a walk stops early.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use petgraph::stable_graph::NodeIndex;
use prism_compiler::plan::{Graph, Plan};
use serde_json::{Value as Json, json};

use super::RunOptions;
use super::expr::{Bound, Names, Rec, Scope};
use super::record::{AgentResult, RunError, StepRecord};

/// One node's completion, for `--trace` and progress displays.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    /// The node id (`agents`, `step:extract/aggregate`, …).
    pub node: String,
    /// The node kind (`AgentGroup`, …).
    pub kind: &'static str,
    /// The step, if any.
    pub step: Option<String>,
    /// `ok`, `skipped`, `failed`.
    pub status: &'static str,
    /// The node's confidence, if it has one.
    pub confidence: Option<f64>,
    /// How long it took.
    pub duration_ms: u64,
    /// A short description (agents answered, winner, …).
    pub detail: String,
}

/// Why a walk stopped before its end.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The run failed.
    Failed(RunError),
    /// The run escalated: `{target, reason}`.
    Escalated(Json),
    /// The overall timeout passed.
    TimedOut,
    /// Cancelled.
    Cancelled,
}

impl Stop {
    /// A failure with a code and message.
    pub fn fail(code: &str, message: impl Into<String>, node: Option<&str>) -> Stop {
        Stop::Failed(RunError {
            code: code.to_string(),
            message: message.into(),
            node: node.map(str::to_string),
            span: None,
        })
    }
}

/// A scope frame: names written here shadow the parent's (batch items get their own).
#[derive(Debug, Default)]
pub struct Frame {
    vars: Mutex<Arc<Names>>,
    parent: Option<Arc<Frame>>,
}

impl Frame {
    /// A child frame.
    pub fn child(parent: &Arc<Frame>) -> Arc<Frame> {
        Arc::new(Frame {
            vars: Mutex::new(Arc::default()),
            parent: Some(parent.clone()),
        })
    }

    /// Binds a name in this frame.
    pub fn set(&self, name: &str, v: Bound) {
        // Copies the frame's names only while a scope built earlier still shares them.
        Arc::make_mut(&mut *lock(&self.vars)).insert(name.to_string(), Arc::new(v));
    }

    /// Binds a record.
    pub fn set_rec(&self, name: &str, r: Rec) {
        self.set(name, Bound::Rec(r));
    }

    /// Looks a name up through the chain.
    pub fn get(&self, name: &str) -> Option<Bound> {
        if let Some(v) = lock(&self.vars).get(name) {
            return Some((**v).clone());
        }
        self.parent.as_ref().and_then(|p| p.get(name))
    }

    /// A copy of this frame's own names.
    pub fn snapshot(&self) -> Scope {
        Scope::shared(lock(&self.vars).clone())
    }

    /// Replaces this frame's own names.
    pub fn restore(&self, vars: Scope) {
        *lock(&self.vars) = Arc::new(vars.flatten());
    }

    /// The flattened scope (inner names win).
    pub fn scope(&self) -> Scope {
        let mut s = self.parent.as_ref().map(|p| p.scope()).unwrap_or_default();
        s.push_layer(lock(&self.vars).clone());
        s
    }
}

/// Locks a mutex, ignoring poisoning (a panicked holder leaves consistent data here).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Mutable run data.
#[derive(Default)]
pub struct State {
    /// Every agent call of the run, in call order.
    pub results: Vec<AgentResult>,
    /// Results of each phase by step (`None` = the top-level phase).
    pub phase: HashMap<Option<String>, Vec<AgentResult>>,
    /// The latest record of each phase (aggregate → validate).
    pub phase_rec: HashMap<Option<String>, Rec>,
    /// Step records for the execution record (add them with [`State::push_step`]).
    pub steps: Vec<StepRecord>,
    /// The index in `steps` of each step's latest record, so that a step's record is found
    /// without a search through every record (which made long step lists quadratic).
    pub step_index: HashMap<String, usize>,
    /// Records of executed agent and composition steps, in order (§1.7).
    pub contributors: Vec<(String, Rec)>,
    /// The last executed step's record (`$final` unless a finish set it).
    pub last: Option<Rec>,
    /// Set by a finishing switch case (`output: $ref`).
    pub finished: Option<Rec>,
    /// Warnings `(code, message)`.
    pub warnings: Vec<(String, String)>,
    /// Retried calls.
    pub retries: u64,
    /// Concurrent paths started (parallel steps, branches).
    pub parallel_paths: u64,
    /// The pattern confidence, once the `Confidence` node ran.
    pub confidence: Option<f64>,
    /// The output value, once the `Output` node ran.
    pub output: Option<Json>,
    /// The fallback that fired: `{reason, action, step?}` (execution record `fallback`).
    pub fallback: Option<Json>,
    /// The output a fallback `default` sets.
    pub fallback_output: Option<Json>,
    /// An escalation that does not stop the run (fallback `escalate`).
    pub escalation: Option<Json>,
    /// An escalation a pattern script asked for with `escalate(…)`: its error ends the run
    /// escalated instead of failed.
    pub script_escalation: Option<Json>,
    /// Per-site counts of backward jumps.
    pub jumps: HashMap<(usize, usize, usize), u32>,
    /// The answers of the previous org-chart step (for `aggregate`).
    pub last_answers: Vec<AgentResult>,
    /// Org-chart: which agent of each role answers next.
    pub rotation: HashMap<String, usize>,
    /// Org-chart: the agents of each role.
    pub roles: HashMap<String, Vec<prism_agents::SharedAgent>>,
    /// Ids of the agents that failed their health check; `None` until a pattern that asks
    /// for healthy agents has them checked (at the start of the run, or when included).
    pub unhealthy: Option<Vec<String>>,
}

impl State {
    /// Adds a step record, the latest of its step.
    pub fn push_step(&mut self, record: StepRecord) {
        self.step_index.insert(record.id.clone(), self.steps.len());
        self.steps.push(record);
    }

    /// The index of `step`'s latest record.
    pub fn step_at(&self, step: &str) -> Option<usize> {
        self.step_index.get(step).copied()
    }
}

/// One run: the plan, the options, the scope and the state.
pub struct Run {
    /// The plan.
    pub plan: Arc<Plan>,
    /// The options.
    pub opts: RunOptions,
    /// The execution id (UUIDv7).
    pub id: String,
    /// When the run started.
    pub started: Instant,
    /// The root scope frame.
    pub root: Arc<Frame>,
    /// Mutable data.
    pub state: Mutex<State>,
    seq: AtomicU64,
    requests: AtomicU64,
    /// The `.prism` script's injected agent results, when given.
    pub injected: Option<Vec<AgentResult>>,
    /// Each graph's entry node of every step (by the graph's address), built on first use so
    /// that finding a step's entry is not a search over every node.
    entries: Mutex<HashMap<usize, Arc<HashMap<String, NodeIndex>>>>,
    /// The YAML model's steps by id (the first in document order), built on first use.
    steps_by_id: std::sync::OnceLock<HashMap<String, prism_compiler::pattern::model::Step>>,
}

impl Run {
    /// A new run.
    pub fn new(plan: Arc<Plan>, opts: RunOptions, id: String) -> Run {
        Run {
            plan,
            opts,
            id,
            started: Instant::now(),
            root: Arc::new(Frame::default()),
            state: Mutex::new(State::default()),
            seq: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            injected: None,
            entries: Mutex::default(),
            steps_by_id: std::sync::OnceLock::new(),
        }
    }

    /// The node where `step` begins in `g` (the first node of the step, in graph order).
    pub fn entry_of(&self, g: &Graph, step: &str) -> Option<NodeIndex> {
        let key = std::ptr::from_ref(g) as usize;
        let map = lock(&self.entries)
            .entry(key)
            .or_insert_with(|| {
                let mut m = HashMap::new();
                for i in g.node_indices() {
                    if let Some(s) = g.node_weight(i).and_then(|n| n.step.as_deref()) {
                        m.entry(s.to_string()).or_insert(i);
                    }
                }
                Arc::new(m)
            })
            .clone();
        map.get(step).copied()
    }

    /// The YAML model's step `id`, at any depth (the first in document order).
    pub fn step(&self, id: &str) -> Option<&prism_compiler::pattern::model::Step> {
        self.steps_by_id
            .get_or_init(|| {
                let mut m = HashMap::new();
                super::walk::index_steps(self.opts.model.as_deref(), &mut m);
                m
            })
            .get(id)
    }

    /// The state, locked.
    pub fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The next arrival number.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh request id.
    pub fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}-{n}", &self.id[..8.min(self.id.len())])
    }

    /// Records a warning.
    pub fn warn(&self, code: &str, message: impl Into<String>) {
        self.st().warnings.push((code.to_string(), message.into()));
    }

    /// Reports a completed node.
    pub fn trace(&self, ev: TraceEvent) {
        if let Some(t) = &self.opts.trace {
            t(&ev);
        }
    }

    /// `{name, version}` of the pattern.
    pub fn pattern_ref(&self) -> Json {
        json!({"name": self.plan.meta.name, "version": self.plan.meta.version})
    }

    /// `$execution`.
    pub fn execution_json(&self, attempt: u32) -> Json {
        let st = self.st();
        let agents: std::collections::HashSet<&str> =
            st.results.iter().map(|r| r.agent_id.as_str()).collect();
        json!({
            "agentCount": agents.len(),
            "duration": self.started.elapsed().as_millis() as u64,
            "startedAt": super::record::rfc3339(self.started_ms()),
            "attempt": attempt,
            "id": self.id,
            "pattern": self.plan.meta.name,
            "version": self.plan.meta.version,
        })
    }

    /// Start time in ms since the epoch.
    pub fn started_ms(&self) -> u64 {
        super::record::now_ms().saturating_sub(self.started.elapsed().as_millis() as u64)
    }
}
