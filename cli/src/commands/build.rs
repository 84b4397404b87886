//! `prism build`: compile programs and patterns, report every diagnostic, and emit plans.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use prism_compiler::pattern::CompileOptions;
use prism_compiler::plan::Plan;
use prism_license::License;

use super::compile::{Compiled, FileKind, collect_files, compile};
use crate::format::{Format, diagnostic_github, diagnostic_json};
use crate::report::{EXIT_COMPILE, print_diagnostics};

/// What `--emit` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The plan as versioned JSON (`.plan.json`).
    Json,
    /// Graphviz source (`.dot`).
    Dot,
    /// Mermaid flowchart source (`.mmd`).
    Mermaid,
    /// Readable Prism source of the pattern (`.prism`).
    Prism,
}

impl Emit {
    fn extension(self) -> &'static str {
        match self {
            Emit::Json => "plan.json",
            Emit::Dot => "dot",
            Emit::Mermaid => "mmd",
            Emit::Prism => "gen.prism",
        }
    }

    fn render(self, plan: &Plan) -> String {
        match self {
            Emit::Json => plan.to_json(),
            Emit::Dot => plan.to_dot(),
            Emit::Mermaid => plan.to_mermaid(),
            Emit::Prism => plan.to_prism(),
        }
    }
}

/// Arguments of `prism build`.
#[derive(Args)]
pub struct BuildArgs {
    /// Files and folders to compile (folders are searched for .prism files, patterns and
    /// agents files; other YAML is skipped). Default: the current folder.
    pub paths: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write each plan in this form.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// Folder for emitted files (default: standard output for a single file).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folders searched for `pattern:` references (before PRISM_PATTERNS_PATH).
    #[arg(long = "patterns", value_name = "DIR")]
    pub patterns: Vec<PathBuf>,
    /// Agents file whose declared confidences (`confidence:` or `respond.confidence`) the
    /// static confidence estimate assumes (default: lower 0, expected 0.7).
    #[arg(long, value_name = "FILE")]
    pub agents: Option<PathBuf>,
}

/// A file's folder argument, its path, and what compiling it gave.
type Built = (PathBuf, PathBuf, Compiled);

/// Runs `prism build`.
pub fn run(args: BuildArgs) -> ExitCode {
    let started = Instant::now();
    let options = match compile_options(&args) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    let files = match files_to_build(&args) {
        Ok(files) => files,
        Err(code) => return code,
    };

    let (results, mut io_errors) = compile_all(&files, &options, license);
    let json_out = report_diagnostics(&results, args.format);
    let emitted = match args.emit {
        Some(emit) => {
            let (emitted, failed) = emit_plans(&results, emit, args.out.as_deref());
            io_errors += failed;
            emitted
        }
        None => 0,
    };

    let errors: usize = results.iter().map(|(_, _, c)| c.errors()).sum::<usize>() + io_errors;
    let warnings: usize = results.iter().map(|(_, _, c)| c.warnings()).sum();
    let plans = results.iter().filter(|(_, _, c)| c.plan.is_some()).count();
    if args.format == Format::Json {
        let doc = serde_json::json!({
            "files": json_out,
            "errors": errors,
            "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        summary(&results, plans, emitted, errors, warnings, started);
    }
    if errors > 0 {
        ExitCode::from(EXIT_COMPILE)
    } else {
        ExitCode::SUCCESS
    }
}

/// The compile options of the environment, with `--patterns` folders first and the confidences
/// of `--agents`; the exit code if the agents file cannot be loaded (reported).
fn compile_options(args: &BuildArgs) -> Result<CompileOptions, ExitCode> {
    let mut options = CompileOptions::from_env();
    let mut dirs = args.patterns.clone();
    dirs.append(&mut options.pattern_dirs);
    options.pattern_dirs = dirs;
    if let Some(file) = &args.agents {
        match prism_agents::load_agents_file(file) {
            Ok(set) => options.agent_confidence = set.declared_confidence(),
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return Err(ExitCode::from(EXIT_COMPILE));
            }
        }
    }
    Ok(options)
}

/// The files the paths (default `.`) name, each with its folder argument; the exit code if
/// there are none, or several with `--emit` and no `--out` (reported).
fn files_to_build(args: &BuildArgs) -> Result<Vec<(PathBuf, PathBuf)>, ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let files = collect_files(&paths);
    if files.is_empty() {
        eprintln!("error: no .prism, .yaml or .yml files found");
        return Err(ExitCode::from(EXIT_COMPILE));
    }
    if args.emit.is_some() && args.out.is_none() && files.len() > 1 {
        eprintln!("error: --emit with several files needs --out DIR");
        return Err(ExitCode::from(EXIT_COMPILE));
    }
    Ok(files)
}

