//! Statements and blocks.

use crate::ast::*;
use crate::comments::Comment;
use crate::span::Span;

use super::Formatter;
use super::doc::{Doc, broken_group, concat, group, indent, text};
use super::expr::{ASSIGN, Lead, POSTFIX, lead};
use super::lines::Lines;

impl Formatter<'_> {
    /// A whole file.
    pub(super) fn program(&mut self, stmts: &[Stmt]) -> Doc {
        let mut lines = self.statements(stmts);
        let rest = self.take_before(u32::MAX);
        lines.comments(self, &rest);
        lines.finish()
    }

    /// The lines of a statement list, with the comments before each statement.
    fn statements(&mut self, stmts: &[Stmt]) -> Lines {
        let mut lines = Lines::new();
        let stmts: Vec<&Stmt> = stmts
            .iter()
            .filter(|s| !matches!(s.kind, StmtKind::Empty))
            .collect();
        for (i, s) in stmts.iter().enumerate() {
            let leading = self.take_before(s.span.start);
            lines.comments(self, &leading);
            let d = self.stmt(s);
            // A bare `return` takes an expression from the next line (as in the reference):
            // `;` keeps it bare when a statement follows.
            let suffix = if matches!(s.kind, StmtKind::Return(None)) && i + 1 < stmts.len() {
                ";"
            } else {
                ""
            };
            lines.item(self, s.span, d, needs_semicolon(s), suffix);
        }
        lines
    }

    /// `{ … }` with its statements and the comments before its `}`.
    pub(super) fn block(&mut self, b: &Block) -> Doc {
        let mut lines = self.statements(&b.stmts);
        let dangling = self.take_before(b.span.end.saturating_sub(1));
        lines.comments(self, &dangling);
        braced(lines)
    }

    /// A statement without the comments around it.
    pub(super) fn stmt(&mut self, s: &Stmt) -> Doc {
        match &s.kind {
            StmtKind::Expr(e) => self.expr_stmt(e),
            StmtKind::Decl { kind, decls } => self.decl(*kind, decls),
            StmtKind::Function(f) => self.function(f),
            StmtKind::Return(None) => text("return"),
            // `return {…}` returns an object, as in the reference.
            StmtKind::Return(Some(e)) => concat(vec![text("return "), self.expr(e, ASSIGN)]),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => self.if_stmt(cond, then, otherwise.as_deref()),
            StmtKind::Block(b) => self.block(b),
            StmtKind::While { .. }
            | StmtKind::DoWhile { .. }
            | StmtKind::For { .. }
            | StmtKind::UncertainFor { .. } => self.loop_stmt(s),
            StmtKind::ForIn {
                binding,
                index,
                iterable,
                body,
            } => self.for_in(s.span, binding, index.as_ref(), iterable, body),
            StmtKind::UncertainIf { cond, branches } => {
                self.uncertain("uncertain if", cond, branches)
            }
            StmtKind::UncertainWhile { cond, branches } => {
                self.uncertain("uncertain while", cond, branches)
            }
            StmtKind::Break => text("break"),
            StmtKind::Continue => text("continue"),
            StmtKind::Throw(e) => concat(vec![text("throw "), self.expr(e, ASSIGN)]),
            StmtKind::Try {
                body,
                catch,
                finally,
            } => self.try_stmt(body, catch.as_deref(), finally.as_deref()),
            StmtKind::Destructure {
                pattern,
                threshold,
                value,
            } => self.destructure(pattern, threshold.as_deref(), value),
            StmtKind::Import {
                default,
                namespace,
                names,
                source_span,
                ..
            } => self.import(
                default.as_deref(),
                namespace.as_deref(),
                names,
                *source_span,
            ),
            StmtKind::ExportDecl(inner) => concat(vec![text("export "), self.stmt(inner)]),
            StmtKind::ExportNames(names) => {
                let items = export_items(names);
                concat(vec![text("export "), self.simple_list(items, "{", "}")])
            }
            StmtKind::ReExport(re) => self.re_export(re),
            StmtKind::Context(c) => self.context(c),
            StmtKind::Agents(decls) => self.agents(s.span, decls),
            StmtKind::ExportDefault(e) => {
                concat(vec![text("export default "), self.expr(e, ASSIGN)])
            }
            StmtKind::Empty => text(";"),
            StmtKind::Error => text(self.slice(s.span).trim().to_string()),
        }
    }

    /// `while`, `do … while`, C-style `for` and `uncertain for`.
    fn loop_stmt(&mut self, s: &Stmt) -> Doc {
        match &s.kind {
            StmtKind::While { cond, body } => {
                let c = self.cond("while", cond);
                let b = self.body(body);
                concat(vec![c, b])
            }
            StmtKind::DoWhile { body, cond } => {
                let b = match &body.kind {
                    StmtKind::Block(b) => self.block(b),
                    _ => self.stmt(body),
                };
                let c = self.cond(" while", cond);
                concat(vec![text("do "), b, c])
            }
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => {
                let head =
                    self.for_head("for", init.as_deref(), cond.as_deref(), update.as_deref());
                let b = self.body(body);
                concat(vec![head, b])
            }
            StmtKind::UncertainFor {
                init,
                cond,
                update,
                branches,
            } => {
                let head = self.for_head(
                    "uncertain for",
                    init.as_deref(),
                    cond.as_deref(),
                    update.as_deref(),
                );
                let b = self.branches(branches);
                concat(vec![head, text(" "), b])
            }
            _ => self.stmt(s),
        }
    }

    /// An expression statement, in parentheses when it would start like a block or a
    /// function declaration.
    fn expr_stmt(&mut self, e: &Expr) -> Doc {
        let d = self.expr(e, ASSIGN);
        if matches!(lead(e, ASSIGN), Lead::Brace | Lead::Function) {
            concat(vec![text("("), d, text(")")])
        } else {
            d
        }
    }

    /// `uncertain if (…)` / `uncertain while (…)` and the branches.
    fn uncertain(&mut self, keyword: &str, cond: &Expr, branches: &UncertainBranches) -> Doc {
        let c = self.cond(keyword, cond);
        let b = self.branches(branches);
        concat(vec![c, text(" "), b])
    }

    /// `try {…} catch (e) {…} finally {…}`.
    fn try_stmt(
        &mut self,
        body: &Block,
        catch: Option<&CatchClause>,
        finally: Option<&Block>,
    ) -> Doc {
        let mut parts = vec![text("try "), self.block(body)];
        if let Some(c) = catch {
            parts.push(text(" catch "));
            if let Some(p) = &c.param {
                parts.push(text("("));
                parts.push(self.pattern(p, false));
                parts.push(text(") "));
            }
            parts.push(self.block(&c.body));
        }
        if let Some(f) = finally {
            parts.push(text(" finally "));
            parts.push(self.block(f));
        }
        concat(parts)
    }

    /// `[a, b] ~> 0.7 = value` at statement level.
    fn destructure(&mut self, pattern: &Pattern, threshold: Option<&Expr>, value: &Expr) -> Doc {
        let mut parts = vec![self.pattern(pattern, true)];
        if let Some(t) = threshold {
            parts.push(text(" ~> "));
            parts.push(self.expr(t, POSTFIX));
        }
        parts.push(text(" = "));
        parts.push(self.expr(value, ASSIGN));
        concat(parts)
    }

    /// `import d, {a, b as c} from "…"`, `import * as ns from "…"`, `import "…"`.
    fn import(
        &mut self,
        default: Option<&Ident>,
        namespace: Option<&Ident>,
        names: &[ImportSpec],
        source_span: Span,
    ) -> Doc {
        let from = text(format!(" from {}", self.slice(source_span)));
        if let Some(d) = default {
            if names.is_empty() {
                concat(vec![text(format!("import {}", d.name)), from])
            } else {
                let items = import_items(names);
                concat(vec![
                    text(format!("import {}, ", d.name)),
                    self.simple_list(items, "{", "}"),
                    from,
                ])
            }
        } else if let Some(ns) = namespace {
            concat(vec![text(format!("import * as {}", ns.name)), from])
        } else if names.is_empty() {
            text(format!("import {}", self.slice(source_span)))
        } else {
            let items = import_items(names);
            concat(vec![
                text("import "),
                self.simple_list(items, "{", "}"),
                from,
            ])
        }
    }

    /// `export {a, b as c} from "…"`, `export * from "…"`.
    fn re_export(&mut self, re: &ReExport) -> Doc {
        let from = text(format!(" from {}", self.slice(re.source_span)));
        match &re.names {
            None => concat(vec![text("export *"), from]),
            Some(names) => {
                let items = export_items(names);
                concat(vec![
                    text("export "),
                    self.simple_list(items, "{", "}"),
                    from,
                ])
            }
        }
    }

    /// `in context Name {…} -> Next`.
    fn context(&mut self, c: &ContextStmt) -> Doc {
        let mut parts = vec![
            text(format!("in context {} ", self.slice(c.name.span))),
            self.block(&c.body),
        ];
        if let Some(next) = &c.next {
            parts.push(text(format!(" -> {}", self.slice(next.span))));
        }
        concat(parts)
    }

    /// `agents { name: config, … }` with the comments before each entry and before `}`.
    fn agents(&mut self, span: Span, decls: &[AgentDecl]) -> Doc {
        let mut lines = Lines::new();
        for d in decls {
            let leading = self.take_before(d.span.start);
            lines.comments(self, &leading);
            let config = self.expr(&d.config, ASSIGN);
            let doc = concat(vec![text(format!("{}: ", d.name.name)), config]);
            lines.item(self, d.span, doc, false, ",");
        }
        let dangling = self.take_before(span.end.saturating_sub(1));
        lines.comments(self, &dangling);
        concat(vec![text("agents "), braced(lines)])
    }

    fn decl(&mut self, kind: DeclKind, decls: &[Declarator]) -> Doc {
        let kw = match kind {
            DeclKind::Let => "let ",
            DeclKind::Const => "const ",
            DeclKind::Var => "var ",
        };
        let mut rest = Vec::new();
        let mut first = Doc::Nil;
        for (i, d) in decls.iter().enumerate() {
            let mut parts = vec![self.pattern(&d.target, false)];
            if let Some(init) = &d.init {
                parts.push(text(" = "));
                parts.push(self.expr(init, ASSIGN));
            }
            if i == 0 {
                first = concat(parts);
            } else {
                rest.push(text(","));
                rest.push(Doc::Line);
                rest.push(concat(parts));
            }
        }
        group(concat(vec![text(kw), first, indent(concat(rest))]))
    }

    /// `function name(params) ~> c { … }`
    pub(super) fn function(&mut self, f: &Function) -> Doc {
        let mut parts = Vec::new();
        if f.is_async {
            parts.push(text("async "));
        }
        parts.push(text("function"));
        if let Some(n) = &f.name {
            parts.push(text(format!(" {}", n.name)));
        }
        parts.push(self.params(&f.params, body_start(f)));
        if let Some(c) = &f.confidence {
            parts.push(text(" ~> "));
            parts.push(self.expr(c, POSTFIX));
        }
        parts.push(text(" "));
        parts.push(self.function_body(&f.body));
        concat(parts)
    }

    /// `keyword (cond)`
    fn cond(&mut self, keyword: &str, cond: &Expr) -> Doc {
        concat(vec![
            text(format!("{keyword} (")),
            self.expr(cond, ASSIGN),
            text(")"),
        ])
    }

    /// The body of `if`/`while`/`for`: a block, or a statement on the same line.
    fn body(&mut self, body: &Stmt) -> Doc {
        match &body.kind {
            StmtKind::Block(b) => concat(vec![text(" "), self.block(b)]),
            _ => concat(vec![text(" "), self.stmt(body)]),
        }
    }

    fn if_stmt(&mut self, cond: &Expr, then: &Stmt, otherwise: Option<&Stmt>) -> Doc {
        let c = self.cond("if", cond);
        let t = self.body(then);
        let mut parts = vec![c, t];
        if let Some(o) = otherwise {
            parts.push(text(" else"));
            parts.push(self.body(o));
        }
        concat(parts)
    }

    /// `for (init; cond; update)`
    fn for_head(
        &mut self,
        keyword: &str,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
    ) -> Doc {
        let mut parts = vec![text(format!("{keyword} ("))];
        if let Some(i) = init {
            parts.push(self.stmt(i));
        }
        parts.push(text(";"));
        if let Some(c) = cond {
            parts.push(text(" "));
            parts.push(self.expr(c, ASSIGN));
        }
        parts.push(text(";"));
        if let Some(u) = update {
            parts.push(text(" "));
            parts.push(self.expr(u, ASSIGN));
        }
        parts.push(text(")"));
        concat(parts)
    }

    /// `for x in xs`, `for x, i in xs`, `for (const x of xs)`: the way the source wrote it.
    fn for_in(
        &mut self,
        span: Span,
        binding: &Pattern,
        index: Option<&Ident>,
        iterable: &Expr,
        body: &Stmt,
    ) -> Doc {
        let head = self.slice(Span::new(
            span.start as usize,
            binding.span().start as usize,
        ));
        let after = index.map_or(binding.span().end, |i| i.span.end);
        let between = self.slice(Span::new(after as usize, iterable.span.start as usize));
        let is_block = matches!(body.kind, StmtKind::Block(_));
        let paren = head.contains('(') || !is_block;
        let kw = head
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| matches!(*w, "let" | "const" | "var"));
        let kw = match (index, binding) {
            (Some(_), _) => None,
            (None, Pattern::Ident(_)) => kw,
            (None, _) => Some(kw.unwrap_or("const")),
        };
        let word = if between
            .split_whitespace()
            .any(|w| w.trim_end_matches(')') == "of")
        {
            "of"
        } else {
            "in"
        };
        let mut parts = vec![text(if paren { "for (" } else { "for " })];
        if let Some(k) = kw {
            parts.push(text(format!("{k} ")));
        }
        parts.push(self.pattern(binding, false));
        if let Some(i) = index {
            parts.push(text(format!(", {}", i.name)));
        }
        parts.push(text(format!(" {word} ")));
        parts.push(self.expr(iterable, ASSIGN));
        if paren {
            parts.push(text(")"));
        }
        parts.push(self.body(body));
        concat(parts)
    }

    /// The `high/medium/low/default` branches, one per line, in source order.
    fn branches(&mut self, b: &UncertainBranches) -> Doc {
        let mut list: Vec<(&str, &Block)> = [
            ("high", &b.high),
            ("medium", &b.medium),
            ("low", &b.low),
            ("default", &b.default),
        ]
        .into_iter()
        .filter_map(|(n, b)| b.as_ref().map(|b| (n, b)))
        .collect();
        list.sort_by_key(|(_, b)| b.span.start);
        let mut lines = Lines::new();
        for (name, block) in list {
            let leading: Vec<Comment> = self.take_before(block.span.start);
            lines.comments(self, &leading);
            let body = self.branch_body(block);
            let d = concat(vec![text(format!("{name} ")), body]);
            lines.item(self, block.span, d, false, "");
        }
        braced(lines)
    }
}

