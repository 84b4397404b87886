//! Confidence rules (how each node's run-time confidence is computed, §5) and the static
//! estimate `{lower, expected}`: agents are assumed to answer with `expected` (0.7) and at
//! worst `lower` (0); `expected` assumes full agreement, `lower` the worst case; a
//! `Validate`/`Gate` lifts `lower` to its threshold on its pass edge; custom confidence and
//! scripts are unknown unless a script ends in a literal `~> c`.

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::plan::settings::{
    AggregationStrategy, ConfidenceSettings, GateCondition, GateTest, Num,
};
use crate::plan::{Edge, Graph, NodeKind};

/// A static confidence estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Worst case.
    pub lower: f64,
    /// With agents answering at the assumed confidence and agreeing.
    pub expected: f64,
}

impl Estimate {
    /// An exact confidence.
    pub fn exact(c: f64) -> Self {
        Estimate {
            lower: c,
            expected: c,
        }
    }

    fn lift(self, threshold: f64) -> Self {
        Estimate {
            lower: self.lower.max(threshold).min(self.expected.max(threshold)),
            expected: self.expected.max(threshold),
        }
    }
}

/// How a node's run-time confidence is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfidenceRule {
    /// Always 1.0 (input, assignments).
    One,
    /// Each answer its own (clamped, missing 0.5, failed 0); pipeline: the minimum; race: the
    /// winner's.
    Answers,
    /// The group representative's (`take: all`: the members' mean).
    Representative,
    /// Voting/consensus: agreement × mean confidence of the winning group.
    Agreement,
    /// Merge: the minimum of the contributors.
    Minimum,
    /// First/best: the chosen result's.
    Chosen,
    /// Per field: the minimum over fields.
    FieldMinimum,
    /// Unchanged from its input (validation, escalation, fallback, output).
    Unchanged,
    /// The pattern confidence (§1.7): `average | min | max | weighted | custom`, or the
    /// aggregation's / `$final`'s.
    Pattern,
    /// A script's result (§4): `v ~> c`, an object's `confidence`, else 0.5.
    Script,
    /// The taken branch's.
    Branch,
    /// Loop: the last pass's; batch: the mean of the items.
    Nested,
    /// A record literal's `confidence` (default 0).
    Literal,
    /// The composed pattern's final confidence.
    SubPattern,
    /// An org task: the answer's, or its verify oracles' score (minimum).
    Task,
    /// Parallel branches: their mean; sequence: their minimum.
    Branches,
}

