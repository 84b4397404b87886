//! libFuzzer target: what `prism check` does with a program — parse with recovery, early
//! checks, name analysis and lints (the compiler's name analysis), `--strict` warnings —
//! then draws every diagnostic as the terminal would. Nothing may panic, and every label must
//! lie inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prism_compiler::SourceFile;
use prism_compiler::diagnostic::render;
use prism_compiler::analysis::Analysis;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let analysis = Analysis::new(text);
    let mut diagnostics = analysis.diagnostics();
    diagnostics.extend(analysis.implicit_declarations());
    for d in &diagnostics {
        for label in &d.labels {
            assert!(label.span.start <= label.span.end, "{d:?}");
            assert!(label.span.end as usize <= text.len() + 1, "{d:?}");
        }
    }
    let file = SourceFile::new("fuzz.prism", text);
    let _ = render(&diagnostics, &file, false);
});
