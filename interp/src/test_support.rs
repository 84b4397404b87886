//! Helpers for unit tests: run Prism source and capture what it prints.

use crate::{CaptureOutput, Interpreter, Options};

/// Runs `source` and returns its stdout; an uncaught error appends `ERROR: <message>`.
pub(crate) fn run(source: &str) -> String {
    run_with(source, false)
}

/// Runs `source` on both evaluators (slot frames, and the tree walker alone), checks that
/// they print the same, and returns what they print.
pub(crate) fn run_both(source: &str) -> String {
    let slots = run_with(source, false);
    let tree = run_with(source, true);
    assert_eq!(slots, tree, "the evaluators differ on:\n{source}");
    slots
}

fn run_with(source: &str, tree_walker: bool) -> String {
    let source = source.to_string();
    crate::run_with_large_stack(move || {
        let parsed = prism_compiler::parse(&source);
        let file = prism_compiler::SourceFile::new("test.prism", source.as_str());
        let capture = CaptureOutput::new();
        let mut interp = Interpreter::new(Options {
            output: Box::new(capture.clone()),
            ..Options::default()
        });
        interp.tree_walker = tree_walker;
        let mut out = String::new();
        if let Some(d) = parsed.diagnostics.iter().find(|d| d.is_error()) {
            return format!("ERROR: {}\n", d.message);
        }
        let result = interp.run_program(&parsed.program, &file);
        out.push_str(&capture.stdout_text());
        if let Err(e) = result {
            out.push_str(&format!("ERROR: {e}\n"));
        }
        out
    })
}
