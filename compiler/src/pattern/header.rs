//! Annotated `.prism` patterns (§4): the `/** @tag value … */` header, validated, and the
//! script that follows it.

use serde_json::{Map, Value, json};

use crate::diagnostic::Diagnostic;
use crate::pattern::codes;
use crate::pattern::directives::{self, DirectiveKind};
use crate::pattern::model::{Agents, Meta, PrismPattern, Spanned};
use crate::span::Span;

/// Tags with a meaning; others go to `metadata` with an `unknown-tag` warning.
pub const KNOWN_TAGS: &[&str] = &[
    "name",
    "version",
    "description",
    "input",
    "agents",
    "minAgents",
    "maxAgents",
    "timeout",
    "metadata",
    "threads",
    "workspace",
    "example",
    "module",
    "schedule",
    "persist",
    "versioning",
];
const AGENT_KEYS: &[&str] = &[
    "capabilities",
    "minAgents",
    "maxAgents",
    "minConfidence",
    "taskTimeout",
    "retries",
    "healthy",
];

/// One `@tag value` of a header.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// The tag name without `@`.
    pub name: String,
    /// The value text (continuation lines joined with `\n`), trimmed; empty = no value.
    pub text: String,
    /// Span of `@name`.
    pub span: Span,
    /// Span of the value (of the tag when there is none).
    pub value_span: Span,
}

impl Tag {
    /// JSON if the value parses as JSON, else the trimmed text; no value = `true`.
    pub fn value(&self) -> Value {
        if self.text.is_empty() {
            return Value::Bool(true);
        }
        serde_json::from_str(&self.text).unwrap_or_else(|_| Value::String(self.text.clone()))
    }
}

/// The header comment: its span and tags. `None` when the file has no `/** … */` comment with
/// an `@tag` line.
/// The header that opens a file: the first `/** … */` comment, when it comes before any code
/// (after a byte-order mark, blank lines and `//` or `/* … */` comments) and holds `@tags`.
/// This is the one rule of what makes a `.prism` file a pattern.
pub fn opening_header(text: &str) -> Option<(Span, Vec<Tag>)> {
    let mut at = 0;
    loop {
        let rest = &text[at..];
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        at += rest.len() - trimmed.len();
        if trimmed.starts_with("/**") {
            let body_start = at + 3;
            let end = text[body_start..].find("*/").map(|i| body_start + i)?;
            let tags = tags(text, body_start, end);
            if !tags.is_empty() {
                return Some((Span::new(at, end + 2), tags));
            }
            at = end + 2;
        } else if trimmed.starts_with("/*") {
            at = at + 2 + text[at + 2..].find("*/")? + 2;
        } else if trimmed.starts_with("//") {
            at += trimmed.find('\n').unwrap_or(trimmed.len());
        } else {
            return None;
        }
    }
}

/// The first `/** … */` comment with `@tags` anywhere in the text (for tools that look for
/// header-like comments; what makes a pattern is [`opening_header`]).
pub fn find_header(text: &str) -> Option<(Span, Vec<Tag>)> {
    let mut from = 0;
    while let Some(open) = text[from..].find("/**") {
        let start = from + open;
        let body_start = start + 3;
        let end = text[body_start..].find("*/").map(|i| body_start + i)?;
        let tags = tags(text, body_start, end);
        if !tags.is_empty() {
            return Some((Span::new(start, end + 2), tags));
        }
        from = end + 2;
    }
    None
}

