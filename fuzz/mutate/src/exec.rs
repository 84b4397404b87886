//! Running one `prism` command under a wall-clock limit and an address-space cap, measuring
//! its time and peak memory, and naming what happened.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// What a run may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time, after which the process group is killed.
    pub timeout: Duration,
    /// Address-space cap (`RLIMIT_AS`) in bytes.
    pub memory: u64,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signaled(i32),
    /// It ran past the time limit and was killed.
    TimedOut,
}

/// Everything measured about one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub elapsed: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
    /// The first bytes of standard error, then its last bytes (when it was long).
    pub stderr: Vec<u8>,
    /// Bytes written to standard error in all.
    pub stderr_len: u64,
    /// Bytes written to standard output in all.
    pub stdout_len: u64,
}

/// The kinds of outcome the campaign counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Exit 0.
    Ok,
    /// Exit 1 or 2 with a message.
    Diagnostic,
    /// A Rust panic (exit 101 or "panicked at").
    Panic,
    /// "has overflowed its stack" and an abort.
    StackOverflow,
    /// Killed at the time limit.
    Hang,
    /// An allocation failed under the cap, or the kernel killed it.
    OutOfMemory,
    /// A non-zero exit with nothing on standard error.
    SilentExit,
    /// Another signal (SIGSEGV, SIGABRT, …) without a known message.
    Crash,
    /// An exit code other than 0, 1, 2 or 101, with a message.
    OtherExit,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 9] = [
        Class::Ok,
        Class::Diagnostic,
        Class::Panic,
        Class::StackOverflow,
        Class::Hang,
        Class::OutOfMemory,
        Class::SilentExit,
        Class::Crash,
        Class::OtherExit,
    ];

    /// Its name in reports and folder names.
    pub fn name(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Diagnostic => "diagnostic",
            Class::Panic => "panic",
            Class::StackOverflow => "stack_overflow",
            Class::Hang => "hang",
            Class::OutOfMemory => "out_of_memory",
            Class::SilentExit => "silent_exit",
            Class::Crash => "crash",
            Class::OtherExit => "other_exit",
        }
    }

    /// True for the outcomes that are bugs (everything but ok and a diagnostic).
    pub fn is_failure(self) -> bool {
        !matches!(self, Class::Ok | Class::Diagnostic)
    }
}

/// Bytes of standard error kept from the start and from the end.
const KEEP_HEAD: usize = 64 * 1024;
const KEEP_TAIL: usize = 16 * 1024;

/// Runs `argv` in `cwd` with only `env`, standard input closed, in its own process group, and
/// waits for it or for the time limit.
pub fn run(
    argv: &[OsString],
    cwd: &Path,
    env: &[(String, String)],
    limits: Limits,
) -> std::io::Result<Outcome> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let memory = limits.memory;
    // SAFETY: between fork and exec only `setrlimit`, which is async-signal-safe, is called.
    unsafe {
        cmd.pre_exec(move || {
            set_limit(libc::RLIMIT_AS, memory)?;
            set_limit(libc::RLIMIT_CORE, 0)?;
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let stdout = child.stdout.take().map(|s| drain(s, 0, 0));
    let stderr = child.stderr.take().map(|s| drain(s, KEEP_HEAD, KEEP_TAIL));

    let killed = Arc::new(AtomicBool::new(false));
    let (done, watchdog) = mpsc::channel::<()>();
    let dog = {
        let killed = Arc::clone(&killed);
        let timeout = limits.timeout;
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(timeout) {
                killed.store(true, Ordering::SeqCst);
                kill_group(pid);
            }
        })
    };
    let (wait_status, usage) = wait(pid)?;
    let elapsed = start.elapsed();
    drop(done);
    let _ = dog.join();
    // Whatever the process left in its group (agents, their children) goes too.
    kill_group(pid);

    let (stdout_len, _) = stdout.map(collect).unwrap_or_default();
    let (stderr_len, stderr) = stderr.map(collect).unwrap_or_default();
    let status = if killed.load(Ordering::SeqCst) {
        Status::TimedOut
    } else if libc::WIFEXITED(wait_status) {
        Status::Exited(libc::WEXITSTATUS(wait_status))
    } else {
        Status::Signaled(libc::WTERMSIG(wait_status))
    };
    Ok(Outcome {
        status,
        elapsed,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        stderr,
        stderr_len,
        stdout_len,
    })
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: a plain system call with a valid pointer.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn kill_group(pid: libc::pid_t) {
    // SAFETY: sending a signal has no memory effects; a missing group gives ESRCH.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Waits for `pid` and returns its status and resource usage.
fn wait(pid: libc::pid_t) -> std::io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

type Drained = mpsc::Receiver<(u64, Vec<u8>)>;

/// Reads a pipe to its end on a thread, keeping `head` bytes from the start and `tail` from
/// the end, so a flood of output is counted but never held.
fn drain(mut pipe: impl Read + Send + 'static, head: usize, tail: usize) -> Drained {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut first = Vec::new();
        let mut last: Vec<u8> = Vec::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n as u64;
                    let room = head.saturating_sub(first.len()).min(n);
                    first.extend_from_slice(&buf[..room]);
                    if tail > 0 && room < n {
                        last.extend_from_slice(&buf[room..n]);
                        if last.len() > 2 * tail {
                            last.drain(..last.len() - tail);
                        }
                    }
                }
            }
        }
        if last.len() > tail {
            last.drain(..last.len() - tail);
        }
        if !last.is_empty() {
            first.extend_from_slice(b"\n[...]\n");
            first.extend_from_slice(&last);
        }
        let _ = tx.send((total, first));
    });
    rx
}

