//! Capability-based agent selection (§1.3): every listed capability is required (AND, exact),
//! `prefer` ranks first, `exclude`, `region` and `distribution` filter, `max` cuts; there is no
//! other limit on the number of agents.

use serde_json::Value as Json;

use prism_compiler::plan::settings::{AgentsSelection, Names, RoleSelection};

use super::SharedAgent;

/// A phase's selection, with `$…` capabilities already evaluated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Required capabilities (all of them).
    pub capabilities: Vec<String>,
    /// At least this many agents.
    pub min: usize,
    /// At most this many.
    pub max: Option<usize>,
    /// Names or capabilities ranked first, in this order.
    pub prefer: Vec<String>,
    /// Names (or ids) left out.
    pub exclude: Vec<String>,
    /// Allowed regions (empty = any).
    pub regions: Vec<String>,
    /// `distribution.minPerRegion` for `distribution.regions`.
    pub per_region: Option<(Vec<String>, usize)>,
}

/// The strings of a JSON array (other items skipped); empty for anything but an array.
pub fn strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Selection {
    /// Reads the static parts of a group's typed selection; `capabilities` and `exclude` are
    /// given already evaluated.
    pub fn from_settings(
        config: &AgentsSelection,
        capabilities: Vec<String>,
        exclude: Vec<String>,
    ) -> Self {
        let list = |names: &Option<Names>| -> Vec<String> {
            names
                .as_ref()
                .map(|n| n.as_slice().to_vec())
                .unwrap_or_default()
        };
        let per_region = config.distribution.as_ref().map(|d| {
            let regions = d.regions.clone().unwrap_or_default();
            (regions, d.min_per_region.unwrap_or(1) as usize)
        });
        Selection {
            capabilities,
            min: config.min.unwrap_or(1) as usize,
            max: config.max.map(|m| m as usize),
            prefer: list(&config.prefer),
            exclude,
            regions: list(&config.region),
            per_region,
        }
    }

    /// The selection of an org-chart role: its capabilities, `agentType` preferred, between
    /// `min` and `max` instances.
    pub fn from_role(role: &RoleSelection) -> Self {
        Selection {
            capabilities: role.capabilities.clone(),
            min: role.min as usize,
            max: Some(role.max as usize),
            prefer: role.agent_type.clone(),
            exclude: Vec::new(),
            regions: Vec::new(),
            per_region: None,
        }
    }
}

/// Too few agents qualify.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SelectionError {
    /// `Not enough agents available. Required: N, Available: M`, the capabilities asked for
    /// and, per near miss, the one it lacks.
    pub message: String,
    /// Required.
    pub required: usize,
    /// Available.
    pub available: usize,
}

/// Selects agents in agent order: preferred first, then agents-file order, cut to `max`.
pub fn select_agents(
    agents: &[SharedAgent],
    sel: &Selection,
) -> Result<Vec<SharedAgent>, SelectionError> {
    let qualifies = |a: &SharedAgent| {
        let info = a.info();
        sel.capabilities.iter().all(|c| info.has(c))
            && !sel.exclude.iter().any(|x| *x == info.name || *x == info.id)
            && (sel.regions.is_empty()
                || info
                    .region
                    .as_ref()
                    .is_some_and(|r| sel.regions.contains(r)))
            && sel.per_region.as_ref().is_none_or(|(regions, _)| {
                regions.is_empty() || info.region.as_ref().is_some_and(|r| regions.contains(r))
            })
    };
    let mut chosen: Vec<(usize, usize, SharedAgent)> = agents
        .iter()
        .enumerate()
        .filter(|(_, a)| qualifies(a))
        .map(|(i, a)| (rank(a, &sel.prefer), i, a.clone()))
        .collect();
    chosen.sort_by_key(|(r, i, _)| (*r, *i));
    let mut ordered: Vec<SharedAgent> = chosen.into_iter().map(|(_, _, a)| a).collect();
    if let Some((regions, n)) = &sel.per_region {
        let mut missing = Vec::new();
        for r in regions {
            let have = ordered
                .iter()
                .filter(|a| a.info().region.as_deref() == Some(r))
                .count();
            if have < *n {
                missing.push(format!("{r} ({have} of {n})"));
            }
        }
        if !missing.is_empty() {
            return Err(SelectionError {
                message: format!(
                    "Not enough agents available. Required: {} per region, Available: {}\n  regions short of agents: {}",
                    n,
                    ordered.len(),
                    missing.join(", ")
                ),
                required: n * regions.len(),
                available: ordered.len(),
            });
        }
        if let Some(max) = sel.max
            && ordered.len() > max
        {
            ordered = keep_per_region(ordered, regions, *n, max);
        }
    }
    if let Some(max) = sel.max {
        ordered.truncate(max);
    }
    if ordered.len() < sel.min {
        return Err(shortage(agents, sel, ordered.len()));
    }
    Ok(ordered)
}

