//! The plan of a YAML pattern: its steps in order (agent phases, sub-patterns, parallel
//! branches, switches and gates with their jumps, loops and batches as nested plans,
//! assignments), then the confidence, fallback and output tail.

use std::collections::HashMap;

use petgraph::stable_graph::NodeIndex;
use petgraph::visit::NodeIndexable;
use serde_json::Value;

use crate::pattern::model::{Agents, Jump, Phase, Step, StepKind, StepOutput, YamlPattern};
use crate::plan::build::{Builder, PendingJump, input_node};
use crate::plan::output::OutputValue;
use crate::plan::settings::{
    AgentSelection, ConfidenceSettings, ExecutionSettings, ExecutionStrategy, ResolvedRef,
};
use crate::plan::{Edge, NodeKind, SubPlan};
use crate::span::Span;

/// Builds the plan of a YAML pattern: its steps, or the one phase of a pattern without steps,
/// then the confidence, fallback and output tail.
pub(super) fn yaml(p: &YamlPattern) -> Builder {
    let mut b = Builder::new(false);
    let input = input_node(&mut b, &p.meta);
    let mut prev = vec![(input, Edge::Control)];
    let mut contributors = Vec::new();
    if p.steps.is_empty() {
        let exit = phase(&mut b, &p.phase, None, "", None, &mut prev);
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

/// Where a phase's nodes belong: the step that holds them (none for a pattern without steps)
/// and the prefix of their ids.
#[derive(Clone, Copy)]
struct PhaseAt<'a> {
    step: Option<&'a Step>,
    prefix: &'a str,
}

impl PhaseAt<'_> {
    fn step_id(&self) -> Option<&str> {
        self.step.map(|s| s.id.value.as_str())
    }

    fn node_id(&self, suffix: &str) -> String {
        if self.prefix.is_empty() {
            suffix.to_string()
        } else if suffix.is_empty() {
            self.prefix.to_string()
        } else {
            format!("{}/{suffix}", self.prefix)
        }
    }

    /// Adds a node after `prev`, which then ends at it.
    fn chain(
        &self,
        b: &mut Builder,
        id: String,
        kind: NodeKind,
        span: Span,
        prev: &mut Vec<(NodeIndex, Edge)>,
    ) -> NodeIndex {
        let n = b.add(id, kind, self.step_id(), span);
        b.connect(prev, n);
        *prev = vec![(n, Edge::Control)];
        n
    }
}

/// The phase nodes (agents → groups → aggregate → validate); returns the record node.
fn phase(
    b: &mut Builder,
    ph: &Phase,
    step: Option<&Step>,
    prefix: &str,
    input: Option<OutputValue>,
    prev: &mut Vec<(NodeIndex, Edge)>,
) -> Option<NodeIndex> {
    let at = PhaseAt { step, prefix };
    let mut last = None;
    if let Some(a) = &ph.agents {
        last = Some(agents_node(b, ph, a, at, input, prev));
    }
    for g in &ph.groups {
        let gi = at.chain(
            b,
            at.node_id(&format!("group:{}", g.name)),
            NodeKind::Group {
                name: g.name.clone(),
                matcher: g.matcher.clone(),
                take: g.take.clone(),
            },
            g.span,
            prev,
        );
        b.names.insert(g.name.clone(), gi);
    }
    if let Some(agg) = &ph.aggregation {
        let kind = NodeKind::Aggregate {
            config: agg.settings.clone(),
        };
        let ai = at.chain(b, at.node_id("aggregate"), kind, agg.span, prev);
        if step.is_none() {
            b.names.insert("aggregation".into(), ai);
            b.names.insert(agg.alias().into(), ai);
        }
        last = Some(ai);
    }
    if let Some(v) = &ph.validation {
        let kind = NodeKind::Validate {
            config: v.settings.clone(),
        };
        let vi = at.chain(b, at.node_id("validate"), kind, v.span, prev);
        if step.is_none() {
            b.names.insert("validation".into(), vi);
        }
        last = Some(vi);
    }
    last
}

