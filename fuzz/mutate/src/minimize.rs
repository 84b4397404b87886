//! Shrinking a failing input: remove chunks of lines, then of bytes, halving the chunk size,
//! keeping each removal after which the run still fails the same way (same class and
//! signature). Bounded by a number of runs and a wall-clock budget.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::campaign::Cmd;
use crate::exec::{self, Class, Limits};
use crate::spawner::Spawner;

/// Where and how to run the trials.
pub struct Ctx<'a> {
    pub prism: &'a Path,
    pub cmd: Cmd,
    pub scratch: &'a Path,
    pub env: &'a [(String, String)],
    pub limits: Limits,
}

/// Trials per minimization.
const MAX_TRIALS: usize = 400;
/// Wall-clock budget per minimization.
const BUDGET: Duration = Duration::from_secs(90);

/// The smallest input found that still gives `class` with signature `want`.
pub fn minimize(
    ctx: &Ctx<'_>,
    spawner: &mut Spawner,
    input: &[u8],
    ext: &str,
    class: Class,
    want: &str,
) -> Vec<u8> {
    let file = ctx.scratch.join(format!("minimize.{ext}"));
    let started = Instant::now();
    let mut trials = 0;
    let mut still_fails = |bytes: &[u8]| -> bool {
        if trials >= MAX_TRIALS || started.elapsed() > BUDGET {
            return false;
        }
        trials += 1;
        if std::fs::write(&file, bytes).is_err() {
            return false;
        }
        let argv = ctx.cmd.argv(ctx.prism, &file);
        match spawner.run(&argv, ctx.scratch, ctx.env, ctx.limits) {
            Ok(o) => {
                let c = exec::classify(&o);
                c == class && exec::signature(c, &o) == want
            }
            Err(_) => false,
        }
    };
    let mut best = input.to_vec();
    best = shrink(best, &mut still_fails, line_units);
    best = shrink(best, &mut still_fails, byte_units);
    let _ = std::fs::remove_file(&file);
    best
}

/// Units of removal: byte ranges.
fn line_units(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() {
        out.push((start, b.len()));
    }
    out
}

fn byte_units(b: &[u8]) -> Vec<(usize, usize)> {
    (0..b.len()).map(|i| (i, i + 1)).collect()
}

/// Removes runs of `chunk` units, from half the units down to one.
fn shrink(
    mut best: Vec<u8>,
    still_fails: &mut dyn FnMut(&[u8]) -> bool,
    units: fn(&[u8]) -> Vec<(usize, usize)>,
) -> Vec<u8> {
    let mut chunk = units(&best).len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        loop {
            let us = units(&best);
            if i >= us.len() {
                break;
            }
            let end = (i + chunk).min(us.len());
            let mut candidate = best[..us[i].0].to_vec();
            candidate.extend_from_slice(&best[us[end - 1].1..]);
            if !candidate.is_empty() && still_fails(&candidate) {
                best = candidate;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_to_what_matters() {
        let input = b"aaa\nbbb\nXcc\nddd\n".to_vec();
        let mut fails = |b: &[u8]| b.contains(&b'X');
        let lines = shrink(input, &mut fails, line_units);
        assert_eq!(lines, b"Xcc\n");
        let bytes = shrink(lines, &mut fails, byte_units);
        assert_eq!(bytes, b"X");
    }
}
