//! Completion in YAML pattern files (patterns.md): the keys a mapping accepts where the
//! cursor is, and the allowed values of a key after its `:`.

use std::sync::LazyLock;

use prism_compiler::pattern::{directives, input, load, orgchart, phase, steps};
use tower_lsp_server::ls_types::*;

/// The keys of a step of any kind.
static STEP: LazyLock<Vec<&'static str>> = LazyLock::new(steps::all_keys);
/// The keys offered under `confidence`: the compiler's `{method, weights, expression}`,
/// and `take`.
const CONFIDENCE: &[&str] = &["method", "weights", "expression", "take"];

/// The keys accepted under `parent` (the nearest enclosing key; `""` at the top).
fn keys_for(parent: &str, org: bool) -> &'static [&'static str] {
    match parent {
        "" if org => orgchart::TOP_KEYS,
        "" => load::TOP_KEYS,
        "agents" => phase::AGENTS_KEYS,
        "execution" => phase::EXECUTION_KEYS,
        "aggregation" | "fields" => phase::AGGREGATION_KEYS,
        "validation" => phase::VALIDATION_KEYS,
        "steps" | "branches" | "task" => &STEP,
        "confidence" => CONFIDENCE,
        "fallback" => phase::FALLBACK_KEYS,
        "schedule" => directives::SCHEDULE_KEYS,
        "persistence" => directives::PERSISTENCE_KEYS,
        "versioning" => directives::VERSIONING_KEYS,
        "structure" => orgchart::STRUCTURE_KEYS,
        "workflow" => orgchart::WORKFLOW_KEYS,
        "distribution" => phase::DISTRIBUTION_KEYS,
        _ => &[],
    }
}

/// The allowed values of `key` under `parent`.
fn values_for(parent: &str, key: &str) -> &'static [&'static str] {
    match (parent, key) {
        ("execution", "strategy") => phase::EXECUTION_STRATEGIES,
        ("aggregation" | "fields", "strategy") => phase::FIELD_STRATEGIES,
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
        (_, "arrayStrategy") => phase::ARRAY_STRATEGIES,
        (_, "by") => phase::BEST_BY,
        ("confidence", "method") | ("", "confidence") => phase::CONFIDENCE_METHODS,
        (_, "take") => phase::GROUP_TAKE,
        (_, "onFailure" | "onInvalid" | "onTimeout") => phase::POLICIES,
        ("fallback", "action") => phase::FALLBACK_ACTIONS,
        (_, "action") => steps::CASE_ACTIONS,
        (_, "type") => &[
            "parallel", "switch", "gate", "loop", "batch", "assign", "default", "escalate", "fail",
            "continue", "cached", "retry",
        ],
        (_, "missed") => directives::SCHEDULE_MISSED,
        (_, "overlap") => directives::SCHEDULE_OVERLAP,
        (
            _,
            "waitForAll" | "stopOnError" | "required" | "uniqueItems" | "persistence"
            | "versioning",
        ) => &["true", "false"],
        ("input", _) | (_, "items") => input::TYPES,
        _ => &[],
    }
}

/// After `$name.` (and a partial field): the fields of `$name`'s record, from the compiler's
/// [`known_fields`](prism_compiler::pattern::fields::known_fields).
fn reference_fields(text: &str, before: &str) -> Option<Vec<CompletionItem>> {
    let partial = before
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        .len();
    let head = before[..partial].strip_suffix('.')?;
    let name_start = head
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        .len();
    let name = &head[name_start..];
    if name.is_empty() || !head[..name_start].ends_with('$') || head[..name_start].ends_with("$$") {
        return None;
    }
    let (mut root, _) = prism_compiler::pattern::yaml::parse(text);
    if root.is_none() {
        // The line being typed may not parse yet (an open quote): read the file without it.
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[before.len()..]
            .find('\n')
            .map_or(text.len(), |i| before.len() + i);
        let rest = format!("{}{}", &text[..line_start], &text[line_end..]);
        root = prism_compiler::pattern::yaml::parse(&rest).0;
    }
    let known = prism_compiler::pattern::fields::known_fields(name, root.as_ref())?;
    Some(
        known
            .fields
            .iter()
            .map(|f| {
                item(
                    f,
                    CompletionItemKind::FIELD,
                    format!("field of {}", known.what),
                )
            })
            .collect(),
    )
}

/// Completion items for a YAML pattern at byte `offset`.
pub fn completion(text: &str, offset: usize) -> Vec<CompletionItem> {
    let offset = crate::position::floor_char_boundary(text, offset);
    let before = &text[..offset];
    if let Some(items) = reference_fields(text, before) {
        return items;
    }
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
        let step = labels("steps:\n  - id: a\n    ");
        assert!(step.contains(&"onError".to_string()), "{step:?}");
        assert!(step.contains(&"concurrency".to_string()), "{step:?}");
    }

    #[test]
    fn fields_after_a_reference() {
        let pattern = "name: x\ninput:\n  text: string\nagents:\n  capabilities: [a]\naggregation:\n  strategy: voting\noutput:\n  winner: $vote.";
        let v = labels(pattern);
        assert!(v.contains(&"winner".to_string()), "{v:?}");
        assert!(v.contains(&"agreement".to_string()), "{v:?}");
        let partial = labels(&format!("{pattern}win"));
        assert_eq!(partial, v, "the partial word is for the client to filter");
        let input = labels("name: x\ninput:\n  text: string\noutput: \"{{ $input.");
        assert_eq!(input, vec!["text".to_string()]);
        assert!(
            labels("name: x\noutput: $$vote.")
                .iter()
                .all(|l| l != "winner")
        );
    }

    #[test]
    fn values_after_a_key() {
        let v = labels("name: x\naggregation:\n  strategy: ");
        assert!(v.contains(&"consensus".to_string()), "{v:?}");
        let e = labels("execution:\n  strategy: ");
        assert!(e.contains(&"race".to_string()), "{e:?}");
    }
}