/// Compiles every file that can be read; the results and how many could not be read
/// (reported).
fn compile_all(
    files: &[(PathBuf, PathBuf)],
    options: &CompileOptions,
    license: &License,
) -> (Vec<Built>, usize) {
    let mut results = Vec::with_capacity(files.len());
    let mut io_errors = 0usize;
    for (base, path) in files {
        match prism_compiler::source::read_source(path) {
            Ok(text) => results.push((
                base.clone(),
                path.clone(),
                compile(path, &text, options, license),
            )),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                io_errors += 1;
            }
        }
    }
    (results, io_errors)
}

/// Prints each file's diagnostics in the human or GitHub form; for JSON, returns each file's
/// entry instead (printed with the totals).
fn report_diagnostics(results: &[Built], format: Format) -> Vec<serde_json::Value> {
    let mut json_out = Vec::new();
    for (_, _, c) in results {
        match format {
            Format::Human => print_diagnostics(&c.diagnostics, &c.file),
            Format::Github => {
                for d in &c.diagnostics {
                    println!("{}", diagnostic_github(d, &c.file));
                }
            }
            Format::Json => json_out.push(serde_json::json!({
                "file": &*c.file.name,
                "kind": match c.kind {
                    FileKind::Program => "program",
                    FileKind::Pattern => "pattern",
                    FileKind::Agents => "agents",
                },
                "ok": c.errors() == 0,
                "plan": c.plan.as_ref().map(|p| p.hash()),
                "diagnostics": c.diagnostics.iter().map(|d| diagnostic_json(d, &c.file)).collect::<Vec<_>>(),
            })),
        }
    }
    json_out
}

/// Writes each plan in the `emit` form, into `out` or to standard output; how many files were
/// written and how many could not be (reported).
fn emit_plans(results: &[Built], emit: Emit, out: Option<&Path>) -> (usize, usize) {
    let (mut emitted, mut failed) = (0usize, 0usize);
    for (base, path, c) in results {
        let Some(plan) = &c.plan else { continue };
        let text = emit.render(plan);
        match out {
            None => print!("{text}"),
            Some(out) => match write_emitted(out, base, path, emit, &text) {
                Ok(()) => emitted += 1,
                Err(e) => {
                    eprintln!("error: cannot write into {}: {e}", out.display());
                    failed += 1;
                }
            },
        }
    }
    (emitted, failed)
}

fn summary(
    results: &[Built],
    plans: usize,
    emitted: usize,
    errors: usize,
    warnings: usize,
    started: Instant,
) {
    let count = |kind| results.iter().filter(|(_, _, c)| c.kind == kind).count();
    let programs = count(FileKind::Program);
    let agents = match count(FileKind::Agents) {
        0 => String::new(),
        n => format!(", {n} agents file(s)"),
    };
    let mut line = format!(
        "checked {} file(s): {plans} plan(s), {programs} program(s){agents}; {errors} error(s), {warnings} warning(s)",
        results.len()
    );
    if emitted > 0 {
        line.push_str(&format!("; wrote {emitted} file(s)"));
    }
    line.push_str(&format!(" in {} ms", started.elapsed().as_millis()));
    eprintln!("{line}");
}

fn write_emitted(
    out: &Path,
    base: &Path,
    path: &Path,
    emit: Emit,
    text: &str,
) -> std::io::Result<()> {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let stem = rel.with_extension("");
    let target = out.join(format!("{}.{}", stem.display(), emit.extension()));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(target, text)
}
