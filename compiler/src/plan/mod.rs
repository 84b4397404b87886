//! The execution plan (§5): a `petgraph` [`StableDiGraph`] of [`Node`]s and [`Edge`]s plus
//! metadata, built from any kind of pattern file by [`build`], with a static confidence
//! estimate per node ([`estimate`]) and four emitters: JSON ([`json`], schema in
//! `docs/plan-schema.md`), Graphviz dot ([`dot`]), mermaid ([`mermaid`]) and Prism source
//! ([`prism_src`]).

pub mod build;
mod build_other;
mod build_yaml;
pub mod compiled;
pub mod describe;
pub mod dot;
pub mod estimate;
pub mod json;
pub mod mermaid;
pub mod output;
pub mod prism_src;
pub mod settings;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Severity};
use crate::pattern::directives::Directive;
use crate::span::Span;

pub use estimate::{ConfidenceRule, Estimate};

/// The version of the plan format (`planVersion`).
pub const PLAN_VERSION: u32 = 1;

/// The graph type of a plan (and of the nested plans of loops and batches).
pub type Graph = StableDiGraph<Node, Edge>;

/// What kind of file a plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A YAML pattern (§1).
    Yaml,
    /// An org chart (§2).
    OrgChart,
    /// An annotated `.prism` pattern (§4).
    Prism,
}

/// Plan metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanMeta {
    /// The kind of source file.
    pub source_kind: SourceKind,
    /// Pattern name.
    pub name: String,
    /// Pattern version.
    pub version: String,
    /// Description, if any.
    pub description: Option<String>,
    /// The source path as given to the compiler.
    pub source_path: String,
    /// `sha256:<hex>` of the source text.
    pub source_hash: String,
    /// The input JSON Schema.
    pub input: Value,
    /// Directives with their spans.
    pub directives: Vec<Directive>,
    /// Warnings found while compiling: `(code, message, span)`.
    pub warnings: Vec<Warning>,
    /// Forwarded fields (`author`, `tags`, `metadata`, org-chart context, header extras).
    pub extra: serde_json::Map<String, Value>,
}

/// A warning kept in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// The diagnostic code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Where (byte offsets).
    pub span: Span,
    /// 1-based line of the span's start.
    pub line: u32,
    /// 1-based column of the span's start.
    pub column: u32,
}

/// An execution plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The graph.
    pub graph: Graph,
    /// Where execution starts (the `Input` node).
    pub entry: NodeIndex,
    /// The `Output` node.
    pub exit: NodeIndex,
    /// Metadata.
    pub meta: PlanMeta,
    /// Line starts of the source, for line/column in emitted spans.
    pub(crate) lines: std::sync::Arc<crate::span::LineIndex>,
    pub(crate) source: std::sync::Arc<str>,
}

/// A node: what it does, where it came from, and its confidence rule and estimate.
#[derive(Debug, Clone)]
pub struct Node {
    /// A stable id, unique in its graph (`input`, `step:extract`, `step:extract/aggregate`, …).
    pub id: String,
    /// What the node does.
    pub kind: NodeKind,
    /// The step (or org-chart step path) the node belongs to.
    pub step: Option<String>,
    /// Source span.
    pub span: Span,
    /// How its run-time confidence is computed.
    pub rule: ConfidenceRule,
    /// The static estimate (`None` = unknown).
    pub estimate: Option<Estimate>,
}

/// A nested plan (loop and batch bodies).
#[derive(Debug, Clone)]
pub struct SubPlan {
    /// The body graph.
    pub graph: Graph,
    /// Its first nodes (run in order of the list).
    pub entry: Option<NodeIndex>,
    /// The node whose record is the body's result.
    pub exit: Option<NodeIndex>,
}

/// Node kinds (§5), plus `Parallel`/`Sequence` forks for branch structure.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// The validated input.
    Input {
        /// JSON Schema.
        schema: Value,
    },
    /// Agent selection and dispatch.
    AgentGroup {
        /// `capabilities`, `min`, `max`, `prefer`, … (org charts: the role's).
        selection: settings::AgentSelection,
        /// Execution strategy and options.
        execution: settings::ExecutionSettings,
        /// The task template (`instructions`, an org task), if any.
        task: Option<String>,
        /// The org-chart role, if any.
        role: Option<String>,
        /// The request input (`input` of a step), if shaped.
        input: Option<output::OutputValue>,
        /// True when a step inherits the top-level selection.
        inherited: bool,
    },
    /// A result group.
    Group {
        /// Group name.
        name: String,
        /// `match` expression.
        matcher: String,
        /// `first`, `last` or `all`.
        take: String,
    },
    /// An aggregation (§1.6).
    Aggregate {
        /// The checked aggregation settings (`strategy`, `method`, …).
        config: settings::AggregationSettings,
    },
    /// Validation (§1.8).
    Validate {
        /// The checked settings.
        config: settings::ValidationSettings,
    },
    /// The pattern confidence (§1.7).
    Confidence {
        /// `method`, `weights`, `expression`; `{"method": "aggregation"}`/`"final"` when absent.
        config: settings::ConfidenceSettings,
    },
    /// A Prism script (§4).
    Script {
        /// Span of the script.
        body: Span,
    },
    /// A switch over a value.
    Switch {
        /// The value expression.
        value: String,
        /// Case labels and conditions, in order.
        cases: Vec<(String, Option<String>)>,
    },
    /// A gate.
    Gate {
        /// The condition.
        condition: settings::GateCondition,
    },
    /// A loop with its body.
    Loop {
        /// `maxIterations`.
        max_iterations: u32,
        /// Condition tested after each pass.
        condition: Option<String>,
        /// The body.
        body: Box<SubPlan>,
    },
    /// A batch over items with its task.
    Batch {
        /// The items expression.
        items: String,
        /// Concurrency.
        concurrency: u32,
        /// The task.
        body: Box<SubPlan>,
    },
    /// Assigned values.
    Assign {
        /// `name → expression`.
        values: settings::AssignValues,
    },
    /// A constant record (a `default` step).
    Const {
        /// The record literal.
        value: output::OutputValue,
    },
    /// A composed pattern.
    SubPattern {
        /// Name.
        name: String,
        /// Version range.
        range: Option<String>,
        /// Where it resolved.
        resolved: Option<settings::ResolvedRef>,
        /// The input it is given.
        input: Option<output::OutputValue>,
    },
    /// An org-chart task (`assign review approve select`).
    Task {
        /// `assign`, `review`, `approve` or `select`.
        action: String,
        /// The role.
        role: String,
        /// The task text, if any.
        task: Option<String>,
    },
    /// Ends the run `escalated`.
    Escalate {
        /// `to`.
        to: Option<String>,
        /// Forwarded context.
        context: Option<output::OutputValue>,
    },
    /// The top-level fallback.
    Fallback {
        /// Its checked settings.
        config: settings::FallbackSettings,
    },
    /// Branches that run concurrently.
    Parallel,
    /// Steps that run in order (org-chart `sequential`).
    Sequence,
    /// The output.
    Output {
        /// The output value (a mapping, or a result reference), typed and compiled.
        value: output::OutputValue,
    },
}

