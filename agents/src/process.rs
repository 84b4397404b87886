//! Process agents (§6). `lines` (default): one process kept for the run, one JSON request per
//! stdin line and one response per stdout line, matched by `id`; a crash fails the pending
//! calls and the next call restarts it (at most [`MAX_RESTARTS`] times). `oneshot`: a process
//! per call whose stdout is a response, or text with a `CONFIDENCE: x` line; when the call
//! ends (answered, failed, cancelled or timed out) the process and everything it started are
//! killed: its process group, and on Linux every process carrying its environment mark, so
//! that a grandchild detached with `setsid` does not outlive the call ([`super::reap`], with
//! its limits).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::Value as Json;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use super::bounded::{Line, keep_tail, next_line, read_capped};
use super::protocol::{AgentAnswer, AgentRequest, parse_response, parse_text_answer};
use super::reap;
use super::{Agent, AgentError, AgentFuture, AgentInfo, tail};

/// How often a `lines` process is restarted after crashing.
pub const MAX_RESTARTS: u32 = 3;
const STDERR_TAIL: usize = 400;

/// How a process agent talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessMode {
    /// One process for the run, JSON lines both ways.
    Lines,
    /// A process per call.
    Oneshot,
}

/// The command line of a process agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSpec {
    /// A shell command (`sh -c`) or an argv.
    pub command: Vec<String>,
    /// True when `command` is one shell string.
    pub shell: bool,
    /// Working directory (the agents file's directory).
    pub cwd: Option<PathBuf>,
    /// The mode.
    pub mode: ProcessMode,
    /// The longest answer: one stdout line (`lines`) or all of stdout (`oneshot`), in bytes.
    pub max_answer_bytes: usize,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Result<AgentAnswer, AgentError>>>>>;

struct Running {
    stdin: ChildStdin,
    pending: Pending,
    alive: Arc<std::sync::atomic::AtomicBool>,
    kill: Option<oneshot::Sender<()>>,
}

/// An agent that is a local process.
pub struct ProcessAgent {
    info: AgentInfo,
    spec: ProcessSpec,
    running: tokio::sync::Mutex<Option<Running>>,
    starts: AtomicU32,
}

impl std::fmt::Debug for ProcessAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessAgent")
            .field("info", &self.info)
            .field("spec", &self.spec)
            .finish()
    }
}

impl ProcessAgent {
    /// A process agent.
    pub fn new(info: AgentInfo, spec: ProcessSpec) -> Self {
        ProcessAgent {
            info,
            spec,
            running: tokio::sync::Mutex::new(None),
            starts: AtomicU32::new(0),
        }
    }

    /// The command line, its process marked with `mark` ([`reap::MARK_VAR`]).
    /// Starts the process, marked with `mark`.
    fn spawn(&self, mark: &str) -> Result<Child, AgentError> {
        self.command(mark)?.spawn().map_err(|e| {
            AgentError::Process(format!(
                "cannot start `{}`: {e}",
                self.spec.command.join(" ")
            ))
        })
    }

    fn command(&self, mark: &str) -> Result<Command, AgentError> {
        let mut cmd = if self.spec.shell {
            let mut c = Command::new("sh");
            c.arg("-c").arg(self.spec.command.join(" "));
            c
        } else {
            let Some((prog, args)) = self.spec.command.split_first() else {
                return Err(AgentError::Process("empty command".into()));
            };
            let mut c = Command::new(prog);
            c.args(args);
            c
        };
        if let Some(dir) = &self.spec.cwd {
            cmd.current_dir(dir);
        }
        cmd.env("PRISM_AGENT_NAME", &self.info.name)
            .env(reap::MARK_VAR, mark)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        Ok(cmd)
    }

