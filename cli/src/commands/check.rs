//! `prism check`: report every diagnostic of the given files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use prism_compiler::SourceFile;

use crate::report::{EXIT_COMPILE, print_diagnostics};

/// Arguments of `prism check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `prism check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let mut errors = 0usize;
    let mut warnings = 0usize;
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                errors += 1;
                continue;
            }
        };
        let parsed = prism_compiler::parse(&text);
        let file = SourceFile::new(path.display().to_string(), text.as_str());
        print_diagnostics(&parsed.diagnostics, &file);
        errors += parsed.diagnostics.iter().filter(|d| d.is_error()).count();
        warnings += parsed.diagnostics.iter().filter(|d| !d.is_error()).count();
    }
    if errors > 0 {
        eprintln!("{errors} error(s), {warnings} warning(s)");
        ExitCode::from(EXIT_COMPILE)
    } else {
        if warnings > 0 {
            eprintln!("{warnings} warning(s)");
        }
        ExitCode::SUCCESS
    }
}
