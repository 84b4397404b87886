//! The checked form of a pattern: what the loaders produce and the plan builder consumes.
//! Configuration that the plan only forwards is kept as validated JSON (`config`); the fields
//! the builder and the static estimate need are typed.

use serde_json::Value;

use crate::pattern::directives::Directive;
use crate::plan::output::OutputValue;
use crate::span::Span;

/// A value with the span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// What every kind of pattern file declares about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// `name` (or the file stem of a `.prism` pattern without `@name`).
    pub name: Spanned<String>,
    /// `version` (default `1.0.0`).
    pub version: Spanned<String>,
    /// `description`.
    pub description: Option<String>,
    /// The input schema as JSON Schema.
    pub input: Spanned<Value>,
    /// `author`, `tags`, `metadata` and other forwarded fields.
    pub extra: serde_json::Map<String, Value>,
    /// Schedule, persistence and versioning directives.
    pub directives: Vec<Directive>,
}

/// A YAML pattern (§1).
#[derive(Debug, Clone, PartialEq)]
pub struct YamlPattern {
    /// Name, version, input, directives.
    pub meta: Meta,
    /// The top-level phase (defaults for agent steps when `steps` is present).
    pub phase: Phase,
    /// `steps`, in order.
    pub steps: Vec<Step>,
    /// `confidence`.
    pub confidence: Option<Conf>,
    /// Top-level `fallback`.
    pub fallback: Option<Fallback>,
    /// `output`, typed, its expressions compiled.
    pub output: Spanned<crate::plan::output::OutputValue>,
}

/// One phase: agent selection, execution, groups, aggregation and validation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Phase {
    /// `agents`.
    pub agents: Option<Agents>,
    /// `execution`.
    pub execution: Option<Execution>,
    /// `groups`, in order.
    pub groups: Vec<Group>,
    /// `aggregation`.
    pub aggregation: Option<Aggregation>,
    /// `validation`.
    pub validation: Option<Validation>,
}

/// `execution` (§1.4), checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The settings, `strategy` filled in (`first` is `race`).
    pub settings: crate::plan::settings::ExecutionSettings,
    /// Span of the section.
    pub span: Span,
}

/// `agents` — selection of an agent group (§1.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Agents {
    /// Every listed capability is required (`$…` entries are expressions).
    pub capabilities: Vec<String>,
    /// At least this many agents (default 1).
    pub min: u32,
    /// At most this many (default all).
    pub max: Option<u32>,
    /// The checked selection (`capabilities`, `min`, `max`, prefer, exclude, region, …).
    pub selection: Box<crate::plan::settings::AgentsSelection>,
    /// Span of the `agents` mapping.
    pub span: Span,
}

/// `groups.G`.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The group name (a reference `$G`).
    pub name: String,
    /// The `match` expression.
    pub matcher: String,
    /// `first`, `last` or `all`.
    pub take: String,
    /// Span of the group's key.
    pub span: Span,
}

/// `aggregation` (§1.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// `voting consensus merge first best`, or `fields` for per-field aggregation.
    pub strategy: String,
    /// `method`, where the strategy has one (with its default filled in).
    pub method: Option<String>,
    /// `threshold` (consensus, default 0.7).
    pub threshold: Option<f64>,
    /// The checked settings, `strategy` (and `method`, `threshold`) filled in.
    pub settings: crate::plan::settings::AggregationSettings,
    /// Span of the `aggregation` mapping.
    pub span: Span,
}

impl Aggregation {
    /// The settings as JSON (for the emitters that print them).
    pub fn config(&self) -> Value {
        self.settings.to_json()
    }

    /// The reference alias of this aggregation (`vote`, `consensus`, …).
    pub fn alias(&self) -> &'static str {
        alias_of(&self.strategy)
    }
}

/// The alias under which an aggregation strategy's record is referenced.
pub fn alias_of(strategy: &str) -> &'static str {
    match strategy {
        "voting" => "vote",
        "consensus" => "consensus",
        "merge" => "merged",
        "first" => "first",
        "best" => "best",
        _ => "aggregated",
    }
}

/// `validation` (§1.8).
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// `minConfidence`.
    pub min_confidence: Option<f64>,
    /// The checked settings.
    pub settings: crate::plan::settings::ValidationSettings,
    /// Span of the mapping.
    pub span: Span,
}

impl Validation {
    /// The settings as JSON (for the emitters that print them).
    pub fn config(&self) -> Value {
        self.settings.to_json()
    }
}

/// `confidence` (§1.7).
#[derive(Debug, Clone, PartialEq)]
pub struct Conf {
    /// `average min max weighted custom`.
    pub method: String,
    /// The checked settings, `method` filled in (`{method}` for the scalar form).
    pub settings: crate::plan::settings::ConfidenceSettings,
    /// Span of the key's value.
    pub span: Span,
}