fn tags(text: &str, start: usize, end: usize) -> Vec<Tag> {
    let mut out: Vec<Tag> = Vec::new();
    let mut offset = start;
    for line in text[start..end].split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let lead = content.len() - content.trim_start().len();
        let mut rest = &content[lead..];
        let mut col = lead;
        if let Some(r) = rest.strip_prefix('*') {
            rest = r;
            col += 1;
        }
        let trimmed = rest.trim_start();
        col += rest.len() - trimmed.len();
        if let Some(tag) = trimmed.strip_prefix('@') {
            let name_len = tag
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(tag.len());
            if name_len == 0 {
                continue;
            }
            let at = line_start + col;
            let value = tag[name_len..].trim();
            let vstart =
                at + 1 + name_len + (tag[name_len..].len() - tag[name_len..].trim_start().len());
            out.push(Tag {
                name: tag[..name_len].to_string(),
                text: value.to_string(),
                span: Span::new(at, at + 1 + name_len),
                value_span: if value.is_empty() {
                    Span::new(at, at + 1 + name_len)
                } else {
                    Span::new(vstart, vstart + value.len())
                },
            });
        } else if let Some(last) = out.last_mut() {
            let piece = trimmed.trim_end();
            if !piece.is_empty() {
                let pstart = line_start + col;
                if last.text.is_empty() {
                    last.value_span = Span::new(pstart, pstart + piece.len());
                } else {
                    last.value_span.end = (pstart + piece.len()) as u32;
                }
                if !last.text.is_empty() {
                    last.text.push('\n');
                }
                last.text.push_str(piece);
            }
        }
    }
    out
}

/// The `@schedule`, `@persist` and `@versioning` tags, checked as directives.
fn directive_tags(tags: &[Tag], diags: &mut Vec<Diagnostic>) -> Vec<directives::Directive> {
    let get = |n: &str| tags.iter().rev().find(|t| t.name == n);
    let mut dirs = Vec::new();
    for (tag, kind) in [
        ("schedule", DirectiveKind::Schedule),
        ("persist", DirectiveKind::Persistence),
        ("versioning", DirectiveKind::Versioning),
    ] {
        if let Some(t) = get(tag) {
            if t.text.starts_with('{') && serde_json::from_str::<Value>(&t.text).is_err() {
                diags.push(header_error(
                    format!("`@{tag}` is not valid JSON"),
                    t.value_span,
                ));
                continue;
            }
            if let Some(d) = directives::check(kind, &t.value(), t.span, t.value_span, diags) {
                dirs.push(d);
            }
        }
    }
    dirs
}

/// Does a header tag make its file a pattern? The tags that define one (`@name`, `@agents`,
/// `@minAgents`, `@maxAgents`, `@input`, `@timeout`), the directives and their near misses (so
/// a misspelt directive is reported, not ignored); JSDoc tags such as `@param`, `@returns`,
/// `@example`, `@version` or `@description` alone leave a program a program, as the
/// reference runs it.
pub fn defines_pattern(tag: &str) -> bool {
    matches!(
        tag,
        "name" | "agents" | "minAgents" | "maxAgents" | "input" | "timeout"
    ) || directive_near_miss(tag).is_some()
}

/// The directive tag an unknown tag was likely meant to be: another case (`@Persist`), the
/// YAML spelling (`@persistence`) or a longer or shorter form (`@schedules`, `@versions`).
fn directive_near_miss(tag: &str) -> Option<&'static str> {
    let lower = tag.to_ascii_lowercase();
    [
        ("schedule", "schedule"),
        ("persist", "persistence"),
        ("versioning", "versioning"),
    ]
    .into_iter()
    .find(|(t, yaml)| {
        lower == *t
            || lower == *yaml
            || lower.starts_with(t)
            || (lower.len() >= 5 && (t.starts_with(&lower) || yaml.starts_with(&lower)))
    })
    .map(|(t, _)| t)
}

fn header_error(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(codes::HEADER, message, span)
}

