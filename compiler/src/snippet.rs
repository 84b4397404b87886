//! What a diagnostic shows of its source: the lines its labels touch (and one around them),
//! each at most [`MAX_LINE_WIDTH`] columns wide, with control characters escaped.
//!
//! This is the one place where spans meet the text for drawing. Every label is clamped to the
//! text and snapped to character boundaries; very long lines are cut to a window around the
//! labels (marked `…`), so no column or underline reaches the widths miette cannot format;
//! control characters (ESC, lone CR, NUL, C1 controls, bidirectional overrides) are shown as
//! escapes such as `\u{1b}` and never reach the terminal. A lone CR is not a line break here,
//! as for the lexer and [`LineIndex`](crate::span::LineIndex). The header keeps the position in
//! the real file (line, and column in bytes as miette counts it).

use std::borrow::Cow;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::span::Span;

/// The widest line a snippet shows, in columns (a tab counts 4, a wide character 2).
pub const MAX_LINE_WIDTH: usize = 400;
/// Columns kept before the first label of a long line.
const LEAD_WIDTH: usize = 80;
/// A label over more lines than this is cut to its first line.
const MAX_LABEL_LINES: usize = 40;
/// Shown lines closer than this are joined into one excerpt with the lines between.
const JOIN_GAP: usize = 3;
const ELLIPSIS: &str = "…";

/// A label as drawn: its text, whether it is primary, and its place in the excerpt.
pub(crate) struct ShownLabel {
    pub text: Option<String>,
    pub primary: bool,
    pub offset: usize,
    pub len: usize,
}

/// One run of consecutive source lines in the excerpt.
struct Chunk {
    /// Byte range in [`Excerpt::text`].
    start: usize,
    end: usize,
    /// 0-based line of the source where it starts.
    first_line: usize,
}

/// The part of a source file one diagnostic draws, ready for miette.
pub(crate) struct Excerpt {
    name: String,
    text: String,
    chunks: Vec<Chunk>,
    pub labels: Vec<ShownLabel>,
    /// Where each label starts in the source: (excerpt offset, 0-based line, byte column).
    anchors: Vec<(usize, usize, usize)>,
}

/// Clamps a span to `text` and snaps it outwards to character boundaries: the one rule that
/// makes any span, however it was computed, safe to slice and draw.
pub fn clamp_span(span: Span, text: &str) -> Span {
    let len = text.len();
    let mut start = (span.start as usize).min(len);
    let mut end = (span.end as usize).clamp(start, len);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    Span::new(start, end)
}

/// True for characters a snippet or message shows escaped: C0 and C1 controls except tab and
/// line feed, DEL, and the bidirectional overrides that reorder what a terminal shows.
fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
pub(crate) fn is_hidden_for_tests(c: char) -> bool {
    is_hidden(c)
}

/// `text` with hidden characters written as escapes (`\u{1b}`, `\r`, `\0`).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Columns a character takes in the snippet.
fn width(c: char) -> usize {
    match c {
        '\t' => 4,
        c if is_hidden(c) => c.escape_debug().count(),
        c if (c as u32) >= 0x1100 => 2,
        _ => 1,
    }
}

impl Excerpt {
    /// The excerpt of `file` that `diag` draws.
    pub(crate) fn new(diag: &Diagnostic, file: &SourceFile) -> Excerpt {
        let text: &str = &file.text;
        let index = file.line_index();
        let last_line = index.line_count().saturating_sub(1);
        // Labels in the source, valid and at most MAX_LABEL_LINES long.
        let spans: Vec<Span> = diag
            .labels
            .iter()
            .map(|l| {
                let s = clamp_span(l.span, text);
                let first = index.line_of(s.start);
                if index.line_of(s.end) > first + MAX_LABEL_LINES {
                    Span::new(s.start as usize, line_end(text, index, first))
                } else {
                    s
                }
            })
            .collect();
        let joined = shown_lines(&spans, index, last_line);
        // Every label endpoint, to map into the excerpt.
        let mut points: Vec<usize> = spans
            .iter()
            .flat_map(|s| [s.start as usize, s.end as usize])
            .collect();
        points.sort_unstable();
        points.dedup();
        let mut mapped: Vec<(usize, usize)> = Vec::with_capacity(points.len());

        let mut out = String::new();
        let mut chunks = Vec::with_capacity(joined.len());
        for (a, b) in joined {
            let start = out.len();
            for line in a..=b {
                let ls = index.line_start(line).map_or(text.len(), |s| s as usize);
                let le = line_end(text, index, line);
                let next = index
                    .line_start(line + 1)
                    .map_or(text.len(), |s| s as usize);
                // Endpoints on this line, including its line break (and the end of the text).
                let here: Vec<usize> = points
                    .iter()
                    .copied()
                    .filter(|&p| p >= ls && (p < next || p == text.len()))
                    .collect();
                push_line(&mut out, text, (ls, le, next), &here, &mut mapped);
            }
            chunks.push(Chunk {
                start,
                end: out.len(),
                first_line: a,
            });
        }
        mapped.sort_unstable();
        let find = |p: usize| {
            mapped
                .binary_search_by_key(&p, |&(o, _)| o)
                .map_or(out.len(), |i| mapped[i].1)
        };
        let mut labels = Vec::with_capacity(spans.len());
        let mut anchors = Vec::with_capacity(spans.len());
        for (label, span) in diag.labels.iter().zip(&spans) {
            let start = find(span.start as usize);
            let end = find(span.end as usize).max(start);
            let line = index.line_of(span.start);
            let col = (span.start as usize).min(line_end(text, index, line))
                - index.line_start(line).map_or(0, |s| s as usize);
            anchors.push((start, line, col));
            labels.push(ShownLabel {
                text: (!label.message.is_empty())
                    .then(|| escape_controls(&label.message).into_owned()),
                primary: label.primary,
                offset: start,
                len: end - start,
            });
        }
        Excerpt {
            name: escape_controls(&file.name).into_owned(),
            text: out,
            chunks,
            labels,
            anchors,
        }
    }
}

