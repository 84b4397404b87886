//! Local agents: deterministic answers computed in-process (`respond`, `echo`, `choose`,
//! `function`), with an optional simulated latency. The built-in agents of §6 are echo agents.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value as Json;

use super::protocol::{AgentAnswer, AgentRequest, clamp};
use super::{Agent, AgentError, AgentFuture, AgentInfo};
use prism_interp::{Interpreter, Options, Value};

/// What a local agent answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// A fixed value and confidence.
    Respond {
        /// The value.
        value: Json,
        /// Its confidence.
        confidence: f64,
    },
    /// The request input, with a fixed confidence.
    Echo {
        /// The confidence (0.8 for the built-in agents).
        confidence: f64,
    },
    /// A seeded pseudo-random choice from a list (the same seed gives the same sequence).
    Choose {
        /// The candidates.
        values: Vec<Json>,
        /// The seed.
        seed: u64,
        /// The confidence of every answer.
        confidence: f64,
    },
    /// A Prism function `(task, data) => …` as the agent's body; a confident result gives
    /// its confidence.
    Function {
        /// The function's source text.
        source: String,
        /// The confidence of a result without one.
        confidence: f64,
    },
}

/// An in-process agent.
#[derive(Debug)]
pub struct LocalAgent {
    info: AgentInfo,
    behaviour: Behaviour,
    latency: Option<Duration>,
    calls: AtomicU64,
}

impl LocalAgent {
    /// A local agent.
    pub fn new(info: AgentInfo, behaviour: Behaviour, latency_ms: Option<u64>) -> Self {
        LocalAgent {
            info,
            behaviour,
            latency: latency_ms.filter(|&ms| ms > 0).map(Duration::from_millis),
            calls: AtomicU64::new(0),
        }
    }

    /// The agent's behaviour.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    fn answer(&self, request: &AgentRequest, call: u64) -> Result<AgentAnswer, AgentError> {
        match &self.behaviour {
            Behaviour::Respond { value, confidence } => {
                Ok(AgentAnswer::new(value.clone(), clamp(*confidence)))
            }
            Behaviour::Echo { confidence } => {
                Ok(AgentAnswer::new(request.input.clone(), clamp(*confidence)))
            }
            Behaviour::Choose {
                values,
                seed,
                confidence,
            } => {
                if values.is_empty() {
                    return Err(AgentError::Failed("`choose` has no values".into()));
                }
                let i = (splitmix64(seed.wrapping_add(call)) % values.len() as u64) as usize;
                Ok(AgentAnswer::new(values[i].clone(), clamp(*confidence)))
            }
            Behaviour::Function { .. } => Err(AgentError::Failed(
                "function agents answer asynchronously".into(),
            )),
        }
    }
}

impl Agent for LocalAgent {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        Box::pin(async move {
            let call = self.calls.fetch_add(1, Ordering::Relaxed);
            if let Some(d) = self.latency {
                tokio::time::sleep(d).await;
            }
            match &self.behaviour {
                Behaviour::Function { source, confidence } => {
                    run_function(source.clone(), request, *confidence).await
                }
                _ => self.answer(request, call),
            }
        })
    }
}

/// The seed used when a `choose` agent declares none: a hash of its name.
pub fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs a `function` agent's body on its own interpreter thread.
async fn run_function(
    source: String,
    request: &AgentRequest,
    default_confidence: f64,
) -> Result<AgentAnswer, AgentError> {
    let task = request.task.clone();
    let data = request.data.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("prism-function-agent".into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(eval_function(&source, &task, &data, default_confidence));
        });
    if let Err(e) = spawned {
        return Err(AgentError::Failed(format!("cannot start the agent: {e}")));
    }
    rx.await
        .unwrap_or_else(|_| Err(AgentError::Failed("the agent function stopped".into())))
}

fn eval_function(
    source: &str,
    task: &str,
    data: &Json,
    default_confidence: f64,
) -> Result<AgentAnswer, AgentError> {
    let program = format!("let __agent = ({source})\n__agent(__task, __data)\n");
    let parsed = prism_compiler::parse(&program);
    if parsed.has_errors() {
        let msg = parsed
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map_or_else(String::new, |d| d.message.clone());
        return Err(AgentError::Failed(format!(
            "the agent function does not parse: {msg}"
        )));
    }
    let file = prism_compiler::SourceFile::new("<agent>", program.as_str());
    let mut interp = Interpreter::new(Options {
        output: Box::new(prism_interp::output::CaptureOutput::default()),
        ..Options::default()
    });
    interp.define_global("__task", Value::str(task));
    interp.define_global("__data", prism_interp::from_json(data));
    let v = interp
        .run_program(&parsed.program, &file)
        .and_then(|v| interp.await_value(v, prism_compiler::Span::default()))
        .map_err(|e| AgentError::Failed(e.to_string()))?;
    let confidence = v.confidence().map_or(default_confidence, clamp);
    Ok(AgentAnswer::new(prism_interp::to_json(&v), confidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req() -> AgentRequest {
        AgentRequest::new("r1", "classify", json!({"text": "hi", "data": [1, 2]}))
    }

    #[tokio::test]
    async fn behaviours_answer_deterministically() {
        let r = req();
        let a = LocalAgent::new(
            AgentInfo::new("a", vec![]),
            Behaviour::Respond {
                value: json!("yes"),
                confidence: 0.9,
            },
            None,
        );
        assert_eq!(
            a.analyze(&r).await.map(|x| (x.value, x.confidence)),
            Ok((json!("yes"), 0.9))
        );
        let e = LocalAgent::new(
            AgentInfo::new("e", vec![]),
            Behaviour::Echo { confidence: 0.8 },
            None,
        );
        assert_eq!(e.analyze(&r).await.map(|x| x.value), Ok(r.input.clone()));
        let choose = |seed| {
            LocalAgent::new(
                AgentInfo::new("c", vec![]),
                Behaviour::Choose {
                    values: vec![json!(1), json!(2), json!(3)],
                    seed,
                    confidence: 0.6,
                },
                None,
            )
        };
        let (c1, c2) = (choose(7), choose(7));
        for _ in 0..5 {
            assert_eq!(
                c1.analyze(&r).await.map(|x| x.value),
                c2.analyze(&r).await.map(|x| x.value)
            );
        }
    }

    #[tokio::test]
    async fn function_agents_run_prism() {
        let f = LocalAgent::new(
            AgentInfo::new("f", vec![]),
            Behaviour::Function {
                source: "(task, data) => (task + \":\" + data.length) ~> 0.75".into(),
                confidence: 0.8,
            },
            None,
        );
        let a = f.analyze(&req()).await;
        assert_eq!(
            a.map(|x| (x.value, x.confidence)),
            Ok((json!("classify:2"), 0.75))
        );
        let bad = LocalAgent::new(
            AgentInfo::new("f", vec![]),
            Behaviour::Function {
                source: "(task, data) => { throw \"nope\" }".into(),
                confidence: 0.8,
            },
            None,
        );
        assert!(
            matches!(bad.analyze(&req()).await, Err(AgentError::Failed(m)) if m.contains("nope"))
        );
    }
}
