//! A small Wadler-style document algebra and its printer: groups print on one line when they
//! fit in the width, otherwise their line breaks become newlines.

/// A document to print.
#[derive(Debug, Clone)]
pub(crate) enum Doc {
    /// Nothing.
    Nil,
    /// Literal text (may hold newlines, e.g. a template string or a block comment).
    Text(String),
    /// Documents one after another.
    Concat(Vec<Doc>),
    /// Printed flat if it fits, else broken. `broken` is set when a [`Doc::BreakParent`] sits
    /// directly inside it.
    Group { doc: Box<Doc>, broken: bool },
    /// Nested content: line breaks inside are indented one more level.
    Indent(Box<Doc>),
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// Always a newline. A group that meets one while measuring stops there: what comes before
    /// it decides whether the group fits (so `f(x => {` hugs its block argument).
    HardLine,
    /// Forces the nearest enclosing group to break (a line comment inside a list).
    BreakParent,
    /// Text that does not count for the width (a trailing comment).
    LineSuffix(String),
    /// The last argument of a call that may hug the parentheses (`f(a, {` … `})`): the
    /// enclosing group is measured only up to its first line break, and its own groups decide
    /// for themselves even when the enclosing group is flat.
    Hug(Box<Doc>),
}

/// Builders, so the formatter reads as a description of the layout.
pub(crate) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub(crate) fn concat(parts: Vec<Doc>) -> Doc {
    Doc::Concat(parts)
}

pub(crate) fn group(doc: Doc) -> Doc {
    Doc::Group {
        doc: Box::new(doc),
        broken: false,
    }
}

/// A group that is always broken: its contents lay out in broken mode even inside a flat
/// group (a block body hugging the end of a call).
pub(crate) fn broken_group(doc: Doc) -> Doc {
    Doc::Group {
        doc: Box::new(doc),
        broken: true,
    }
}

pub(crate) fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

/// Marks every group that directly holds a [`Doc::BreakParent`] as broken. Returns whether
/// `doc` holds a break that no group has absorbed yet.
fn propagate(doc: &mut Doc) -> bool {
    match doc {
        Doc::BreakParent => true,
        Doc::Concat(parts) => {
            let mut any = false;
            for p in parts {
                any |= propagate(p);
            }
            any
        }
        Doc::Indent(d) | Doc::Hug(d) => propagate(d),
        Doc::Group { doc, broken } => {
            if propagate(doc) {
                *broken = true;
            }
            false
        }
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// Prints `doc` in `width` columns with `indent_width` spaces per level. Trailing spaces are
/// never printed.
pub(crate) fn print(mut doc: Doc, width: usize, indent_width: usize) -> String {
    propagate(&mut doc);
    let mut out = String::new();
    let mut column = 0usize;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, &doc)];
    while let Some((ind, mode, d)) = stack.pop() {
        match d {
            Doc::Nil | Doc::BreakParent => {}
            Doc::Text(s) | Doc::LineSuffix(s) => {
                out.push_str(s);
                column = match s.rfind('\n') {
                    Some(i) => s[i + 1..].chars().count(),
                    None => column + s.chars().count(),
                };
            }
            Doc::Concat(parts) => {
                for p in parts.iter().rev() {
                    stack.push((ind, mode, p));
                }
            }
            // A flat group keeps its contents at the current level: only a block that hugs the
            // end of the line (`f(x => {`) can break inside it, and it must not drift right.
            Doc::Indent(inner) => {
                let ind = if mode == Mode::Break {
                    ind + indent_width
                } else {
                    ind
                };
                stack.push((ind, mode, inner));
            }
            Doc::Group { doc: inner, broken } => {
                let m = if *broken {
                    Mode::Break
                } else if mode == Mode::Flat
                    || fits(width.saturating_sub(column), (ind, inner), &stack)
                {
                    Mode::Flat
                } else {
                    Mode::Break
                };
                stack.push((ind, m, inner));
            }
            Doc::Hug(inner) => stack.push((ind, Mode::Break, inner)),
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(d, Doc::Line) {
                    out.push(' ');
                    column += 1;
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', ind));
                column = ind;
            }
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Does `first` (flat), followed by the rest of the stack, fit in `room` columns up to the
/// next line break?
fn fits(room: usize, first: (usize, &Doc), rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut left = room as isize;
    let mut todo: Vec<(Mode, &Doc)> = vec![(Mode::Flat, first.1)];
    let mut rest_index = rest.len();
    loop {
        let Some((mode, d)) = todo.pop() else {
            if rest_index == 0 {
                return true;
            }
            rest_index -= 1;
            let (_, m, d) = rest[rest_index];
            todo.push((m, d));
            continue;
        };
        match d {
            Doc::Nil | Doc::BreakParent | Doc::LineSuffix(_) => {}
            Doc::Text(s) => {
                if let Some(i) = s.find('\n') {
                    left -= s[..i].chars().count() as isize;
                    return left >= 0;
                }
                left -= s.chars().count() as isize;
            }
            Doc::Concat(parts) => todo.extend(parts.iter().rev().map(|p| (mode, p))),
            Doc::Indent(inner) => todo.push((mode, inner)),
            Doc::Group { doc, broken } => {
                todo.push((if *broken { Mode::Break } else { mode }, doc));
            }
            Doc::Hug(inner) => todo.push((Mode::Break, inner)),
            Doc::Line | Doc::SoftLine => {
                if mode == Mode::Break {
                    return true;
                }
                if matches!(d, Doc::Line) {
                    left -= 1;
                }
            }
            Doc::HardLine => return true,
        }
        if left < 0 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Doc {
        let mut inner = vec![Doc::SoftLine];
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                inner.push(text(","));
                inner.push(Doc::Line);
            }
            inner.push(text(*it));
        }
        group(concat(vec![
            text("["),
            indent(concat(inner)),
            Doc::SoftLine,
            text("]"),
        ]))
    }

    #[test]
    fn groups_break_only_when_too_wide() {
        assert_eq!(print(list(&["a", "b"]), 10, 2), "[a, b]");
        assert_eq!(
            print(list(&["aaaa", "bbbb"]), 10, 2),
            "[\n  aaaa,\n  bbbb\n]"
        );
    }

    #[test]
    fn break_parent_forces_the_nearest_group() {
        let d = group(concat(vec![
            text("x"),
            Doc::Line,
            Doc::BreakParent,
            text("y"),
        ]));
        assert_eq!(print(d, 80, 2), "x\ny");
    }
}
