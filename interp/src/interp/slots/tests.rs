//! Closures made by compiled code: each case runs on both evaluators (slot frames, and the
//! tree walker alone) and must print the same, and what the tree walker prints.

use crate::test_support::run_both;

#[test]
fn a_closure_shares_the_captured_binding_with_its_scope() {
    assert_eq!(
        run_both(
            "function counter() { let n = 0; return () => { n = n + 1; return n } }\n\
             let c = counter()\nlet d = counter()\nprint(c(), c(), d(), c())"
        ),
        "1 2 1 3\n"
    );
    assert_eq!(
        run_both(
            "function f() { let n = 0; let inc = () => n++\n\
             for (let i = 0; i < 5; i++) inc()\nwhile (n < 8) inc()\nreturn n }\nprint(f())"
        ),
        "8\n"
    );
    assert_eq!(
        run_both("function f(a) { let inc = () => { a++ }; inc(); inc(); return a }\nprint(f(1))"),
        "3\n"
    );
}

#[test]
fn for_in_binds_per_iteration_and_c_style_for_once() {
    assert_eq!(
        run_both(
            "function f() { let fs = []; for x in [1, 2, 3] { fs.push(() => x) }\n\
             return fs.map(g => g()) }\nprint(f())"
        ),
        "[1, 2, 3]\n"
    );
    // The tree walker makes one scope for a C-style `for` (all closures see the last `i`)
    // and a new one for each pass of a body block that declares.
    assert_eq!(
        run_both(
            "function f() { let a = []; let b = []\n\
             for (let i = 0; i < 3; i++) { let j = i; a.push(() => i); b.push(() => j) }\n\
             return [a.map(g => g()), b.map(g => g())] }\nprint(f())"
        ),
        "[[3, 3, 3], [0, 1, 2]]\n"
    );
    assert_eq!(
        run_both(
            "let fs = []\nfor (let i = 0; i < 3; i++) { let j = i * 10; fs.push(() => j + i) }\n\
             print(fs.map(f => f()))"
        ),
        "[3, 13, 23]\n"
    );
}

#[test]
fn function_declarations_are_hoisted_and_recursive() {
    assert_eq!(
        run_both(
            "function f(n) { return fact(n) + twice(n)\n\
             function fact(k) { return k <= 1 ? 1 : k * fact(k - 1) }\n\
             function twice(k) { return k * 2 } }\nprint(f(5))"
        ),
        "130\n"
    );
    assert_eq!(
        run_both("function f() { function g() {} }\nprint(f())"),
        "[Function: g]\n"
    );
    // A declaration in a block is bound in the block's scope only.
    let out = run_both("function f() { { function g() { return 1 } } return g() }\nprint(f())");
    assert!(out.contains("Undefined variable: g"), "{out}");
}

#[test]
fn shadowing_and_bindings_not_made_yet_resolve_as_in_the_tree_walker() {
    assert_eq!(
        run_both(
            "function f() { let x = 1\n{ let x = 2; let g = () => x; print(x, g()) }\n\
             let h = () => x\n{ let x = 3; print(x, h()) }\nreturn x }\nprint(f())"
        ),
        "2 2\n3 1\n1\n"
    );
    // A closure reads the outer binding until the block declares its own.
    assert_eq!(
        run_both(
            "function f() { let x = \"outer\"\n\
             { let g = () => x; print(g()); let x = \"inner\"; print(g()) } }\nf()"
        ),
        "outer\ninner\n"
    );
    // Plain assignment reaches the enclosing function's binding.
    assert_eq!(
        run_both("function f() { y = 1; let g = () => { y = 5 }; g(); return y }\nprint(f())"),
        "5\n"
    );
}

#[test]
fn defaults_catch_bindings_and_nested_levels_capture() {
    assert_eq!(
        run_both("function f(a, g = () => a * 2) { a = 10; return g() }\nprint(f(1))"),
        "20\n"
    );
    assert_eq!(
        run_both(
            "function f() { try { throw \"boom\" } catch (e) { return () => e } }\nprint(f()())"
        ),
        "boom\n"
    );
    assert_eq!(
        run_both(
            "function f(x) { return function (y) { return z => x + y + z } }\nprint(f(1)(2)(3))"
        ),
        "6\n"
    );
    assert_eq!(
        run_both(
            "function f(xs, k) { return xs.filter(v => v > k).map(v => v * k)\n\
             .reduce((s, v) => s + v, 0) }\nprint(f([1, 2, 3, 4], 2))"
        ),
        "14\n"
    );
}

#[test]
fn const_and_redeclaration_errors_hold_for_captured_names() {
    let out = run_both("function f() { const k = 1; let g = () => { k = 2 }; g() }\nf()");
    assert!(out.contains("Cannot assign to const variable 'k'"), "{out}");
    let out = run_both("function f() { let x = 1; let g = () => x; print(g()); let x = 2 }\nf()");
    assert!(
        out.starts_with("1\n") && out.contains("already declared"),
        "{out}"
    );
}

