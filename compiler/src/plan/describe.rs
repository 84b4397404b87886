//! What the plan pictures (`--emit dot|mermaid`) say about a node: its settings in short
//! lines (capabilities, strategy, aggregation, conditions, fallback target) and its static
//! confidence estimate, with a legend that explains the annotation.

use serde_json::Value;

use crate::plan::settings::ExecutionSettings;
use crate::plan::{Node, NodeKind};

/// The legend's lines.
pub const LEGEND: &[&str] = &[
    "conf ~E (≥L): static confidence estimate of the node",
    "E expected: agents answer at their assumed confidence (0.7, or --agents FILE) and agree",
    "L lower bound: the worst case (0 when an agent may fail; a passed gate lifts it)",
    "no conf line: unknown until run (scripts, custom confidence)",
];

/// The longest setting line before it is cut with `…`.
const MAX: usize = 48;

/// The lines a picture shows for `n`: kind and id, then its settings, then its estimate.
pub fn lines(n: &Node) -> Vec<String> {
    let mut out = vec![format!("{} {}", n.kind.name(), n.id)];
    out.extend(settings(&n.kind).into_iter().map(|l| cut(&l)));
    if let Some(e) = n.estimate {
        out.push(format!("conf ~{:.2} (≥{:.2})", e.expected, e.lower));
    }
    out
}

fn cut(line: &str) -> String {
    if line.chars().count() <= MAX {
        return line.to_string();
    }
    let kept: String = line.chars().take(MAX - 1).collect();
    format!("{kept}…")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `key: value` for each present key of `config`.
fn keys(config: &Value, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|k| config.get(k).map(|v| format!("{k}: {}", text(v))))
        .collect()
}

/// The settings of a node kind, one short line each.
pub fn settings(kind: &NodeKind) -> Vec<String> {
    match kind {
        NodeKind::AgentGroup {
            selection,
            execution,
            task,
            role,
            ..
        } => agent_group(
            &selection.to_json(),
            execution,
            task.as_deref(),
            role.as_deref(),
        ),
        NodeKind::Group {
            name,
            matcher,
            take,
        } => vec![
            format!("group: {name}"),
            format!("match: {matcher}"),
            format!("take: {take}"),
        ],
        NodeKind::Aggregate { config } => aggregation(&config.to_json()),
        NodeKind::Validate { config } => validation(&config.to_json()),
        NodeKind::Confidence { config } => {
            let config = &config.to_json();
            let mut out = vec![format!(
                "confidence: {}",
                config
                    .get("method")
                    .map(text)
                    .unwrap_or_else(|| "average".into())
            )];
            out.extend(keys(config, &["expression"]));
            out
        }
        NodeKind::Switch { value, cases } => {
            let mut out = vec![format!("value: {value}")];
            out.extend(cases.iter().map(|(label, cond)| match cond {
                Some(c) => format!("case {label}: {c}"),
                None => format!("case {label}"),
            }));
            out
        }
        NodeKind::Gate { condition } => vec![format!("if: {}", text(&condition.to_json()))],
        NodeKind::Loop {
            max_iterations,
            condition,
            ..
        } => {
            let mut out = vec![format!("at most {max_iterations} passes")];
            if let Some(c) = condition {
                out.push(format!("again while: {c}"));
            }
            out
        }
        NodeKind::Batch {
            items, concurrency, ..
        } => vec![
            format!("items: {items}"),
            format!("concurrency: {concurrency}"),
        ],
        NodeKind::Assign { values } => vec![format!(
            "sets: {}",
            values.keys().cloned().collect::<Vec<_>>().join(", ")
        )],
        NodeKind::Const { value } => vec![format!("value: {}", text(&value.to_json()))],
        NodeKind::SubPattern { name, range, .. } => vec![match range {
            Some(r) => format!("pattern: {name}@{r}"),
            None => format!("pattern: {name}"),
        }],
        NodeKind::Task { action, role, task } => {
            let mut out = vec![format!("{action} → {role}")];
            if let Some(t) = task {
                out.push(format!("task: {t}"));
            }
            out
        }
        NodeKind::Escalate { to, .. } => vec![format!(
            "to: {}",
            to.clone().unwrap_or_else(|| "human".into())
        )],
        NodeKind::Fallback { config } => fallback(&config.to_json()),
        NodeKind::Input { .. }
        | NodeKind::Script { .. }
        | NodeKind::Parallel
        | NodeKind::Sequence
        | NodeKind::Output { .. } => Vec::new(),
    }
}

