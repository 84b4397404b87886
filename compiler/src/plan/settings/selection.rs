//! `agents` (§1.3) and org-chart roles (§2): which agents an agent group selects.

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::Num;
use super::ordered::Setting;

/// One name or a list of names (`prefer`, `exclude`, `region`), kept in the form written.
/// Entries may be `$…` expressions, evaluated when the group runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Names {
    /// A single name (or a reference).
    One(String),
    /// A list of names.
    Many(Vec<String>),
}

impl Names {
    /// The names, in order.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Names::One(s) => std::slice::from_ref(s),
            Names::Many(v) => v,
        }
    }
}

impl Serialize for Names {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Names::One(n) => n.serialize(s),
            Names::Many(v) => v.serialize(s),
        }
    }
}

impl Setting for Names {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Array(_) => Vec::<String>::from_json(v)
                .map(Names::Many)
                .map_err(|_| "a name or a list of names".into()),
            _ => String::from_json(v)
                .map(Names::One)
                .map_err(|_| "a name or a list of names".into()),
        }
    }
}

settings_struct! {
    /// `agents.distribution`: spread the agents over regions.
    pub struct Distribution {
        /// `regions` to spread over.
        regions: Vec<String> = "regions",
        /// `minPerRegion` (1).
        min_per_region: u64 = "minPerRegion",
    }
}

settings_struct! {
    /// The selection of a pattern's agent group (YAML `agents`, a `.prism` `@agents` header,
    /// or the settings a script passes to `callAgents`).
    pub struct AgentsSelection {
        /// `capabilities`: every one is required (`$…` entries are expressions).
        capabilities: Vec<String> = "capabilities",
        /// `min` agents (1).
        min: u64 = "min",
        /// `max` agents (all).
        max: u64 = "max",
        /// `prefer`: names or capabilities ranked first.
        prefer: Names = "prefer",
        /// `exclude`: names (or ids) left out, or a reference to them.
        exclude: Names = "exclude",
        /// `region`: allowed regions.
        region: Names = "region",
        /// `distribution` over regions.
        distribution: Distribution = "distribution",
        /// `taskTimeout` ms per call (30000).
        task_timeout: u64 = "taskTimeout",
        /// `retries` per call (2).
        retries: u64 = "retries",
        /// `healthy`: only agents not marked unhealthy.
        healthy: bool = "healthy",
        /// `minConfidence` of a `.prism` header: free-form, since the header forwards it
        /// unchecked to the script (as `agents.minConfidence`), which gives it its meaning.
        min_confidence: Value = "minConfidence",
    }
}

settings_struct! {
    /// A role's `confidence` policy (§2): accept, retry or escalate an answer by confidence.
    pub struct RolePolicy {
        /// `accept` at or above this confidence (0.8).
        accept: Num = "accept",
        /// `retryBelow`: ask another agent below this.
        retry_below: Num = "retryBelow",
        /// `escalateBelow`: escalate below this.
        escalate_below: Num = "escalateBelow",
    }
}

impl RolePolicy {
    /// `accept` (0.8 when absent).
    pub fn accept(&self) -> f64 {
        self.accept.as_ref().map_or(0.8, Num::get)
    }
}

/// The selection of an org-chart role (§2). Every key is always present (null when unset).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleSelection {
    /// Required capabilities (none = any agent).
    pub capabilities: Vec<String>,
    /// Preferred agent labels (`agentType`).
    pub agent_type: Vec<String>,
    /// `minInstances`.
    pub min: u32,
    /// `maxInstances`.
    pub max: u32,
    /// `reportsTo`: the role that escalations go to.
    pub reports_to: Option<String>,
    /// `confidence`: the role's policy.
    pub policy: Option<RolePolicy>,
    /// `verify`: the role's oracles, forwarded as written (one mapping or a list); free-form
    /// here because the org-chart loader checks them and the verifier reads them as written.
    pub verify: Value,
}

/// What an agent group selects: agents by capabilities and counts, or an org-chart role.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentSelection {
    /// By capabilities, counts, preferences and regions.
    Agents(AgentsSelection),
    /// An org-chart role.
    Role(RoleSelection),
}

impl Serialize for AgentSelection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AgentSelection::Agents(a) => a.serialize(s),
            AgentSelection::Role(r) => r.serialize(s),
        }
    }
}

impl AgentSelection {
    /// The required capabilities (`$…` entries are expressions).
    pub fn capabilities(&self) -> &[String] {
        match self {
            AgentSelection::Agents(a) => a.capabilities.as_deref().unwrap_or_default(),
            AgentSelection::Role(r) => &r.capabilities,
        }
    }

    /// `min`, when set.
    pub fn min(&self) -> Option<u64> {
        match self {
            AgentSelection::Agents(a) => a.min,
            AgentSelection::Role(r) => Some(u64::from(r.min)),
        }
    }

    /// `max`, when set.
    pub fn max(&self) -> Option<u64> {
        match self {
            AgentSelection::Agents(a) => a.max,
            AgentSelection::Role(r) => Some(u64::from(r.max)),
        }
    }

    /// True when only healthy agents qualify (`healthy: true`).
    pub fn healthy(&self) -> bool {
        matches!(self, AgentSelection::Agents(a) if a.healthy == Some(true))
    }

    /// `taskTimeout`, when set.
    pub fn task_timeout(&self) -> Option<u64> {
        match self {
            AgentSelection::Agents(a) => a.task_timeout,
            AgentSelection::Role(_) => None,
        }
    }

    /// `retries`, when set.
    pub fn retries(&self) -> Option<u64> {
        match self {
            AgentSelection::Agents(a) => a.retries,
            AgentSelection::Role(_) => None,
        }
    }

    /// The selection as JSON, as the plan shows it.
    pub fn to_json(&self) -> Value {
        super::to_json(self)
    }
}
