//! YAML reading with a byte span on every node.
//!
//! We read YAML with [`saphyr_parser`]'s event parser rather than a `serde` front end:
//! `serde_yaml` is deprecated, and serde-based crates drop positions, while saphyr-parser (the
//! maintained successor of yaml-rust/yaml-rust2, YAML 1.2, no `unsafe` in our use) reports a
//! [`saphyr_parser::Span`] for every event. We build a small tree from those events, so every
//! key and value of a pattern carries the span a diagnostic needs, and a malformed file gives
//! one `prism::yaml::syntax` error instead of a panic.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diagnostic::Diagnostic;
use crate::pattern::codes;
use crate::span::Span;

/// Most nodes an alias expansion may produce (guards against "billion laughs" documents).
const MAX_NODES: usize = 200_000;
/// The deepest nesting of sequences and mappings read (deeper documents are refused, so that
/// no recursive walk of the tree can exhaust the stack).
pub const MAX_DEPTH: usize = 256;

/// A YAML node with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Yaml {
    /// What the node holds.
    pub kind: YamlKind,
    /// Where it is in the source (byte offsets).
    pub span: Span,
}

/// The three kinds of YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum YamlKind {
    /// A scalar, kept as written; its type is resolved on demand (YAML 1.2 core schema).
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping in source order: `(key, value)` pairs.
    Map(Vec<(Yaml, Yaml)>),
}

/// A scalar's text and whether it was written plain (unquoted, not a block scalar).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The scalar's value after YAML unescaping and folding.
    pub text: String,
    /// Plain scalars are resolved to null, booleans and numbers; others are always strings.
    pub plain: bool,
}

impl Yaml {
    fn scalar(text: String, plain: bool, span: Span) -> Yaml {
        Yaml {
            kind: YamlKind::Scalar(Scalar { text, plain }),
            span,
        }
    }

    /// An empty (null) node at `span`.
    pub fn null(span: Span) -> Yaml {
        Yaml::scalar(String::new(), true, span)
    }

    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            YamlKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Yaml, Yaml)]> {
        match &self.kind {
            YamlKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Yaml]> {
        match &self.kind {
            YamlKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.get_entry(key).map(|(_, v)| v)
    }

    /// The key node and value of `key` in a mapping.
    pub fn get_entry(&self, key: &str) -> Option<(&Yaml, &Yaml)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_text() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The text of a scalar used as a mapping key.
    pub fn key_text(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.text.as_str())
    }

    /// True for a null scalar (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// A string value: any scalar that does not resolve to null, a boolean or a number.
    pub fn as_str(&self) -> Option<&str> {
        let s = self.as_scalar()?;
        (!s.plain || (!s.is_null() && s.as_bool().is_none() && s.as_f64().is_none()))
            .then_some(s.text.as_str())
    }

    /// The text of any non-null scalar (numbers and booleans as written: `version: 1.0`).
    pub fn scalar_text(&self) -> Option<&str> {
        let s = self.as_scalar()?;
        (!s.is_null()).then_some(s.text.as_str())
    }

    /// A boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        self.as_scalar()?.as_bool()
    }

    /// A numeric value.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_scalar()?.as_f64()
    }

    /// An integer value (a number without a fractional part).
    pub fn as_i64(&self) -> Option<i64> {
        let f = self.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            YamlKind::Seq(_) => "a list",
            YamlKind::Map(_) => "a mapping",
            YamlKind::Scalar(s) if s.is_null() => "nothing (null)",
            YamlKind::Scalar(s) if s.as_bool().is_some() => "a boolean",
            YamlKind::Scalar(s) if s.as_f64().is_some() => "a number",
            YamlKind::Scalar(_) => "a string",
        }
    }

    /// Converts to JSON (mapping keys become strings; order is kept).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            YamlKind::Scalar(s) => s.to_json(),
            YamlKind::Seq(items) => Value::Array(items.iter().map(Yaml::to_json).collect()),
            YamlKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

impl Scalar {
    /// True for `~`, `null`, `Null`, `NULL` and the empty plain scalar.
    pub fn is_null(&self) -> bool {
        self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }

