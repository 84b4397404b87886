//! The workflow input: everything a run needs, carried in the workflow's history so that a
//! replay on any worker sees the same plan. The pattern is pinned by its source text, version
//! and plan hash; the agents travel as the data they were built from (the agents file's text
//! and path, the built-in count, `--agent` URLs), never as live objects.

use std::path::Path;
use std::sync::Arc;

use prism_agents::config::parse_agents;
use prism_agents::{AgentSet, builtin_agents};
use prism_compiler::pattern::{CompileOptions, Loaded};
use prism_compiler::plan::{NodeKind, Plan, SourceKind};
use prism_license::License;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A fresh execution id (UUIDv7), which is also the run's workflow id.
pub fn new_execution_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The agents of a run, as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AgentsData {
    /// The agents file's path as the run named it (command agents run in its folder, which
    /// must exist on the workers too), and its text. `None`: built-in agents.
    pub file: Option<(String, String)>,
    /// How many built-in local agents, without a file.
    pub builtin: usize,
    /// `--agent name=URL` flags, in order.
    pub urls: Vec<String>,
}

impl AgentsData {
    /// Builds the agents (no process is started and nothing is called).
    pub fn build(&self) -> Result<AgentSet, String> {
        let mut set = match &self.file {
            Some((path, text)) => parse_agents(text, Path::new(path)).map_err(|e| e.to_string())?,
            None => builtin_agents(self.builtin.max(3)),
        };
        for flag in &self.urls {
            set.add_url_flag(flag).map_err(|e| e.to_string())?;
        }
        Ok(set)
    }
}

/// The input of the run workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInput {
    /// The execution id (also the workflow id).
    pub execution_id: String,
    /// The pattern's file name as given to `prism run` (its extension selects the front end).
    pub file_name: String,
    /// The pattern's source text.
    pub source: String,
    /// The pattern's version.
    pub version: String,
    /// The plan hash the client compiled; the workflow refuses another.
    pub plan_hash: String,
    /// The run input (validated by the executor).
    pub input: Json,
    /// The agents.
    pub agents: AgentsData,
    /// The overall timeout in ms, if any.
    pub timeout_ms: Option<u64>,
    /// The first retry's backoff in ms.
    pub backoff_ms: u64,
    /// `{kind, scheduledFor?}`.
    pub trigger: Json,
    /// The pattern's `persistence` directive (with the client's `--store` filled in where it
    /// names none), when its records are kept: the workers write them (see [`crate::records`]).
    #[serde(default)]
    pub persistence: Option<Json>,
}

/// The `trigger.kind` of the runs a Temporal schedule starts.
pub const SCHEDULE_TRIGGER: &str = "schedule";

impl RunInput {
    /// The execution id and trigger of the workflow `workflow_id` / `run_id` that this input
    /// started. A run started by `prism run --temporal` carries its execution id (also its
    /// workflow id). The runs a schedule starts all share the schedule's input, whose execution
    /// id is empty: each takes its workflow run id (a UUID, fixed for the run and its replays),
    /// and its `scheduledFor` from the workflow id, which Temporal builds as
    /// `<schedule's workflow id>-<scheduled time, RFC 3339>`.
    pub fn execution(&self, workflow_id: &str, run_id: &str) -> (String, Json) {
        if !self.execution_id.is_empty() {
            return (self.execution_id.clone(), self.trigger.clone());
        }
        let mut trigger = self.trigger.clone();
        if let Some(t) = scheduled_time(workflow_id)
            && let Some(map) = trigger.as_object_mut()
        {
            map.insert("scheduledFor".into(), Json::String(t));
        }
        (run_id.to_string(), trigger)
    }
}

/// The RFC 3339 time at the end of a scheduled workflow's id, in the records' format.
fn scheduled_time(workflow_id: &str) -> Option<String> {
    // The suffix is 20 characters (`2026-01-02T03:04:05Z`) in UTC, longer with an offset.
    (20..=25).find_map(|n| {
        let cut = workflow_id.len().checked_sub(n)?;
        let tail = workflow_id.get(cut..)?;
        if !workflow_id.get(..cut)?.ends_with('-') {
            return None;
        }
        let t = prism_compiler::pattern::directives::parse_rfc3339(tail)?;
        let ms = u64::try_from(t.timestamp_millis()).ok()?;
        Some(prism_executor::record::rfc3339(ms))
    })
}

/// Why a pinned plan could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The source does not compile here (another license, another `prism`).
    #[error("the pattern {file} does not compile on this worker: {message}")]
    Compile {
        /// The file name.
        file: String,
        /// The first error.
        message: String,
    },
    /// The plan compiled here is not the one the run was started with.
    #[error(
        "plan hash mismatch for {file}: the run was started with {expected}, this worker builds {found} (a worker of another prism version?)"
    )]
    Hash {
        /// The file name.
        file: String,
        /// The hash in the input.
        expected: String,
        /// The hash built here.
        found: String,
    },
}

/// Compiles the pinned pattern and checks its plan hash: the plan and the loaded model.
pub fn pinned_plan(
    input: &RunInput,
    license: &License,
) -> Result<(Arc<Plan>, Option<Arc<Loaded>>), PinError> {
    let unit = prism_compiler::driver::compile(
        Path::new(&input.file_name),
        &input.source,
        &CompileOptions::default(),
        license,
    );
    let first_error = unit
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(|d| d.message.clone());
    let plan = match (unit.plan, first_error) {
        (Some(plan), None) => plan,
        (_, message) => {
            return Err(PinError::Compile {
                file: input.file_name.clone(),
                message: message.unwrap_or_else(|| "no plan".into()),
            });
        }
    };
    let found = plan.hash();
    if found != input.plan_hash {
        return Err(PinError::Hash {
            file: input.file_name.clone(),
            expected: input.plan_hash.clone(),
            found,
        });
    }
    Ok((plan, unit.loaded))
}

