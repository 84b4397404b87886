use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};

use super::*;
use crate::snippet::MAX_LINE_WIDTH;

/// A diagnostic drawn by miette straight from the whole text, as before excerpts.
#[derive(Debug)]
struct Whole {
    diag: Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Display for Whole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Whole {}

impl miette::Diagnostic for Whole {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.diag.labels.iter().map(|l| {
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, (l.span.start as usize, l.span.len()))
            } else {
                LabeledSpan::new_with_span(text, (l.span.start as usize, l.span.len()))
            }
        })))
    }
}

fn whole(diag: &Diagnostic, text: &str) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    let report = Whole {
        diag: diag.clone(),
        source: NamedSource::new("t.prism", text.to_string()).with_language("prism"),
    };
    handler
        .render_report(&mut out, &report)
        .expect("miette draws it");
    out
}

/// A small deterministic generator (xorshift), so the property tests need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// For ordinary text (short lines, no control characters) the excerpt draws exactly what
/// miette draws from the whole file: every span of a text with empty lines, CRLF, a missing
/// final newline and multi-byte characters, with and without a second label.
#[test]
fn excerpts_draw_ordinary_text_as_the_whole_file_does() {
    let text = "let a = 1\n\nlet é = \"ü\"\r\nprint(a)\n  x ~> 0.5\n\n\nend";
    let file = SourceFile::new("t.prism", text);
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    for &start in &boundaries {
        for &end in boundaries.iter().filter(|&&e| e >= start) {
            let d =
                Diagnostic::error("prism::test", "boom", Span::new(start, end)).with_label("here");
            assert_eq!(
                render(std::slice::from_ref(&d), &file, false),
                whole(&d, text),
                "{start}..{end}"
            );
            let d = d.with_secondary(Span::new(0, 3), "first");
            assert_eq!(
                render(std::slice::from_ref(&d), &file, false),
                whole(&d, text),
                "{start}..{end} with a secondary label"
            );
        }
    }
}

/// The issue's reproducer: a label at column 65,536 made miette panic ("Formatting argument
/// out of range"), as did an underline 65,536 wide.
#[test]
fn a_label_past_column_65535_is_drawn() {
    let text = format!("{})\n", " ".repeat(65_536));
    let file = SourceFile::new("x.prism", text.as_str());
    let d = Diagnostic::error("prism::test", "unexpected `)`", Span::new(65_536, 65_537))
        .with_label("here");
    let out = render(&[d], &file, false);
    assert!(out.contains("[x.prism:1:65537]"), "{out}");
    assert!(out.contains('…'), "{out}");
    assert!(out.lines().all(|l| l.chars().count() < 1000), "{out}");

    let text = format!("print({}\n", "(".repeat(100_000));
    let file = SourceFile::new("x.prism", text.as_str());
    let d = Diagnostic::error("prism::test", "unclosed", Span::new(5, 100_006)).with_label("x");
    let out = render(&[d], &file, false);
    assert!(out.contains("[x.prism:1:6]"), "{out}");
}

/// Control characters of the source never reach the terminal: not in the snippet, the
/// message, the labels or the help; a lone CR is not a line break (as for the lexer).
#[test]
fn control_characters_are_escaped() {
    let text = "let a = \u{1b}]0;pwned\u{7} 1 +\rlet b = \u{202e}x\n";
    let file = SourceFile::new("t.prism", text);
    let d = Diagnostic::error("prism::test", "unexpected `\u{1b}`", Span::new(8, 9))
        .with_label("bad \u{1b}[2J")
        .with_help("help \u{0}");
    let out = render(&[d], &file, false);
    assert!(
        !out.chars().any(super::super::snippet::is_hidden_for_tests),
        "{out:?}"
    );
    assert!(
        out.contains("\\u{1b}]0;pwned\\u{7} 1 +\\rlet b = \\u{202e}x"),
        "{out}"
    );
    assert!(out.contains("[t.prism:1:9]"), "{out}");
    assert!(out.contains("unexpected `\\u{1b}`"), "{out}");
    assert!(out.contains("bad \\u{1b}[2J"), "{out}");
    assert!(out.contains("help \\0"), "{out}");

    let d = Diagnostic::error("prism::test", "after cr", Span::new(23, 26));
    let out = render(&[d], &file, false);
    assert!(out.contains("[t.prism:1:24]"), "{out}");
    assert!(out.contains(" 1 │ "), "{out}");
}

