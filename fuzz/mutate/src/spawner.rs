//! Runs are started by a small helper process (this binary, `__spawner`), not by the fuzzer
//! itself: on Linux a child's peak RSS (`ru_maxrss`) includes the high-water mark of the
//! process that forked it, and the fuzzer holds inputs of up to a few MiB. The helper stays
//! at a few MiB, so the figures it reports are the runs' own (with that floor).
//!
//! The helper reads requests on standard input and answers on standard output, both in a
//! simple length-prefixed binary form.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::exec::{self, Limits, Outcome, Status};

/// A running helper.
pub struct Spawner {
    child: Child,
    to: BufWriter<ChildStdin>,
    from: BufReader<ChildStdout>,
}

impl Spawner {
    /// Starts a helper (this executable with the argument `__spawner`).
    pub fn start() -> std::io::Result<Spawner> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("__spawner")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let to = BufWriter::new(child.stdin.take().ok_or_else(broken)?);
        let from = BufReader::new(child.stdout.take().ok_or_else(broken)?);
        Ok(Spawner { child, to, from })
    }

    /// Runs `argv` through the helper (see [`exec::run`]).
    pub fn run(
        &mut self,
        argv: &[OsString],
        cwd: &Path,
        env: &[(String, String)],
        limits: Limits,
    ) -> std::io::Result<Outcome> {
        let w = &mut self.to;
        put_u64(w, argv.len() as u64)?;
        for a in argv {
            put_bytes(w, a.as_bytes())?;
        }
        put_bytes(w, cwd.as_os_str().as_bytes())?;
        put_u64(w, env.len() as u64)?;
        for (k, v) in env {
            put_bytes(w, k.as_bytes())?;
            put_bytes(w, v.as_bytes())?;
        }
        put_u64(w, limits.timeout.as_micros() as u64)?;
        put_u64(w, limits.memory)?;
        w.flush()?;
        read_outcome(&mut self.from)
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        // Closing its standard input ends the helper.
        let _ = self.to.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn broken() -> std::io::Error {
    std::io::Error::other("the spawner helper has no pipe")
}

/// The helper's loop: one request in, one outcome out, until standard input ends.
pub fn serve() -> std::io::Result<()> {
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::new(std::io::stdout().lock());
    loop {
        let argc = match get_u64(&mut input) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut argv = Vec::new();
        for _ in 0..argc {
            argv.push(OsString::from_vec(get_bytes(&mut input)?));
        }
        let cwd = PathBuf::from(OsString::from_vec(get_bytes(&mut input)?));
        let mut env = Vec::new();
        for _ in 0..get_u64(&mut input)? {
            let k = String::from_utf8_lossy(&get_bytes(&mut input)?).into_owned();
            let v = String::from_utf8_lossy(&get_bytes(&mut input)?).into_owned();
            env.push((k, v));
        }
        let limits = Limits {
            timeout: Duration::from_micros(get_u64(&mut input)?),
            memory: get_u64(&mut input)?,
        };
        match exec::run(&argv, &cwd, &env, limits) {
            Ok(o) => {
                put_u64(&mut output, 0)?;
                write_outcome(&mut output, &o)?;
            }
            Err(e) => {
                put_u64(&mut output, 1)?;
                put_bytes(&mut output, e.to_string().as_bytes())?;
            }
        }
        output.flush()?;
    }
}

fn write_outcome(w: &mut impl Write, o: &Outcome) -> std::io::Result<()> {
    let (kind, code) = match o.status {
        Status::Exited(c) => (0, c),
        Status::Signaled(s) => (1, s),
        Status::TimedOut => (2, 0),
    };
    put_u64(w, kind)?;
    put_u64(w, code as u32 as u64)?;
    put_u64(w, o.elapsed.as_nanos() as u64)?;
    put_u64(w, o.max_rss_kib)?;
    put_u64(w, o.stderr_len)?;
    put_u64(w, o.stdout_len)?;
    put_bytes(w, &o.stderr)
}

fn read_outcome(r: &mut impl Read) -> std::io::Result<Outcome> {
    if get_u64(r)? != 0 {
        let message = String::from_utf8_lossy(&get_bytes(r)?).into_owned();
        return Err(std::io::Error::other(message));
    }
    let kind = get_u64(r)?;
    let code = get_u64(r)? as u32 as i32;
    let status = match kind {
        0 => Status::Exited(code),
        1 => Status::Signaled(code),
        _ => Status::TimedOut,
    };
    Ok(Outcome {
        status,
        elapsed: Duration::from_nanos(get_u64(r)?),
        max_rss_kib: get_u64(r)?,
        stderr_len: get_u64(r)?,
        stdout_len: get_u64(r)?,
        stderr: get_bytes(r)?,
    })
}

fn put_u64(w: &mut impl Write, n: u64) -> std::io::Result<()> {
    w.write_all(&n.to_le_bytes())
}

fn put_bytes(w: &mut impl Write, b: &[u8]) -> std::io::Result<()> {
    put_u64(w, b.len() as u64)?;
    w.write_all(b)
}

fn get_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn get_bytes(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let n = get_u64(r)? as usize;
    let mut b = vec![0u8; n];
    r.read_exact(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_survive_the_wire() {
        let o = Outcome {
            status: Status::Signaled(6),
            elapsed: Duration::from_millis(1234),
            max_rss_kib: 4321,
            stderr: b"boom\n".to_vec(),
            stderr_len: 5,
            stdout_len: 99,
        };
        let mut buf = vec![0u8; 8];
        write_outcome(&mut buf, &o).expect("write");
        let back = read_outcome(&mut buf.as_slice()).expect("read");
        assert_eq!(back.status, o.status);
        assert_eq!(back.elapsed, o.elapsed);
        assert_eq!(back.max_rss_kib, o.max_rss_kib);
        assert_eq!(back.stderr, o.stderr);
        assert_eq!(back.stdout_len, o.stdout_len);
    }
}
