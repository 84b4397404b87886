//! Merge aggregation (§1.6): `shallow` (default), `deep` (arrays by `arrayStrategy`),
//! `concat`, `union` (deduplicated by deep equality or `deduplicationKey`) and
//! `intersection`; scalar conflicts by `conflictResolution` (`highest-confidence`, `last`,
//! `majority`); `fields` keeps only those keys; confidence = the contributors' minimum.

use std::collections::HashMap;

use prism_compiler::plan::settings::{AggregationField, AggregationSettings};
use serde_json::{Map, Value as Json, json};

use super::aggregate::{Entry, canon};
use super::expr::Rec;

/// A value with its contributor's confidence and agent order.
#[derive(Clone)]
struct Cand {
    value: Json,
    conf: f64,
    order: usize,
}

struct Opts<'a> {
    method: &'a str,
    arrays: &'a str,
    resolution: &'a str,
    dedup_key: Option<&'a str>,
}

/// Merges the entries' values.
pub fn merge(es: &[Entry<'_>], config: &AggregationSettings) -> Rec {
    let opts = Opts {
        method: config.method.as_deref().unwrap_or("shallow"),
        arrays: config.array_strategy.as_deref().unwrap_or("union"),
        resolution: config
            .conflict_resolution
            .as_deref()
            .unwrap_or("highest-confidence"),
        dedup_key: config.deduplication_key.as_deref(),
    };
    if es.is_empty() {
        return Rec::new(Json::Null, 0.0);
    }
    let cands: Vec<Cand> = es
        .iter()
        .map(|e| Cand {
            value: e.value.clone(),
            conf: e.r.confidence,
            order: e.order,
        })
        .collect();
    let mut value = combine(&cands, &opts, 0);
    if let (Some(fields), Json::Object(m)) = (&config.fields, &mut value) {
        let keep: Vec<&str> = fields
            .iter()
            .filter_map(AggregationField::as_name)
            .collect();
        m.retain(|k, _| keep.contains(&k.as_str()));
    }
    let confidence = es
        .iter()
        .map(|e| e.r.confidence)
        .fold(f64::INFINITY, f64::min);
    let mut f = Map::new();
    f.insert(
        "contributors".into(),
        json!(es.iter().map(|e| e.r.agent_id.clone()).collect::<Vec<_>>()),
    );
    f.insert("method".into(), json!(opts.method));
    Rec {
        value,
        confidence,
        fields: f,
    }
}

fn combine(cands: &[Cand], o: &Opts<'_>, depth: usize) -> Json {
    let all_lists = cands.iter().all(|c| c.value.is_array());
    let all_objects = cands.iter().all(|c| c.value.is_object());
    if all_lists {
        let lists: Vec<&Vec<Json>> = cands.iter().filter_map(|c| c.value.as_array()).collect();
        let strategy = match o.method {
            "concat" | "union" | "intersection" => o.method,
            "deep" => o.arrays,
            _ if depth == 0 => "concat",
            _ => return resolve(cands, o.resolution),
        };
        return list(&lists, strategy, o.dedup_key);
    }
    if all_objects && (depth == 0 || o.method == "deep") {
        let mut keys: Vec<String> = Vec::new();
        for c in cands {
            if let Some(m) = c.value.as_object() {
                for k in m.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
        }
        let mut out = Map::new();
        for k in keys {
            let sub: Vec<Cand> = cands
                .iter()
                .filter_map(|c| {
                    c.value.get(&k).map(|v| Cand {
                        value: v.clone(),
                        ..c.clone()
                    })
                })
                .collect();
            let v = if sub.iter().all(|c| c.value.is_array())
                && matches!(o.method, "concat" | "union" | "intersection")
            {
                let lists: Vec<&Vec<Json>> =
                    sub.iter().filter_map(|c| c.value.as_array()).collect();
                list(&lists, o.method, o.dedup_key)
            } else if o.method == "deep" {
                combine(&sub, o, depth + 1)
            } else {
                resolve(&sub, o.resolution)
            };
            out.insert(k, v);
        }
        return Json::Object(out);
    }
    resolve(cands, o.resolution)
}

fn list(lists: &[&Vec<Json>], strategy: &str, key: Option<&str>) -> Json {
    let ident = |v: &Json| match key {
        Some(k) => canon(v.get(k).unwrap_or(v)),
        None => canon(v),
    };
    match strategy {
        "replace" => lists
            .last()
            .map_or(Json::Array(vec![]), |l| Json::Array((*l).clone())),
        "concat" => Json::Array(lists.iter().flat_map(|l| l.iter().cloned()).collect()),
        "intersection" => {
            let Some((first, rest)) = lists.split_first() else {
                return Json::Array(vec![]);
            };
            let mut seen = Vec::new();
            let mut out = Vec::new();
            for item in first.iter() {
                let id = ident(item);
                if seen.contains(&id) {
                    continue;
                }
                if rest.iter().all(|l| l.iter().any(|x| ident(x) == id)) {
                    out.push(item.clone());
                }
                seen.push(id);
            }
            Json::Array(out)
        }
        _ => {
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for item in lists.iter().flat_map(|l| l.iter()) {
                if seen.insert(ident(item)) {
                    out.push(item.clone());
                }
            }
            Json::Array(out)
        }
    }
}

fn resolve(cands: &[Cand], how: &str) -> Json {
    match how {
        "last" => cands
            .iter()
            .max_by_key(|c| c.order)
            .map_or(Json::Null, |c| c.value.clone()),
        "majority" => {
            let mut counts: HashMap<String, (usize, usize, &Json)> = HashMap::new();
            for c in cands {
                let e = counts
                    .entry(canon(&c.value))
                    .or_insert((0, c.order, &c.value));
                e.0 += 1;
            }
            counts
                .into_values()
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                .map_or(Json::Null, |(_, _, v)| v.clone())
        }
        _ => cands
            .iter()
            .max_by(|a, b| a.conf.total_cmp(&b.conf).then(b.order.cmp(&a.order)))
            .map_or(Json::Null, |c| c.value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cfg(v: Json) -> AggregationSettings {
        AggregationSettings::parse(&v).0
    }
    use crate::aggregate::entries;
    use crate::record::{AgentResult, CallStatus};

    fn r(id: &str, v: Json, c: f64) -> AgentResult {
        AgentResult {
            agent_id: id.into(),
            agent_name: id.into(),
            capabilities: vec![],
            expertise: 0.7,
            result: v,
            confidence: c,
            reasoning: None,
            timestamp: 0,
            latency_ms: 0,
            uncertainties: None,
            metadata: None,
            error: None,
            status: CallStatus::Ok,
            step: None,
            attempts: 1,
            seq: 0,
        }
    }

    #[test]
    fn merges_follow_their_methods() {
        let rs = vec![
            r(
                "a",
                json!({"t": "A", "tags": ["x", "y"], "o": {"p": 1}}),
                0.6,
            ),
            r(
                "b",
                json!({"t": "B", "tags": ["y", "z"], "o": {"q": 2}}),
                0.9,
            ),
        ];
        let es = entries(&rs);
        let shallow = merge(&es, &cfg(json!({})));
        assert_eq!(
            shallow.value,
            json!({"t": "B", "tags": ["y", "z"], "o": {"q": 2}})
        );
        assert_eq!(shallow.confidence, 0.6);
        let last = merge(
            &es,
            &cfg(json!({"conflictResolution": "last", "fields": ["t"]})),
        );
        assert_eq!(last.value, json!({"t": "B"}));
        let deep = merge(&es, &cfg(json!({"method": "deep"})));
        assert_eq!(
            deep.value,
            json!({"t": "B", "tags": ["x", "y", "z"], "o": {"p": 1, "q": 2}})
        );
        let concat = merge(&es, &cfg(json!({"method": "concat"})));
        assert_eq!(concat.value["tags"], json!(["x", "y", "y", "z"]));
        let inter = merge(&es, &cfg(json!({"method": "intersection"})));
        assert_eq!(inter.value["tags"], json!(["y"]));
        let lists = vec![
            r("a", json!([{"id": 1, "n": "a"}]), 0.5),
            r("b", json!([{"id": 1, "n": "b"}, {"id": 2}]), 0.7),
        ];
        let es = entries(&lists);
        let u = merge(
            &es,
            &cfg(json!({"method": "union", "deduplicationKey": "id"})),
        );
        assert_eq!(u.value, json!([{"id": 1, "n": "a"}, {"id": 2}]));
    }
}
