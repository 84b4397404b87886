//! One walk over the syntax tree that records scopes, declarations and uses of names, then
//! resolves the uses and reports the lints.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::ast::*;
use crate::{Diagnostic, Span};

use super::{Occurrence, Scope, ScopeId, Symbol, SymbolId, SymbolKind, Target, codes};
use crate::builtins;

/// A use of a name waiting to be resolved.
struct Use {
    name: Name,
    span: Span,
    scope: ScopeId,
    /// Read (false for a plain `x = …`).
    read: bool,
    /// `x = …` to a name nothing declares declares it here.
    declares: bool,
    decl_span: Span,
    /// `export { x }`
    export: bool,
}

/// A call of a name or of `ns.name`, checked against the builtin table once names resolve.
struct CallSite {
    /// `print` or `Math.max`.
    name: String,
    /// The first name of the callee and its use index.
    root: usize,
    args: usize,
    span: Span,
}

struct Walker {
    symbols: Vec<Symbol>,
    scopes: Vec<Scope>,
    uses: Vec<Use>,
    calls: Vec<CallSite>,
    stack: Vec<ScopeId>,
    /// Every declaration site (a redeclaration points at the first symbol).
    defs: Vec<(Span, SymbolId)>,
    /// Object keys of `x = {…}` assignments, by use index.
    pending_keys: Vec<(usize, Vec<Name>)>,
}

/// Resolves every name of a program: symbols, scopes, occurrences (sorted) and lints.
pub(super) fn resolve(
    program: &Program,
) -> (Vec<Symbol>, Vec<Scope>, Vec<Occurrence>, Vec<Diagnostic>) {
    let mut w = Walker {
        symbols: Vec::new(),
        scopes: Vec::new(),
        uses: Vec::new(),
        calls: Vec::new(),
        stack: Vec::new(),
        defs: Vec::new(),
        pending_keys: Vec::new(),
    };
    w.push_scope(program.span, true);
    for s in &program.stmts {
        w.stmt(s);
    }
    w.finish()
}

impl Walker {
    fn scope(&self) -> ScopeId {
        self.stack.last().copied().unwrap_or(0)
    }

    fn push_scope(&mut self, span: Span, function: bool) -> ScopeId {
        let id = self.scopes.len();
        let parent = self.stack.last().copied();
        let func = if function || parent.is_none() {
            id
        } else {
            parent.map_or(id, |p| self.scopes[p].function)
        };
        self.scopes.push(Scope {
            parent,
            span,
            function: func,
            names: FxHashMap::default(),
        });
        self.stack.push(id);
        id
    }

    fn pop_scope(&mut self) {
        self.stack.pop();
    }

    /// Declares `id` in the current scope (a redeclaration in the same scope keeps the first).
    fn declare(&mut self, id: &Ident, kind: SymbolKind, decl_span: Span) -> SymbolId {
        let scope = self.scope();
        if let Some(&existing) = self.scopes[scope].names.get(&id.name) {
            self.defs.push((id.span, existing));
            return existing;
        }
        let sid = self.symbols.len();
        self.symbols.push(Symbol {
            name: id.name.clone(),
            kind,
            span: id.span,
            decl_span,
            scope,
            exported: false,
            import: None,
            reads: 0,
            writes: 0,
            keys: Vec::new(),
            params: None,
        });
        self.scopes[scope].names.insert(id.name.clone(), sid);
        self.defs.push((id.span, sid));
        sid
    }

    fn use_name(&mut self, name: &Name, span: Span, read: bool) -> usize {
        self.uses.push(Use {
            name: name.clone(),
            span,
            scope: self.scope(),
            read,
            declares: false,
            decl_span: span,
            export: false,
        });
        self.uses.len() - 1
    }

    /// Declares every name a binding pattern binds; defaults and thresholds are uses.
    fn pattern(&mut self, p: &Pattern, kind: SymbolKind, decl_span: Span) -> Vec<SymbolId> {
        let mut out = Vec::new();
        self.pattern_into(p, kind, decl_span, &mut out);
        out
    }

