//! Which names a scope may bind: what the statements that run directly in it declare, and
//! every name they assign to (plain assignment to an unbound name binds it in the current
//! scope). Over-approximating is safe: a slot that is never bound is skipped by lookups, as
//! an absent binding is.

use prism_compiler::ast::{
    ArrayElem, Block, Expr, ExprKind, Function, Name, Pattern, PropKey, Property, Stmt, StmtKind,
    TemplatePart,
};
use prism_compiler::visit::{self, Visitor};

/// Every name mentioned inside the functions nested in the visited code: a nested function
/// may read or assign any of them in the scopes around it, so the compiled code keeps them
/// in scope objects (by name) rather than in slots. Over-approximating is safe: a name kept
/// by name behaves exactly as in the tree walker.
#[derive(Default)]
pub(crate) struct Captures {
    depth: usize,
    pub names: Vec<Name>,
}

impl Captures {
    /// The names the functions nested in `f` (its defaults and body) may capture.
    pub(crate) fn of_function(f: &Function) -> Vec<Name> {
        let mut c = Captures::default();
        visit::walk_function(&mut c, f);
        c.names
    }

    /// The names the functions nested in the statement may capture.
    pub(crate) fn of_stmt(s: &Stmt) -> Vec<Name> {
        let mut c = Captures::default();
        c.visit_stmt(s);
        c.names
    }
}

impl Visitor for Captures {
    fn visit_function(&mut self, f: &Function) {
        self.depth += 1;
        visit::walk_function(self, f);
        self.depth -= 1;
    }

    fn visit_expr(&mut self, e: &Expr) {
        if self.depth > 0 {
            match &e.kind {
                ExprKind::Ident(n) => push(&mut self.names, n),
                ExprKind::Object(props) => {
                    for p in props {
                        if let Property::Shorthand(id) = p {
                            push(&mut self.names, &id.name);
                        }
                    }
                }
                _ => {}
            }
        }
        visit::walk_expr(self, e);
    }

    fn visit_stmt(&mut self, s: &Stmt) {
        if self.depth > 0
            && let StmtKind::ExportNames(specs) = &s.kind
        {
            for spec in specs {
                push(&mut self.names, &spec.local.name);
            }
        }
        visit::walk_stmt(self, s);
    }
}

/// True if a block gets a scope of its own when it runs (it declares something).
pub(crate) fn block_has_scope(b: &Block) -> bool {
    b.stmts.iter().any(|s| {
        matches!(
            s.kind,
            StmtKind::Function(_)
                | StmtKind::Decl { .. }
                | StmtKind::Import { .. }
                | StmtKind::ExportDecl(_)
        )
    })
}

/// Adds the names `stmts` may bind in the scope they run in.
pub(crate) fn stmts(list: &[Stmt], out: &mut Vec<Name>) {
    for s in list {
        stmt(s, out);
    }
}

fn push(out: &mut Vec<Name>, name: &Name) {
    if !out.iter().any(|n| n == name) {
        out.push(name.clone());
    }
}

fn pattern(p: &Pattern, out: &mut Vec<Name>) {
    let mut ids = Vec::new();
    p.bound_names(&mut ids);
    for id in ids {
        push(out, &id.name);
    }
}

/// A statement run through `exec_body`: a block (its own scope if it declares), or one
/// statement in the current scope.
pub(crate) fn body(s: &Stmt, out: &mut Vec<Name>) {
    match &s.kind {
        StmtKind::Block(b) => block(b, out),
        _ => stmt(s, out),
    }
}

/// A block run through `exec_block`.
pub(crate) fn block(b: &Block, out: &mut Vec<Name>) {
    if !block_has_scope(b) {
        stmts(&b.stmts, out);
    }
}

