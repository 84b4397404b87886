//! Readable Prism source from a plan: an annotated `.prism` pattern (§4) with the plan's name,
//! version, description and input in its header. A single-phase plan keeps its agent group as
//! `@agents` (so the pattern dispatches the same way and compiles back to the same
//! Input → AgentGroup → Script → Output shape); groups, aggregation, confidence and output
//! become script code over `agentResults`. Multi-step plans and org charts call their agents
//! step by step through `agentList[i].analyze(task, data)`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::plan::{NodeKind, Plan};

/// Renders the plan as an annotated Prism pattern.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    header(plan, &mut out);
    out.push_str(PRELUDE);
    let top = plan
        .nodes()
        .find(|(_, n)| n.id == "agents" && n.step.is_none())
        .map(|(_, n)| n);
    if top.is_some() {
        out.push_str("\nconst validResults = agentResults.filter(r => r.error == null && r.confidence > 0 && r.result != null)\n");
    } else {
        out.push_str("\nconst validResults = []\n");
    }
    out.push_str("const totalCount = validResults.length\nconst avgConfidence = meanConfidence(validResults)\nconst averageConfidence = avgConfidence\n");
    let mut names: Vec<String> = vec![
        "validResults".into(),
        "totalCount".into(),
        "avgConfidence".into(),
        "averageConfidence".into(),
        "input".into(),
    ];
    for (_, n) in plan.nodes() {
        let var = n.step.as_deref().map(ident);
        match &n.kind {
            NodeKind::Group {
                name,
                matcher,
                take,
            } if n.step.is_none() => {
                let pick = match take.as_str() {
                    "all" => "members",
                    "last" => "members.length > 0 ? members[members.length - 1] : null",
                    _ => "members.length > 0 ? members[0] : null",
                };
                let _ = writeln!(
                    out,
                    "\n// group `{name}`: {matcher}\nconst {v} = (() => {{\n  const members = validResults.filter(r => {{\n    const result = r.result\n    const confidence = r.confidence\n    const agentId = r.agentId\n    return {m}\n  }})\n  return {pick}\n}})()",
                    v = ident(name),
                    m = expression(matcher),
                );
                names.push(ident(name));
            }
            NodeKind::Aggregate { config } if n.step.is_none() => {
                let strategy = config["strategy"].as_str().unwrap_or("voting");
                let _ = writeln!(
                    out,
                    "\n// aggregation: {}\nconst aggregation = aggregate(validResults, {})",
                    strategy,
                    literal(config)
                );
                let alias = crate::pattern::model::alias_of(strategy);
                let _ = writeln!(out, "const {alias} = aggregation");
                names.push(alias.into());
            }
            NodeKind::AgentGroup {
                selection,
                task,
                role,
                ..
            } if n.step.is_some() || role.is_some() => {
                let v = var
                    .clone()
                    .or_else(|| role.as_deref().map(ident))
                    .unwrap_or_default();
                let task = task
                    .as_deref()
                    .map_or("input.task ?? \"analyze\"".to_string(), |t| {
                        serde_json::to_string(t).unwrap_or_default()
                    });
                if role.is_some() {
                    let _ = writeln!(
                        out,
                        "\n// role `{}`\nconst role_{v} = selectAgents({})",
                        role.as_deref().unwrap_or_default(),
                        literal(selection)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "\n// step `{}`\nconst {v} = await callAgents(selectAgents({}), {task}, input)",
                        n.step.as_deref().unwrap_or_default(),
                        literal(selection)
                    );
                    names.push(v);
                }
            }
            NodeKind::Aggregate { config } => {
                if let Some(v) = &var {
                    let _ = writeln!(
                        out,
                        "const {v}_record = aggregate({v}, {})",
                        literal(config)
                    );
                }
            }
            NodeKind::Task { action, role, task } => {
                let v = var.clone().unwrap_or_default();
                let text = task
                    .as_deref()
                    .map_or("JSON.stringify(previous)".to_string(), interpolation);
                let _ = writeln!(
                    out,
                    "\n// {action} by `{role}`\nconst {v}_result = await callAgents(role_{r}.slice(0, 1), {text}, input)\nprevious = {v}_result",
                    r = ident(role)
                );
                names.push(format!("{v}_result"));
            }
            NodeKind::Switch { .. }
            | NodeKind::Gate { .. }
            | NodeKind::Loop { .. }
            | NodeKind::Batch { .. }
            | NodeKind::SubPattern { .. } => {
                let _ = writeln!(
                    out,
                    "\n// {} `{}` runs in the plan executor; see `prism build --emit json`",
                    n.kind.name(),
                    n.id
                );
            }
            _ => {}
        }
    }
    let output = plan.node(plan.exit).and_then(|n| match &n.kind {
        NodeKind::Output { value } => Some(value.clone()),
        _ => None,
    });
    let confidence = plan
        .nodes()
        .find(|(_, n)| n.id == "confidence")
        .map(|(_, n)| match &n.kind {
            NodeKind::Confidence { config } => config.clone(),
            _ => Value::Null,
        });
    let method = confidence
        .as_ref()
        .and_then(|c| c["method"].as_str())
        .unwrap_or("average");
    let conf = match method {
        "min" => "minConfidence(validResults)".to_string(),
        "max" => "maxConfidence(validResults)".to_string(),
        "aggregation" if names.iter().any(|n| n == "aggregation") => {
            "aggregation.confidence".to_string()
        }
        _ => "avgConfidence".to_string(),
    };
    let value = output.map_or("null".to_string(), |v| value(&v, 0));
    let _ = writeln!(
        out,
        "\n// output (confidence: {method})\nconst output = {value}\noutput ~> {conf}"
    );
    out
}

