//! The agents file (§6): a top-level `agents:` list of `{name, id?, capabilities, expertise?,
//! region?, labels?, latencyMs?, confidence?}` plus one behaviour (`respond echo choose function
//! url command llm`), `--agent name=URL`, and the built-in local agents.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value as Json};

use super::http::{HttpAgent, client};
use super::llm::{LlmAgent, LlmSpec};
use super::local::{Behaviour, LocalAgent, name_seed};
use super::process::{ProcessAgent, ProcessMode, ProcessSpec};
use super::{AgentInfo, AgentSource, SharedAgent};

use prism_compiler::agents_file::{self, BEHAVIOURS};

/// What can be wrong with an agents file or an `--agent` flag.
#[derive(Debug, thiserror::Error)]
pub enum AgentsFileError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not YAML.
    #[error("{path}: not valid YAML: {message}")]
    Yaml {
        /// The path.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The file's problems, each `FILE:LINE:COLUMN: message (help)` on its own line.
    #[error("{}", problems.join("\n"))]
    Check {
        /// The path.
        path: PathBuf,
        /// One line per problem.
        problems: Vec<String>,
    },
    /// An entry is invalid.
    #[error("{path}: agent {which}: {message}")]
    Invalid {
        /// The path.
        path: PathBuf,
        /// `#3` or the agent's name.
        which: String,
        /// What is wrong.
        message: String,
    },
    /// An `--agent` flag is not `name=URL`.
    #[error("--agent {0}: expected name=URL")]
    Flag(String),
}

/// The agents of a run, in agents-file order.
#[derive(Clone, Default)]
pub struct AgentSet {
    /// The agents.
    pub agents: Vec<SharedAgent>,
    /// True when these are the built-in local agents.
    pub builtin: bool,
    /// The first LLM agent, which `llm()` uses in scripts.
    pub llm: Option<Arc<LlmAgent>>,
    /// Agents that join while Prism runs (a registry); each run adds those live when it
    /// starts after the agents above (an id already taken is skipped).
    pub live: Option<Arc<dyn AgentSource>>,
}

/// Builds an agent of a behaviour another crate provides (`grpc`, from `prism-grpc`): the
/// agent's declared data, its whole entry and the agents file's folder; `Err` is what is
/// wrong with the entry.
pub type AgentKind =
    fn(AgentInfo, &Map<String, Json>, Option<&Path>) -> Result<SharedAgent, String>;

static KINDS: RwLock<Vec<(&str, AgentKind)>> = RwLock::new(Vec::new());

/// Lets agents files use the behaviour `name` (one of the checked behaviours the runtime does
/// not build itself), built by `build`. The `prism` binary registers `grpc` at start-up.
pub fn register_agent_kind(name: &'static str, build: AgentKind) {
    if let Ok(mut kinds) = KINDS.write() {
        kinds.retain(|(n, _)| *n != name);
        kinds.push((name, build));
    }
}

fn agent_kind(name: &str) -> Option<AgentKind> {
    KINDS
        .read()
        .ok()
        .and_then(|kinds| kinds.iter().find(|(n, _)| *n == name).map(|(_, b)| *b))
}

impl std::fmt::Debug for AgentSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSet")
            .field(
                "agents",
                &self
                    .agents
                    .iter()
                    .map(|a| a.info().name.clone())
                    .collect::<Vec<_>>(),
            )
            .field("builtin", &self.builtin)
            .field("live", &self.live.is_some())
            .finish()
    }
}

impl AgentSet {
    /// A set of the given agents.
    pub fn new(agents: Vec<SharedAgent>) -> Self {
        AgentSet {
            agents,
            builtin: false,
            llm: None,
            live: None,
        }
    }

    /// The agents of one run: these, then the live ones whose ids are not taken, each
    /// prepared ([`super::Agent::prepare`]); with the preparation errors as warnings.
    pub async fn for_run(&self) -> (AgentSet, Vec<String>) {
        let mut set = self.clone();
        if let Some(live) = &self.live {
            for agent in live.live_agents() {
                if !set.agents.iter().any(|a| a.info().id == agent.info().id) {
                    set.agents.push(agent);
                }
            }
        }
        let prepared = futures::future::join_all(set.agents.iter().map(|a| a.prepare())).await;
        let warnings = set
            .agents
            .iter()
            .zip(prepared)
            .filter_map(|(a, r)| r.err().map(|e| format!("agent {}: {e}", a.info().name)))
            .collect();
        (set, warnings)
    }

