//! Plans of org charts (roles → agent groups, workflow → tasks) and of annotated `.prism`
//! patterns (input → agents → script → output).

use petgraph::stable_graph::NodeIndex;
use serde_json::{Value, json};

use crate::pattern::expr;
use crate::pattern::model::{OrgChart, OrgStep, OrgStepKind, PrismPattern};
use crate::plan::build::{Builder, input_node};
use crate::plan::output::OutputValue;
use crate::plan::settings::{
    AgentSelection, AggregationSettings, ConfidenceSettings, ExecutionSettings, ExecutionStrategy,
    RoleSelection,
};
use crate::plan::{Edge, NodeKind};

/// The plan of an org chart.
pub(crate) fn org_chart(o: &OrgChart) -> Builder {
    let mut b = Builder::new(false);
    let input = input_node(&mut b, &o.meta);
    for r in &o.roles {
        let selection = AgentSelection::Role(RoleSelection {
            capabilities: r.capabilities.clone(),
            agent_type: r.agent_types.clone(),
            min: r.min,
            max: r.max,
            reports_to: r.reports_to.clone(),
            policy: r.policy.clone(),
            verify: r.config.get("verify").cloned().unwrap_or(Value::Null),
        });
        let n = b.add(
            format!("role:{}", r.id),
            NodeKind::AgentGroup {
                selection,
                execution: ExecutionSettings::with_strategy(ExecutionStrategy::Rotation),
                task: None,
                role: Some(r.id.clone()),
                input: None,
                inherited: false,
            },
            None,
            r.span,
        );
        b.g.add_edge(input, n, Edge::Control);
        b.names.insert(format!("role:{}", r.id), n);
    }
    let mut prev = vec![(input, Edge::Control)];
    let mut tasks = Vec::new();
    for s in &o.steps {
        prev = org_step(&mut b, s, prev, &mut tasks);
    }
    let conf = b.add(
        "confidence",
        NodeKind::Confidence {
            config: ConfidenceSettings::parse(&json!({"method": "average", "over": "answers"})).0,
        },
        None,
        o.meta.name.span,
    );
    b.connect(&prev, conf);
    for t in tasks {
        b.g.add_edge(
            t,
            conf,
            Edge::Data {
                name: "answers".into(),
            },
        );
    }
    let result = org_result(o);
    let span = o.output.as_ref().map_or(o.meta.name.span, |out| out.span);
    let out = b.add("output", NodeKind::Output { value: OutputValue::from_json(&json!({"result": format!("${result}"), "roles": o.roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>()})) }, None, span);
    b.g.add_edge(conf, out, Edge::Control);
    b.exit = Some(out);
    b
}

/// Builds one workflow step after `prev`; returns the edges that leave it.
fn org_step(
    b: &mut Builder,
    s: &OrgStep,
    prev: Vec<(NodeIndex, Edge)>,
    tasks: &mut Vec<NodeIndex>,
) -> Vec<(NodeIndex, Edge)> {
    let id = format!("task:{}", s.path);
    let step = Some(s.path.as_str());
    let n = match &s.kind {
        OrgStepKind::Assign { role, task } => {
            task_node(b, &id, "assign", role, Some(task.clone()), s, tasks)
        }
        OrgStepKind::Review { role } => task_node(b, &id, "review", role, None, s, tasks),
        OrgStepKind::Approve { role } => task_node(b, &id, "approve", role, None, s, tasks),
        OrgStepKind::Select { role } => task_node(b, &id, "select", role, None, s, tasks),
        OrgStepKind::Aggregate { method } => {
            let config = AggregationSettings::parse(&org_aggregation(method)).0;
            b.add(id, NodeKind::Aggregate { config }, step, s.span)
        }
        OrgStepKind::Parallel(subs) => {
            let n = org_step_node(b, s, id, NodeKind::Parallel, &prev);
            let mut exits = Vec::new();
            for sub in subs {
                exits.extend(org_step(b, sub, branch(n, &sub.path), tasks));
            }
            return exits;
        }
        OrgStepKind::Sequential(subs) => {
            let n = org_step_node(b, s, id, NodeKind::Sequence, &prev);
            let mut chain = vec![(n, Edge::Control)];
            for sub in subs {
                chain = org_step(b, sub, chain, tasks);
            }
            return chain;
        }
        OrgStepKind::Condition {
            check,
            then,
            otherwise,
        } => {
            let cases = vec![("then".to_string(), None), ("else".to_string(), None)];
            let kind = NodeKind::Switch {
                value: check.clone(),
                cases,
            };
            let n = org_step_node(b, s, id, kind, &prev);
            let mut exits = org_step(b, then, branch(n, "then"), tasks);
            match otherwise {
                Some(o) => exits.extend(org_step(b, o, branch(n, "else"), tasks)),
                None => exits.extend(branch(n, "else")),
            }
            return exits;
        }
    };
    b.connect(&prev, n);
    b.names.insert(format!("{}_result", s.path), n);
    vec![(n, Edge::Control)]
}