/// Top-level `fallback` (§1.8).
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// `default`, `retry` or `escalate`.
    pub action: String,
    /// The checked settings.
    pub settings: crate::plan::settings::FallbackSettings,
    /// Span of the mapping.
    pub span: Span,
}

/// One step (§1.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `id` (or `name`).
    pub id: Spanned<String>,
    /// What the step does.
    pub kind: StepKind,
    /// `condition`: the step is skipped when false.
    pub condition: Option<String>,
    /// `output`: a name, or a mapping shaping the value.
    pub output: Option<StepOutput>,
    /// `then.next`: where to go afterwards.
    pub then: Option<Spanned<String>>,
    /// `onError`, validated.
    pub on_error: Option<Value>,
    /// Span of the whole step mapping.
    pub span: Span,
}

/// A step's `output`.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutput {
    /// A name for the step's record.
    Name(Spanned<String>),
    /// A mapping shaping the value (`$result` = the aggregated value).
    Shape(OutputValue),
}

/// Step kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Calls agents (its own or the inherited top-level selection).
    Agent {
        /// The effective phase (own keys over inherited defaults).
        phase: Box<Phase>,
        /// True when `agents` came from the top level.
        inherited: bool,
        /// `input`: the request input shape.
        input: Option<OutputValue>,
        /// `instructions`: the task text.
        instructions: Option<String>,
    },
    /// `pattern: name[@range]`.
    Pattern {
        /// The pattern name.
        name: String,
        /// The version range, if any.
        range: Option<String>,
        /// `input`.
        input: Option<OutputValue>,
        /// Where it was found and its plan hash, once resolved.
        resolved: Option<Resolved>,
        /// Span of the `pattern` value.
        span: Span,
    },
    /// `parallel` with `branches`.
    Parallel(Vec<Step>),
    /// `switch` over `value`.
    Switch {
        /// The value expression.
        value: String,
        /// The cases in order.
        cases: Vec<Case>,
    },
    /// `gate`.
    Gate {
        /// The condition: an expression, or `$all`/`$any` of expressions.
        condition: crate::plan::settings::GateCondition,
        /// `onPass` (default: continue).
        on_pass: Jump,
        /// `onFail` (default: fail).
        on_fail: Jump,
    },
    /// `loop`.
    Loop {
        /// The body.
        steps: Vec<Step>,
        /// `maxIterations`.
        max_iterations: u32,
        /// `condition`, tested after each pass.
        condition: Option<String>,
    },
    /// `batch`.
    Batch {
        /// `items` expression.
        items: String,
        /// The task body (one step, or `task.steps`).
        task: Vec<Step>,
        /// `concurrency` (4).
        concurrency: u32,
    },
    /// `assign`: each name with its value.
    Assign(crate::plan::settings::AssignValues),
    /// `default`: a record literal.
    Default(OutputValue),
    /// `escalate`.
    Escalate {
        /// `to`.
        to: Option<String>,
        /// `context`.
        context: Option<OutputValue>,
    },
}

impl StepKind {
    /// The kind's word, as in `expect.tsv` (`agents`, `parallel`, `switch`, …).
    pub fn word(&self) -> &'static str {
        match self {
            StepKind::Agent { .. } => "agents",
            StepKind::Pattern { .. } => "pattern",
            StepKind::Parallel(_) => "parallel",
            StepKind::Switch { .. } => "switch",
            StepKind::Gate { .. } => "gate",
            StepKind::Loop { .. } => "loop",
            StepKind::Batch { .. } => "batch",
            StepKind::Assign(_) => "assign",
            StepKind::Default(_) => "default",
            StepKind::Escalate { .. } => "escalate",
        }
    }
}

/// A resolved sub-pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The file it was found in.
    pub path: String,
    /// Its version.
    pub version: String,
    /// The hash of its plan.
    pub plan_hash: String,
    /// The licensed directives of the pattern and of every pattern it includes in turn, for
    /// the license gate of the including pattern (a directive is never dropped unseen).
    pub directives: Vec<IncludedDirective>,
}

/// A `schedule`, `persistence` or `versioning` directive of an included pattern, at any
/// depth: the directive with its span in `file`, and the steps that lead from the included
/// pattern down to the file that carries it (empty when it is the included pattern's own).
#[derive(Debug, Clone, PartialEq)]
pub struct IncludedDirective {
    /// The directive, its span in `file`.
    pub directive: crate::pattern::directives::Directive,
    /// The file that carries it.
    pub file: crate::diagnostic::SourceFile,
    /// `step \`id\` of name` for each inclusion below the first, outermost first.
    pub through: Vec<String>,
}

/// A `switch` case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The label (`default` for the default case).
    pub label: String,
    /// `condition` (`gte 0.8` form or an expression), if any.
    pub condition: Option<String>,
    /// What the case does.
    pub jump: Jump,
    /// Span of the label.
    pub span: Span,
}