/// Loads an annotated `.prism` pattern: validates the header and parses the script.
pub fn load(text: &str, stem: &str, diags: &mut Vec<Diagnostic>) -> PrismPattern {
    let (header_span, tags) = opening_header(text).unwrap_or((Span::new(0, 0), Vec::new()));
    let get = |n: &str| tags.iter().rev().find(|t| t.name == n);
    let string = |n: &str| get(n).map(|t| Spanned::new(t.text.clone(), t.value_span));
    let name = string("name").unwrap_or_else(|| Spanned::new(stem.to_string(), header_span));
    let version = string("version").unwrap_or_else(|| Spanned::new("1.0.0".into(), header_span));
    let description = get("description").map(|t| t.text.clone());
    let input = match get("input") {
        Some(t) => Spanned::new(
            input_schema(json_tag(t, diags).unwrap_or(Value::Null)),
            t.value_span,
        ),
        None => Spanned::new(json!({"type": "any"}), header_span),
    };
    let mut extra = Map::new();
    let mut metadata = Map::new();
    if let Some(t) = get("metadata") {
        match json_tag(t, diags) {
            Some(Value::Object(m)) => metadata.extend(m),
            Some(_) => diags.push(header_error(
                "`@metadata` must be a JSON object",
                t.value_span,
            )),
            None => {}
        }
    }
    for t in &tags {
        match t.name.as_str() {
            "threads" | "workspace" | "example" | "module" => {
                extra.insert(t.name.clone(), t.value());
            }
            n if !KNOWN_TAGS.contains(&n) => {
                let mut d = Diagnostic::warning(
                    codes::UNKNOWN_TAG,
                    format!("unknown header tag `@{n}` (kept in `metadata`)"),
                    t.span,
                );
                if let Some(tag) = directive_near_miss(n) {
                    d = d.with_help(format!(
                        "did you mean `@{tag}`? As written this is not the directive: it is kept as metadata and does nothing"
                    ));
                } else if let Some(s) =
                    crate::pattern::check::suggest(n, KNOWN_TAGS.iter().copied())
                {
                    d = d.with_help(format!("did you mean `@{s}`?"));
                }
                diags.push(d);
                metadata.insert(t.name.clone(), t.value());
            }
            _ => {}
        }
    }
    if !metadata.is_empty() {
        extra.insert("metadata".into(), Value::Object(metadata));
    }
    let agents = agents(
        &get("agents").cloned(),
        get("minAgents"),
        get("maxAgents"),
        diags,
    );
    let timeout_ms = match get("timeout") {
        Some(t) => count(t, diags).unwrap_or(300_000),
        None => 300_000,
    };
    let dirs = directive_tags(&tags, diags);
    directives::check_with_pattern(&dirs, &version.value, version.span, &input.value, diags);
    let body_span = Span::new(0, text.len());
    let script = blank(text, header_span);
    let parsed = crate::parser::parse(&script);
    diags.extend(parsed.diagnostics);
    let literal_confidence = literal_confidence(&parsed.program);
    let script = std::sync::Arc::new(parsed.program);
    PrismPattern {
        meta: Meta {
            name,
            version,
            description,
            input,
            extra,
            directives: dirs,
        },
        agents,
        timeout_ms,
        header_span,
        body_span,
        literal_confidence,
        script,
    }
}

