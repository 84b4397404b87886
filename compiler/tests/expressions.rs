//! Every YAML expression is compiled at check time as the executor will read it: a `$` that
//! starts no reference (`output: {v: "$(1)"}`), which the executor would read as a name of
//! its own and fail on at run time, is a check-time error with a span on the `$`.

use prism_compiler::pattern::compile_file;
use prism_compiler::span::Span;

fn pattern(output: &str) -> String {
    format!("name: p\ninput: {{}}\nagents:\n  capabilities: [x]\n  min: 1\noutput: {output}\n")
}

#[test]
fn a_dollar_that_starts_no_reference_is_an_error_where_it_is() {
    for (output, marker) in [
        (r#"{v: "$(1)"}"#, "$("),
        (r#"{v: "$input.x + $1"}"#, "$1"),
        (r#"{v: "$input.x + $"}"#, "$\""),
        (r#"{v: "$.a"}"#, "$."),
        ("{v: {$template: 'n={{ $(2) }}'}}", "$(2"),
        (r#"{v: {$formula: "$(3)"}}"#, "$(3"),
    ] {
        let text = pattern(output);
        let out = compile_file("p.yaml", &text);
        let found: Vec<_> = out
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("starts no reference"))
            .collect();
        assert_eq!(found.len(), 1, "{output}: {:?}", out.diagnostics);
        let d = found[0];
        assert!(d.is_error());
        assert_eq!(d.code, "prism::pattern::unknown-ref");
        let at = text.find(marker).unwrap_or_default();
        assert_eq!(d.primary_span(), Span::new(at, at + 1), "{output}");
        assert!(out.plan.is_none(), "{output}: a plan despite the error");
    }
}

#[test]
fn names_with_dollars_strings_and_escaped_literals_pass() {
    for output in [
        r#"{v: "$input.a$b"}"#,
        r#"{v: "$input.x + '$('"}"#,
        r#"{v: "$$(literal)"}"#,
        r#"{v: "price: $5"}"#,
    ] {
        let text = pattern(output);
        let out = compile_file("p.yaml", &text);
        assert!(
            out.diagnostics.iter().all(|d| !d.is_error()),
            "{output}: {:?}",
            out.diagnostics
        );
    }
}

/// An expression the YAML scanner cannot place in the file (written with escapes) is still
/// checked, against the whole scalar.
#[test]
fn an_escaped_scalar_is_checked_too() {
    let text = pattern(r#"{v: "$input.x \u002B\u002B \u0029"}"#);
    let out = compile_file("p.yaml", &text);
    let errors: Vec<_> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(!errors.is_empty(), "{:?}", out.diagnostics);
    let start = text.find("\"$input").unwrap_or_default();
    assert!(
        errors
            .iter()
            .all(|d| d.primary_span().start as usize >= start),
        "{errors:?}"
    );
}
