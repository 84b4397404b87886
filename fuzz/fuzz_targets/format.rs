//! libFuzzer target: `prism fmt`. Formatting never panics; what it prints parses without
//! errors and formats to itself (the formatter is idempotent, as `prism fmt --check` assumes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use prism_compiler::format::format;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(once) = format(text) else {
        return;
    };
    let reparsed = prism_compiler::parse(&once);
    assert!(
        !reparsed.has_errors(),
        "formatted output does not parse: {:?}\n--- input\n{text}\n--- output\n{once}",
        reparsed.diagnostics
    );
    match format(&once) {
        Ok(twice) => assert_eq!(once, twice, "formatting is not idempotent"),
        Err(d) => panic!("formatted output is refused: {d:?}"),
    }
});
