//! Every code snippet of the documentation runs, and its output is checked; the CLI reference
//! is up to date.
//!
//! In `README.md`, `llms.txt` and the guides under `docs/`, a fenced block is a snippet when its
//! language is `prism` or `yaml`:
//! - followed by an `output` block (only blank lines between): it runs with `prism run` in a
//!   fresh directory and its stdout must equal the output block (exit status 0);
//! - without one: `prism check` must accept it.
//!
//! A `yaml` block is a pattern only when it has a top-level `name:` key or an output block;
//! other YAML (a fragment showing a few keys) is not run.
//!
//! Words after the language adjust this: `agents` (a YAML agents file, written as `agents.yaml`
//! beside every later snippet of the same document), `file=NAME` (also written beside every
//! later snippet, e.g. a module that a later snippet imports), `input=JSON` (the pattern input,
//! JSON without spaces) and `fails` (the run must exit non-zero; stdout is still compared).
//! A block of any other language with `file=NAME` (an agent program) is also written beside
//! every later snippet; `server=NAME` on a snippet starts `python3 NAME` in its folder first
//! (an HTTP agent or a fake LLM endpoint), waits for its first line of output, and stops it
//! after the run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{repo, run_prism, run_prism_stdin};

/// The documents whose snippets are checked.
const DOCUMENTS: &[&str] = &[
    "README.md",
    "llms.txt",
    "docs/language-guide.md",
    "docs/pattern-guide.md",
    "docs/agents.md",
];

/// One fenced block.
#[derive(Clone, Debug)]
struct Block {
    lang: String,
    words: Vec<String>,
    body: String,
    /// 1-based line of the opening fence.
    line: usize,
}

impl Block {
    fn word(&self, key: &str) -> Option<String> {
        self.words
            .iter()
            .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
    }

    fn has(&self, flag: &str) -> bool {
        self.words.iter().any(|w| w == flag)
    }
}

/// A snippet to run: the block, its expected output, and the files written beside it.
struct Snippet {
    block: Block,
    output: Option<String>,
    beside: Vec<(String, String)>,
}

/// One trial per snippet, plus the CLI reference check.
pub fn trials() -> Vec<Trial> {
    let mut trials = vec![
        Trial::test("docs::cli_reference_is_current", cli_reference),
        Trial::test(
            "docs::snippets_pair_with_outputs",
            snippets_pair_with_outputs,
        ),
        Trial::test("docs::prism_snippets_are_formatted", snippets_are_formatted),
    ];
    for doc in DOCUMENTS {
        let path = repo().join(doc);
        let stem = doc
            .rsplit('/')
            .next()
            .unwrap_or(doc)
            .trim_end_matches(".md")
            .replace(['-', '.'], "_");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("cannot read {}: {e}", path.display());
                trials.push(Trial::test(format!("docs::{stem}::present"), move || {
                    Err(msg.into())
                }));
                continue;
            }
        };
        match snippets(&text) {
            Ok(list) => {
                for s in list {
                    let name = format!("docs::{stem}::line_{}", s.block.line);
                    let doc = doc.to_string();
                    trials.push(Trial::test(name, move || run_snippet(&doc, &s)));
                }
            }
            Err(e) => trials.push(Trial::test(format!("docs::{stem}::layout"), move || {
                Err(e.into())
            })),
        }
    }
    trials
}

/// The fenced blocks of a Markdown text.
fn blocks(text: &str) -> Result<Vec<(Block, usize)>, String> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match &mut open {
            None if fence => {
                let info = line.trim_start().trim_start_matches('`').trim();
                let mut words = info.split_whitespace().map(str::to_string);
                let lang = words.next().unwrap_or_default();
                open = Some(Block {
                    lang,
                    words: words.collect(),
                    body: String::new(),
                    line: i + 1,
                });
            }
            None => {}
            Some(_) if fence && line.trim() == "```" => {
                if let Some(b) = open.take() {
                    out.push((b, i + 1));
                }
            }
            Some(b) => {
                b.body.push_str(line);
                b.body.push('\n');
            }
        }
    }
    if let Some(b) = open {
        return Err(format!(
            "the block opened at line {} is never closed",
            b.line
        ));
    }
    Ok(out)
}

