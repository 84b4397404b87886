//! The Prism lexer: logos turns source text into [`Tok`]ens, then [`crate::layout`] inserts
//! statement separators at line breaks and classifies braces and parentheses for the grammar.

use std::sync::Arc;

use logos::{Lexer, Logos};

use crate::span::Span;

/// A piece of a template string as the lexer found it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawPart {
    /// Literal text with escapes decoded.
    Text(Arc<str>),
    /// The source of a `${…}` hole: byte offsets of the expression inside the braces.
    Hole { start: usize, end: usize },
}

/// What went wrong while lexing.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LexError {
    #[default]
    UnexpectedChar,
    UnterminatedString,
    NewlineInString,
    UnterminatedTemplate,
    UnterminatedComment,
    BadNumber,
    BadEscape,
}

impl LexError {
    /// A human sentence for this error.
    pub fn message(&self, text: &str) -> String {
        match self {
            LexError::UnexpectedChar => match text.chars().next() {
                Some(c) => format!("unexpected character `{c}`"),
                None => "unexpected end of input".to_string(),
            },
            LexError::UnterminatedString => "unterminated string".to_string(),
            LexError::NewlineInString => "Unexpected newline in string".to_string(),
            LexError::UnterminatedTemplate => "unterminated template string".to_string(),
            LexError::UnterminatedComment => "unterminated block comment".to_string(),
            LexError::BadNumber => format!("malformed number `{text}`"),
            LexError::BadEscape => "malformed escape sequence".to_string(),
        }
    }
}

/// Prism tokens. Variants without a pattern are produced by the layout pass.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error = LexError)]
#[logos(extras = Interner)]
pub enum Tok {
    // Whitespace and line comments are skipped by callbacks that loop over the run: a
    // repeated pattern in the generated lexer recurses once per character in unoptimised
    // builds, and 65,536 spaces overflowed the stack.
    #[token("/*", block_comment)]
    #[regex(r"[ \t\r\n\f\u{feff}\u{a0}]", whitespace)]
    #[token("//", line_comment)]
    Comment,

    // ---- literals ----
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?", number)]
    #[regex(r"\.[0-9][0-9_]*([eE][+-]?[0-9]+)?", number)]
    #[regex(r"0[xX][0-9a-fA-F_]+", hex_number)]
    #[regex(r"0[bB][01_]+", bin_number)]
    Number(f64),
    #[token("\"", double_quoted)]
    #[token("'", single_quoted)]
    #[token("`", backtick)]
    #[token("```", triple_backtick)]
    Template(Arc<Vec<RawPart>>),
    /// A string without holes (produced from `Template` by the layout pass).
    Str(Arc<str>),
    #[regex(r"[A-Za-z_$][A-Za-z0-9_$]*", intern)]
    Ident(Arc<str>),

