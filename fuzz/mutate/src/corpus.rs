//! Seeds the cargo-fuzz corpora (`fuzz/corpus/<target>/`) from the repository: conformance
//! programs, syntax and diagnostics tests, examples, the standard library, the YAML pattern
//! corpus and the `prism`/`yaml` snippets of the documentation. Files are named by a hash of
//! their content, so rerunning it adds nothing twice.

use std::path::{Path, PathBuf};

use crate::seeds;

/// Programs: the `parse`, `check` and `format` targets read these.
const PROGRAM_DIRS: &[&str] = &[
    "tests/data/conformance",
    "tests/conformance-own",
    "tests/syntax",
    "tests/diagnostics",
    "examples",
    "stdlib",
];

/// Patterns: the `pattern` target reads these.
const PATTERN_DIRS: &[&str] = &["tests/data/patterns", "tests/diagnostics", "examples"];

/// Documents whose fenced snippets are seeds.
const DOCS: &[&str] = &[
    "README.md",
    "llms.txt",
    "docs/language-guide.md",
    "docs/pattern-guide.md",
    "docs/agents.md",
    "docs/persistence.md",
    "docs/cli.md",
];

/// Seeds larger than this are left out (the fuzzer grows inputs itself).
const MAX_BYTES: usize = 24 * 1024;

/// Writes the corpora under `out` (one folder per target); returns (files, bytes) per target.
pub fn seed(root: &Path, out: &Path) -> std::io::Result<Vec<(String, usize, usize)>> {
    let dirs = |list: &[&str]| list.iter().map(|d| root.join(d)).collect::<Vec<PathBuf>>();
    let mut programs = Vec::new();
    let mut patterns = Vec::new();
    for s in seeds::collect(&dirs(PROGRAM_DIRS)) {
        if s.ext == "prism" {
            if has_pattern_header(&s.bytes) {
                patterns.push(s.bytes);
            } else {
                programs.push(s.bytes);
            }
        }
    }
    for s in seeds::collect(&dirs(PATTERN_DIRS)) {
        if s.ext != "prism" || has_pattern_header(&s.bytes) {
            patterns.push(s.bytes);
        }
    }
    for doc in DOCS {
        let Ok(text) = std::fs::read_to_string(root.join(doc)) else {
            continue;
        };
        for (lang, body) in snippets(&text) {
            match lang.as_str() {
                "prism" => programs.push(body.into_bytes()),
                "yaml" | "yml" => patterns.push(body.into_bytes()),
                _ => {}
            }
        }
    }
    let mut report = Vec::new();
    for (target, inputs) in [
        ("parse", &programs),
        ("check", &programs),
        ("format", &programs),
        ("pattern", &patterns),
    ] {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        let (mut files, mut bytes) = (0, 0);
        for input in inputs
            .iter()
            .filter(|i| !i.is_empty() && i.len() <= MAX_BYTES)
        {
            let path = dir.join(format!("{:016x}", fnv1a(input)));
            if !path.exists() {
                std::fs::write(&path, input)?;
                files += 1;
                bytes += input.len();
            }
        }
        report.push((target.to_string(), files, bytes));
    }
    Ok(report)
}

/// Does this `.prism` text start with an annotation header (a `/** … */` with `@tags`)?
fn has_pattern_header(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some(rest) = text.trim_start().strip_prefix("/**") else {
        return false;
    };
    let body = rest.split("*/").next().unwrap_or("");
    body.lines().any(|l| {
        l.trim_start()
            .trim_start_matches('*')
            .trim_start()
            .starts_with('@')
    })
}

/// The fenced code blocks of a Markdown text: (language, body).
fn snippets(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) => {
                let info = line.trim_start().trim_start_matches('`');
                let lang = info.split_whitespace().next().unwrap_or("").to_string();
                current = Some((lang, String::new()));
            }
            (Some(_), true) => out.extend(current.take()),
            (Some((_, body)), false) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, false) => {}
        }
    }
    out
}

/// FNV-1a, 64 bits: a stable name for a corpus file.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_read_with_their_language() {
        let md = "text\n```prism\nprint(1)\n```\n\n```yaml input={}\nname: p\n```\n";
        assert_eq!(
            snippets(md),
            vec![
                ("prism".to_string(), "print(1)\n".to_string()),
                ("yaml".to_string(), "name: p\n".to_string())
            ]
        );
    }
}
