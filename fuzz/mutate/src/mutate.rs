//! Mutations: each derives a new input from a seed's bytes. Most are small and structural
//! (byte flips, token and line deletions, duplications, truncations, splices); a few produce
//! the shapes that stress a front end (invalid UTF-8, NUL and control bytes, lone `\r`, deep
//! nesting, very long lines, extreme numbers).

use crate::rng::Rng;
use crate::seeds::Seed;

/// Bytes that often matter to a lexer or a YAML reader.
const INTERESTING_BYTES: &[u8] = b"\0\xff\x80\xc3\r\n\t\x1b\x7f{}[]()\"'`$\\:-#&*!|>~@,;=.?%";

/// Byte sequences that are not UTF-8 (lone continuation, truncated sequences, surrogates,
/// overlong forms, past U+10FFFF).
const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf4\x90\x80\x80",
    b"\xfe\xfe",
];

/// Terminal escapes, bidi and zero-width characters, other C0 controls.
const CONTROL: &[&[u8]] = &[
    b"\x1b[2J",
    b"\x1b]0;pwned\x07",
    b"\x1b[31m",
    b"\x1b]8;;http://x\x1b\\",
    b"\x08\x08\x08",
    b"\x07",
    b"\x0b",
    b"\x0c",
    b"\x00",
    b"\xe2\x80\xae",
    b"\xef\xbb\xbf",
    b"\xe2\x80\x8b",
    b"\xc2\x85",
    b"\xe2\x80\xa8",
];

/// Nesting shapes: what opens one level and what closes it.
const NESTING: &[(&str, &str)] = &[
    ("[", "]"),
    ("{a:", "}"),
    ("[{a:[", "]}]"),
    ("(", ")"),
    ("f(", ")"),
    ("{", "}"),
    ("function f() {", "}"),
    ("if (x) {", "}"),
    ("uncertain if (x) { high {", "} }"),
    ("`${", "}`"),
    ("x => ", ""),
    ("-", ""),
    ("!", ""),
    ("a = ", ""),
    ("[...", "]"),
    ("match x { _ => ", " }"),
    ("match x { 1 => function f() {", "} }"),
    ("\n- ", ""),
    ("[", "]"),
    ("{k: ", "}"),
    ("$(", ")"),
];

/// Suffixes that grow a chain without nesting brackets.
const CHAINS: &[&str] = &[".b", "[0]", " + 1", "()", " ~> 0.5", "?.c", " ~&& x"];

/// Pieces repeated to make one very long line.
const LONG_PIECES: &[&str] = &[" ", "a", "1,", "-", "x.", "\"", "é", "\t", "(", "ab "];

/// Numbers at the edges of what a reader or runtime handles.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "-0",
    "4294967296",
    "1000000000",
    "9007199254740993",
    "99999999999999999999999",
    "0.0000001",
    "NaN",
    "Infinity",
    "0x",
    "1.5e-400",
];

/// Words that change what a Prism or YAML reader expects next.
const WORDS: &[&str] = &[
    "let",
    "const",
    "function",
    "return",
    "if",
    "else",
    "uncertain",
    "high",
    "medium",
    "low",
    "match",
    "while",
    "for",
    "in",
    "of",
    "break",
    "continue",
    "import",
    "export",
    "from",
    "async",
    "await",
    "try",
    "catch",
    "throw",
    "null",
    "undefined",
    "true",
    "false",
    "_",
    "this",
    "new",
    "steps",
    "agents",
    "min",
    "output",
    "input",
    "aggregation",
    "strategy",
    "pattern",
    "persistence",
    "schedule",
    "&a",
    "*a",
    "!!binary",
    "<<",
    "---",
    "...",
];

/// A derived input and the names of the mutations that made it.
pub struct Mutant {
    /// The bytes to write.
    pub bytes: Vec<u8>,
    /// What was done, in order (for the results table).
    pub steps: Vec<&'static str>,
}

/// Derives one input from `seed` (other seeds may be spliced in), at most `max_len` bytes.
pub fn mutate(rng: &mut Rng, seed: &Seed, all: &[Seed], max_len: usize) -> Mutant {
    let mut bytes = seed.bytes.clone();
    let mut steps = Vec::new();
    let count = 1 + (0..4).take_while(|_| rng.chance(45)).count();
    for _ in 0..count {
        let step = one(rng, &mut bytes, all, max_len);
        steps.push(step);
        if bytes.len() > max_len {
            bytes.truncate(max_len);
        }
    }
    Mutant { bytes, steps }
}