    // ---- keywords ----
    #[token("let")]
    Let,
    #[token("const")]
    Const,
    #[token("var")]
    Var,
    #[token("function")]
    Function,
    #[token("async")]
    Async,
    #[token("await")]
    Await,
    #[token("return")]
    Return,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("for")]
    For,
    #[token("while")]
    While,
    #[token("do")]
    Do,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("uncertain")]
    Uncertain,
    #[token("try")]
    Try,
    #[token("catch")]
    Catch,
    #[token("finally")]
    Finally,
    #[token("throw")]
    Throw,
    #[token("import")]
    Import,
    #[token("export")]
    Export,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("null")]
    Null,
    #[token("undefined")]
    Undefined,
    #[token("typeof")]
    Typeof,
    #[token("instanceof")]
    Instanceof,
    #[token("in")]
    In,
    /// `match` where it starts a match expression (otherwise it is an identifier).
    Match,
    /// `_`
    Placeholder,

    // ---- punctuation ----
    #[token("(")]
    LParen,
    /// `(` that opens the parameter list of an arrow function.
    LambdaParen,
    /// `(` around the condition of `if`/`while`/`for` (the condition is a full statement head).
    CondParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    /// `{` that opens a block (rather than an object literal).
    BlockBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    /// A line break that ends a statement.
    Newline,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("...")]
    Ellipsis,
    #[token("?")]
    Question,
    #[token("?.")]
    QuestionDot,
    #[token("??")]
    QuestionQuestion,
    #[token("=>")]
    Arrow,

    // ---- operators ----
    #[token("=")]
    Assign,
    #[token("+=")]
    PlusAssign,
    #[token("-=")]
    MinusAssign,
    #[token("*=")]
    StarAssign,
    #[token("/=")]
    SlashAssign,
    #[token("%=")]
    PercentAssign,
    #[token("**=")]
    StarStarAssign,
    #[token("??=")]
    NullishAssign,
    #[token("&&=")]
    AndAssign,
    #[token("||=")]
    OrAssign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("**")]
    StarStar,
    #[token("++")]
    PlusPlus,
    #[token("--")]
    MinusMinus,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("===")]
    EqEqEq,
    #[token("!==")]
    NotEqEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    LtEq,
    #[token(">")]
    Gt,
    #[token(">=")]
    GtEq,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("|>")]
    Pipe,

    // ---- confidence operators ----
    #[token("~>")]
    TildeArrow,
    #[token("<~")]
    Extract,
    #[token("~")]
    Tilde,
    #[token("~~")]
    TildeTilde,
    #[token("~+")]
    TildePlus,
    #[token("~-")]
    TildeMinus,
    #[token("~*")]
    TildeStar,
    #[token("~/")]
    TildeSlash,
    #[token("~==")]
    TildeEqEq,
    #[token("~!=")]
    TildeNotEq,
    #[token("~<")]
    TildeLt,
    #[token("~<=")]
    TildeLtEq,
    #[token("~>=")]
    TildeGtEq,
    #[token("~&&")]
    TildeAndAnd,
    #[token("~||")]
    TildeOrOr,
    #[token("~??")]
    TildeQuestionQuestion,
    #[token("~||>")]
    TildeParallel,
    #[token("~@>")]
    TildeGate,
    #[token("~|>")]
    TildePipe,
    #[token("~?>")]
    TildeThreshold,
    #[token("~?")]
    TildeQuestion,
    #[token("~.")]
    TildeDot,
    #[token("~+=")]
    TildePlusAssign,
    #[token("~-=")]
    TildeMinusAssign,
    #[token("~*=")]
    TildeStarAssign,
    #[token("~/=")]
    TildeSlashAssign,
    /// `->` after a context body: `in context A { … } -> B`.
    #[token("->")]
    ThinArrow,

    /// End of a `${…}` hole parsed on its own (never produced from source).
    Eof,
}

impl Tok {
    /// How the token is written, for messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Str(_) | Tok::Template(_) => "a string".to_string(),
            Tok::Ident(name) => format!("`{name}`"),
            Tok::Newline => "a line break".to_string(),
            Tok::Eof => "end of input".to_string(),
            other => format!("`{}`", other.text()),
        }
    }

    /// The fixed text of punctuation and keyword tokens.
    pub fn text(&self) -> &'static str {
        use Tok::*;
        match self {
            Comment => "/*",
            Number(_) => "number",
            Template(_) | Str(_) => "string",
            Ident(_) => "identifier",
            Let => "let",
            Const => "const",
            Var => "var",
            Function => "function",
            Async => "async",
            Await => "await",
            Return => "return",
            If => "if",
            Else => "else",
            For => "for",
            While => "while",
            Do => "do",
            Break => "break",
            Continue => "continue",
            Uncertain => "uncertain",
            Try => "try",
            Catch => "catch",
            Finally => "finally",
            Throw => "throw",
            Import => "import",
            Export => "export",
            True => "true",
            False => "false",
            Null => "null",
            Undefined => "undefined",
            Typeof => "typeof",
            Instanceof => "instanceof",
            In => "in",
            Match => "match",
            Placeholder => "_",
            LParen | LambdaParen | CondParen => "(",
            RParen => ")",
            LBrace | BlockBrace => "{",
            RBrace => "}",
            LBracket => "[",
            RBracket => "]",
            Comma => ",",
            Semi => ";",
            Newline => "newline",
            Colon => ":",
            Dot => ".",
            Ellipsis => "...",
            Question => "?",
            QuestionDot => "?.",
            QuestionQuestion => "??",
            Arrow => "=>",
            Assign => "=",
            PlusAssign => "+=",
            MinusAssign => "-=",
            StarAssign => "*=",
            SlashAssign => "/=",
            PercentAssign => "%=",
            StarStarAssign => "**=",
            NullishAssign => "??=",
            AndAssign => "&&=",
            OrAssign => "||=",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            StarStar => "**",
            PlusPlus => "++",
            MinusMinus => "--",
            EqEq => "==",
            NotEq => "!=",
            EqEqEq => "===",
            NotEqEq => "!==",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            AndAnd => "&&",
            OrOr => "||",
            Bang => "!",
            Pipe => "|>",
            TildeArrow => "~>",
            Extract => "<~",
            Tilde => "~",
            TildeTilde => "~~",
            TildePlus => "~+",
            TildeMinus => "~-",
            TildeStar => "~*",
            TildeSlash => "~/",
            TildeEqEq => "~==",
            TildeNotEq => "~!=",
            TildeLt => "~<",
            TildeLtEq => "~<=",
            TildeGtEq => "~>=",
            TildeAndAnd => "~&&",
            TildeOrOr => "~||",
            TildeQuestionQuestion => "~??",
            TildeParallel => "~||>",
            TildeGate => "~@>",
            TildePipe => "~|>",
            TildeThreshold => "~?>",
            TildeQuestion => "~?",
            TildeDot => "~.",
            TildePlusAssign => "~+=",
            TildeMinusAssign => "~-=",
            TildeStarAssign => "~*=",
            TildeSlashAssign => "~/=",
            ThinArrow => "->",
            Eof => "end of input",
        }
    }
}