    /// `true`/`false` in the spellings of the YAML 1.2 core schema.
    pub fn as_bool(&self) -> Option<bool> {
        if !self.plain {
            return None;
        }
        match self.text.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// A number in the syntax of the YAML 1.2 core schema.
    pub fn as_f64(&self) -> Option<f64> {
        if !self.plain {
            return None;
        }
        parse_yaml_number(&self.text)
    }

    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        if self.is_null() {
            return Value::Null;
        }
        if let Some(b) = self.as_bool() {
            return Value::Bool(b);
        }
        if let Some(f) = self.as_f64() {
            if f.fract() == 0.0 && f.abs() < 9.0e15 && !self.text.contains('.') {
                return Value::from(f as i64);
            }
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Value::Number(n);
            }
        }
        Value::String(self.text.clone())
    }
}

fn parse_yaml_number(t: &str) -> Option<f64> {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let neg = t.starts_with('-');
    let sign = if neg { -1.0 } else { 1.0 };
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(|v| v as f64);
    }
    match body {
        ".inf" | ".Inf" | ".INF" => return Some(sign * f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if body == t => return Some(f64::NAN),
        _ => {}
    }
    let bytes = body.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let int_digits = digits(&mut i);
    let mut frac_digits = 0;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        frac_digits = digits(&mut i);
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Maps saphyr's character indices to byte offsets.
struct Offsets {
    /// Byte offset of each character (only for non-ASCII text).
    table: Option<Vec<u32>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| {
            let mut t: Vec<u32> = text.char_indices().map(|(i, _)| i as u32).collect();
            t.push(text.len() as u32);
            t
        });
        Offsets {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).map(|&b| b as usize).unwrap_or(self.len),
        }
    }

    fn span(&self, s: saphyr_parser::Span) -> Span {
        Span::new(self.byte(s.start.index()), self.byte(s.end.index()))
    }
}

enum Frame {
    Seq(Vec<Yaml>, usize, usize),
    /// Entries, the key waiting for its value, anchor, start, and where each key text is.
    Map(Vec<(Yaml, Yaml)>, Option<Yaml>, usize, usize, Keys),
}

/// Mappings with at most this many keys find a duplicate key by scanning their entries.
const SCAN_KEYS: usize = 16;

/// Where the keys of one mapping are, for the duplicate-key check: a scan of the entries
/// while the mapping is small (no allocation, no hashing), a hash index once it grows, so the
/// check stays linear however many keys a mapping has.
#[derive(Default)]
struct Keys {
    index: Option<rustc_hash::FxHashMap<String, usize>>,
}

impl Keys {
    /// The entry that already has key `text`, or `None` (and `text` is noted as the key of
    /// entry `entries.len()`).
    fn find_or_note(&mut self, entries: &[(Yaml, Yaml)], text: &str) -> Option<usize> {
        if let Some(index) = &mut self.index {
            if let Some(&i) = index.get(text) {
                return Some(i);
            }
            index.insert(text.to_string(), entries.len());
            return None;
        }
        if let Some(i) = entries.iter().position(|(k, _)| k.key_text() == Some(text)) {
            return Some(i);
        }
        if entries.len() >= SCAN_KEYS {
            let mut index = rustc_hash::FxHashMap::default();
            for (i, (k, _)) in entries.iter().enumerate() {
                if let Some(t) = k.key_text() {
                    index.entry(t.to_string()).or_insert(i);
                }
            }
            index.insert(text.to_string(), entries.len());
            self.index = Some(index);
        }
        None
    }
}

