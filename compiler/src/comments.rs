//! Where the comments of a source file are. The lexer skips comments; the formatter and the
//! language server need them back, so they are found in the gaps between tokens (never inside
//! a string or a template).

use crate::lexer::lex;
use crate::span::Span;

/// The two ways to write a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// `// …` up to the end of the line.
    Line,
    /// `/* … */`, possibly over several lines.
    Block,
}

/// One comment and its span (the span covers the `//` or `/* */` markers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    pub kind: CommentKind,
    pub span: Span,
}

impl Comment {
    /// The comment's text in `source`, markers included.
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        source
            .get(self.span.start as usize..self.span.end as usize)
            .unwrap_or("")
    }
}

/// Every comment of `source`, in order. A comment is text in a gap between tokens that starts
/// with `//` or `/*`; an unterminated block comment runs to the end of the file.
pub fn comments(source: &str) -> Vec<Comment> {
    let (tokens, issues) = lex(source);
    let mut covered: Vec<(usize, usize)> = tokens.iter().map(|&(s, _, e)| (s, e)).collect();
    covered.extend(
        issues
            .iter()
            .filter(|i| !source[i.span.start as usize..].starts_with("/*"))
            .map(|i| (i.span.start as usize, i.span.end as usize)),
    );
    covered.sort_unstable();
    let mut out = Vec::new();
    let mut pos = 0usize;
    for (start, end) in covered {
        if start > pos {
            scan_gap(source, pos, start, &mut out);
        }
        pos = pos.max(end);
    }
    scan_gap(source, pos, source.len(), &mut out);
    out
}

/// Finds the comments in `source[from..to]`, a stretch that holds no token.
fn scan_gap(source: &str, from: usize, to: usize, out: &mut Vec<Comment>) {
    let bytes = source.as_bytes();
    let mut i = from;
    while i + 1 < to {
        if bytes[i] == b'/' && bytes[i + 1] == b'/' {
            let end = source[i..to].find('\n').map_or(to, |n| i + n);
            let end = if source[i..end].ends_with('\r') {
                end - 1
            } else {
                end
            };
            out.push(Comment {
                kind: CommentKind::Line,
                span: Span::new(i, end),
            });
            i = end;
        } else if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            let end = source[i + 2..]
                .find("*/")
                .map_or(source.len(), |n| i + 2 + n + 2);
            out.push(Comment {
                kind: CommentKind::Block,
                span: Span::new(i, end),
            });
            i = end;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        comments(src).iter().map(|c| c.text(src)).collect()
    }

    #[test]
    fn finds_line_and_block_comments_outside_strings() {
        let src =
            "let a = 1 // one\n/* two\n */ let s = \"// not\" + '/* no */' + `${x // no\n}`\n";
        assert_eq!(texts(src), ["// one", "/* two\n */"]);
    }

    #[test]
    fn comment_at_end_and_unterminated_block() {
        assert_eq!(texts("x //end"), ["//end"]);
        assert_eq!(texts("x /* open"), ["/* open"]);
        assert_eq!(comments("x /* open")[0].kind, CommentKind::Block);
    }
}
