//! `prism run`: run a program.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use prism_compiler::driver::{FileKind, kind_of};
use std::time::Duration;

use prism_interp::{Interpreter, Options, RunLimits, run_with_large_stack};

use crate::report::{EXIT_COMPILE, EXIT_RUNTIME, print_diagnostics, print_runtime_error};

/// Arguments of `prism run`.
#[derive(Args)]
pub struct RunArgs {
    /// The program or pattern to run, `-` for a program on standard input, or a published
    /// pattern `NAME@VERSION|RANGE` (`NAME`: its active version).
    #[arg(required_unless_present = "eval")]
    pub file: Option<PathBuf>,
    /// Run this code instead of a file.
    #[arg(
        short = 'e',
        long = "eval",
        value_name = "CODE",
        conflicts_with = "file"
    )]
    pub eval: Option<String>,
    /// Stop a program after this many steps (loop iterations and calls).
    #[arg(long = "max-steps", value_name = "N")]
    pub max_steps: Option<u64>,
    /// Stop a program once the process holds more than this much memory, in MiB (Linux).
    #[arg(long = "max-memory", value_name = "MIB")]
    pub max_memory: Option<u64>,
    /// Pattern options (YAML and annotated `.prism` patterns); `--timeout` also bounds a
    /// program.
    #[command(flatten)]
    pub pattern: super::run_pattern::PatternArgs,
}

impl RunArgs {
    /// The limits of a program run: `--timeout`, `--max-steps`, `--max-memory`.
    fn limits(&self) -> RunLimits {
        RunLimits {
            max_steps: self.max_steps,
            timeout: self.pattern.timeout.map(Duration::from_millis),
            max_memory: self.max_memory.map(|m| m.saturating_mul(1 << 20)),
            ..RunLimits::default()
        }
    }
}

/// Runs `prism run`.
pub fn run(args: RunArgs) -> ExitCode {
    let (name, text) = match (&args.eval, &args.file) {
        (Some(code), _) => ("<eval>".to_string(), code.clone()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            if args.pattern.input.as_deref() == Some("@-") {
                eprintln!(
                    "error: `prism run -` reads the program from standard input, so `--input @-` cannot read the input from it too"
                );
                return ExitCode::from(EXIT_COMPILE);
            }
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(EXIT_COMPILE);
            }
            ("<stdin>".to_string(), text)
        }
        (None, Some(path)) => match prism_compiler::source::read_source(path) {
            Ok(t) => match kind_of(path, &t) {
                FileKind::Pattern => {
                    return super::run_pattern::run_pattern(path, &t, &args.pattern);
                }
                FileKind::Agents => {
                    eprintln!(
                        "error: {} is an agents file: run a pattern with it (`prism run PATTERN --agents {}`), or check it with `prism check`",
                        path.display(),
                        path.display()
                    );
                    return ExitCode::from(EXIT_COMPILE);
                }
                FileKind::Program => (path.display().to_string(), t),
            },
            Err(e) => {
                // `NAME@VERSION|RANGE`, or a bare `NAME`: a published pattern (versioning).
                let arg = path.to_string_lossy();
                if let Some((name, spec)) = super::pattern_store::parse_ref(&arg) {
                    return super::run_pattern::run_stored(name, Some(spec), &args.pattern);
                }
                if super::pattern_store::is_bare_name(&arg)
                    && let Some(code) =
                        super::run_pattern::run_active_if_published(&arg, &args.pattern)
                {
                    return code;
                }
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(EXIT_COMPILE);
            }
        },
        (None, None) => {
            eprintln!("error: give a file to run or -e CODE");
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    run_source(&name, &text, args.limits())
}

/// Compiles (once, through the driver) and runs one program; the exit code says how it went.
/// Only errors are shown before running; `prism check` shows the warnings too.
pub fn run_source(name: &str, text: &str, limits: RunLimits) -> ExitCode {
    let unit = prism_compiler::driver::compile_program(name, text);
    let errors: Vec<_> = unit
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    print_diagnostics(&errors, &unit.file);
    let (false, Some(program)) = (unit.has_errors(), unit.program.clone()) else {
        return ExitCode::from(EXIT_COMPILE);
    };
    let file = unit.file.clone();
    let failed = run_with_large_stack(|| {
        let mut interp = Interpreter::new(Options {
            limits,
            ..Options::default()
        });
        let outcome = interp.run_program(&program, &file);
        // Flush the program's output before the error report.
        drop(interp);
        match outcome {
            Ok(_) => false,
            Err(err) => {
                print_runtime_error(&err, &file);
                true
            }
        }
    });
    if failed {
        ExitCode::from(EXIT_RUNTIME)
    } else {
        ExitCode::SUCCESS
    }
}
