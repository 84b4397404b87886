//! The JSON form of a plan, `planVersion` 1. The schema is documented in
//! `docs/plan-schema.md`; in short:
//!
//! ```text
//! { planVersion, kind: yaml|org-chart|prism, name, version, description,
//!   source {path, hash}, input (JSON Schema), directives [{kind, config, span}],
//!   warnings [{code, message, span}], metadata {…}, entry, exit,
//!   nodes [{id, kind, step?, span, confidence {rule, estimate {lower, expected} | null}, …kind fields}],
//!   edges [{from, to, kind: data|control|branch|retry, name?|label?|max?, delay?}] }
//! ```
//!
//! Spans are `{start, end, line, column}` (byte offsets; 1-based line and column). Nested
//! plans (loop and batch bodies) appear as `body: {entry, exit, nodes, edges}`.

use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde_json::{Map, Value, json};

use crate::plan::output::OutputValue;
use crate::plan::{Edge, Graph, Node, NodeKind, PLAN_VERSION, Plan, SourceKind, SubPlan, settings};
use crate::span::Span;

/// The plan as a JSON value.
pub fn to_value(plan: &Plan) -> Value {
    let m = &plan.meta;
    let span = |s: Span| span_value(plan, s);
    let directives: Vec<Value> = m
        .directives
        .iter()
        .map(|d| json!({"kind": d.kind, "config": d.config, "span": span(d.span)}))
        .collect();
    let warnings: Vec<Value> = m
        .warnings
        .iter()
        .map(|w| json!({"code": w.code, "message": w.message, "span": span(w.span)}))
        .collect();
    let kind = match m.source_kind {
        SourceKind::Yaml => "yaml",
        SourceKind::OrgChart => "org-chart",
        SourceKind::Prism => "prism",
    };
    let (nodes, edges) = graph(plan, &plan.graph);
    json!({
        "planVersion": PLAN_VERSION,
        "kind": kind,
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "source": {"path": m.source_path, "hash": m.source_hash},
        "input": m.input,
        "directives": directives,
        "warnings": warnings,
        "metadata": Value::Object(m.extra.clone()),
        "entry": plan.node(plan.entry).map(|n| n.id.clone()),
        "exit": plan.node(plan.exit).map(|n| n.id.clone()),
        "nodes": nodes,
        "edges": edges,
    })
}

fn span_value(plan: &Plan, s: Span) -> Value {
    let (line, column) = plan.line_col(s.start);
    json!({"start": s.start, "end": s.end, "line": line, "column": column})
}

fn graph(plan: &Plan, g: &Graph) -> (Vec<Value>, Vec<Value>) {
    let nodes = g
        .node_indices()
        .filter_map(|i| g.node_weight(i))
        .map(|n| node(plan, n))
        .collect();
    let id = |i| {
        g.node_weight(i)
            .map(|n: &Node| n.id.clone())
            .unwrap_or_default()
    };
    let edges = g
        .edge_references()
        .map(|e| {
            let mut v = match serde_json::to_value(e.weight()) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            v.insert("from".into(), id(e.source()).into());
            v.insert("to".into(), id(e.target()).into());
            let order = ["from", "to", "kind", "name", "label", "max", "delay"];
            let mut sorted = Map::new();
            for k in order {
                if let Some(x) = v.remove(k) {
                    sorted.insert(k.into(), x);
                }
            }
            Value::Object(sorted)
        })
        .collect();
    (nodes, edges)
}