/// Applies one mutation chosen by weight; returns its name.
fn one(rng: &mut Rng, b: &mut Vec<u8>, all: &[Seed], max_len: usize) -> &'static str {
    let roll = rng.below(100);
    match roll {
        0..=9 => bit_flips(rng, b),
        10..=16 => interesting_byte(rng, b),
        17..=28 => delete_tokens(rng, b),
        29..=37 => delete_lines(rng, b),
        38..=43 => duplicate_lines(rng, b),
        44..=48 => duplicate_chunk(rng, b),
        49..=53 => truncate(rng, b),
        54..=61 => splice(rng, b, all),
        62..=64 => {
            let piece = *rng.pick(INVALID_UTF8);
            insert_piece(rng, b, piece, "invalid_utf8")
        }
        65..=66 => insert_piece(rng, b, b"\0", "nul"),
        67..=69 => lone_cr(rng, b),
        70..=72 => {
            let piece = *rng.pick(CONTROL);
            insert_piece(rng, b, piece, "control")
        }
        73..=78 => deep_nesting(rng, b, max_len),
        79..=81 => chain(rng, b, max_len),
        82..=85 => long_line(rng, b, max_len),
        86..=91 => swap_number(rng, b),
        _ => swap_word(rng, b),
    }
}

fn bit_flips(rng: &mut Rng, b: &mut [u8]) -> &'static str {
    if !b.is_empty() {
        for _ in 0..rng.range(1, 8) {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
        }
    }
    "bit_flip"
}

fn interesting_byte(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let byte = *rng.pick(INTERESTING_BYTES);
    if b.is_empty() || rng.chance(30) {
        let at = rng.below(b.len() + 1);
        b.insert(at, byte);
    } else {
        let at = rng.below(b.len());
        b[at] = byte;
    }
    "interesting_byte"
}

/// Token boundaries: runs of identifier bytes, of digits, of blanks, or one other byte.
fn tokens(b: &[u8]) -> Vec<(usize, usize)> {
    let class = |c: u8| match c {
        b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' | 0x80.. => 0,
        b'0'..=b'9' | b'.' => 1,
        b' ' | b'\t' => 2,
        _ => 3,
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < b.len() {
        let c = class(b[start]);
        let mut end = start + 1;
        if c != 3 {
            while end < b.len() && class(b[end]) == c {
                end += 1;
            }
        }
        out.push((start, end));
        start = end;
    }
    out
}

fn delete_tokens(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let toks: Vec<_> = tokens(b)
        .into_iter()
        .filter(|&(s, _)| !b[s].is_ascii_whitespace())
        .collect();
    if toks.is_empty() {
        return "delete_token";
    }
    let first = rng.below(toks.len());
    let n = if rng.chance(75) { 1 } else { rng.range(2, 6) };
    let last = (first + n - 1).min(toks.len() - 1);
    b.drain(toks[first].0..toks[last].1);
    "delete_token"
}

/// Byte ranges of the lines, each with its `\n`.
fn lines(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < b.len() {
        out.push((start, b.len()));
    }
    out
}

fn delete_lines(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let ls = lines(b);
    if !ls.is_empty() {
        let first = rng.below(ls.len());
        let last = (first + rng.log_range(1, 8) - 1).min(ls.len() - 1);
        b.drain(ls[first].0..ls[last].1);
    }
    "delete_lines"
}

fn duplicate_lines(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let ls = lines(b);
    if !ls.is_empty() {
        let first = rng.below(ls.len());
        let last = (first + rng.below(4)).min(ls.len() - 1);
        let chunk = b[ls[first].0..ls[last].1].to_vec();
        let times = rng.log_range(1, 200);
        let at = ls[last].1;
        let insert: Vec<u8> = chunk
            .iter()
            .copied()
            .cycle()
            .take(chunk.len() * times)
            .collect();
        b.splice(at..at, insert);
    }
    "duplicate_lines"
}

fn duplicate_chunk(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    if !b.is_empty() {
        let start = rng.below(b.len());
        let end = (start + rng.log_range(1, 512)).min(b.len());
        let chunk = b[start..end].to_vec();
        let at = rng.below(b.len() + 1);
        b.splice(at..at, chunk);
    }
    "duplicate_chunk"
}

fn truncate(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let at = rng.below(b.len() + 1);
    b.truncate(at);
    "truncate"
}

fn splice(rng: &mut Rng, b: &mut Vec<u8>, all: &[Seed]) -> &'static str {
    let other = &rng.pick(all).bytes;
    let cut = rng.below(b.len() + 1);
    let from = rng.below(other.len() + 1);
    b.truncate(cut);
    b.extend_from_slice(&other[from..]);
    "splice"
}

