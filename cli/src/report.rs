//! Drawing diagnostics and runtime errors on the terminal.

use std::io::IsTerminal;
use std::sync::OnceLock;

use prism_compiler::{Diagnostic, SourceFile, diagnostic::render};
use prism_interp::RuntimeError;

/// Exit code for a runtime error.
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code for a compile error or bad usage.
pub const EXIT_COMPILE: u8 = 2;

/// `--color`: when diagnostics are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`; `FORCE_COLOR` forces it.
    Auto,
    /// Always (also into files and pipes).
    Always,
    /// Never.
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Sets the `--color` choice (once, at start-up).
pub fn set_color(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// The decision for `choice`, given the environment and whether stderr is a terminal:
/// `always`/`never` win; for `auto`, a non-empty `NO_COLOR` turns colour off, then a
/// non-empty `FORCE_COLOR` decides (on, except `0`/`false`, as Node reads it), then
/// `TERM=dumb` turns it off, else a terminal decides (<https://no-color.org>, <https://force-color.org>).
pub fn decide(choice: ColorChoice, env: &dyn Fn(&str) -> Option<String>, terminal: bool) -> bool {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR").is_some() => false,
        ColorChoice::Auto if let Some(v) = set("FORCE_COLOR") => v != "0" && v != "false",
        ColorChoice::Auto if env("TERM").as_deref() == Some("dumb") => false,
        ColorChoice::Auto => terminal,
    }
}

/// True when diagnostics on stderr are coloured.
pub fn color() -> bool {
    let choice = CHOICE.get().copied().unwrap_or(ColorChoice::Auto);
    decide(
        choice,
        &|k| std::env::var(k).ok(),
        std::io::stderr().is_terminal(),
    )
}

/// True when stderr can take a live progress line (a terminal that is not `TERM=dumb`).
pub fn live_terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var("TERM").ok().as_deref() != Some("dumb")
}

/// The async runtime of a pattern run or `prism serve`; when it cannot start, says so and
/// gives the exit code.
pub fn async_runtime() -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::from(EXIT_RUNTIME)
        })
}

/// Prints diagnostics of one file to stderr.
pub fn print_diagnostics(diags: &[Diagnostic], file: &SourceFile) {
    if diags.is_empty() {
        return;
    }
    eprint!("{}", render(diags, file, color()));
}

/// Prints a runtime error with its span and call stack to stderr.
pub fn print_runtime_error(err: &RuntimeError, file: &SourceFile) {
    let mut diag = Diagnostic::error(
        "prism::runtime",
        err.report_message(),
        err.span.unwrap_or_default(),
    );
    if err.span.is_none() {
        diag.labels.clear();
    }
    if !err.stack.is_empty() {
        let mut help = String::from("call stack (innermost first):");
        for frame in err.stack.iter().take(8) {
            let (line, col) = file.line_col(frame.call_span.start);
            let where_ = if frame.file.is_empty() || *frame.file == *file.name {
                format!("{line}:{col}")
            } else {
                frame.file.clone()
            };
            help.push_str(&format!("\n  in {} called at {where_}", frame.name));
        }
        if err.stack.len() > 8 {
            help.push_str(&format!("\n  … {} more", err.stack.len() - 8));
        }
        diag = diag.with_help(help);
    }
    let same_file = err.file.as_deref().is_none_or(|f| f == &*file.name);
    if same_file {
        eprint!("{}", render(&[diag], file, color()));
    } else {
        // A standard module's source is inside the binary, not on disk.
        let text = err
            .file
            .as_deref()
            .and_then(|f| match f.strip_prefix("std/") {
                Some(name) => prism_compiler::stdlib::module_source(name).map(str::to_string),
                None => std::fs::read_to_string(f).ok(),
            })
            .unwrap_or_default();
        let other = SourceFile::new(err.file.clone().unwrap_or_default(), text);
        eprint!("{}", render(&[diag], &other, color()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_flag_then_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        use ColorChoice::*;
        assert!(decide(Always, &env(&[("NO_COLOR", "1")]), false));
        assert!(!decide(Never, &env(&[("FORCE_COLOR", "1")]), true));
        assert!(decide(Auto, &env(&[]), true));
        assert!(!decide(Auto, &env(&[]), false));
        assert!(!decide(Auto, &env(&[("NO_COLOR", "1")]), true));
        assert!(decide(Auto, &env(&[("NO_COLOR", "")]), true));
        assert!(decide(Auto, &env(&[("FORCE_COLOR", "1")]), false));
        assert!(!decide(Auto, &env(&[("FORCE_COLOR", "0")]), true));
        assert!(!decide(Auto, &env(&[("TERM", "dumb")]), true));
        assert!(decide(
            Auto,
            &env(&[("TERM", "dumb"), ("FORCE_COLOR", "1")]),
            false
        ));
    }
}
