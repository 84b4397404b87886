//! Hover: a builtin's signature and doc, where a name is defined, and the confidence band of
//! a literal `~> 0.8`.

use prism_compiler::Span;
use prism_compiler::lexer::{Tok, lex};
use tower_lsp_server::ls_types::*;

use super::at;
use crate::document::Document;
use crate::state::State;
use crate::workspace;
use prism_compiler::analysis::{Analysis, Target, band};
use prism_compiler::builtins::{self, Builtin};

/// Answers `textDocument/hover`.
pub fn hover(state: &State, params: &HoverParams) -> Option<Hover> {
    let (doc, offset) = at(state, &params.text_document_position_params)?;
    let analysis = doc.analysis.as_ref()?;
    let (toks, _) = lex(&doc.text);
    let i = toks.partition_point(|t| t.2 < offset);
    let tok = toks.get(i).filter(|t| t.0 <= offset)?;
    let span = Span::new(tok.0, tok.2);

    // `~> 0.8`: the band of a literal confidence (hovering the number or the operator).
    let conf = match &tok.1 {
        Tok::Number(n) if i > 0 && toks[i - 1].1 == Tok::TildeArrow => Some((*n, span)),
        Tok::TildeArrow => match toks.get(i + 1) {
            Some((s, Tok::Number(n), e)) => Some((*n, Span::new(*s, *e))),
            _ => None,
        },
        _ => None,
    };
    if let Some((c, span)) = conf {
        let text = format!(
            "confidence **{c}** — **{}** band\n\nhigh ≥ 0.7 · medium ≥ 0.5 · low below",
            band(c)
        );
        return Some(markdown(text, doc, span));
    }

    let Tok::Ident(name) = &tok.1 else {
        return None;
    };
    // `ns.member` or `value.method`.
    if i >= 1 && matches!(toks[i - 1].1, Tok::Dot | Tok::QuestionDot | Tok::TildeDot) {
        if let Some((_, Tok::Ident(ns), _)) = i.checked_sub(2).and_then(|j| toks.get(j))
            && let Some(b) = builtins::lookup(&format!("{ns}.{name}"))
        {
            return Some(markdown(builtin_text(b), doc, span));
        }
        let docs: Vec<String> = builtins::methods(name).map(builtin_text).collect();
        if docs.is_empty() {
            return None;
        }
        return Some(markdown(docs.join("\n\n---\n\n"), doc, span));
    }
    let occ = analysis.occurrence_at(offset)?;
    let text = match occ.target {
        Target::Builtin => builtins::lookup(&occ.name).map(builtin_text)?,
        Target::Symbol(id) => symbol_text(state, doc, analysis, id),
        Target::Unresolved => return None,
    };
    Some(markdown(text, doc, occ.span))
}

fn markdown(value: String, doc: &Document, span: Span) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(doc.lines.range(&doc.text, span)),
    }
}

/// Signature and doc of a builtin.
pub fn builtin_text(b: &Builtin) -> String {
    format!("```prism\n{}\n```\n{}", b.signature, b.doc)
}

/// A symbol: its kind, the line that defines it, and where.
fn symbol_text(state: &State, doc: &Document, a: &Analysis, id: usize) -> String {
    let s = &a.symbols[id];
    let line = definition_line(&doc.text, s.decl_span.start as usize, s.span.start as usize);
    let at = doc.lines.position(&doc.text, s.span.start as usize);
    let mut text = format!(
        "({}) **{}**\n```prism\n{line}\n```\ndefined on line {}",
        s.kind.describe(),
        s.name,
        at.line + 1
    );
    if let Some((source, imported)) = &s.import
        && let Some(m) = workspace::resolve_import(state, &doc.uri, source)
        && let Some(eid) = m.analysis.export(imported)
    {
        let es = &m.analysis.symbols[eid];
        let l = definition_line(&m.text, es.decl_span.start as usize, es.span.start as usize);
        let pos = m.lines.position(&m.text, es.span.start as usize);
        text.push_str(&format!(
            "\n\nfrom `{source}`, line {}:\n```prism\n{l}\n```",
            pos.line + 1
        ));
    }
    text
}

/// The source line on which a name is declared (the declaring statement's first line when it
/// starts on the same line, trimmed).
fn definition_line(text: &str, decl_start: usize, name_start: usize) -> String {
    let at = crate::position::floor_char_boundary(text, name_start);
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let start = if decl_start >= start && decl_start <= at {
        decl_start
    } else {
        start
    };
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text.get(start..end).unwrap_or("").trim();
    if line.chars().count() > 120 {
        let cut: String = line.chars().take(117).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}
