//! Building plans: the shared [`Builder`] (nodes, names, jumps, data edges, reachability)
//! and the YAML pattern builder. Org charts and `.prism` patterns are in [`super::build_other`].

use std::collections::HashMap;
use std::path::Path;

use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::{EdgeRef, IntoEdgeReferences, NodeIndexable};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::pattern::codes;
use crate::pattern::model::{Jump, Meta, Phase, Step, StepKind, StepOutput, YamlPattern};
use crate::pattern::{CompileOptions, Loaded, expr};
use crate::plan::estimate::{self, Assumptions, ConfidenceRule, Estimate};
use crate::plan::settings::{
    AgentSelection, ConfidenceSettings, ExecutionSettings, ExecutionStrategy, ResolvedRef,
};
use crate::plan::{Edge, Graph, Node, NodeKind, Plan, PlanMeta, SourceKind, SubPlan};
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
        Loaded::Yaml(p) => (yaml(p), &p.meta, SourceKind::Yaml),
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
struct PendingJump {
    from: NodeIndex,
    edge: Edge,
    target: String,
    span: Span,
}

/// Graph under construction, with the names references resolve to.
pub(crate) struct Builder {
    pub(crate) g: Graph,
    /// Reference name → the node producing it.
    pub(crate) names: HashMap<String, NodeIndex>,
    /// Step id → its entry node.
    entries: HashMap<String, NodeIndex>,
    /// Step id → position in document order (for forward/backward jumps).
    position: HashMap<String, usize>,
    jumps: Vec<PendingJump>,
    /// Edges to the tail (finishing branches).
    pub(crate) finish: Vec<(NodeIndex, Edge)>,
    last_agent: Option<NodeIndex>,
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

    fn resolve_jumps(&mut self) {
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
            input.iter().for_each(&mut scan);
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
        NodeKind::Assign { values } => values.values().for_each(&mut scan),
        NodeKind::Const { value } | NodeKind::Output { value } => scan(value),
        NodeKind::SubPattern { input, .. } => input.iter().for_each(&mut scan),
        NodeKind::Escalate { context, .. } => context.iter().for_each(&mut scan),
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

fn yaml(p: &YamlPattern) -> Builder {
    let mut b = Builder::new(false);
    let input = b.add(
        "input",
        NodeKind::Input {
            schema: p.meta.input.value.clone(),
        },
        None,
        p.meta.input.span,
    );
    b.names.insert("input".into(), input);
    let mut prev = vec![(input, Edge::Control)];
    let mut contributors = Vec::new();
    if p.steps.is_empty() {
        let exit = phase(
            &mut b,
            &p.phase,
            None,
            "",
            None,
            &mut prev,
            p.meta.name.span,
        );
        contributors.extend(exit);
    } else {
        let ids = step_positions(&p.steps);
        b.position = ids;
        prev = steps(&mut b, &p.steps, prev);
        b.resolve_jumps();
        contributors.extend(
            b.g.node_indices()
                .filter(|&i| {
                    b.g.node_weight(i).is_some_and(|n| {
                        n.step.is_some() && matches!(n.kind, NodeKind::SubPattern { .. })
                    })
                })
                .chain(agent_step_exits(&b)),
        );
    }
    tail(&mut b, p, prev, &contributors);
    b
}

fn agent_step_exits(b: &Builder) -> Vec<NodeIndex> {
    let mut exits: HashMap<String, NodeIndex> = HashMap::new();
    for i in b.g.node_indices() {
        if let Some(n) = b.g.node_weight(i)
            && let Some(s) = &n.step
            && matches!(
                n.kind,
                NodeKind::AgentGroup { .. }
                    | NodeKind::Aggregate { .. }
                    | NodeKind::Validate { .. }
            )
        {
            exits.insert(s.clone(), i);
        }
    }
    let mut v: Vec<NodeIndex> = exits.into_values().collect();
    v.sort();
    v
}

/// The phase nodes (agents → groups → aggregate → validate); returns the record node.
fn phase(
    b: &mut Builder,
    ph: &Phase,
    step: Option<&Step>,
    prefix: &str,
    input: Option<Value>,
    prev: &mut Vec<(NodeIndex, Edge)>,
    span: Span,
) -> Option<NodeIndex> {
    let sid = step.map(|s| s.id.value.as_str());
    let id = |suffix: &str| {
        if prefix.is_empty() {
            suffix.to_string()
        } else if suffix.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}/{suffix}")
        }
    };
    let mut last = None;
    if let Some(a) = &ph.agents {
        let (task, inherited) = match step.map(|s| &s.kind) {
            Some(StepKind::Agent {
                instructions,
                inherited,
                ..
            }) => (instructions.clone(), *inherited),
            _ => (None, false),
        };
        let execution = ph.execution.as_ref().map_or_else(
            || ExecutionSettings::with_strategy(ExecutionStrategy::Parallel),
            |e| e.settings.clone(),
        );
        let ag = b.add(
            id(if prefix.is_empty() { "agents" } else { "" }),
            NodeKind::AgentGroup {
                selection: AgentSelection::Agents((*a.selection).clone()),
                execution,
                task,
                role: None,
                input,
                inherited,
            },
            sid,
            step.map_or(a.span, |s| s.id.span),
        );
        b.connect(prev, ag);
        *prev = vec![(ag, Edge::Control)];
        if step.is_none() {
            for n in [
                "results",
                "validResults",
                "totalCount",
                "avgConfidence",
                "averageConfidence",
            ] {
                b.names.insert(n.into(), ag);
            }
        }
        b.last_agent = Some(ag);
        last = Some(ag);
    }
    for g in &ph.groups {
        let gi = b.add(
            id(&format!("group:{}", g.name)),
            NodeKind::Group {
                name: g.name.clone(),
                matcher: g.matcher.clone(),
                take: g.take.clone(),
            },
            sid,
            g.span,
        );
        b.connect(prev, gi);
        *prev = vec![(gi, Edge::Control)];
        b.names.insert(g.name.clone(), gi);
    }
    if let Some(agg) = &ph.aggregation {
        let ai = b.add(
            id("aggregate"),
            NodeKind::Aggregate {
                config: agg.settings.clone(),
            },
            sid,
            agg.span,
        );
        b.connect(prev, ai);
        *prev = vec![(ai, Edge::Control)];
        if step.is_none() {
            b.names.insert("aggregation".into(), ai);
            b.names.insert(agg.alias().into(), ai);
        }
        last = Some(ai);
    }
    if let Some(v) = &ph.validation {
        let vi = b.add(
            id("validate"),
            NodeKind::Validate {
                config: v.settings.clone(),
            },
            sid,
            v.span,
        );
        b.connect(prev, vi);
        *prev = vec![(vi, Edge::Control)];
        if step.is_none() {
            b.names.insert("validation".into(), vi);
        }
        last = Some(vi);
    }
    let _ = span;
    last
}