    /// The agents that fail their health check (each within `within`), with why.
    pub async fn unhealthy(&self, within: std::time::Duration) -> Vec<(String, String)> {
        let checks = self.agents.iter().map(|a| async move {
            let outcome = match tokio::time::timeout(within, a.health()).await {
                Ok(r) => r.err().map(|e| e.to_string()),
                Err(_) => Some(format!("no health answer within {} ms", within.as_millis())),
            };
            outcome.map(|why| (a.info().id.clone(), why))
        });
        futures::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Appends an `--agent name=URL` HTTP agent (every capability).
    pub fn add_url_flag(&mut self, flag: &str) -> Result<(), AgentsFileError> {
        let Some((name, url)) = flag.split_once('=') else {
            return Err(AgentsFileError::Flag(flag.to_string()));
        };
        if name.trim().is_empty() || !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(AgentsFileError::Flag(flag.to_string()));
        }
        let mut info = AgentInfo::new(name.trim(), Vec::new());
        info.any_capability = true;
        if self.builtin {
            self.agents.clear();
            self.builtin = false;
        }
        self.agents
            .push(Arc::new(HttpAgent::new(info, url.trim(), client())));
        Ok(())
    }

    /// The declared confidences `(lower, expected)` for the static estimate, if any agent
    /// declares one.
    pub fn declared_confidence(&self) -> Option<(f64, f64)> {
        let cs: Vec<f64> = self
            .agents
            .iter()
            .filter_map(|a| a.info().confidence)
            .collect();
        if cs.is_empty() {
            return None;
        }
        let lower = cs.iter().copied().fold(f64::INFINITY, f64::min);
        Some((lower, cs.iter().sum::<f64>() / cs.len() as f64))
    }

    /// Stops what the agents keep for the run (process agents).
    pub async fn shutdown(&self) {
        futures::future::join_all(self.agents.iter().map(|a| a.shutdown())).await;
    }
}

/// The built-in local agents `local-1 … local-K`: every capability, the request input back,
/// confidence 0.8.
pub fn builtin_agents(k: usize) -> AgentSet {
    let agents = (1..=k.max(1))
        .map(|i| {
            let mut info = AgentInfo::new(format!("local-{i}"), Vec::new());
            info.any_capability = true;
            info.confidence = Some(0.8);
            Arc::new(LocalAgent::new(
                info,
                Behaviour::Echo { confidence: 0.8 },
                None,
            )) as SharedAgent
        })
        .collect();
    AgentSet {
        agents,
        builtin: true,
        llm: None,
        live: None,
    }
}

/// Reads an agents file.
pub fn load_agents_file(path: &Path) -> Result<AgentSet, AgentsFileError> {
    let text =
        prism_compiler::source::read_source(path).map_err(|source| AgentsFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    parse_agents(&text, path)
}

/// The folder of an agents file, absolute: a bare `agents.yaml` (no parent) is in the current
/// folder, so `prism run vote.yaml` finds its agents' programs as `./vote.yaml` does.
pub fn file_folder(path: &Path) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::path::absolute(dir)
        .ok()
        .or_else(|| Some(dir.to_path_buf()))
}

