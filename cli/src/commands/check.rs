//! `prism check`: report every diagnostic of the given files (programs and patterns).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use prism_compiler::pattern::CompileOptions;
use prism_license::License;

use super::compile::{Compiled, FileKind, collect_files, compile, strict_warnings};
use crate::format::{Format, diagnostic_github, diagnostic_json};
use crate::report::{EXIT_COMPILE, print_diagnostics};

/// Arguments of `prism check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Files and folders to check (folders are searched for .prism files, patterns and agents
    /// files). Default: the current folder.
    pub files: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also warn about names declared implicitly by assignment (`x = 1` without `let`), which
    /// the newest reference implementation rejects.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `prism check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let options = CompileOptions::from_env();
    let license = License::current();
    license.warn_once(&mut std::io::stderr());
    let mut errors = 0usize;
    let mut warnings = 0usize;
    let mut json = Vec::new();
    // Each file's unit is freed on another thread: freeing the syntax tree and the analysis
    // of a large file takes a tenth of the time it took to check it, and nothing waits for
    // the last one (the process exits, and the system takes the memory back at once).
    let (freed, to_free) = std::sync::mpsc::channel::<Compiled>();
    std::thread::spawn(move || to_free.into_iter().for_each(drop));
    let paths = if args.files.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.files.clone()
    };
    for (_, path) in collect_files(&paths) {
        let text = match prism_compiler::source::read_source(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                errors += 1;
                continue;
            }
        };
        let mut c = compile(&path, &text, &options, license);
        if args.strict && c.kind == FileKind::Program {
            c.diagnostics.extend(strict_warnings(&text));
            c.diagnostics.sort_by_key(|d| d.primary_span().start);
            c.recap();
        }
        match args.format {
            Format::Human => print_diagnostics(&c.diagnostics, &c.file),
            Format::Github => {
                for d in &c.diagnostics {
                    println!("{}", diagnostic_github(d, &c.file));
                }
            }
            Format::Json => json.extend(c.diagnostics.iter().map(|d| diagnostic_json(d, &c.file))),
        }
        errors += c.errors();
        warnings += c.warnings();
        // Dropped here when the thread is gone (it never is before the process ends).
        let _ = freed.send(c);
    }
    if args.format == Format::Json {
        println!("{}", serde_json::Value::Array(json));
    } else if errors > 0 {
        eprintln!("{errors} error(s), {warnings} warning(s)");
    } else if warnings > 0 {
        eprintln!("{warnings} warning(s)");
    }
    if errors > 0 {
        ExitCode::from(EXIT_COMPILE)
    } else {
        ExitCode::SUCCESS
    }
}
