//! Tests of name resolution and lints.

use super::*;

fn lint_codes(src: &str) -> Vec<(&'static str, String)> {
    Analysis::new(src)
        .lints
        .iter()
        .map(|d| (d.code, d.message.clone()))
        .collect()
}

#[test]
fn assignment_declares_and_blocks_do_not_hide_it() {
    let src = "if (true) { x = 1 } else { x = 2 }\nprint(x)\nfor i = 0; i < 3; i++ { print(i) }\n";
    assert_eq!(lint_codes(src), vec![]);
}

#[test]
fn undefined_names_are_reported_once_each() {
    let l = lint_codes("print(y)\nfunction f(a) { return a + z }\nf(1)\n");
    let undefined: Vec<_> = l.iter().filter(|d| d.0 == codes::UNDEFINED).collect();
    assert_eq!(undefined.len(), 2, "{l:?}");
}

#[test]
fn hoisted_functions_params_imports_and_builtins_are_defined() {
    let src = "import {a, b as c} from \"./m.prism\"\nprint(g(a, c), Math.max(1, 2), input)\nfunction g(p, q) { return p ~+ q }\n";
    assert_eq!(lint_codes(src), vec![]);
}

#[test]
fn builtin_arity_and_unused_variables() {
    let l =
        lint_codes("let unused = 1\nlet used = map([1])\nprint(used, JSON.parse(\"1\", 2, 3))\n");
    let codes_only: Vec<_> = l.iter().map(|d| d.0).collect();
    assert_eq!(
        codes_only,
        vec![codes::UNUSED, codes::ARITY, codes::ARITY],
        "{l:?}"
    );
    assert!(l[1].1.contains("`map` takes 2 arguments, found 1"), "{l:?}");
}

#[test]
fn shadowed_builtins_are_not_checked() {
    assert_eq!(
        lint_codes("function map(x) { return x }\nprint(map(1))\n"),
        vec![]
    );
}

#[test]
fn occurrences_link_uses_to_declarations() {
    let src = "let total = 1\nfunction f(n) { return n + total }\nprint(f(total))\n";
    let a = Analysis::new(src);
    let at = src.rfind("total").unwrap_or(0);
    let occ = a.occurrence_at(at).expect("an occurrence");
    let Target::Symbol(id) = occ.target else {
        panic!("not a symbol: {occ:?}")
    };
    assert_eq!(a.symbols[id].span.start, 4);
    assert_eq!(a.occurrences_of(id).count(), 3);
}

#[test]
fn static_confidence_hints() {
    let src = "let a = 1 ~> 0.9\nlet b = 2 ~> 0.6\na + b\nlet c = a ~|| b\nprint(1 + 2)\n";
    let a = Analysis::new(src);
    let hints: Vec<(usize, String)> = confidence_hints(&a)
        .iter()
        .map(|h| (h.offset, format!("{:.2}", h.confidence)))
        .collect();
    let ab = src.find("a + b").unwrap_or(0) + 5;
    assert!(hints.contains(&(ab, "0.60".to_string())), "{hints:?}");
    assert!(hints.iter().any(|h| h.1 == "0.90" && h.0 > ab), "{hints:?}");
    assert_eq!(hints.len(), 2, "{hints:?}");
}

#[test]
fn names_survive_an_unrecoverable_error_at_the_end() {
    let src = "let config = {mode: \"fast\", retries: 3}\nprint(config.mode)\nconfig.\nMath.\n";
    let a = Analysis::new(src);
    assert!(!a.syntax.is_empty());
    let at = src.rfind("config.").unwrap_or(0);
    let ids = a.visible_at(at);
    assert_eq!(ids.len(), 1, "{:?}", a.symbols);
    assert_eq!(a.symbols[ids[0]].keys.len(), 2);
}

#[test]
fn strict_reports_each_implicit_declaration_once() {
    let a = Analysis::new(
        "let a = 1\na = 2\nresults = [a]\nif (true) { total = 1 } else { total = 2 }\nfunction f(p) { p = 3; inner = p; return inner }\nprint(results, total, f(1))\n",
    );
    let names: Vec<String> = a
        .implicit_declarations()
        .iter()
        .map(|d| {
            assert_eq!(d.code, codes::IMPLICIT);
            d.message.clone()
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "`results` is declared implicitly by this assignment",
            "`total` is declared implicitly by this assignment",
            "`inner` is declared implicitly by this assignment",
        ]
    );
}

#[test]
fn std_imports_are_checked_like_prism_check_does() {
    let a = Analysis::new(
        "import {majorityVot} from \"std/patterns\"\nimport {level} from \"std/confidense\"\nprint(majorityVot, level)\n",
    );
    let found: Vec<_> = a
        .diagnostics()
        .into_iter()
        .map(|d| (d.code, d.message))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].1.contains("majorityVot"), "{found:?}");
    assert_eq!(found[1].1, "there is no standard module `std/confidense`");
    let ok = Analysis::new("import {majorityVote} from \"std/patterns\"\nprint(majorityVote)\n");
    assert!(ok.diagnostics().is_empty(), "{:?}", ok.diagnostics());
}