#[test]
fn returns_at_the_end_of_a_body_give_the_same_values() {
    assert_eq!(
        run_both(
            "function fib(n) { if (n < 2) { return n }\nreturn fib(n - 1) + fib(n - 2) }\n\
             print(fib(15))"
        ),
        "610\n"
    );
    // Falling off an `if` without `else` gives the `if`'s value, 0.
    assert_eq!(
        run_both("function g(x) { if (x) { return 1 } }\nprint(g(true), g(false))"),
        "1 0\n"
    );
    assert_eq!(
        run_both(
            "function h(x) { if (x == 1) return \"a\"; else if (x == 2) return \"b\"\n\
             if (x == 3) { let y = \"c\"; return y }\nif (x == 4) { print(\"four\") }\n\
             return \"d\" }\nprint(h(1), h(2), h(3), h(4), h(5))"
        ),
        "four\na b c d d\n"
    );
    assert_eq!(
        run_both(
            "function k(x) { if (x) { return } else { return 2 } }\n\
             function m(x) { if (x) { 5 } else { return 6 } }\nprint(k(1), k(0), m(1), m(0))"
        ),
        "null 2 5 6\n"
    );
}

#[test]
fn direct_calls_keep_frames_limits_and_errors() {
    // Calls in the arguments of a call: each frame above the arguments already evaluated.
    assert_eq!(
        run_both(
            "function add(a, b) { let t = a + b; return t }\n\
             function sq(x) { return x * x }\nprint(add(sq(add(1, 2)), add(sq(2), sq(3))))"
        ),
        "22\n"
    );
    // An argument that fails leaves the frame stack as it was.
    assert_eq!(
        run_both(
            "function f(a, b) { return a + b }\nfunction g(x) { let y = 2\n\
             try { f(1, x.y.z) } catch (e) { print(\"caught\") }\nreturn y + f(x, 1) }\n\
             print(g(1))"
        ),
        "caught\n4\n"
    );
    let out = run_both("function f(a, b) { return a + b }\nprint(f(1))");
    assert!(out.contains("Function expects 2 arguments, got 1"), "{out}");
    let out = run_both("function f(a) { return a.b.c }\nfunction g(x) { return f(x) }\ng(1)");
    assert!(out.contains("Cannot access property 'c'"), "{out}");
    let out = run_both("function d(n) { return d(n + 1) }\nd(0)");
    assert!(out.contains("Maximum call depth exceeded"), "{out}");
}

#[test]
fn slot_and_number_operators_keep_confidence_and_fallbacks() {
    // `n op k` / `k op n` / `x op k` nodes: numbers and confident numbers.
    let src = "function f(n) { return [n - 1, 2 - n, n < 2, 2 > n, n * 2 % 7, n == 1, n != 1, \
               n + 1] }\nprint(f(1))\nprint(f(1 ~> 0.8))\n\
               function g(n) { if (n < 2) { return n } return g(n - 1) + g(n - 2) }\n\
               print(g(10))\nprint(g(10 ~> 0.9))\nprint(g(3 ~> 0.5))";
    let out = run_both(src);
    assert!(
        out.starts_with("[0, 1, true, true, 2, true, false, 2]\n"),
        "{out}"
    );
    assert!(out.contains("\n55\n"), "{out}");
    assert!(!out.contains("ERROR"), "{out}");
    // The general operator where the fast one does not apply: the same result or error on
    // both evaluators.
    for x in ["\"a\"", "null", "true", "[1]", "2 ~> 0.5"] {
        for e in [
            "n - 1",
            "2 - n",
            "n < 2",
            "n / 0",
            "n % 0",
            "n * 2 % 7",
            "n + 1",
            "n == 1",
        ] {
            run_both(&format!("function f(n) {{ return {e} }}\nprint(f({x}))"));
        }
    }
}

#[test]
fn global_functions_called_by_name_see_rebinding() {
    // The call site's cached global is checked on each call: an assignment of the global,
    // a redefinition, or a non-function value are seen at once.
    assert_eq!(
        run_both(
            "function g(n) { return n + 1 }\nfunction f(n) { return g(n) }\n\
             let a = f(1)\ng = function (n) { return n * 10 }\nlet b = f(2)\n\
             function h(x) { return x - 1 }\ng = h\nprint(a, b, f(3))"
        ),
        "2 20 2\n"
    );
    let out =
        run_both("function g(n) { return n }\nfunction f(n) { return g(n) }\nf(1)\ng = 5\nf(2)");
    assert!(out.contains("ERROR"), "{out}");
    // An embedder rebinding the global by name between runs (`define_global`).
    let out = crate::run_with_large_stack(|| {
        let capture = crate::CaptureOutput::new();
        let mut interp = crate::Interpreter::new(crate::Options {
            output: Box::new(capture.clone()),
            ..crate::Options::default()
        });
        fn run(interp: &mut crate::Interpreter, src: &str) -> bool {
            let parsed = prism_compiler::parse(src);
            let file = prism_compiler::SourceFile::new("test.prism", src);
            interp.run_program(&parsed.program, &file).is_ok()
        }
        assert!(run(
            &mut interp,
            "function g(n) { return n + 1 }\nfunction f(n) { return g(n) }\n\
             function h(n) { return n * 100 }\nprint(f(1))"
        ));
        let h = interp.global("h").unwrap_or_default();
        interp.define_global("g", h);
        assert!(run(&mut interp, "print(f(2))"));
        interp.define_global("g", crate::value::Value::Number(1.0));
        assert!(!run(&mut interp, "print(f(3))"));
        capture.stdout_text()
    });
    assert_eq!(out, "2\n200\n");
}
