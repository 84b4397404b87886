//! Golden front-end tests, as Ruff and Gleam keep them: every file of `tests/syntax/valid/`
//! must parse without errors, every file of `tests/syntax/invalid/` with at least one; each
//! gets an insta snapshot of its diagnostics and of its syntax tree (`prism_compiler::sexpr`),
//! and every node's span must lie inside its parent's. A grammar change shows its whole effect
//! in the snapshots under review.

use std::fmt::Write;

use prism_compiler::ast::*;
use prism_compiler::visit::{self, Visitor};
use prism_compiler::{Diagnostic, SourceFile, parse, sexpr};

/// The diagnostics, one line each: `error[code] 3:5-3:9: message` plus labels and help.
fn diagnostics(file: &SourceFile, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let sp = d.primary_span();
        let (l1, c1) = file.line_col(sp.start);
        let (l2, c2) = file.line_col(sp.end);
        let sev = if d.is_error() { "error" } else { "warning" };
        let _ = writeln!(out, "{sev}[{}] {l1}:{c1}-{l2}:{c2}: {}", d.code, d.message);
        for label in &d.labels {
            if !label.message.is_empty() {
                let (l, c) = file.line_col(label.span.start);
                let _ = writeln!(out, "  label {l}:{c}: {}", label.message);
            }
        }
        if let Some(h) = &d.help {
            let _ = writeln!(out, "  help: {h}");
        }
    }
    out
}

/// Checks that each node's span lies within its parent's (and within the file).
struct SpansNest {
    parents: Vec<Span>,
    problems: Vec<String>,
}

impl SpansNest {
    fn enter(&mut self, what: &str, span: Span) {
        if let Some(parent) = self.parents.last()
            && (span.start < parent.start || span.end > parent.end)
        {
            self.problems.push(format!(
                "{what} {}..{} is not inside its parent {}..{}",
                span.start, span.end, parent.start, parent.end
            ));
        }
        if span.start > span.end {
            self.problems.push(format!(
                "{what} {}..{} ends before it starts",
                span.start, span.end
            ));
        }
        self.parents.push(span);
    }
}

impl Visitor for SpansNest {
    fn visit_stmt(&mut self, s: &Stmt) {
        self.enter("statement", s.span);
        visit::walk_stmt(self, s);
        self.parents.pop();
    }
    fn visit_expr(&mut self, e: &Expr) {
        self.enter("expression", e.span);
        visit::walk_expr(self, e);
        self.parents.pop();
    }
    fn visit_block(&mut self, b: &Block) {
        self.enter("block", b.span);
        visit::walk_block(self, b);
        self.parents.pop();
    }
    fn visit_function(&mut self, f: &Function) {
        self.enter("function", f.span);
        visit::walk_function(self, f);
        self.parents.pop();
    }
    fn visit_pattern(&mut self, p: &Pattern) {
        self.enter("pattern", p.span());
        visit::walk_pattern(self, p);
        self.parents.pop();
    }
}

fn check_spans(program: &Program, len: usize) -> Vec<String> {
    let mut v = SpansNest {
        parents: vec![Span::new(0, len)],
        problems: Vec::new(),
    };
    v.enter("program", program.span);
    visit::walk_program(&mut v, program);
    v.problems
}

fn golden(path: &std::path::Path, expect_errors: bool) {
    let text = std::fs::read_to_string(path).expect("read the test file");
    let file = SourceFile::new("test.prism", text.as_str());
    let parsed = parse(&text);
    let errors = parsed.diagnostics.iter().filter(|d| d.is_error()).count();
    if expect_errors {
        assert!(errors > 0, "{} parsed without errors", path.display());
    } else {
        assert_eq!(
            errors,
            0,
            "{} has errors:\n{}",
            path.display(),
            diagnostics(&file, &parsed.diagnostics)
        );
    }
    let problems = check_spans(&parsed.program, text.len());
    assert!(
        problems.is_empty(),
        "{}: spans do not nest:\n{}",
        path.display(),
        problems.join("\n")
    );
    let snapshot = format!(
        "{}\n--- diagnostics\n{}--- tree\n{}",
        text.trim_end(),
        diagnostics(&file, &parsed.diagnostics),
        sexpr::program(&parsed.program)
    );
    let kind = if expect_errors { "invalid" } else { "valid" };
    insta::assert_snapshot!(kind, snapshot);
}

#[test]
fn valid() {
    insta::glob!("../../tests/syntax/valid", "*.prism", |path| golden(
        path, false
    ));
}

#[test]
fn invalid() {
    insta::glob!("../../tests/syntax/invalid", "*.prism", |path| golden(
        path, true
    ));
}