    async fn call_lines(&self, request: &AgentRequest) -> Result<AgentAnswer, AgentError> {
        let (tx, rx) = oneshot::channel();
        let pending = {
            let mut guard = self.running.lock().await;
            let dead = guard
                .as_ref()
                .is_none_or(|r| !r.alive.load(Ordering::SeqCst));
            if dead {
                let n = self.starts.fetch_add(1, Ordering::SeqCst);
                if n > MAX_RESTARTS {
                    return Err(AgentError::Process(format!(
                        "the process crashed and was restarted {MAX_RESTARTS} times"
                    )));
                }
                *guard = Some(self.start_lines()?);
            }
            let Some(run) = guard.as_mut() else {
                return Err(AgentError::Process("the process is not running".into()));
            };
            lock(&run.pending).insert(request.id.clone(), tx);
            let mut line =
                serde_json::to_string(request).map_err(|e| AgentError::Protocol(e.to_string()))?;
            line.push('\n');
            if let Err(e) = run.stdin.write_all(line.as_bytes()).await {
                lock(&run.pending).remove(&request.id);
                run.alive.store(false, Ordering::SeqCst);
                return Err(AgentError::Process(format!(
                    "cannot write to the process: {e}"
                )));
            }
            let _ = run.stdin.flush().await;
            run.pending.clone()
        };
        let _cleanup = RemoveOnDrop {
            pending,
            id: request.id.clone(),
        };
        rx.await
            .unwrap_or_else(|_| Err(AgentError::Process("the process stopped".into())))
    }

    fn start_lines(&self) -> Result<Running, AgentError> {
        let mark = reap::new_mark();
        let mut child = self.spawn(&mark)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(AgentError::Process("no pipes to the process".into()));
        };
        let pending: Pending = Arc::default();
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let err_tail = Arc::new(Mutex::new(String::new()));
        tokio::spawn(keep_tail(stderr, err_tail.clone(), STDERR_TAIL));
        let (kill_tx, kill_rx) = oneshot::channel();
        tokio::spawn(read_lines(
            Marked { child, mark },
            stdout,
            self.spec.max_answer_bytes,
            pending.clone(),
            alive.clone(),
            err_tail,
            kill_rx,
        ));
        Ok(Running {
            stdin,
            pending,
            alive,
            kill: Some(kill_tx),
        })
    }

    async fn call_oneshot(&self, request: &AgentRequest) -> Result<AgentAnswer, AgentError> {
        let mark = reap::new_mark();
        let mut child = self.spawn(&mark)?;
        // However the call ends (an answer, an error, a timeout that drops this future), the
        // process and whatever it started go with it.
        let _reaper = KillAllOnDrop {
            pid: child.id(),
            mark,
        };
        let (Some(mut stdin), Some(mut stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(AgentError::Process("no pipes to the process".into()));
        };
        let line =
            serde_json::to_string(request).map_err(|e| AgentError::Protocol(e.to_string()))?;
        let write = async move {
            let _ = stdin.write_all(line.as_bytes()).await;
            let _ = stdin.write_all(b"\n").await;
            drop(stdin);
        };
        let err_tail = Arc::new(Mutex::new(String::new()));
        let err_task = tokio::spawn(keep_tail(stderr, err_tail.clone(), STDERR_TAIL));
        let mut stop_err = AbortOnDrop(err_task);
        let max = self.spec.max_answer_bytes;
        let mut out = Vec::new();
        let (_, read) = tokio::join!(write, async {
            let reading = read_capped(&mut stdout, &mut out, max);
            tokio::pin!(reading);
            tokio::select! {
                r = &mut reading => Some(r),
                // The process exited but something it started holds stdout open: take what
                // was written, a moment later.
                _ = child.wait() => tokio::time::timeout(EXIT_GRACE, &mut reading).await.ok(),
            }
        });
        match read {
            Some(Ok(true)) | None => {}
            Some(Ok(false)) => {
                return Err(AgentError::Protocol(format!(
                    "the output is longer than {max} bytes (`maxAnswerBytes`)"
                )));
            }
            Some(Err(e)) => {
                return Err(AgentError::Process(format!("cannot read stdout: {e}")));
            }
        }
        let status = child
            .wait()
            .await
            .map_err(|e| AgentError::Process(e.to_string()))?;
        if !status.success() {
            // The tail reader ends at stderr's end of file: let it take what the process wrote
            // before it died (bounded, in case something it started holds stderr open).
            let _ = tokio::time::timeout(EXIT_GRACE, &mut stop_err.0).await;
            return Err(AgentError::Exit {
                code: status.code().unwrap_or(-1),
                stderr: tail(&lock(&err_tail), STDERR_TAIL),
            });
        }
        let out = String::from_utf8(out)
            .map_err(|_| AgentError::Protocol("the output is not UTF-8".into()))?;
        parse_text_answer(&out)
    }
}