/// Parses the text of an agents file; command agents run in the file's folder (or in `cwd`,
/// read relative to it), and a relative program path in a `command` list is read relative to
/// that folder too.
pub fn parse_agents(text: &str, path: &Path) -> Result<AgentSet, AgentsFileError> {
    let (root, diagnostics) = agents_file::check_parsed(text);
    let file = std::cell::OnceCell::new();
    let problems: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let file = file
                .get_or_init(|| prism_compiler::SourceFile::new(path.display().to_string(), text));
            let (line, col) = file.line_col(d.primary_span().start);
            let help = d
                .help
                .as_ref()
                .map_or_else(String::new, |h| format!(" ({h})"));
            format!("{}:{line}:{col}: {}{help}", path.display(), d.message)
        })
        .collect();
    if !problems.is_empty() {
        return Err(AgentsFileError::Check {
            path: path.to_path_buf(),
            problems,
        });
    }
    let yaml_err = |message: String| AgentsFileError::Yaml {
        path: path.to_path_buf(),
        message,
    };
    let root = root.map(|r| r.to_json()).unwrap_or(Json::Null);
    let list = match root.get("agents") {
        Some(Json::Array(a)) => a,
        _ => return Err(yaml_err("expected a top-level `agents:` list".into())),
    };
    let dir = file_folder(path);
    let http = client();
    let mut set = AgentSet::default();
    let mut ids: rustc_hash::FxHashSet<String> = Default::default();
    for (i, entry) in list.iter().enumerate() {
        let which = entry
            .get("name")
            .and_then(Json::as_str)
            .map_or_else(|| format!("#{}", i + 1), str::to_string);
        let invalid = |message: String| AgentsFileError::Invalid {
            path: path.to_path_buf(),
            which: which.clone(),
            message,
        };
        let Some(m) = entry.as_object() else {
            return Err(invalid("each agent is a mapping".into()));
        };
        let agent = build_agent(m, dir.as_deref(), &http, &mut set).map_err(invalid)?;
        if !ids.insert(agent.info().id.clone()) {
            return Err(invalid(format!(
                "the id `{}` is used twice",
                agent.info().id
            )));
        }
        set.agents.push(agent);
    }
    Ok(set)
}

fn build_agent(
    m: &Map<String, Json>,
    dir: Option<&Path>,
    http: &reqwest::Client,
    set: &mut AgentSet,
) -> Result<SharedAgent, String> {
    let (mut info, latency) = agent_info(m)?;
    let behaviour = behaviour_of(m)?;
    let max_answer_bytes = match m.get("maxAnswerBytes") {
        None => crate::DEFAULT_MAX_ANSWER_BYTES,
        Some(v) => v
            .as_u64()
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("`maxAnswerBytes` must be a whole number of bytes ≥ 1")?,
    };
    let v = &m[behaviour];
    Ok(match behaviour {
        "respond" | "echo" | "choose" | "function" => {
            let b = local_behaviour(behaviour, v, &mut info)?;
            Arc::new(LocalAgent::new(info, b, latency))
        }
        "url" => {
            let url = v.as_str().ok_or("`url` must be a string")?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "`url` must start with http:// or https://, got {url}"
                ));
            }
            Arc::new(HttpAgent::new(info, url, http.clone()).with_max_body(max_answer_bytes))
        }
        "command" => Arc::new(ProcessAgent::new(
            info,
            process_spec(v, m, dir, max_answer_bytes)?,
        )),
        "llm" => {
            let agent = Arc::new(LlmAgent::new(info, llm_spec(v)?, http.clone()));
            if set.llm.is_none() {
                set.llm = Some(agent.clone());
            }
            agent
        }
        other => match agent_kind(other) {
            Some(build) => build(info, m, dir)?,
            None => {
                return Err(format!(
                    "`{other}` agents are not available in this build of Prism"
                ));
            }
        },
    })
}

/// The keys every kind shares: name, id, capabilities, expertise, region, labels, confidence,
/// and `latencyMs` (local agents).
fn agent_info(m: &Map<String, Json>) -> Result<(AgentInfo, Option<u64>), String> {
    let name = m
        .get("name")
        .and_then(Json::as_str)
        .ok_or("`name` is required")?
        .to_string();
    let mut info = AgentInfo::new(name, strings(m.get("capabilities"), "capabilities")?);
    if let Some(id) = m.get("id") {
        info.id = scalar_text(id).ok_or("`id` must be a string")?;
    }
    if let Some(e) = m.get("expertise") {
        info.expertise = unit(e, "expertise")?;
    }
    info.region = m.get("region").and_then(scalar_text);
    info.labels = strings(m.get("labels"), "labels")?;
    if let Some(c) = m.get("confidence") {
        info.confidence = Some(unit(c, "confidence")?);
    }
    let latency = match m.get("latencyMs") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or("`latencyMs` must be a whole number of ms")?,
        ),
    };
    Ok((info, latency))
}

