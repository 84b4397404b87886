//! Readable Prism source from a plan: an annotated `.prism` pattern (§4) that runs like the
//! YAML pattern or org chart it came from. The header carries the name, version,
//! description, input schema and directives, and — for a single-phase pattern whose
//! selection `@agents` can say exactly — the agent group, so the pattern compiles back to the
//! same Input → AgentGroup → Script → Output shape. The script has one `const` per step,
//! named as in the YAML, with a comment naming each step; control flow, references and
//! output shapes are plain Prism, while selection and dispatch, the §1.6 aggregation
//! records, validation and the org-chart role policy call the plan executor's own
//! implementation through the natives documented in the runtime's `plan_natives` module.
//! A `.prism` pattern is its own Prism.

mod expr;
mod org;
mod steps;
mod yaml;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::pattern::Loaded;
use crate::plan::Plan;

/// Renders the plan as an annotated Prism pattern.
pub fn render(plan: &Plan) -> String {
    let (loaded, _) = crate::pattern::load_file(Path::new(&plan.meta.source_path), &plan.source);
    let mut w = Writer::default();
    let agents = match &loaded {
        Some(Loaded::Yaml(p)) => yaml::body(plan, p, &mut w),
        Some(Loaded::OrgChart(o)) => {
            org::body(plan, o, &mut w);
            None
        }
        _ => return plan.source.to_string(),
    };
    let mut out = String::new();
    header(plan, agents.as_ref(), &mut out);
    let used: Vec<&Helper> = HELPERS
        .iter()
        .filter(|h| w.helpers.contains(h.name))
        .collect();
    if !used.is_empty() {
        out.push_str("\n// Helpers: the plan executor's rules in Prism.\n");
        for h in used {
            out.push('\n');
            out.push_str(h.source);
        }
    }
    out.push_str(&w.out);
    out
}

fn header(plan: &Plan, agents: Option<&Value>, out: &mut String) {
    let m = &plan.meta;
    out.push_str("/**\n");
    let _ = writeln!(
        out,
        " * Generated from {} by `prism build --emit prism`.",
        m.source_path
    );
    let _ = writeln!(out, " * @name {}", m.name);
    let _ = writeln!(out, " * @version {}", m.version);
    if let Some(d) = &m.description {
        let _ = writeln!(
            out,
            " * @description {}",
            d.trim().replace("*/", "* /").replace('\n', "\n * ")
        );
    }
    let _ = writeln!(out, " * @input {}", m.input);
    if let Some(a) = agents {
        let _ = writeln!(out, " * @agents {a}");
    }
    for d in &m.directives {
        let tag = match d.kind {
            crate::pattern::directives::DirectiveKind::Schedule => "schedule",
            crate::pattern::directives::DirectiveKind::Persistence => "persist",
            crate::pattern::directives::DirectiveKind::Versioning => "versioning",
        };
        let _ = writeln!(out, " * @{tag} {}", d.config);
    }
    out.push_str(" */\n");
}

/// The script being written: lines at an indentation depth, and the helpers they use.
#[derive(Default)]
pub(super) struct Writer {
    out: String,
    depth: usize,
    helpers: BTreeSet<&'static str>,
}

impl Writer {
    /// Writes one or more lines at the current depth.
    pub(super) fn line(&mut self, s: impl AsRef<str>) {
        for l in s.as_ref().split('\n') {
            if l.is_empty() {
                self.out.push('\n');
                continue;
            }
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
            self.out.push_str(l);
            self.out.push('\n');
        }
    }

    /// A line that opens a block.
    pub(super) fn open(&mut self, s: impl AsRef<str>) {
        self.line(s);
        self.depth += 1;
    }

    /// A line that closes a block.
    pub(super) fn close(&mut self, s: impl AsRef<str>) {
        self.depth = self.depth.saturating_sub(1);
        self.line(s);
    }

    /// A line between two blocks (`} else {`).
    pub(super) fn mid(&mut self, s: impl AsRef<str>) {
        self.depth = self.depth.saturating_sub(1);
        self.line(s);
        self.depth += 1;
    }

    /// The current end of the script (for [`Writer::insert_at`]).
    pub(super) fn mark(&self) -> usize {
        self.out.len()
    }

    /// Inserts text at a mark.
    pub(super) fn insert_at(&mut self, at: usize, text: &str) {
        if at <= self.out.len() {
            self.out.insert_str(at, text);
        }
    }

    /// An empty line.
    pub(super) fn blank(&mut self) {
        self.out.push('\n');
    }

