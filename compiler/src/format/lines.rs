//! Lists of lines — statements of a block, branches of an `uncertain` statement, arms of a
//! `match` — with the comments around them, blank lines kept (at most one), and the `;` that
//! stops a line starting with `(` or `[` from continuing the statement above it.

use crate::comments::{Comment, CommentKind};
use crate::span::Span;

use super::doc::{self, Doc};
use super::{Formatter, first_char};

/// One entry of a line list.
enum Entry {
    /// A comment on its own line, or (`inline`) before the next entry on the same line.
    Comment { text: String, inline: bool },
    /// A statement or branch, the comments that end its line, and whether a `;` must follow
    /// it when the next line would otherwise continue it.
    Item {
        doc: Doc,
        trailing: Doc,
        hazard: bool,
        suffix: &'static str,
    },
}

/// Collects the lines of one list; [`Lines::finish`] turns them into a document.
pub(crate) struct Lines {
    entries: Vec<(bool, Entry)>,
    /// Where the previous entry ended in the source (for blank lines).
    last_end: Option<u32>,
}

impl Lines {
    pub(crate) fn new() -> Self {
        Lines {
            entries: Vec::new(),
            last_end: None,
        }
    }

    fn blank(&self, f: &Formatter<'_>, start: u32) -> bool {
        self.last_end.is_some_and(|end| f.blank_between(end, start))
    }

    /// Adds comments that stand on their own lines (or before the next item on its line).
    pub(crate) fn comments(&mut self, f: &Formatter<'_>, cs: &[Comment]) {
        for c in cs {
            let blank = self.blank(f, c.span.start);
            let inline = c.kind == CommentKind::Block && !f.newline_after(c);
            self.entries.push((
                blank,
                Entry::Comment {
                    text: f.comment_text(c),
                    inline,
                },
            ));
            self.last_end = Some(c.span.end);
        }
    }

    /// Adds an item that covers `span` in the source. `hazard`: the item ends like an
    /// expression, so a next line starting with `(`/`[` would continue it. `suffix` is printed
    /// right after the item (`,` for match arms).
    pub(crate) fn item(
        &mut self,
        f: &mut Formatter<'_>,
        span: Span,
        doc: Doc,
        hazard: bool,
        suffix: &'static str,
    ) {
        let mut blank = self.blank(f, span.start);
        // Comments inside the item that no element took: keep them, on lines above it.
        for c in f.take_within(span) {
            let text = f.comment_text(&c);
            self.entries.push((
                blank,
                Entry::Comment {
                    text,
                    inline: false,
                },
            ));
            blank = false;
        }
        let trailing = f.take_trailing(span.end);
        self.last_end = Some(trailing.last().map_or(span.end, |c| c.span.end));
        let trailing = f.trailing_docs(&trailing);
        self.entries.push((
            blank,
            Entry::Item {
                doc,
                trailing,
                hazard,
                suffix,
            },
        ));
    }

    /// True when nothing was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The lines, separated by line breaks (no break before the first or after the last).
    pub(crate) fn finish(self) -> Doc {
        let mut next_first: Vec<Option<char>> = vec![None; self.entries.len()];
        let mut upcoming = None;
        for (i, (_, e)) in self.entries.iter().enumerate().rev() {
            next_first[i] = upcoming;
            if let Entry::Item { doc, .. } = e {
                upcoming = first_char(doc);
            }
        }
        let last_item = self
            .entries
            .iter()
            .rposition(|(_, e)| matches!(e, Entry::Item { .. }));
        let mut parts = Vec::new();
        let mut inline_before = false;
        for (i, (blank, e)) in self.entries.into_iter().enumerate() {
            if i > 0 && !inline_before {
                parts.push(Doc::HardLine);
                if blank {
                    parts.push(Doc::HardLine);
                }
            }
            match e {
                Entry::Comment { text, inline } => {
                    parts.push(doc::text(text));
                    if inline {
                        parts.push(doc::text(" "));
                    }
                    inline_before = inline;
                }
                Entry::Item {
                    doc,
                    trailing,
                    hazard,
                    suffix,
                } => {
                    parts.push(doc);
                    // Separators go between items (`a => 1,` … `_ => 3`), not after the last.
                    if Some(i) != last_item {
                        parts.push(doc::text(suffix));
                    }
                    if hazard && next_first[i].is_some_and(continues_previous) {
                        parts.push(doc::text(";"));
                    }
                    parts.push(trailing);
                    inline_before = false;
                }
            }
        }
        doc::concat(parts)
    }
}

/// Can a statement starting with `c` continue the statement of the line above (layout.rs)?
/// Statements start with `(`, `[`, `{`, `+x`, `-x` or `.5` only in these cases; a needless
/// `;` (before `++x`) is harmless.
fn continues_previous(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '+' | '-' | '.')
}