/// The one behaviour key an entry has.
fn behaviour_of(m: &Map<String, Json>) -> Result<&'static str, String> {
    let present: Vec<&str> = BEHAVIOURS
        .iter()
        .copied()
        .filter(|b| m.contains_key(*b))
        .collect();
    match present.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("give one behaviour: {}", BEHAVIOURS.join(", "))),
        many => Err(format!("give one behaviour, found {}", many.join(" and "))),
    }
}

/// A local agent's behaviour (`respond`, `echo`, `choose`, `function`) from its value `v`;
/// `respond` also sets the confidence the static estimate assumes when none is given.
fn local_behaviour(kind: &str, v: &Json, info: &mut AgentInfo) -> Result<Behaviour, String> {
    let default_conf = info.confidence.unwrap_or(0.8);
    Ok(match kind {
        "respond" => {
            let (value, confidence) = match v {
                Json::Object(r) if r.contains_key("value") => {
                    let c = match r.get("confidence") {
                        Some(c) => unit(c, "respond.confidence")?,
                        None => default_conf,
                    };
                    (r["value"].clone(), c)
                }
                other => (other.clone(), default_conf),
            };
            if info.confidence.is_none() {
                info.confidence = Some(confidence);
            }
            Behaviour::Respond { value, confidence }
        }
        "echo" => Behaviour::Echo {
            confidence: match v.get("confidence") {
                Some(c) => unit(c, "echo.confidence")?,
                None => default_conf,
            },
        },
        "choose" => {
            let (values, seed, confidence) = match v {
                Json::Array(a) => (a.clone(), None, default_conf),
                Json::Object(c) => (
                    c.get("values")
                        .and_then(Json::as_array)
                        .cloned()
                        .ok_or("`choose.values` must be a list")?,
                    c.get("seed").and_then(Json::as_u64),
                    match c.get("confidence") {
                        Some(x) => unit(x, "choose.confidence")?,
                        None => default_conf,
                    },
                ),
                _ => return Err("`choose` is a list or {values, seed?, confidence?}".into()),
            };
            if values.is_empty() {
                return Err("`choose` needs at least one value".into());
            }
            Behaviour::Choose {
                values,
                seed: seed.unwrap_or_else(|| name_seed(&info.name)),
                confidence,
            }
        }
        _ => {
            let source = v
                .as_str()
                .ok_or("`function` is the source of a Prism function")?
                .to_string();
            if prism_compiler::parse(&format!("let f = ({source})")).has_errors() {
                return Err("`function` does not parse as a Prism function".into());
            }
            Behaviour::Function {
                source,
                confidence: default_conf,
            }
        }
    })
}

/// A `command` agent: the command (a shell string or a list whose program is read relative to
/// the working folder), `cwd` (relative to the agents file's folder) and `mode`.
fn process_spec(
    v: &Json,
    m: &Map<String, Json>,
    dir: Option<&Path>,
    max_answer_bytes: usize,
) -> Result<ProcessSpec, String> {
    let (mut command, shell) = match v {
        Json::String(s) => (vec![s.clone()], true),
        Json::Array(a) => (
            a.iter()
                .map(|x| scalar_text(x).ok_or("`command` items must be strings"))
                .collect::<Result<Vec<_>, _>>()?,
            false,
        ),
        _ => return Err("`command` is a shell string or a list".into()),
    };
    if command.is_empty() {
        return Err("`command` is empty".into());
    }
    let cwd = match m.get("cwd") {
        None => dir.map(Path::to_path_buf),
        Some(Json::String(c)) => Some(match dir {
            Some(d) => d.join(c),
            None => PathBuf::from(c),
        }),
        Some(_) => return Err("`cwd` must be a folder path".into()),
    };
    if !shell && let Some(prog) = command.first_mut() {
        *prog = resolve_program(prog, cwd.as_deref());
    }
    let mode = match m.get("mode").and_then(Json::as_str) {
        None | Some("lines") => ProcessMode::Lines,
        Some("oneshot") => ProcessMode::Oneshot,
        Some(o) => return Err(format!("`mode` is lines or oneshot, got {o}")),
    };
    Ok(ProcessSpec {
        command,
        shell,
        cwd,
        mode,
        max_answer_bytes,
    })
}