    fn pattern_into(
        &mut self,
        p: &Pattern,
        kind: SymbolKind,
        decl_span: Span,
        out: &mut Vec<SymbolId>,
    ) {
        match p {
            Pattern::Ident(id) => {
                if &*id.name != "_" {
                    out.push(self.declare(id, kind, decl_span));
                }
            }
            Pattern::Array { elems, rest, .. } => {
                for e in elems.iter().flatten() {
                    self.opt_expr(e.threshold.as_ref());
                    self.opt_expr(e.default.as_ref());
                    self.pattern_into(&e.target, kind, decl_span, out);
                }
                if let Some(r) = rest {
                    self.pattern_into(r, kind, decl_span, out);
                }
            }
            Pattern::Object { props, rest, .. } => {
                for pr in props {
                    self.opt_expr(pr.threshold.as_ref());
                    self.opt_expr(pr.default.as_ref());
                    self.pattern_into(&pr.target, kind, decl_span, out);
                }
                if let Some(r) = rest {
                    out.push(self.declare(r, kind, decl_span));
                }
            }
        }
    }

    /// A destructuring assignment: names not declared anywhere are declared here.
    fn assign_pattern(&mut self, p: &Pattern, decl_span: Span) {
        match p {
            Pattern::Ident(id) => {
                if &*id.name != "_" {
                    self.assign_target(id, decl_span);
                }
            }
            Pattern::Array { elems, rest, .. } => {
                for e in elems.iter().flatten() {
                    self.opt_expr(e.threshold.as_ref());
                    self.opt_expr(e.default.as_ref());
                    self.assign_pattern(&e.target, decl_span);
                }
                if let Some(r) = rest {
                    self.assign_pattern(r, decl_span);
                }
            }
            Pattern::Object { props, rest, .. } => {
                for pr in props {
                    self.opt_expr(pr.threshold.as_ref());
                    self.opt_expr(pr.default.as_ref());
                    self.assign_pattern(&pr.target, decl_span);
                }
                if let Some(r) = rest {
                    self.assign_target(r, decl_span);
                }
            }
        }
    }

    fn assign_target(&mut self, id: &Ident, decl_span: Span) {
        self.uses.push(Use {
            name: id.name.clone(),
            span: id.span,
            scope: self.scope(),
            read: false,
            declares: true,
            decl_span,
            export: false,
        });
    }

    fn opt_expr(&mut self, e: Option<&Expr>) {
        if let Some(e) = e {
            self.expr(e);
        }
    }

    fn block(&mut self, b: &Block) {
        self.push_scope(b.span, false);
        for s in &b.stmts {
            self.stmt(s);
        }
        self.pop_scope();
    }

