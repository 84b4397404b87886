//! Expressions embedded in YAML (`match`, `condition`, `$formula`, output references, …).
//!
//! A light scanner finds the `$references` (whose names may contain inner `-`, which Prism's
//! lexer would read as minus) and the bare names of an expression; [`check_syntax`] hands the
//! text, with those references rewritten to plain identifiers of the same length, to the Prism
//! expression parser, so parser spans still point into the YAML file.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// The code the placeholder expression parser answers with until the real one lands.
const PARSER_UNAVAILABLE: &str = "prism::syntax::unsupported";

/// A `$name[.path]` reference inside an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct RefUse {
    /// The name without `$` (inner `-` kept).
    pub name: String,
    /// The first path segment after the name, if any (`$execution.duration` → `duration`).
    pub field: Option<String>,
    /// Byte range of `$name` relative to the expression text.
    pub start: usize,
    /// End of `$name` (exclusive), relative to the expression text.
    pub end: usize,
}

/// A bare identifier used as a value (not a member name, object key or lambda parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct BareName {
    /// The identifier.
    pub name: String,
    /// Byte range relative to the expression text.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
}

/// What the scanner found in one expression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// Every `$reference`, in order.
    pub refs: Vec<RefUse>,
    /// Every bare name, in order.
    pub bare: Vec<BareName>,
}

const KEYWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "undefined",
    "typeof",
    "instanceof",
    "in",
    "new",
    "async",
    "await",
    "function",
    "return",
    "match",
    "NaN",
    "Infinity",
    "this",
];

/// True for a byte that may start an identifier (ASCII letter or `_`).
pub(crate) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// True for a byte that may continue an identifier (ASCII letter, digit or `_`).
pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Scans `text` for references and bare names.
pub fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let closers = matching_parens(bytes);
    let mut out = Scan::default();
    let mut params: Vec<String> = Vec::new();
    let mut idents: Vec<BareName> = Vec::new();
    let mut i = 0;
    // The previous significant byte (not whitespace), to tell members and keys from values.
    let mut prev: u8 = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' | b'"' | b'`' => {
                i = string_end(bytes, i);
                prev = b'"';
            }
            b'$' if i + 1 < bytes.len() && is_ident_start(bytes[i + 1]) => {
                let r = reference(text, i);
                i = r.end;
                out.refs.push(r);
                prev = b'a';
            }
            _ if b.is_ascii_digit() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                prev = b'0';
            }
            _ if is_ident_start(b) => {
                let start = i;
                while i < bytes.len() && (is_ident_char(bytes[i]) || bytes[i] == b'$') {
                    i += 1;
                }
                let name = &text[start..i];
                let next = next_significant(bytes, i);
                let member = prev == b'.';
                let key = next == Some(b':') && matches!(prev, b'{' | b',');
                if next_is_arrow(bytes, i) {
                    params.push(name.to_string());
                } else if !member && !key && !KEYWORDS.contains(&name) {
                    idents.push(BareName {
                        name: name.to_string(),
                        start,
                        end: i,
                    });
                }
                prev = b'a';
            }
            b'(' => {
                if let Some(close) = closers.get(&i).copied()
                    && next_is_arrow(bytes, close + 1)
                {
                    params.extend(
                        text[i + 1..close]
                            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .filter(|p| !p.is_empty())
                            .map(str::to_string),
                    );
                    prev = b'(';
                    i = close + 1;
                    continue;
                }
                prev = b'(';
                i += 1;
            }
            _ if b.is_ascii_whitespace() => i += 1,
            _ => {
                prev = b;
                i += 1;
            }
        }
    }
    let params: std::collections::HashSet<String> = params.into_iter().collect();
    out.bare = idents
        .into_iter()
        .filter(|n| !params.contains(&n.name))
        .collect();
    out
}

/// Where the string literal that opens at `start` ends (past its closing quote, or the end
/// of the text when it is not closed).
pub(crate) fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// The `$name` (or `$name-with-dashes`, and its `.field`) that starts at `start`.
fn reference(text: &str, start: usize) -> RefUse {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    loop {
        while i < bytes.len() && is_ident_char(bytes[i]) {
            i += 1;
        }
        if i + 1 < bytes.len() && bytes[i] == b'-' && is_ident_char(bytes[i + 1]) {
            i += 1;
            continue;
        }
        break;
    }
    let end = i;
    let field =
        (i + 1 < bytes.len() && bytes[i] == b'.' && is_ident_start(bytes[i + 1])).then(|| {
            let s = i + 1;
            let mut e = s;
            while e < bytes.len() && is_ident_char(bytes[e]) {
                e += 1;
            }
            text[s..e].to_string()
        });
    RefUse {
        name: text[start + 1..end].to_string(),
        field,
        start,
        end,
    }
}

