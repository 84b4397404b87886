//! Formatter tests: layout rules, comments, and the round trip over the conformance suite.

use std::path::{Path, PathBuf};

use super::{FormatOptions, format, format_with};

fn fmt(src: &str) -> String {
    match format(src) {
        Ok(s) => s,
        Err(d) => panic!("refused: {d:?}\n{src}"),
    }
}

/// The syntax tree of `src` as text, with every span blanked out.
fn tree(src: &str) -> String {
    let parsed = crate::parse(src);
    let text = format!("{:#?}", parsed.program.stmts);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let close = after.find('}').map_or(after.len(), |c| c + 1);
        out.push_str("Span");
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// Formats `src` and checks the two promises: same tree, and a fixed point.
fn check_round_trip(name: &str, src: &str) -> Result<(), String> {
    let once = format(src).map_err(|d| format!("{name}: refused: {d:?}"))?;
    let parsed = crate::parse(&once);
    if parsed.has_errors() {
        return Err(format!(
            "{name}: formatted text does not parse: {:?}\n{once}",
            parsed.diagnostics
        ));
    }
    if tree(src) != tree(&once) {
        return Err(format!("{name}: the tree changed\n--- formatted:\n{once}"));
    }
    let twice = format(&once).map_err(|d| format!("{name}: second pass refused: {d:?}"))?;
    if twice != once {
        return Err(format!(
            "{name}: not idempotent\n--- once:\n{once}\n--- twice:\n{twice}"
        ));
    }
    let narrow = format_with(
        src,
        FormatOptions {
            width: 30,
            indent: 2,
        },
    )
    .map_err(|d| format!("{name}: refused at width 30: {d:?}"))?;
    if tree(src) != tree(&narrow) {
        return Err(format!("{name}: the tree changed at width 30\n{narrow}"));
    }
    let narrow_twice = format_with(
        &narrow,
        FormatOptions {
            width: 30,
            indent: 2,
        },
    )
    .map_err(|d| format!("{name}: refused at width 30: {d:?}"))?;
    if narrow_twice != narrow {
        return Err(format!(
            "{name}: not idempotent at width 30\n{narrow}\n---\n{narrow_twice}"
        ));
    }
    if comment_count(src) != comment_count(&once) {
        return Err(format!("{name}: comments lost\n{once}"));
    }
    Ok(())
}

fn comment_count(src: &str) -> usize {
    crate::comments::comments(src).len()
}

fn prism_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            prism_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "prism") {
            out.push(p);
        }
    }
}

#[test]
fn conformance_files_keep_their_tree_and_are_a_fixed_point() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/conformance");
    let mut files = Vec::new();
    prism_files(&root, &mut files);
    assert!(
        !files.is_empty(),
        "no conformance files under {}",
        root.display()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        if crate::parse(&src).has_errors() {
            continue;
        }
        checked += 1;
        if let Err(e) = check_round_trip(&f.display().to_string(), &src) {
            failures.push(e);
        }
    }
    assert!(checked > 100, "only {checked} files parsed");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn spacing_around_confidence_operators() {
    assert_eq!(
        fmt("let a=1~>0.9\nlet b=a~+2~&&c~??d"),
        "let a = 1 ~> 0.9\nlet b = a ~+ 2 ~&& c ~?? d\n"
    );
    // The documents write `<~ x`; so does the formatter.
    assert_eq!(
        fmt("print(<~x, <~ (a ~> 0.5), <~\"sun\")"),
        "print(<~ x, <~ (a ~> 0.5), <~ \"sun\")\n"
    );
}

#[test]
fn broken_lists_have_no_trailing_comma() {
    let src = "let reviews = [{agentId: \"senior\", result: \"reject\", confidence: 0.9}, {agentId: \"junior\", result: \"approve\", confidence: 0.6}]\n";
    assert_eq!(
        fmt(src),
        "let reviews = [\n  {agentId: \"senior\", result: \"reject\", confidence: 0.9},\n  {agentId: \"junior\", result: \"approve\", confidence: 0.6}\n]\n"
    );
}