fn node(plan: &Plan, n: &Node) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), n.id.clone().into());
    m.insert("kind".into(), n.kind.name().into());
    if let Some(s) = &n.step {
        m.insert("step".into(), s.clone().into());
    }
    m.insert("span".into(), span_value(plan, n.span));
    m.insert(
        "confidence".into(),
        json!({"rule": n.rule, "estimate": n.estimate.map(|e| json!({"lower": round(e.lower), "expected": round(e.expected)}))}),
    );
    for (k, v) in fields(plan, &n.kind) {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn body(plan: &Plan, sub: &SubPlan) -> Value {
    let (nodes, edges) = graph(plan, &sub.graph);
    let id = |i: Option<petgraph::stable_graph::NodeIndex>| {
        i.and_then(|i| sub.graph.node_weight(i))
            .map(|n| n.id.clone())
    };
    json!({"entry": id(sub.entry), "exit": id(sub.exit), "nodes": nodes, "edges": edges})
}

fn fields(plan: &Plan, k: &NodeKind) -> Vec<(&'static str, Value)> {
    match k {
        NodeKind::Input { schema } => vec![("schema", schema.clone())],
        NodeKind::AgentGroup {
            selection,
            execution,
            task,
            role,
            input,
            inherited,
        } => {
            let mut v = vec![
                ("selection", selection.to_json()),
                ("execution", settings::to_json(execution)),
            ];
            v.extend(optional_fields(task, role, input, *inherited));
            v
        }
        NodeKind::Group {
            name,
            matcher,
            take,
        } => vec![
            ("name", name.clone().into()),
            ("match", matcher.clone().into()),
            ("take", take.clone().into()),
        ],
        NodeKind::Aggregate { config } => vec![("config", config.to_json())],
        NodeKind::Validate { config } => vec![("config", config.to_json())],
        NodeKind::Confidence { config } => vec![("config", config.to_json())],
        NodeKind::Fallback { config } => vec![("config", config.to_json())],
        NodeKind::Script { body } => vec![("body", span_value(plan, *body))],
        NodeKind::Switch { value, cases } => vec![
            ("value", value.clone().into()),
            (
                "cases",
                cases
                    .iter()
                    .map(|(l, c)| json!({"label": l, "condition": c}))
                    .collect(),
            ),
        ],
        NodeKind::Gate { condition } => vec![("condition", condition.to_json())],
        NodeKind::Loop {
            max_iterations,
            condition,
            body: b,
        } => vec![
            ("maxIterations", (*max_iterations).into()),
            ("condition", condition.clone().into()),
            ("body", body(plan, b)),
        ],
        NodeKind::Batch {
            items,
            concurrency,
            body: b,
        } => {
            vec![
                ("items", items.clone().into()),
                ("concurrency", (*concurrency).into()),
                ("body", body(plan, b)),
            ]
        }
        NodeKind::Assign { values } => vec![("values", settings::to_json(values))],
        NodeKind::Const { value } | NodeKind::Output { value } => vec![("value", value.to_json())],
        NodeKind::SubPattern {
            name,
            range,
            resolved,
            input,
        } => vec![
            ("name", name.clone().into()),
            ("range", range.clone().into()),
            (
                "resolved",
                resolved.as_ref().map_or(Value::Null, settings::to_json),
            ),
            (
                "input",
                input.as_ref().map_or(Value::Null, OutputValue::to_json),
            ),
        ],
        NodeKind::Task { action, role, task } => {
            vec![
                ("action", action.clone().into()),
                ("role", role.clone().into()),
                ("task", task.clone().into()),
            ]
        }
        NodeKind::Escalate { to, context } => vec![
            ("to", to.clone().into()),
            (
                "context",
                context.as_ref().map_or(Value::Null, OutputValue::to_json),
            ),
        ],
        NodeKind::Parallel | NodeKind::Sequence => Vec::new(),
    }
}

/// An agent group's `task`, `role`, `input` and `inherited`, each only when it is there.
fn optional_fields(
    task: &Option<String>,
    role: &Option<String>,
    input: &Option<OutputValue>,
    inherited: bool,
) -> Vec<(&'static str, Value)> {
    let mut v = Vec::new();
    if let Some(t) = task {
        v.push(("task", t.clone().into()));
    }
    if let Some(r) = role {
        v.push(("role", r.clone().into()));
    }
    if let Some(i) = input {
        v.push(("input", i.to_json()));
    }
    if inherited {
        v.push(("inherited", true.into()));
    }
    v
}

/// Edge kinds' JSON names (for the schema doc and tests).
pub fn edge_kind(e: &Edge) -> &'static str {
    match e {
        Edge::Data { .. } => "data",
        Edge::Control => "control",
        Edge::Branch { .. } => "branch",
        Edge::Retry { .. } => "retry",
    }
}
