//! Compiling one file the way every command does: a plain program is parsed; a pattern (YAML,
//! or `.prism` with an annotation header) is compiled to a plan and license-gated.

use std::path::{Path, PathBuf};

use prism_compiler::agents_file::{self, YamlContent, is_agents_file_name, yaml_content};
use prism_compiler::pattern::{CompileOptions, compile_file_with, load_file};
use prism_compiler::plan::Plan;
use prism_compiler::{Diagnostic, SourceFile, gate};
use prism_license::License;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A Prism program.
    Program,
    /// A YAML pattern, org chart, or annotated `.prism` pattern.
    Pattern,
    /// An agents file (checked, never compiled to a plan).
    Agents,
}

/// One compiled file.
pub struct Compiled {
    pub file: SourceFile,
    pub kind: FileKind,
    pub diagnostics: Vec<Diagnostic>,
    /// The plan of a pattern without errors.
    pub plan: Option<Plan>,
}

impl Compiled {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings and hints.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Is this a YAML file?
pub fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Is this YAML file an agents file (named `agents.yaml` or `*.agents.yaml`, or holding a
/// top-level `agents:` list) rather than a pattern?
pub fn is_agents_file(path: &Path, text: &str) -> bool {
    is_agents_file_name(path) || (is_yaml(path) && yaml_content(text) == YamlContent::Agents)
}

/// Does this `.prism` text start with a pattern header (a `/** … */` comment with `@tags`)?
pub fn has_pattern_header(text: &str) -> bool {
    let trimmed = text.trim_start();
    let Some(rest) = trimmed.strip_prefix("/**") else {
        return false;
    };
    let body = rest.split("*/").next().unwrap_or("");
    body.lines().any(|l| {
        let l = l.trim_start().trim_start_matches('*').trim_start();
        l.starts_with('@') && l[1..].starts_with(|c: char| c.is_ascii_alphabetic())
    })
}

/// The kind of a file from its name and text.
pub fn kind_of(path: &Path, text: &str) -> FileKind {
    if is_agents_file(path, text) {
        FileKind::Agents
    } else if is_yaml(path) || has_pattern_header(text) {
        FileKind::Pattern
    } else {
        FileKind::Program
    }
}

/// Compiles one file: all diagnostics of the file, license gating of patterns included.
pub fn compile(path: &Path, text: &str, options: &CompileOptions, license: &License) -> Compiled {
    let file = SourceFile::new(path.display().to_string(), text);
    let kind = kind_of(path, text);
    let (mut diagnostics, plan) = match kind {
        FileKind::Program => {
            let analysis = prism_lsp::analysis::Analysis::new(text);
            (analysis.diagnostics(), None)
        }
        FileKind::Agents => (agents_file::check(text), None),
        FileKind::Pattern => {
            let out = compile_file_with(path, text, options);
            let mut diags = out.diagnostics;
            let gated = match &out.plan {
                Some(plan) => gate::gate(plan.directives(), license),
                None => match load_file(path, text).0 {
                    Some(loaded) => gate::gate(gate::directives_of(&loaded), license),
                    None => Vec::new(),
                },
            };
            let refused = !gated.is_empty();
            diags.extend(gated);
            diags.sort_by_key(|d| d.primary_span().start);
            (diags, if refused { None } else { out.plan })
        }
    };
    diagnostics.dedup();
    Compiled {
        file,
        kind,
        diagnostics,
        plan,
    }
}

/// The `--strict` warnings of a program: names declared by a plain assignment.
pub fn strict_warnings(text: &str) -> Vec<Diagnostic> {
    prism_lsp::analysis::Analysis::new(text).implicit_declarations()
}

/// The files named on the command line: files as given, directories searched for `.prism`
/// files and for YAML files that are patterns or agents files (other YAML, such as a
/// `docker-compose.yaml`, is skipped by the rule the language server uses; so are hidden
/// folders, `target` and `node_modules`).
pub fn collect_files(args: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut found = Vec::new();
            walk(
                arg,
                &|path, name| name.ends_with(".prism") || is_prism_yaml(path),
                &mut found,
            );
            found.sort();
            out.extend(found.into_iter().map(|f| (arg.clone(), f)));
        } else {
            let base = arg.parent().map(Path::to_path_buf).unwrap_or_default();
            out.push((base, arg.clone()));
        }
    }
    out
}

/// A YAML file a folder walk keeps: a pattern or an agents file.
fn is_prism_yaml(path: &Path) -> bool {
    if !is_yaml(path) {
        return false;
    }
    is_agents_file_name(path)
        || std::fs::read_to_string(path).is_ok_and(|t| yaml_content(&t) != YamlContent::Other)
}

/// The files under `dir` that `keep` accepts (given the path and the file name), in no
/// particular order; hidden folders, `target` and `node_modules` are skipped, and unreadable
/// folders are passed over.
pub fn walk(dir: &Path, keep: &dyn Fn(&Path, &str) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&path, keep, out);
            }
        } else if keep(&path, &name) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_walks_keep_patterns_and_agents_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = [
            ("p.yaml", "name: p\ninput: {}\noutput: 1\n"),
            ("team.yml", "agents:\n  - name: a\n    echo: true\n"),
            (
                "docker-compose.yaml",
                "services:\n  web:\n    image: nginx\n",
            ),
            (".github/workflows/ci.yml", "name: ci\non: push\njobs: {}\n"),
            ("prog.prism", "print(1)\n"),
        ];
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let found: Vec<String> = collect_files(&[dir.path().to_path_buf()])
            .into_iter()
            .filter_map(|(_, p)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(found, ["p.yaml", "prog.prism", "team.yml"]);
        let team = dir.path().join("team.yml");
        let text = std::fs::read_to_string(&team).expect("read");
        assert_eq!(kind_of(&team, &text), FileKind::Agents);
    }

    #[test]
    fn headers_mark_patterns() {
        assert!(has_pattern_header("/**\n * @name x\n */\nprint(1)"));
        assert!(!has_pattern_header("/** just a comment */\nprint(1)"));
        assert!(!has_pattern_header("print(1)"));
    }
}
