//! Completion: keywords, builtins and the names in scope; after `.`, the members of a builtin
//! namespace, the keys of an object literal the name was declared with, and string and array
//! methods. YAML patterns get their keys and allowed values.

use std::collections::HashSet;

use tower_lsp_server::ls_types::*;

use super::at;
use crate::document::DocKind;
use crate::state::State;
use prism_compiler::analysis::{Analysis, SymbolKind, Target};
use prism_compiler::builtins::{self, BuiltinKind};

/// Answers `textDocument/completion`.
pub fn completion(state: &State, params: &CompletionParams) -> Option<CompletionResponse> {
    let (doc, offset) = at(state, &params.text_document_position)?;
    if doc.kind == DocKind::YamlPattern {
        return Some(CompletionResponse::Array(crate::yaml::completion(
            &doc.text, offset,
        )));
    }
    let analysis = doc.analysis.as_ref()?;
    let before = doc.text.get(..offset).unwrap_or("");
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '$')
        .last()
        .map_or(offset, |(i, _)| i);
    let head = &before[..word_start];
    if let Some(receiver_end) = head.strip_suffix('.').map(str::len) {
        return Some(CompletionResponse::Array(member_items(
            analysis,
            before,
            receiver_end,
        )));
    }
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    for id in analysis.visible_at(offset) {
        let s = &analysis.symbols[id];
        if !seen.insert(s.name.to_string()) {
            continue;
        }
        let kind = match s.kind {
            SymbolKind::Function => CompletionItemKind::FUNCTION,
            SymbolKind::Const => CompletionItemKind::CONSTANT,
            SymbolKind::Import => CompletionItemKind::MODULE,
            _ => CompletionItemKind::VARIABLE,
        };
        items.push(CompletionItem {
            label: s.name.to_string(),
            kind: Some(kind),
            detail: Some(s.kind.describe().to_string()),
            sort_text: Some(format!("0{}", s.name)),
            ..CompletionItem::default()
        });
    }
    for b in builtins::BUILTINS.iter() {
        if !b.name.contains('.') && b.kind != BuiltinKind::Method && seen.insert(b.name.to_string())
        {
            items.push(builtin_item(b));
        }
    }
    for k in builtins::KEYWORDS {
        if seen.insert(k.to_string()) {
            items.push(CompletionItem {
                label: k.to_string(),
                kind: Some(CompletionItemKind::KEYWORD),
                sort_text: Some(format!("2{k}")),
                ..CompletionItem::default()
            });
        }
    }
    Some(CompletionResponse::Array(items))
}

/// Completions after `receiver.`: the members of a builtin namespace (unless a name in scope
/// shadows it), the known keys of an object bound to the name, and, when nothing more is
/// known, every builtin method.
fn member_items(analysis: &Analysis, before: &str, receiver_end: usize) -> Vec<CompletionItem> {
    let mut items = Vec::new();
    let recv_text = &before[..receiver_end];
    let recv_start = recv_text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '$')
        .last()
        .map_or(receiver_end, |(i, _)| i);
    let receiver = &before[recv_start..receiver_end];
    let target = analysis
        .occurrence_at(recv_start)
        .filter(|o| &*o.name == receiver)
        .map(|o| o.target)
        .or_else(|| {
            // The line does not parse yet (`config.`): find the name in scope.
            analysis
                .visible_at(recv_start)
                .into_iter()
                .find(|&id| &*analysis.symbols[id].name == receiver)
                .map(Target::Symbol)
        });
    let shadowed = matches!(target, Some(Target::Symbol(_)));
    if !shadowed {
        for b in builtins::members(receiver) {
            items.push(builtin_item(b));
        }
    }
    if let Some(Target::Symbol(id)) = target {
        for k in &analysis.symbols[id].keys {
            items.push(CompletionItem {
                label: k.to_string(),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: Some(format!("key of {receiver}")),
                ..CompletionItem::default()
            });
        }
    }
    if items.is_empty() || shadowed {
        let mut seen = HashSet::new();
        for b in builtins::all_methods() {
            if seen.insert(builtins::short_name(b)) {
                items.push(builtin_item(b));
            }
        }
    }
    items
}

fn builtin_item(b: &builtins::Builtin) -> CompletionItem {
    let kind = match b.kind {
        BuiltinKind::Function => CompletionItemKind::FUNCTION,
        BuiltinKind::Namespace => CompletionItemKind::MODULE,
        BuiltinKind::Value => CompletionItemKind::CONSTANT,
        BuiltinKind::Method => CompletionItemKind::METHOD,
    };
    let label = builtins::short_name(b).to_string();
    CompletionItem {
        sort_text: Some(format!("1{label}")),
        label,
        kind: Some(kind),
        detail: Some(b.signature.to_string()),
        documentation: Some(Documentation::String(b.doc.to_string())),
        ..CompletionItem::default()
    }
}