/// Identifier interning for one lexer run: each distinct name is allocated once.
#[derive(Default)]
pub struct Interner {
    names: rustc_hash::FxHashMap<Box<str>, Arc<str>>,
}

fn intern(lex: &mut Lexer<Tok>) -> Arc<str> {
    let text = lex.slice();
    if let Some(name) = lex.extras.names.get(text) {
        return name.clone();
    }
    let name: Arc<str> = Arc::from(text);
    lex.extras.names.insert(Box::from(text), name.clone());
    name
}

/// A token with its byte span, or a lexing error with its span.
pub type Spanned = (usize, Tok, usize);

/// A lexing error at a span.
#[derive(Debug, Clone, PartialEq)]
pub struct LexIssue {
    pub error: LexError,
    pub span: Span,
}

/// Lexes `source` into raw tokens (no layout). Errors are collected, and lexing goes on after
/// each one, so every problem of a file is reported.
pub fn lex(source: &str) -> (Vec<Spanned>, Vec<LexIssue>) {
    lex_at(source, 0)
}

/// Lexes a slice of a larger file that starts at byte `offset`.
pub fn lex_at(source: &str, offset: usize) -> (Vec<Spanned>, Vec<LexIssue>) {
    // Code has about one token for every two or three bytes: room for one every two is
    // rarely outgrown, and growing would copy the whole vector (memory not written is free).
    let mut toks = Vec::with_capacity(source.len() / 2 + 16);
    let mut issues = Vec::new();
    let mut lexer = Tok::lexer(source);
    while let Some(res) = lexer.next() {
        let span = lexer.span();
        let (start, end) = (span.start + offset, span.end + offset);
        match res {
            Ok(Tok::Comment) => {}
            Ok(Tok::Template(parts)) => {
                let parts = shift_parts(parts, offset);
                toks.push((start, template_or_str(parts), end));
            }
            Ok(tok) => toks.push((start, tok, end)),
            Err(error) => issues.push(LexIssue {
                error,
                span: Span::new(start, end.max(start + 1).min(offset + source.len())),
            }),
        }
    }
    (toks, issues)
}

fn shift_parts(parts: Arc<Vec<RawPart>>, offset: usize) -> Arc<Vec<RawPart>> {
    if offset == 0 {
        return parts;
    }
    Arc::new(
        parts
            .iter()
            .map(|p| match p {
                RawPart::Hole { start, end } => RawPart::Hole {
                    start: start + offset,
                    end: end + offset,
                },
                t => t.clone(),
            })
            .collect(),
    )
}

fn template_or_str(parts: Arc<Vec<RawPart>>) -> Tok {
    match parts.as_slice() {
        [] => Tok::Str(Arc::from("")),
        [RawPart::Text(t)] => Tok::Str(t.clone()),
        _ => Tok::Template(parts),
    }
}

fn whitespace(lex: &mut Lexer<Tok>) -> logos::Skip {
    // The run of ` \t\r\n\f`, U+FEFF and U+00A0, read as bytes (UTF-8: EF BB BF, C2 A0).
    let bytes = lex.remainder().as_bytes();
    let mut run = 0;
    loop {
        match bytes.get(run..) {
            Some([b' ' | b'\t' | b'\r' | b'\n' | 0x0c, ..]) => run += 1,
            Some([0xc2, 0xa0, ..]) => run += 2,
            Some([0xef, 0xbb, 0xbf, ..]) => run += 3,
            _ => break,
        }
    }
    lex.bump(run);
    logos::Skip
}