fn rank(a: &SharedAgent, prefer: &[String]) -> usize {
    let info = a.info();
    prefer
        .iter()
        .position(|p| {
            *p == info.name
                || *p == info.id
                || info.capabilities.contains(p)
                || info.labels.contains(p)
        })
        .unwrap_or(prefer.len())
}

/// Keeps `n` agents of each region first, then fills up to `max` in agent order.
fn keep_per_region(
    ordered: Vec<SharedAgent>,
    regions: &[String],
    n: usize,
    max: usize,
) -> Vec<SharedAgent> {
    let mut keep = vec![false; ordered.len()];
    for r in regions {
        let mut left = n;
        for (i, a) in ordered.iter().enumerate() {
            if left > 0 && a.info().region.as_deref() == Some(r.as_str()) {
                keep[i] = true;
                left -= 1;
            }
        }
    }
    let mut count = keep.iter().filter(|k| **k).count();
    for k in keep.iter_mut() {
        if count >= max {
            break;
        }
        if !*k {
            *k = true;
            count += 1;
        }
    }
    ordered
        .into_iter()
        .zip(keep)
        .filter_map(|(a, k)| k.then_some(a))
        .collect()
}

fn shortage(agents: &[SharedAgent], sel: &Selection, available: usize) -> SelectionError {
    let mut message = format!(
        "Not enough agents available. Required: {}, Available: {available}",
        sel.min
    );
    if !sel.capabilities.is_empty() {
        message.push_str(&format!(
            "\n  capabilities required: {}",
            sel.capabilities.join(", ")
        ));
    }
    let near: Vec<String> = agents
        .iter()
        .filter_map(|a| {
            let info = a.info();
            let lacking: Vec<&String> = sel.capabilities.iter().filter(|c| !info.has(c)).collect();
            (lacking.len() == 1).then(|| format!("{} lacks `{}`", info.name, lacking[0]))
        })
        .take(10)
        .collect();
    for n in near {
        message.push_str(&format!("\n  near miss: {n}"));
    }
    SelectionError {
        message,
        required: sel.min,
        available,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::AgentInfo;
    use crate::local::{Behaviour, LocalAgent};

    fn agent(name: &str, caps: &[&str], region: Option<&str>) -> SharedAgent {
        let mut info = AgentInfo::new(name, caps.iter().map(|c| c.to_string()).collect());
        info.region = region.map(str::to_string);
        Arc::new(LocalAgent::new(
            info,
            Behaviour::Echo { confidence: 0.8 },
            None,
        ))
    }

    fn names(v: &[SharedAgent]) -> Vec<String> {
        v.iter().map(|a| a.info().name.clone()).collect()
    }

    #[test]
    fn capabilities_are_and_matched_and_prefer_orders() {
        let agents = vec![
            agent("a", &["x"], None),
            agent("b", &["x", "y"], None),
            agent("c", &["x", "y", "z"], None),
        ];
        let sel = Selection {
            capabilities: vec!["x".into(), "y".into()],
            min: 1,
            prefer: vec!["c".into()],
            ..Selection::default()
        };
        assert_eq!(
            select_agents(&agents, &sel).map(|v| names(&v)),
            Ok(vec!["c".to_string(), "b".to_string()])
        );
        let sel = Selection {
            capabilities: vec!["x".into(), "y".into()],
            min: 3,
            ..Selection::default()
        };
        let err = select_agents(&agents, &sel).err().map(|e| e.message);
        let err = err.unwrap_or_default();
        assert!(err.starts_with("Not enough agents available. Required: 3, Available: 2"));
        assert!(err.contains("a lacks `y`"), "{err}");
    }

    #[test]
    fn distribution_keeps_each_region() {
        let agents = vec![
            agent("a", &[], Some("eu")),
            agent("b", &[], Some("eu")),
            agent("c", &[], Some("us")),
        ];
        let sel = Selection {
            min: 1,
            max: Some(2),
            per_region: Some((vec!["eu".into(), "us".into()], 1)),
            ..Selection::default()
        };
        assert_eq!(
            select_agents(&agents, &sel).map(|v| names(&v)),
            Ok(vec!["a".to_string(), "c".to_string()])
        );
    }
}
