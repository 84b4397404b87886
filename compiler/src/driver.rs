//! The one way a source file is read: its kind by one rule, then once through parse →
//! (pattern → plan → license gate) into a [`Unit`] that `prism run`, `check`, `build`,
//! `serve`, the language server and the embedding API all share. A [`Cache`] keeps units by
//! path and content, so a file is compiled once however many front doors ask for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use prism_license::License;

use crate::agents_file::{self, YamlContent, is_agents_file_name, yaml_content};
use crate::analysis::Analysis;
use crate::ast::Program;
use crate::diagnostic::{Diagnostic, Omitted, SourceFile, TRUNCATED, cap};
use crate::gate;
use crate::pattern::{CompileOptions, Loaded, compile_file_with};
use crate::plan::Plan;

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

/// Is this a YAML file (by its extension, in any case)?
pub fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Is this YAML file an agents file (named `agents.yaml` or `*.agents.yaml`, or holding a
/// top-level `agents:` list) rather than a pattern?
pub fn is_agents_file(path: &Path, text: &str) -> bool {
    is_agents_file_name(path) || (is_yaml(path) && yaml_content(text) == YamlContent::Agents)
}

/// Does this `.prism` text open with a pattern header: a `/** … */` comment with `@tags`
/// before any code (after a byte-order mark, blank lines and `//` comments)? A header-like
/// comment later in the file, or inside a string, leaves the file a program.
pub fn has_pattern_header(text: &str) -> bool {
    crate::pattern::header::opening_header(text).is_some_and(|(_, tags)| {
        tags.iter()
            .any(|t| crate::pattern::header::defines_pattern(&t.name))
    })
}

/// The kind of a file from its name and text: the one rule of every command.
pub fn kind_of(path: &Path, text: &str) -> FileKind {
    if is_agents_file(path, text) {
        FileKind::Agents
    } else if is_yaml(path) || has_pattern_header(text) {
        FileKind::Pattern
    } else {
        FileKind::Program
    }
}

/// One compiled source file.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The file (name and text, with its line index).
    pub file: SourceFile,
    /// What it holds.
    pub kind: FileKind,
    /// The diagnostics, ordered by position: syntax errors, early checks, lints, pattern
    /// checks and the license gate; at most [`crate::diagnostic::MAX_DIAGNOSTICS`], then one that counts the rest
    /// ([`crate::diagnostic::cap`]).
    pub diagnostics: Vec<Diagnostic>,
    /// The diagnostics left out of `diagnostics` by the cap.
    pub omitted: Omitted,
    /// The syntax tree of a program, or of an annotated `.prism` pattern's script.
    pub program: Option<Arc<Program>>,
    /// Names and their uses in that tree (hover, references, lints).
    pub analysis: Option<Arc<Analysis>>,
    /// The loaded pattern (the model the plan was built from).
    pub loaded: Option<Arc<Loaded>>,
    /// The plan of a pattern without errors that the license admits.
    pub plan: Option<Arc<Plan>>,
}

impl Unit {
    /// Number of errors, those left out by the cap included.
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != TRUNCATED)
            .count()
            + self.omitted.errors
    }

    /// Number of warnings and hints, those left out by the cap included.
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| !d.is_error() && d.code != TRUNCATED)
            .count()
            + self.omitted.others
    }

    /// Caps the diagnostics again after some were added (`prism check --strict`): at most
    /// [`crate::diagnostic::MAX_DIAGNOSTICS`], the rest counted in the last one.
    pub fn recap(&mut self) {
        cap(&mut self.diagnostics, &mut self.omitted);
    }

    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// How many files [`compile`] has compiled in this process (tests use it to check that a
/// run reads its file once).
pub fn compilations() -> usize {
    COMPILATIONS.load(Ordering::Relaxed)
}

static COMPILATIONS: AtomicUsize = AtomicUsize::new(0);