fn stmt(s: &Stmt, out: &mut Vec<Name>) {
    match &s.kind {
        StmtKind::Expr(e) | StmtKind::Throw(e) => expr(e, out),
        StmtKind::Return(e) => {
            if let Some(e) = e {
                expr(e, out);
            }
        }
        StmtKind::Decl { decls, .. } => {
            for d in decls {
                pattern(&d.target, out);
                if let Some(e) = &d.init {
                    expr(e, out);
                }
            }
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            expr(cond, out);
            body(then, out);
            if let Some(o) = otherwise {
                body(o, out);
            }
        }
        StmtKind::Block(b) => block(b, out),
        StmtKind::While { cond, body: b } | StmtKind::DoWhile { body: b, cond } => {
            expr(cond, out);
            body(b, out);
        }
        StmtKind::ForIn { iterable, .. } => expr(iterable, out),
        StmtKind::UncertainIf { cond, branches } | StmtKind::UncertainWhile { cond, branches } => {
            expr(cond, out);
            for b in [
                &branches.high,
                &branches.medium,
                &branches.low,
                &branches.default,
            ]
            .into_iter()
            .flatten()
            {
                block(b, out);
            }
        }
        StmtKind::Try { body, finally, .. } => {
            block(body, out);
            if let Some(f) = finally {
                block(f, out);
            }
        }
        StmtKind::Context(c) => stmts(&c.body.stmts, out),
        StmtKind::Destructure {
            pattern: p, value, ..
        } => {
            pattern(p, out);
            expr(value, out);
        }
        StmtKind::Function(f) => {
            if let Some(n) = &f.name {
                push(out, &n.name);
            }
        }
        StmtKind::Agents(decls) => {
            for d in decls {
                push(out, &d.name.name);
            }
        }
        // Scopes of their own, or not compiled.
        StmtKind::For { .. }
        | StmtKind::UncertainFor { .. }
        | StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Import { .. }
        | StmtKind::ExportDecl(_)
        | StmtKind::ExportNames(_)
        | StmtKind::ReExport(_)
        | StmtKind::ExportDefault(_)
        | StmtKind::Empty
        | StmtKind::Error => {}
    }
}

/// Adds every name assigned to inside `e` (outside nested functions).
pub(crate) fn expr(e: &Expr, out: &mut Vec<Name>) {
    use ExprKind::*;
    match &e.kind {
        Assign { target, value, .. } => {
            if let Ident(n) = &target.kind {
                push(out, n);
            } else {
                expr(target, out);
            }
            expr(value, out);
        }
        Update { target, .. } => {
            if let Ident(n) = &target.kind {
                push(out, n);
            } else {
                expr(target, out);
            }
        }
        Number(_) | String(_) | Bool(_) | Null | Undefined | Ident(_) | Placeholder
        | Function(_) | Error => {}
        Template(parts) => {
            for p in parts {
                if let TemplatePart::Expr(x) = p {
                    expr(x, out);
                }
            }
        }
        Array(elems) => {
            for el in elems {
                if let ArrayElem::Expr(x) | ArrayElem::Spread(x) = el {
                    expr(x, out);
                }
            }
        }
        Object(props) => {
            for p in props {
                match p {
                    Property::KeyValue { key, value, .. } => {
                        if let PropKey::Computed(k) = key {
                            expr(k, out);
                        }
                        expr(value, out);
                    }
                    Property::Spread(x) => expr(x, out),
                    Property::Shorthand(_) | Property::PatternOnly(_) => {}
                }
            }
        }
        Unary { expr: x, .. } | Await(x) => expr(x, out),
        Binary { lhs, rhs, .. } | Logical { lhs, rhs, .. } | Pipeline { lhs, rhs } => {
            expr(lhs, out);
            expr(rhs, out);
        }
        Attach { value, confidence } => {
            expr(value, out);
            expr(confidence, out);
        }
        Conditional {
            cond,
            then,
            otherwise,
        }
        | ConfConditional {
            cond,
            then,
            otherwise,
        } => {
            expr(cond, out);
            expr(then, out);
            expr(otherwise, out);
        }
        Member { object, .. } => expr(object, out),
        Index { object, index, .. } => {
            expr(object, out);
            expr(index, out);
        }
        Call { callee, args, .. } => {
            expr(callee, out);
            for a in args {
                let (prism_compiler::ast::Arg::Expr(x) | prism_compiler::ast::Arg::Spread(x)) = a;
                expr(x, out);
            }
        }
        // Arms run in scopes of their own; only the subject runs here.
        Match { subject, .. } => expr(subject, out),
        Sequence(items) => {
            for x in items {
                expr(x, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_of(src: &str) -> Vec<String> {
        let parsed = prism_compiler::parse(src);
        let mut out = Vec::new();
        stmts(&parsed.program.stmts, &mut out);
        out.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn captures_are_the_names_nested_functions_mention() {
        let parsed = prism_compiler::parse(
            "function f(a, b) { let c = a; let g = () => b + c; function h() { d = {e} } return a }",
        );
        let Some(StmtKind::Function(f)) = parsed.program.stmts.first().map(|s| &s.kind) else {
            unreachable!("a function declaration")
        };
        let names: Vec<String> = Captures::of_function(f)
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["b", "c", "d", "e"]);
    }

    #[test]
    fn declarations_and_assignments_land_in_the_scope_they_run_in() {
        assert_eq!(
            names_of("let a = 1\nb = 2\nif (a) { c = 3 } else { let d = 4 }\nf(e = 5)"),
            ["a", "b", "c", "e"]
        );
        // A `for` has a scope of its own; its iterable of `for … in` runs here.
        assert_eq!(
            names_of("for (let i = 0; i < 2; i++) { j = i }\nfor x in (k = [1]) { m = x }"),
            ["k"]
        );
    }
}