/// Why a plan cannot run on Temporal (empty: it can). A `.prism` pattern's script runs on an
/// interpreter thread that calls agents directly, which a workflow cannot replay; a phase
/// that asks for healthy agents checks them from the workflow, which must not do I/O.
pub fn refusals(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if plan.meta.source_kind == SourceKind::Prism {
        out.push(format!(
            "{}: annotated `.prism` patterns cannot run on Temporal yet (their script calls agents from an interpreter thread, which a workflow cannot replay); run it locally, or write it as a YAML pattern",
            plan.meta.source_path
        ));
    }
    let healthy = plan.nodes().any(|(_, n)| match &n.kind {
        NodeKind::AgentGroup { selection, .. } => selection.healthy(),
        _ => false,
    });
    if healthy {
        out.push(format!(
            "{}: `agents.healthy: true` cannot run on Temporal yet (health checks would run inside the workflow)",
            plan.meta.source_path
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOTE: &str = "name: vote\nversion: 1.0.0\ninput: {}\nagents:\n  min: 5\naggregation:\n  strategy: voting\n  method: majority\noutput:\n  label: $vote.winner\n";

    fn input_for(source: &str, file: &str) -> RunInput {
        RunInput {
            execution_id: "e1".into(),
            file_name: file.into(),
            source: source.into(),
            version: String::new(),
            plan_hash: String::new(),
            input: serde_json::json!({}),
            agents: AgentsData::default(),
            timeout_ms: None,
            backoff_ms: 1000,
            trigger: serde_json::json!({"kind": "manual"}),
            persistence: None,
        }
    }

    #[test]
    fn a_pinned_plan_is_rebuilt_and_its_hash_checked() {
        let license = License::open_source();
        let mut input = input_for(VOTE, "vote.yaml");
        let err = pinned_plan(&input, &license).expect_err("empty hash");
        assert!(matches!(err, PinError::Hash { .. }), "{err}");
        let PinError::Hash { found, .. } = err else {
            return;
        };
        input.plan_hash = found.clone();
        let (plan, loaded) = pinned_plan(&input, &license).expect("pinned");
        assert_eq!(plan.hash(), found);
        assert!(loaded.is_some());
        assert!(refusals(&plan).is_empty());
        // Another source, the same recorded hash: refused.
        input.source = VOTE.replace("min: 5", "min: 4");
        assert!(matches!(
            pinned_plan(&input, &license),
            Err(PinError::Hash { .. })
        ));
        input.source = "name: [".into();
        assert!(matches!(
            pinned_plan(&input, &license),
            Err(PinError::Compile { .. })
        ));
    }

    #[test]
    fn script_patterns_and_health_checks_are_refused() {
        let license = License::open_source();
        let script = "/**\n * @name p\n * @version 1.0.0\n * @agents {\"minAgents\": 3}\n */\nlet n = agentResults.length\n";
        let unit = prism_compiler::driver::compile(
            Path::new("p.prism"),
            script,
            &CompileOptions::default(),
            &license,
        );
        let plan = unit.plan.expect("a .prism pattern");
        let why = refusals(&plan);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].contains("`.prism` patterns cannot run on Temporal"));
        let healthy = VOTE.replace("min: 5", "min: 5\n  healthy: true");
        let unit = prism_compiler::driver::compile(
            Path::new("h.yaml"),
            &healthy,
            &CompileOptions::default(),
            &license,
        );
        let plan = unit.plan.expect("plan");
        assert!(refusals(&plan)[0].contains("agents.healthy"));
    }

    #[test]
    fn scheduled_runs_take_their_run_id_and_scheduled_time() {
        let mut input = input_for(VOTE, "vote.yaml");
        assert_eq!(
            input.execution("e1", "r1"),
            ("e1".to_string(), serde_json::json!({"kind": "manual"}))
        );
        input.execution_id = String::new();
        input.trigger = serde_json::json!({"kind": SCHEDULE_TRIGGER, "schedule": "prism-vote"});
        let (id, trigger) = input.execution("prism-vote-2026-12-05T03:00:02Z", "r-uuid");
        assert_eq!(id, "r-uuid");
        assert_eq!(trigger["kind"], "schedule");
        assert_eq!(trigger["schedule"], "prism-vote");
        assert_eq!(
            trigger["scheduledFor"],
            prism_executor::record::rfc3339(1_796_439_602_000)
        );
        // A workflow id without a time (a schedule triggered by hand still has one; a
        // foreign id may not): no `scheduledFor`.
        let (_, trigger) = input.execution("prism-vote", "r2");
        assert!(trigger.get("scheduledFor").is_none(), "{trigger}");
    }

    #[test]
    fn agents_travel_as_data_and_round_trip() {
        let data = AgentsData {
            file: Some((
                "/tmp/agents.yaml".into(),
                "agents:\n  - name: a\n    echo: true\n  - name: b\n    echo: true\n".into(),
            )),
            builtin: 0,
            urls: vec!["c=http://127.0.0.1:9/".into()],
        };
        let set = data.build().expect("agents");
        let names: Vec<String> = set.agents.iter().map(|a| a.info().name.clone()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let text = serde_json::to_string(&data).expect("json");
        assert_eq!(
            serde_json::from_str::<AgentsData>(&text).expect("back"),
            data
        );
        let builtin = AgentsData {
            builtin: 5,
            ..AgentsData::default()
        };
        assert_eq!(builtin.build().expect("builtin").agents.len(), 5);
        let bad = AgentsData {
            urls: vec!["nourl".into()],
            ..AgentsData::default()
        };
        assert!(bad.build().is_err());
    }
}
