//! Go to definition, through imports into the module that exports the name.

use tower_lsp_server::ls_types::*;

use super::at;
use crate::state::State;
use crate::workspace;
use prism_compiler::analysis::Target;

/// Answers `textDocument/definition`.
pub fn definition(state: &State, params: &GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    let (doc, offset) = at(state, &params.text_document_position_params)?;
    let analysis = doc.analysis.as_ref()?;
    let occ = analysis.occurrence_at(offset)?;
    let Target::Symbol(id) = occ.target else {
        return None;
    };
    let sym = &analysis.symbols[id];
    if let Some((source, imported)) = &sym.import
        && let Some(m) = workspace::resolve_import(state, &doc.uri, source)
    {
        let range = match m.analysis.export(imported) {
            Some(eid) => m.lines.range(&m.text, m.analysis.symbols[eid].span),
            None => Range::default(),
        };
        return Some(GotoDefinitionResponse::Scalar(Location::new(m.uri, range)));
    }
    Some(GotoDefinitionResponse::Scalar(Location::new(
        doc.uri.clone(),
        doc.lines.range(&doc.text, sym.span),
    )))
}
