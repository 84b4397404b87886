//! The pattern-level settings: `confidence` (§1.7) and the top-level `fallback` (§1.8).

use indexmap::IndexMap;

use super::Num;

settings_struct! {
    /// How the pattern confidence is computed.
    pub struct ConfidenceSettings {
        /// `method`: `average`, `min`, `max`, `weighted`, `custom`, or (filled in when the
        /// pattern has no `confidence`) `final` or `aggregation`.
        method: String = "method",
        /// `weights` per group or step name (weighted).
        weights: IndexMap<String, Num> = "weights",
        /// `expression` (custom).
        expression: String = "expression",
        /// `over`: what the confidence is taken over (an org chart's `answers`).
        over: String = "over",
    }
}

impl ConfidenceSettings {
    /// `method` (`average` when absent).
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("average")
    }
}

settings_struct! {
    /// The top-level `fallback`: what happens when its condition holds at the end of a run.
    pub struct FallbackSettings {
        /// `condition`: an expression over `confidence`, `result` and `input` (`true`).
        condition: String = "condition",
        /// `action`: `default` (the default), `retry` or `escalate`.
        action: String = "action",
        /// `target` of an escalation (`human`).
        target: String = "target",
        /// `value`: the output of a `default`; free-form (any value, its strings may be
        /// expressions), typed and compiled when the plan is built.
        value: crate::plan::output::OutputValue = "value",
        /// `maxRetries` of a retry (3).
        max_retries: u64 = "maxRetries",
    }
}

impl FallbackSettings {
    /// `action` (`default` when absent).
    pub fn action(&self) -> &str {
        self.action.as_deref().unwrap_or("default")
    }
}