/// Where control goes from a switch case or a gate outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Jump {
    /// Go on with the next step.
    Continue,
    /// Finish the pattern (optionally with an output reference).
    Finish(Option<String>),
    /// Jump to a step (forward: skip; backward: re-run, ≤ `max` times).
    Next {
        /// The target step id.
        target: Spanned<String>,
        /// Most re-runs for a backward jump.
        max: u32,
    },
    /// Re-run from `target` (default: the nearest preceding agent step).
    Retry {
        /// The target step id.
        target: Option<Spanned<String>>,
        /// `maxRetries` (2).
        max: u32,
    },
    /// End the run `escalated`.
    Escalate(Option<String>),
    /// Fail the run.
    Fail,
    /// Run an inline step, then go on.
    Inline(Box<Step>),
}

/// An org-chart pattern (§2).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgChart {
    /// Name, version, input (`workflow.input`), directives.
    pub meta: Meta,
    /// The roles, in file order.
    pub roles: Vec<Role>,
    /// The workflow steps.
    pub steps: Vec<OrgStep>,
    /// `workflow.output`: a step result name, or `None` for the last.
    pub output: Option<Spanned<String>>,
    /// `structure` fields forwarded to agents (`routing`, `escalation`, …) and `workspace`.
    pub context: Value,
}

/// A role of an org chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// The role key.
    pub id: String,
    /// Required capabilities (none = any agent).
    pub capabilities: Vec<String>,
    /// Preferred agent labels (`agentType`).
    pub agent_types: Vec<String>,
    /// `minInstances` (1; `singleton` = 1).
    pub min: u32,
    /// `maxInstances` (= min).
    pub max: u32,
    /// `reportsTo`.
    pub reports_to: Option<String>,
    /// `confidence`: the role's policy.
    pub policy: Option<crate::plan::settings::RolePolicy>,
    /// The validated mapping.
    pub config: Value,
    /// Span of the role key.
    pub span: Span,
}

/// A workflow step of an org chart.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgStep {
    /// `step_1_0`-style path (the result name without `_result`).
    pub path: String,
    /// What it does.
    pub kind: OrgStepKind,
    /// True when written in a documented short form (`assign role: task`, …).
    pub short: bool,
    /// Span of the step.
    pub span: Span,
}

/// Org-chart step kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgStepKind {
    /// `assign {role, task, input?}`.
    Assign {
        /// The role.
        role: String,
        /// The task text (with `${…}` holes).
        task: String,
    },
    /// `parallel {steps}`.
    Parallel(Vec<OrgStep>),
    /// `sequential {steps}`.
    Sequential(Vec<OrgStep>),
    /// `review {reviewer, subject?}`.
    Review {
        /// The reviewing role.
        role: String,
    },
    /// `approve {approver, subject?}`.
    Approve {
        /// The approving role.
        role: String,
    },
    /// `aggregate {method}`.
    Aggregate {
        /// `consensus majority merge best`.
        method: String,
    },
    /// `condition {check, then, else}`.
    Condition {
        /// The check expression.
        check: String,
        /// The `then` step.
        then: Box<OrgStep>,
        /// The `else` step.
        otherwise: Option<Box<OrgStep>>,
    },
    /// `select {role, criteria}`.
    Select {
        /// The role.
        role: String,
    },
}

impl OrgStepKind {
    /// The kind's word (`assign`, `parallel`, …).
    pub fn word(&self) -> &'static str {
        match self {
            OrgStepKind::Assign { .. } => "assign",
            OrgStepKind::Parallel(_) => "parallel",
            OrgStepKind::Sequential(_) => "sequential",
            OrgStepKind::Review { .. } => "review",
            OrgStepKind::Approve { .. } => "approve",
            OrgStepKind::Aggregate { .. } => "aggregate",
            OrgStepKind::Condition { .. } => "condition",
            OrgStepKind::Select { .. } => "select",
        }
    }
}

/// An annotated `.prism` pattern (§4).
#[derive(Debug, Clone, PartialEq)]
pub struct PrismPattern {
    /// Name, version, input, directives.
    pub meta: Meta,
    /// Agent selection (`@agents`, `@minAgents`, `@maxAgents`); `None` = no dispatch.
    pub agents: Option<Agents>,
    /// `@timeout` in ms (300000).
    pub timeout_ms: u64,
    /// Span of the header comment.
    pub header_span: Span,
    /// Span of the script (the file without its header).
    pub body_span: Span,
    /// The confidence of a final literal `~> c`, when the script ends in one.
    pub literal_confidence: Option<f64>,
    /// The script's syntax tree (the file with its header blanked, so spans are file
    /// offsets): parsed once, when the pattern is loaded.
    pub script: std::sync::Arc<crate::ast::Program>,
}