fn insert_piece(rng: &mut Rng, b: &mut Vec<u8>, piece: &[u8], name: &'static str) -> &'static str {
    let at = rng.below(b.len() + 1);
    b.splice(at..at, piece.iter().copied());
    name
}

fn lone_cr(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    if rng.chance(50) {
        // Every line break becomes a lone CR (an old Mac file).
        for c in b.iter_mut() {
            if *c == b'\n' {
                *c = b'\r';
            }
        }
    } else {
        let at = rng.below(b.len() + 1);
        b.insert(at, b'\r');
    }
    "lone_cr"
}

/// A position at a token boundary, so a nesting prefix lands where an expression may start.
fn boundary(rng: &mut Rng, b: &[u8]) -> usize {
    let toks = tokens(b);
    if toks.is_empty() {
        0
    } else {
        toks[rng.below(toks.len())].0
    }
}

fn repeated(piece: &str, times: usize) -> Vec<u8> {
    piece.repeat(times).into_bytes()
}

fn deep_nesting(rng: &mut Rng, b: &mut Vec<u8>, max_len: usize) -> &'static str {
    let (open, close) = *rng.pick(NESTING);
    let room = max_len.saturating_sub(b.len()) / (open.len() + close.len()).max(1);
    let depth = rng.log_range(8, 100_000).min(room.max(1));
    let closed = rng.chance(40);
    let at = boundary(rng, b);
    let mut piece = repeated(open, depth);
    piece.extend_from_slice(b"x");
    if closed {
        piece.extend(repeated(close, depth));
    }
    b.splice(at..at, piece);
    if closed {
        "deep_nesting_closed"
    } else {
        "deep_nesting_open"
    }
}

fn chain(rng: &mut Rng, b: &mut Vec<u8>, max_len: usize) -> &'static str {
    let link = *rng.pick(CHAINS);
    let room = max_len.saturating_sub(b.len()) / link.len();
    let n = rng.log_range(8, 200_000).min(room.max(1));
    let at = boundary(rng, b);
    let mut piece = b"a".to_vec();
    piece.extend(repeated(link, n));
    b.splice(at..at, piece);
    "long_chain"
}

fn long_line(rng: &mut Rng, b: &mut Vec<u8>, max_len: usize) -> &'static str {
    let piece = *rng.pick(LONG_PIECES);
    // Half of the lines end near 65,536 columns (where renderers used to fail), the rest
    // anywhere up to the size limit.
    let target = if rng.chance(50) {
        65_536 + rng.range(0, 16) - 8
    } else {
        rng.log_range(1_000, max_len.max(2_000))
    };
    let n = (target / piece.len()).min(max_len.saturating_sub(b.len()) / piece.len());
    let at = boundary(rng, b);
    b.splice(at..at, repeated(piece, n));
    "long_line"
}

fn swap_number(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let nums: Vec<_> = tokens(b)
        .into_iter()
        .filter(|&(s, _)| b[s].is_ascii_digit())
        .collect();
    let new = rng.pick(NUMBERS).as_bytes();
    if nums.is_empty() {
        let at = boundary(rng, b);
        b.splice(at..at, new.iter().copied());
    } else {
        let (s, e) = *rng.pick(&nums);
        b.splice(s..e, new.iter().copied());
    }
    "swap_number"
}

fn swap_word(rng: &mut Rng, b: &mut Vec<u8>) -> &'static str {
    let words: Vec<_> = tokens(b)
        .into_iter()
        .filter(|&(s, _)| b[s].is_ascii_alphabetic())
        .collect();
    let new = rng.pick(WORDS).as_bytes();
    if words.is_empty() {
        let at = boundary(rng, b);
        b.splice(at..at, new.iter().copied());
    } else {
        let (s, e) = *rng.pick(&words);
        b.splice(s..e, new.iter().copied());
    }
    "swap_word"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Vec<Seed> {
        vec![
            Seed {
                path: "a.prism".into(),
                bytes: b"let a = [1, 2]\nprint(a)\n".to_vec(),
                ext: "prism".into(),
            },
            Seed {
                path: "b.yaml".into(),
                bytes: b"name: p\ninput: {}\noutput: 1\n".to_vec(),
                ext: "yaml".into(),
            },
        ]
    }

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let all = seeds();
        for i in 0..200 {
            let a = mutate(&mut Rng::for_input(7, i), &all[0], &all, 1 << 20);
            let b = mutate(&mut Rng::for_input(7, i), &all[0], &all, 1 << 20);
            assert_eq!(a.bytes, b.bytes);
            assert_eq!(a.steps, b.steps);
        }
    }

    #[test]
    fn inputs_stay_within_the_size_limit() {
        let all = seeds();
        for i in 0..2_000 {
            let m = mutate(&mut Rng::for_input(1, i), &all[i as usize % 2], &all, 4_096);
            assert!(m.bytes.len() <= 4_096, "{:?}", m.steps);
        }
    }

    #[test]
    fn tokens_cover_the_text() {
        let text = b"let abc = 12.5 + f(x)";
        let toks = tokens(text);
        assert_eq!(toks.first().map(|t| t.0), Some(0));
        assert_eq!(toks.last().map(|t| t.1), Some(text.len()));
        assert!(toks.windows(2).all(|w| w[0].1 == w[1].0));
    }
}
