//! Running the `prism` binary with a time limit.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// The output of one run of `prism`.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    /// `None` when the process was killed after the time limit.
    pub code: Option<i32>,
}

/// The built `prism` binary.
pub fn prism() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_prism"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The test data kept in the repository (`tests/data/`): copies of `../shared/conformance`,
/// `../shared/patterns` and `../shared/license`, so a clone with nothing beside it passes.
pub fn data() -> PathBuf {
    repo().join("tests").join("data")
}

/// `../shared` beside the repository, where the copies in [`data`] come from (absent in a
/// plain clone), or the folder `PRISM_SHARED_DIR` names (CI runs the tests in a clone with
/// nothing beside it and names the original folder for the drift check).
pub fn shared() -> PathBuf {
    match std::env::var_os("PRISM_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo().join("..").join("shared"),
    }
}

/// Runs `prism ARGS` in `dir` with no stdin, killing it after `limit`.
pub fn run_prism(args: &[&str], dir: &Path, limit: Duration) -> Result<Run, String> {
    run_prism_with(args, dir, limit, None, &[])
}

/// Runs `prism ARGS` in `dir` with `stdin` as its standard input.
pub fn run_prism_stdin(
    args: &[&str],
    dir: &Path,
    limit: Duration,
    stdin: &str,
) -> Result<Run, String> {
    run_prism_with(args, dir, limit, Some(stdin), &[])
}

/// Runs `prism ARGS` in `dir`, with `stdin` (none: empty) and extra environment variables
/// (`NO_COLOR=1` is set unless `env` names it; an empty value removes a variable).
pub fn run_prism_with(
    args: &[&str],
    dir: &Path,
    limit: Duration,
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Result<Run, String> {
    let mut cmd = Command::new(prism());
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("PRISM_LICENSE_KEY")
        .env_remove("PARALLAX_LICENSE_KEY")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start prism: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let text = text.to_string();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = child.wait_timeout(limit).map_err(|e| e.to_string())?;
    let code = match status {
        Some(s) => s.code(),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    Ok(Run {
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        code,
    })
}

/// Files under `dir` (recursively) whose name ends with `ext`, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