/// Compiles one file: a program is parsed and analysed; a pattern is loaded, compiled to a
/// plan and license-gated; an agents file is checked. Never fails: problems are diagnostics.
pub fn compile(path: &Path, text: &str, options: &CompileOptions, license: &License) -> Unit {
    COMPILATIONS.fetch_add(1, Ordering::Relaxed);
    let file = SourceFile::new(path.display().to_string(), text);
    let kind = kind_of(path, text);
    if kind == FileKind::Program {
        let mut unit = program_unit(file, text);
        unit.recap();
        return unit;
    }
    let mut unit = Unit {
        file,
        kind,
        diagnostics: Vec::new(),
        omitted: Omitted::default(),
        program: None,
        analysis: None,
        loaded: None,
        plan: None,
    };
    match kind {
        FileKind::Program => {}
        FileKind::Agents => unit.diagnostics = agents_file::check(text),
        FileKind::Pattern => {
            let out = compile_file_with(path, text, options);
            let mut diags = out.diagnostics;
            let gated = match (&out.plan, &out.loaded) {
                (Some(plan), _) => gate::gate(plan.directives(), license),
                (None, Some(loaded)) => gate::gate(gate::directives_of(loaded), license),
                (None, None) => Vec::new(),
            };
            let mut refused = !gated.is_empty();
            diags.extend(gated);
            if let Some(loaded) = &out.loaded {
                let nested = gate::gate_reached(&gate::reached(loaded), &unit.file, license);
                refused |= nested.iter().any(Diagnostic::is_error);
                diags.extend(nested);
            }
            if let Some(Loaded::Prism(p)) = &out.loaded {
                // The script's lints, but not undefined names: a pattern's script reads the
                // globals the run injects (`input`, `agentResults`, …) and defines helpers
                // after their use; the pattern checks report names themselves.
                let analysis = Analysis::of_program(p.script.clone(), Vec::new());
                diags.extend(
                    analysis
                        .lints
                        .iter()
                        .filter(|d| d.code != crate::analysis::codes::UNDEFINED)
                        .cloned(),
                );
                unit.program = Some(p.script.clone());
                unit.analysis = Some(Arc::new(analysis));
            }
            diags.sort_by_key(|d| {
                d.elsewhere
                    .as_ref()
                    .map_or(d.primary_span().start, |e| e.via.start)
            });
            unit.diagnostics = diags;
            unit.loaded = out.loaded.map(Arc::new);
            unit.plan = if refused {
                None
            } else {
                out.plan.map(Arc::new)
            };
        }
    }
    unit.diagnostics.dedup();
    unit.recap();
    unit
}

/// Compiles a program given as text (`prism run -e CODE`, standard input, the REPL): parsed
/// and analysed as [`compile`] does for a `.prism` file without a header.
pub fn compile_program(name: &str, text: &str) -> Unit {
    COMPILATIONS.fetch_add(1, Ordering::Relaxed);
    let mut unit = program_unit(SourceFile::new(name, text), text);
    unit.recap();
    unit
}

/// The unit of a program whose file (with its text and line index, made once) is `file`.
fn program_unit(file: SourceFile, text: &str) -> Unit {
    let analysis = Analysis::new(text);
    let mut diagnostics = analysis.diagnostics();
    diagnostics.dedup();
    Unit {
        file,
        kind: FileKind::Program,
        diagnostics,
        omitted: Omitted::default(),
        program: Some(analysis.program.clone()),
        analysis: Some(Arc::new(analysis)),
        loaded: None,
        plan: None,
    }
}

/// Units by path, recompiled only when the text, the options or the license change.
#[derive(Default)]
pub struct Cache {
    units: Mutex<HashMap<PathBuf, (u64, Arc<Unit>)>>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The unit of `path` with `text`: the cached one when nothing changed, else compiled.
    pub fn get(
        &self,
        path: &Path,
        text: &str,
        options: &CompileOptions,
        license: &License,
    ) -> Arc<Unit> {
        let key = fingerprint(text, options, license);
        if let Ok(units) = self.units.lock()
            && let Some((k, unit)) = units.get(path)
            && *k == key
        {
            return unit.clone();
        }
        let unit = Arc::new(compile(path, text, options, license));
        if let Ok(mut units) = self.units.lock() {
            units.insert(path.to_path_buf(), (key, unit.clone()));
        }
        unit
    }

    /// Forgets the unit of `path` (a closed editor document, a deleted file).
    pub fn forget(&self, path: &Path) {
        if let Ok(mut units) = self.units.lock() {
            units.remove(path);
        }
    }
}

