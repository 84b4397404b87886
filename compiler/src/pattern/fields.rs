//! What `$name.` can be followed by (§1.9): the fields of the record a reference names — an
//! aggregation's tallies, a step's record, `$execution`, `$validation`, the input's fields, and
//! the keys a step's `output` mapping or `assign` gives its value. The reference checks use it
//! for "did you mean" (`$vote.winer` → `winner`), the language server for completion after
//! `$name.`.

use crate::pattern::yaml::Yaml;

/// Fields every reference has: `.result` is the value, `.confidence` its confidence.
pub const RECORD_FIELDS: &[&str] = &["result", "confidence"];
/// The fields of a step record.
pub const STEP_FIELDS: &[&str] = &[
    "success",
    "error",
    "source",
    "agents",
    "results",
    "attempts",
    "passed",
    "case",
    "iterations",
    "validation",
];
/// The fields of `$validation`.
pub const VALIDATION_FIELDS: &[&str] = &["passed", "attempts", "source"];
/// The fields of a group's record.
const GROUP_FIELDS: &[&str] = &["agentId", "agentName", "reasoning", "members"];

/// The fields of an aggregation record of `strategy` (§1.6).
pub fn aggregation_fields(strategy: &str) -> &'static [&'static str] {
    match strategy {
        "voting" => &[
            "winner",
            "status",
            "consensusType",
            "unanimous",
            "isUnanimous",
            "isSplit",
            "agreement",
            "distribution",
            "counts",
            "votes",
            "members",
            "metadata",
            "reached",
            "asked",
            "missing",
        ],
        "consensus" => &[
            "winner",
            "agreement",
            "reached",
            "distribution",
            "counts",
            "averageConfidence",
            "members",
            "dissent",
            "asked",
            "missing",
            "fields",
        ],
        "merge" => &["contributors", "method"],
        "first" | "best" => &["agentId", "agentName", "reasoning"],
        _ => &["fields"],
    }
}

/// True for every field name a record of the executor may carry: a step's, a group's or
/// any aggregation's (other keys of a `$reference.path` read into the value).
pub fn is_record_field(name: &str) -> bool {
    STEP_FIELDS.contains(&name)
        || GROUP_FIELDS.contains(&name)
        || ["skipped", "metadata"].contains(&name)
        || ["voting", "consensus", "merge", "first", "fields"]
            .iter()
            .any(|s| aggregation_fields(s).contains(&name))
}

/// The strategy an alias stands for (`vote` → `voting`).
pub fn alias_strategy(alias: &str) -> Option<&'static str> {
    Some(match alias {
        "vote" => "voting",
        "consensus" => "consensus",
        "merged" => "merge",
        "first" => "first",
        "best" => "best",
        "aggregated" => "fields",
        _ => return None,
    })
}

/// The fields `$name.` may be followed by.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// The names, record fields first.
    pub fields: Vec<String>,
    /// True when nothing else can follow (`$execution`): other paths do not read into a
    /// value whose keys are unknown.
    pub exact: bool,
    /// What the reference is, for messages (`a voting record`, `the step record`, …).
    pub what: String,
}

