//! `prism fmt`: format Prism files in place, check that they are formatted, or format stdin.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use prism_compiler::SourceFile;
use prism_compiler::format::format;

use super::compile::{is_yaml, walk};
use crate::report::{EXIT_COMPILE, print_diagnostics};

/// Arguments of `prism fmt`.
#[derive(Args)]
pub struct FmtArgs {
    /// Prism files and folders to format (folders are searched for .prism files; YAML is
    /// refused); `-` formats standard input to standard output. Default: the current folder.
    pub paths: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

/// Runs `prism fmt`.
pub fn run(args: FmtArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    if paths.iter().any(|p| p.as_os_str() == "-") {
        if paths.len() > 1 {
            eprintln!("error: `-` (standard input) cannot be combined with files");
            return ExitCode::from(EXIT_COMPILE);
        }
        return stdin(args.check);
    }
    let mut files = Vec::new();
    for p in &paths {
        if p.is_dir() {
            walk(p, &|_, name| name.ends_with(".prism"), &mut files);
        } else if is_yaml(p) {
            eprintln!(
                "error: {} is YAML; `prism fmt` formats Prism source (.prism files) only, and leaves YAML patterns and agents files as written",
                p.display()
            );
            return ExitCode::from(EXIT_COMPILE);
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let mut failed = false;
    let mut unformatted = 0usize;
    for path in &files {
        match format_file(path, args.check) {
            Ok(true) => {
                unformatted += 1;
                if args.check {
                    println!("{}", path.display());
                }
            }
            Ok(false) => {}
            Err(()) => failed = true,
        }
    }
    if failed {
        ExitCode::from(EXIT_COMPILE)
    } else if args.check && unformatted > 0 {
        eprintln!("{unformatted} file(s) would be reformatted");
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Formats one file; `Ok(true)` when its text changes (or would change with `check`).
fn format_file(path: &Path, check: bool) -> Result<bool, ()> {
    let text = prism_compiler::source::read_source(path).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", path.display());
    })?;
    let formatted = match format(&text) {
        Ok(f) => f,
        Err(diags) => {
            print_diagnostics(&diags, &SourceFile::new(path.display().to_string(), text));
            eprintln!("error: {} has syntax errors; not formatted", path.display());
            return Err(());
        }
    };
    if formatted == text {
        return Ok(false);
    }
    if !check {
        std::fs::write(path, &formatted).map_err(|e| {
            eprintln!("error: cannot write {}: {e}", path.display());
        })?;
    }
    Ok(true)
}

/// `prism fmt -`: standard input to standard output.
fn stdin(check: bool) -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error: cannot read standard input: {e}");
        return ExitCode::from(EXIT_COMPILE);
    }
    match format(&text) {
        Ok(formatted) if check => {
            if formatted == text {
                ExitCode::SUCCESS
            } else {
                println!("<stdin>");
                ExitCode::from(1)
            }
        }
        Ok(formatted) => {
            let mut out = std::io::stdout();
            if out
                .write_all(formatted.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::from(EXIT_COMPILE);
            }
            ExitCode::SUCCESS
        }
        Err(diags) => {
            print_diagnostics(&diags, &SourceFile::new("<stdin>", text));
            ExitCode::from(EXIT_COMPILE)
        }
    }
}