/// What a unit depends on besides its path: the text, the options and the edition.
fn fingerprint(text: &str, options: &CompileOptions, license: &License) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("{options:?}").hash(&mut h);
    format!("{:?}", license.edition).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, text: &str) -> Unit {
        compile(
            Path::new(name),
            text,
            &CompileOptions::default(),
            &License::open_source(),
        )
    }

    /// Every front door gets at most `MAX_DIAGNOSTICS` diagnostics and one that counts the
    /// rest; the unit's counts still include them.
    #[test]
    fn diagnostics_are_capped_and_counted() {
        let text = "let = 1\n".repeat(5000);
        for u in [unit("a.prism", &text), compile_program("-e", &text)] {
            assert_eq!(u.diagnostics.len(), crate::diagnostic::MAX_DIAGNOSTICS + 1);
            assert_eq!(u.errors(), 5000);
            assert_eq!(u.warnings(), 0);
            let last = u.diagnostics.last().expect("a summary");
            assert_eq!(last.code, TRUNCATED);
            assert!(
                last.message
                    .starts_with("4800 more diagnostic(s) (4800 error(s))")
            );
        }
        let few = unit("a.prism", "let = 1\n");
        assert_eq!(few.diagnostics.len(), 1);
        assert_eq!(few.omitted, Omitted::default());
    }

    #[test]
    fn one_rule_says_what_a_file_is() {
        let header = "/**\n * @name p\n */\nprint(1)\n";
        assert_eq!(kind_of(Path::new("a.prism"), header), FileKind::Pattern);
        let bom = format!("\u{feff}{header}");
        assert_eq!(kind_of(Path::new("a.prism"), &bom), FileKind::Pattern);
        let comment_first = format!("// a pattern\n\n{header}");
        assert_eq!(
            kind_of(Path::new("a.prism"), &comment_first),
            FileKind::Pattern
        );
        // A header-like comment after code, or in a string, does not make a pattern.
        let later = format!("print(0)\n{header}");
        assert_eq!(kind_of(Path::new("a.prism"), &later), FileKind::Program);
        let in_string = "let s = \"/** @name x\\n * @persist {} */\"\nprint(s)\n";
        assert_eq!(kind_of(Path::new("a.prism"), in_string), FileKind::Program);
        assert_eq!(kind_of(Path::new("X.YAML"), "name: x\n"), FileKind::Pattern);
        // A JSDoc comment on top of a program leaves it a program.
        let jsdoc = "/**\n * Doubles.\n * @param {number} x\n * @returns {number}\n * @example double(2)\n */\nfunction double(x) { return x * 2 }\n";
        assert_eq!(kind_of(Path::new("a.prism"), jsdoc), FileKind::Program);
        let near_miss = "/**\n * @persistence {}\n */\nprint(1)\n";
        assert_eq!(kind_of(Path::new("a.prism"), near_miss), FileKind::Pattern);
        assert_eq!(
            kind_of(Path::new("agents.yaml"), "agents: []\n"),
            FileKind::Agents
        );
    }

    #[test]
    fn units_carry_their_tree_model_and_plan() {
        let p = unit("main.prism", "let x = 1\nprint(x)\n");
        assert_eq!(p.kind, FileKind::Program);
        assert!(p.program.is_some() && p.plan.is_none());
        let pat = unit(
            "vote.prism",
            "/**\n * @name vote\n * @agents {\"capabilities\": [\"a\"]}\n */\nlet r = agentResults\nr\n",
        );
        assert_eq!(pat.kind, FileKind::Pattern, "{:?}", pat.diagnostics);
        assert!(pat.program.is_some() && pat.loaded.is_some() && pat.plan.is_some());
    }

    #[test]
    fn the_cache_compiles_a_file_once() {
        let cache = Cache::new();
        let (opts, lic) = (CompileOptions::default(), License::open_source());
        let path = Path::new("cached.prism");
        let a = cache.get(path, "print(1)", &opts, &lic);
        let b = cache.get(path, "print(1)", &opts, &lic);
        assert!(Arc::ptr_eq(&a, &b));
        let c = cache.get(path, "print(2)", &opts, &lic);
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