/// The result of a drain; a pipe still held open by a detached grandchild two seconds after
/// the process ended is given up.
fn collect(rx: Drained) -> (u64, Vec<u8>) {
    rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
}

/// Names the outcome of a run.
pub fn classify(o: &Outcome) -> Class {
    let err = String::from_utf8_lossy(&o.stderr);
    match o.status {
        Status::TimedOut => Class::Hang,
        Status::Signaled(_) if err.contains("has overflowed its stack") => Class::StackOverflow,
        Status::Signaled(_) if err.contains("memory allocation of") => Class::OutOfMemory,
        Status::Signaled(libc::SIGKILL) => Class::OutOfMemory,
        _ if matches!(o.status, Status::Exited(101)) || is_panic(&err) => Class::Panic,
        Status::Signaled(_) => Class::Crash,
        Status::Exited(0) => Class::Ok,
        Status::Exited(_) if err.trim().is_empty() => Class::SilentExit,
        Status::Exited(1 | 2) => Class::Diagnostic,
        Status::Exited(_) => Class::OtherExit,
    }
}

fn is_panic(err: &str) -> bool {
    err.lines()
        .any(|l| l.starts_with("thread '") && l.contains("' panicked at "))
}

/// True when standard error holds control bytes other than newline and tab (terminal escapes
/// echoed from the source: the runs pass `--color never`).
pub fn has_control_bytes(o: &Outcome) -> bool {
    o.stderr
        .iter()
        .any(|&c| (c < 0x20 && c != b'\n' && c != b'\t') || c == 0x7f)
}

/// True when standard error holds an ESC byte (the start of a terminal escape sequence).
pub fn has_escape(o: &Outcome) -> bool {
    o.stderr.contains(&0x1b)
}

/// A short key that groups runs failing the same way: the panic location and message, the
/// thread that overflowed, the exit code or signal.
pub fn signature(class: Class, o: &Outcome) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    match class {
        Class::Panic => {
            let mut lines = err.lines().skip_while(|l| !l.contains("panicked at "));
            let at = lines
                .next()
                .and_then(|l| l.split("panicked at ").nth(1))
                .map(short_location)
                .unwrap_or_else(|| "unknown".into());
            let message = lines.next().map(normalize).unwrap_or_default();
            format!("{at} {message}")
        }
        Class::StackOverflow => err
            .lines()
            .find(|l| l.contains("has overflowed its stack"))
            .and_then(|l| l.split('\'').nth(1))
            .map(|t| format!("thread {t}"))
            .unwrap_or_else(|| "thread ?".into()),
        Class::OutOfMemory if err.contains("memory allocation of") => "allocation failed".into(),
        Class::OutOfMemory => "killed".into(),
        Class::SilentExit | Class::OtherExit => match o.status {
            Status::Exited(c) => format!("exit {c}"),
            _ => String::new(),
        },
        Class::Crash => match o.status {
            Status::Signaled(s) => format!("signal {s}"),
            _ => String::new(),
        },
        Class::Hang | Class::Ok | Class::Diagnostic => String::new(),
    }
}

