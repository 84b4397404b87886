//! libFuzzer target: the lexer and parser accept any bytes without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let parsed = prism_compiler::parse(src);
        for d in &parsed.diagnostics {
            assert!(d.primary_span().end as usize <= src.len() + 1);
        }
        let _ = prism_compiler::parse_expression(src);
    }
});
