//! Building plans: the shared [`Builder`] (nodes, names, jumps, data edges, reachability)
//! and the plan's metadata. YAML patterns are built in [`super::build_yaml`], org charts and
//! `.prism` patterns in [`super::build_other`].

use std::collections::HashMap;
use std::path::Path;

use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::{EdgeRef, IntoEdgeReferences, NodeIndexable};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::pattern::codes;
use crate::pattern::model::Meta;
use crate::pattern::{CompileOptions, Loaded, expr};
use crate::plan::estimate::{self, Assumptions, ConfidenceRule, Estimate};
use crate::plan::{Edge, Graph, Node, NodeKind, Plan, PlanMeta, SourceKind};
use crate::span::{LineIndex, Span};

/// Builds the plan of a loaded pattern. Data cycles and bad jumps are reported as errors,
/// unreachable nodes as warnings.
pub fn build(
    loaded: &Loaded,
    path: &Path,
    text: &str,
    options: &CompileOptions,
    diags: &mut Vec<Diagnostic>,
) -> Plan {
    let (lower, expected) = options.agent_confidence.unwrap_or((0.0, 0.7));
    let mut script = None;
    let (mut b, meta, kind) = match loaded {
        Loaded::Yaml(p) => (super::build_yaml::yaml(p), &p.meta, SourceKind::Yaml),
        Loaded::OrgChart(o) => (
            super::build_other::org_chart(o),
            &o.meta,
            SourceKind::OrgChart,
        ),
        Loaded::Prism(p) => {
            script = p.literal_confidence;
            (super::build_other::prism(p), &p.meta, SourceKind::Prism)
        }
    };
    b.data_edges(diags);
    b.unreachable(diags);
    estimate::compute(
        &mut b.g,
        Assumptions {
            agent: Estimate { lower, expected },
            script,
        },
    );
    let mut extra = meta.extra.clone();
    if let Loaded::OrgChart(o) = loaded
        && o.context.as_object().is_some_and(|m| !m.is_empty())
    {
        extra.insert("context".into(), o.context.clone());
    }
    Plan {
        entry: b.entry.unwrap_or_else(|| NodeIndex::new(0)),
        exit: b.exit.unwrap_or_else(|| NodeIndex::new(0)),
        graph: b.g,
        meta: PlanMeta {
            source_kind: kind,
            name: meta.name.value.clone(),
            version: meta.version.value.clone(),
            description: meta.description.clone(),
            source_path: path.to_string_lossy().replace('\\', "/"),
            source_hash: super::sha256(text),
            input: meta.input.value.clone(),
            directives: meta.directives.clone(),
            warnings: Vec::new(),
            extra,
        },
        lines: std::sync::Arc::new(LineIndex::new(text)),
        source: std::sync::Arc::from(text),
    }
}

/// A jump waiting for its target's node.
pub(crate) struct PendingJump {
    pub(crate) from: NodeIndex,
    pub(crate) edge: Edge,
    pub(crate) target: String,
    pub(crate) span: Span,
}

/// Graph under construction, with the names references resolve to.
pub(crate) struct Builder {
    pub(crate) g: Graph,
    /// Reference name → the node producing it.
    pub(crate) names: HashMap<String, NodeIndex>,
    /// Step id → its entry node.
    pub(crate) entries: HashMap<String, NodeIndex>,
    /// Step id → position in document order (for forward/backward jumps).
    pub(crate) position: HashMap<String, usize>,
    pub(crate) jumps: Vec<PendingJump>,
    /// Edges to the tail (finishing branches).
    pub(crate) finish: Vec<(NodeIndex, Edge)>,
    pub(crate) last_agent: Option<NodeIndex>,
    /// References a nested builder could not resolve (handed to the parent node).
    pub(crate) outer_refs: Vec<String>,
    nested: bool,
    pub(crate) entry: Option<NodeIndex>,
    pub(crate) exit: Option<NodeIndex>,
}

impl Builder {
    pub(crate) fn new(nested: bool) -> Self {
        Builder {
            g: Graph::default(),
            names: HashMap::new(),
            entries: HashMap::new(),
            position: HashMap::new(),
            jumps: Vec::new(),
            finish: Vec::new(),
            last_agent: None,
            outer_refs: Vec::new(),
            nested,
            entry: None,
            exit: None,
        }
    }

    pub(crate) fn add(
        &mut self,
        id: impl Into<String>,
        kind: NodeKind,
        step: Option<&str>,
        span: Span,
    ) -> NodeIndex {
        let rule = ConfidenceRule::of(&kind);
        let idx = self.g.add_node(Node {
            id: id.into(),
            kind,
            step: step.map(str::to_string),
            span,
            rule,
            estimate: None,
        });
        if self.entry.is_none() {
            self.entry = Some(idx);
        }
        idx
    }

    pub(crate) fn connect(&mut self, from: &[(NodeIndex, Edge)], to: NodeIndex) {
        for (f, e) in from {
            self.g.add_edge(*f, to, e.clone());
        }
    }