/// Property: whatever the text and the spans (past the end, inside a character, reversed,
/// over lone CRs, tabs, very long lines), drawing neither panics nor fails, the output holds
/// no control character but line feeds, and no line of it is wider than a snippet allows.
#[test]
fn any_span_on_any_text_draws() {
    let pieces = [
        "a", "é", "😀", "\t", "\n", "\r\n", "\r", "\u{1b}", "\0", "\u{85}", "\u{202e}", " ", "let",
        "(", "}",
    ];
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..3000 {
        let mut text = String::new();
        let parts = rng.below(60);
        for _ in 0..parts {
            let p = pieces[rng.below(pieces.len())];
            let times = if rng.below(20) == 0 {
                rng.below(70_000)
            } else {
                1
            };
            for _ in 0..times {
                text.push_str(p);
            }
        }
        let file = SourceFile::new("p.prism", text.as_str());
        let mut d = Diagnostic::error(
            "prism::test",
            "m",
            Span {
                start: rng.below(text.len() + 10) as u32,
                end: rng.below(text.len() + 10) as u32,
            },
        )
        .with_label("l");
        for _ in 0..rng.below(3) {
            let s = rng.below(text.len() + 2);
            d = d.with_secondary(Span::new(s, s + rng.below(text.len() + 2)), "s");
        }
        let report = d.clone().with_source(&file);
        let mut out = String::new();
        handler
            .render_report(&mut out, &report)
            .unwrap_or_else(|_| panic!("case {case}: drawing failed for {d:?}"));
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "case {case}: {out:?}"
        );
        assert!(
            out.lines()
                .all(|l| l.chars().count() < 2 * MAX_LINE_WIDTH + 100),
            "case {case}"
        );
    }
}

/// Past [`MAX_RENDERED`] diagnostics, the rest are counted in one last diagnostic, not drawn.
#[test]
fn many_diagnostics_are_capped() {
    let text = "x\n".repeat(1000);
    let file = SourceFile::new("t.prism", text.as_str());
    let diags: Vec<Diagnostic> = (0..1000)
        .map(|i| Diagnostic::error("prism::test", "bad", Span::new(2 * i, 2 * i + 1)))
        .collect();
    let out = render(&diags, &file, false);
    assert_eq!(out.matches("× bad").count(), MAX_RENDERED, "{out}");
    assert!(
        out.contains("800 more diagnostic(s) (800 error(s)), not shown"),
        "{out}"
    );
    assert!(out.contains(TRUNCATED), "{out}");
}

/// [`cap`] keeps the first [`MAX_DIAGNOSTICS`] and one summary placed at the first one left
/// out; capping again after more were added keeps the counts exact.
#[test]
fn cap_counts_what_it_leaves_out_and_can_be_repeated() {
    let mut diags: Vec<Diagnostic> = (0..250)
        .map(|i| {
            if i % 2 == 0 {
                Diagnostic::error("prism::test", "bad", Span::new(i, i + 1))
            } else {
                Diagnostic::warning("prism::test", "meh", Span::new(i, i + 1))
            }
        })
        .collect();
    let mut omitted = Omitted::default();
    cap(&mut diags, &mut omitted);
    assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
    assert_eq!(
        omitted,
        Omitted {
            errors: 25,
            others: 25
        }
    );
    let last = diags.last().expect("a summary");
    assert_eq!(last.code, TRUNCATED);
    assert!(last.is_error());
    assert_eq!(last.primary_span().start, 200);
    assert!(
        last.message
            .starts_with("50 more diagnostic(s) (25 error(s))"),
        "{}",
        last.message
    );
    // More diagnostics, sorted in: the summary is rebuilt with the sum.
    diags.extend((0..10).map(|i| Diagnostic::warning("prism::test", "late", Span::new(i, i))));
    diags.sort_by_key(|d| d.primary_span().start);
    cap(&mut diags, &mut omitted);
    assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
    assert_eq!(omitted.total(), 60);
    assert_eq!(diags.iter().filter(|d| d.code == TRUNCATED).count(), 1);
    assert!(
        diags
            .last()
            .is_some_and(|d| d.message.starts_with("60 more"))
    );
    // Few diagnostics: nothing changes.
    let mut few = vec![Diagnostic::warning("prism::test", "meh", Span::new(0, 1))];
    let mut none = Omitted::default();
    cap(&mut few, &mut none);
    assert_eq!(few.len(), 1);
    assert_eq!(none.total(), 0);
}