/// Parses one YAML document into a [`Yaml`] tree. Syntax errors (and duplicate keys) are
/// returned as `prism::yaml::syntax` diagnostics; the tree is `None` when the text could not
/// be read at all.
pub fn parse(text: &str) -> (Option<Yaml>, Vec<Diagnostic>) {
    let offsets = Offsets::new(text);
    let mut r = Reader::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(e) => e,
            Err(err) => {
                let at = offsets.byte(err.marker().index());
                let end = (at + 1).min(text.len()).max(at);
                r.diags.push(
                    Diagnostic::error(
                        codes::YAML_SYNTAX,
                        format!("invalid YAML: {}", err.info()),
                        Span::new(at, end),
                    )
                    .with_label("here"),
                );
                return (None, r.diags);
            }
        };
        let span = offsets.span(span);
        let node = match r.made(event, span) {
            Made::Node(node) => node,
            Made::Nothing => continue,
            Made::Stop => return (None, r.diags),
        };
        r.nodes += 1;
        if r.nodes > MAX_NODES {
            r.diags.push(Diagnostic::error(
                codes::YAML_SYNTAX,
                format!(
                    "the document has more than {MAX_NODES} nodes (each alias counts as a copy of what it names)"
                ),
                span,
            ));
            return (None, r.diags);
        }
        r.place(node);
    }
    (r.root, r.diags)
}

/// The state of [`parse`] between events: the open sequences and mappings, the anchored
/// nodes, the first document's root, and the counts that bound what is read.
#[derive(Default)]
struct Reader {
    diags: Vec<Diagnostic>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Yaml>,
    root: Option<Yaml>,
    documents: usize,
    nodes: usize,
}

/// What one event makes: a finished node, nothing yet, or the end of reading (an error).
enum Made {
    Node(Yaml),
    Nothing,
    Stop,
}

impl Reader {
    /// Handles one event: opens or closes a sequence or mapping, reads a scalar or an alias.
    fn made(&mut self, event: Event<'_>, span: Span) -> Made {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents == 2 {
                    self.diags.push(Diagnostic::error(
                        codes::YAML_SYNTAX,
                        "a pattern file holds one YAML document; this is a second one",
                        span,
                    ));
                }
                Made::Nothing
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.diags.push(
                    Diagnostic::error(
                        codes::YAML_SYNTAX,
                        format!(
                            "nesting too deep: more than {MAX_DEPTH} levels of lists and mappings"
                        ),
                        span,
                    )
                    .with_label("the limit is reached here"),
                );
                Made::Stop
            }
            Event::SequenceStart(anchor, _) => {
                self.stack
                    .push(Frame::Seq(Vec::new(), anchor, span.start as usize));
                Made::Nothing
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(
                    Vec::new(),
                    None,
                    anchor,
                    span.start as usize,
                    Keys::default(),
                ));
                Made::Nothing
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq(items, anchor, start)) => {
                    let end = items.last().map_or(span.end, |n| n.span.end.max(span.end));
                    Made::Node(finish(
                        Yaml {
                            kind: YamlKind::Seq(items),
                            span: Span::new(start, end as usize),
                        },
                        anchor,
                        &mut self.anchors,
                    ))
                }
                _ => Made::Nothing,
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map(entries, _, anchor, start, _)) => {
                    let end = entries
                        .last()
                        .map_or(span.end, |(_, v)| v.span.end.max(span.end));
                    Made::Node(finish(
                        Yaml {
                            kind: YamlKind::Map(entries),
                            span: Span::new(start, end as usize),
                        },
                        anchor,
                        &mut self.anchors,
                    ))
                }
                _ => Made::Nothing,
            },
            Event::Scalar(value, style, anchor, _) => {
                let plain = matches!(style, ScalarStyle::Plain);
                Made::Node(finish(
                    Yaml::scalar(value.into_owned(), plain, span),
                    anchor,
                    &mut self.anchors,
                ))
            }
            Event::Alias(id) => Made::Node(self.alias(id, span)),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {
                Made::Nothing
            }
        }
    }

    /// A copy of the anchored node an alias names (counted as the nodes it copies), or null
    /// with an error when the alias is inside that node.
    fn alias(&mut self, id: usize, span: Span) -> Yaml {
        match self.anchors.get(&id) {
            Some(n) => {
                self.nodes += count(n);
                let mut n = n.clone();
                n.span = span;
                n
            }
            None => {
                // The anchor is still open: the alias is inside what it names.
                self.diags.push(
                    Diagnostic::error(
                        codes::YAML_SYNTAX,
                        "this alias is inside the node it names: a recursive document cannot be read",
                        span,
                    )
                    .with_label("refers to an enclosing node"),
                );
                Yaml::null(span)
            }
        }
    }

    /// Puts a finished node where it belongs: into the open sequence, as the open mapping's
    /// key or value (a key seen before is an error), or as the root.
    fn place(&mut self, node: Yaml) {
        match self.stack.last_mut() {
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, pending, _, _, seen)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Some(text) = key.key_text()
                        && let Some(i) = seen.find_or_note(entries, text)
                    {
                        self.diags.push(
                            Diagnostic::error(
                                codes::YAML_SYNTAX,
                                format!("duplicate key `{text}`"),
                                key.span,
                            )
                            .with_secondary(entries[i].0.span, "first defined here"),
                        );
                    }
                    entries.push((key, node));
                }
            },
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
    }
}

