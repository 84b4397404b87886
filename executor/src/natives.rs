//! Native functions pattern scripts get (§4): `average`, `synthesize`, `majorityVote` and
//! `llm` (through the agent layer), and how a script's last value becomes the pattern's
//! result and confidence.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;

use prism_agents::llm::LlmAgent;
use prism_interp::promise::{NativeFuture, Settled};
use prism_interp::value::Value;
use prism_interp::{Interpreter, RuntimeError, to_json};

/// The pattern's `(value, confidence)` from a script's last value: `v ~> c` gives the
/// innermost value and the outer confidence; else an object's numeric `confidence` in
/// [0, 1]; else 0.5. `undefined` is null.
pub fn settle(v: &Value) -> (Json, f64) {
    if let Value::Confident(c) = v {
        let mut inner = &c.value;
        while let Value::Confident(i) = inner {
            inner = &i.value;
        }
        return (to_json(inner), prism_agents::protocol::clamp(c.confidence));
    }
    let j = to_json(v);
    let c = j
        .get("confidence")
        .and_then(Json::as_f64)
        .filter(|c| (0.0..=1.0).contains(c))
        .unwrap_or(0.5);
    (j, c)
}

fn items(args: &[Value], name: &str) -> Result<Vec<Value>, RuntimeError> {
    match args.first().map(Value::unwrap_confident) {
        Some(Value::Array(a)) => Ok(a.borrow().clone()),
        _ => Err(RuntimeError::msg(format!("{name}() requires an array"))),
    }
}

/// An item's confidence: a confident value's, an object's numeric `confidence`, else none.
fn confidence_of(v: &Value) -> Option<f64> {
    match v {
        Value::Confident(c) => Some(c.confidence),
        Value::Object(o) => o.borrow().get("confidence").and_then(Value::as_number),
        _ => None,
    }
}

/// An item's ballot: a confident value's value, an object's `result`/`value`, else itself.
fn ballot_of(v: &Value) -> Value {
    match v {
        Value::Confident(c) => c.value.clone(),
        Value::Object(o) => {
            let m = o.borrow();
            m.get("result")
                .or_else(|| m.get("value"))
                .cloned()
                .unwrap_or_else(|| v.clone())
        }
        other => other.clone(),
    }
}

/// Installs `average`, `synthesize`, `majorityVote` and `llm`.
pub fn install_pattern_builtins(interp: &mut Interpreter, llm: Option<Arc<LlmAgent>>) {
    interp.define_global(
        "average",
        Value::native("average", |_, args, _| {
            let xs = items(args, "average")?;
            let nums: Vec<f64> = xs.iter().filter_map(Value::as_number).collect();
            if nums.is_empty() {
                return Ok(Value::Number(0.0));
            }
            let mean = nums.iter().sum::<f64>() / nums.len() as f64;
            let confs: Vec<f64> = xs.iter().filter_map(Value::confidence).collect();
            Ok(if confs.is_empty() {
                Value::Number(mean)
            } else {
                Value::confident(
                    Value::Number(mean),
                    confs.iter().sum::<f64>() / confs.len() as f64,
                )
            })
        }),
    );
    interp.define_global(
        "synthesize",
        Value::native("synthesize", |_, args, _| {
            let xs = items(args, "synthesize")?;
            let mut best: Option<(f64, Value)> = None;
            for x in xs {
                let c = confidence_of(&x).unwrap_or(0.0);
                if best.as_ref().is_none_or(|(b, _)| c > *b) {
                    best = Some((c, x));
                }
            }
            Ok(best.map_or(Value::Null, |(_, v)| v))
        }),
    );
    interp.define_global(
        "majorityVote",
        Value::native("majorityVote", |_, args, _| {
            let xs = items(args, "majorityVote")?;
            if xs.is_empty() {
                return Ok(Value::confident(Value::Null, 0.0));
            }
            let mut groups: Vec<(Value, usize, f64, usize)> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            for (i, x) in xs.iter().enumerate() {
                let b = ballot_of(x);
                let key = super::aggregate::canon(&to_json(&b));
                let c = confidence_of(x).unwrap_or(1.0);
                let g = *index.entry(key).or_insert_with(|| {
                    groups.push((b, 0, 0.0, i));
                    groups.len() - 1
                });
                groups[g].1 += 1;
                groups[g].2 += c;
            }
            groups.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.3.cmp(&b.3)));
            let (winner, n, sum, _) = groups.swap_remove(0);
            let agreement = n as f64 / xs.len() as f64;
            Ok(Value::confident(winner, agreement * sum / n as f64))
        }),
    );
    interp.define_global(
        "llm",
        Value::native("llm", move |it, args, _| {
            let Some(agent) = llm.clone() else {
                return Err(RuntimeError::msg(
                    "llm() needs an LLM agent: add one with `llm: {endpoint, model}` to the agents file",
                ));
            };
            let prompt = match args.first().map(Value::unwrap_confident) {
                Some(Value::Str(s)) => s.to_string(),
                Some(other) => prism_interp::format::display(other),
                None => return Err(RuntimeError::msg("llm() requires a prompt")),
            };
            let fut: NativeFuture = Box::pin(async move {
                agent
                    .complete(&prompt, 60_000)
                    .await
                    .map(|a| Settled { value: a.value, confidence: Some(a.confidence) })
                    .map_err(|e| e.to_string())
            });
            it.spawn(fut)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_settle_by_the_rules() {
        let nested = Value::confident(Value::confident(Value::Number(2.0), 0.4), 0.9);
        assert_eq!(settle(&nested), (serde_json::json!(2), 0.9));
        assert_eq!(settle(&Value::str("x")), (serde_json::json!("x"), 0.5));
        let obj = prism_interp::from_json(&serde_json::json!({"a": 1, "confidence": 0.3}));
        assert_eq!(settle(&obj).1, 0.3);
        assert_eq!(settle(&Value::Null), (Json::Null, 0.5));
    }
}
