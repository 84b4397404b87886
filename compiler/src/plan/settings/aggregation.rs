//! `aggregation` (§1.6): how a phase's answers become one record, whole or per field.

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::Num;
use super::ordered::Setting;

settings_enum! {
    /// How an aggregation combines answers.
    pub enum AggregationStrategy {
        /// Votes (`method`: majority, plurality, unanimous, weighted).
        Voting = "voting",
        /// Agreement of at least `threshold`.
        Consensus = "consensus",
        /// A merge of the answers (`method`: shallow, deep, concat, union, intersection).
        Merge = "merge",
        /// The first answer with confidence ≥ `minConfidence`.
        First = "first",
        /// The best answer, by confidence or an expression.
        Best = "best",
        /// Rejected by the loader (it belongs in a `.prism` pattern).
        Custom = "custom",
        /// Per field (`fields`), filled in when the mapping has `fields` and no `strategy`.
        Fields = "fields",
        /// A field's mean (fields only).
        Average = "average",
        /// A field's least value (fields only).
        Min = "min",
        /// A field's greatest value (fields only).
        Max = "max",
    }
}

/// A weight of `aggregation.weights`: a number or a `$…` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Weight {
    /// A number.
    Number(Num),
    /// An expression evaluated when the aggregation runs.
    Expr(String),
    /// Anything else (a script's settings only; the loader rejects it): weighs 1.
    Other(Value),
}

impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Weight::Number(n) => n.serialize(s),
            Weight::Expr(x) => x.serialize(s),
            Weight::Other(v) => v.serialize(s),
        }
    }
}

impl Setting for Weight {
    fn from_json(v: &Value) -> Result<Self, String> {
        Ok(match v {
            Value::Number(n) => Weight::Number(Num(n.clone())),
            Value::String(x) => Weight::Expr(x.clone()),
            other => Weight::Other(other.clone()),
        })
    }
}

/// `aggregation.weights`: a weight per agent name (`default` for the others), in written order.
pub type Weights = IndexMap<String, Weight>;

/// An entry of `aggregation.fields`: a field name (what a merge keeps) or a field's own
/// aggregation settings (with its `name`).
#[derive(Debug, Clone, PartialEq)]
pub enum AggregationField {
    /// A field name.
    Name(String),
    /// A field with its settings.
    Rule(Box<AggregationSettings>),
}

impl AggregationField {
    /// The entry as a plain name, if it is one.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            AggregationField::Name(n) => Some(n),
            AggregationField::Rule(_) => None,
        }
    }

    /// The entry as a field's settings, if it is one.
    pub fn as_rule(&self) -> Option<&AggregationSettings> {
        match self {
            AggregationField::Rule(r) => Some(r.as_ref()),
            AggregationField::Name(_) => None,
        }
    }
}

impl Serialize for AggregationField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AggregationField::Name(n) => n.serialize(s),
            AggregationField::Rule(r) => r.serialize(s),
        }
    }
}

impl Setting for AggregationField {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(AggregationField::Name(s.clone())),
            // The loader checks a field's keys and values; as in a script's settings, values
            // of another type are ignored.
            Value::Object(_) => Ok(AggregationField::Rule(Box::new(
                AggregationSettings::parse(v).0,
            ))),
            _ => Err("a list of names or mappings".into()),
        }
    }
}

settings_struct! {
    /// The settings of an aggregation (and of each of its `fields`).
    pub struct AggregationSettings {
        /// `strategy` (filled in by the loader).
        strategy: AggregationStrategy = "strategy",
        /// `method` of voting or merge (filled in by the loader).
        method: String = "method",
        /// `threshold` of consensus (0.7, filled in by the loader).
        threshold: Num = "threshold",
        /// `minVotes`: fewer valid votes are `insufficient`.
        min_votes: u64 = "minVotes",
        /// `key`: the field of an answer that is its ballot.
        key: String = "key",
        /// `weights` per agent (`default` for the others), for weighted voting.
        weights: Weights = "weights",
        /// `conflictResolution` when consensus is not reached, or between merged values.
        conflict_resolution: String = "conflictResolution",
        /// `fields`: per-field settings, or the fields a merge keeps.
        fields: Vec<AggregationField> = "fields",
        /// `arrayStrategy` of a merge (`union`).
        array_strategy: String = "arrayStrategy",
        /// `deduplication` of merged lists.
        deduplication: bool = "deduplication",
        /// `deduplicationKey` of merged lists of records.
        deduplication_key: String = "deduplicationKey",
        /// `by`: `confidence` or `custom` (best).
        by: String = "by",
        /// `expression` scoring an answer (best, `by: custom`).
        expression: String = "expression",
        /// `minConfidence` of `first`.
        min_confidence: Num = "minConfidence",
        /// `name` of a field entry.
        name: String = "name",
    }
}

impl AggregationSettings {
    /// Settings with only a strategy.
    pub fn with_strategy(strategy: AggregationStrategy) -> Self {
        AggregationSettings {
            strategy: Some(strategy),
            written: vec!["strategy"],
            ..Self::default()
        }
    }

    /// The field entries with settings, in order.
    pub fn field_rules(&self) -> impl Iterator<Item = &AggregationSettings> {
        self.fields
            .iter()
            .flatten()
            .filter_map(AggregationField::as_rule)
    }
}