    /// Marks a helper as used.
    pub(super) fn uses(&mut self, name: &'static str) {
        self.helpers.insert(name);
        let needs: &[&'static str] = match name {
            "groupRecord" => &["mean"],
            "chainRecord" => &["isValid", "lowest"],
            "numbers" => &["asItems"],
            "stat" => &["asItems", "lowest", "highest"],
            _ => &[],
        };
        for n in needs {
            self.helpers.insert(n);
        }
    }
}

/// A JSON value as a Prism literal (`$` escaped so strings never become templates).
pub(super) fn literal(v: &Value) -> String {
    v.to_string().replace('$', "\\$")
}

/// A JSON value as a compact Prism literal: `{key: value}` with plain keys unquoted.
pub(super) fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{}: {}", key(k), compact(x)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(compact).collect::<Vec<_>>().join(", ")),
        other => literal(other),
    }
}

/// An object key: bare when it is an identifier, else quoted.
pub(super) fn key(k: &str) -> String {
    let mut b = k.bytes();
    let plain = b
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if plain { k.to_string() } else { string(k) }
}

/// A string as a Prism string literal.
pub(super) fn string(s: &str) -> String {
    literal(&Value::from(s))
}

/// Names a YAML name cannot take in the script: keywords, globals, natives and helpers.
const RESERVED: &[&str] = &[
    "if",
    "else",
    "for",
    "while",
    "do",
    "break",
    "continue",
    "return",
    "function",
    "const",
    "let",
    "var",
    "true",
    "false",
    "null",
    "undefined",
    "typeof",
    "in",
    "of",
    "new",
    "async",
    "await",
    "try",
    "catch",
    "finally",
    "throw",
    "match",
    "uncertain",
    "import",
    "export",
    "this",
    "class",
    "switch",
    "case",
    "high",
    "medium",
    "low",
    "default",
    "context",
    "agents",
    "input",
    "agentResults",
    "successfulResults",
    "agentList",
    "agentCount",
    "pattern",
    "workspace",
    "parallax",
    "print",
    "console",
    "JSON",
    "Math",
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Date",
    "Promise",
    "sleep",
    "now",
    "average",
    "synthesize",
    "majorityVote",
    "llm",
    "callAgents",
    "aggregate",
    "mostConfident",
    "stepRecord",
    "checkValidation",
    "settleValidation",
    "recordLiteral",
    "escalate",
    "flagEscalation",
    "fail",
    "executionInfo",
    "runPattern",
    "fillRole",
    "orgTask",
    "interpolate",
    "roleAgents",
    "runAnswers",
    "isValid",
    "mean",
    "lowest",
    "highest",
    "field",
    "hole",
    "asText",
    "groupRecord",
    "skipped",
    "clamp",
    "asItems",
    "mapLimit",
    "isLabel",
    "numbers",
    "asNumber",
    "chainRecord",
    "usedAgents",
    "stat",
    "execution",
    "next",
    "last",
    "finished",
    "contributed",
    "steps",
    "output",
    "confidence",
];

/// A YAML name as a Prism identifier: other characters become `_`, a leading digit or a
/// reserved word gets `_` added.
pub(super) fn ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if RESERVED.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// A helper function of the generated prelude.
struct Helper {
    name: &'static str,
    source: &'static str,
}

