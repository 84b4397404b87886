//! `$name.path` reference chains of a YAML expression (§1.9), as the executor resolves them
//! and the Prism emitter translates them: one scanner, so both read the same chains.

use crate::pattern::expr::{is_ident_char, is_ident_start, string_end};

/// One `$name.path` chain found in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Byte offset of the `$`.
    pub start: usize,
    /// End of the chain (exclusive): after its last segment.
    pub end: usize,
    /// The name without `$` (inner `-` kept).
    pub name: String,
    /// The path segments: field names, `*` for `.*`, and the digits of `[n]`.
    pub path: Vec<String>,
}

/// Finds the reference chains of `text`: `$name` (inner `-` allowed) with `.seg`, `.*` and
/// `[n]` segments, stopping before a segment that is called (a method); strings are skipped.
pub fn chains(text: &str) -> Vec<Chain> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'\'' | b'"' | b'`') {
            i = string_end(bytes, i);
            continue;
        }
        let starts_ref = b == b'$'
            && i + 1 < bytes.len()
            && is_ident_start(bytes[i + 1])
            && (i == 0 || !is_ident_char(bytes[i - 1]));
        if !starts_ref {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let name_start = i;
        loop {
            while i < bytes.len() && is_ident_char(bytes[i]) {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'-' && is_ident_start(bytes[i + 1]) {
                i += 1;
                continue;
            }
            break;
        }
        let name = text[name_start..i].to_string();
        let mut path = Vec::new();
        loop {
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1] == b'*' {
                path.push("*".to_string());
                i += 2;
                continue;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && is_ident_start(bytes[i + 1]) {
                let s = i + 1;
                let mut e = s;
                while e < bytes.len() && is_ident_char(bytes[e]) {
                    e += 1;
                }
                let mut k = e;
                while k < bytes.len() && bytes[k] == b' ' {
                    k += 1;
                }
                if bytes.get(k) == Some(&b'(') {
                    break;
                }
                path.push(text[s..e].to_string());
                i = e;
                continue;
            }
            if bytes.get(i) == Some(&b'[') {
                let s = i + 1;
                let mut e = s;
                while e < bytes.len() && bytes[e].is_ascii_digit() {
                    e += 1;
                }
                if e > s && bytes.get(e) == Some(&b']') {
                    path.push(text[s..e].to_string());
                    i = e + 1;
                    continue;
                }
            }
            break;
        }
        out.push(Chain {
            start,
            end: i,
            name,
            path,
        });
    }
    out
}

/// An expression as the executor evaluates it: each chain replaced by `__refN` (bound to the
/// chain's value at run time), the whole wrapped as `(…)` on a line of its own. `prism check`
/// parses the same text, so an expression that passes the check parses at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewritten {
    /// The program text the executor parses.
    pub source: String,
    /// `(name, path)` of each chain, `__ref0` first.
    pub refs: Vec<(String, Vec<String>)>,
}

/// Rewrites `text` for the executor (see [`Rewritten`]).
pub fn rewrite(text: &str) -> Rewritten {
    let mut rewritten = String::with_capacity(text.len() + 8);
    let mut refs = Vec::new();
    let mut last = 0;
    for (n, c) in chains(text).into_iter().enumerate() {
        rewritten.push_str(&text[last..c.start]);
        rewritten.push_str(&format!("__ref{n}"));
        refs.push((c.name, c.path));
        last = c.end;
    }
    rewritten.push_str(&text[last..]);
    Rewritten {
        source: format!("({})\n", rewritten.trim()),
        refs,
    }
}

/// Byte offsets of each `$` of `text` (outside strings) that starts no reference: `$(1)`,
/// `$1`, `$ x`, `$.a`, a trailing `$`. The executor would read such a `$` as a name of its
/// own, never bound, and fail at run time. A `$` inside a name (`a$b`) and the `$$` of an
/// escaped literal are not counted.
pub fn stray_dollars(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'\'' | b'"' | b'`') {
            i = string_end(bytes, i);
            continue;
        }
        if b == b'$' {
            let in_name = i > 0 && (is_ident_char(bytes[i - 1]) || bytes[i - 1] == b'$');
            let starts_ref = bytes.get(i + 1).copied().is_some_and(is_ident_start);
            if !in_name && !starts_ref {
                out.push(i);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, Vec<String>, &str)> {
        chains(text)
            .into_iter()
            .map(|c| (c.name, c.path, &text[c.start..c.end]))
            .collect()
    }

    #[test]
    fn names_paths_and_ends() {
        let got = found("$my-step.result.items[2] + $vote.*.x");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "my-step");
        assert_eq!(got[0].1, ["result", "items", "2"]);
        assert_eq!(got[0].2, "$my-step.result.items[2]");
        assert_eq!(got[1].0, "vote");
        assert_eq!(got[1].1, ["*", "x"]);
    }

    #[test]
    fn stops_before_calls_and_skips_strings() {
        let got = found("'$no' + a$b + $input.name.toUpperCase ()");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, ["name"]);
        assert_eq!(got[0].2, "$input.name");
    }

    #[test]
    fn rewrite_is_what_the_executor_parses() {
        let r = rewrite(" $a.b + f($c) ");
        assert_eq!(r.source, "(__ref0 + f(__ref1))\n");
        assert_eq!(
            r.refs,
            [
                ("a".to_string(), vec!["b".to_string()]),
                ("c".to_string(), vec![])
            ]
        );
    }

    #[test]
    fn stray_dollars_are_found() {
        assert_eq!(stray_dollars("$(1)"), [0]);
        assert_eq!(stray_dollars("$1 + $x"), [0]);
        assert_eq!(stray_dollars("$x + $"), [5]);
        assert_eq!(stray_dollars("$.a"), [0]);
        assert!(stray_dollars("a$b + $x.y + '$' + `$(`").is_empty());
    }
}
