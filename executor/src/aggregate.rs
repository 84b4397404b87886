//! Aggregations with the exact semantics of §1.6: ballots, voting (majority, plurality,
//! unanimous, weighted), consensus (threshold, conflict resolution, field-level), first, best
//! and per-field aggregation. Merging is in [`super::merge`].

use std::collections::HashMap;

use prism_compiler::plan::settings::{
    AggregationField, AggregationSettings, AggregationStrategy, Num, Weight, Weights,
};
use serde_json::{Map, Value as Json, json};

use super::expr::{Rec, Scope, eval, json_num};
use super::merge::merge;
use super::record::AgentResult;

/// A valid result as the aggregations see it.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The result.
    pub r: &'a AgentResult,
    /// Its value (the result, or a field of it for per-field aggregation).
    pub value: Json,
    /// Position in agent order.
    pub order: usize,
}

/// The entries' values of field `name`, without the entries that lack it.
fn field_entries<'a>(es: &[Entry<'a>], name: &str) -> Vec<Entry<'a>> {
    es.iter()
        .map(|e| Entry {
            value: super::expr::read_path(&e.value, &[name]),
            ..e.clone()
        })
        .filter(|e| !e.value.is_null())
        .collect()
}

/// The valid results (§1.6) of a list, in agent order.
pub fn entries(results: &[AgentResult]) -> Vec<Entry<'_>> {
    results
        .iter()
        .filter(|r| r.is_valid())
        .enumerate()
        .map(|(order, r)| Entry {
            r,
            value: r.result.clone(),
            order,
        })
        .collect()
}

/// How many answers a vote or consensus over `results` asked for: every call except those
/// cancelled because the phase no longer needed them (a race won, `waitForAll: false`). The
/// record shows it (`asked`, `missing`) beside the agreement, which §1.6 counts over the valid
/// ballots only, so a reader sees when failed or empty answers left fewer voters.
pub fn asked(results: &[AgentResult]) -> usize {
    results
        .iter()
        .filter(|r| r.status != super::record::CallStatus::Cancelled)
        .count()
}

/// A canonical text of a JSON value for deep equality (`1` equals `1.0`).
pub fn canon(v: &Json) -> String {
    fn norm(v: &Json) -> Json {
        match v {
            Json::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Json::from(f as i64),
                _ => v.clone(),
            },
            Json::Array(a) => Json::Array(a.iter().map(norm).collect()),
            Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), norm(x))).collect()),
            other => other.clone(),
        }
    }
    norm(v).to_string()
}

