//! Drawing diagnostics and runtime errors on the terminal.

use std::io::IsTerminal;

use prism_compiler::{Diagnostic, SourceFile, diagnostic::render};
use prism_runtime::RuntimeError;

/// Exit code for a runtime error.
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code for a compile error or bad usage.
pub const EXIT_COMPILE: u8 = 2;

/// True when stderr is a terminal and colour is not disabled.
pub fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
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
        err.message.clone(),
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
                Some(name) => prism_stdlib::module_source(name).map(str::to_string),
                None => std::fs::read_to_string(f).ok(),
            })
            .unwrap_or_default();
        let other = SourceFile::new(err.file.clone().unwrap_or_default(), text);
        eprint!("{}", render(&[diag], &other, color()));
    }
}
