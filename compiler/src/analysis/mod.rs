//! What the editor needs to know about one Prism file: its syntax tree and syntax errors, the
//! names it declares and where each is used, and the lint diagnostics (undefined names, wrong
//! argument counts to builtins, unused variables).
//!
//! Prism declares on assignment, so a name counts as defined when it is declared, a parameter,
//! assigned anywhere in an enclosing function, imported, or a builtin. Block scoping is
//! respected for go-to-definition; for the undefined-name warning any definition in the same
//! or an enclosing function is enough (no false alarm for `if (c) { x = 1 } … print(x)`).

mod confidence;
mod walk;

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::ast::{Name, Program};
use crate::{Diagnostic, Span};

pub use confidence::{ConfidenceHint, band, confidence_hints};

/// Index of a [`Symbol`] in [`Analysis::symbols`].
pub type SymbolId = usize;
/// Index of a [`Scope`] in [`Analysis::scopes`].
pub type ScopeId = usize;

/// How a name was introduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Let,
    Const,
    Var,
    /// Declared by its first assignment (`x = 1`).
    Implicit,
    Function,
    Parameter,
    Import,
    CatchParam,
    LoopVar,
    MatchBinding,
    /// A name of an `agents { … }` block.
    Agent,
}

impl SymbolKind {
    /// The keyword shown in hovers.
    pub fn describe(self) -> &'static str {
        match self {
            SymbolKind::Let => "let",
            SymbolKind::Const => "const",
            SymbolKind::Var => "var",
            SymbolKind::Implicit => "variable",
            SymbolKind::Function => "function",
            SymbolKind::Parameter => "parameter",
            SymbolKind::Import => "import",
            SymbolKind::CatchParam => "catch parameter",
            SymbolKind::LoopVar => "loop variable",
            SymbolKind::MatchBinding => "match binding",
            SymbolKind::Agent => "agent",
        }
    }
}

/// A declared name.
#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: Name,
    pub kind: SymbolKind,
    /// The span of the name where it is declared.
    pub span: Span,
    /// The declaring statement, parameter or clause.
    pub decl_span: Span,
    pub scope: ScopeId,
    /// `export let …`, `export function …`, `export { name }`.
    pub exported: bool,
    /// For imports: the module path as written and the name it exports.
    pub import: Option<(Arc<str>, Name)>,
    /// Uses that read the value.
    pub reads: usize,
    /// Assignments after the declaration.
    pub writes: usize,
    /// The statically known keys of the object literal it was declared with.
    pub keys: Vec<Name>,
    /// Parameter names, for functions (signature help).
    pub params: Option<Vec<String>>,
}

/// A scope: the program, a function, or a block.
#[derive(Debug, Clone)]
pub struct Scope {
    pub parent: Option<ScopeId>,
    pub span: Span,
    /// The nearest enclosing function (or program) scope, itself for one.
    pub function: ScopeId,
    pub names: FxHashMap<Name, SymbolId>,
}

/// Where a name occurs and what it means.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub span: Span,
    pub name: Name,
    pub target: Target,
    /// True at the declaration itself.
    pub is_def: bool,
}

/// What a name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Symbol(SymbolId),
    Builtin,
    Unresolved,
}

/// The analysis of one file.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub program: Arc<Program>,
    /// Syntax errors (every one the parser recovered from).
    pub syntax: Vec<Diagnostic>,
    /// Undefined names, argument counts, unused variables.
    pub lints: Vec<Diagnostic>,
    pub symbols: Vec<Symbol>,
    pub scopes: Vec<Scope>,
    /// Every occurrence of a name, ordered by position.
    pub occurrences: Vec<Occurrence>,
}

/// Lint codes.
pub mod codes {
    /// A name that is neither declared, assigned, imported nor a builtin.
    pub const UNDEFINED: &str = "prism::lint::undefined-name";
    /// A builtin called with a number of arguments it does not take.
    pub const ARITY: &str = "prism::lint::arity";
    /// A variable that is never read.
    pub const UNUSED: &str = "prism::lint::unused";
    /// `x = 1` to a name nothing declared (reported by `prism check --strict` only).
    pub const IMPLICIT: &str = "prism::lint::implicit-declaration";
}

