//! The Prism formatter behind `prism fmt` and the language server's formatting request.
//!
//! [`format`] parses the file, refuses it when it has syntax errors, and prints the syntax tree
//! again: 2-space indentation, canonical spacing around every operator, groups (calls, arrays,
//! objects, parameter lists, operator chains) broken only when they exceed the line width, one
//! `uncertain` branch and one `match` arm per line, at most one blank line between statements.
//! Comments are found in the source ([`crate::comments`]) and attached to the nearest
//! statement or list element. Numbers, strings, templates and import paths are printed as
//! written. The output parses to the same tree, and formatting it again changes nothing.

mod doc;
mod expr;
mod lines;
mod pattern;
mod stmt;

#[cfg(test)]
mod tests;

use crate::comments::{Comment, CommentKind, comments};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

use doc::Doc;

/// Layout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// Maximum line width before a group is broken.
    pub width: usize,
    /// Spaces per indentation level.
    pub indent: usize,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            width: 100,
            indent: 2,
        }
    }
}

/// Formats a Prism program with the default options. Files with syntax errors are refused:
/// the error diagnostics are returned instead.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    format_with(source, FormatOptions::default())
}

/// [`format`] with explicit options.
pub fn format_with(source: &str, options: FormatOptions) -> Result<String, Vec<Diagnostic>> {
    let parsed = crate::parse(source);
    if parsed.has_errors() {
        return Err(parsed
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect());
    }
    let mut f = Formatter::new(source);
    let body = f.program(&parsed.program.stmts);
    let mut out = doc::print(body, options.width, options.indent);
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

/// The state of one formatting run: the source and which comments have been printed.
pub(crate) struct Formatter<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    used: Vec<bool>,
    /// Index of the first comment not yet printed.
    first_unused: usize,
}

impl<'a> Formatter<'a> {
    fn new(src: &'a str) -> Self {
        let comments = comments(src);
        let used = vec![false; comments.len()];
        Formatter {
            src,
            comments,
            used,
            first_unused: 0,
        }
    }

    /// The source text of a span.
    fn slice(&self, span: Span) -> &'a str {
        self.src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    fn mark_used(&mut self, i: usize) {
        self.used[i] = true;
        while self.first_unused < self.used.len() && self.used[self.first_unused] {
            self.first_unused += 1;
        }
    }

    /// Takes every comment not yet printed that starts before `pos`.
    fn take_before(&mut self, pos: u32) -> Vec<Comment> {
        let mut out = Vec::new();
        let mut i = self.first_unused;
        while i < self.comments.len() && self.comments[i].span.start < pos {
            if !self.used[i] {
                out.push(self.comments[i]);
                self.mark_used(i);
            }
            i += 1;
        }
        out
    }

    /// Takes the comments not yet printed inside `span` (ones the layout had no place for).
    fn take_within(&mut self, span: Span) -> Vec<Comment> {
        let mut out = Vec::new();
        let mut i = self.first_unused;
        while i < self.comments.len() && self.comments[i].span.start < span.end {
            if !self.used[i] && self.comments[i].span.start >= span.start {
                out.push(self.comments[i]);
                self.mark_used(i);
            }
            i += 1;
        }
        out
    }

    /// Takes the comments that follow `end` on the same line, with only whitespace, `,` or `;`
    /// between (`x = 1 // note`, `a, /* note */`).
    fn take_trailing(&mut self, end: u32) -> Vec<Comment> {
        let mut out = Vec::new();
        let mut pos = end as usize;
        let mut i = self.first_unused;
        while i < self.comments.len() {
            let c = self.comments[i];
            if (c.span.start as usize) < pos {
                i += 1;
                continue;
            }
            let gap = self.src.get(pos..c.span.start as usize).unwrap_or("\n");
            if self.used[i] || !gap.chars().all(|ch| matches!(ch, ' ' | '\t' | ',' | ';')) {
                break;
            }
            // A block comment with code after it on the line belongs to that code.
            if c.kind == CommentKind::Block && !self.newline_after(&c) && !self.closer_after(&c) {
                break;
            }
            out.push(c);
            self.mark_used(i);
            pos = c.span.end as usize;
            if c.kind == CommentKind::Line {
                break;
            }
            i += 1;
        }
        out
    }

    /// Is the comment followed by a line break in the source (before any token)?
    fn newline_after(&self, c: &Comment) -> bool {
        let rest = self.src.get(c.span.end as usize..).unwrap_or("");
        c.kind == CommentKind::Line
            || rest
                .chars()
                .find(|ch| !matches!(ch, ' ' | '\t'))
                .is_none_or(|ch| ch == '\n' || ch == '\r')
    }

    /// Is the comment followed, on its line, by a closing bracket or separator?
    fn closer_after(&self, c: &Comment) -> bool {
        let rest = self.src.get(c.span.end as usize..).unwrap_or("");
        rest.chars()
            .find(|ch| !matches!(ch, ' ' | '\t'))
            .is_some_and(|ch| matches!(ch, ')' | ']' | '}' | ',' | ';'))
    }

    /// Does the source hold a blank line between two offsets?
    fn blank_between(&self, from: u32, to: u32) -> bool {
        let gap = self.src.get(from as usize..to as usize).unwrap_or("");
        gap.matches('\n').count() >= 2
    }

    /// A comment as text, with trailing whitespace of each line removed.
    fn comment_text(&self, c: &Comment) -> String {
        let t = c.text(self.src);
        if c.kind == CommentKind::Line {
            return t.trim_end().to_string();
        }
        t.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
    }

    /// Comments put before an element of a list: block comments inline, line comments on
    /// their own line (which breaks the list).
    fn leading_docs(&self, cs: &[Comment]) -> Doc {
        let mut parts = Vec::new();
        for c in cs {
            parts.push(doc::text(self.comment_text(c)));
            if c.kind == CommentKind::Line {
                parts.push(Doc::BreakParent);
                parts.push(Doc::HardLine);
            } else {
                parts.push(doc::text(" "));
            }
        }
        doc::concat(parts)
    }

    /// Comments after an element of a list, on its line.
    fn trailing_docs(&self, cs: &[Comment]) -> Doc {
        let mut parts = Vec::new();
        for c in cs {
            if c.kind == CommentKind::Line {
                parts.push(Doc::LineSuffix(format!(" {}", self.comment_text(c))));
                parts.push(Doc::BreakParent);
            } else {
                parts.push(doc::text(format!(" {}", self.comment_text(c))));
            }
        }
        doc::concat(parts)
    }
}

/// The first character a document prints (for the rule that a line starting with `(` or `[`
/// continues the previous statement).
fn first_char(d: &Doc) -> Option<char> {
    match d {
        Doc::Text(s) => s.chars().next(),
        Doc::Concat(parts) => parts.iter().find_map(first_char),
        Doc::Group { doc, .. } | Doc::Indent(doc) => first_char(doc),
        _ => None,
    }
}

/// Does the document hold a line break that is always printed?
fn has_hard_line(d: &Doc) -> bool {
    match d {
        Doc::HardLine | Doc::BreakParent => true,
        Doc::Text(s) => s.contains('\n'),
        Doc::Concat(parts) => parts.iter().any(has_hard_line),
        Doc::Group { doc, broken } => *broken || has_hard_line(doc),
        Doc::Indent(doc) | Doc::Hug(doc) => has_hard_line(doc),
        _ => false,
    }
}

/// Prints a document on one line (used to look at the first token of an expression).
fn flat_text(d: &Doc) -> String {
    doc::print(d.clone(), usize::MAX / 4, 2)
}
