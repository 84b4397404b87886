//! A compact S-expression rendering of the syntax tree, for golden tests and debugging: one
//! statement per line, expressions nested in parentheses, every node with its byte range
//! (`(call@4..10 print (num@10..11 1))`).

use std::fmt::Write;

use crate::ast::*;

/// The program as S-expressions, one top-level statement per line.
pub fn program(p: &Program) -> String {
    let mut w = Writer::default();
    for s in &p.stmts {
        w.stmt(s, 0);
        w.out.push('\n');
    }
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
}

fn at(s: Span) -> String {
    format!("@{}..{}", s.start, s.end)
}

impl Writer {
    fn open(&mut self, head: &str, span: Span) {
        let _ = write!(self.out, "({head}{}", at(span));
    }

    fn close(&mut self) {
        self.out.push(')');
    }

    fn word(&mut self, w: &str) {
        self.out.push(' ');
        self.out.push_str(w);
    }

    fn newline(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn ident(&mut self, id: &Ident) {
        let _ = write!(self.out, " {}{}", id.name, at(id.span));
    }

    fn opt_expr(&mut self, tag: &str, e: Option<&Expr>) {
        if let Some(e) = e {
            let _ = write!(self.out, " {tag}:");
            self.expr(e);
        }
    }

    fn block(&mut self, b: &Block, depth: usize) {
        self.open("block", b.span);
        for s in &b.stmts {
            self.newline(depth + 1);
            self.stmt(s, depth + 1);
        }
        self.close();
    }

    fn branches(&mut self, b: &UncertainBranches, depth: usize) {
        for (name, block) in [
            ("high", &b.high),
            ("medium", &b.medium),
            ("low", &b.low),
            ("default", &b.default),
        ] {
            if let Some(block) = block {
                self.newline(depth + 1);
                let _ = write!(self.out, "{name}:");
                self.block(block, depth + 1);
            }
        }
    }

    fn stmt(&mut self, s: &Stmt, depth: usize) {
        let sp = s.span;
        match &s.kind {
            StmtKind::Expr(e) => {
                self.open("expr", sp);
                self.expr(e);
            }
            StmtKind::Decl { kind, decls } => {
                let k = match kind {
                    DeclKind::Let => "let",
                    DeclKind::Const => "const",
                    DeclKind::Var => "var",
                };
                self.open(k, sp);
                for d in decls {
                    self.out.push(' ');
                    self.pattern(&d.target);
                    self.opt_expr("=", d.init.as_ref());
                }
            }
            StmtKind::Function(f) => {
                self.open("fn-decl", sp);
                self.function(f, depth);
            }
            StmtKind::Return(e) => {
                self.open("return", sp);
                self.opt_expr("value", e.as_ref());
            }
            StmtKind::If { .. }
            | StmtKind::UncertainIf { .. }
            | StmtKind::UncertainWhile { .. }
            | StmtKind::UncertainFor { .. }
            | StmtKind::Try { .. } => self.branch_stmt(s, depth),
            StmtKind::While { .. }
            | StmtKind::DoWhile { .. }
            | StmtKind::For { .. }
            | StmtKind::ForIn { .. } => self.loop_stmt(s, depth),
            StmtKind::Block(b) => {
                self.open("block-stmt", sp);
                self.out.push(' ');
                self.block(b, depth);
            }
            StmtKind::Break => self.open("break", sp),
            StmtKind::Continue => self.open("continue", sp),
            StmtKind::Throw(e) => {
                self.open("throw", sp);
                self.expr(e);
            }
            StmtKind::Destructure {
                pattern,
                threshold,
                value,
            } => {
                self.open("destructure", sp);
                self.out.push(' ');
                self.pattern(pattern);
                self.opt_expr("threshold", threshold.as_deref());
                self.expr(value);
            }
            StmtKind::Import { .. }
            | StmtKind::ExportDecl(_)
            | StmtKind::ExportNames(_)
            | StmtKind::ReExport(_)
            | StmtKind::Context(_)
            | StmtKind::Agents(_)
            | StmtKind::ExportDefault(_) => self.module_stmt(s, depth),
            StmtKind::Empty => self.open("empty", sp),
            StmtKind::Error => self.open("error", sp),
        }
        self.close();
    }

    /// Loops: `while`, `do … while`, `for` and `for … of`.
    fn loop_stmt(&mut self, s: &Stmt, depth: usize) {
        let sp = s.span;
        match &s.kind {
            StmtKind::While { cond, body } => {
                self.open("while", sp);
                self.expr(cond);
                self.newline(depth + 1);
                self.stmt(body, depth + 1);
            }
            StmtKind::DoWhile { body, cond } => {
                self.open("do-while", sp);
                self.expr(cond);
                self.newline(depth + 1);
                self.stmt(body, depth + 1);
            }
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => {
                self.open("for", sp);
                if let Some(i) = init {
                    self.out.push_str(" init:");
                    self.stmt(i, depth + 1);
                }
                self.opt_expr("cond", cond.as_deref());
                self.opt_expr("update", update.as_deref());
                self.newline(depth + 1);
                self.stmt(body, depth + 1);
            }
            StmtKind::ForIn {
                binding,
                index,
                iterable,
                body,
            } => {
                self.open("for-in", sp);
                self.out.push(' ');
                self.pattern(binding);
                if let Some(i) = index {
                    self.ident(i);
                }
                self.expr(iterable);
                self.newline(depth + 1);
                self.stmt(body, depth + 1);
            }
            // The other kinds are written by `stmt`.
            _ => {}
        }
    }

    /// Branches: `if`, the uncertain statements and `try`.
    fn branch_stmt(&mut self, s: &Stmt, depth: usize) {
        let sp = s.span;
        match &s.kind {
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.open("if", sp);
                self.expr(cond);
                self.newline(depth + 1);
                self.stmt(then, depth + 1);
                if let Some(o) = otherwise {
                    self.newline(depth + 1);
                    self.out.push_str("else:");
                    self.stmt(o, depth + 1);
                }
            }
            StmtKind::UncertainIf { cond, branches } => {
                self.open("uncertain-if", sp);
                self.expr(cond);
                self.branches(branches, depth);
            }
            StmtKind::UncertainWhile { cond, branches } => {
                self.open("uncertain-while", sp);
                self.expr(cond);
                self.branches(branches, depth);
            }
            StmtKind::UncertainFor {
                init,
                cond,
                update,
                branches,
            } => {
                self.open("uncertain-for", sp);
                if let Some(i) = init {
                    self.out.push_str(" init:");
                    self.stmt(i, depth + 1);
                }
                self.opt_expr("cond", cond.as_deref());
                self.opt_expr("update", update.as_deref());
                self.branches(branches, depth);
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => {
                self.open("try", sp);
                self.out.push(' ');
                self.block(body, depth);
                if let Some(c) = catch {
                    self.newline(depth + 1);
                    self.open("catch", c.span);
                    if let Some(p) = &c.param {
                        self.out.push(' ');
                        self.pattern(p);
                    }
                    self.out.push(' ');
                    self.block(&c.body, depth + 1);
                    self.close();
                }
                if let Some(f) = finally {
                    self.newline(depth + 1);
                    self.out.push_str("finally:");
                    self.block(f, depth + 1);
                }
            }
            // The other kinds are written by `stmt`.
            _ => {}
        }
    }

    /// Imports, exports, `in context` and `agents` blocks: the module-level statements of
    /// [`Writer::stmt`].
    fn module_stmt(&mut self, s: &Stmt, depth: usize) {
        let sp = s.span;
        match &s.kind {
            StmtKind::Import {
                default,
                namespace,
                names,
                source,
                source_span,
            } => {
                self.open("import", sp);
                if let Some(d) = default {
                    self.word("default:");
                    self.ident(d);
                }
                if let Some(n) = namespace {
                    self.word("*:");
                    self.ident(n);
                }
                for n in names {
                    self.ident(&n.imported);
                    if n.local.name != n.imported.name {
                        self.word("as");
                        self.ident(&n.local);
                    }
                }
                let _ = write!(self.out, " from {source:?}{}", at(*source_span));
            }
            StmtKind::ExportDecl(inner) => {
                self.open("export", sp);
                self.out.push(' ');
                self.stmt(inner, depth);
            }
            StmtKind::ExportNames(names) => {
                self.open("export-names", sp);
                self.export_names(names);
            }
            StmtKind::ReExport(re) => {
                self.open("re-export", sp);
                match &re.names {
                    None => self.word("*"),
                    Some(names) => self.export_names(names),
                }
                let _ = write!(self.out, " from {:?}{}", re.source, at(re.source_span));
            }
            StmtKind::Context(c) => {
                self.open("context", sp);
                self.ident(&c.name);
                if let Some(n) = &c.next {
                    self.word("->");
                    self.ident(n);
                }
                self.out.push(' ');
                self.block(&c.body, depth);
            }
            StmtKind::Agents(decls) => {
                self.open("agents", sp);
                for d in decls {
                    self.newline(depth + 1);
                    self.open("agent", d.span);
                    self.ident(&d.name);
                    self.expr(&d.config);
                    self.close();
                }
            }
            StmtKind::ExportDefault(e) => {
                self.open("export-default", sp);
                self.expr(e);
            }
            // The other kinds are written by `stmt`.
            _ => {}
        }
    }

    fn export_names(&mut self, names: &[ExportSpec]) {
        for n in names {
            self.ident(&n.local);
            if n.local.name != n.exported.name {
                self.word("as");
                self.ident(&n.exported);
            }
        }
    }

    fn function(&mut self, f: &Function, depth: usize) {
        if f.is_async {
            self.word("async");
        }
        if let Some(n) = &f.name {
            self.ident(n);
        }
        self.out.push_str(" (params");
        for p in &f.params {
            self.out.push(' ');
            if p.rest {
                self.out.push_str("...");
            }
            self.pattern(&p.pattern);
            self.opt_expr("=", p.default.as_ref());
        }
        self.out.push(')');
        self.opt_expr("confidence", f.confidence.as_deref());
        match &f.body {
            FunctionBody::Block(b) => {
                self.out.push(' ');
                self.block(b, depth + 1);
            }
            FunctionBody::Expr(e) => self.expr(e),
        }
    }

    fn pattern(&mut self, p: &Pattern) {
        match p {
            Pattern::Ident(id) => {
                let _ = write!(self.out, "{}{}", id.name, at(id.span));
            }
            Pattern::Array { elems, rest, span } => {
                self.open("array-pat", *span);
                for el in elems {
                    self.out.push(' ');
                    match el {
                        None => self.out.push_str("_hole"),
                        Some(el) => {
                            self.pattern(&el.target);
                            self.opt_expr("threshold", el.threshold.as_ref());
                            self.opt_expr("default", el.default.as_ref());
                        }
                    }
                }
                if let Some(r) = rest {
                    self.out.push_str(" ...");
                    self.pattern(r);
                }
                self.close();
            }
            Pattern::Object { props, rest, span } => {
                self.open("object-pat", *span);
                for p in props {
                    self.ident(&p.key);
                    self.out.push(':');
                    self.pattern(&p.target);
                    self.opt_expr("threshold", p.threshold.as_ref());
                    self.opt_expr("default", p.default.as_ref());
                }
                if let Some(r) = rest {
                    self.out.push_str(" ...");
                    self.ident(r);
                }
                self.close();
            }
        }
    }

    fn match_pattern(&mut self, p: &MatchPattern) {
        match p {
            MatchPattern::Wildcard(s) => {
                let _ = write!(self.out, " _{}", at(*s));
            }
            MatchPattern::Literal(e) => self.expr(e),
            MatchPattern::Binding(id) => self.ident(id),
            MatchPattern::Array { elems, rest, span } => {
                self.out.push(' ');
                self.open("array-match", *span);
                for el in elems {
                    self.match_pattern(&el.pattern);
                    self.opt_expr("threshold", el.threshold.as_ref());
                }
                if let Some(r) = rest {
                    self.out.push_str(" ...");
                    self.ident(r);
                }
                self.close();
            }
            MatchPattern::Object { props, rest, span } => {
                self.out.push(' ');
                self.open("object-match", *span);
                for p in props {
                    self.ident(&p.key);
                    if let Some(sub) = &p.pattern {
                        self.out.push(':');
                        self.match_pattern(sub);
                    }
                    self.opt_expr("threshold", p.threshold.as_ref());
                }
                if let Some(r) = rest {
                    self.out.push_str(" ...");
                    self.ident(r);
                }
                self.close();
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        let sp = e.span;
        self.out.push(' ');
        match &e.kind {
            ExprKind::Number(n) => {
                self.open("num", sp);
                let _ = write!(self.out, " {n}");
            }
            ExprKind::String(s) => {
                self.open("str", sp);
                let _ = write!(self.out, " {s:?}");
            }
            ExprKind::Template(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Undefined
            | ExprKind::Ident(_)
            | ExprKind::Placeholder
            | ExprKind::Array(_)
            | ExprKind::Object(_) => self.literal(e),
            ExprKind::Function(f) => {
                self.open(if f.is_arrow { "lambda" } else { "fn" }, sp);
                self.function(f, 0);
            }
            ExprKind::Unary { .. }
            | ExprKind::Update { .. }
            | ExprKind::Binary { .. }
            | ExprKind::Logical { .. }
            | ExprKind::Attach { .. }
            | ExprKind::Conditional { .. }
            | ExprKind::ConfConditional { .. }
            | ExprKind::Assign { .. } => self.operator(e),
            ExprKind::Member { .. }
            | ExprKind::Index { .. }
            | ExprKind::Call { .. }
            | ExprKind::Match { .. } => self.access(e),
            ExprKind::Pipeline { lhs, rhs } => {
                self.open("pipeline", sp);
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Await(x) => {
                self.open("await", sp);
                self.expr(x);
            }
            ExprKind::Sequence(items) => {
                self.open("seq", sp);
                for x in items {
                    self.expr(x);
                }
            }
            ExprKind::Error => self.open("error", sp),
        }
        self.close();
    }
    /// Templates, constants, names, arrays and objects: the literals of [`Writer::expr`]
    /// (numbers and strings stay there).
    fn literal(&mut self, e: &Expr) {
        let sp = e.span;
        match &e.kind {
            ExprKind::Template(parts) => {
                self.open("template", sp);
                for p in parts {
                    match p {
                        TemplatePart::Text(t) => {
                            let _ = write!(self.out, " {t:?}");
                        }
                        TemplatePart::Expr(x) => self.expr(x),
                    }
                }
            }
            ExprKind::Bool(b) => {
                self.open("bool", sp);
                let _ = write!(self.out, " {b}");
            }
            ExprKind::Null => self.open("null", sp),
            ExprKind::Undefined => self.open("undefined", sp),
            ExprKind::Ident(n) => {
                self.open("id", sp);
                self.word(n);
            }
            ExprKind::Placeholder => self.open("placeholder", sp),
            ExprKind::Array(items) => {
                self.open("array", sp);
                for it in items {
                    match it {
                        ArrayElem::Expr(x) => self.expr(x),
                        ArrayElem::Spread(x) => {
                            self.out.push_str(" ...");
                            self.expr(x);
                        }
                        ArrayElem::Hole => self.word("_hole"),
                    }
                }
            }
            ExprKind::Object(props) => {
                self.open("object", sp);
                for p in props {
                    match p {
                        Property::KeyValue { key, value, span } => {
                            self.out.push(' ');
                            self.open("prop", *span);
                            match key {
                                PropKey::Static(k) => self.word(k),
                                PropKey::Computed(k) => {
                                    self.word("computed:");
                                    self.expr(k);
                                }
                            }
                            self.expr(value);
                            self.close();
                        }
                        Property::Shorthand(id) => {
                            self.word("shorthand:");
                            self.ident(id);
                        }
                        Property::Spread(x) => {
                            self.word("...");
                            self.expr(x);
                        }
                        Property::PatternOnly(p) => {
                            self.out.push(' ');
                            self.open("pattern-prop", p.span);
                            self.ident(&p.key);
                            self.opt_expr("threshold", p.threshold.as_ref());
                            self.opt_expr("default", p.default.as_ref());
                            self.close();
                        }
                    }
                }
            }
            // The other kinds are written by `expr`.
            _ => {}
        }
    }

    /// Members, indexes, calls and `match`.
    fn access(&mut self, e: &Expr) {
        let sp = e.span;
        match &e.kind {
            ExprKind::Member {
                object,
                property,
                optional,
                confident,
            } => {
                self.open(
                    match (optional, confident) {
                        (true, _) => "member?.",
                        (_, true) => "member~.",
                        _ => "member",
                    },
                    sp,
                );
                self.expr(object);
                self.ident(property);
            }
            ExprKind::Index {
                object,
                index,
                optional,
            } => {
                self.open(if *optional { "index?." } else { "index" }, sp);
                self.expr(object);
                self.expr(index);
            }
            ExprKind::Call {
                callee,
                args,
                optional,
            } => {
                self.open(if *optional { "call?." } else { "call" }, sp);
                self.expr(callee);
                for a in args {
                    match a {
                        Arg::Expr(x) => self.expr(x),
                        Arg::Spread(x) => {
                            self.out.push_str(" ...");
                            self.expr(x);
                        }
                    }
                }
            }
            ExprKind::Match { subject, arms } => {
                self.open("match", sp);
                self.expr(subject);
                for arm in arms {
                    self.out.push(' ');
                    self.open("arm", arm.span);
                    self.match_pattern(&arm.pattern);
                    self.opt_expr("threshold", arm.threshold.as_ref());
                    self.opt_expr("if", arm.guard.as_ref());
                    match &arm.body {
                        MatchBody::Expr(b) => self.expr(b),
                        MatchBody::Block(b) => {
                            self.out.push(' ');
                            self.block(b, 1);
                        }
                    }
                    self.close();
                }
            }
            // The other kinds are written by `expr`.
            _ => {}
        }
    }

    /// Unary, update, binary, logical, attach, conditional and assignment expressions.
    fn operator(&mut self, e: &Expr) {
        let sp = e.span;
        match &e.kind {
            ExprKind::Unary { op, expr } => {
                self.open("unary", sp);
                self.word(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                    UnaryOp::Not => "!",
                    UnaryOp::Tilde => "~",
                    UnaryOp::Extract => "<~",
                    UnaryOp::Typeof => "typeof",
                });
                self.expr(expr);
            }
            ExprKind::Update { op, prefix, target } => {
                self.open("update", sp);
                let o = match op {
                    UpdateOp::Inc => "++",
                    UpdateOp::Dec => "--",
                };
                self.word(&if *prefix {
                    format!("{o}_")
                } else {
                    format!("_{o}")
                });
                self.expr(target);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.open("binary", sp);
                self.word(op.as_str());
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Logical { op, lhs, rhs } => {
                self.open("logical", sp);
                self.word(match op {
                    LogicalOp::And => "&&",
                    LogicalOp::Or => "||",
                    LogicalOp::Nullish => "??",
                });
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Attach { value, confidence } => {
                self.open("attach", sp);
                self.expr(value);
                self.expr(confidence);
            }
            ExprKind::Conditional {
                cond,
                then,
                otherwise,
            } => {
                self.open("cond", sp);
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::ConfConditional {
                cond,
                then,
                otherwise,
            } => {
                self.open("conf-cond", sp);
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Assign { op, target, value } => {
                self.open("assign", sp);
                self.word(&format!("{op:?}"));
                self.expr(target);
                self.expr(value);
            }
            // The other kinds are written by `expr`.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_nodes_with_their_ranges() {
        let p = crate::parse("let x = f(1) ~> 0.5\nprint(x)");
        assert_eq!(
            super::program(&p.program),
            "(let@0..19 x@4..5 =: (attach@8..19 (call@8..12 (id@8..9 f) (num@10..11 1)) (num@16..19 0.5)))\n\
             (expr@20..28 (call@20..28 (id@20..25 print) (id@26..27 x)))\n"
        );
    }
}