    fn body(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block(b),
            _ => self.stmt(s),
        }
    }

    fn branches(&mut self, b: &UncertainBranches) {
        for block in [&b.high, &b.medium, &b.low, &b.default]
            .into_iter()
            .flatten()
        {
            self.block(block);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) | StmtKind::Throw(e) | StmtKind::ExportDefault(e) => self.expr(e),
            StmtKind::Decl { kind, decls } => self.decl(*kind, decls, s.span),
            StmtKind::Function(f) => self.function_decl(f, s.span),
            StmtKind::Return(e) => self.opt_expr(e.as_ref()),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond);
                self.body(then);
                if let Some(o) = otherwise {
                    self.body(o);
                }
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::While { cond, body } | StmtKind::DoWhile { body, cond } => {
                self.expr(cond);
                self.body(body);
            }
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => {
                self.for_head(s.span, init.as_deref(), cond.as_deref(), update.as_deref());
                self.body(body);
                self.pop_scope();
            }
            StmtKind::ForIn {
                binding,
                index,
                iterable,
                body,
            } => self.for_in(s.span, binding, index.as_ref(), iterable, body),
            StmtKind::UncertainIf { cond, branches }
            | StmtKind::UncertainWhile { cond, branches } => {
                self.expr(cond);
                self.branches(branches);
            }
            StmtKind::UncertainFor {
                init,
                cond,
                update,
                branches,
            } => {
                self.for_head(s.span, init.as_deref(), cond.as_deref(), update.as_deref());
                self.branches(branches);
                self.pop_scope();
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => self.try_stmt(body, catch.as_deref(), finally.as_deref()),
            StmtKind::Destructure {
                pattern,
                threshold,
                value,
            } => {
                self.opt_expr(threshold.as_deref());
                self.expr(value);
                self.assign_pattern(pattern, s.span);
            }
            StmtKind::Import {
                default,
                namespace,
                names,
                source,
                ..
            } => self.import(
                default.as_deref(),
                namespace.as_deref(),
                names,
                source,
                s.span,
            ),
            StmtKind::ExportDecl(inner) => self.export_decl(inner),
            StmtKind::ExportNames(names) => {
                for n in names {
                    let u = self.use_name(&n.local.name, n.local.span, true);
                    self.uses[u].export = true;
                }
            }
            // Re-exported names belong to the other module; nothing is bound or used here.
            StmtKind::ReExport(_) => {}
            // The body runs in the enclosing scope.
            StmtKind::Context(c) => {
                for st in &c.body.stmts {
                    self.stmt(st);
                }
            }
            StmtKind::Agents(decls) => self.agents(decls),
            StmtKind::Break | StmtKind::Continue | StmtKind::Empty | StmtKind::Error => {}
        }
    }

    /// `function name(…) {…}`: the name (with its parameters' names), then the function.
    fn function_decl(&mut self, f: &Function, span: Span) {
        if let Some(name) = &f.name {
            let id = self.declare(name, SymbolKind::Function, span);
            self.symbols[id].params = Some(param_names(f));
        }
        self.function(f);
    }

    /// `agents { name: config, … }`: each config, then the name bound to it (with its keys).
    fn agents(&mut self, decls: &[AgentDecl]) {
        for d in decls {
            self.expr(&d.config);
            let id = self.declare(&d.name, SymbolKind::Agent, d.span);
            self.symbols[id].keys = object_keys(&d.config);
        }
    }

    /// Opens the scope of a `for` loop (closed by the caller after the body) and walks its
    /// head: `init`, `cond`, `update`.
    fn for_head(
        &mut self,
        span: Span,
        init: Option<&Stmt>,
        cond: Option<&Expr>,
        update: Option<&Expr>,
    ) {
        self.push_scope(span, false);
        if let Some(i) = init {
            self.stmt(i);
        }
        self.opt_expr(cond);
        self.opt_expr(update);
    }

    /// `for (binding[, index] of iterable) body`: the iterable outside the loop's scope.
    fn for_in(
        &mut self,
        span: Span,
        binding: &Pattern,
        index: Option<&Ident>,
        iterable: &Expr,
        body: &Stmt,
    ) {
        self.expr(iterable);
        self.push_scope(span, false);
        self.pattern(binding, SymbolKind::LoopVar, span);
        if let Some(i) = index {
            self.declare(i, SymbolKind::LoopVar, span);
        }
        self.body(body);
        self.pop_scope();
    }

    /// `let`/`const`/`var`: each initialiser, then the names it binds (with the keys of an
    /// object and the parameters of a function it is given).
    fn decl(&mut self, kind: DeclKind, decls: &[Declarator], span: Span) {
        let kind = match kind {
            DeclKind::Let => SymbolKind::Let,
            DeclKind::Const => SymbolKind::Const,
            DeclKind::Var => SymbolKind::Var,
        };
        for d in decls {
            self.opt_expr(d.init.as_ref());
            let ids = self.pattern(&d.target, kind, span);
            if let (Some(&id), Some(init)) = (ids.first(), &d.init) {
                self.symbols[id].keys = object_keys(init);
                if let ExprKind::Function(f) = &init.kind {
                    self.symbols[id].params = Some(param_names(f));
                }
            }
        }
    }

    /// `try`, the `catch` parameter in its own scope, `finally`.
    fn try_stmt(&mut self, body: &Block, catch: Option<&CatchClause>, finally: Option<&Block>) {
        self.block(body);
        if let Some(c) = catch {
            self.push_scope(c.span, false);
            if let Some(p) = &c.param {
                self.pattern(p, SymbolKind::CatchParam, c.span);
            }
            for st in &c.body.stmts {
                self.stmt(st);
            }
            self.pop_scope();
        }
        if let Some(f) = finally {
            self.block(f);
        }
    }

    /// The names an `import` binds, each with the module and name it comes from.
    fn import(
        &mut self,
        default: Option<&Ident>,
        namespace: Option<&Ident>,
        names: &[ImportSpec],
        source: &Arc<str>,
        span: Span,
    ) {
        let add = |w: &mut Walker, local: &Ident, imported: Name| {
            let id = w.declare(local, SymbolKind::Import, span);
            w.symbols[id].import = Some((source.clone(), imported));
        };
        if let Some(d) = default {
            add(self, d, Arc::from("default"));
        }
        if let Some(n) = namespace {
            add(self, n, Arc::from("*"));
        }
        for n in names {
            // The imported name is a use of the other module's export.
            add(self, &n.local, n.imported.name.clone());
        }
    }

    /// `export let/const/function …`: the top-level names it declares are exported.
    fn export_decl(&mut self, inner: &Stmt) {
        let before = self.symbols.len();
        self.stmt(inner);
        for sym in &mut self.symbols[before..] {
            if sym.scope == 0 {
                sym.exported = true;
            }
        }
    }

    fn function(&mut self, f: &Function) {
        self.push_scope(f.span, true);
        for p in &f.params {
            self.opt_expr(p.default.as_ref());
            self.pattern(&p.pattern, SymbolKind::Parameter, p.span);
        }
        self.opt_expr(f.confidence.as_deref());
        match &f.body {
            FunctionBody::Block(b) => {
                for s in &b.stmts {
                    self.stmt(s);
                }
            }
            FunctionBody::Expr(e) => self.expr(e),
        }
        self.pop_scope();
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Undefined
            | ExprKind::Placeholder
            | ExprKind::Error => {}
            ExprKind::Ident(n) => {
                self.use_name(n, e.span, true);
            }
            ExprKind::Template(parts) => {
                for p in parts {
                    if let TemplatePart::Expr(x) = p {
                        self.expr(x);
                    }
                }
            }
            ExprKind::Array(items) => {
                for i in items {
                    if let ArrayElem::Expr(x) | ArrayElem::Spread(x) = i {
                        self.expr(x);
                    }
                }
            }
            ExprKind::Object(props) => self.object(props),
            ExprKind::Function(f) => self.function(f),
            ExprKind::Unary { expr, .. } | ExprKind::Await(expr) => self.expr(expr),
            ExprKind::Update { target, .. } => self.expr(target),
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::Logical { lhs, rhs, .. }
            | ExprKind::Pipeline { lhs, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Attach { value, confidence } => {
                self.expr(value);
                self.expr(confidence);
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
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Assign { op, target, value } => self.assign(*op, target, value, e.span),
            ExprKind::Member { object, .. } => self.expr(object),
            ExprKind::Index { object, index, .. } => {
                self.expr(object);
                self.expr(index);
            }
            ExprKind::Call { callee, args, .. } => self.call(callee, args, e.span),
            ExprKind::Match { subject, arms } => {
                self.expr(subject);
                for arm in arms {
                    self.match_arm(arm);
                }
            }
            ExprKind::Sequence(items) => {
                for x in items {
                    self.expr(x);
                }
            }
        }
    }

    /// The uses in an object literal: computed keys, values, shorthand names.
    fn object(&mut self, props: &[Property]) {
        for p in props {
            match p {
                Property::KeyValue { key, value, .. } => {
                    if let PropKey::Computed(k) = key {
                        self.expr(k);
                    }
                    self.expr(value);
                }
                Property::Shorthand(id) => {
                    self.use_name(&id.name, id.span, true);
                }
                Property::Spread(x) => self.expr(x),
                Property::PatternOnly(p) => {
                    self.opt_expr(p.threshold.as_ref());
                    self.opt_expr(p.default.as_ref());
                    self.use_name(&p.key.name, p.key.span, true);
                }
            }
        }
    }

    /// `x = value` assigns (or implicitly declares) `x`, and notes the keys of an object
    /// value; other assignments read their target.
    fn assign(&mut self, op: AssignOp, target: &Expr, value: &Expr, span: Span) {
        self.expr(value);
        match (&target.kind, op) {
            (ExprKind::Ident(n), AssignOp::Assign) => {
                let id = Ident {
                    name: n.clone(),
                    span: target.span,
                };
                self.assign_target(&id, span);
                let u = self.uses.len() - 1;
                let keys = object_keys(value);
                if !keys.is_empty() {
                    self.pending_keys.push((u, keys));
                }
            }
            _ => self.expr(target),
        }
    }

    /// A call: its callee, noted for the arity check when it is a name without spread
    /// arguments, and its arguments.
    fn call(&mut self, callee: &Expr, args: &[Arg], span: Span) {
        let before = self.uses.len();
        self.expr(callee);
        let spread = args.iter().any(|a| matches!(a, Arg::Spread(_)));
        if let Some(name) = callee_name(callee)
            && !spread
        {
            self.calls.push(CallSite {
                name,
                root: before,
                args: args.len(),
                span,
            });
        }
        for a in args {
            let (Arg::Expr(x) | Arg::Spread(x)) = a;
            self.expr(x);
        }
    }

    /// A `match` arm in its own scope: the names its pattern binds, threshold, guard, body.
    fn match_arm(&mut self, arm: &MatchArm) {
        self.push_scope(arm.span, false);
        self.match_pattern(&arm.pattern, arm.span);
        self.opt_expr(arm.threshold.as_ref());
        self.opt_expr(arm.guard.as_ref());
        match &arm.body {
            MatchBody::Expr(b) => self.expr(b),
            MatchBody::Block(b) => self.block(b),
        }
        self.pop_scope();
    }

    fn match_pattern(&mut self, p: &MatchPattern, decl: Span) {
        match p {
            MatchPattern::Wildcard(_) | MatchPattern::Literal(_) => {}
            MatchPattern::Binding(id) => {
                self.declare(id, SymbolKind::MatchBinding, decl);
            }
            MatchPattern::Array { elems, rest, .. } => {
                for e in elems {
                    self.opt_expr(e.threshold.as_ref());
                    self.match_pattern(&e.pattern, decl);
                }
                if let Some(r) = rest {
                    self.declare(r, SymbolKind::MatchBinding, decl);
                }
            }
            MatchPattern::Object { props, rest, .. } => {
                for pr in props {
                    self.opt_expr(pr.threshold.as_ref());
                    match &pr.pattern {
                        Some(inner) => self.match_pattern(inner, decl),
                        None => {
                            self.declare(&pr.key, SymbolKind::MatchBinding, decl);
                        }
                    }
                }
                if let Some(r) = rest {
                    self.declare(r, SymbolKind::MatchBinding, decl);
                }
            }
        }
    }
}