impl ConfidenceRule {
    /// A one-line description.
    pub fn describe(self) -> &'static str {
        match self {
            ConfidenceRule::One => "1.0",
            ConfidenceRule::Answers => {
                "each answer its own (clamped; missing 0.5; failed 0); pipeline: minimum; race: the winner's"
            }
            ConfidenceRule::Representative => "the representative's (take all: the members' mean)",
            ConfidenceRule::Agreement => "agreement × mean confidence of the winning group",
            ConfidenceRule::Minimum => "minimum of the contributors",
            ConfidenceRule::Chosen => "the chosen result's",
            ConfidenceRule::FieldMinimum => "minimum over fields",
            ConfidenceRule::Unchanged => "unchanged",
            ConfidenceRule::Pattern => "pattern confidence (§1.7)",
            ConfidenceRule::Script => {
                "the script's result: v ~> c, an object's confidence, else 0.5"
            }
            ConfidenceRule::Branch => "the taken branch's",
            ConfidenceRule::Nested => "loop: last pass; batch: mean of items",
            ConfidenceRule::Literal => "the record literal's confidence (default 0)",
            ConfidenceRule::SubPattern => "the composed pattern's final confidence",
            ConfidenceRule::Task => "the answer's, or the verify oracles' minimum score",
            ConfidenceRule::Branches => "parallel: mean of branches; sequence: minimum",
        }
    }

    /// The rule for a node kind.
    pub fn of(kind: &NodeKind) -> Self {
        match kind {
            NodeKind::Input { .. } | NodeKind::Assign { .. } => ConfidenceRule::One,
            NodeKind::AgentGroup { .. } => ConfidenceRule::Answers,
            NodeKind::Group { .. } => ConfidenceRule::Representative,
            NodeKind::Aggregate { config } => match config.strategy {
                Some(AggregationStrategy::Voting | AggregationStrategy::Consensus) => {
                    ConfidenceRule::Agreement
                }
                Some(AggregationStrategy::Merge) => ConfidenceRule::Minimum,
                Some(AggregationStrategy::Fields) => ConfidenceRule::FieldMinimum,
                _ => ConfidenceRule::Chosen,
            },
            NodeKind::Validate { .. }
            | NodeKind::Escalate { .. }
            | NodeKind::Fallback { .. }
            | NodeKind::Output { .. } => ConfidenceRule::Unchanged,
            NodeKind::Confidence { .. } => ConfidenceRule::Pattern,
            NodeKind::Script { .. } => ConfidenceRule::Script,
            NodeKind::Switch { .. } | NodeKind::Gate { .. } => ConfidenceRule::Branch,
            NodeKind::Loop { .. } | NodeKind::Batch { .. } => ConfidenceRule::Nested,
            NodeKind::Const { .. } => ConfidenceRule::Literal,
            NodeKind::SubPattern { .. } => ConfidenceRule::SubPattern,
            NodeKind::Task { .. } => ConfidenceRule::Task,
            NodeKind::Parallel | NodeKind::Sequence => ConfidenceRule::Branches,
        }
    }
}

/// Inputs to the estimate beyond the graph.
#[derive(Debug, Clone, Copy)]
pub struct Assumptions {
    /// Assumed agent confidence.
    pub agent: Estimate,
    /// The literal confidence a script ends with, if any.
    pub script: Option<f64>,
}

/// Fills `estimate` on every node, in topological order of the control and data edges
/// (retry edges excluded). Nodes on a cycle keep `None`.
pub fn compute(g: &mut Graph, a: Assumptions) {
    let order = topo(g);
    let mut done: HashMap<NodeIndex, Option<Estimate>> = HashMap::new();
    for idx in order {
        if let Some(n) = g.node_weight_mut(idx)
            && let NodeKind::Loop { body, .. } | NodeKind::Batch { body, .. } = &mut n.kind
        {
            compute(&mut body.graph, a);
        }
        let preds = |want: fn(&Edge) -> bool| -> Vec<Option<Estimate>> {
            g.edges_directed(idx, Direction::Incoming)
                .filter(|e| want(e.weight()))
                .map(|e| done.get(&e.source()).copied().flatten())
                .collect()
        };
        let control = preds(|e| matches!(e, Edge::Control | Edge::Branch { .. }));
        let data = preds(|e| matches!(e, Edge::Data { .. }));
        let Some(node) = g.node_weight(idx) else {
            continue;
        };
        let carried = weakest(&control);
        let est = match &node.kind {
            NodeKind::Input { .. } | NodeKind::Assign { .. } => Some(Estimate::exact(1.0)),
            NodeKind::AgentGroup { .. } | NodeKind::Task { .. } => Some(a.agent),
            NodeKind::Group { .. }
            | NodeKind::Fallback { .. }
            | NodeKind::Escalate { .. }
            | NodeKind::Output { .. }
            | NodeKind::Switch { .. }
            | NodeKind::Parallel
            | NodeKind::Sequence => carried,
            NodeKind::Aggregate { config } => carried.map(|c| match config.strategy {
                Some(AggregationStrategy::Voting | AggregationStrategy::Consensus) => Estimate {
                    lower: 0.0,
                    expected: c.expected,
                },
                _ => c,
            }),
            NodeKind::Validate { config } => {
                let t = config.min_confidence.as_ref().map(Num::get);
                carried.map(|c| t.map_or(c, |t| c.lift(t)))
            }
            NodeKind::Gate { condition } => {
                carried.map(|c| threshold(condition).map_or(c, |t| c.lift(t)))
            }
            NodeKind::Confidence { config } => pattern_confidence(config, &data, carried),
            NodeKind::Script { .. } => a.script.map(Estimate::exact),
            NodeKind::Loop { body, .. } | NodeKind::Batch { body, .. } => body
                .exit
                .and_then(|x| body.graph.node_weight(x))
                .and_then(|n| n.estimate),
            NodeKind::Const { value } => Some(Estimate::exact(
                match value.field("confidence") {
                    Some(crate::plan::output::OutputValue::Literal(c)) => c.as_f64(),
                    _ => None,
                }
                .unwrap_or(0.0)
                .clamp(0.0, 1.0),
            )),
            NodeKind::SubPattern { .. } => None,
        };
        if let Some(n) = g.node_weight_mut(idx) {
            n.estimate = est;
        }
        done.insert(idx, est);
    }
}