fn next_significant(bytes: &[u8], mut i: usize) -> Option<u8> {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    bytes.get(i).copied()
}

fn next_is_arrow(bytes: &[u8], mut i: usize) -> bool {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    bytes.get(i) == Some(&b'=') && bytes.get(i + 1) == Some(&b'>')
}

/// The `)` that closes each `(` (by offset), found in one pass: looking for each one from its
/// `(` was quadratic on a long line of unclosed parentheses.
fn matching_parens(bytes: &[u8]) -> std::collections::HashMap<usize, usize> {
    let mut open = Vec::new();
    let mut out = std::collections::HashMap::new();
    for (j, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => open.push(j),
            b')' => {
                if let Some(o) = open.pop() {
                    out.insert(o, j);
                }
            }
            _ => {}
        }
    }
    out
}

/// The text the Prism parser sees: each `$ref-name` becomes `$ref_name` and `.*` becomes
/// `.$`, keeping every byte offset.
pub fn parser_text(text: &str, scan: &Scan) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for r in &scan.refs {
        for b in &mut bytes[r.start..r.end] {
            if *b == b'-' {
                *b = b'_';
            }
        }
        if bytes.get(r.end) == Some(&b'.') && bytes.get(r.end + 1) == Some(&b'*') {
            bytes[r.end + 1] = b'$';
        }
    }
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'.' && bytes[i + 1] == b'*' {
            bytes[i + 1] = b'$';
        }
        i += 1;
    }
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

/// Checks that `text` parses as one Prism expression. `base` is the byte offset of `text` in
/// the file (diagnostic spans are moved there). Until the lalrpop parser lands, the
/// placeholder parser's "unsupported" answer is ignored.
pub fn check_syntax(text: &str, scan: &Scan, base: usize) -> Vec<Diagnostic> {
    let source = parser_text(text, scan);
    match crate::parser::parse_expression(&source) {
        Ok(_) => Vec::new(),
        Err(diags) if diags.iter().any(|d| d.code == PARSER_UNAVAILABLE) => Vec::new(),
        Err(diags) => diags
            .into_iter()
            .map(|mut d| {
                for l in &mut d.labels {
                    let start = (l.span.start as usize).min(text.len());
                    let end = (l.span.end as usize).min(text.len()).max(start);
                    l.span = Span::new(base + start, base + end);
                }
                d
            })
            .collect(),
    }
}

/// The `{{expr}}` holes of a `$template` string: `(start, end)` of each expression.
pub fn template_holes(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{") {
        let start = from + open + 2;
        match text[start..].find("}}") {
            Some(close) => {
                out.push((start, start + close));
                from = start + close + 2;
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Scan) -> Vec<&str> {
        s.bare.iter().map(|b| b.name.as_str()).collect()
    }

    #[test]
    fn references_keep_inner_dashes() {
        let s = scan("$refine-loop.iterations > 2 && $quality.score - 1 < $x");
        let r: Vec<_> = s
            .refs
            .iter()
            .map(|r| (r.name.as_str(), r.field.as_deref()))
            .collect();
        assert_eq!(
            r,
            vec![
                ("refine-loop", Some("iterations")),
                ("quality", Some("score")),
                ("x", None)
            ]
        );
        assert!(s.bare.is_empty());
    }

    #[test]
    fn bare_names_skip_members_keys_strings_and_params() {
        let s = scan("(min(agentCount, 5) / 5) + xs.map(x => x.length) + {k: v}['k'] + 'lit'");
        assert_eq!(names(&s), vec!["min", "agentCount", "xs", "v"]);
        let s = scan("valid.length / (valid.length + invalid.length)");
        assert_eq!(names(&s), vec!["valid", "valid", "invalid"]);
        let s = scan("c ? a : b");
        assert_eq!(names(&s), vec!["c", "a", "b"]);
    }

    #[test]
    fn parser_text_keeps_offsets() {
        let text = "$a-b.c + $d.*.e";
        let s = scan(text);
        let p = parser_text(text, &s);
        assert_eq!(p, "$a_b.c + $d.$.e");
        assert_eq!(p.len(), text.len());
    }

    #[test]
    fn template_holes_are_found() {
        assert_eq!(template_holes("a {{x}} b {{ y }}"), vec![(4, 5), (12, 15)]);
        assert!(template_holes("{{unclosed").is_empty());
    }
}
