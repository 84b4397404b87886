//! A fuzzing campaign: derive N inputs from the seeds, run each through the chosen `prism`
//! commands on a few worker threads, count the outcomes, keep (and shrink) the failing inputs,
//! and write a summary.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::exec::{self, Class, Limits, Outcome};
use crate::minimize;
use crate::mutate::mutate;
use crate::rng::Rng;
use crate::seeds::{self, Seed};
use crate::spawner::Spawner;

/// A `prism` subcommand an input goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cmd {
    Check,
    Run,
}

impl Cmd {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Check => "check",
            Cmd::Run => "run",
        }
    }

    /// Parses `check` or `run`.
    pub fn parse(s: &str) -> Option<Cmd> {
        match s {
            "check" => Some(Cmd::Check),
            "run" => Some(Cmd::Run),
            _ => None,
        }
    }

    /// The command line for `file`.
    pub fn argv(self, prism: &Path, file: &Path) -> Vec<OsString> {
        vec![
            prism.into(),
            "--color".into(),
            "never".into(),
            self.name().into(),
            file.into(),
        ]
    }
}

/// What a campaign does.
#[derive(Debug, Clone)]
pub struct Config {
    pub prism: PathBuf,
    pub seed_dirs: Vec<PathBuf>,
    pub inputs: usize,
    pub seed: u64,
    pub jobs: usize,
    pub limits: Limits,
    /// Runs that finish but take longer than this are counted as slow.
    pub slow: Duration,
    pub out: PathBuf,
    pub commands: Vec<Cmd>,
    pub max_len: usize,
    pub minimize: bool,
    /// Failing inputs kept per signature.
    pub keep: usize,
}