/// The lines to show around the labels, as sorted, joined ranges.
fn shown_lines(
    spans: &[Span],
    index: &crate::span::LineIndex,
    last_line: usize,
) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = spans
        .iter()
        .map(|s| {
            // miette shows one line around a label, and a second after a label that
            // ends with a line break: the excerpt holds two, miette picks what it shows.
            let a = index.line_of(s.start).saturating_sub(2);
            let b = (index.line_of(s.end) + 2).min(last_line);
            (a, b)
        })
        .collect();
    ranges.sort_unstable();
    let mut joined: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match joined.last_mut() {
            Some(last) if a <= last.1 + JOIN_GAP => last.1 = last.1.max(b),
            _ => joined.push((a, b)),
        }
    }
    joined
}

/// Where 0-based `line` ends, before its `\n` or `\r\n`.
fn line_end(text: &str, index: &crate::span::LineIndex, line: usize) -> usize {
    match index.line_start(line + 1) {
        Some(next) => {
            let nl = next as usize - 1;
            if nl > 0 && text.as_bytes()[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            }
        }
        None => text.len(),
    }
}

/// Appends the source line `ls..le` and its line break `le..next` to `out`, the line cut to a
/// window around the label endpoints `here` when wide, and records where each endpoint lands.
fn push_line(
    out: &mut String,
    text: &str,
    (ls, le, next): (usize, usize, usize),
    here: &[usize],
    mapped: &mut Vec<(usize, usize)>,
) {
    let line = &text[ls..le];
    // Only whether the line fits matters: stop counting past the limit.
    let mut total = 0;
    for c in line.chars() {
        total += width(c);
        if total > MAX_LINE_WIDTH {
            break;
        }
    }
    let (from, to) = if total <= MAX_LINE_WIDTH {
        (ls, le)
    } else {
        // A window starting up to LEAD_WIDTH columns before the first endpoint.
        let anchor = here.first().copied().unwrap_or(ls).min(le);
        let mut from = anchor;
        let mut used = 0;
        for (i, c) in text[ls..anchor].char_indices().rev() {
            used += width(c);
            if used > LEAD_WIDTH {
                break;
            }
            from = ls + i;
        }
        let mut to = from;
        let mut used = 0;
        for (i, c) in text[from..le].char_indices() {
            used += width(c);
            if used > MAX_LINE_WIDTH {
                break;
            }
            to = from + i + c.len_utf8();
        }
        (from, to)
    };
    let line_start = out.len();
    if from > ls {
        out.push_str(ELLIPSIS);
    }
    let mut points = here.iter().copied().peekable();
    while let Some(&p) = points.peek() {
        if p >= from {
            break;
        }
        mapped.push((p, line_start));
        points.next();
    }
    for (i, c) in text[from..to].char_indices() {
        while let Some(&p) = points.peek() {
            if p > from + i {
                break;
            }
            mapped.push((p, out.len()));
            points.next();
        }
        if is_hidden(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if to < le {
        // Endpoints cut off on the right are drawn at the end of the ellipsis.
        while let Some(&p) = points.peek() {
            if p >= to && p < le {
                mapped.push((p, out.len() + ELLIPSIS.len()));
                points.next();
            } else {
                break;
            }
        }
        out.push_str(ELLIPSIS);
    }
    // The end of the line and its line break, kept as it is (`\n` or `\r\n`).
    let end = out.len();
    out.push_str(&text[le..next]);
    for p in points {
        mapped.push((p, end + p.saturating_sub(le).min(next - le)));
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len();
        let chunk = self
            .chunks
            .iter()
            .find(|c| c.start <= start && end <= c.end)
            .ok_or(MietteError::OutOfBounds)?;
        let data = &self.text.as_bytes()[chunk.start..chunk.end];
        let inner = data.read_span(
            &SourceSpan::new((start - chunk.start).into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        let found = *inner.span();
        let (line, column) = match self.anchors.iter().find(|a| a.0 == start) {
            Some(&(_, line, col)) if context_lines_before == 0 && context_lines_after == 0 => {
                (line, col)
            }
            _ => (inner.line() + chunk.first_line, inner.column()),
        };
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.clone(),
                inner.data(),
                SourceSpan::new((found.offset() + chunk.start).into(), found.len()),
                line,
                column,
                inner.line_count() + chunk.first_line,
            )
            .with_language("prism"),
        ))
    }
}
