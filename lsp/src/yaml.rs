//! Completion in YAML pattern files (patterns.md): the keys a mapping accepts where the
//! cursor is, and the allowed values of a key after its `:`.

use tower_lsp_server::ls_types::*;

const TOP: &[&str] = &[
    "name",
    "version",
    "description",
    "author",
    "tags",
    "metadata",
    "input",
    "agents",
    "execution",
    "groups",
    "aggregation",
    "steps",
    "confidence",
    "validation",
    "fallback",
    "output",
    "schedule",
    "persistence",
    "versioning",
];
const ORG_TOP: &[&str] = &[
    "name",
    "structure",
    "workflow",
    "version",
    "description",
    "workspace",
    "metadata",
    "schedule",
    "persistence",
    "versioning",
];
const AGENTS: &[&str] = &[
    "capabilities",
    "min",
    "max",
    "prefer",
    "exclude",
    "region",
    "distribution",
    "taskTimeout",
    "retries",
];
const EXECUTION: &[&str] = &[
    "strategy",
    "timeout",
    "waitForAll",
    "minResults",
    "stopOnError",
    "steps",
    "minConfidence",
];
const AGGREGATION: &[&str] = &[
    "strategy",
    "method",
    "threshold",
    "minVotes",
    "key",
    "weights",
    "conflictResolution",
    "fields",
    "arrayStrategy",
    "deduplication",
    "deduplicationKey",
    "by",
    "expression",
    "minConfidence",
];
const VALIDATION: &[&str] = &[
    "minConfidence",
    "schema",
    "maxLatency",
    "$custom",
    "onFailure",
    "onInvalid",
    "onTimeout",
    "maxRetries",
    "retryDelay",
    "fallback",
];
const STEP: &[&str] = &[
    "id",
    "name",
    "type",
    "condition",
    "output",
    "then",
    "onError",
    "agents",
    "execution",
    "aggregation",
    "validation",
    "groups",
    "input",
    "instructions",
    "pattern",
    "branches",
    "value",
    "cases",
    "default",
    "onPass",
    "onFail",
    "steps",
    "maxIterations",
    "items",
    "task",
    "concurrency",
    "values",
    "to",
    "context",
];
const CONFIDENCE: &[&str] = &["method", "weights", "expression", "take"];
const FALLBACK: &[&str] = &["condition", "action", "target", "value", "maxRetries"];
const SCHEDULE: &[&str] = &[
    "cron", "interval", "timezone", "start", "end", "maxRuns", "missed", "overlap", "input",
];
const PERSISTENCE: &[&str] = &["store", "retention"];
const VERSIONING: &[&str] = &["keepHistory", "rollback"];
const STRUCTURE: &[&str] = &["name", "description", "roles", "routing", "escalation"];
const WORKFLOW: &[&str] = &["name", "input", "steps", "output"];
const DISTRIBUTION: &[&str] = &["regions", "minPerRegion"];

/// The keys accepted under `parent` (the nearest enclosing key; `""` at the top).
fn keys_for(parent: &str, org: bool) -> &'static [&'static str] {
    match parent {
        "" if org => ORG_TOP,
        "" => TOP,
        "agents" => AGENTS,
        "execution" => EXECUTION,
        "aggregation" | "fields" => AGGREGATION,
        "validation" => VALIDATION,
        "steps" | "branches" | "task" => STEP,
        "confidence" => CONFIDENCE,
        "fallback" => FALLBACK,
        "schedule" => SCHEDULE,
        "persistence" => PERSISTENCE,
        "versioning" => VERSIONING,
        "structure" => STRUCTURE,
        "workflow" => WORKFLOW,
        "distribution" => DISTRIBUTION,
        _ => &[],
    }
}