/// The file with the header replaced by spaces (line breaks kept), so script spans stay
/// file offsets.
pub fn blank(text: &str, header: Span) -> String {
    let (s, e) = (header.start as usize, header.end as usize);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..s]);
    for c in text[s..e].chars() {
        if c == '\n' {
            out.push('\n');
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out.push_str(&text[e..]);
    out
}

fn literal_confidence(program: &crate::ast::Program) -> Option<f64> {
    use crate::ast::{ExprKind, StmtKind};
    let last = program
        .stmts
        .iter()
        .rev()
        .find(|s| !matches!(s.kind, StmtKind::Empty | StmtKind::Function(_)))?;
    match &last.kind {
        StmtKind::Expr(e) => match &e.kind {
            ExprKind::Attach { confidence, .. } => match confidence.kind {
                ExprKind::Number(c) if (0.0..=1.0).contains(&c) => Some(c),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn json_tag(t: &Tag, diags: &mut Vec<Diagnostic>) -> Option<Value> {
    match serde_json::from_str::<Value>(&t.text) {
        Ok(v) => Some(v),
        Err(e) => {
            let (line, col) = (e.line(), e.column());
            let at = offset_in(&t.text, line, col).min(t.text.len());
            let start = t.value_span.start as usize + at.min(t.value_span.len());
            let span = if t.text.is_empty() {
                t.span
            } else {
                Span::new(start, (start + 1).min(t.value_span.end as usize).max(start))
            };
            diags.push(
                header_error(format!("`@{}` must be JSON: {e}", t.name), span)
                    .with_secondary(t.value_span, "this value")
                    .with_help(format!(
                        "write `@{} {{\"key\": …}}` with double-quoted keys",
                        t.name
                    )),
            );
            None
        }
    }
}

/// Byte offset in `text` of serde_json's 1-based line/column (approximate across joined
/// continuation lines).
fn offset_in(text: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off + col.saturating_sub(1);
        }
        off += l.len();
    }
    off
}

/// `@input`: a JSON Schema, or a bare properties map.
fn input_schema(v: Value) -> Value {
    match v {
        Value::Null => json!({"type": "any"}),
        Value::Object(m)
            if m.get("type").is_some_and(Value::is_string)
                || m.contains_key("properties")
                || m.contains_key("$schema") =>
        {
            Value::Object(m)
        }
        Value::Object(m) => json!({"type": "object", "properties": m}),
        other => other,
    }
}

fn count(t: &Tag, diags: &mut Vec<Diagnostic>) -> Option<u64> {
    match t.value() {
        Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
        _ => {
            diags.push(header_error(
                format!("`@{}` must be a whole number, found `{}`", t.name, t.text),
                t.value_span,
            ));
            None
        }
    }
}

/// `@agents {…}` with `@minAgents`/`@maxAgents` (which win over the object's counts): the
/// selection of the pattern's agents, or `None` without `@agents` and with no agent asked for.
fn agents(
    tag: &Option<Tag>,
    min: Option<&Tag>,
    max: Option<&Tag>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Agents> {
    let mut config = match tag {
        Some(t) => agents_object(t, diags),
        None => Map::new(),
    };
    let span = tag
        .as_ref()
        .map(|t| t.span)
        .or(min.map(|t| t.span))
        .unwrap_or_default();
    let mut lo = config.get("minAgents").and_then(Value::as_u64);
    let mut hi = config.get("maxAgents").and_then(Value::as_u64);
    if let Some(t) = min {
        lo = count(t, diags).or(lo);
    }
    if let Some(t) = max {
        hi = count(t, diags).or(hi);
    }
    let at = max.or(min).map_or(span, |t| t.value_span);
    check_agent_counts(lo, hi, at, diags);
    if tag.is_none() && lo.is_none_or(|n| n < 1) {
        return None;
    }
    let capabilities: Vec<String> = config
        .get("capabilities")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let min = lo.unwrap_or(1) as u32;
    config.insert("capabilities".into(), json!(capabilities));
    config.insert("min".into(), min.into());
    config.remove("minAgents");
    if let Some(h) = hi {
        config.insert("max".into(), h.into());
        config.remove("maxAgents");
    }
    // Every value of the wrong type has had its diagnostic above (`minConfidence` is
    // forwarded unchecked), so the parse's own errors add nothing.
    let selection = crate::plan::settings::AgentsSelection::parse(&Value::Object(config)).0;
    Some(Agents {
        capabilities,
        min,
        max: hi.map(|h| h as u32),
        selection: Box::new(selection),
        span,
    })
}

/// The object of `@agents`, its keys and the types of `healthy` and the counts checked (an
/// empty object when it is not one).
fn agents_object(t: &Tag, diags: &mut Vec<Diagnostic>) -> Map<String, Value> {
    let config = match json_tag(t, diags) {
        Some(Value::Object(m)) => m,
        Some(_) => {
            diags.push(header_error(
                "`@agents` must be a JSON object",
                t.value_span,
            ));
            Map::new()
        }
        None => Map::new(),
    };
    for k in config.keys() {
        if !AGENT_KEYS.contains(&k.as_str()) {
            diags.push(
                header_error(format!("unknown key `{k}` in `@agents`"), t.value_span)
                    .with_help(format!("keys: {}", AGENT_KEYS.join(", "))),
            );
        }
    }
    if let Some(v) = config.get("healthy")
        && !v.is_boolean()
    {
        diags.push(header_error(
            format!("`@agents.healthy` must be true or false, found {v}"),
            t.value_span,
        ));
    }
    for k in ["minAgents", "maxAgents", "taskTimeout", "retries"] {
        if let Some(v) = config.get(k)
            && v.as_u64().is_none()
        {
            diags.push(header_error(
                format!("`@agents.{k}` must be a whole number, found {v}"),
                t.value_span,
            ));
        }
    }
    config
}

/// At most [`super::phase::MAX_AGENTS`] agents, and no more at least than at most.
fn check_agent_counts(lo: Option<u64>, hi: Option<u64>, at: Span, diags: &mut Vec<Diagnostic>) {
    for n in [lo, hi].into_iter().flatten() {
        if n > u64::from(super::phase::MAX_AGENTS) {
            diags.push(header_error(
                format!(
                    "{n} agents is more than the {} a step can call",
                    super::phase::MAX_AGENTS
                ),
                at,
            ));
        }
    }
    if let (Some(a), Some(b)) = (lo, hi)
        && a > b
    {
        diags.push(header_error(
            format!("minAgents ({a}) is greater than maxAgents ({b})"),
            at,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_of_directive_tags_name_the_directive() {
        for (tag, want) in [
            ("persistence", Some("persist")),
            ("Persist", Some("persist")),
            ("PERSISTED", Some("persist")),
            ("schedules", Some("schedule")),
            ("Schedule", Some("schedule")),
            ("sched", Some("schedule")),
            ("Versioning", Some("versioning")),
            ("owner", None),
            ("ver", None),
        ] {
            assert_eq!(directive_near_miss(tag), want, "@{tag}");
        }
    }

    const SRC: &str = "/**\n * A pattern.\n * @name demo\n * @version 2.0.0\n * @input {\"q\": {\"type\": \"string\"}}\n * @agents {\"capabilities\": [\"a\"]}\n * @minAgents 2\n * @persist\n * @flavour sweet\n */\nresult = 1 ~> 0.9\n";

    #[test]
    fn header_tags_are_read() {
        let mut d = Vec::new();
        let p = load(SRC, "stem", &mut d);
        assert_eq!(p.meta.name.value, "demo");
        assert_eq!(p.meta.version.value, "2.0.0");
        assert_eq!(p.meta.input.value["properties"]["q"]["type"], "string");
        assert_eq!(p.agents.as_ref().map(|a| a.min), Some(2));
        assert_eq!(p.meta.directives.len(), 1);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, codes::UNKNOWN_TAG);
        assert_eq!(
            &SRC[p.meta.name.span.start as usize..p.meta.name.span.end as usize],
            "demo"
        );
    }

    #[test]
    fn bad_json_points_inside_the_header() {
        let src = "/**\n * @input {q: 1}\n */\nx\n";
        let mut d = Vec::new();
        load(src, "s", &mut d);
        assert_eq!(d[0].code, codes::HEADER);
        let span = d[0].primary_span();
        assert!(span.start >= 4 && span.end <= 22, "{span:?}");
    }

    #[test]
    fn counts_are_checked() {
        let mut d = Vec::new();
        load("/** @minAgents 3\n * @maxAgents 2 */", "s", &mut d);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("greater than"));
        let mut d = Vec::new();
        load("/** @minAgents many */", "s", &mut d);
        assert_eq!(d[0].code, codes::HEADER);
    }

    #[test]
    fn blanking_keeps_offsets() {
        let b = blank(SRC, Span::new(0, 10));
        assert_eq!(b.len(), SRC.len());
    }
}