/// The agent group of a phase, with the task and inheritance of its step; without a step it
/// also answers the pattern-wide result names.
fn agents_node(
    b: &mut Builder,
    ph: &Phase,
    a: &Agents,
    at: PhaseAt<'_>,
    input: Option<OutputValue>,
    prev: &mut Vec<(NodeIndex, Edge)>,
) -> NodeIndex {
    let (task, inherited) = match at.step.map(|s| &s.kind) {
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
    let kind = NodeKind::AgentGroup {
        selection: AgentSelection::Agents((*a.selection).clone()),
        execution,
        task,
        role: None,
        input,
        inherited,
    };
    let id = at.node_id(if at.prefix.is_empty() { "agents" } else { "" });
    let span = at.step.map_or(a.span, |s| s.id.span);
    let ag = at.chain(b, id, kind, span, prev);
    if at.step.is_none() {
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
    ag
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

/// A built step: the node it is entered at, the node its record is read from, and the edges
/// that leave it.
struct Built {
    entry: NodeIndex,
    record: NodeIndex,
    exits: Vec<(NodeIndex, Edge)>,
}

/// Builds one step after `prev`; returns the edges that leave it.
fn step(b: &mut Builder, s: &Step, prev: Vec<(NodeIndex, Edge)>) -> Vec<(NodeIndex, Edge)> {
    let id = s.id.value.as_str();
    let node_id = format!("step:{id}");
    let built = match &s.kind {
        StepKind::Agent {
            phase: ph, input, ..
        } => agent_step(b, s, ph, input.clone(), node_id, prev),
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
            let kind = NodeKind::SubPattern {
                name: name.clone(),
                range: range.clone(),
                resolved,
                input: input.clone(),
            };
            one_node(b, s, node_id, kind, *span, &prev, true)
        }
        StepKind::Parallel(branches) => parallel_step(b, s, branches, node_id, &prev),
        StepKind::Switch { value, cases } => {
            let kind = NodeKind::Switch {
                value: value.clone(),
                cases: cases
                    .iter()
                    .map(|c| (c.label.clone(), c.condition.clone()))
                    .collect(),
            };
            let mut built = one_node(b, s, node_id, kind, s.id.span, &prev, false);
            for c in cases {
                jump(b, built.record, id, &c.jump, &c.label, &mut built.exits);
            }
            built
        }
        StepKind::Gate {
            condition,
            on_pass,
            on_fail,
        } => {
            let kind = NodeKind::Gate {
                condition: condition.clone(),
            };
            let mut built = one_node(b, s, node_id, kind, s.id.span, &prev, false);
            jump(b, built.record, id, on_pass, "pass", &mut built.exits);
            jump(b, built.record, id, on_fail, "fail", &mut built.exits);
            built
        }
        StepKind::Loop {
            steps: body,
            max_iterations,
            condition,
        } => nested_step(b, s, body, node_id, &prev, |sub| NodeKind::Loop {
            max_iterations: *max_iterations,
            condition: condition.clone(),
            body: Box::new(sub),
        }),
        StepKind::Batch {
            items,
            task,
            concurrency,
        } => nested_step(b, s, task, node_id, &prev, |sub| NodeKind::Batch {
            items: items.clone(),
            concurrency: *concurrency,
            body: Box::new(sub),
        }),
        StepKind::Assign(values) => {
            let kind = NodeKind::Assign {
                values: values.clone(),
            };
            let built = one_node(b, s, node_id, kind, s.id.span, &prev, true);
            for k in values.keys() {
                b.names.insert(k.clone(), built.record);
            }
            built
        }
        StepKind::Default(value) => {
            let kind = NodeKind::Const {
                value: value.clone(),
            };
            one_node(b, s, node_id, kind, s.id.span, &prev, true)
        }
        StepKind::Escalate { to, context } => {
            let kind = NodeKind::Escalate {
                to: to.clone(),
                context: context.clone(),
            };
            one_node(b, s, node_id, kind, s.id.span, &prev, false)
        }
    };
    register(b, s, built)
}

/// Makes a built step's entry and record known under its id and output name, and queues its
/// `then` jump: forward, the step's exits go there instead; backward, it is a retry edge.
fn register(b: &mut Builder, s: &Step, built: Built) -> Vec<(NodeIndex, Edge)> {
    let Built {
        entry,
        record,
        mut exits,
    } = built;
    let id = s.id.value.as_str();
    b.entries.insert(id.to_string(), entry);
    b.names.insert(id.to_string(), record);
    if let Some(StepOutput::Name(n)) = &s.output {
        b.names.insert(n.value.clone(), record);
    }
    if let Some(t) = &s.then {
        let from = exits.first().map_or(record, |e| e.0);
        if is_forward(b, &t.value, id) {
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

/// Whether `target` stands after the step `from` in document order.
fn is_forward(b: &Builder, target: &str, from: &str) -> bool {
    b.position.get(target).copied().unwrap_or(0) > b.position.get(from).copied().unwrap_or(0)
}

/// A step of one node after `prev`; `falls_through` when control goes on after it (a switch
/// and a gate leave through their branches, an escalation not at all).
fn one_node(
    b: &mut Builder,
    s: &Step,
    node_id: String,
    kind: NodeKind,
    span: Span,
    prev: &[(NodeIndex, Edge)],
    falls_through: bool,
) -> Built {
    let n = b.add(node_id, kind, Some(s.id.value.as_str()), span);
    b.connect(prev, n);
    let exits = if falls_through {
        vec![(n, Edge::Control)]
    } else {
        Vec::new()
    };
    Built {
        entry: n,
        record: n,
        exits,
    }
}

/// An agent step: its phase nodes, or a null constant when the phase has none.
fn agent_step(
    b: &mut Builder,
    s: &Step,
    ph: &Phase,
    input: Option<OutputValue>,
    node_id: String,
    prev: Vec<(NodeIndex, Edge)>,
) -> Built {
    let mut p = prev;
    let first = b.g.node_bound();
    let record = match phase(b, ph, Some(s), &node_id, input, &mut p) {
        Some(r) => r,
        None => {
            let n = b.add(
                node_id,
                NodeKind::Const {
                    value: OutputValue::Literal(Value::Null),
                },
                Some(s.id.value.as_str()),
                s.id.span,
            );
            b.connect(&p, n);
            p = vec![(n, Edge::Control)];
            n
        }
    };
    Built {
        entry: NodeIndex::new(first),
        record,
        exits: p,
    }
}

/// A parallel step: a fork node, each branch built from it; the branches' exits are the step's.
fn parallel_step(
    b: &mut Builder,
    s: &Step,
    branches: &[Step],
    node_id: String,
    prev: &[(NodeIndex, Edge)],
) -> Built {
    let n = b.add(
        node_id,
        NodeKind::Parallel,
        Some(s.id.value.as_str()),
        s.id.span,
    );
    b.connect(prev, n);
    let mut exits = Vec::new();
    for br in branches {
        let label = br.id.value.clone();
        exits.extend(step(b, br, vec![(n, Edge::Branch { label })]));
    }
    Built {
        entry: n,
        record: n,
        exits,
    }
}

/// A loop or batch step: its body built as a sub-plan inside the node `kind` makes of it.
fn nested_step(
    b: &mut Builder,
    s: &Step,
    body: &[Step],
    node_id: String,
    prev: &[(NodeIndex, Edge)],
    kind: impl FnOnce(SubPlan) -> NodeKind,
) -> Built {
    let (sub, names, outer) = nested(b, body);
    let n = b.add(node_id, kind(sub), Some(s.id.value.as_str()), s.id.span);
    let mut exits = Vec::new();
    finish_nested(b, n, names, outer, prev, &mut exits);
    Built {
        entry: n,
        record: n,
        exits,
    }
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
            if is_forward(b, &target.value, id) {
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
