//! libFuzzer target: the pattern loader and compiler (`prism check`/`build` on a pattern
//! file). Text starting with `/**` is read as an annotated `.prism` pattern, anything else as a
//! YAML pattern or org chart, and also as an agents file. A plan, when there is one, is
//! written in every form `prism build --emit` offers; diagnostics are drawn as the terminal
//! would. Nothing may panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use prism_compiler::SourceFile;
use prism_compiler::agents_file;
use prism_compiler::diagnostic::render;
use prism_compiler::pattern::{CompileOptions, compile_file_with};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = if text.trim_start().starts_with("/**") {
        "fuzz.prism"
    } else {
        "fuzz.yaml"
    };
    let out = compile_file_with(Path::new(name), text, &CompileOptions::default());
    let file = SourceFile::new(name, text);
    let _ = render(&out.diagnostics, &file, false);
    if let Some(plan) = &out.plan {
        let _ = plan.to_json();
        let _ = plan.to_dot();
        let _ = plan.to_mermaid();
        let _ = plan.to_prism();
    }
    if name == "fuzz.yaml" {
        let diagnostics = agents_file::check(text);
        let _ = render(&diagnostics, &file, false);
    }
});