fn header(plan: &Plan, out: &mut String) {
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
        let _ = writeln!(out, " * @description {}", d.trim().replace('\n', "\n * "));
    }
    let _ = writeln!(out, " * @input {}", m.input);
    if let Some((_, n)) = plan
        .nodes()
        .find(|(_, n)| n.id == "agents" && n.step.is_none())
        && let NodeKind::AgentGroup { selection, .. } = &n.kind
    {
        let mut a = serde_json::Map::new();
        a.insert("capabilities".into(), selection["capabilities"].clone());
        a.insert("minAgents".into(), selection["min"].clone());
        if let Some(max) = selection.get("max") {
            a.insert("maxAgents".into(), max.clone());
        }
        let _ = writeln!(out, " * @agents {}", Value::Object(a));
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

/// Helpers every generated pattern uses.
const PRELUDE: &str = r#"
function meanConfidence(rs) {
  if (rs.length == 0) { return 0 }
  let sum = 0
  for r in rs { sum = sum + r.confidence }
  return sum / rs.length
}

function minConfidence(rs) {
  let m = rs.length > 0 ? 1 : 0
  for r in rs { if (r.confidence < m) { m = r.confidence } }
  return m
}

function maxConfidence(rs) {
  let m = 0
  for r in rs { if (r.confidence > m) { m = r.confidence } }
  return m
}

// Ballots grouped by JSON equality; ties go to more members, then larger total confidence.
function aggregate(rs, config) {
  const groups = {}
  const order = []
  for r in rs {
    const key = JSON.stringify(r.result)
    if (groups[key] == null) {
      const fresh = {ballot: r.result, members: [], total: 0}
      groups[key] = fresh
      order.push(key)
    }
    groups[key].members.push(r)
    groups[key].total = groups[key].total + r.confidence
  }
  let best = null
  for key in order {
    const g = groups[key]
    if (best == null) {
      best = g
    } else if (g.members.length > best.members.length) {
      best = g
    } else if (g.members.length == best.members.length && g.total > best.total) {
      best = g
    }
  }
  let record = {result: null, confidence: 0, reached: false}
  if (best != null) {
    const agreement = best.members.length / rs.length
    const confidence = agreement * (best.total / best.members.length)
    record = {result: best.ballot, winner: best.ballot, agreement: agreement, confidence: confidence, members: best.members, reached: agreement > 0.5}
  }
  return record
}

function selectAgents(selection) {
  const caps = selection.capabilities ?? []
  const picked = agentList.filter(a => caps.every(c => a.capabilities.includes(c)))
  return selection.max != null ? picked.slice(0, selection.max) : picked
}

async function callAgents(agents, task, data) {
  const answers = []
  for a in agents {
    const answer = await a.analyze(task, data)
    const record = {agentId: a.id, result: answer, confidence: <~answer}
    answers.push(record)
  }
  return answers
}

let previous = null
"#;

/// A JSON value as a Prism literal (`$` escaped so strings never become templates).
fn literal(v: &Value) -> String {
    v.to_string().replace('$', "\\$")
}

fn ident(name: &str) -> String {
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
    s
}

/// A YAML expression as Prism: `$name` references become variables (`-` → `_`).
fn expression(text: &str) -> String {
    let scan = crate::pattern::expr::scan(text);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in &scan.refs {
        out.push_str(&text[last..r.start]);
        out.push_str(&ident(&r.name));
        last = r.end;
    }
    out.push_str(&text[last..]);
    out
}

/// `${…}` interpolation as a Prism template literal.
fn interpolation(text: &str) -> String {
    format!("`{}`", text.replace('\\', "\\\\").replace('`', "\\`"))
}

fn value(v: &Value, depth: usize) -> String {
    let pad = "  ".repeat(depth + 1);
    match v {
        Value::String(s) if s.starts_with("$$") => literal(&Value::from(&s[1..])),
        Value::String(s) if s.starts_with('$') => expression(s),
        Value::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k.starts_with('$')) => {
            let (k, inner) = m
                .iter()
                .next()
                .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match (k, inner) {
                ("$template", Value::String(t)) => {
                    format!("`{}`", t.replace("{{", "${").replace("}}", "}"))
                }
                ("$formula", Value::String(f)) => format!("({})", expression(f)),
                _ => format!("null /* {k} helper: evaluated by the plan executor */"),
            }
        }
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    format!(
                        "{pad}{}: {}",
                        literal(&Value::from(k.as_str())),
                        value(x, depth + 1)
                    )
                })
                .collect();
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{\n{}\n{}}}", fields.join(",\n"), "  ".repeat(depth))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|x| value(x, depth + 1))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => literal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_become_variables() {
        assert_eq!(
            expression("$fast-consensus.confidence >= 0.8"),
            "fast_consensus.confidence >= 0.8"
        );
        assert_eq!(value(&Value::from("$$5"), 0), "\"\\$5\"");
        assert_eq!(ident("2x-y"), "_2x_y");
    }
}
