//! Early checks: rules of the language that the grammar alone cannot check, reported with the
//! syntax errors of [`crate::parse`]:
//!
//! * `const x` without an initializer, a destructuring declaration without one, a rest
//!   parameter before others, `{a ~> t}`/`{a = d}` outside a destructuring pattern: errors
//!   (the reference's parser refuses them too);
//! * `break` and `continue` outside a loop, `return` outside a function: warnings, since the
//!   program is valid until the statement runs — then it stops with an error, as in the
//!   reference.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::visit::{self, Visitor};

/// Diagnostic codes of early errors.
pub mod codes {
    pub const CONST_INIT: &str = "prism::syntax::const-initializer";
    pub const OUTSIDE_LOOP: &str = "prism::lint::outside-loop";
    pub const OUTSIDE_FUNCTION: &str = "prism::lint::outside-function";
    pub const PATTERN_ONLY: &str = "prism::syntax::pattern-only";
    pub const REST_LAST: &str = "prism::syntax::rest-parameter";
    pub const CONTINUED: &str = "prism::lint::continued-line";
    pub const CONFIDENCE_RANGE: &str = "prism::lint::confidence-range";
}

/// The early errors of a parsed program (`source` is its text).
pub fn check(program: &Program, source: &str) -> Vec<Diagnostic> {
    let mut c = Checker {
        source,
        loops: 0,
        functions: 0,
        out: Vec::new(),
    };
    visit::walk_program(&mut c, program);
    c.out
}

struct Checker<'s> {
    source: &'s str,
    /// Loops around the current statement, inside the innermost function.
    loops: usize,
    /// Functions around the current statement.
    functions: usize,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn in_loop(&mut self, f: impl FnOnce(&mut Self)) {
        self.loops += 1;
        f(self);
        self.loops -= 1;
    }
}

impl Checker<'_> {
    /// `f` + line break + `(x)`: the reference reads a line starting with `(` or `[` as part
    /// of the line before (a call or an index); worth a warning, since it is rarely meant.
    fn continued_line(&mut self, before: Span, open: char, whole: Span) {
        let Some(gap) = self.source.get(before.end as usize..whole.end as usize) else {
            return;
        };
        let Some(at) = gap.find(open) else { return };
        if !gap[..at].contains('\n') || !gap[..at].trim().is_empty() {
            return;
        }
        let pos = before.end as usize + at;
        let what = if open == '(' { "a call" } else { "an index" };
        self.out.push(
            Diagnostic::warning(
                codes::CONTINUED,
                format!("this line continues the one before: the `{open}` makes {what}"),
                Span::new(pos, pos + 1),
            )
            .with_label(format!("read as {what} of the expression above"))
            .with_secondary(before, "this is what is called or indexed")
            .with_help("a line that starts with `(` or `[` continues the previous line; end that line with `;` if this is a new statement"),
        );
    }
}

impl Checker<'_> {
    /// `x ~> 1.5`: a literal confidence outside [0, 1] is clamped when it runs.
    fn confidence_literal(&mut self, c: &Expr) {
        let n = match &c.kind {
            ExprKind::Number(n) => *n,
            ExprKind::Unary {
                op: UnaryOp::Neg,
                expr,
            } => match expr.kind {
                ExprKind::Number(n) => -n,
                _ => return,
            },
            _ => return,
        };
        if (0.0..=1.0).contains(&n) {
            return;
        }
        let to = if n < 0.0 { 0 } else { 1 };
        self.out.push(
            Diagnostic::warning(
                codes::CONFIDENCE_RANGE,
                format!("confidence {n} is outside [0, 1]"),
                c.span,
            )
            .with_label(format!("clamped to {to} when it runs"))
            .with_help("a confidence is a number from 0 to 1 (0.8, not 80)"),
        );
    }
}

