//! Rename a variable, function or parameter everywhere it is used, across the modules that
//! import it when it is exported.

use std::collections::HashMap;

use tower_lsp_server::ls_types::*;

use super::at;
use super::references::find;
use crate::state::State;
use prism_compiler::analysis::Target;
use prism_compiler::builtins::KEYWORDS;

/// Answers `textDocument/prepareRename`: the range of a renameable name under the cursor.
pub fn prepare(state: &State, pos: &TextDocumentPositionParams) -> Option<PrepareRenameResponse> {
    let (doc, offset) = at(state, pos)?;
    let occ = doc.analysis.as_ref()?.occurrence_at(offset)?;
    matches!(occ.target, Target::Symbol(_))
        .then(|| PrepareRenameResponse::Range(doc.lines.range(&doc.text, occ.span)))
}

/// Answers `textDocument/rename`; `Err` when the new name is not a valid name.
pub fn rename(state: &State, params: &RenameParams) -> Result<Option<WorkspaceEdit>, String> {
    let new = params.new_name.trim();
    if !valid_name(new) {
        return Err(format!("`{new}` is not a valid name"));
    }
    let Some(refs) = find(state, &params.text_document_position) else {
        return Ok(None);
    };
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for r in refs {
        changes
            .entry(r.uri)
            .or_default()
            .push(TextEdit::new(r.range, new.to_string()));
    }
    Ok(Some(WorkspaceEdit::new(changes)))
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && (!KEYWORDS.contains(&s)
            || matches!(s, "high" | "medium" | "low" | "default" | "of" | "from"))
}
