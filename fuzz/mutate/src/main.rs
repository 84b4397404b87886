//! `prism-mutate`: a mutation fuzzer for the `prism` binary (issue 18).
//!
//! ```text
//! prism-mutate fuzz --prism target/release/prism [--seeds DIR]... [--inputs 20000] [--seed 1]
//!                   [--jobs 2] [--timeout 10] [--slow 5] [--memory 2048] [--max-bytes 1048576]
//!                   [--commands check,run] [--keep 5] [--no-minimize] [--out fuzz-out]
//! prism-mutate replay --prism BIN [--commands check,run] [--timeout 10] [--memory 2048] FILE...
//! prism-mutate pathological --prism BIN [--memory 2048] [--only NAME] [--depth 100000] [--out DIR]
//! prism-mutate generate [--depth N] DIR   # writes the pathological inputs without running them
//! prism-mutate corpus [--out fuzz/corpus]   # seeds the cargo-fuzz corpora from the repository
//! ```
//!
//! Without `--seeds`, the seeds are the repository's conformance programs, own conformance
//! cases, syntax tests, YAML pattern corpus, examples and standard library (run it from the
//! repository root).

mod campaign;
mod corpus;
mod exec;
mod minimize;
mod mutate;
mod pathological;
mod rng;
mod seeds;
mod spawner;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use campaign::{Cmd, Config};
use exec::Limits;

/// The seed folders used when none is given.
const DEFAULT_SEEDS: &[&str] = &[
    "tests/data/conformance",
    "tests/conformance-own",
    "tests/syntax",
    "tests/diagnostics",
    "tests/data/patterns",
    "examples",
    "stdlib",
];

const USAGE: &str =
    "usage: prism-mutate fuzz|replay|pathological|generate|corpus [options] (see fuzz/README.md)";

/// Command-line options, read by hand (`--name value` and flags).
struct Args {
    rest: Vec<String>,
}

impl Args {
    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.rest.iter().position(|a| a == name) else {
            return Ok(None);
        };
        if i + 1 >= self.rest.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.rest.remove(i + 1);
        self.rest.remove(i);
        Ok(Some(v))
    }

    fn values(&mut self, name: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        while let Some(v) = self.value(name)? {
            out.push(v);
        }
        Ok(out)
    }

    fn number<T: std::str::FromStr>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.value(name)? {
            Some(v) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
            None => Ok(default),
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    fn prism(&mut self) -> Result<PathBuf, String> {
        let p = PathBuf::from(
            self.value("--prism")?
                .unwrap_or_else(|| "target/release/prism".into()),
        );
        p.canonicalize()
            .map_err(|e| format!("--prism {}: {e}", p.display()))
    }

    fn limits(&mut self, default_secs: f64) -> Result<Limits, String> {
        Ok(Limits {
            timeout: Duration::from_secs_f64(self.number("--timeout", default_secs)?),
            memory: self.number::<u64>("--memory", 2048)? << 20,
        })
    }

    fn commands(&mut self) -> Result<Vec<Cmd>, String> {
        let list = self
            .value("--commands")?
            .unwrap_or_else(|| "check,run".into());
        list.split(',')
            .map(|c| Cmd::parse(c.trim()).ok_or_else(|| format!("--commands: unknown command {c}")))
            .collect()
    }

    fn finish(self) -> Result<Vec<String>, String> {
        if let Some(bad) = self.rest.iter().find(|a| a.starts_with("--")) {
            return Err(format!("unknown option {bad}"));
        }
        Ok(self.rest)
    }
}

fn main() -> ExitCode {
    let mut all: Vec<String> = std::env::args().skip(1).collect();
    if all.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let sub = all.remove(0);
    let result = match sub.as_str() {
        "fuzz" => fuzz(Args { rest: all }),
        "replay" => replay(Args { rest: all }),
        "pathological" => pathological(Args { rest: all }),
        "generate" => generate(Args { rest: all }),
        "corpus" => corpus(Args { rest: all }),
        "__spawner" => spawner::serve().map_err(|e| e.to_string()),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prism-mutate: {e}");
            ExitCode::from(2)
        }
    }
}

