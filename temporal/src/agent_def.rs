//! One agent as data: what an agent-call activity carries so that a worker can build the one
//! agent it calls, instead of the run's whole agents file. The workflow input still carries
//! the file once (the workflow selects agents from it); each call carries only its agent's
//! entry, so a fan-out over a file of 10,000 agents does not copy the file 10,000 times into
//! the history.

use std::collections::HashMap;
use std::path::Path;

use prism_agents::config::parse_agents;
use prism_agents::{AgentSet, builtin_agents};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::AgentsData;

/// How a worker builds one agent of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AgentDef {
    /// An entry of the agents file, as JSON, and the file's path as the run named it (command
    /// agents run in its folder, and relative programs are read from there).
    Entry {
        /// The agents file's path.
        path: String,
        /// The agent's entry.
        entry: Json,
    },
    /// One of the built-in local agents `local-1 … local-COUNT` (built once per worker).
    Builtin {
        /// How many built-in agents the run has.
        count: usize,
    },
    /// An `--agent name=URL` flag.
    Url {
        /// The flag.
        flag: String,
    },
}

impl AgentDef {
    /// The agents this definition builds (one, or the built-in set); nothing is started.
    pub fn build(&self) -> Result<AgentSet, String> {
        match self {
            AgentDef::Entry { path, entry } => {
                let text = serde_json::to_string(&serde_json::json!({ "agents": [entry] }))
                    .map_err(|e| e.to_string())?;
                parse_agents(&text, Path::new(path)).map_err(|e| e.to_string())
            }
            AgentDef::Builtin { count } => Ok(builtin_agents(*count)),
            AgentDef::Url { flag } => {
                let mut set = AgentSet::default();
                set.add_url_flag(flag).map_err(|e| e.to_string())?;
                Ok(set)
            }
        }
    }
}

/// Each agent's definition by name (the first of a name wins, as when a worker looks an agent
/// up by name in the whole set).
#[derive(Debug, Clone, Default)]
pub struct AgentDefs(HashMap<String, AgentDef>);

impl AgentDefs {
    /// The definitions of `data`'s agents, in the order [`AgentsData::build`] adds them.
    pub fn of(data: &AgentsData) -> Self {
        let mut list: Vec<(String, AgentDef)> = Vec::new();
        let mut builtin = false;
        match &data.file {
            Some((path, text)) => {
                let (root, _) = prism_compiler::agents_file::check_parsed(text);
                let root = root.map(|r| r.to_json()).unwrap_or(Json::Null);
                if let Some(Json::Array(entries)) = root.get("agents") {
                    for entry in entries {
                        if let Some(name) = entry.get("name").and_then(Json::as_str) {
                            let def = AgentDef::Entry {
                                path: path.clone(),
                                entry: entry.clone(),
                            };
                            list.push((name.to_string(), def));
                        }
                    }
                }
            }
            None => {
                let count = data.builtin.max(3);
                builtin = true;
                list.extend(
                    (1..=count).map(|i| (format!("local-{i}"), AgentDef::Builtin { count })),
                );
            }
        }
        // `--agent` flags replace the built-in agents (as `AgentSet::add_url_flag` does).
        if builtin && !data.urls.is_empty() {
            list.clear();
        }
        for flag in &data.urls {
            if let Some((name, _)) = flag.split_once('=') {
                let def = AgentDef::Url { flag: flag.clone() };
                list.push((name.trim().to_string(), def));
            }
        }
        let mut map = HashMap::with_capacity(list.len());
        for (name, def) in list {
            map.entry(name).or_insert(def);
        }
        AgentDefs(map)
    }

    /// The definition of the agent named `name`.
    pub fn get(&self, name: &str) -> Option<&AgentDef> {
        self.0.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &AgentSet) -> Vec<String> {
        set.agents.iter().map(|a| a.info().name.clone()).collect()
    }

    #[test]
    fn each_agent_of_a_file_is_built_from_its_own_entry() {
        let text = "agents:\n  - name: a\n    respond: {value: cat, confidence: 0.7}\n  - name: b\n    latencyMs: 5\n    choose: [x, \"y \\\"q\\\"\"]\n  - name: c\n    command: [./agent.sh]\n";
        let data = AgentsData {
            file: Some(("/tmp/proj/agents.yaml".into(), text.into())),
            builtin: 0,
            urls: vec!["u=http://127.0.0.1:9/".into()],
        };
        let defs = AgentDefs::of(&data);
        let whole = data.build().expect("whole");
        for name in ["a", "b", "c", "u"] {
            let def = defs.get(name).expect(name);
            // What a call carries is small: the entry, not the file.
            let json = serde_json::to_string(def).expect("json");
            assert!(!json.contains("name: b") && json.len() < 200, "{json}");
            let back: AgentDef = serde_json::from_str(&json).expect("back");
            let one = back.build().expect("one agent");
            assert_eq!(names(&one), [name]);
            let original = whole
                .agents
                .iter()
                .find(|a| a.info().name == name)
                .expect("in the file");
            assert_eq!(
                format!("{:?}", one.agents[0].info()),
                format!("{:?}", original.info())
            );
        }
        assert!(defs.get("nobody").is_none());
    }

    #[test]
    fn builtin_agents_and_url_flags() {
        let data = AgentsData {
            builtin: 5,
            ..AgentsData::default()
        };
        let defs = AgentDefs::of(&data);
        assert_eq!(defs.get("local-5"), Some(&AgentDef::Builtin { count: 5 }));
        assert!(defs.get("local-6").is_none());
        let set = AgentDef::Builtin { count: 5 }.build().expect("builtin");
        assert_eq!(set.agents.len(), 5);
        // Flags replace the built-in agents.
        let data = AgentsData {
            urls: vec!["x=http://127.0.0.1:9/".into()],
            ..data
        };
        let defs = AgentDefs::of(&data);
        assert!(defs.get("local-1").is_none());
        let x = defs.get("x").expect("x").build().expect("url agent");
        assert_eq!(names(&x), ["x"]);
        assert!(
            AgentDef::Url {
                flag: "nourl".into()
            }
            .build()
            .is_err()
        );
    }
}
