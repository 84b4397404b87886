//! A read-only walk over the syntax tree. Implement [`Visitor`], override the `visit_*`
//! methods for the nodes of interest and call the matching `walk_*` function to go on into
//! the children (as `syn` and rustc's visitors do).

use crate::ast::*;

/// Visits syntax nodes; every method defaults to walking the node's children.
pub trait Visitor {
    fn visit_stmt(&mut self, s: &Stmt) {
        walk_stmt(self, s);
    }
    fn visit_expr(&mut self, e: &Expr) {
        walk_expr(self, e);
    }
    fn visit_block(&mut self, b: &Block) {
        walk_block(self, b);
    }
    /// Functions, lambdas and methods.
    fn visit_function(&mut self, f: &Function) {
        walk_function(self, f);
    }
    fn visit_pattern(&mut self, p: &Pattern) {
        walk_pattern(self, p);
    }
    fn visit_match_pattern(&mut self, p: &MatchPattern) {
        walk_match_pattern(self, p);
    }
}

/// Every statement of a program.
pub fn walk_program<V: Visitor + ?Sized>(v: &mut V, p: &Program) {
    for s in &p.stmts {
        v.visit_stmt(s);
    }
}

pub fn walk_block<V: Visitor + ?Sized>(v: &mut V, b: &Block) {
    for s in &b.stmts {
        v.visit_stmt(s);
    }
}

fn opt_expr<V: Visitor + ?Sized>(v: &mut V, e: Option<&Expr>) {
    if let Some(e) = e {
        v.visit_expr(e);
    }
}

fn branches<V: Visitor + ?Sized>(v: &mut V, b: &UncertainBranches) {
    for block in [&b.high, &b.medium, &b.low, &b.default]
        .into_iter()
        .flatten()
    {
        v.visit_block(block);
    }
}

pub fn walk_stmt<V: Visitor + ?Sized>(v: &mut V, s: &Stmt) {
    match &s.kind {
        StmtKind::Expr(e) | StmtKind::Throw(e) | StmtKind::ExportDefault(e) => v.visit_expr(e),
        StmtKind::Decl { decls, .. } => {
            for d in decls {
                v.visit_pattern(&d.target);
                opt_expr(v, d.init.as_ref());
            }
        }
        StmtKind::Function(f) => v.visit_function(f),
        StmtKind::Return(e) => opt_expr(v, e.as_ref()),
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            v.visit_expr(cond);
            v.visit_stmt(then);
            if let Some(o) = otherwise {
                v.visit_stmt(o);
            }
        }
        StmtKind::Block(b) => v.visit_block(b),
        StmtKind::While { cond, body } | StmtKind::DoWhile { body, cond } => {
            v.visit_expr(cond);
            v.visit_stmt(body);
        }
        StmtKind::For {
            init,
            cond,
            update,
            body,
        } => {
            if let Some(i) = init {
                v.visit_stmt(i);
            }
            opt_expr(v, cond.as_deref());
            opt_expr(v, update.as_deref());
            v.visit_stmt(body);
        }
        StmtKind::ForIn {
            binding,
            iterable,
            body,
            ..
        } => {
            v.visit_expr(iterable);
            v.visit_pattern(binding);
            v.visit_stmt(body);
        }
        StmtKind::UncertainIf { cond, branches: b }
        | StmtKind::UncertainWhile { cond, branches: b } => {
            v.visit_expr(cond);
            branches(v, b);
        }
        StmtKind::UncertainFor {
            init,
            cond,
            update,
            branches: b,
        } => {
            if let Some(i) = init {
                v.visit_stmt(i);
            }
            opt_expr(v, cond.as_deref());
            opt_expr(v, update.as_deref());
            branches(v, b);
        }
        StmtKind::Try {
            body,
            catch,
            finally,
        } => {
            v.visit_block(body);
            if let Some(c) = catch {
                if let Some(p) = &c.param {
                    v.visit_pattern(p);
                }
                v.visit_block(&c.body);
            }
            if let Some(f) = finally {
                v.visit_block(f);
            }
        }
        StmtKind::Destructure {
            pattern,
            threshold,
            value,
        } => {
            v.visit_pattern(pattern);
            opt_expr(v, threshold.as_deref());
            v.visit_expr(value);
        }
        StmtKind::ExportDecl(inner) => v.visit_stmt(inner),
        StmtKind::Context(c) => v.visit_block(&c.body),
        StmtKind::Agents(decls) => {
            for d in decls {
                v.visit_expr(&d.config);
            }
        }
        StmtKind::Import { .. }
        | StmtKind::ExportNames(_)
        | StmtKind::ReExport(_)
        | StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Empty
        | StmtKind::Error => {}
    }
}