/// What is known about `$name.` in the pattern whose YAML root is `root`; `None` for names
/// this module knows nothing about.
pub fn known_fields(name: &str, root: Option<&Yaml>) -> Option<Known> {
    let strs = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let record = |extra: &[&str], what: String| {
        let mut fields = strs(RECORD_FIELDS);
        fields.extend(strs(extra));
        Known {
            fields,
            exact: false,
            what,
        }
    };
    // A step (or its output name) may shadow `$execution` and `$validation`.
    let step = root
        .and_then(|r| Some((r, r.get("steps")?)))
        .and_then(|(r, steps)| Some((r, find_step(steps, name)?)));
    if let Some((root, step)) = step {
        return Some(step_known(name, root, step));
    }
    match name {
        "execution" => {
            return Some(Known {
                fields: strs(crate::pattern::refs::EXECUTION_FIELDS),
                exact: true,
                what: "`$execution`".into(),
            });
        }
        "validation" => {
            return Some(Known {
                fields: strs(VALIDATION_FIELDS),
                exact: true,
                what: "`$validation`".into(),
            });
        }
        "input" => {
            let fields: Vec<String> = root
                .and_then(|r| r.get("input"))
                .and_then(Yaml::as_map)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, _)| k.key_text())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            return (!fields.is_empty()).then(|| Known {
                fields,
                exact: false,
                what: "the input".into(),
            });
        }
        _ => {}
    }
    let alias = || {
        alias_strategy(name)
            .map(|strategy| record(aggregation_fields(strategy), format!("a {strategy} record")))
    };
    let Some(root) = root else {
        return alias();
    };
    if name == "aggregation" {
        let strategy = strategy_of(root)?;
        return Some(record(
            aggregation_fields(&strategy),
            format!("a {strategy} record"),
        ));
    }
    if let Some(known) = alias() {
        return Some(known);
    }
    let in_groups = |g: Option<&Yaml>| g.and_then(|g| g.get(name)).is_some();
    if in_groups(root.get("groups")) {
        return Some(record(GROUP_FIELDS, format!("group `{name}`")));
    }
    None
}

/// The record of step `name`: its fields, its aggregation's, and the keys of its value when
/// known (an `output` mapping, `assign` values).
fn step_known(name: &str, root: &Yaml, step: &Yaml) -> Known {
    let mut fields: Vec<String> = RECORD_FIELDS.iter().map(|s| s.to_string()).collect();
    fields.extend(STEP_FIELDS.iter().map(|s| s.to_string()));
    if let Some(strategy) = strategy_of(step).or_else(|| {
        // An agent step without its own aggregation inherits the top-level one.
        step.get("type")
            .is_none()
            .then(|| strategy_of(root))
            .flatten()
    }) {
        fields.extend(aggregation_fields(&strategy).iter().map(|s| s.to_string()));
    }
    for keys in [step.get("output"), step.get("values")] {
        if let Some(m) = keys.and_then(Yaml::as_map) {
            fields.extend(
                m.iter()
                    .filter_map(|(k, _)| k.key_text())
                    .map(str::to_string),
            );
        }
    }
    Known {
        fields,
        exact: false,
        what: format!("the record of step `{name}`"),
    }
}

/// `aggregation.strategy` of a mapping (`fields` for a per-field aggregation).
fn strategy_of(node: &Yaml) -> Option<String> {
    let agg = node.get("aggregation")?;
    match agg.get("strategy").and_then(Yaml::as_str) {
        Some(s) => Some(s.to_string()),
        None => agg.get("fields").map(|_| "fields".to_string()),
    }
}

/// The step whose `id` (or `name`, or `output` name) is `name`, anywhere under `node`.
fn find_step<'y>(node: &'y Yaml, name: &str) -> Option<&'y Yaml> {
    if let Some(items) = node.as_seq() {
        return items.iter().find_map(|i| find_step(i, name));
    }
    let map = node.as_map()?;
    let names = ["id", "name", "output"];
    if names
        .iter()
        .any(|k| node.get(k).and_then(Yaml::as_str) == Some(name))
    {
        return Some(node);
    }
    map.iter()
        .filter(|(k, _)| k.key_text() != Some("output"))
        .find_map(|(_, v)| find_step(v, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_know_their_fields() {
        let (root, _) = crate::pattern::yaml::parse(
            "name: p\ninput:\n  text: string\nsteps:\n  - id: vote\n    agents: {capabilities: [x]}\n    aggregation: {strategy: voting}\n  - id: pick\n    type: assign\n    values: {label: $vote.winner}\noutput: $pick.label\n",
        );
        let root = root.as_ref();
        let fields = |n: &str| known_fields(n, root).map(|k| k.fields).unwrap_or_default();
        assert!(fields("vote").contains(&"winner".to_string()));
        assert!(fields("vote").contains(&"success".to_string()));
        assert!(fields("pick").contains(&"label".to_string()));
        assert_eq!(fields("input"), vec!["text".to_string()]);
        assert!(known_fields("execution", root).is_some_and(|k| k.exact));
        assert!(known_fields("consensus", None).is_some());
        assert_eq!(known_fields("nothing", root), None);
    }
}