impl Walker {
    fn lookup(&self, mut scope: ScopeId, name: &Name) -> Option<SymbolId> {
        loop {
            if let Some(&id) = self.scopes[scope].names.get(name) {
                return Some(id);
            }
            scope = self.scopes[scope].parent?;
        }
    }

    fn finish(mut self) -> (Vec<Symbol>, Vec<Scope>, Vec<Occurrence>, Vec<Diagnostic>) {
        let (mut targets, is_def) = self.declare_implicit();
        self.resolve_uses(&mut targets, &is_def);
        let mut lints = self.undefined(&targets);
        lints.extend(self.arity(&targets));
        lints.extend(self.unused());
        lints.sort_by_key(|d| d.primary_span().start);
        let occurrences = self.occurrences(&targets, &is_def);
        (self.symbols, self.scopes, occurrences, lints)
    }

    /// `x = …` declares x where nothing visible declares it; returns each use's target so far
    /// and whether it is such a definition (whose object keys it then takes).
    fn declare_implicit(&mut self) -> (Vec<Target>, Vec<bool>) {
        let mut targets = vec![Target::Unresolved; self.uses.len()];
        let mut is_def = vec![false; self.uses.len()];
        for i in 0..self.uses.len() {
            if !self.uses[i].declares {
                continue;
            }
            let (scope, name) = (self.uses[i].scope, self.uses[i].name.clone());
            if self.lookup(scope, &name).is_none() {
                let id = Ident {
                    name,
                    span: self.uses[i].span,
                };
                // Declared for the whole function, so `x = 1` in one branch and `x = 2` in
                // the other are one variable.
                self.stack = vec![self.scopes[scope].function];
                let decl = self.uses[i].decl_span;
                let sid = self.declare(&id, SymbolKind::Implicit, decl);
                self.defs.pop();
                targets[i] = Target::Symbol(sid);
                is_def[i] = true;
            }
        }
        for (u, keys) in std::mem::take(&mut self.pending_keys) {
            if let Target::Symbol(sid) = targets[u]
                && is_def[u]
            {
                self.symbols[sid].keys = keys;
            }
        }
        (targets, is_def)
    }