const HELPERS: &[Helper] = &[
    Helper {
        name: "isValid",
        source: "// A valid result (§1.6): answered, confidence above 0, a result that is not null.
function isValid(r) {
  return r.error == null && r.confidence > 0 && r.result != null
}
",
    },
    Helper {
        name: "mean",
        source: "// The mean of some numbers (0 for none).
function mean(xs) {
  if (xs.length == 0) { return 0 }
  let sum = 0
  for x in xs { sum = sum + x }
  return sum / xs.length
}
",
    },
    Helper {
        name: "lowest",
        source: "// The smallest of some numbers (0 for none).
function lowest(xs) {
  if (xs.length == 0) { return 0 }
  let m = xs[0]
  for x in xs { if (x < m) { m = x } }
  return m
}
",
    },
    Helper {
        name: "highest",
        source: "// The largest of some numbers (0 for none).
function highest(xs) {
  if (xs.length == 0) { return 0 }
  let m = xs[0]
  for x in xs { if (x > m) { m = x } }
  return m
}
",
    },
    Helper {
        name: "clamp",
        source: "// A confidence clamped to [0, 1] (not a number: 0).
function clamp(c) {
  if (typeof c != \"number\" || c != c) { return 0 }
  return c < 0 ? 0 : (c > 1 ? 1 : c)
}
",
    },
    Helper {
        name: "field",
        source: "// `$name.key` (§1.9): the record's own field when it has one, else the key of its value.
function field(record, key) {
  if (record == null) { return null }
  if (Object.keys(record).includes(key)) { return record[key] }
  return record.value?.[key]
}
",
    },
    Helper {
        name: "asText",
        source: "// A value as task text: a string as is, anything else as JSON.
function asText(v) {
  return typeof v == \"string\" ? v : JSON.stringify(v)
}
",
    },
    Helper {
        name: "hole",
        source: "// A template hole: a string as is, null as nothing, anything else as JSON.
function hole(v) {
  if (v == null) { return \"\" }
  return typeof v == \"string\" ? v : JSON.stringify(v)
}
",
    },
    Helper {
        name: "groupRecord",
        source: "// A result group (§1.9): its first, last or all members.
function groupRecord(members, take) {
  if (take == \"all\") {
    return ({value: members.map(m => m.result), confidence: mean(members.map(m => m.confidence)), members: members})
  }
  const m = take == \"last\" ? members[members.length - 1] : members[0]
  if (m == null) { return ({value: null, confidence: 0}) }
  return ({value: m.result, confidence: m.confidence, agentId: m.agentId, agentName: m.agentName, reasoning: m.reasoning})
}
",
    },
    Helper {
        name: "skipped",
        source: "// The record of a step whose condition is false.
function skipped(id) {
  return ({value: null, confidence: 0, success: false, skipped: true, source: id})
}
",
    },
    Helper {
        name: "asItems",
        source: "// The items of `$filter`/`$map`/`batch`: a list, an object's {key, value} entries, null as none.
function asItems(v) {
  if (v == null) { return [] }
  if (Array.isArray(v)) { return v }
  if (typeof v == \"object\") { return Object.keys(v).map(k => ({key: k, value: v[k]})) }
  return [v]
}
",
    },
    Helper {
        name: "numbers",
        source: "// The numbers among some values (for `$min`, `$max`, `$sum`, `$average`).
function numbers(xs) {
  return asItems(xs).filter(x => typeof x == \"number\")
}
",
    },
    Helper {
        name: "stat",
        source: "// `$min`, `$max`, `$sum`, `$average` of the numbers among some values (none: null; `$sum`: 0).
function stat(kind, values) {
  const xs = asItems(values).filter(x => typeof x == \"number\")
  if (xs.length == 0) { return kind == \"sum\" ? 0 : null }
  if (kind == \"min\") { return lowest(xs) }
  if (kind == \"max\") { return highest(xs) }
  let sum = 0
  for x in xs { sum = sum + x }
  return kind == \"sum\" ? sum : sum / xs.length
}
",
    },
    Helper {
        name: "mapLimit",
        source: "// Runs `f(item, index)` for every item, `limit` at a time; results in item order.
async function mapLimit(items, limit, f) {
  const out = []
  let start = 0
  while (start < items.length) {
    const running = items.slice(start, start + limit).map((item, k) => f(item, start + k))
    for r in await Promise.all(running) { out.push(r) }
    start = start + limit
  }
  return out
}
",
    },
    Helper {
        name: "isLabel",
        source: "// A switch case without a condition matches when the value is its label.
function isLabel(value, label) {
  if (typeof value == \"string\") { return value == label }
  if (typeof value == \"boolean\") { return label == (value ? \"true\" : \"false\") }
  if (typeof value == \"number\") { return label != \"\" && Number(label) == value }
  if (value == null) { return label == \"null\" }
  return false
}
",
    },
    Helper {
        name: "asNumber",
        source: "// A custom confidence: a number as is, anything else 0.
function asNumber(v) {
  return typeof v == \"number\" ? v : 0
}
",
    },
    Helper {
        name: "chainRecord",
        source: "// The record of a pipeline: the last valid answer, the chain's lowest confidence.
function chainRecord(results) {
  const valid = results.filter(isValid)
  if (valid.length == 0) { return ({value: null, confidence: 0}) }
  return ({value: valid[valid.length - 1].result, confidence: lowest(valid.map(r => r.confidence))})
}
",
    },
    Helper {
        name: "usedAgents",
        source: "// The agents that answered, in call order (repeats in a row once).
function usedAgents(answers) {
  const ids = []
  for a in answers {
    if (ids.length == 0 || ids[ids.length - 1] != a.agentId) { ids.push(a.agentId) }
  }
  return ids
}
",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers() {
        assert_eq!(ident("2x-y"), "_2x_y");
        assert_eq!(ident("fast-result"), "fast_result");
        assert_eq!(ident("default"), "default_");
        assert_eq!(literal(&Value::from("$5")), "\"\\$5\"");
    }
}
