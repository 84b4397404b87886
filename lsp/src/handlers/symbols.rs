//! Document symbols (functions with what they declare inside, variables, constants) and
//! workspace symbols (top-level names of every Prism file, filtered by the query).

use prism_compiler::ast::{DeclKind, ExprKind, FunctionBody, Pattern, Stmt, StmtKind};
use tower_lsp_server::ls_types::*;

use crate::document::Document;
use crate::position::LineIndex;
use crate::state::State;
use crate::workspace;

/// Answers `textDocument/documentSymbol`.
pub fn document_symbols(
    state: &State,
    params: &DocumentSymbolParams,
) -> Option<DocumentSymbolResponse> {
    let doc: &Document = state.doc(&params.text_document.uri)?;
    let analysis = doc.analysis.as_ref()?;
    let out = stmts(&analysis.program.stmts, &doc.text, &doc.lines);
    Some(DocumentSymbolResponse::Nested(out))
}

#[allow(deprecated)]
fn symbol(
    name: &str,
    kind: SymbolKind,
    detail: Option<String>,
    range: Range,
    selection: Range,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}

fn stmts(list: &[Stmt], text: &str, lines: &LineIndex) -> Vec<DocumentSymbol> {
    let mut out = Vec::new();
    for s in list {
        stmt(s, text, lines, &mut out);
    }
    out
}

fn stmt(s: &Stmt, text: &str, lines: &LineIndex, out: &mut Vec<DocumentSymbol>) {
    let range = lines.range(text, s.span);
    match &s.kind {
        StmtKind::Function(f) => {
            if let Some(n) = &f.name {
                let children = match &f.body {
                    FunctionBody::Block(b) => stmts(&b.stmts, text, lines),
                    FunctionBody::Expr(_) => Vec::new(),
                };
                let params: Vec<String> = f
                    .params
                    .iter()
                    .filter_map(|p| match &p.pattern {
                        Pattern::Ident(id) => Some(id.name.to_string()),
                        _ => None,
                    })
                    .collect();
                out.push(symbol(
                    &n.name,
                    SymbolKind::FUNCTION,
                    Some(format!("({})", params.join(", "))),
                    range,
                    lines.range(text, n.span),
                    children,
                ));
            }
        }
        StmtKind::Decl { kind, decls } => {
            for d in decls {
                let mut names = Vec::new();
                d.target.bound_names(&mut names);
                for id in names {
                    let (sk, children) = match d.init.as_ref().map(|e| &e.kind) {
                        Some(ExprKind::Function(f)) => (
                            SymbolKind::FUNCTION,
                            match &f.body {
                                FunctionBody::Block(b) => stmts(&b.stmts, text, lines),
                                FunctionBody::Expr(_) => Vec::new(),
                            },
                        ),
                        _ if *kind == DeclKind::Const => (SymbolKind::CONSTANT, Vec::new()),
                        Some(ExprKind::Object(_)) => (SymbolKind::OBJECT, Vec::new()),
                        _ => (SymbolKind::VARIABLE, Vec::new()),
                    };
                    out.push(symbol(
                        &id.name,
                        sk,
                        None,
                        range,
                        lines.range(text, id.span),
                        children,
                    ));
                }
            }
        }
        StmtKind::ExportDecl(inner) => stmt(inner, text, lines, out),
        _ => {}
    }
}

/// Answers `workspace/symbol`: top-level functions and variables whose name contains the
/// query (case-insensitive).
#[allow(deprecated)]
pub fn workspace_symbols(
    state: &State,
    params: &WorkspaceSymbolParams,
) -> Option<WorkspaceSymbolResponse> {
    let query = params.query.to_lowercase();
    let mut out = Vec::new();
    for m in workspace::modules(state) {
        for s in stmts(&m.analysis.program.stmts, &m.text, &m.lines) {
            if s.name.to_lowercase().contains(&query) {
                out.push(SymbolInformation {
                    name: s.name,
                    kind: s.kind,
                    tags: None,
                    deprecated: None,
                    location: Location::new(m.uri.clone(), s.selection_range),
                    container_name: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Some(WorkspaceSymbolResponse::Flat(out))
}