/// The snippets of a document, each with its expected output and the files beside it.
fn snippets(text: &str) -> Result<Vec<Snippet>, String> {
    let all = blocks(text)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut beside: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let (block, end) = &all[i];
        let next = all.get(i + 1).filter(|(n, _)| {
            n.lang == "output" && lines[*end..n.line - 1].iter().all(|l| l.trim().is_empty())
        });
        match block.lang.as_str() {
            "output" => {
                return Err(format!(
                    "the output block at line {} follows no prism or yaml block",
                    block.line
                ));
            }
            "yaml" if block.has("agents") => {
                beside.retain(|(n, _)| n != "agents.yaml");
                beside.push(("agents.yaml".into(), block.body.clone()));
            }
            "yaml" if next.is_none() && !block.body.lines().any(|l| l.starts_with("name:")) => {}
            lang if lang != "prism" && lang != "yaml" && block.word("file").is_some() => {
                if let Some(name) = block.word("file") {
                    beside.retain(|(n, _)| *n != name);
                    beside.push((name, block.body.clone()));
                }
            }
            "prism" | "yaml" => {
                out.push(Snippet {
                    block: block.clone(),
                    output: next.map(|(n, _)| n.body.clone()),
                    beside: beside.clone(),
                });
                if let Some(name) = block.word("file") {
                    beside.retain(|(n, _)| *n != name);
                    beside.push((name, block.body.clone()));
                }
                if next.is_some() {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(out)
}

fn run_snippet(doc: &str, s: &Snippet) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    for (name, body) in &s.beside {
        std::fs::write(dir.path().join(name), body)?;
    }
    let ext = if s.block.lang == "yaml" {
        "yaml"
    } else {
        "prism"
    };
    let name = s
        .block
        .word("file")
        .unwrap_or_else(|| format!("snippet.{ext}"));
    std::fs::write(dir.path().join(&name), &s.block.body)?;
    let place = format!("{doc}:{}", s.block.line);
    let Some(expected) = &s.output else {
        let r = run_prism(&["check", &name], dir.path(), Duration::from_secs(30))?;
        if r.code != Some(0) {
            return Err(format!("{place}: prism check rejects the snippet\n{}", r.stderr).into());
        }
        return Ok(());
    };
    let mut args = vec!["run".to_string(), name.clone()];
    if let Some(input) = s.block.word("input") {
        args.push("--input".into());
        args.push(input);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = match s.block.word("server") {
        Some(script) => Some(Server::start(dir.path(), &script)?),
        None => None,
    };
    let r = run_prism(&args, dir.path(), Duration::from_secs(60))?;
    let code = r.code.ok_or_else(|| format!("{place}: timed out"))?;
    if r.stdout != *expected {
        return Err(format!(
            "{place}: the output differs\n--- the document says\n{expected}--- prism prints\n{}--- stderr\n{}",
            r.stdout, r.stderr
        )
        .into());
    }
    let fails = s.block.has("fails");
    if fails && code == 0 {
        return Err(format!("{place}: the snippet is marked `fails` but exits 0").into());
    }
    if !fails && code != 0 {
        return Err(format!("{place}: exit status {code}\n{}", r.stderr).into());
    }
    Ok(())
}

/// `docs/cli.md` is what `prism __doc cli` prints now.
fn cli_reference() -> Result<(), Failed> {
    let path: PathBuf = repo().join("docs/cli.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let r = run_prism(
        &["__doc", "cli"],
        Path::new(&repo()),
        Duration::from_secs(30),
    )?;
    if r.code != Some(0) {
        return Err(format!("prism __doc cli failed\n{}", r.stderr).into());
    }
    if r.stdout != committed {
        let first = r
            .stdout
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "the lengths differ".to_string(),
                |n| format!("first difference at line {}", n + 1),
            );
        return Err(format!(
            "docs/cli.md is out of date ({first}). Regenerate it from the repository root with\n\n    cargo run -q -p prism-cli -- __doc cli > docs/cli.md\n"
        )
        .into());
    }
    Ok(())
}

/// The harness itself: which blocks run, which are checked, what travels to later snippets.
fn snippets_pair_with_outputs() -> Result<(), Failed> {
    let text = "# T\n```yaml agents\nagents: []\n```\n```prism file=m.prism\nexport let a = 1\n```\n\n```output\n\n```\ntext\n```prism\nprint(1)\n```\n\n```output\n1\n```\n```yaml input={\"x\":1}\nname: p\n```\nprose\n```yaml\nschedule: daily\n```\n```sh\nls\n```\n";
    let list = snippets(text)?;
    let summary: Vec<(usize, Option<&str>, Vec<&str>)> = list
        .iter()
        .map(|s| {
            (
                s.block.line,
                s.output.as_deref(),
                s.beside.iter().map(|(n, _)| n.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (5, Some("\n"), vec!["agents.yaml"]),
            (13, Some("1\n"), vec!["agents.yaml", "m.prism"]),
            (20, None, vec!["agents.yaml", "m.prism"]),
        ]
    );
    assert_eq!(list[2].block.word("input").as_deref(), Some("{\"x\":1}"));
    assert!(
        snippets("```output\nx\n```\n").is_err(),
        "an orphan output block"
    );
    assert!(
        snippets("```prism\nprint(1)\n```\nprose\n```output\n1\n```\n").is_err(),
        "an output block must follow its snippet directly"
    );
    assert!(
        snippets("```prism\nprint(1)\n").is_err(),
        "an unclosed block"
    );
    Ok(())
}

/// Every `prism` block of the documents is what `prism fmt` writes: the documents, the
/// examples and the formatter share one style (`<~ x`, `{a: 1}`, no trailing commas).
fn snippets_are_formatted() -> Result<(), Failed> {
    let mut unformatted = Vec::new();
    for doc in DOCUMENTS {
        let text = std::fs::read_to_string(repo().join(doc))?;
        for (block, _) in blocks(&text)? {
            if block.lang != "prism" {
                continue;
            }
            let r = run_prism_stdin(&["fmt", "-"], &repo(), Duration::from_secs(30), &block.body)?;
            if r.code != Some(0) {
                unformatted.push(format!("{doc}:{}: not formatted: {}", block.line, r.stderr));
            } else if r.stdout != block.body {
                unformatted.push(format!(
                    "{doc}:{}: `prism fmt` writes\n{}",
                    block.line, r.stdout
                ));
            }
        }
    }
    if unformatted.is_empty() {
        Ok(())
    } else {
        Err(unformatted.join("\n").into())
    }
}

/// A helper process a snippet needs (`server=NAME`), stopped when dropped.
struct Server(std::process::Child);

impl Server {
    /// Starts `python3 script` in `dir` and waits for its first line on stdout (it prints one
    /// once it listens).
    fn start(dir: &Path, script: &str) -> Result<Server, Failed> {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start python3 {script}: {e}"))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let server = Server(child);
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if !line.is_empty() => Ok(server),
            _ => Err(format!("{script} did not start").into()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
