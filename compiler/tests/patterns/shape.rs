//! Reads the plan shapes `shared/patterns/README.md` gives for accepted files and checks a
//! plan's JSON against them.

use serde_json::Value;

/// `(path, shape segments)` of every accepted line.
pub fn accept_lines(readme: &str) -> Vec<(String, Vec<String>)> {
    readme
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("- `")?;
            let (path, rest) = rest.split_once('`')?;
            let rest = rest.strip_prefix(" — **accept**")?;
            let rest = rest.strip_prefix(" (org-chart)").unwrap_or(rest);
            let rest = rest.strip_prefix(" — ").unwrap_or("");
            let segments = rest
                .split(" · ")
                .map(str::to_string)
                .take_while(|s| !s.starts_with("**Differs"))
                .collect();
            Some((path.to_string(), segments))
        })
        .collect()
}

fn nodes(plan: &Value) -> Vec<&Value> {
    plan["nodes"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn node<'a>(plan: &'a Value, id: &str) -> Option<&'a Value> {
    nodes(plan).into_iter().find(|n| n["id"] == id)
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// Checks an aggregation description (`voting majority minVotes 2`, `consensus threshold
/// 0.8`, `merge union`, `first minConfidence 0.7`, `best`) against an `Aggregate` config.
fn check_aggregation(desc: &[&str], config: &Value) -> Option<String> {
    let strategy = desc.first()?;
    if config["strategy"] != *strategy {
        return Some(format!(
            "aggregation strategy {} (expected {strategy})",
            config["strategy"]
        ));
    }
    let mut i = 1;
    while i < desc.len() {
        let w = desc[i];
        if let Some(v) = desc.get(i + 1).and_then(|v| v.parse::<f64>().ok())
            && ["threshold", "minVotes", "minConfidence"].contains(&w)
        {
            if config[w].as_f64() != Some(v) {
                return Some(format!("aggregation {w} {} (expected {v})", config[w]));
            }
            i += 2;
            continue;
        }
        if [
            "majority",
            "plurality",
            "unanimous",
            "weighted",
            "shallow",
            "deep",
            "union",
            "intersection",
            "concat",
        ]
        .contains(&w)
            && config["method"] != w
        {
            return Some(format!(
                "aggregation method {} (expected {w})",
                config["method"]
            ));
        }
        i += 1;
    }
    None
}

/// The problems of `plan` against the shape segments (empty = matches).
pub fn check(shape: &[String], plan: &Value, warnings: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for seg in shape {
        let w = words(seg);
        let Some(first) = w.first().copied() else {
            continue;
        };
        let problem = match first {
            "agents" | "top-level" => check_agents(seg, plan),
            "no" if seg.starts_with("no agents") => {
                if nodes(plan).iter().any(|n| n["kind"] == "AgentGroup") {
                    Some("an AgentGroup, expected none".into())
                } else if !warnings.contains(&"prism::pattern::no-agents") {
                    Some("no `no-agents` warning".into())
                } else {
                    None
                }
            }
            "steps" if seg.contains('(') => check_steps(seg, plan),
            "steps" => check_org_steps(seg, plan),
            "roles" => check_roles(seg, plan),
            "voting" | "consensus" | "merge" | "first" | "best" if is_aggregation(&w) => {
                let inherited = nodes(plan)
                    .into_iter()
                    .find(|n| n["inherited"] == true)
                    .and_then(|n| n["step"].as_str())
                    .and_then(|s| node(plan, &format!("step:{s}/aggregate")));
                match node(plan, "aggregate").or(inherited) {
                    Some(a) => check_aggregation(&w, &a["config"]),
                    None => Some(format!("no top-level Aggregate for `{seg}`")),
                }
            }
            "groups" => check_groups(&w, plan),
            "validation" => node(plan, "validate")
                .is_none()
                .then(|| "no Validate node".to_string()),
            "confidence" => check_confidence(seg, plan),
            "fallback" if w.get(2) == Some(&"if") => match node(plan, "fallback") {
                Some(f) if f["config"]["action"] == w.get(1).copied().unwrap_or_default() => None,
                Some(f) => Some(format!("fallback action {}", f["config"]["action"])),
                None => Some("no Fallback node".into()),
            },
            "parallel" => match node(plan, "agents") {
                Some(a) => {
                    let ex = &a["execution"];
                    if ex["strategy"] != "parallel" {
                        Some(format!("execution {}", ex["strategy"]))
                    } else if w.get(1) == Some(&"timeout")
                        && ex["timeout"].as_f64() != w.get(2).and_then(|t| t.parse().ok())
                    {
                        Some(format!("execution timeout {}", ex["timeout"]))
                    } else {
                        None
                    }
                }
                None => Some("no top-level AgentGroup for `parallel`".into()),
            },
            "warning" | "warnings" => {
                let code = seg.split('`').nth(1).unwrap_or_default();
                (!warnings.iter().any(|c| c.ends_with(code)))
                    .then(|| format!("no `{code}` warning"))
            }
            _ => None,
        };
        out.extend(problem);
    }
    out
}

/// True when every word after the strategy is a known aggregation word or a number.
fn is_aggregation(w: &[&str]) -> bool {
    const KNOWN: &[&str] = &[
        "majority",
        "plurality",
        "unanimous",
        "weighted",
        "shallow",
        "deep",
        "union",
        "intersection",
        "concat",
        "threshold",
        "minVotes",
        "minConfidence",
        "fields",
    ];
    w[1..]
        .iter()
        .all(|x| KNOWN.contains(x) || x.parse::<f64>().is_ok() || x.contains('/'))
}

fn list(seg: &str) -> Vec<String> {
    let inner = seg
        .split_once('[')
        .and_then(|(_, r)| r.split_once(']'))
        .map_or("", |(l, _)| l);
    inner
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn number_after(w: &[&str], key: &str) -> Option<f64> {
    w.iter()
        .position(|x| *x == key)
        .and_then(|i| w.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn check_agents(seg: &str, plan: &Value) -> Option<String> {
    let group = node(plan, "agents").or_else(|| {
        nodes(plan)
            .into_iter()
            .find(|n| n["kind"] == "AgentGroup" && n["inherited"] == true)
    });
    let Some(g) = group else {
        return Some(format!("no top-level AgentGroup for `{seg}`"));
    };
    let sel = &g["selection"];
    let caps: Vec<String> = sel["capabilities"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if caps != list(seg) {
        return Some(format!("capabilities {caps:?} (expected {:?})", list(seg)));
    }
    let after: Vec<&str> = seg.split(']').nth(1).map(words).unwrap_or_default();
    if let Some(min) = number_after(&after, "min")
        && sel["min"].as_f64() != Some(min)
    {
        return Some(format!("min {} (expected {min})", sel["min"]));
    }
    if let Some(max) = number_after(&after, "max")
        && sel["max"].as_f64() != Some(max)
    {
        return Some(format!("max {} (expected {max})", sel["max"]));
    }
    None
}

fn check_steps(seg: &str, plan: &Value) -> Option<String> {
    let body = seg.strip_prefix("steps ")?;
    let mut expected = Vec::new();
    for part in body.split("), ") {
        let (id, desc) = part.split_once('(')?;
        expected.push((
            id.trim().to_string(),
            desc.trim_end_matches(')').to_string(),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for n in nodes(plan) {
        if let Some(s) = n["step"].as_str()
            && !seen.contains(&s)
        {
            seen.push(s);
        }
    }
    let ids: Vec<&str> = expected.iter().map(|(i, _)| i.as_str()).collect();
    let top: Vec<&str> = seen.iter().copied().filter(|s| ids.contains(s)).collect();
    if top != ids {
        return Some(format!("steps {seen:?} (expected {ids:?})"));
    }
    for (id, desc) in &expected {
        let w = words(desc);
        let entry = node(plan, &format!("step:{id}"))?;
        let kind = match w.first().copied().unwrap_or_default() {
            "agents" => "AgentGroup",
            "parallel" => "Parallel",
            "switch" => "Switch",
            "gate" => "Gate",
            "loop" => "Loop",
            "batch" => "Batch",
            "default" => "Const",
            "escalate" => "Escalate",
            "assign" => "Assign",
            other => return Some(format!("unknown step kind `{other}` in README")),
        };
        if entry["kind"] != kind {
            return Some(format!("step {id} is {} (expected {kind})", entry["kind"]));
        }
        let rest: Vec<&str> = w[1..]
            .iter()
            .copied()
            .filter(|x| *x != "+validation")
            .collect();
        let agg = node(plan, &format!("step:{id}/aggregate"));
        match (rest.first(), agg) {
            (Some(&"first"), None) if entry["execution"]["strategy"] == "race" => {}
            (Some(_), Some(a)) => {
                if let Some(p) = check_aggregation(&rest, &a["config"]) {
                    return Some(format!("step {id}: {p}"));
                }
            }
            (Some(_), None) => {
                return Some(format!("step {id} has no aggregation (expected {desc})"));
            }
            (None, _) => {}
        }
        if w.contains(&"+validation") && node(plan, &format!("step:{id}/validate")).is_none() {
            return Some(format!("step {id} has no Validate node"));
        }
    }
    None
}

#[allow(clippy::cmp_owned)] // compares the JSON text of numbers
fn check_roles(seg: &str, plan: &Value) -> Option<String> {
    for part in seg.strip_prefix("roles ")?.split(", ") {
        let (role, count) = part.split_once('×')?;
        let (min, max) = count.split_once('-').unwrap_or((count, count));
        let Some(g) = node(plan, &format!("role:{role}")) else {
            return Some(format!("no AgentGroup for role {role}"));
        };
        let sel = &g["selection"];
        if sel["min"].to_string() != min || sel["max"].to_string() != max {
            return Some(format!(
                "role {role} is {}-{} (expected {min}-{max})",
                sel["min"], sel["max"]
            ));
        }
    }
    None
}

fn check_org_steps(seg: &str, plan: &Value) -> Option<String> {
    let expected: Vec<String> = seg
        .strip_prefix("steps ")?
        .split(" → ")
        .map(|s| s.trim_end_matches('*').to_string())
        .collect();
    let mut found = Vec::new();
    for i in 0.. {
        let Some(n) = node(plan, &format!("task:step_{i}")) else {
            break;
        };
        found.push(match n["kind"].as_str().unwrap_or_default() {
            "Task" => n["action"].as_str().unwrap_or_default().to_string(),
            "Parallel" => "parallel".into(),
            "Sequence" => "sequential".into(),
            "Aggregate" => "aggregate".into(),
            "Switch" => "condition".into(),
            other => other.to_string(),
        });
    }
    (found != expected).then(|| format!("workflow steps {found:?} (expected {expected:?})"))
}

fn check_groups(w: &[&str], plan: &Value) -> Option<String> {
    for g in w.get(1)?.split('/') {
        let (name, take) = match g.split_once('(') {
            Some((n, t)) => (n, Some(t.trim_end_matches(')'))),
            None => (g, None),
        };
        match node(plan, &format!("group:{name}")) {
            None => return Some(format!("no Group {name}")),
            Some(n) if take.is_some_and(|t| n["take"] != t) => {
                return Some(format!("group {name} takes {}", n["take"]));
            }
            _ => {}
        }
    }
    None
}

fn check_confidence(seg: &str, plan: &Value) -> Option<String> {
    let c = node(plan, "confidence")?;
    let method = c["config"]["method"].as_str().unwrap_or_default();
    let expected = if seg.contains("aggregation's") {
        "aggregation"
    } else if seg.contains("$final's") {
        "final"
    } else {
        words(seg).get(1).copied().unwrap_or_default()
    };
    if expected.starts_with("policy") {
        return None;
    }
    (method != expected).then(|| format!("confidence {method} (expected {expected})"))
}