fn finish(node: Yaml, anchor: usize, anchors: &mut HashMap<usize, Yaml>) -> Yaml {
    if anchor > 0 {
        anchors.insert(anchor, node.clone());
    }
    node
}

fn count(n: &Yaml) -> usize {
    match &n.kind {
        YamlKind::Scalar(_) => 1,
        YamlKind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        YamlKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Yaml {
        let (y, d) = parse(text);
        assert!(d.is_empty(), "{d:?}");
        y.expect("a document")
    }

    #[test]
    fn spans_are_byte_offsets() {
        let text = "name: é-test\nversion: 1.0\n";
        let y = parse_ok(text);
        let v = y.get("version").expect("version");
        assert_eq!(&text[v.span.start as usize..v.span.end as usize], "1.0");
        assert_eq!(v.scalar_text(), Some("1.0"));
        assert_eq!(v.as_str(), None);
        let n = y.get("name").expect("name");
        assert_eq!(&text[n.span.start as usize..n.span.end as usize], "é-test");
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2() {
        let y = parse_ok("a: 3\nb: '3'\nc: true\nd: ~\ne: 1e3\nf: 1.0.0\ng:\n");
        assert_eq!(y.get("a").and_then(Yaml::as_i64), Some(3));
        assert_eq!(y.get("b").and_then(Yaml::as_str), Some("3"));
        assert_eq!(y.get("c").and_then(Yaml::as_bool), Some(true));
        assert!(y.get("d").is_some_and(Yaml::is_null));
        assert_eq!(y.get("e").and_then(Yaml::as_f64), Some(1000.0));
        assert_eq!(y.get("f").and_then(Yaml::as_str), Some("1.0.0"));
        assert!(y.get("g").is_some_and(Yaml::is_null));
    }

    #[test]
    fn syntax_errors_and_duplicates_are_diagnostics() {
        let (y, d) = parse("a: [1, 2\nb: 3\n");
        assert!(y.is_none());
        assert_eq!(d[0].code, codes::YAML_SYNTAX);
        let (_, d) = parse("a: 1\na: 2\n");
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("duplicate"));
    }

    #[test]
    fn duplicates_are_found_in_small_and_large_mappings_alike() {
        // Keys k0…k39, then k3 again (found through the hash index built past 16 keys), k39
        // again, and k3 a third time: each repeat names the first entry.
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: x\nk39: y\nk3: z\n");
        let (y, d) = parse(&text);
        assert!(y.is_some());
        let messages: Vec<(&str, u32)> = d
            .iter()
            .map(|d| (d.message.as_str(), d.labels[1].span.start))
            .collect();
        let at = |key: &str| text.find(&format!("{key}: ")).map_or(0, |i| i as u32);
        assert_eq!(
            messages,
            [
                ("duplicate key `k3`", at("k3")),
                ("duplicate key `k39`", at("k39")),
                ("duplicate key `k3`", at("k3")),
            ]
        );
    }

    #[test]
    fn aliases_expand() {
        let y = parse_ok("a: &x {k: 1}\nb: *x\n");
        assert_eq!(
            y.get("b").and_then(|b| b.get("k")).and_then(Yaml::as_i64),
            Some(1)
        );
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            ":",
            "- [",
            "{a: }",
            "\t- x",
            "a: |\n  b\n c",
            "? [a]\n: b",
            "*x",
        ] {
            let _ = parse(text);
        }
    }
}