fn topo(g: &Graph) -> Vec<NodeIndex> {
    let filtered =
        petgraph::visit::EdgeFiltered::from_fn(g, |e| !matches!(e.weight(), Edge::Retry { .. }));
    petgraph::algo::toposort(&filtered, None).unwrap_or_else(|_| g.node_indices().collect())
}

/// The weakest of several incoming estimates (unknown if any is unknown or there are none).
fn weakest(ins: &[Option<Estimate>]) -> Option<Estimate> {
    let mut out: Option<Estimate> = None;
    for e in ins {
        let e = (*e)?;
        out = Some(match out {
            None => e,
            Some(o) => Estimate {
                lower: o.lower.min(e.lower),
                expected: o.expected.min(e.expected),
            },
        });
    }
    out
}

fn pattern_confidence(
    config: &ConfidenceSettings,
    data: &[Option<Estimate>],
    carried: Option<Estimate>,
) -> Option<Estimate> {
    let method = config.method();
    if method == "custom" {
        return None;
    }
    if matches!(method, "aggregation" | "final") {
        return carried;
    }
    let known: Vec<Estimate> = data.iter().copied().collect::<Option<Vec<_>>>()?;
    if known.is_empty() {
        return Some(Estimate::exact(0.0));
    }
    let n = known.len() as f64;
    let fold = |f: fn(f64, f64) -> f64, pick: fn(&Estimate) -> f64| {
        known.iter().map(pick).reduce(f).unwrap_or(0.0)
    };
    Some(match method {
        "min" => Estimate {
            lower: fold(f64::min, |e| e.lower),
            expected: fold(f64::min, |e| e.expected),
        },
        "max" => Estimate {
            lower: fold(f64::max, |e| e.lower),
            expected: fold(f64::max, |e| e.expected),
        },
        _ => Estimate {
            lower: known.iter().map(|e| e.lower).sum::<f64>() / n,
            expected: known.iter().map(|e| e.expected).sum::<f64>() / n,
        },
    })
}

/// The threshold of a gate condition of the form `$x.confidence >= 0.8` (or `>`).
fn threshold(condition: &GateCondition) -> Option<f64> {
    let GateCondition::Test(GateTest::Expr(text)) = condition else {
        return None;
    };
    let (lhs, rhs) = text.split_once(">=").or_else(|| text.split_once('>'))?;
    if !lhs.trim_end().ends_with(".confidence") {
        return None;
    }
    rhs.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| (0.0..=1.0).contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_thresholds() {
        let test = |s: &str| GateCondition::Test(GateTest::Expr(s.into()));
        assert_eq!(threshold(&test("$fast.confidence >= 0.85")), Some(0.85));
        assert_eq!(threshold(&test("$x.score >= 0.85")), None);
    }

    #[test]
    fn lifting_never_lowers() {
        let e = Estimate {
            lower: 0.0,
            expected: 0.7,
        }
        .lift(0.8);
        assert_eq!(
            e,
            Estimate {
                lower: 0.8,
                expected: 0.8
            }
        );
    }
}