pub fn walk_function<V: Visitor + ?Sized>(v: &mut V, f: &Function) {
    for p in &f.params {
        v.visit_pattern(&p.pattern);
        opt_expr(v, p.default.as_ref());
    }
    opt_expr(v, f.confidence.as_deref());
    match &f.body {
        FunctionBody::Block(b) => v.visit_block(b),
        FunctionBody::Expr(e) => v.visit_expr(e),
    }
}

pub fn walk_pattern<V: Visitor + ?Sized>(v: &mut V, p: &Pattern) {
    match p {
        Pattern::Ident(_) => {}
        Pattern::Array { elems, rest, .. } => {
            for el in elems.iter().flatten() {
                v.visit_pattern(&el.target);
                opt_expr(v, el.threshold.as_ref());
                opt_expr(v, el.default.as_ref());
            }
            if let Some(r) = rest {
                v.visit_pattern(r);
            }
        }
        Pattern::Object { props, .. } => {
            for pr in props {
                v.visit_pattern(&pr.target);
                opt_expr(v, pr.threshold.as_ref());
                opt_expr(v, pr.default.as_ref());
            }
        }
    }
}

pub fn walk_match_pattern<V: Visitor + ?Sized>(v: &mut V, p: &MatchPattern) {
    match p {
        MatchPattern::Wildcard(_) | MatchPattern::Binding(_) => {}
        MatchPattern::Literal(e) => v.visit_expr(e),
        MatchPattern::Array { elems, .. } => {
            for el in elems {
                v.visit_match_pattern(&el.pattern);
                opt_expr(v, el.threshold.as_ref());
            }
        }
        MatchPattern::Object { props, .. } => {
            for pr in props {
                if let Some(sub) = &pr.pattern {
                    v.visit_match_pattern(sub);
                }
                opt_expr(v, pr.threshold.as_ref());
            }
        }
    }
}

pub fn walk_expr<V: Visitor + ?Sized>(v: &mut V, e: &Expr) {
    match &e.kind {
        ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Undefined
        | ExprKind::Ident(_)
        | ExprKind::Placeholder
        | ExprKind::Error => {}
        ExprKind::Template(parts) => {
            for p in parts {
                if let TemplatePart::Expr(x) = p {
                    v.visit_expr(x);
                }
            }
        }
        ExprKind::Array(items) => {
            for it in items {
                match it {
                    ArrayElem::Expr(x) | ArrayElem::Spread(x) => v.visit_expr(x),
                    ArrayElem::Hole => {}
                }
            }
        }
        ExprKind::Object(props) => {
            for p in props {
                match p {
                    Property::KeyValue { key, value, .. } => {
                        if let PropKey::Computed(k) = key {
                            v.visit_expr(k);
                        }
                        v.visit_expr(value);
                    }
                    Property::Shorthand(_) => {}
                    Property::Spread(x) => v.visit_expr(x),
                    Property::PatternOnly(p) => {
                        opt_expr(v, p.threshold.as_ref());
                        opt_expr(v, p.default.as_ref());
                    }
                }
            }
        }
        ExprKind::Function(f) => v.visit_function(f),
        ExprKind::Unary { expr, .. } | ExprKind::Await(expr) => v.visit_expr(expr),
        ExprKind::Update { target, .. } => v.visit_expr(target),
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::Logical { lhs, rhs, .. }
        | ExprKind::Pipeline { lhs, rhs } => {
            v.visit_expr(lhs);
            v.visit_expr(rhs);
        }
        ExprKind::Attach { value, confidence } => {
            v.visit_expr(value);
            v.visit_expr(confidence);
        }
        ExprKind::Conditional {
            cond,
            then,
            otherwise,
        }
        | ExprKind::ConfConditional {
            cond,
            then,
            otherwise,
        } => {
            v.visit_expr(cond);
            v.visit_expr(then);
            v.visit_expr(otherwise);
        }
        ExprKind::Assign { target, value, .. } => {
            v.visit_expr(target);
            v.visit_expr(value);
        }
        ExprKind::Member { object, .. } => v.visit_expr(object),
        ExprKind::Index { object, index, .. } => {
            v.visit_expr(object);
            v.visit_expr(index);
        }
        ExprKind::Call { callee, args, .. } => {
            v.visit_expr(callee);
            for a in args {
                let (Arg::Expr(x) | Arg::Spread(x)) = a;
                v.visit_expr(x);
            }
        }
        ExprKind::Match { subject, arms } => {
            v.visit_expr(subject);
            for arm in arms {
                v.visit_match_pattern(&arm.pattern);
                opt_expr(v, arm.threshold.as_ref());
                opt_expr(v, arm.guard.as_ref());
                match &arm.body {
                    MatchBody::Expr(b) => v.visit_expr(b),
                    MatchBody::Block(b) => v.visit_block(b),
                }
            }
        }
        ExprKind::Sequence(items) => {
            for x in items {
                v.visit_expr(x);
            }
        }
    }
}