/// The ballot of a value: the value at `key`, else a non-object value itself, else its
/// `vote`, else its `decision`, else the whole object.
pub fn ballot(v: &Json, key: Option<&str>) -> Json {
    if let Some(k) = key {
        let path: Vec<&str> = k.split('.').collect();
        return super::expr::read_path(v, &path);
    }
    match v {
        Json::Object(m) => m
            .get("vote")
            .or_else(|| m.get("decision"))
            .cloned()
            .unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

/// Ballots grouped by deep equality.
#[derive(Debug, Clone)]
pub struct BallotGroup {
    /// The ballot.
    pub ballot: Json,
    /// Indices into the entries.
    pub members: Vec<usize>,
    /// Σ confidence.
    pub sum_conf: f64,
    /// Σ weight (weighted voting).
    pub weight: f64,
    /// Agent order of the first member.
    pub first: usize,
}

impl BallotGroup {
    fn mean_conf(&self) -> f64 {
        if self.members.is_empty() {
            0.0
        } else {
            self.sum_conf / self.members.len() as f64
        }
    }
}

/// Groups ballots, best first: more members (or weight), then larger Σconfidence, then
/// agent order.
pub fn group_ballots(
    es: &[Entry<'_>],
    key: Option<&str>,
    weights: Option<&[f64]>,
) -> Vec<BallotGroup> {
    let mut groups: Vec<BallotGroup> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, e) in es.iter().enumerate() {
        let b = ballot(&e.value, key);
        let c = canon(&b);
        let g = *index.entry(c).or_insert_with(|| {
            groups.push(BallotGroup {
                ballot: b,
                members: Vec::new(),
                sum_conf: 0.0,
                weight: 0.0,
                first: e.order,
            });
            groups.len() - 1
        });
        groups[g].members.push(i);
        groups[g].sum_conf += e.r.confidence;
        groups[g].weight += weights.map_or(1.0, |w| w[i]);
    }
    let weighted = weights.is_some();
    groups.sort_by(|a, b| {
        let primary = if weighted {
            b.weight.total_cmp(&a.weight)
        } else {
            b.members.len().cmp(&a.members.len())
        };
        primary
            .then(b.members.len().cmp(&a.members.len()))
            .then(b.sum_conf.total_cmp(&a.sum_conf))
            .then(a.first.cmp(&b.first))
    });
    groups
}

fn label(b: &Json) -> String {
    match b {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn tallies(
    es: &[Entry<'_>],
    groups: &[BallotGroup],
    total: f64,
    weighted: bool,
) -> Map<String, Json> {
    let mut m = Map::new();
    let mut distribution = Map::new();
    let mut counts = Map::new();
    for g in groups {
        let share = if total > 0.0 {
            if weighted {
                g.weight / total
            } else {
                g.members.len() as f64 / total
            }
        } else {
            0.0
        };
        distribution.insert(label(&g.ballot), json_num(share));
        counts.insert(label(&g.ballot), json!(g.members.len()));
    }
    m.insert("distribution".into(), Json::Object(distribution));
    m.insert("counts".into(), Json::Object(counts));
    let _ = es;
    m
}

/// Voting (§1.6): agreement is the winning group's share of the valid ballots; `asked` (the
/// answers asked for, [`asked`]) is recorded with how many of them are `missing`.
pub fn voting(es: &[Entry<'_>], asked: usize, config: &AggregationSettings, scope: &Scope) -> Rec {
    let method = config.method.as_deref().unwrap_or("majority");
    let key = config.key.as_deref();
    let min_votes = config.min_votes.unwrap_or(0) as usize;
    let weights: Option<Vec<f64>> = (method == "weighted").then(|| {
        es.iter()
            .map(|e| weight_of(config.weights.as_ref(), &e.r.agent_id, scope) * e.r.confidence)
            .collect()
    });
    let groups = group_ballots(es, key, weights.as_deref());
    let valid = es.len();
    let n = valid;
    let asked = asked.max(valid);
    let total = match &weights {
        Some(w) => w.iter().sum::<f64>(),
        None => n as f64,
    };
    let win = groups.first();
    let agreement = match (win, &weights) {
        (Some(g), Some(_)) if total > 0.0 => g.weight / total,
        (Some(g), None) if n > 0 => g.members.len() as f64 / n as f64,
        _ => 0.0,
    };
    let top_share = win.map_or(0.0, |g| g.members.len() as f64 / n.max(1) as f64);
    let tie =
        groups.len() > 1 && groups[0].members.len() == groups[1].members.len() && weights.is_none();
    let enough = valid > 0 && valid >= min_votes;
    let reached = enough
        && match method {
            "unanimous" => agreement >= 1.0,
            "plurality" => true,
            _ => agreement > 0.5,
        };
    let status = if !enough {
        "insufficient"
    } else if agreement >= 1.0 {
        "unanimous"
    } else if agreement > 0.5 {
        "majority"
    } else if !tie {
        "plurality"
    } else {
        "split"
    };
    let (value, confidence) = match (reached, win) {
        (true, Some(g)) => (g.ballot.clone(), agreement * g.mean_conf()),
        _ => (Json::Null, 0.0),
    };
    let mut f = tallies(es, &groups, total, weights.is_some());
    f.insert(
        "winner".into(),
        win.map_or(Json::Null, |g| g.ballot.clone()),
    );
    f.insert("asked".into(), json!(asked));
    f.insert("missing".into(), json!(asked - valid));
    f.insert("status".into(), json!(status));
    f.insert("consensusType".into(), json!(status));
    f.insert("unanimous".into(), json!(status == "unanimous"));
    f.insert("isUnanimous".into(), json!(status == "unanimous"));
    f.insert("isSplit".into(), json!(top_share <= 0.5));
    f.insert("agreement".into(), json_num(agreement));
    f.insert(
        "votes".into(),
        Json::Array(
            es.iter()
                .map(|e| json!({"agentId": e.r.agent_id, "vote": ballot(&e.value, key), "confidence": json_num(e.r.confidence)}))
                .collect(),
        ),
    );
    let winners: Vec<&Entry<'_>> =
        win.map_or_else(Vec::new, |g| g.members.iter().map(|&i| &es[i]).collect());
    f.insert(
        "members".into(),
        json!(
            winners
                .iter()
                .map(|e| e.r.agent_id.clone())
                .collect::<Vec<_>>()
        ),
    );
    f.insert(
        "metadata".into(),
        json!({
            "reasons": winners.iter().filter_map(|e| e.r.reasoning.clone()).collect::<Vec<_>>(),
            "agentIds": winners.iter().map(|e| e.r.agent_id.clone()).collect::<Vec<_>>(),
        }),
    );
    f.insert("reached".into(), json!(reached));
    Rec {
        value,
        confidence,
        fields: f,
    }
}

fn weight_of(weights: Option<&Weights>, agent: &str, scope: &Scope) -> f64 {
    let Some(w) = weights else {
        return 1.0;
    };
    let v = w.get(agent).or_else(|| w.get("default"));
    match v {
        Some(Weight::Number(n)) => n.0.as_f64().unwrap_or(1.0),
        Some(Weight::Expr(s)) => eval(s, scope, &[])
            .ok()
            .and_then(|e| e.value.as_f64())
            .unwrap_or(1.0),
        _ => 1.0,
    }
}

/// Consensus (§1.6), whole-value or per `fields`; agreement over the valid ballots, `asked`
/// recorded as for [`voting`].
pub fn consensus(es: &[Entry<'_>], asked: usize, config: &AggregationSettings) -> Rec {
    if let Some(fields) = &config.fields {
        let mut value = Map::new();
        let mut conf = f64::INFINITY;
        let mut reached = true;
        let mut per = Map::new();
        for f in fields.iter().filter_map(AggregationField::as_rule) {
            let Some(name) = f.name.as_deref() else {
                continue;
            };
            let sub = field_entries(es, name);
            let c = AggregationSettings {
                fields: None,
                threshold: f.threshold.clone().or_else(|| config.threshold.clone()),
                key: None,
                ..config.clone()
            };
            let r = consensus_whole(&sub, asked.max(es.len()), &c);
            value.insert(name.to_string(), r.value.clone());
            conf = conf.min(r.confidence);
            reached &= r
                .fields
                .get("reached")
                .and_then(Json::as_bool)
                .unwrap_or(false);
            per.insert(name.to_string(), r.to_json());
        }
        let mut fm = Map::new();
        fm.insert("reached".into(), json!(reached));
        fm.insert("fields".into(), Json::Object(per));
        return Rec {
            value: Json::Object(value),
            confidence: if conf.is_finite() { conf } else { 0.0 },
            fields: fm,
        };
    }
    consensus_whole(es, asked, config)
}

fn consensus_whole(es: &[Entry<'_>], asked: usize, config: &AggregationSettings) -> Rec {
    let threshold = config.threshold.as_ref().map_or(0.7, Num::get);
    let min_votes = config.min_votes.unwrap_or(0) as usize;
    let key = config.key.as_deref();
    let groups = group_ballots(es, key, None);
    let valid = es.len();
    let n = valid;
    let asked = asked.max(valid);
    let share = |g: &BallotGroup| {
        if n > 0 {
            g.members.len() as f64 / n as f64
        } else {
            0.0
        }
    };
    let win = groups.first();
    let agreement = win.map_or(0.0, share);
    let reached = valid > 0 && agreement >= threshold && valid >= min_votes;
    let chosen: Option<&BallotGroup> = if reached {
        win
    } else {
        match config.conflict_resolution.as_deref() {
            Some("weighted") => groups.iter().max_by(|a, b| {
                a.sum_conf
                    .total_cmp(&b.sum_conf)
                    .then(b.first.cmp(&a.first))
            }),
            Some("highest-confidence") => {
                let best = es
                    .iter()
                    .enumerate()
                    .max_by(|(_, a), (_, b)| {
                        a.r.confidence
                            .total_cmp(&b.r.confidence)
                            .then(b.order.cmp(&a.order))
                    })
                    .map(|(i, _)| i);
                groups
                    .iter()
                    .find(|g| best.is_some_and(|b| g.members.contains(&b)))
            }
            Some("first") => groups.iter().find(|g| g.members.contains(&0)),
            _ => None,
        }
    };
    let (value, confidence) = chosen.map_or((Json::Null, 0.0), |g| {
        (g.ballot.clone(), share(g) * g.mean_conf())
    });
    let mut f = tallies(es, &groups, n as f64, false);
    f.insert(
        "winner".into(),
        win.map_or(Json::Null, |g| g.ballot.clone()),
    );
    f.insert("agreement".into(), json_num(agreement));
    f.insert("asked".into(), json!(asked));
    f.insert("missing".into(), json!(asked - valid));
    f.insert("reached".into(), json!(reached));
    let avg = if valid > 0 {
        es.iter().map(|e| e.r.confidence).sum::<f64>() / valid as f64
    } else {
        0.0
    };
    f.insert("averageConfidence".into(), json_num(avg));
    let ids = |g: Option<&BallotGroup>| -> Vec<String> {
        g.map_or_else(Vec::new, |g| {
            g.members
                .iter()
                .map(|&i| es[i].r.agent_id.clone())
                .collect()
        })
    };
    f.insert("members".into(), json!(ids(win)));
    let dissent: Vec<Json> = es
        .iter()
        .enumerate()
        .filter(|(i, _)| win.is_none_or(|g| !g.members.contains(i)))
        .map(|(_, e)| json!({"agentId": e.r.agent_id, "value": ballot(&e.value, key), "confidence": json_num(e.r.confidence)}))
        .collect();
    f.insert("dissent".into(), Json::Array(dissent));
    Rec {
        value,
        confidence,
        fields: f,
    }
}

fn pick(e: Option<&Entry<'_>>) -> Rec {
    match e {
        Some(e) => {
            let mut f = Map::new();
            f.insert("agentId".into(), json!(e.r.agent_id));
            f.insert("agentName".into(), json!(e.r.agent_name));
            f.insert(
                "reasoning".into(),
                e.r.reasoning.clone().map_or(Json::Null, Json::String),
            );
            Rec {
                value: e.value.clone(),
                confidence: e.r.confidence,
                fields: f,
            }
        }
        None => Rec::new(Json::Null, 0.0),
    }
}

/// `first`: the first valid result in arrival order with confidence ≥ `minConfidence`.
pub fn first(es: &[Entry<'_>], config: &AggregationSettings) -> Rec {
    let min = config.min_confidence.as_ref().map_or(0.0, Num::get);
    pick(
        es.iter()
            .filter(|e| e.r.confidence >= min)
            .min_by_key(|e| e.r.seq),
    )
}

/// `best`: by confidence (ties: agent order) or by a custom expression over the record.
pub fn best(es: &[Entry<'_>], config: &AggregationSettings, scope: &Scope) -> Rec {
    let custom = config.by.as_deref() == Some("custom");
    let expr = config.expression.as_deref();
    let score = |e: &Entry<'_>| -> f64 {
        match (custom, expr) {
            (true, Some(x)) => {
                let rec = e.r.to_json();
                let mut names: Vec<(&str, Json)> = vec![
                    ("result", e.value.clone()),
                    ("confidence", json_num(e.r.confidence)),
                ];
                names.push(("record", rec));
                names.push(("agentId", json!(e.r.agent_id)));
                eval(x, scope, &names)
                    .ok()
                    .and_then(|v| v.value.as_f64())
                    .unwrap_or(f64::NEG_INFINITY)
            }
            _ => e.r.confidence,
        }
    };
    let mut bestv: Option<(f64, &Entry<'_>)> = None;
    for e in es {
        let s = score(e);
        if bestv.is_none_or(|(b, _)| s > b) {
            bestv = Some((s, e));
        }
    }
    pick(bestv.map(|(_, e)| e))
}

/// Dispatches on `strategy` (and per-field aggregation); `asked` as for [`voting`].
pub fn aggregate(
    es: &[Entry<'_>],
    asked: usize,
    config: &AggregationSettings,
    scope: &Scope,
) -> Rec {
    match config.strategy {
        Some(AggregationStrategy::Voting) => voting(es, asked, config, scope),
        Some(AggregationStrategy::Consensus) => consensus(es, asked, config),
        Some(AggregationStrategy::Merge) => merge(es, config),
        Some(AggregationStrategy::First) => first(es, config),
        Some(AggregationStrategy::Best) => best(es, config, scope),
        _ => per_field(es, asked, config, scope),
    }
}

/// Aggregates a phase's results: its valid entries, with every answer asked for counted.
pub fn aggregate_results(
    results: &[AgentResult],
    config: &AggregationSettings,
    scope: &Scope,
) -> Rec {
    aggregate(&entries(results), asked(results), config, scope)
}

/// Per-field aggregation: `fields: [{name, strategy, …}]`; confidence = min over fields.
fn per_field(es: &[Entry<'_>], asked: usize, config: &AggregationSettings, scope: &Scope) -> Rec {
    let mut value = Map::new();
    let mut per = Map::new();
    let mut conf = f64::INFINITY;
    for f in config.field_rules() {
        let Some(name) = f.name.as_deref() else {
            continue;
        };
        let sub = field_entries(es, name);
        let r = match f.strategy.unwrap_or(AggregationStrategy::Voting) {
            s @ (AggregationStrategy::Average
            | AggregationStrategy::Min
            | AggregationStrategy::Max) => numeric(&sub, s.as_str()),
            _ => aggregate(&sub, asked.max(es.len()), f, scope),
        };
        value.insert(name.to_string(), r.value.clone());
        conf = conf.min(r.confidence);
        per.insert(name.to_string(), r.to_json());
    }
    let mut fm = Map::new();
    fm.insert("fields".into(), Json::Object(per));
    Rec {
        value: Json::Object(value),
        confidence: if conf.is_finite() { conf } else { 0.0 },
        fields: fm,
    }
}

fn numeric(es: &[Entry<'_>], how: &str) -> Rec {
    let xs: Vec<(f64, f64)> = es
        .iter()
        .filter_map(|e| e.value.as_f64().map(|x| (x, e.r.confidence)))
        .collect();
    if xs.is_empty() {
        return Rec::new(Json::Null, 0.0);
    }
    let mean_conf = xs.iter().map(|x| x.1).sum::<f64>() / xs.len() as f64;
    let v = match how {
        "min" => xs.iter().map(|x| x.0).fold(f64::INFINITY, f64::min),
        "max" => xs.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max),
        _ => xs.iter().map(|x| x.0).sum::<f64>() / xs.len() as f64,
    };
    Rec::new(json_num(v), mean_conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cfg(v: Json) -> AggregationSettings {
        AggregationSettings::parse(&v).0
    }
    use crate::record::CallStatus;

    pub(crate) fn result(id: &str, v: Json, c: f64, seq: u64) -> AgentResult {
        AgentResult {
            agent_id: id.into(),
            agent_name: id.into(),
            capabilities: vec![],
            expertise: 0.7,
            result: v,
            confidence: c,
            reasoning: Some(format!("because {id}")),
            timestamp: 0,
            latency_ms: 0,
            uncertainties: None,
            metadata: None,
            error: None,
            status: CallStatus::Ok,
            step: None,
            attempts: 1,
            seq,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn majority_voting_uses_agreement_times_group_mean() {
        let rs = vec![
            result("a", json!("yes"), 0.9, 0),
            result("b", json!({"vote": "yes"}), 0.7, 1),
            result("c", json!("no"), 0.6, 2),
            result("d", json!(null), 0.9, 3),
            result("e", json!("no"), 0.0, 4),
        ];
        let es = entries(&rs);
        assert_eq!(es.len(), 3);
        let r = voting(&es, 3, &cfg(json!({"method": "majority"})), &Scope::new());
        assert_eq!(r.value, json!("yes"));
        assert!(close(r.confidence, 2.0 / 3.0 * 0.8));
        assert_eq!(r.fields["status"], json!("majority"));
        assert_eq!(r.fields["isSplit"], json!(false));
        let u = voting(&es, 3, &cfg(json!({"method": "unanimous"})), &Scope::new());
        assert_eq!((u.value, u.confidence), (Json::Null, 0.0));
        let mv = voting(
            &es,
            3,
            &cfg(json!({"method": "majority", "minVotes": 4})),
            &Scope::new(),
        );
        assert_eq!(mv.fields["status"], json!("insufficient"));
        // The empty answers (null, confidence 0) are no ballots (§1.6): 2 of the 3 valid ones
        // agree; the record says 2 of the 5 answers asked for are missing.
        let all = aggregate_results(&rs, &cfg(json!({"strategy": "voting"})), &Scope::new());
        assert_eq!(all.value, json!("yes"));
        assert_eq!(all.fields["agreement"], json!(2.0 / 3.0));
        assert_eq!(
            (all.fields["asked"].clone(), all.fields["missing"].clone()),
            (json!(5), json!(2))
        );
        assert_eq!(all.fields["status"], json!("majority"));
    }

    #[test]
    fn agreement_counts_valid_ballots_and_the_record_names_missing_answers() {
        let mut dead = result("c", json!(null), 0.0, 2);
        dead.status = CallStatus::Failed;
        dead.error = Some("HTTP 500".into());
        let alive = vec![
            result("a", json!("cat"), 0.9, 0),
            result("b", json!("cat"), 0.85, 1),
            result("c", json!("dog"), 0.6, 2),
        ];
        let one_dead = vec![alive[0].clone(), alive[1].clone(), dead];
        let vote = cfg(json!({"strategy": "voting"}));
        let with_all = aggregate_results(&alive, &vote, &Scope::new());
        let with_dead = aggregate_results(&one_dead, &vote, &Scope::new());
        assert!(close(with_all.confidence, 2.0 / 3.0 * 0.875));
        // §1.6: the two valid ballots agree; `missing` tells the reader one answer is gone.
        assert!(close(with_dead.confidence, 0.875));
        assert_eq!(with_dead.fields["agreement"], json!(1));
        assert_eq!(
            (
                with_dead.fields["asked"].clone(),
                with_dead.fields["missing"].clone()
            ),
            (json!(3), json!(1))
        );
        let consensus = cfg(json!({"strategy": "consensus", "threshold": 0.7}));
        let c = aggregate_results(&one_dead, &consensus, &Scope::new());
        assert_eq!(
            c.fields["reached"],
            json!(true),
            "2 of 2 valid ballots agree"
        );
        // A call cancelled because the phase had enough answers was not needed.
        let mut cancelled = result("d", json!(null), 0.0, 3);
        cancelled.status = CallStatus::Cancelled;
        cancelled.error = Some("cancelled".into());
        let mut early = alive[..2].to_vec();
        early.push(cancelled);
        assert_eq!(asked(&early), 2);
        let r = aggregate_results(&early, &consensus, &Scope::new());
        assert_eq!(r.fields["reached"], json!(true));
    }

    #[test]
    fn ties_go_to_more_confidence_then_agent_order() {
        let rs = vec![
            result("a", json!("x"), 0.5, 0),
            result("b", json!("y"), 0.9, 1),
        ];
        let es = entries(&rs);
        let r = voting(&es, 2, &cfg(json!({"method": "plurality"})), &Scope::new());
        assert_eq!(r.value, json!("y"));
        assert_eq!(r.fields["status"], json!("split"));
        let rs = vec![
            result("a", json!("x"), 0.5, 0),
            result("b", json!("y"), 0.5, 1),
        ];
        let es = entries(&rs);
        assert_eq!(
            voting(&es, 2, &cfg(json!({"method": "plurality"})), &Scope::new()).value,
            json!("x")
        );
    }

    #[test]
    fn weighted_voting_weighs_agents() {
        let rs = vec![
            result("a", json!("x"), 1.0, 0),
            result("b", json!("y"), 1.0, 1),
            result("c", json!("y"), 1.0, 2),
        ];
        let es = entries(&rs);
        let r = voting(
            &es,
            3,
            &cfg(json!({"method": "weighted", "weights": {"a": 3, "default": 1}})),
            &Scope::new(),
        );
        assert_eq!(r.value, json!("x"));
        assert!(close(r.confidence, 0.6));
    }

    #[test]
    fn consensus_thresholds_and_resolution() {
        let rs = vec![
            result("a", json!("x"), 0.9, 0),
            result("b", json!("x"), 0.7, 1),
            result("c", json!("y"), 0.95, 2),
        ];
        let es = entries(&rs);
        let r = consensus(&es, 3, &cfg(json!({"threshold": 0.6})));
        assert_eq!(r.value, json!("x"));
        assert!(close(r.confidence, 2.0 / 3.0 * 0.8));
        let r = consensus(&es, 3, &cfg(json!({"threshold": 0.7})));
        assert_eq!((r.value.clone(), r.confidence), (Json::Null, 0.0));
        let r = consensus(
            &es,
            3,
            &cfg(json!({"threshold": 0.7, "conflictResolution": "highest-confidence"})),
        );
        assert_eq!(r.value, json!("y"));
        assert_eq!(r.fields["reached"], json!(false));
        let rs = vec![
            result("a", json!({"k": 1, "m": "p"}), 0.8, 0),
            result("b", json!({"k": 1, "m": "q"}), 0.6, 1),
        ];
        let es = entries(&rs);
        let r = consensus(
            &es,
            2,
            &cfg(json!({"fields": [{"name": "k"}, {"name": "m", "threshold": 0.5}]})),
        );
        assert_eq!(r.value, json!({"k": 1, "m": "p"}));
        assert!(close(r.confidence, 0.4));
    }

    #[test]
    fn first_and_best() {
        let rs = vec![
            result("a", json!(1), 0.4, 5),
            result("b", json!(2), 0.9, 3),
            result("c", json!(3), 0.6, 1),
        ];
        let es = entries(&rs);
        assert_eq!(first(&es, &cfg(json!({}))).value, json!(3));
        assert_eq!(
            first(&es, &cfg(json!({"minConfidence": 0.8}))).value,
            json!(2)
        );
        assert_eq!(best(&es, &cfg(json!({})), &Scope::new()).value, json!(2));
        let custom = best(
            &es,
            &cfg(json!({"by": "custom", "expression": "result * -1"})),
            &Scope::new(),
        );
        assert_eq!((custom.value, custom.confidence), (json!(1), 0.4));
        assert_eq!(first(&[], &cfg(json!({}))).confidence, 0.0);
    }
}
