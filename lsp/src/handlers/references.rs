//! Find references, within the file and across modules that import an exported name.

use prism_compiler::Span;
use prism_compiler::ast::StmtKind;
use tower_lsp_server::ls_types::*;

use super::at;
use crate::document::uri_path;
use crate::state::State;
use crate::workspace::{self, Module};
use prism_compiler::analysis::{SymbolId, Target};

/// One place a symbol is named.
#[derive(Debug, Clone)]
pub struct Reference {
    pub uri: Uri,
    pub range: Range,
    /// The declaration itself.
    pub is_decl: bool,
}

/// Answers `textDocument/references`.
pub fn references(state: &State, params: &ReferenceParams) -> Option<Vec<Location>> {
    let refs = find(state, &params.text_document_position)?;
    Some(
        refs.into_iter()
            .filter(|r| params.context.include_declaration || !r.is_decl)
            .map(|r| Location::new(r.uri, r.range))
            .collect(),
    )
}

/// Every place the name under the cursor refers to the same thing.
pub fn find(state: &State, pos: &TextDocumentPositionParams) -> Option<Vec<Reference>> {
    let (doc, offset) = at(state, pos)?;
    let analysis = doc.analysis.as_ref()?;
    let occ = analysis.occurrence_at(offset)?;
    let Target::Symbol(id) = occ.target else {
        return None;
    };
    let here = Module {
        uri: doc.uri.clone(),
        text: doc.text.clone(),
        lines: doc.lines.clone(),
        analysis: analysis.clone(),
    };
    let sym = &analysis.symbols[id];
    // The module and name the symbol is exported as, if it crosses files.
    let origin = if let Some((source, imported)) = &sym.import {
        let m = workspace::resolve_import(state, &doc.uri, source)?;
        let eid = m.analysis.export(imported)?;
        Some((m, eid))
    } else if sym.exported && sym.scope == 0 {
        Some((here.clone(), id))
    } else {
        None
    };
    let Some((origin, eid)) = origin else {
        return Some(local(&here, id));
    };
    let name = origin.analysis.symbols[eid].name.clone();
    let origin_path = uri_path(&origin.uri).map(|p| workspace::normalize(&p));
    let mut out = local(&origin, eid);
    for m in workspace::modules(state) {
        if m.uri == origin.uri {
            continue;
        }
        for (sid, s) in m.analysis.symbols.iter().enumerate() {
            let Some((source, imported)) = &s.import else {
                continue;
            };
            if *imported != name {
                continue;
            }
            let target = uri_path(&m.uri)
                .and_then(|p| p.parent().map(|d| workspace::normalize(&d.join(&**source))));
            if target.is_none() || target != origin_path {
                continue;
            }
            if let Some(span) = imported_span(&m, s.span) {
                out.push(Reference {
                    uri: m.uri.clone(),
                    range: m.lines.range(&m.text, span),
                    is_decl: false,
                });
            }
            if s.name == name {
                out.extend(local(&m, sid).into_iter().map(|mut r| {
                    r.is_decl = false;
                    r
                }));
            }
        }
    }
    out.sort_by(|a, b| {
        (a.uri.as_str(), a.range.start.line, a.range.start.character).cmp(&(
            b.uri.as_str(),
            b.range.start.line,
            b.range.start.character,
        ))
    });
    out.dedup_by(|a, b| a.uri == b.uri && a.range == b.range);
    Some(out)
}

/// The occurrences of a symbol in its own file.
fn local(m: &Module, id: SymbolId) -> Vec<Reference> {
    m.analysis
        .occurrences_of(id)
        .map(|o| Reference {
            uri: m.uri.clone(),
            range: m.lines.range(&m.text, o.span),
            is_decl: o.is_def,
        })
        .collect()
}

/// The span of the imported name in `import { name as local }` whose local name is at `local`.
fn imported_span(m: &Module, local: Span) -> Option<Span> {
    m.analysis.program.stmts.iter().find_map(|s| match &s.kind {
        StmtKind::Import { names, .. } => names
            .iter()
            .find(|n| n.local.span == local)
            .map(|n| n.imported.span),
        _ => None,
    })
}