fn step_positions(steps: &[Step]) -> HashMap<String, usize> {
    fn walk(steps: &[Step], out: &mut HashMap<String, usize>) {
        for s in steps {
            let n = out.len();
            out.entry(s.id.value.clone()).or_insert(n);
            match &s.kind {
                StepKind::Parallel(inner) => walk(inner, out),
                StepKind::Switch { cases, .. } => cases.iter().for_each(|c| {
                    if let Jump::Inline(i) = &c.jump {
                        walk(std::slice::from_ref(i), out);
                    }
                }),
                _ => {}
            }
        }
    }
    let mut out = HashMap::new();
    walk(steps, &mut out);
    out
}

/// Builds steps in order; returns the edges that fall through past the last one.
pub(crate) fn steps(
    b: &mut Builder,
    steps: &[Step],
    mut prev: Vec<(NodeIndex, Edge)>,
) -> Vec<(NodeIndex, Edge)> {
    for s in steps {
        prev = step(b, s, prev);
    }
    prev
}

fn step(b: &mut Builder, s: &Step, prev: Vec<(NodeIndex, Edge)>) -> Vec<(NodeIndex, Edge)> {
    let id = s.id.value.as_str();
    let node_id = format!("step:{id}");
    let mut exits: Vec<(NodeIndex, Edge)> = Vec::new();
    let (entry, record) = match &s.kind {
        StepKind::Agent {
            phase: ph, input, ..
        } => {
            let mut p = prev.clone();
            let first = b.g.node_bound();
            let rec = match phase(b, ph, Some(s), &node_id, input.clone(), &mut p, s.span) {
                Some(r) => r,
                None => {
                    let n = b.add(
                        node_id.clone(),
                        NodeKind::Const { value: Value::Null },
                        Some(id),
                        s.id.span,
                    );
                    b.connect(&p, n);
                    p = vec![(n, Edge::Control)];
                    n
                }
            };
            let entry = NodeIndex::new(first);
            exits = p;
            (entry, rec)
        }
        StepKind::Pattern {
            name,
            range,
            input,
            resolved,
            span,
        } => {
            let resolved = resolved.as_ref().map(|r| ResolvedRef {
                path: r.path.clone(),
                version: r.version.clone(),
                plan_hash: r.plan_hash.clone(),
            });
            let n = b.add(
                node_id,
                NodeKind::SubPattern {
                    name: name.clone(),
                    range: range.clone(),
                    resolved,
                    input: input.clone(),
                },
                Some(id),
                *span,
            );
            b.connect(&prev, n);
            exits.push((n, Edge::Control));
            (n, n)
        }
        StepKind::Parallel(branches) => {
            let n = b.add(node_id, NodeKind::Parallel, Some(id), s.id.span);
            b.connect(&prev, n);
            for br in branches {
                exits.extend(step(
                    b,
                    br,
                    vec![(
                        n,
                        Edge::Branch {
                            label: br.id.value.clone(),
                        },
                    )],
                ));
            }
            (n, n)
        }
        StepKind::Switch { value, cases } => {
            let n = b.add(
                node_id,
                NodeKind::Switch {
                    value: value.clone(),
                    cases: cases
                        .iter()
                        .map(|c| (c.label.clone(), c.condition.clone()))
                        .collect(),
                },
                Some(id),
                s.id.span,
            );
            b.connect(&prev, n);
            for c in cases {
                jump(b, n, id, &c.jump, &c.label, &mut exits);
            }
            (n, n)
        }
        StepKind::Gate {
            condition,
            on_pass,
            on_fail,
        } => {
            let n = b.add(
                node_id,
                NodeKind::Gate {
                    condition: condition.clone(),
                },
                Some(id),
                s.id.span,
            );
            b.connect(&prev, n);
            jump(b, n, id, on_pass, "pass", &mut exits);
            jump(b, n, id, on_fail, "fail", &mut exits);
            (n, n)
        }
        StepKind::Loop {
            steps: body,
            max_iterations,
            condition,
        } => {
            let (sub, names, outer) = nested(b, body);
            let n = b.add(
                node_id,
                NodeKind::Loop {
                    max_iterations: *max_iterations,
                    condition: condition.clone(),
                    body: Box::new(sub),
                },
                Some(id),
                s.id.span,
            );
            finish_nested(b, n, names, outer, &prev, &mut exits);
            (n, n)
        }
        StepKind::Batch {
            items,
            task,
            concurrency,
        } => {
            let (sub, names, outer) = nested(b, task);
            let n = b.add(
                node_id,
                NodeKind::Batch {
                    items: items.clone(),
                    concurrency: *concurrency,
                    body: Box::new(sub),
                },
                Some(id),
                s.id.span,
            );
            finish_nested(b, n, names, outer, &prev, &mut exits);
            (n, n)
        }
        StepKind::Assign(values) => {
            let n = b.add(
                node_id,
                NodeKind::Assign {
                    values: values.clone(),
                },
                Some(id),
                s.id.span,
            );
            b.connect(&prev, n);
            for k in values.keys() {
                b.names.insert(k.clone(), n);
            }
            exits.push((n, Edge::Control));
            (n, n)
        }
        StepKind::Default(value) => {
            let n = b.add(
                node_id,
                NodeKind::Const {
                    value: value.clone(),
                },
                Some(id),
                s.id.span,
            );
            b.connect(&prev, n);
            exits.push((n, Edge::Control));
            (n, n)
        }
        StepKind::Escalate { to, context } => {
            let n = b.add(
                node_id,
                NodeKind::Escalate {
                    to: to.clone(),
                    context: context.clone(),
                },
                Some(id),
                s.id.span,
            );
            b.connect(&prev, n);
            (n, n)
        }
    };
    b.entries.insert(id.to_string(), entry);
    b.names.insert(id.to_string(), record);
    if let Some(StepOutput::Name(n)) = &s.output {
        b.names.insert(n.value.clone(), record);
    }
    if let Some(t) = &s.then {
        let forward = b.position.get(&t.value).copied().unwrap_or(0)
            > b.position.get(id).copied().unwrap_or(0);
        let from = exits.first().map_or(record, |e| e.0);
        if forward {
            b.jumps.push(PendingJump {
                from,
                edge: Edge::Control,
                target: t.value.clone(),
                span: t.span,
            });
            exits.clear();
        } else {
            b.jumps.push(PendingJump {
                from,
                edge: Edge::Retry { max: 2, delay: 0 },
                target: t.value.clone(),
                span: t.span,
            });
        }
    }
    exits
}