/// An `llm` agent's endpoint, model, key (read from the environment variable `apiKeyEnv`
/// names) and temperature.
fn llm_spec(v: &Json) -> Result<LlmSpec, String> {
    let text = |key: &str| v.get(key).and_then(Json::as_str).map(str::to_string);
    let endpoint = text("endpoint").ok_or("`llm.endpoint` is required")?;
    let model = text("model").ok_or("`llm.model` is required")?;
    let api_key_env = text("apiKeyEnv");
    let api_key = api_key_env
        .as_deref()
        .and_then(|var| std::env::var(var).ok())
        .filter(|k| !k.is_empty());
    Ok(LlmSpec {
        endpoint,
        model,
        api_key,
        api_key_env,
        temperature: v.get("temperature").and_then(Json::as_f64).unwrap_or(0.0),
    })
}

/// A relative program path with a folder part (`./agent.py`, `bin/agent`) read relative to
/// `cwd`; a bare name (`python3`) is left for `PATH`.
fn resolve_program(prog: &str, cwd: Option<&Path>) -> String {
    let p = Path::new(prog);
    match cwd {
        Some(dir) if p.is_relative() && p.components().count() > 1 => {
            dir.join(p).display().to_string()
        }
        _ => prog.to_string(),
    }
}

fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Json>, key: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(a)) => a
            .iter()
            .map(|x| scalar_text(x).ok_or_else(|| format!("`{key}` items must be strings")))
            .collect(),
        Some(other) => scalar_text(other)
            .map(|s| vec![s])
            .ok_or_else(|| format!("`{key}` must be a list of strings")),
    }
}

fn unit(v: &Json, key: &str) -> Result<f64, String> {
    match v.as_f64() {
        Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{key}` must be a number from 0 to 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_files_are_checked() {
        let ok = parse_agents(
            "agents:\n  - name: a\n    capabilities: [x, y]\n    respond: {value: yes, confidence: 0.9}\n  - name: b\n    capabilities: x\n    echo: true\n    latencyMs: 5\n",
            Path::new("agents.yaml"),
        );
        let set = ok.ok();
        assert_eq!(set.as_ref().map(|s| s.agents.len()), Some(2));
        assert_eq!(
            set.as_ref()
                .map(|s| s.agents[0].info().capabilities.clone()),
            Some(vec!["x".to_string(), "y".to_string()])
        );
        for (text, what) in [
            (
                "agents:\n  - name: a\n",
                "agents.yaml:2:5: `agents[0]` has no behaviour",
            ),
            (
                "agents:\n  - name: a\n    echo: true\n    url: http://x\n",
                "two behaviours: `echo` and `url`",
            ),
            (
                "agents:\n  - capabilities: [x]\n    echo: true\n",
                "missing required key `agents[0].name`",
            ),
            (
                "agents:\n  - name: a\n    echo: true\n    colour: red\n",
                "agents.yaml:4:5: unknown key `colour` in `agents[0]`",
            ),
            ("agents: 3\n", "`agents` must be a list"),
            (
                "agents:\n  - name: a\n    expertise: 2\n    echo: true\n",
                "between 0 and 1",
            ),
            (
                "agents:\n  - name: a\n    echo: true\n    capabilites: [x]\n",
                "(did you mean `capabilities`?)",
            ),
        ] {
            let err = parse_agents(text, Path::new("agents.yaml"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(what), "{text}: {err}");
        }
    }

    #[test]
    fn builtin_agents_have_every_capability() {
        let set = builtin_agents(3);
        assert_eq!(set.agents.len(), 3);
        assert!(set.agents[2].info().has("anything"));
        assert_eq!(set.agents[0].info().name, "local-1");
    }
}