fn line_comment(lex: &mut Lexer<Tok>) -> logos::Skip {
    let run = lex.remainder().find('\n').unwrap_or(lex.remainder().len());
    lex.bump(run);
    logos::Skip
}

fn block_comment(lex: &mut Lexer<Tok>) -> Result<(), LexError> {
    match lex.remainder().find("*/") {
        Some(i) => {
            lex.bump(i + 2);
            Ok(())
        }
        None => {
            lex.bump(lex.remainder().len());
            Err(LexError::UnterminatedComment)
        }
    }
}

fn number(lex: &mut Lexer<Tok>) -> Result<f64, LexError> {
    let slice = lex.slice();
    if !slice.contains('_') {
        return slice.parse::<f64>().map_err(|_| LexError::BadNumber);
    }
    let text: String = slice.chars().filter(|&c| c != '_').collect();
    text.parse::<f64>().map_err(|_| LexError::BadNumber)
}

fn radix_number(lex: &mut Lexer<Tok>, radix: u32) -> Result<f64, LexError> {
    let digits: String = lex.slice()[2..].chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return Err(LexError::BadNumber);
    }
    let mut value = 0f64;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or(LexError::BadNumber)?;
        value = value * radix as f64 + d as f64;
    }
    Ok(value)
}

fn hex_number(lex: &mut Lexer<Tok>) -> Result<f64, LexError> {
    radix_number(lex, 16)
}

fn bin_number(lex: &mut Lexer<Tok>) -> Result<f64, LexError> {
    radix_number(lex, 2)
}

/// How a string literal ends and whether it may hold `${…}` holes.
#[derive(Clone, Copy)]
struct Quote {
    close: &'static str,
    holes: bool,
    multiline: bool,
}

fn double_quoted(lex: &mut Lexer<Tok>) -> Result<Arc<Vec<RawPart>>, LexError> {
    scan_string(
        lex,
        Quote {
            close: "\"",
            holes: true,
            multiline: false,
        },
    )
}

fn single_quoted(lex: &mut Lexer<Tok>) -> Result<Arc<Vec<RawPart>>, LexError> {
    scan_string(
        lex,
        Quote {
            close: "'",
            holes: false,
            multiline: false,
        },
    )
}

fn backtick(lex: &mut Lexer<Tok>) -> Result<Arc<Vec<RawPart>>, LexError> {
    scan_string(
        lex,
        Quote {
            close: "`",
            holes: true,
            multiline: true,
        },
    )
}

fn triple_backtick(lex: &mut Lexer<Tok>) -> Result<Arc<Vec<RawPart>>, LexError> {
    scan_string(
        lex,
        Quote {
            close: "```",
            holes: true,
            multiline: true,
        },
    )
}

/// Scans the body of a string literal after its opening quote, decoding escapes and finding
/// the extent of each `${…}` hole (braces and nested strings inside holes are skipped).
fn scan_string(lex: &mut Lexer<Tok>, q: Quote) -> Result<Arc<Vec<RawPart>>, LexError> {
    let rest = lex.remainder();
    let base = lex.span().end;
    let bytes = rest.as_bytes();
    // Most strings hold no escape and no hole: their text is the source slice as it is.
    let close = q.close.as_bytes()[0];
    if let Some(i) = bytes
        .iter()
        .position(|&b| b == close || matches!(b, b'\\' | b'$' | b'\n'))
        && rest[i..].starts_with(q.close)
    {
        lex.bump(i + q.close.len());
        return Ok(Arc::new(vec![RawPart::Text(Arc::from(&rest[..i]))]));
    }
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if rest[i..].starts_with(q.close) {
            if !text.is_empty() || parts.is_empty() {
                parts.push(RawPart::Text(Arc::from(text.as_str())));
            }
            lex.bump(i + q.close.len());
            return Ok(Arc::new(parts));
        }
        let c = bytes[i];
        match c {
            b'\\' => {
                let (decoded, used) = decode_escape(&rest[i..]);
                match decoded {
                    Some(s) => text.push_str(&s),
                    None => {
                        lex.bump(i + used);
                        return Err(LexError::BadEscape);
                    }
                }
                i += used;
            }
            b'$' if q.holes && bytes.get(i + 1) == Some(&b'{') => {
                let start = i + 2;
                let Some(end) = hole_end(rest, start) else {
                    lex.bump(rest.len());
                    return Err(LexError::UnterminatedTemplate);
                };
                if !text.is_empty() {
                    parts.push(RawPart::Text(Arc::from(std::mem::take(&mut text).as_str())));
                }
                parts.push(RawPart::Hole {
                    start: base + start,
                    end: base + end,
                });
                i = end + 1;
            }
            b'\n' if !q.multiline => {
                lex.bump(i);
                return Err(LexError::NewlineInString);
            }
            _ => {
                let ch_len = utf8_len(c);
                text.push_str(&rest[i..i + ch_len]);
                i += ch_len;
            }
        }
    }
    lex.bump(rest.len());
    Err(if q.multiline {
        LexError::UnterminatedTemplate
    } else {
        LexError::UnterminatedString
    })
}