/// The allowed values of `key` under `parent`.
fn values_for(parent: &str, key: &str) -> &'static [&'static str] {
    match (parent, key) {
        ("execution", "strategy") => &["parallel", "sequential", "race", "first"],
        ("aggregation" | "fields", "strategy") => &[
            "voting",
            "consensus",
            "merge",
            "first",
            "best",
            "average",
            "min",
            "max",
        ],
        ("aggregation" | "fields", "method") => &[
            "majority",
            "plurality",
            "unanimous",
            "weighted",
            "shallow",
            "deep",
            "concat",
            "union",
            "intersection",
        ],
        (_, "conflictResolution") => &[
            "highest-confidence",
            "weighted",
            "first",
            "last",
            "majority",
        ],
        (_, "arrayStrategy") => &["union", "concat", "replace"],
        (_, "by") => &["confidence", "custom"],
        ("confidence", "method") | ("", "confidence") => {
            &["average", "min", "max", "weighted", "custom"]
        }
        (_, "take") => &["first", "last", "all"],
        (_, "onFailure" | "onInvalid" | "onTimeout") => &["fail", "retry", "fallback"],
        ("fallback", "action") => &["default", "retry", "escalate"],
        (_, "action") => &["accept", "retry", "escalate", "fail"],
        (_, "type") => &[
            "parallel", "switch", "gate", "loop", "batch", "assign", "default", "escalate", "fail",
            "continue", "cached", "retry",
        ],
        (_, "missed") => &["skip", "once", "all"],
        (_, "overlap") => &["skip", "queue", "allow"],
        (
            _,
            "waitForAll" | "stopOnError" | "required" | "uniqueItems" | "persistence"
            | "versioning",
        ) => &["true", "false"],
        ("input", _) | (_, "items") => &[
            "string", "number", "integer", "boolean", "array", "object", "any",
        ],
        _ => &[],
    }
}

/// Completion items for a YAML pattern at byte `offset`.
pub fn completion(text: &str, offset: usize) -> Vec<CompletionItem> {
    let offset = crate::position::floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    let indent = line.len() - line.trim_start_matches([' ', '-']).len();
    let org = text
        .lines()
        .any(|l| l.starts_with("structure:") || l.starts_with("workflow:"));
    let parent = parent_key(&text[..line_start], indent);
    if let Some((key, _)) = line.trim_start_matches([' ', '-']).split_once(':') {
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        return values_for(&parent, key)
            .iter()
            .map(|v| item(v, CompletionItemKind::ENUM_MEMBER, format!("{key} value")))
            .collect();
    }
    let present: Vec<String> = siblings(&text[..line_start], indent);
    keys_for(&parent, org)
        .iter()
        .filter(|k| !present.iter().any(|p| p == *k))
        .map(|k| {
            item(
                k,
                CompletionItemKind::PROPERTY,
                format!(
                    "{} key",
                    if parent.is_empty() {
                        "pattern"
                    } else {
                        &parent
                    }
                ),
            )
        })
        .collect()
}

fn item(label: &str, kind: CompletionItemKind, detail: String) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail),
        ..CompletionItem::default()
    }
}

/// The nearest key above with less indentation than `indent` (`""` at the top level).
fn parent_key(above: &str, indent: usize) -> String {
    for l in above.lines().rev() {
        let body = l.trim_start_matches([' ', '-']);
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let ind = l.len() - body.len();
        if ind < indent
            && let Some((k, _)) = body.split_once(':')
        {
            return k.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        }
        if ind == 0 && indent > 0 && !body.contains(':') {
            break;
        }
    }
    String::new()
}

/// The keys already written at `indent` in the same mapping.
fn siblings(above: &str, indent: usize) -> Vec<String> {
    let mut out = Vec::new();
    for l in above.lines().rev() {
        let body = l.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let ind = l.len() - body.len();
        if ind < indent {
            break;
        }
        if ind == indent
            && let Some((k, _)) = body.split_once(':')
        {
            out.push(k.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str) -> Vec<String> {
        completion(text, text.len())
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn keys_follow_the_enclosing_mapping() {
        let top = labels("name: x\n");
        assert!(top.contains(&"aggregation".to_string()) && !top.contains(&"name".to_string()));
        let agg = labels("name: x\naggregation:\n  ");
        assert!(agg.contains(&"strategy".to_string()), "{agg:?}");
    }

    #[test]
    fn values_after_a_key() {
        let v = labels("name: x\naggregation:\n  strategy: ");
        assert!(v.contains(&"consensus".to_string()), "{v:?}");
        let e = labels("execution:\n  strategy: ");
        assert!(e.contains(&"race".to_string()), "{e:?}");
    }
}
