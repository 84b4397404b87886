//! Published diagnostics (computed after every open and change).

use tower_lsp_server::ls_types::Diagnostic;

use crate::convert::to_lsp;
use crate::document::Document;

/// The LSP diagnostics of a document.
pub fn lsp_diagnostics(doc: &Document) -> Vec<Diagnostic> {
    crate::diagnostics::compute(doc)
        .iter()
        .map(|d| to_lsp(d, &doc.uri, &doc.text, &doc.lines))
        .collect()
}
