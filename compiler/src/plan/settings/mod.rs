//! Typed node settings (§1.3–1.8): what an agent group selects and how it dispatches, how an
//! aggregation, a validation, the pattern confidence and the top-level fallback work, and
//! where a composed pattern resolved. The pattern loaders build them once the settings are
//! checked; the plan carries them and the executor reads their fields (no key lookups into
//! JSON at run time).
//!
//! A settings mapping serializes in the order its keys were written, then the keys the loader
//! filled in (defaults), so the plan JSON keeps the order of the source. Free-form parts (a
//! JSON Schema, a record literal, a request input shape) stay [`serde_json::Value`] and say so.

#[macro_use]
mod ordered;
mod aggregation;
mod execution;
mod pattern;
mod selection;
mod steps;
mod validation;

pub use aggregation::{
    AggregationField, AggregationSettings, AggregationStrategy, Weight, Weights,
};
pub use execution::{ExecutionSettings, ExecutionStrategy, PipelineStep};
pub use ordered::{Num, Setting, SettingsError};
pub use pattern::{ConfidenceSettings, FallbackSettings};
pub use selection::{
    AgentSelection, AgentsSelection, Distribution, Names, RolePolicy, RoleSelection,
};
pub use steps::{AssignValues, GateCondition, GateTest};
pub use validation::{CustomCheck, ValidationFallback, ValidationSettings};

use serde::Serialize;

/// Where a composed pattern resolved (`SubPattern.resolved`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedRef {
    /// The file it was found in.
    pub path: String,
    /// Its version.
    pub version: String,
    /// `sha256:<hex>` of its plan.
    pub plan_hash: String,
}

/// Settings as a JSON value (for emitters that print or scan them).
pub fn to_json<T: Serialize>(settings: &T) -> serde_json::Value {
    serde_json::to_value(settings).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests;