fn jump(
    b: &mut Builder,
    from: NodeIndex,
    id: &str,
    j: &Jump,
    label: &str,
    exits: &mut Vec<(NodeIndex, Edge)>,
) {
    let branch = Edge::Branch {
        label: label.to_string(),
    };
    match j {
        Jump::Continue => exits.push((from, branch)),
        Jump::Finish(_) => b.finish.push((from, branch)),
        Jump::Next { target, max } => {
            let forward = b.position.get(&target.value).copied().unwrap_or(0)
                > b.position.get(id).copied().unwrap_or(0);
            if forward {
                b.jumps.push(PendingJump {
                    from,
                    edge: branch,
                    target: target.value.clone(),
                    span: target.span,
                });
            } else {
                b.jumps.push(PendingJump {
                    from,
                    edge: Edge::Retry {
                        max: *max,
                        delay: 0,
                    },
                    target: target.value.clone(),
                    span: target.span,
                });
                exits.push((from, branch));
            }
        }
        Jump::Retry { target, max } => {
            match target {
                Some(t) => b.jumps.push(PendingJump {
                    from,
                    edge: Edge::Retry {
                        max: *max,
                        delay: 0,
                    },
                    target: t.value.clone(),
                    span: t.span,
                }),
                None => {
                    if let Some(agent) = b.last_agent {
                        b.g.add_edge(
                            from,
                            agent,
                            Edge::Retry {
                                max: *max,
                                delay: 0,
                            },
                        );
                    }
                }
            }
            exits.push((from, branch));
        }
        Jump::Escalate(to) => {
            let span = b.g.node_weight(from).map_or_else(Span::default, |n| n.span);
            let e = b.add(
                format!("step:{id}/{label}"),
                NodeKind::Escalate {
                    to: to.clone(),
                    context: None,
                },
                Some(id),
                span,
            );
            b.g.add_edge(from, e, branch);
        }
        Jump::Fail => {}
        Jump::Inline(inner) => exits.extend(step(b, inner, vec![(from, branch)])),
    }
}