impl Analysis {
    /// Analyses Prism source text. Never fails.
    pub fn new(text: &str) -> Analysis {
        let parsed = crate::parse(text);
        let program = if parsed.program.stmts.is_empty() && parsed.has_errors() {
            salvage(text, &parsed.diagnostics).unwrap_or(parsed.program)
        } else {
            parsed.program
        };
        Analysis::of_program(Arc::new(program), parsed.diagnostics)
    }

    /// Analyses a program parsed already (with its syntax diagnostics): an annotated
    /// pattern's script, parsed when the pattern was loaded.
    pub fn of_program(program: Arc<Program>, syntax: Vec<Diagnostic>) -> Analysis {
        let (symbols, scopes, occurrences, lints) = walk::resolve(&program);
        Analysis {
            program,
            syntax,
            lints,
            symbols,
            scopes,
            occurrences,
        }
    }

    /// Syntax errors, lints and errors in `std/…` imports, ordered by position.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all = self.syntax.clone();
        all.extend(self.lints.iter().cloned());
        all.extend(crate::stdlib::check_imports(&self.program));
        all.sort_by_key(|d| d.primary_span().start);
        all
    }

    /// `--strict`: a warning for each name declared by a plain assignment (`x = 1` where no
    /// `let`, `const`, parameter or import declares `x`). Prism accepts these, as the earlier
    /// reference releases and real patterns do; the newest reference rejects them.
    pub fn implicit_declarations(&self) -> Vec<Diagnostic> {
        self.symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Implicit)
            .map(|s| {
                Diagnostic::warning(
                    codes::IMPLICIT,
                    format!("`{}` is declared implicitly by this assignment", s.name),
                    s.span,
                )
                .with_label("first assigned here without `let`")
                .with_help(format!(
                    "write `let {} = …` (the newest reference rejects undeclared assignment)",
                    s.name
                ))
            })
            .collect()
    }

    /// The occurrence of a name at a byte offset (the cursor may sit right after the name).
    pub fn occurrence_at(&self, offset: usize) -> Option<&Occurrence> {
        let offset = offset as u32;
        let i = self.occurrences.partition_point(|o| o.span.end < offset);
        self.occurrences[i..]
            .iter()
            .take_while(|o| o.span.start <= offset)
            .find(|o| o.span.start <= offset && offset <= o.span.end)
    }

    /// Every occurrence (declaration included) of a symbol.
    pub fn occurrences_of(&self, id: SymbolId) -> impl Iterator<Item = &Occurrence> {
        self.occurrences
            .iter()
            .filter(move |o| o.target == Target::Symbol(id))
    }

    /// The innermost scope that contains `offset`.
    pub fn scope_at(&self, offset: usize) -> ScopeId {
        let offset = offset as u32;
        let mut best = 0;
        for (i, s) in self.scopes.iter().enumerate() {
            if s.span.start <= offset && offset <= s.span.end {
                let b = &self.scopes[best];
                if s.span.len() <= b.span.len() {
                    best = i;
                }
            }
        }
        best
    }

    /// The symbols visible at `offset`: its scope chain, nearest first.
    pub fn visible_at(&self, offset: usize) -> Vec<SymbolId> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut scope = Some(self.scope_at(offset));
        while let Some(s) = scope {
            let mut ids: Vec<SymbolId> = self.scopes[s].names.values().copied().collect();
            ids.sort_unstable();
            for id in ids {
                if seen.insert(self.symbols[id].name.clone()) {
                    out.push(id);
                }
            }
            scope = self.scopes[s].parent;
        }
        out
    }

    /// The top-level symbol exported under `name`.
    pub fn export(&self, name: &str) -> Option<SymbolId> {
        self.symbols
            .iter()
            .position(|s| s.exported && &*s.name == name && s.scope == 0)
    }
}

/// When the parser could not recover at all (an error at the very end of the file, while
/// typing), the statements before the line of the first error, so names stay known.
fn salvage(text: &str, diags: &[Diagnostic]) -> Option<Program> {
    let first = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.primary_span().start as usize)
        .min()?;
    let mut cut = floor_char_boundary(text, first);
    for _ in 0..4 {
        cut = text[..cut].rfind('\n').unwrap_or(0);
        if cut == 0 {
            return None;
        }
        let p = crate::parse(&text[..cut]);
        if !p.program.stmts.is_empty() {
            return Some(p.program);
        }
    }
    None
}

#[cfg(test)]
mod tests;

/// The largest char boundary at or below `i`.
fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
