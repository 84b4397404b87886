//! Folding ranges: brackets that span lines, and block comments.

use prism_compiler::comments::{CommentKind, comments};
use prism_compiler::lexer::{Tok, lex};
use tower_lsp_server::ls_types::*;

use crate::state::State;

/// Answers `textDocument/foldingRange`.
pub fn folding_ranges(state: &State, params: &FoldingRangeParams) -> Option<Vec<FoldingRange>> {
    let doc = state.doc(&params.text_document.uri)?;
    doc.analysis.as_ref()?;
    let (toks, _) = lex(&doc.text);
    let mut open = Vec::new();
    let mut out = Vec::new();
    for (start, tok, end) in &toks {
        match tok {
            Tok::LBrace | Tok::LBracket | Tok::LParen => open.push(*start),
            Tok::RBrace | Tok::RBracket | Tok::RParen => {
                if let Some(s) = open.pop() {
                    let a = doc.lines.line_of(s) as u32;
                    let b = doc.lines.line_of(*end) as u32;
                    if b > a + 1 || (b > a && matches!(tok, Tok::RBrace)) {
                        out.push(FoldingRange {
                            start_line: a,
                            end_line: b.saturating_sub(1).max(a),
                            kind: Some(FoldingRangeKind::Region),
                            ..FoldingRange::default()
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for c in comments(&doc.text) {
        let a = doc.lines.line_of(c.span.start as usize) as u32;
        let b = doc.lines.line_of(c.span.end as usize) as u32;
        if c.kind == CommentKind::Block && b > a {
            out.push(FoldingRange {
                start_line: a,
                end_line: b,
                kind: Some(FoldingRangeKind::Comment),
                ..FoldingRange::default()
            });
        }
    }
    out.sort_by_key(|r| (r.start_line, r.end_line));
    out.dedup_by_key(|r| r.start_line);
    Some(out)
}