impl Checker<'_> {
    /// A `const` without a value, or a destructuring declaration without one, is an error.
    fn uninitialised(&mut self, kind: DeclKind, decls: &[Declarator]) {
        for d in decls {
            if d.init.is_some() {
                continue;
            }
            match (&d.target, kind) {
                (Pattern::Ident(id), DeclKind::Const) => self.out.push(
                    Diagnostic::error(
                        codes::CONST_INIT,
                        "const declarations must have an initializer",
                        d.span,
                    )
                    .with_label(format!("`{}` is never given a value", id.name))
                    .with_help(format!(
                        "write `const {} = …`, or declare it with `let`",
                        id.name
                    )),
                ),
                (Pattern::Ident(_), _) => {}
                _ => self.out.push(
                    Diagnostic::error(
                        codes::CONST_INIT,
                        "a destructuring declaration must have an initializer",
                        d.span,
                    )
                    .with_label("nothing to destructure")
                    .with_help("write `= value` after the pattern"),
                ),
            }
        }
    }

    /// `break` / `continue` outside any loop.
    fn outside_loop(&mut self, s: &Stmt) {
        let word = if matches!(s.kind, StmtKind::Break) {
            "break"
        } else {
            "continue"
        };
        self.out.push(
            Diagnostic::warning(
                codes::OUTSIDE_LOOP,
                format!("`{word}` outside a loop"),
                s.span,
            )
            .with_label(format!("no loop around this `{word}`"))
            .with_help(format!(
                "`{word}` belongs inside `for`, `while`, `do … while`, `uncertain for` or `uncertain while`; {}",
                if self.functions > 0 {
                    "in a function it acts on a loop around the call, and stops the program with an error where there is none"
                } else {
                    "here it stops the program with an error"
                }
            )),
        );
    }

    /// `return` outside any function.
    fn outside_function(&mut self, span: Span) {
        self.out.push(
            Diagnostic::warning(codes::OUTSIDE_FUNCTION, "`return` outside a function", span)
                .with_label("no function to return from: it stops the program with an error")
                .with_help(
                    "the value of a program (or pattern script) is its last expression: \
                 write the value on its own line instead of `return`",
                ),
        );
    }
}

impl Visitor for Checker<'_> {
    fn visit_stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Decl { kind, decls } => {
                self.uninitialised(*kind, decls);
                visit::walk_stmt(self, s);
            }
            StmtKind::Break | StmtKind::Continue if self.loops == 0 => self.outside_loop(s),
            StmtKind::Return(_) if self.functions == 0 => {
                self.outside_function(s.span);
                visit::walk_stmt(self, s);
            }
            StmtKind::While { cond, body } | StmtKind::DoWhile { body, cond } => {
                self.visit_expr(cond);
                self.in_loop(|c| c.visit_stmt(body));
            }
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => {
                if let Some(i) = init {
                    self.visit_stmt(i);
                }
                for e in [cond, update].into_iter().flatten() {
                    self.visit_expr(e);
                }
                self.in_loop(|c| c.visit_stmt(body));
            }
            StmtKind::ForIn {
                binding,
                iterable,
                body,
                ..
            } => {
                self.visit_expr(iterable);
                self.visit_pattern(binding);
                self.in_loop(|c| c.visit_stmt(body));
            }
            StmtKind::UncertainWhile { .. } | StmtKind::UncertainFor { .. } => {
                self.in_loop(|c| visit::walk_stmt(c, s));
            }
            _ => visit::walk_stmt(self, s),
        }
    }

    fn visit_expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Call { callee, .. } => self.continued_line(callee.span, '(', e.span),
            ExprKind::Index { object, .. } => self.continued_line(object.span, '[', e.span),
            ExprKind::Attach { confidence, .. } => self.confidence_literal(confidence),
            _ => {}
        }
        if let ExprKind::Object(props) = &e.kind {
            for p in props {
                if let Property::PatternOnly(p) = p {
                    let what = if p.threshold.is_some() {
                        "a confidence threshold"
                    } else {
                        "a default value"
                    };
                    self.out.push(
                        Diagnostic::error(
                            codes::PATTERN_ONLY,
                            format!("{what} in an object literal"),
                            p.span,
                        )
                        .with_label(format!(
                            "{what} belongs to a destructuring pattern (`{{…}} = value`)"
                        ))
                        .with_help(format!(
                            "for a property write `{0}: …` (e.g. `{0}: {0} ~> 0.8`)",
                            p.key.name
                        )),
                    );
                }
            }
        }
        visit::walk_expr(self, e);
    }

    fn visit_function(&mut self, f: &Function) {
        if let Some((_, rest)) = f.params.split_last() {
            for p in rest.iter().filter(|p| p.rest) {
                self.out.push(
                    Diagnostic::error(
                        codes::REST_LAST,
                        "Rest parameter must be last formal parameter",
                        p.span,
                    )
                    .with_label("parameters follow this rest parameter")
                    .with_help(
                        "move `...` to the last parameter: it collects the remaining arguments",
                    ),
                );
            }
        }
        let loops = std::mem::replace(&mut self.loops, 0);
        self.functions += 1;
        visit::walk_function(self, f);
        self.functions -= 1;
        self.loops = loops;
    }
}