fn nested(b: &Builder, body: &[Step]) -> (SubPlan, HashMap<String, NodeIndex>, Vec<String>) {
    let mut nb = Builder::new(true);
    nb.position = step_positions(body);
    nb.last_agent = None;
    let _ = b;
    let exits = steps(&mut nb, body, Vec::new());
    nb.resolve_jumps();
    let mut ignore = Vec::new();
    nb.data_edges(&mut ignore);
    let exit = exits
        .last()
        .map(|e| e.0)
        .or_else(|| nb.g.node_indices().next_back());
    let names = std::mem::take(&mut nb.names);
    let outer = std::mem::take(&mut nb.outer_refs);
    (
        SubPlan {
            entry: nb.entry,
            exit,
            graph: nb.g,
        },
        names,
        outer,
    )
}

fn finish_nested(
    b: &mut Builder,
    n: NodeIndex,
    names: HashMap<String, NodeIndex>,
    outer: Vec<String>,
    prev: &[(NodeIndex, Edge)],
    exits: &mut Vec<(NodeIndex, Edge)>,
) {
    b.connect(prev, n);
    for name in names.into_keys() {
        b.names.insert(name, n);
    }
    for r in outer {
        if let Some(&p) = b.names.get(&r)
            && p != n
        {
            b.g.add_edge(
                p,
                n,
                Edge::Data {
                    name: format!("${r}"),
                },
            );
        }
    }
    exits.push((n, Edge::Control));
}

fn tail(
    b: &mut Builder,
    p: &YamlPattern,
    prev: Vec<(NodeIndex, Edge)>,
    contributors: &[NodeIndex],
) {
    let method = |m: &str| ConfidenceSettings {
        method: Some(m.to_string()),
        ..ConfidenceSettings::default()
    };
    let config = match &p.confidence {
        Some(c) => c.settings.clone(),
        None if !p.steps.is_empty() => method("final"),
        None if p.phase.aggregation.is_some() => method("aggregation"),
        None => method("average"),
    };
    let weighted_groups: Vec<String> = config
        .weights
        .as_ref()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let span = p.confidence.as_ref().map_or(p.output.span, |c| c.span);
    let conf = b.add("confidence", NodeKind::Confidence { config }, None, span);
    b.connect(&prev, conf);
    let finish = std::mem::take(&mut b.finish);
    b.connect(&finish, conf);
    let sources: Vec<NodeIndex> = if weighted_groups.is_empty() {
        if p.steps.is_empty() {
            b.names.get("validResults").copied().into_iter().collect()
        } else {
            contributors.to_vec()
        }
    } else {
        weighted_groups
            .iter()
            .filter_map(|g| b.names.get(g).copied())
            .collect()
    };
    for s in sources {
        let name =
            b.g.node_weight(s)
                .and_then(|n| n.step.clone())
                .map_or_else(|| "$validResults".to_string(), |s| format!("${s}"));
        b.g.add_edge(s, conf, Edge::Data { name });
    }
    let mut last = conf;
    if let Some(f) = &p.fallback {
        let fb = b.add(
            "fallback",
            NodeKind::Fallback {
                config: f.settings.clone(),
            },
            None,
            f.span,
        );
        b.g.add_edge(conf, fb, Edge::Control);
        last = fb;
    }
    let out = b.add(
        "output",
        NodeKind::Output {
            value: p.output.value.clone(),
        },
        None,
        p.output.span,
    );
    b.g.add_edge(last, out, Edge::Control);
    b.exit = Some(out);
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