/// How long a one-shot process's stdout may stay open after the process exited.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Agent for ProcessAgent {
    fn info(&self) -> &AgentInfo {
        &self.info
    }

    fn analyze<'a>(&'a self, request: &'a AgentRequest) -> AgentFuture<'a> {
        match self.spec.mode {
            ProcessMode::Lines => Box::pin(self.call_lines(request)),
            ProcessMode::Oneshot => Box::pin(self.call_oneshot(request)),
        }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut guard = self.running.lock().await;
            if let Some(mut run) = guard.take()
                && let Some(k) = run.kill.take()
            {
                let _ = k.send(());
            }
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct RemoveOnDrop {
    pending: Pending,
    id: String,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        lock(&self.pending).remove(&self.id);
    }
}

/// Kills a one-shot process's group and every process carrying its mark when the call ends.
struct KillAllOnDrop {
    pid: Option<u32>,
    mark: String,
}

impl Drop for KillAllOnDrop {
    fn drop(&mut self) {
        reap::kill_all(self.pid, &self.mark);
    }
}

/// A `lines` process and the mark its descendants carry.
struct Marked {
    child: Child,
    mark: String,
}

async fn read_lines(
    Marked { mut child, mark }: Marked,
    stdout: tokio::process::ChildStdout,
    max: usize,
    pending: Pending,
    alive: Arc<std::sync::atomic::AtomicBool>,
    err_tail: Arc<Mutex<String>>,
    mut kill: oneshot::Receiver<()>,
) {
    let mut stdout = BufReader::new(stdout);
    let mut flooded = false;
    let killed = loop {
        tokio::select! {
            _ = &mut kill => break true,
            line = next_line(&mut stdout, max) => match line {
                Ok(Some(Line::Text(line))) => deliver(&line, &pending),
                Ok(Some(Line::NotUtf8(start))) => fail_one(
                    &pending,
                    format!("a line that is not UTF-8: {start}"),
                ),
                // An answer past the limit: the process is stopped, its calls fail.
                Ok(Some(Line::TooLong)) => {
                    flooded = true;
                    break true;
                }
                _ => break false,
            },
        }
    };
    alive.store(false, Ordering::SeqCst);
    if killed {
        reap::kill_all(child.id(), &mark);
        let _ = child.kill().await;
    }
    let status = child.wait().await;
    // What the process started and left running goes with it.
    reap::kill_marked(&mark);
    // Give the stderr reader a moment to drain what the process wrote before dying.
    tokio::task::yield_now().await;
    let reason = match status {
        _ if flooded => format!(
            "an answer line longer than {max} bytes (`maxAnswerBytes`); the process was stopped"
        ),
        Ok(s) if killed => format!("the process was stopped ({s})"),
        Ok(s) => format!(
            "the process exited ({s}) with calls pending: {}",
            tail(&lock(&err_tail), STDERR_TAIL)
        ),
        Err(e) => format!("the process failed: {e}"),
    };
    let waiting: Vec<_> = lock(&pending).drain().collect();
    for (_, tx) in waiting {
        let _ = tx.send(Err(if flooded {
            AgentError::Protocol(reason.clone())
        } else {
            AgentError::Process(reason.clone())
        }));
    }
}

/// A line that cannot be matched to a call: if exactly one call is waiting, it is the answer
/// to that call, a protocol error.
fn fail_one(pending: &Pending, message: String) {
    let mut p = lock(pending);
    if p.len() == 1
        && let Some(id) = p.keys().next().cloned()
        && let Some(tx) = p.remove(&id)
    {
        let _ = tx.send(Err(AgentError::Protocol(message)));
    }
}

fn deliver(line: &str, pending: &Pending) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    let Ok(json) = serde_json::from_str::<Json>(line) else {
        fail_one(
            pending,
            format!("not a JSON line: {}", super::excerpt(line, 200)),
        );
        return;
    };
    let id = match json.get("id") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => {
            let mut p = lock(pending);
            if p.len() == 1
                && let Some(id) = p.keys().next().cloned()
                && let Some(tx) = p.remove(&id)
            {
                let _ = tx.send(parse_response(&json));
            }
            return;
        }
    };
    if let Some(tx) = lock(pending).remove(&id) {
        let _ = tx.send(parse_response(&json));
    }
}