/// The environment every run gets: nothing of the caller's but `PATH`; home and data folders
/// inside the scratch folder; no colour, no backtraces.
pub fn child_env(scratch: &Path) -> Vec<(String, String)> {
    let s = scratch.display().to_string();
    vec![
        (
            "PATH".into(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        ),
        ("HOME".into(), s.clone()),
        ("XDG_DATA_HOME".into(), format!("{s}/data")),
        ("XDG_CONFIG_HOME".into(), format!("{s}/config")),
        ("NO_COLOR".into(), "1".into()),
        ("TERM".into(), "dumb".into()),
        ("RUST_BACKTRACE".into(), "0".into()),
        ("LANG".into(), "C.UTF-8".into()),
    ]
}

/// One group of failures: same command, class and signature.
struct Group {
    class: Class,
    cmd: Cmd,
    count: usize,
    first_input: usize,
    saved: Vec<PathBuf>,
    minimized: Option<(PathBuf, usize)>,
    stderr: String,
}

/// One slow run, for the "slowest inputs" table.
#[derive(Clone)]
struct Slow {
    ms: u128,
    input: usize,
    cmd: Cmd,
    class: Class,
    size: usize,
    seed: String,
    steps: String,
}

#[derive(Default)]
struct Tally {
    inputs_done: usize,
    runs: usize,
    counts: BTreeMap<(Cmd, Class), usize>,
    groups: BTreeMap<String, Group>,
    slowest: Vec<Slow>,
    over_slow: BTreeMap<Cmd, usize>,
    control_bytes: BTreeMap<Cmd, usize>,
    escapes: BTreeMap<Cmd, usize>,
    peak_rss_kib: u64,
    peak_rss_input: usize,
    rss_sum_kib: u128,
    by_step: HashMap<&'static str, (usize, usize)>,
}

/// Runs the campaign and writes `summary.md`, `results.tsv` and `failures/` under `out`.
pub fn run(cfg: &Config) -> std::io::Result<()> {
    let seeds = seeds::collect(&cfg.seed_dirs);
    if seeds.is_empty() {
        return Err(std::io::Error::other(
            "no seed files (.prism, .yaml, .yml) found",
        ));
    }
    std::fs::create_dir_all(cfg.out.join("failures"))?;
    let mut results = File::create(cfg.out.join("results.tsv"))?;
    writeln!(
        results,
        "input\tseed\tsteps\tbytes\tcommand\tclass\tstatus\tms\tpeak_rss_kib\tstderr_bytes"
    )?;
    let results = Mutex::new(results);
    let tally = Mutex::new(Tally::default());
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    eprintln!(
        "prism-mutate: {} seeds, {} inputs × {:?}, {} job(s), seed {}, limit {:?}, cap {} MiB",
        seeds.len(),
        cfg.inputs,
        cfg.commands.iter().map(|c| c.name()).collect::<Vec<_>>(),
        cfg.jobs,
        cfg.seed,
        cfg.limits.timeout,
        cfg.limits.memory >> 20
    );
    std::thread::scope(|scope| {
        for job in 0..cfg.jobs {
            let (seeds, results, tally, next) = (&seeds, &results, &tally, &next);
            scope.spawn(move || {
                if let Err(e) = worker(cfg, job, seeds, results, tally, next, started) {
                    eprintln!("prism-mutate: worker {job}: {e}");
                }
            });
        }
    });
    let t = tally.lock().unwrap_or_else(|p| p.into_inner());
    let summary = summary(cfg, &seeds, &t, started.elapsed());
    std::fs::write(cfg.out.join("summary.md"), &summary)?;
    eprintln!("{summary}");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn worker(
    cfg: &Config,
    job: usize,
    seeds: &[Seed],
    results: &Mutex<File>,
    tally: &Mutex<Tally>,
    next: &AtomicUsize,
    started: Instant,
) -> std::io::Result<()> {
    let scratch = cfg.out.join("work").join(format!("job{job}"));
    std::fs::create_dir_all(&scratch)?;
    let scratch = scratch.canonicalize()?;
    let env = child_env(&scratch);
    let mut spawner = Spawner::start()?;
    loop {
        let index = next.fetch_add(1, Ordering::SeqCst);
        if index >= cfg.inputs {
            return Ok(());
        }
        let mut rng = Rng::for_input(cfg.seed, index as u64);
        let seed = rng.pick(seeds);
        let mutant = mutate(&mut rng, seed, seeds, cfg.max_len);
        let file = scratch.join(format!("input.{}", seed.ext));
        std::fs::write(&file, &mutant.bytes)?;
        let steps = mutant.steps.join("+");
        for &cmd in &cfg.commands {
            let outcome = spawner.run(&cmd.argv(&cfg.prism, &file), &scratch, &env, cfg.limits)?;
            let class = exec::classify(&outcome);
            let status = match outcome.status {
                exec::Status::Exited(c) => format!("exit {c}"),
                exec::Status::Signaled(s) => format!("signal {s}"),
                exec::Status::TimedOut => "timeout".into(),
            };
            {
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                writeln!(
                    r,
                    "{index}\t{}\t{steps}\t{}\t{}\t{}\t{status}\t{}\t{}\t{}",
                    seed.path.display(),
                    mutant.bytes.len(),
                    cmd.name(),
                    class.name(),
                    outcome.elapsed.as_millis(),
                    outcome.max_rss_kib,
                    outcome.stderr_len
                )?;
            }
            let new_group = record(cfg, index, seed, &mutant, cmd, class, &outcome, tally)?;
            if let Some(key) = new_group
                && cfg.minimize
                && worth_minimizing(class)
            {
                let want = exec::signature(class, &outcome);
                let ctx = minimize::Ctx {
                    prism: &cfg.prism,
                    cmd,
                    scratch: &scratch,
                    env: &env,
                    limits: cfg.limits,
                };
                let small =
                    minimize::minimize(&ctx, &mut spawner, &mutant.bytes, &seed.ext, class, &want);
                let dir = group_dir(cfg, class, &key);
                let path = dir.join(format!("minimized.{}", seed.ext));
                std::fs::write(&path, &small)?;
                let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(g) = t.groups.get_mut(&key) {
                    g.minimized = Some((path, small.len()));
                }
            }
        }
        let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
        t.inputs_done += 1;
        if t.inputs_done.is_multiple_of(250) || t.inputs_done == cfg.inputs {
            eprintln!("{}", progress(&t, cfg.inputs, started.elapsed()));
            let s = summary(cfg, seeds, &t, started.elapsed());
            drop(t);
            std::fs::write(cfg.out.join("summary.md"), s)?;
        }
    }
}

/// Failures whose runs are quick enough to shrink by trial.
fn worth_minimizing(class: Class) -> bool {
    matches!(
        class,
        Class::Panic | Class::StackOverflow | Class::SilentExit | Class::Crash | Class::OtherExit
    )
}

/// The group key of a failure: command, class, signature; for hangs and memory, the heavy
/// mutations that made the input (they tell the causes apart better than nothing at all).
fn group_key(cmd: Cmd, class: Class, ext: &str, steps: &[&str], o: &Outcome) -> String {
    let mut sig = exec::signature(class, o);
    if matches!(class, Class::Hang | Class::OutOfMemory) {
        let mut heavy: Vec<&str> = steps
            .iter()
            .copied()
            .filter(|s| {
                s.starts_with("deep_nesting")
                    || *s == "long_chain"
                    || *s == "long_line"
                    || *s == "duplicate_lines"
                    || *s == "swap_number"
            })
            .collect();
        heavy.sort_unstable();
        heavy.dedup();
        let heavy = if heavy.is_empty() {
            "other".to_string()
        } else {
            heavy.join("+")
        };
        sig = format!("{sig} {ext} {heavy}").trim().to_string();
    }
    format!("{} {} {sig}", cmd.name(), class.name())
}

fn slug(key: &str) -> String {
    let mut s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').chars().take(90).collect()
}

fn group_dir(cfg: &Config, class: Class, key: &str) -> PathBuf {
    cfg.out.join("failures").join(class.name()).join(slug(key))
}

/// Counts one run; keeps the input when it failed. Returns the group key when this run opened
/// a new group.
#[allow(clippy::too_many_arguments)]
fn record(
    cfg: &Config,
    index: usize,
    seed: &Seed,
    mutant: &crate::mutate::Mutant,
    cmd: Cmd,
    class: Class,
    o: &Outcome,
    tally: &Mutex<Tally>,
) -> std::io::Result<Option<String>> {
    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
    t.runs += 1;
    *t.counts.entry((cmd, class)).or_default() += 1;
    t.rss_sum_kib += u128::from(o.max_rss_kib);
    if o.max_rss_kib > t.peak_rss_kib {
        t.peak_rss_kib = o.max_rss_kib;
        t.peak_rss_input = index;
    }
    if exec::has_control_bytes(o) {
        *t.control_bytes.entry(cmd).or_default() += 1;
    }
    if exec::has_escape(o) {
        *t.escapes.entry(cmd).or_default() += 1;
    }
    if class != Class::Hang && o.elapsed > cfg.slow {
        *t.over_slow.entry(cmd).or_default() += 1;
    }
    for step in &mutant.steps {
        let e = t.by_step.entry(step).or_default();
        e.0 += 1;
        if class.is_failure() {
            e.1 += 1;
        }
    }
    let ms = o.elapsed.as_millis();
    if t.slowest.len() < 15 || t.slowest.last().is_some_and(|s| s.ms < ms) {
        t.slowest.push(Slow {
            ms,
            input: index,
            cmd,
            class,
            size: mutant.bytes.len(),
            seed: seed.path.display().to_string(),
            steps: mutant.steps.join("+"),
        });
        t.slowest.sort_by_key(|s| std::cmp::Reverse(s.ms));
        t.slowest.truncate(15);
    }
    if !class.is_failure() {
        return Ok(None);
    }
    let key = group_key(cmd, class, &seed.ext, &mutant.steps, o);
    let is_new = !t.groups.contains_key(&key);
    let group = t.groups.entry(key.clone()).or_insert_with(|| Group {
        class,
        cmd,
        count: 0,
        first_input: index,
        saved: Vec::new(),
        minimized: None,
        stderr: exec::printable(&o.stderr, 600),
    });
    group.count += 1;
    if group.saved.len() < cfg.keep {
        let dir = group_dir(cfg, class, &key);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("input-{index}-{}.{}", cmd.name(), seed.ext));
        std::fs::write(&path, &mutant.bytes)?;
        let note = format!(
            "input {index} from {} ({})\ncommand: prism {} FILE\nstatus: {:?}, {} ms, peak RSS {} KiB\nstderr ({} bytes):\n{}\n",
            seed.path.display(),
            mutant.steps.join("+"),
            cmd.name(),
            o.status,
            ms,
            o.max_rss_kib,
            o.stderr_len,
            exec::printable(&o.stderr, 4000)
        );
        std::fs::write(path.with_extension(format!("{}.txt", seed.ext)), note)?;
        group.saved.push(path);
    }
    Ok(is_new.then_some(key))
}

fn progress(t: &Tally, total: usize, elapsed: Duration) -> String {
    let fails: usize = t
        .counts
        .iter()
        .filter(|((_, c), _)| c.is_failure())
        .map(|(_, n)| n)
        .sum();
    format!(
        "[{}/{}] {:.0}s, {} runs, {} failing runs in {} groups, peak RSS {} MiB",
        t.inputs_done,
        total,
        elapsed.as_secs_f64(),
        t.runs,
        fails,
        t.groups.len(),
        t.peak_rss_kib >> 10
    )
}

fn summary(cfg: &Config, seeds: &[Seed], t: &Tally, elapsed: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# prism-mutate summary\n");
    let _ = writeln!(
        s,
        "- binary: `{}`\n- seeds: {} files from {}\n- inputs: {} of {} (seed {}), {} runs ({})\n- limits: {:?} wall time, {} MiB address space; jobs: {}\n- wall time: {:.0} s",
        cfg.prism.display(),
        seeds.len(),
        cfg.seed_dirs
            .iter()
            .map(|d| format!("`{}`", d.display()))
            .collect::<Vec<_>>()
            .join(", "),
        t.inputs_done,
        cfg.inputs,
        cfg.seed,
        t.runs,
        cfg.commands
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", "),
        cfg.limits.timeout,
        cfg.limits.memory >> 20,
        cfg.jobs,
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "- peak RSS: {} MiB (input {}); mean {} MiB",
        t.peak_rss_kib >> 10,
        t.peak_rss_input,
        (t.rss_sum_kib / (t.runs.max(1) as u128)) >> 10
    );
    let _ = writeln!(
        s,
        "\n## Outcomes\n\n| class | {} |",
        cols(cfg, |c| c.name().to_string())
    );
    let _ = writeln!(s, "|---|{}", "---|".repeat(cfg.commands.len()));
    for class in Class::ALL {
        let _ = writeln!(
            s,
            "| {} | {} |",
            class.name(),
            cols(cfg, |c| t
                .counts
                .get(&(c, class))
                .copied()
                .unwrap_or(0)
                .to_string())
        );
    }
    let _ = writeln!(
        s,
        "| finished but over {:?} | {} |",
        cfg.slow,
        cols(cfg, |c| t
            .over_slow
            .get(&c)
            .copied()
            .unwrap_or(0)
            .to_string())
    );
    let _ = writeln!(
        s,
        "| control bytes on stderr | {} |",
        cols(cfg, |c| t
            .control_bytes
            .get(&c)
            .copied()
            .unwrap_or(0)
            .to_string())
    );
    let _ = writeln!(s, "\n## Failure groups\n");
    let _ = writeln!(
        s,
        "| runs | command | class | group | first input | kept | minimized |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    let mut groups: Vec<_> = t.groups.iter().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.count));
    for (key, g) in &groups {
        let kept = g.saved.first().map(|p| rel(cfg, p)).unwrap_or_default();
        let min = g
            .minimized
            .as_ref()
            .map(|(p, n)| format!("`{}` ({n} B)", rel(cfg, p)))
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | `{}` (+{}) | {} |",
            g.count,
            g.cmd.name(),
            g.class.name(),
            key.replace('|', "/"),
            g.first_input,
            kept,
            g.saved.len().saturating_sub(1),
            min
        );
    }
    let _ = writeln!(s, "\n### First standard error of each group\n");
    for (key, g) in &groups {
        let _ = writeln!(s, "**{key}**\n\n```text\n{}\n```\n", g.stderr.trim_end());
    }
    let _ = writeln!(
        s,
        "## Slowest runs\n\n| ms | input | command | class | bytes | seed | mutations |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for r in &t.slowest {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | `{}` | {} |",
            r.ms,
            r.input,
            r.cmd.name(),
            r.class.name(),
            r.size,
            r.seed,
            r.steps
        );
    }
    let _ = writeln!(
        s,
        "\n## Mutations (inputs using it × commands, of them failing)\n"
    );
    let mut steps: Vec<_> = t.by_step.iter().collect();
    steps.sort();
    for (name, (n, f)) in steps {
        let _ = writeln!(s, "- {name}: {n} runs, {f} failing");
    }
    s
}

fn cols(cfg: &Config, f: impl Fn(Cmd) -> String) -> String {
    cfg.commands
        .iter()
        .map(|&c| f(c))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn rel(cfg: &Config, p: &Path) -> String {
    p.strip_prefix(&cfg.out).unwrap_or(p).display().to_string()
}