/// An agent group's role, selection, execution options and task.
fn agent_group(
    selection: &Value,
    execution: &ExecutionSettings,
    task: Option<&str>,
    role: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = role {
        out.push(format!("role: {r}"));
    }
    let caps = selection.get("capabilities").map(text).unwrap_or_default();
    out.push(if caps.is_empty() {
        "capabilities: any".to_string()
    } else {
        format!("capabilities: {caps}")
    });
    let min = selection.get("min").map(text).unwrap_or_else(|| "1".into());
    let max = selection
        .get("max")
        .map(text)
        .unwrap_or_else(|| "all".into());
    out.push(format!("agents: min {min}, max {max}"));
    out.push(format!("strategy: {}", execution.strategy()));
    if let Some(t) = execution.timeout {
        out.push(format!("timeout: {t}"));
    }
    if let Some(n) = execution.min_results {
        out.push(format!("minResults: {n}"));
    }
    if let Some(w) = execution.wait_for_all {
        out.push(format!("waitForAll: {w}"));
    }
    if let Some(c) = &execution.min_confidence {
        out.push(format!("minConfidence: {c}"));
    }
    out.extend(keys(
        selection,
        &["taskTimeout", "retries", "prefer", "exclude"],
    ));
    if let Some(t) = task {
        out.push(format!("task: {t}"));
    }
    out
}

/// The strategy (and method) of an aggregation, its options and its fields.
fn aggregation(config: &Value) -> Vec<String> {
    let strategy = config
        .get("strategy")
        .map(text)
        .unwrap_or_else(|| "fields".into());
    let mut head = format!("aggregation: {strategy}");
    if let Some(m) = config.get("method") {
        head.push_str(&format!(" ({})", text(m)));
    }
    let mut out = vec![head];
    out.extend(keys(
        config,
        &[
            "threshold",
            "minVotes",
            "key",
            "conflictResolution",
            "minConfidence",
            "by",
        ],
    ));
    if let Some(Value::Array(fields)) = config.get("fields") {
        let names: Vec<String> = fields
            .iter()
            .filter_map(|f| f.get("name").map(text))
            .collect();
        out.push(format!("fields: {}", names.join(", ")));
    }
    out
}

/// A validation's limits and policies, schema, custom condition and fallback.
fn validation(config: &Value) -> Vec<String> {
    let mut out = keys(
        config,
        &[
            "minConfidence",
            "maxLatency",
            "onFailure",
            "onInvalid",
            "onTimeout",
            "maxRetries",
        ],
    );
    if config.get("schema").is_some() {
        out.push("schema: yes".into());
    }
    if let Some(c) = config.get("$custom").and_then(|c| c.get("condition")) {
        out.push(format!("custom: {}", text(c)));
    }
    if let Some(fb) = config.get("fallback") {
        let kind = fb.get("type").map(text).unwrap_or_else(|| "default".into());
        out.push(match fb.get("to") {
            Some(to) => format!("fallback: {kind} → {}", text(to)),
            None => format!("fallback: {kind}"),
        });
    }
    out
}

/// A fallback's condition, action and target.
fn fallback(config: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = config.get("condition") {
        out.push(format!("if: {}", text(c)));
    }
    out.push(format!(
        "action: {}",
        config
            .get("action")
            .map(text)
            .unwrap_or_else(|| "default".into())
    ));
    out.extend(keys(config, &["target", "maxRetries"]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_name_what_a_reader_needs() {
        let group = NodeKind::AgentGroup {
            selection: crate::plan::settings::AgentSelection::Agents(
                crate::plan::settings::AgentsSelection::parse(
                    &json!({"capabilities": ["fast"], "min": 1}),
                )
                .0,
            ),
            execution: crate::plan::settings::ExecutionSettings::with_strategy(
                crate::plan::settings::ExecutionStrategy::Race,
            ),
            task: None,
            role: None,
            input: None,
            inherited: false,
        };
        assert_eq!(
            settings(&group),
            vec![
                "capabilities: fast",
                "agents: min 1, max all",
                "strategy: race"
            ]
        );
        let fb = NodeKind::Fallback {
            config: crate::plan::settings::FallbackSettings::parse(
                &json!({"condition": "confidence < 0.5", "action": "escalate", "target": "expert"}),
            )
            .0,
        };
        assert_eq!(
            settings(&fb),
            vec!["if: confidence < 0.5", "action: escalate", "target: expert"]
        );
        assert_eq!(cut(&"x".repeat(60)).chars().count(), MAX);
    }
}