    /// Resolves every other use: through the scopes, else any definition in the same or an
    /// enclosing function (ignoring blocks), else a builtin; counts reads, writes and exports.
    fn resolve_uses(&mut self, targets: &mut [Target], is_def: &[bool]) {
        let mut by_function: FxHashMap<(ScopeId, Name), SymbolId> = FxHashMap::default();
        for (id, s) in self.symbols.iter().enumerate() {
            let f = self.scopes[s.scope].function;
            by_function.entry((f, s.name.clone())).or_insert(id);
        }
        for i in 0..self.uses.len() {
            if is_def[i] {
                continue;
            }
            let u = &self.uses[i];
            targets[i] = match self.lookup(u.scope, &u.name) {
                Some(id) => Target::Symbol(id),
                None => {
                    let mut found = None;
                    let mut f = Some(self.scopes[u.scope].function);
                    while let Some(fs) = f {
                        if let Some(&id) = by_function.get(&(fs, u.name.clone())) {
                            found = Some(id);
                            break;
                        }
                        f = self.scopes[fs].parent.map(|p| self.scopes[p].function);
                    }
                    match found {
                        Some(id) => Target::Symbol(id),
                        None if builtins::is_global(&u.name) => Target::Builtin,
                        None => Target::Unresolved,
                    }
                }
            };
            if let Target::Symbol(id) = targets[i] {
                if u.read {
                    self.symbols[id].reads += 1;
                } else {
                    self.symbols[id].writes += 1;
                }
                if u.export && self.symbols[id].scope == 0 {
                    self.symbols[id].exported = true;
                }
            }
        }
    }

