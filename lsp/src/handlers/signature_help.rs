//! Signature help for calls of builtins and of functions declared in the file. Works on the
//! tokens before the cursor, so it keeps working while the call is half typed.

use prism_compiler::lexer::{Tok, lex};
use tower_lsp_server::ls_types::*;

use super::at;
use crate::state::State;
use prism_compiler::analysis::Target;
use prism_compiler::builtins;

/// Answers `textDocument/signatureHelp`.
pub fn signature_help(state: &State, params: &SignatureHelpParams) -> Option<SignatureHelp> {
    let (doc, offset) = at(state, &params.text_document_position_params)?;
    let analysis = doc.analysis.as_ref()?;
    let (toks, _) = lex(doc.text.get(..offset)?);
    // Find the unclosed `(` before the cursor and count the commas at its depth.
    let mut depth = 0i32;
    let mut commas = 0u32;
    let mut open = None;
    for (i, (_, tok, _)) in toks.iter().enumerate().rev() {
        match tok {
            Tok::RParen | Tok::RBracket | Tok::RBrace => depth += 1,
            Tok::LBracket | Tok::LBrace if depth > 0 => depth -= 1,
            Tok::LParen if depth > 0 => depth -= 1,
            Tok::LParen => {
                open = Some(i);
                break;
            }
            Tok::LBracket | Tok::LBrace => return None,
            Tok::Comma if depth == 0 => commas += 1,
            _ => {}
        }
    }
    let open = open?;
    let (callee_start, name) = callee(&toks, open)?;
    let (label, params_list, doc_text) = if let Some(b) = builtins::lookup(&name).filter(|_| {
        analysis
            .occurrence_at(callee_start)
            .is_none_or(|o| o.target == Target::Builtin)
    }) {
        (
            b.signature.to_string(),
            split_params(b.signature),
            Some(b.doc.to_string()),
        )
    } else {
        let occ = analysis.occurrence_at(callee_start)?;
        let Target::Symbol(id) = occ.target else {
            return None;
        };
        let s = &analysis.symbols[id];
        let ps = s.params.clone()?;
        (format!("{}({})", s.name, ps.join(", ")), ps, None)
    };
    let parameters = params_list
        .iter()
        .map(|p| ParameterInformation {
            label: ParameterLabel::Simple(p.clone()),
            documentation: None,
        })
        .collect::<Vec<_>>();
    let variadic = params_list.last().is_some_and(|p| p.starts_with("..."));
    let active = if variadic {
        commas.min(params_list.len().saturating_sub(1) as u32)
    } else {
        commas
    };
    Some(SignatureHelp {
        signatures: vec![SignatureInformation {
            label,
            documentation: doc_text.map(Documentation::String),
            parameters: Some(parameters),
            active_parameter: Some(active),
        }],
        active_signature: Some(0),
        active_parameter: Some(active),
    })
}

/// The callee before the `(` at `open`: `name` or `ns.name`, with the offset of its first name.
fn callee(toks: &[(usize, Tok, usize)], open: usize) -> Option<(usize, String)> {
    let (start, Tok::Ident(last), _) = toks.get(open.checked_sub(1)?)? else {
        return None;
    };
    if open >= 3
        && matches!(toks[open - 2].1, Tok::Dot)
        && let (s, Tok::Ident(ns), _) = &toks[open - 3]
    {
        return Some((*s, format!("{ns}.{last}")));
    }
    Some((*start, last.to_string()))
}

/// The parameters of a signature such as `reduce(array, fn(acc, element), initial?)`.
fn split_params(sig: &str) -> Vec<String> {
    let Some(open) = sig.find('(') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in sig[open + 1..].chars() {
        match c {
            '(' | '{' | '[' => {
                depth += 1;
                cur.push(c);
            }
            ')' | '}' | ']' if depth == 0 => break,
            ')' | '}' | ']' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}