impl Formatter<'_> {
    /// A branch block: `{ stmt }` on one line when it holds one short simple statement and no
    /// comment, else a block.
    fn branch_body(&mut self, b: &Block) -> Doc {
        let has_comment = self
            .comments
            .iter()
            .any(|c| c.span.start >= b.span.start && c.span.start < b.span.end);
        if let [s] = b.stmts.as_slice()
            && !has_comment
            && needs_semicolon(s)
            && !matches!(
                s.kind,
                StmtKind::If { .. }
                    | StmtKind::While { .. }
                    | StmtKind::For { .. }
                    | StmtKind::ForIn { .. }
                    | StmtKind::DoWhile { .. }
            )
        {
            let d = self.stmt(s);
            if !super::has_hard_line(&d) {
                return group(concat(vec![
                    text("{"),
                    indent(concat(vec![Doc::Line, d])),
                    Doc::Line,
                    text("}"),
                ]));
            }
            return braced_doc(d);
        }
        self.block(b)
    }
}

/// A block holding one statement's document.
fn braced_doc(d: Doc) -> Doc {
    broken_group(concat(vec![
        text("{"),
        indent(concat(vec![Doc::HardLine, d])),
        Doc::HardLine,
        text("}"),
    ]))
}

/// `{`, the lines indented, `}`; `{}` when empty.
pub(super) fn braced(lines: Lines) -> Doc {
    if lines.is_empty() {
        return text("{}");
    }
    broken_group(concat(vec![
        text("{"),
        indent(concat(vec![Doc::HardLine, lines.finish()])),
        Doc::HardLine,
        text("}"),
    ]))
}