fn testdata(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/format/testdata")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn snapshot_comments_and_layout() {
    let src = testdata("comments.prism");
    if let Err(e) = check_round_trip("comments.prism", &src) {
        panic!("{e}");
    }
    insta::assert_snapshot!("comments", fmt(&src));
}

#[test]
fn snapshot_real_programs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (name, rel) in [
        ("confidence_tour", "examples/confidence_tour.prism"),
        (
            "uncertainty_router",
            "examples/patterns/uncertainty-router.prism",
        ),
    ] {
        let Ok(src) = std::fs::read_to_string(root.join(rel)) else {
            continue;
        };
        if let Err(e) = check_round_trip(rel, &src) {
            panic!("{e}");
        }
        insta::assert_snapshot!(name, fmt(&src));
    }
}

/// Each case must keep its tree and be a fixed point; the expected text is checked too.
#[test]
fn tricky_layouts_keep_their_meaning() {
    let cases: &[(&str, &str)] = &[
        (
            "function f() {\n  return;\n  (x)\n}",
            "function f() {\n  return;\n  x\n}\n",
        ),
        (
            "f()\n;(g || h)()\nlet q = 1\n;[q].map(print)",
            "f();\n(g || h)()\nlet q = 1;\n[q].map(print)\n",
        ),
        ("let f = x => ({a: 1})", "let f = x => ({a: 1})\n"),
        (
            "function f() { return ({a: 1}) }\nfunction g() { return ({a: 1}).a }",
            "function f() {\n  return {a: 1}\n}\nfunction g() {\n  return {a: 1}.a\n}\n",
        ),
        ("import { a,b } from \"m\"", "import {a, b} from \"m\"\n"),
        (
            "let n = - -x\nlet m = ~ -x\nlet k = -(-2) ** 2",
            "let n = - -x\nlet m = ~ -x\nlet k = - -2 ** 2\n",
        ),
        ("[a, b] ~> 0.7 = pair", "[a, b] ~> 0.7 = pair\n"),
        (
            "{a: a = 1, b: c ~> 0.5} = o",
            "{a: a = 1, b: c ~> 0.5} = o\n",
        ),
        (
            "uncertain while (c) { high { go() } default { break } }",
            "uncertain while (c) {\n  high { go() }\n  default { break }\n}\n",
        ),
        (
            "for x, i in xs { print(x) }",
            "for x, i in xs {\n  print(x)\n}\n",
        ),
        (
            "for (const x of xs) print(x)",
            "for (const x of xs) print(x)\n",
        ),
        (
            "if x > 1 { a() } else if y { b() } else c()",
            "if (x > 1) {\n  a()\n} else if (y) {\n  b()\n} else c()\n",
        ),
        (
            "let v = (a ~> 0.5) ~> 0.6\nlet w = (a ~~ b) ~> 0.2",
            "let v = (a ~> 0.5) ~> 0.6\nlet w = (a ~~ b) ~> 0.2\n",
        ),
        ("let h = [1, , 3, ,]", "let h = [1, , 3, ,]\n"),
        (
            "print(match ([1, 2]) { [a, b] => a, _ => 0 })",
            "print(match ([1, 2]) {\n  [a, b] => a,\n  _ => 0\n})\n",
        ),
        ("x = a |> f(_, 1) ~|> g", "x = a |> f(_, 1) ~|> g\n"),
        (
            "let s = 1 ~||> 2 ~@> (3 ~?? 4) ~|| 5",
            "let s = 1 ~||> 2 ~@> 3 ~?? 4 ~|| 5\n",
        ),
    ];
    for (src, want) in cases {
        if let Err(e) = check_round_trip(src, src) {
            panic!("{e}");
        }
        assert_eq!(&fmt(src), want, "formatting {src:?}");
    }
}

#[test]
fn files_with_syntax_errors_are_refused() {
    let err = format("let = 1\nprint((").expect_err("refused");
    assert!(err.len() >= 2, "{err:?}");
}

#[test]
fn long_lines_break_at_the_width() {
    let src = "let total = firstValue ~+ secondValue ~+ thirdValue ~+ fourthValue ~+ fifthValue ~+ sixthValue ~+ seventhValue\n";
    let out = fmt(src);
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    assert!(out.lines().count() > 2, "{out}");
}
