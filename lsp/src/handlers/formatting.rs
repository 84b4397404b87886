//! Whole-document formatting with the formatter of `prism fmt`. A file with syntax errors is
//! left alone (no edits).

use tower_lsp_server::ls_types::*;

use crate::document::DocKind;
use crate::state::State;

/// Answers `textDocument/formatting`: one edit replacing the whole text, or none.
pub fn formatting(state: &State, params: &DocumentFormattingParams) -> Option<Vec<TextEdit>> {
    let doc = state.doc(&params.text_document.uri)?;
    if doc.kind != DocKind::Prism {
        return None;
    }
    let formatted = prism_compiler::format::format(&doc.text).ok()?;
    if formatted == doc.text {
        return Some(Vec::new());
    }
    let end = doc.lines.position(&doc.text, doc.text.len());
    Some(vec![TextEdit::new(
        Range::new(Position::new(0, 0), end),
        formatted,
    )])
}