    /// A warning for each read of a name that resolves to nothing.
    fn undefined(&self, targets: &[Target]) -> Vec<Diagnostic> {
        let mut lints = Vec::new();
        for (i, u) in self.uses.iter().enumerate() {
            if targets[i] == Target::Unresolved && u.read {
                lints.push(
                    Diagnostic::warning(
                        codes::UNDEFINED,
                        format!("cannot find `{}` in this scope", u.name),
                        u.span,
                    )
                    .with_label("not declared, assigned, imported or a builtin")
                    .with_help("declare it with `let`, assign it, or import it"),
                );
            }
        }
        lints
    }

    /// A warning for each call of a checked builtin function with too few or too many
    /// arguments.
    fn arity(&self, targets: &[Target]) -> Vec<Diagnostic> {
        let mut lints = Vec::new();
        for c in &self.calls {
            if targets.get(c.root) != Some(&Target::Builtin) {
                continue;
            }
            let Some(b) = builtins::lookup(&c.name) else {
                continue;
            };
            if !b.checked || b.kind != builtins::BuiltinKind::Function {
                continue;
            }
            let ok = c.args >= b.min_args && b.max_args.is_none_or(|m| c.args <= m);
            if !ok {
                let expected = match b.max_args {
                    Some(m) if m == b.min_args => plural(m),
                    Some(m) => format!("{} to {m} arguments", b.min_args),
                    None => format!("at least {}", plural(b.min_args)),
                };
                lints.push(
                    Diagnostic::warning(
                        codes::ARITY,
                        format!("`{}` takes {expected}, found {}", c.name, c.args),
                        c.span,
                    )
                    .with_label(format!("called with {}", plural(c.args)))
                    .with_help(format!("signature: {}", b.signature)),
                );
            }
        }
        lints
    }