    /// Adds `Data` edges for every reference a node makes. A reference to a node that runs
    /// later is an error unless a retry edge brings control back (loop bodies read the
    /// previous pass instead).
    pub(crate) fn data_edges(&mut self, diags: &mut Vec<Diagnostic>) {
        let retries: Vec<(usize, usize)> = self
            .g
            .edge_references()
            .filter(|e| matches!(e.weight(), Edge::Retry { .. }))
            .map(|e| (e.source().index(), e.target().index()))
            .collect();
        let nodes: Vec<NodeIndex> = self.g.node_indices().collect();
        for consumer in nodes {
            let Some(node) = self.g.node_weight(consumer) else {
                continue;
            };
            let (span, step) = (node.span, node.step.clone());
            let mut seen = Vec::new();
            for name in node_refs(&node.kind) {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name.clone());
                let Some(&producer) = self.names.get(&name) else {
                    if self.nested {
                        self.outer_refs.push(name);
                    }
                    continue;
                };
                if producer == consumer {
                    continue;
                }
                if producer.index() < consumer.index() {
                    self.g.add_edge(
                        producer,
                        consumer,
                        Edge::Data {
                            name: format!("${name}"),
                        },
                    );
                } else if !self.nested
                    && !retries
                        .iter()
                        .any(|&(from, to)| from >= producer.index() && to <= consumer.index())
                {
                    let producer_step = self
                        .g
                        .node_weight(producer)
                        .and_then(|n| n.step.clone())
                        .unwrap_or_default();
                    diags.push(
                        Diagnostic::error(
                            codes::UNKNOWN_REF,
                            format!("`${name}` is produced by step `{producer_step}`, which runs after {}", step.as_deref().map_or("this".to_string(), |s| format!("step `{s}`"))),
                            span,
                        )
                        .with_help("a step can only read records of steps before it (or of a later step that jumps back to it)"),
                    );
                }
            }
        }
    }

    /// Warns on nodes that no control path from the entry reaches.
    pub(crate) fn unreachable(&mut self, diags: &mut Vec<Diagnostic>) {
        let Some(entry) = self.entry else { return };
        let mut seen = vec![false; self.g.node_bound()];
        let mut stack = vec![entry];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            stack.extend(
                self.g
                    .edges_directed(n, Direction::Outgoing)
                    .filter(|e| e.weight().is_control())
                    .map(|e| e.target()),
            );
        }
        let mut reported: Vec<String> = Vec::new();
        for idx in self.g.node_indices() {
            if seen[idx.index()] {
                continue;
            }
            let Some(node) = self.g.node_weight(idx) else {
                continue;
            };
            let what = node.step.clone().unwrap_or_else(|| node.id.clone());
            if reported.contains(&what) {
                continue;
            }
            reported.push(what.clone());
            diags.push(
                Diagnostic::warning(
                    codes::UNREACHABLE,
                    format!("`{what}` is never reached"),
                    node.span,
                )
                .with_help("no step falls through or jumps to it"),
            );
        }
    }

    pub(crate) fn resolve_jumps(&mut self) {
        for j in std::mem::take(&mut self.jumps) {
            if let Some(&to) = self.entries.get(&j.target) {
                self.g.add_edge(j.from, to, j.edge);
            }
            let _ = j.span;
        }
    }
}

/// Every `$reference` name in the strings of a node's settings.
pub(crate) fn node_refs(kind: &NodeKind) -> Vec<String> {
    let mut out = Vec::new();
    let mut scan = |v: &Value| {
        strings(v, &mut |s| {
            out.extend(expr::scan(s).refs.into_iter().map(|r| r.name))
        })
    };
    match kind {
        NodeKind::AgentGroup {
            selection,
            input,
            task,
            ..
        } => {
            scan(&selection.to_json());
            input.iter().for_each(|i| scan(&i.to_json()));
            task.iter().for_each(|t| scan(&Value::from(t.as_str())));
        }
        NodeKind::Group { matcher, .. } => scan(&Value::from(matcher.as_str())),
        NodeKind::Aggregate { config } => scan(&config.to_json()),
        NodeKind::Validate { config } => scan(&config.to_json()),
        NodeKind::Fallback { config } => scan(&config.to_json()),
        NodeKind::Switch { value, cases } => {
            scan(&Value::from(value.as_str()));
            cases
                .iter()
                .filter_map(|(_, c)| c.as_deref())
                .for_each(|c| scan(&Value::from(c)));
        }
        NodeKind::Gate { condition } => scan(&condition.to_json()),
        NodeKind::Loop {
            condition, body, ..
        } => {
            condition
                .iter()
                .for_each(|c| scan(&Value::from(c.as_str())));
            let _ = body;
        }
        NodeKind::Batch { items, .. } => scan(&Value::from(items.as_str())),
        NodeKind::Assign { values } => values.values().for_each(|v| scan(&v.to_json())),
        NodeKind::Const { value } | NodeKind::Output { value } => scan(&value.to_json()),
        NodeKind::SubPattern { input, .. } => input.iter().for_each(|i| scan(&i.to_json())),
        NodeKind::Escalate { context, .. } => context.iter().for_each(|c| scan(&c.to_json())),
        _ => {}
    }
    out
}

fn strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, f)),
        Value::Object(m) => m.values().for_each(|i| strings(i, f)),
        _ => {}
    }
}

/// Metadata shared by the builders of other kinds.
pub(crate) fn input_node(b: &mut Builder, meta: &Meta) -> NodeIndex {
    let input = b.add(
        "input",
        NodeKind::Input {
            schema: meta.input.value.clone(),
        },
        None,
        meta.input.span,
    );
    b.names.insert("input".into(), input);
    input
}
