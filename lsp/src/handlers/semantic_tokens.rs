//! Semantic tokens. Confidence operators (`~>`, `<~`, `~+`, `~&&`, `~||>` …) get their own
//! token type, `confidenceOperator`, so themes can colour them apart from ordinary operators.

use prism_compiler::comments::comments;
use prism_compiler::lexer::{Tok, lex};
use tower_lsp_server::ls_types::*;

use crate::document::Document;
use crate::state::State;
use prism_compiler::analysis::{Analysis, SymbolKind as Kind, Target};
use prism_compiler::builtins::{self, BuiltinKind};

/// Token types, in legend order.
const TYPES: &[&str] = &[
    "keyword",
    "variable",
    "function",
    "parameter",
    "property",
    "string",
    "number",
    "comment",
    "operator",
    "namespace",
    "confidenceOperator",
];
const KEYWORD: u32 = 0;
const VARIABLE: u32 = 1;
const FUNCTION: u32 = 2;
const PARAMETER: u32 = 3;
const PROPERTY: u32 = 4;
const STRING: u32 = 5;
const NUMBER: u32 = 6;
const COMMENT: u32 = 7;
const OPERATOR: u32 = 8;
const NAMESPACE: u32 = 9;
/// The token type of confidence operators.
pub const CONFIDENCE_OPERATOR: u32 = 10;

const DECLARATION: u32 = 1;
const READONLY: u32 = 2;
const DEFAULT_LIBRARY: u32 = 4;

/// The legend announced in the server capabilities.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.iter().map(|t| SemanticTokenType::new(t)).collect(),
        token_modifiers: vec![
            SemanticTokenModifier::DECLARATION,
            SemanticTokenModifier::READONLY,
            SemanticTokenModifier::DEFAULT_LIBRARY,
        ],
    }
}

/// Answers `textDocument/semanticTokens/full`.
pub fn full(state: &State, params: &SemanticTokensParams) -> Option<SemanticTokensResult> {
    let doc = state.doc(&params.text_document.uri)?;
    let analysis = doc.analysis.as_ref()?;
    Some(SemanticTokensResult::Tokens(SemanticTokens {
        result_id: None,
        data: tokens(doc, analysis),
    }))
}

/// The classified tokens of a document, encoded relative to each other.
pub fn tokens(doc: &Document, analysis: &Analysis) -> Vec<SemanticToken> {
    let (toks, _) = lex(&doc.text);
    let mut spans: Vec<(usize, usize, u32, u32)> = Vec::with_capacity(toks.len());
    for (i, (start, tok, end)) in toks.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &toks[p].1);
        let next = toks.get(i + 1).map(|t| &t.1);
        if let Some((ty, mods)) = classify(tok, *start, prev, next, analysis) {
            spans.push((*start, *end, ty, mods));
        }
    }
    for c in comments(&doc.text) {
        spans.push((c.span.start as usize, c.span.end as usize, COMMENT, 0));
    }
    spans.sort_by_key(|s| s.0);
    encode(doc, &spans)
}

fn classify(
    tok: &Tok,
    start: usize,
    prev: Option<&Tok>,
    next: Option<&Tok>,
    a: &Analysis,
) -> Option<(u32, u32)> {
    use Tok::*;
    Some(match tok {
        Number(_) => (NUMBER, 0),
        Str(_) | Template(_) => (STRING, 0),
        Ident(name) => {
            if matches!(prev, Some(Dot | QuestionDot | TildeDot)) {
                return Some((PROPERTY, 0));
            }
            match a
                .occurrence_at(start)
                .filter(|o| o.span.start as usize == start)
            {
                Some(o) => match o.target {
                    Target::Symbol(id) => {
                        let s = &a.symbols[id];
                        let decl = if o.is_def { DECLARATION } else { 0 };
                        match s.kind {
                            Kind::Function => (FUNCTION, decl),
                            Kind::Parameter => (PARAMETER, decl),
                            Kind::Const => (VARIABLE, decl | READONLY),
                            _ if s.params.is_some() => (FUNCTION, decl),
                            _ => (VARIABLE, decl),
                        }
                    }
                    Target::Builtin => match builtins::lookup(name).map(|b| b.kind) {
                        Some(BuiltinKind::Namespace) => (NAMESPACE, DEFAULT_LIBRARY),
                        Some(BuiltinKind::Function) => (FUNCTION, DEFAULT_LIBRARY),
                        _ => (VARIABLE, DEFAULT_LIBRARY | READONLY),
                    },
                    Target::Unresolved => (VARIABLE, 0),
                },
                None if matches!(next, Some(Colon)) => (PROPERTY, 0),
                None => match &**name {
                    "high" | "medium" | "low" | "default" | "of" | "from" | "as" => (KEYWORD, 0),
                    _ => (VARIABLE, 0),
                },
            }
        }
        TildeArrow
        | Extract
        | Tilde
        | TildeTilde
        | TildePlus
        | TildeMinus
        | TildeStar
        | TildeSlash
        | TildeEqEq
        | TildeNotEq
        | TildeLt
        | TildeLtEq
        | TildeGtEq
        | TildeAndAnd
        | TildeOrOr
        | TildeQuestionQuestion
        | TildeParallel
        | TildeGate
        | TildePipe
        | TildeThreshold
        | TildeQuestion
        | TildeDot => (CONFIDENCE_OPERATOR, 0),
        Let | Const | Var | Function | Async | Await | Return | If | Else | For | While | Do
        | Break | Continue | Uncertain | Try | Catch | Finally | Throw | Import | Export | True
        | False | Null | Undefined | Typeof | Instanceof | In | Match => (KEYWORD, 0),
        Assign | PlusAssign | MinusAssign | StarAssign | SlashAssign | PercentAssign
        | StarStarAssign | NullishAssign | AndAssign | OrAssign | Plus | Minus | Star | Slash
        | Percent | StarStar | PlusPlus | MinusMinus | EqEq | NotEq | EqEqEq | NotEqEq | Lt
        | LtEq | Gt | GtEq | AndAnd | OrOr | Bang | Pipe | Question | QuestionQuestion | Arrow
        | Ellipsis => (OPERATOR, 0),
        _ => return None,
    })
}

/// Encodes absolute byte spans as LSP's relative (line, UTF-16 column) tokens, one per line
/// for tokens that span lines.
fn encode(doc: &Document, spans: &[(usize, usize, u32, u32)]) -> Vec<SemanticToken> {
    let mut out = Vec::with_capacity(spans.len());
    let (mut last_line, mut last_col) = (0u32, 0u32);
    let mut last_end = 0usize;
    for &(start, end, ty, mods) in spans {
        if start < last_end {
            continue;
        }
        last_end = end;
        let text = doc.text.get(start..end).unwrap_or("");
        let mut offset = start;
        for piece in text.split('\n') {
            let pos = doc.lines.position(&doc.text, offset);
            let len: u32 = piece
                .trim_end_matches('\r')
                .chars()
                .map(|c| c.len_utf16() as u32)
                .sum();
            if len > 0 {
                let delta_line = pos.line - last_line;
                let delta_start = if delta_line == 0 {
                    pos.character - last_col
                } else {
                    pos.character
                };
                out.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: len,
                    token_type: ty,
                    token_modifiers_bitset: mods,
                });
                last_line = pos.line;
                last_col = pos.character;
            }
            offset += piece.len() + 1;
        }
    }
    out
}