/// `/root/.cargo/registry/src/…/miette-7.6.0/src/handlers/graphical.rs:1159:33:` →
/// `miette handlers/graphical.rs:1159`.
fn short_location(loc: &str) -> String {
    let loc = loc.trim_end_matches(':');
    let mut parts = loc.rsplitn(3, ':');
    let _column = parts.next();
    let line = parts.next().unwrap_or("?");
    let path = parts.next().unwrap_or(loc);
    let (krate, file) = match path.rfind("/src/") {
        Some(i) => {
            let krate = path[..i].rsplit('/').next().unwrap_or("");
            let krate = krate
                .split('-')
                .take_while(|p| !p.starts_with(|c: char| c.is_ascii_digit()));
            (krate.collect::<Vec<_>>().join("-"), &path[i + 5..])
        }
        None => (String::new(), path),
    };
    format!("{krate} {file}:{line}").trim().to_string()
}

/// A message with its numbers replaced, so `index 7` and `index 9` group together.
fn normalize(message: &str) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in message.chars().take(100) {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

/// Text of standard error for a report: control bytes shown as `\xNN`, at most `max` chars.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in text.chars() {
        if out.len() >= max {
            out.push('…');
            break;
        }
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status, stderr: &str) -> Outcome {
        Outcome {
            status,
            elapsed: Duration::ZERO,
            max_rss_kib: 0,
            stderr: stderr.as_bytes().to_vec(),
            stderr_len: stderr.len() as u64,
            stdout_len: 0,
        }
    }

    #[test]
    fn classes() {
        let panic = "\nthread 'main' panicked at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/miette-7.6.0/src/handlers/graphical.rs:1159:33:\nFormatting argument out of range\nnote: run with `RUST_BACKTRACE=1`";
        let o = outcome(Status::Exited(101), panic);
        assert_eq!(classify(&o), Class::Panic);
        assert_eq!(
            signature(Class::Panic, &o),
            "miette handlers/graphical.rs:1159 Formatting argument out of range"
        );
        let so = "\nthread 'prism-interpreter' has overflowed its stack\nfatal runtime error: stack overflow, aborting\n";
        let o = outcome(Status::Signaled(libc::SIGABRT), so);
        assert_eq!(classify(&o), Class::StackOverflow);
        assert_eq!(
            signature(Class::StackOverflow, &o),
            "thread prism-interpreter"
        );
        let oom = "memory allocation of 4294967296 bytes failed\n";
        assert_eq!(
            classify(&outcome(Status::Signaled(libc::SIGABRT), oom)),
            Class::OutOfMemory
        );
        assert_eq!(
            classify(&outcome(Status::Exited(2), "error: x")),
            Class::Diagnostic
        );
        assert_eq!(
            classify(&outcome(Status::Exited(1), " \n")),
            Class::SilentExit
        );
        assert_eq!(classify(&outcome(Status::Exited(0), "")), Class::Ok);
        assert_eq!(classify(&outcome(Status::TimedOut, "")), Class::Hang);
        assert_eq!(
            classify(&outcome(Status::Signaled(libc::SIGSEGV), "")),
            Class::Crash
        );
    }

    #[test]
    fn runs_are_measured_and_limited() {
        let limits = Limits {
            timeout: Duration::from_millis(300),
            memory: 1 << 30,
        };
        let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
        let sh = |script: &str| -> Vec<OsString> { vec!["sh".into(), "-c".into(), script.into()] };
        let o = run(&sh("sleep 5"), Path::new("."), &env, limits).expect("spawn");
        assert_eq!(o.status, Status::TimedOut);
        assert!(o.elapsed < Duration::from_secs(3));
        let o = run(&sh("echo oops >&2; exit 2"), Path::new("."), &env, limits).expect("spawn");
        assert_eq!(classify(&o), Class::Diagnostic);
        assert_eq!(o.stderr, b"oops\n");
        let o = run(
            &sh("head -c 3000000 /dev/zero >&2"),
            Path::new("."),
            &env,
            limits,
        )
        .expect("spawn");
        assert_eq!(o.stderr_len, 3_000_000);
        assert!(o.stderr.len() < KEEP_HEAD + KEEP_TAIL + 16);
    }
}
