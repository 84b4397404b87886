//! Inlay hints: the propagated confidence of `~` operations where it is statically known
//! (`a + b` → `~0.60`).

use tower_lsp_server::ls_types::*;

use crate::state::State;
use prism_compiler::analysis::confidence_hints;

/// Answers `textDocument/inlayHint` for the requested range.
pub fn inlay_hints(state: &State, params: &InlayHintParams) -> Option<Vec<InlayHint>> {
    let doc = state.doc(&params.text_document.uri)?;
    let analysis = doc.analysis.as_ref()?;
    let from = doc.lines.offset(&doc.text, params.range.start);
    let to = doc.lines.offset(&doc.text, params.range.end);
    let hints = confidence_hints(analysis)
        .into_iter()
        .filter(|h| h.offset >= from && h.offset <= to)
        .map(|h| InlayHint {
            position: doc.lines.position(&doc.text, h.offset),
            label: InlayHintLabel::String(format!("~{:.2}", h.confidence)),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::String(format!(
                "propagated confidence {:.2} ({} band)",
                h.confidence,
                prism_compiler::analysis::band(h.confidence)
            ))),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        })
        .collect();
    Some(hints)
}