fn utf8_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Finds the `}` that closes a hole whose expression starts at `start`.
fn hole_end(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 1usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Decodes one escape sequence at the start of `s` (which begins with `\`). Returns the text
/// and the number of bytes used; `None` text for a malformed escape.
fn decode_escape(s: &str) -> (Option<String>, usize) {
    let mut chars = s[1..].chars();
    let Some(c) = chars.next() else {
        return (None, 1);
    };
    let simple = |t: &str| (Some(t.to_string()), 1 + c.len_utf8());
    match c {
        'n' => simple("\n"),
        't' => simple("\t"),
        'r' => simple("\r"),
        'b' => simple("\u{8}"),
        'f' => simple("\u{c}"),
        'v' => simple("\u{b}"),
        '0' => simple("\0"),
        '\n' => (Some(String::new()), 2),
        'x' => {
            let hex = s.get(2..4);
            match hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                Some(v) => (char::from_u32(v).map(String::from), 4),
                None => (None, 2),
            }
        }
        'u' => {
            if s[2..].starts_with('{') {
                let Some(close) = s[3..].find('}') else {
                    return (None, 2);
                };
                let code = u32::from_str_radix(&s[3..3 + close], 16).ok();
                (
                    code.and_then(char::from_u32).map(String::from),
                    3 + close + 1,
                )
            } else {
                let code = s.get(2..6).and_then(|h| u32::from_str_radix(h, 16).ok());
                (code.and_then(char::from_u32).map(String::from), 6)
            }
        }
        other => (Some(other.to_string()), 1 + other.len_utf8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        let (toks, issues) = lex(src);
        assert!(issues.is_empty(), "{issues:?}");
        toks.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn confidence_operators_take_the_longest_match() {
        use Tok::*;
        assert_eq!(
            kinds("~||> ~|| ~>= ~> <~ ~?? ~?> ~? ~~ ~. ~@> ~|>"),
            vec![
                TildeParallel,
                TildeOrOr,
                TildeGtEq,
                TildeArrow,
                Extract,
                TildeQuestionQuestion,
                TildeThreshold,
                TildeQuestion,
                TildeTilde,
                TildeDot,
                TildeGate,
                TildePipe
            ]
        );
    }

    #[test]
    fn numbers_with_exponents_and_leading_dot() {
        assert_eq!(
            kinds("1e3 .5 2.5E-2 0x1f 1_000"),
            vec![
                Tok::Number(1000.0),
                Tok::Number(0.5),
                Tok::Number(0.025),
                Tok::Number(31.0),
                Tok::Number(1000.0)
            ]
        );
    }

    #[test]
    fn strings_decode_escapes_and_find_holes() {
        assert_eq!(kinds(r#""a\nb""#), vec![Tok::Str(Arc::from("a\nb"))]);
        let toks = kinds(r#""x ${ok ? "yes" : "no"} y""#);
        let [Tok::Template(parts)] = toks.as_slice() else {
            panic!("expected a template, got {toks:?}")
        };
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], RawPart::Hole { start: 5, end: 22 });
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("a /* b \n c */ d // e"),
            vec![Tok::Ident(Arc::from("a")), Tok::Ident(Arc::from("d"))]
        );
    }

    #[test]
    fn newline_in_string_is_an_error() {
        let (_, issues) = lex("print(\"abc)\nx");
        assert_eq!(issues[0].error, LexError::NewlineInString);
    }
}