/// Where a function's body starts (the end of its parameter list, for comments).
pub(super) fn body_start(f: &Function) -> u32 {
    match &f.body {
        FunctionBody::Block(b) => b.span.start,
        FunctionBody::Expr(e) => e.span.start,
    }
}

/// Does the statement end like an expression (so a next line starting with `(` or `[` would
/// continue it unless a `;` ends it)? Statements ending with a block do not.
fn needs_semicolon(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Function(_)
        | StmtKind::Block(_)
        | StmtKind::UncertainIf { .. }
        | StmtKind::UncertainWhile { .. }
        | StmtKind::UncertainFor { .. }
        | StmtKind::Try { .. }
        | StmtKind::Context(_)
        | StmtKind::Agents(_)
        | StmtKind::Empty => false,
        StmtKind::If {
            then, otherwise, ..
        } => needs_semicolon(otherwise.as_deref().unwrap_or(then)),
        StmtKind::While { body, .. }
        | StmtKind::For { body, .. }
        | StmtKind::ForIn { body, .. } => needs_semicolon(body),
        StmtKind::ExportDecl(inner) => needs_semicolon(inner),
        _ => true,
    }
}

/// `a` / `a as b` of an import list.
fn import_items(names: &[ImportSpec]) -> Vec<Doc> {
    names
        .iter()
        .map(|n| {
            if n.imported.name == n.local.name {
                text(n.local.name.to_string())
            } else {
                text(format!("{} as {}", n.imported.name, n.local.name))
            }
        })
        .collect()
}

/// `a` / `a as b` of an export list.
fn export_items(names: &[ExportSpec]) -> Vec<Doc> {
    names
        .iter()
        .map(|n| {
            if n.local.name == n.exported.name {
                text(n.local.name.to_string())
            } else {
                text(format!("{} as {}", n.local.name, n.exported.name))
            }
        })
        .collect()
}
