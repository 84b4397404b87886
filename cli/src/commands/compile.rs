//! The files of a command: folder walks, and compiling each the way every front door does
//! (through the compiler's driver, `prism_compiler::driver`).

use std::path::{Path, PathBuf};

use prism_compiler::Diagnostic;
use prism_compiler::agents_file::{YamlContent, is_agents_file_name, yaml_content};
pub use prism_compiler::driver::{FileKind, Unit as Compiled, is_yaml, kind_of};
use prism_compiler::pattern::CompileOptions;
use prism_license::License;

/// Compiles one file: all diagnostics of the file, license gating of patterns included.
pub fn compile(path: &Path, text: &str, options: &CompileOptions, license: &License) -> Compiled {
    prism_compiler::driver::compile(path, text, options, license)
}

/// The `--strict` warnings of a program: names declared by a plain assignment.
pub fn strict_warnings(text: &str) -> Vec<Diagnostic> {
    prism_compiler::analysis::Analysis::new(text).implicit_declarations()
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
}