impl NodeKind {
    /// The kind's name as in §5 (`AgentGroup`, `Aggregate`, …).
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Input { .. } => "Input",
            NodeKind::AgentGroup { .. } => "AgentGroup",
            NodeKind::Group { .. } => "Group",
            NodeKind::Aggregate { .. } => "Aggregate",
            NodeKind::Validate { .. } => "Validate",
            NodeKind::Confidence { .. } => "Confidence",
            NodeKind::Script { .. } => "Script",
            NodeKind::Switch { .. } => "Switch",
            NodeKind::Gate { .. } => "Gate",
            NodeKind::Loop { .. } => "Loop",
            NodeKind::Batch { .. } => "Batch",
            NodeKind::Assign { .. } => "Assign",
            NodeKind::Const { .. } => "Const",
            NodeKind::SubPattern { .. } => "SubPattern",
            NodeKind::Task { .. } => "Task",
            NodeKind::Escalate { .. } => "Escalate",
            NodeKind::Fallback { .. } => "Fallback",
            NodeKind::Parallel => "Parallel",
            NodeKind::Sequence => "Sequence",
            NodeKind::Output { .. } => "Output",
        }
    }
}

/// Edges (§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Edge {
    /// The target reads the source's record under `name` (a reference or global).
    Data {
        /// The reference, e.g. `$vote`.
        name: String,
    },
    /// Control passes from source to target.
    Control,
    /// Control passes when the branch `label` is taken.
    Branch {
        /// Case label, `pass`/`fail`, or a branch id.
        label: String,
    },
    /// A jump back that re-runs from the target at most `max` times.
    Retry {
        /// Most re-runs per site.
        max: u32,
        /// Delay between runs in ms.
        delay: u64,
    },
}

impl Edge {
    /// True for edges along which control flows (all but `Data`).
    pub fn is_control(&self) -> bool {
        !matches!(self, Edge::Data { .. })
    }
}

impl Plan {
    /// The plan's directives, each with the span of its key or tag (for license gating).
    pub fn directives(&self) -> &[Directive] {
        &self.meta.directives
    }

    /// The node at `idx`.
    pub fn node(&self, idx: NodeIndex) -> Option<&Node> {
        self.graph.node_weight(idx)
    }

    /// Nodes in insertion order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeIndex, &Node)> {
        self.graph
            .node_indices()
            .filter_map(|i| self.graph.node_weight(i).map(|n| (i, n)))
    }

    /// The JSON form (`docs/plan-schema.md`), pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&json::to_value(self)).unwrap_or_default()
    }

    /// The JSON form as a value.
    pub fn to_json_value(&self) -> Value {
        json::to_value(self)
    }

    /// Graphviz dot.
    pub fn to_dot(&self) -> String {
        dot::render(self)
    }

    /// A mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        mermaid::render(self)
    }

    /// Readable Prism source: an annotated `.prism` pattern equivalent to this plan.
    pub fn to_prism(&self) -> String {
        prism_src::render(self)
    }

    /// `sha256:<hex>` of the plan's JSON (without the source path), stable across machines.
    pub fn hash(&self) -> String {
        let mut v = json::to_value(self);
        if let Some(src) = v.get_mut("source").and_then(Value::as_object_mut) {
            src.remove("path");
        }
        sha256(&serde_json::to_string(&v).unwrap_or_default())
    }

    /// 1-based line and column of a byte offset of the source.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        self.lines.line_col(&self.source, offset)
    }

    pub(crate) fn set_warnings(&mut self, diags: &[Diagnostic], _text: &str) {
        self.meta.warnings = diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| {
                let span = d.primary_span();
                let (line, column) = self.line_col(span.start);
                Warning {
                    code: d.code,
                    message: d.message.clone(),
                    span,
                    line,
                    column,
                }
            })
            .collect();
    }
}

/// `sha256:<hex>` of a text.
pub fn sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