    /// A warning for each local variable never read (unless exported or named `_…`).
    fn unused(&self) -> Vec<Diagnostic> {
        let mut lints = Vec::new();
        for s in &self.symbols {
            let local = matches!(
                s.kind,
                SymbolKind::Let | SymbolKind::Const | SymbolKind::Var | SymbolKind::Implicit
            );
            if local && s.reads == 0 && !s.exported && !s.name.starts_with('_') {
                lints.push(
                    Diagnostic::warning(
                        codes::UNUSED,
                        format!("`{}` is never used", s.name),
                        s.span,
                    )
                    .with_label("assigned here, never read")
                    .with_help("remove it, or start its name with `_`"),
                );
            }
        }
        lints
    }

    /// Every definition and use, in source order, one per span.
    fn occurrences(&self, targets: &[Target], is_def: &[bool]) -> Vec<Occurrence> {
        let mut occurrences: Vec<Occurrence> = self
            .defs
            .iter()
            .map(|&(span, id)| Occurrence {
                span,
                name: self.symbols[id].name.clone(),
                target: Target::Symbol(id),
                is_def: true,
            })
            .collect();
        occurrences.extend(self.uses.iter().enumerate().map(|(i, u)| Occurrence {
            span: u.span,
            name: u.name.clone(),
            target: targets[i],
            is_def: is_def[i],
        }));
        occurrences.sort_by_key(|o| (o.span.start, o.span.end));
        occurrences.dedup_by(|a, b| a.span == b.span);
        occurrences
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 argument".to_string()
    } else {
        format!("{n} arguments")
    }
}

/// `print` for `print(…)`, `Math.max` for `Math.max(…)`.
fn callee_name(callee: &Expr) -> Option<String> {
    match &callee.kind {
        ExprKind::Ident(n) => Some(n.to_string()),
        ExprKind::Member {
            object, property, ..
        } => match &object.kind {
            ExprKind::Ident(n) => Some(format!("{n}.{}", property.name)),
            _ => None,
        },
        _ => None,
    }
}

/// The static keys of an object literal.
pub(super) fn object_keys(e: &Expr) -> Vec<Name> {
    match &e.kind {
        ExprKind::Object(props) => props
            .iter()
            .filter_map(|p| match p {
                Property::KeyValue {
                    key: PropKey::Static(k),
                    ..
                } => Some(k.clone()),
                Property::Shorthand(id) => Some(id.name.clone()),
                Property::PatternOnly(p) => Some(p.key.name.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Parameter names as written, for signature help.
pub(super) fn param_names(f: &Function) -> Vec<String> {
    f.params
        .iter()
        .map(|p| {
            let base = match &p.pattern {
                Pattern::Ident(id) => id.name.to_string(),
                Pattern::Array { .. } => "[…]".to_string(),
                Pattern::Object { .. } => "{…}".to_string(),
            };
            if p.rest {
                format!("...{base}")
            } else if p.default.is_some() {
                format!("{base}?")
            } else {
                base
            }
        })
        .collect()
}
