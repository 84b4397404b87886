//! Ending everything an agent process started. A process agent runs in its own process group,
//! which one signal ends; but a descendant that calls `setsid` (or `setpgid`) leaves the group
//! and, once its parent exits, is adopted by init, out of reach. So every agent process is
//! started with a mark in its environment, [`MARK_VAR`] = a token unique to that process,
//! which its descendants inherit wherever they move: on Linux, ending an agent process kills
//! its group, then every process whose initial environment (`/proc/PID/environ`) holds the
//! mark.
//!
//! Limits: a descendant that `exec`s with an emptied or rewritten environment (`env -i`),
//! or runs as another user (`/proc/PID/environ` is unreadable), is not found; on other Unix
//! systems only the process group is killed.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that marks an agent process and its descendants.
pub const MARK_VAR: &str = "PRISM_AGENT_PROCESS";

/// A token unique to one agent process of this run: the orchestrator's pid, a counter and the
/// time, so that two orchestrators on one machine never share one.
pub fn new_mark() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{n}-{nanos:x}", std::process::id())
}

/// Kills the process group `pid` leads and every process carrying `mark`.
pub fn kill_all(pid: Option<u32>, mark: &str) {
    if let Some(pid) = pid {
        kill_group(pid);
    }
    kill_marked(mark);
}

#[cfg(unix)]
fn kill_group(pid: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Ok(p) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(p), Signal::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: u32) {}

/// Kills every process whose environment holds `MARK_VAR=mark`; a few rounds, for processes
/// that were forking while the previous round ran.
#[cfg(target_os = "linux")]
pub fn kill_marked(mark: &str) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let needle = format!("{MARK_VAR}={mark}");
    for _ in 0..5 {
        let found = marked(needle.as_bytes());
        if found.is_empty() {
            return;
        }
        for p in found {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn kill_marked(_mark: &str) {}

/// The processes whose initial environment holds `needle` (`NAME=value`), except this one.
#[cfg(target_os = "linux")]
pub fn marked(needle: &[u8]) -> Vec<i32> {
    use std::io::Read;
    /// Environments are read up to this size: a mark past it is not seen.
    const MAX_ENVIRON: u64 = 1 << 20;
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        buf.clear();
        let Ok(f) = std::fs::File::open(entry.path().join("environ")) else {
            continue;
        };
        if f.take(MAX_ENVIRON).read_to_end(&mut buf).is_err() {
            continue;
        }
        if buf.split(|b| *b == 0).any(|var| var == needle)
            && let Ok(p) = i32::try_from(pid)
        {
            out.push(p);
        }
    }
    out
}
