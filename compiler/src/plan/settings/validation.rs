//! `validation` (§1.8): the checks on a phase's record and what happens when one fails.

use serde_json::Value;

use super::Num;

settings_struct! {
    /// `validation.$custom`: a condition over the record, and what to do when it holds.
    pub struct CustomCheck {
        /// `condition`: an expression over `result`, `confidence` and `value`.
        condition: String = "condition",
        /// `action`: `override`, `fail` (the default) or `retry`.
        action: String = "action",
        /// `value`: the record literal an `override` puts in place; free-form (any JSON
        /// value, its strings may be expressions).
        value: Value = "value",
    }
}

settings_struct! {
    /// `validation.fallback`: what replaces a record that failed validation.
    pub struct ValidationFallback {
        /// `type`: `default` (the default), `cached` or `escalate`.
        kind: String = "type",
        /// `value` of a `default` fallback: a record literal, free-form (any JSON value).
        value: Value = "value",
        /// `maxAge` ms of a `cached` record.
        max_age: u64 = "maxAge",
        /// `to`: who an `escalate` goes to (`human`).
        to: String = "to",
    }
}

impl ValidationFallback {
    /// `type` (`default` when absent).
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("default")
    }
}

settings_struct! {
    /// The settings of a validation.
    pub struct ValidationSettings {
        /// `minConfidence` the record must reach.
        min_confidence: Num = "minConfidence",
        /// `schema`: a JSON Schema the record's value must satisfy; free-form, since a schema
        /// is any JSON Schema document.
        schema: Value = "schema",
        /// `maxLatency` ms: later answers count as failed.
        max_latency: u64 = "maxLatency",
        /// `$custom` check.
        custom: CustomCheck = "$custom",
        /// `onFailure`: `fail` (the default), `retry` or `fallback`.
        on_failure: String = "onFailure",
        /// `onInvalid` (a schema failure; `onFailure` when absent).
        on_invalid: String = "onInvalid",
        /// `onTimeout` (a `maxLatency` failure; `onFailure` when absent).
        on_timeout: String = "onTimeout",
        /// `maxRetries` (2).
        max_retries: u64 = "maxRetries",
        /// `retryDelay` ms (1000).
        retry_delay: u64 = "retryDelay",
        /// `fallback` when the policy is `fallback` (or retries run out).
        fallback: ValidationFallback = "fallback",
    }
}