#[cfg(test)]
mod tests {
    use crate::parse;

    fn codes(src: &str) -> Vec<&'static str> {
        parse(src).diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn loops_and_functions_bound_break_continue_and_return() {
        assert!(codes("while (true) { break }\nfor x in xs { if (x) continue }").is_empty());
        assert!(codes("function f() { return 1 }\nlet g = () => { return 2 }").is_empty());
        assert!(codes("uncertain while (c) { high { break } }").is_empty());
        assert!(codes("for x in xs { let v = match x { _ => { break } } }").is_empty());
        assert_eq!(codes("break"), [super::codes::OUTSIDE_LOOP]);
        assert_eq!(codes("if (a) { continue }"), [super::codes::OUTSIDE_LOOP]);
        // A function body ends the loop around it.
        assert_eq!(
            codes("while (a) { xs.forEach(x => { break }) }"),
            [super::codes::OUTSIDE_LOOP]
        );
        assert_eq!(codes("return 5"), [super::codes::OUTSIDE_FUNCTION]);
        assert_eq!(
            codes("in context A { return 1 }"),
            [super::codes::OUTSIDE_FUNCTION]
        );
    }

    #[test]
    fn thresholds_and_defaults_only_in_destructuring() {
        assert!(codes("{a ~> 0.8, b = 1} = {a: 1, b: 2}").is_empty());
        assert!(codes("[{a ~> 0.5}, c] = xs").is_empty());
        assert_eq!(codes("let o = {a ~> 0.8}"), [super::codes::PATTERN_ONLY]);
        assert_eq!(codes("f({a = 1})"), [super::codes::PATTERN_ONLY]);
    }

    #[test]
    fn a_line_starting_with_a_paren_continues_with_a_warning() {
        assert_eq!(
            codes("let total = a + b\n(total > 1) && print(1)"),
            [super::codes::CONTINUED]
        );
        assert_eq!(codes("let v = w\n[0]"), [super::codes::CONTINUED]);
        assert!(codes("print(\n  1\n)\nf(a)(b)").is_empty());
    }

    #[test]
    fn literal_confidences_outside_the_range_are_flagged() {
        assert_eq!(codes("let a = 5 ~> 1.5"), [super::codes::CONFIDENCE_RANGE]);
        assert_eq!(
            codes("let a = 5 ~> (-0.5)"),
            [super::codes::CONFIDENCE_RANGE]
        );
        assert!(codes("let a = 5 ~> 1\nlet b = 5 ~> 0").is_empty());
    }

    #[test]
    fn rest_parameters_come_last() {
        assert_eq!(
            codes("let f = (...args, other) => args"),
            [super::codes::REST_LAST]
        );
        assert!(codes("function g(a, ...rest) { return rest }").is_empty());
    }

    #[test]
    fn const_needs_an_initializer() {
        assert_eq!(codes("const x"), [super::codes::CONST_INIT]);
        assert_eq!(codes("let [a, b]"), [super::codes::CONST_INIT]);
        assert!(codes("let x\nlet y, z = 1").is_empty());
    }
}
