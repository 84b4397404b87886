//! The lexer and parser never panic: mutated real programs and random bytes all come back as
//! a syntax tree plus diagnostics. (The `fuzz/` folder runs the same property under libFuzzer.)

use std::path::Path;

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    "\n",
    "~>",
    "<~",
    "~||>",
    "~??",
    "=>",
    "...",
    "\"",
    "'",
    "```",
    "${",
    "/*",
    "*/",
    "//",
    "uncertain",
    "if",
    "high",
    "match",
    "_",
    "let",
    "=",
    "?",
    ":",
    "function",
    "async",
    "await",
    "for",
    "in",
    "of",
    "import",
    "export",
    "default",
    "0.5",
    "1e",
    ".",
    "?.",
    "~.",
    "|>",
    "**",
    "++",
    "try",
    "catch",
    "\\",
    "\u{1F600}",
    "\0",
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(4) {
            0 if !s.is_empty() => {
                let end = (at + rng.below(8)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => {
                let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                for (i, c) in frag.chars().enumerate() {
                    s.insert((at + i).min(s.len()), c);
                }
            }
            2 if !s.is_empty() => {
                let from = rng.below(s.len());
                let end = (from + rng.below(16)).min(s.len());
                let piece: Vec<char> = s[from..end].to_vec();
                for (i, c) in piece.into_iter().enumerate() {
                    s.insert((at + i).min(s.len()), c);
                }
            }
            _ => {
                let c = char::from_u32(rng.below(0x80) as u32).unwrap_or('x');
                s.insert(at.min(s.len()), c);
            }
        }
    }
    s.into_iter().collect()
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/conformance");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "prism") {
                out.push(std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out.push("let x = [1, {a: (2 ~> 0.5)}]\nuncertain if (x) { high { print(`${x}`) } }".into());
    out
}

fn parse_all(src: &str) {
    let parsed = prism_compiler::parse(src);
    for d in &parsed.diagnostics {
        let span = d.primary_span();
        assert!(
            span.start <= span.end && span.end as usize <= src.len() + 1,
            "diagnostic span {span:?} outside the input of {} bytes",
            src.len()
        );
    }
    let _ = prism_compiler::parse_expression(src);
}

#[test]
fn mutated_programs_never_panic() {
    let corpus = corpus();
    assert!(corpus.len() > 10, "the conformance corpus was not found");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..6_000 {
        let base = &corpus[rng.below(corpus.len())];
        let src = mutate(&mut rng, base);
        let result = std::panic::catch_unwind(|| parse_all(&src));
        assert!(
            result.is_ok(),
            "round {round}: the parser panicked on:\n{src}"
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..3_000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        let src = String::from_utf8_lossy(&bytes);
        parse_all(&src);
    }
}

#[test]
fn deep_nesting_is_reported_not_crashed() {
    let src = format!("let x = {}1{}", "(".repeat(5_000), ")".repeat(5_000));
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || prism_compiler::parse(&src).diagnostics.len());
    let joined = handle.map(|h| h.join());
    assert!(
        matches!(joined, Ok(Ok(_))),
        "deep nesting crashed the parser"
    );
}