/// The node of a step that holds others, after `prev`; its result name refers to it.
fn org_step_node(
    b: &mut Builder,
    s: &OrgStep,
    id: String,
    kind: NodeKind,
    prev: &[(NodeIndex, Edge)],
) -> NodeIndex {
    let n = b.add(id, kind, Some(s.path.as_str()), s.span);
    b.connect(prev, n);
    b.names.insert(format!("{}_result", s.path), n);
    n
}

/// The edge from `n` into its branch `label`.
fn branch(n: NodeIndex, label: &str) -> Vec<(NodeIndex, Edge)> {
    vec![(
        n,
        Edge::Branch {
            label: label.to_string(),
        },
    )]
}

/// The name of an org chart's result: its `output`, else (and for `finalResult`) the last
/// step's result.
pub(crate) fn org_result(o: &OrgChart) -> String {
    match &o.output {
        Some(out) if out.value != "finalResult" => out.value.clone(),
        _ => o
            .steps
            .last()
            .map(|s| format!("{}_result", s.path))
            .unwrap_or_default(),
    }
}

/// The aggregation an org chart's `aggregate` step names by its method (the plan's node and
/// the emitted Prism read it here).
pub(crate) fn org_aggregation(method: &str) -> Value {
    match method {
        "consensus" => json!({"strategy": "consensus", "threshold": 0.7}),
        "majority" => json!({"strategy": "voting", "method": "majority"}),
        "merge" => json!({"strategy": "merge", "method": "shallow"}),
        _ => json!({"strategy": "best", "by": "confidence"}),
    }
}

fn task_node(
    b: &mut Builder,
    id: &str,
    action: &str,
    role: &str,
    task: Option<String>,
    s: &OrgStep,
    tasks: &mut Vec<NodeIndex>,
) -> NodeIndex {
    let n = b.add(
        id,
        NodeKind::Task {
            action: action.into(),
            role: role.into(),
            task: task.clone(),
        },
        Some(&s.path),
        s.span,
    );
    if let Some(&group) = b.names.get(&format!("role:{role}")) {
        b.g.add_edge(
            group,
            n,
            Edge::Data {
                name: role.to_string(),
            },
        );
    }
    for name in task.iter().flat_map(|t| hole_names(t)) {
        if let Some(&p) = b.names.get(&name) {
            b.g.add_edge(p, n, Edge::Data { name });
        }
    }
    tasks.push(n);
    n
}

/// Names used in the `${…}` holes of an org-chart string.
fn hole_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("${") {
        let start = from + open + 2;
        let Some(close) = text[start..].find('}') else {
            break;
        };
        for n in expr::scan(&text[start..start + close]).bare {
            if !out.contains(&n.name) {
                out.push(n.name);
            }
        }
        from = start + close + 1;
    }
    out
}

/// The plan of an annotated `.prism` pattern.
pub(crate) fn prism(p: &PrismPattern) -> Builder {
    let mut b = Builder::new(false);
    let input = input_node(&mut b, &p.meta);
    let mut prev = input;
    if let Some(a) = &p.agents {
        let execution = ExecutionSettings {
            timeout: Some(p.timeout_ms),
            ..ExecutionSettings::with_strategy(ExecutionStrategy::Parallel)
        };
        let n = b.add(
            "agents",
            NodeKind::AgentGroup {
                selection: AgentSelection::Agents((*a.selection).clone()),
                execution,
                task: Some("input.task".into()),
                role: None,
                input: None,
                inherited: false,
            },
            None,
            a.span,
        );
        b.g.add_edge(prev, n, Edge::Control);
        prev = n;
    }
    let script = b.add(
        "script",
        NodeKind::Script { body: p.body_span },
        None,
        p.body_span,
    );
    b.g.add_edge(prev, script, Edge::Control);
    if prev != input {
        b.g.add_edge(
            prev,
            script,
            Edge::Data {
                name: "agentResults".into(),
            },
        );
    }
    b.g.add_edge(
        input,
        script,
        Edge::Data {
            name: "input".into(),
        },
    );
    let out = b.add(
        "output",
        NodeKind::Output {
            value: OutputValue::from_json(&json!("$result")),
        },
        None,
        p.body_span,
    );
    b.g.add_edge(script, out, Edge::Control);
    b.exit = Some(out);
    b
}