fn fuzz(mut a: Args) -> Result<(), String> {
    let prism = a.prism()?;
    let mut seed_dirs: Vec<PathBuf> = a
        .values("--seeds")?
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if seed_dirs.is_empty() || a.flag("--default-seeds") {
        seed_dirs.extend(DEFAULT_SEEDS.iter().map(PathBuf::from));
    }
    let cfg = Config {
        prism,
        seed_dirs,
        inputs: a.number("--inputs", 20_000)?,
        seed: a.number("--seed", 1)?,
        jobs: a.number::<usize>("--jobs", 2)?.max(1),
        slow: Duration::from_secs_f64(a.number("--slow", 5.0)?),
        limits: a.limits(10.0)?,
        commands: a.commands()?,
        max_len: a.number("--max-bytes", 1 << 20)?,
        keep: a.number("--keep", 5)?,
        minimize: !a.flag("--no-minimize"),
        out: PathBuf::from(a.value("--out")?.unwrap_or_else(|| "fuzz-out".into())),
    };
    a.finish()?;
    campaign::run(&cfg).map_err(|e| e.to_string())
}

fn replay(mut a: Args) -> Result<(), String> {
    let prism = a.prism()?;
    let limits = a.limits(10.0)?;
    let commands = a.commands()?;
    let files = a.finish()?;
    let mut spawner = spawner::Spawner::start().map_err(|e| e.to_string())?;
    println!("| file | command | outcome | status | time | peak RSS | stderr (start) |");
    println!("|---|---|---|---|---|---|---|");
    for f in files {
        let path = PathBuf::from(&f)
            .canonicalize()
            .map_err(|e| format!("{f}: {e}"))?;
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        for &cmd in &commands {
            let o = spawner
                .run(
                    &cmd.argv(&prism, &path),
                    &dir,
                    &campaign::child_env(&dir),
                    limits,
                )
                .map_err(|e| e.to_string())?;
            let class = exec::classify(&o);
            let mut err = exec::printable(&o.stderr, 120).replace('\n', "⏎");
            if exec::has_control_bytes(&o) {
                err.insert_str(0, "[control bytes] ");
            }
            println!(
                "| {f} | {} | {} | {:?} | {:.2} s | {} MiB | {} |",
                cmd.name(),
                class.name(),
                o.status,
                o.elapsed.as_secs_f64(),
                o.max_rss_kib >> 10,
                err
            );
        }
    }
    Ok(())
}

fn pathological(mut a: Args) -> Result<(), String> {
    let prism = a.prism()?;
    let memory = a.number::<u64>("--memory", 2048)? << 20;
    let only = a.value("--only")?.unwrap_or_default();
    let depth = a.number("--depth", pathological::DEPTH)?;
    let out = PathBuf::from(
        a.value("--out")?
            .unwrap_or_else(|| "pathological-out".into()),
    );
    a.finish()?;
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    pathological::run(&prism, &out, memory, &only, depth).map_err(|e| e.to_string())?;
    Ok(())
}

fn generate(mut a: Args) -> Result<(), String> {
    let depth = a.number("--depth", pathological::DEPTH)?;
    let rest = a.finish()?;
    let [dir] = rest.as_slice() else {
        return Err("generate [--depth N] DIR".into());
    };
    pathological::generate(&PathBuf::from(dir), 8080, depth).map_err(|e| e.to_string())
}

fn corpus(mut a: Args) -> Result<(), String> {
    let out = PathBuf::from(a.value("--out")?.unwrap_or_else(|| "fuzz/corpus".into()));
    a.finish()?;
    let report = corpus::seed(std::path::Path::new("."), &out).map_err(|e| e.to_string())?;
    for (target, files, bytes) in report {
        println!("{target}: {files} new files, {bytes} bytes");
    }
    Ok(())
}
