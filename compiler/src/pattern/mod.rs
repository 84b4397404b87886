//! Pattern files — YAML patterns (§1), org charts (§2) and annotated `.prism` patterns (§4) —
//! checked and compiled to one execution [`Plan`](crate::plan::Plan).
//!
//! The entry points are [`compile_file`] and [`compile_file_with`]: they read a file's text,
//! report every diagnostic of the file at once, and return a plan when there is no error.

pub mod chain;
pub mod check;
pub mod codes;
pub mod ctx;
pub mod directives;
pub mod expr;
pub mod fields;
pub mod header;
pub mod included;
pub mod input;
pub mod load;
pub mod model;
pub mod orgchart;
pub mod phase;
pub mod refs;
pub mod resolve;
pub mod steps;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::pattern::model::{OrgChart, PrismPattern, Step, StepKind, YamlPattern};
use crate::pattern::resolve::{PatternStore, Unresolved};
use crate::plan::Plan;

/// How to compile: where sub-patterns are found and what agents are assumed.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Directories searched for `pattern:` references (`--patterns DIR`, then
    /// `PRISM_PATTERNS_PATH`).
    pub pattern_dirs: Vec<PathBuf>,
    /// The versions store, searched after the directories.
    pub store: Option<Arc<dyn PatternStore>>,
    /// Assumed agent confidence `(lower, expected)` for the static estimate (from
    /// `--agents FILE`); default `(0, 0.7)`.
    pub agent_confidence: Option<(f64, f64)>,
}

impl CompileOptions {
    /// Options with the directories of `PRISM_PATTERNS_PATH` (`:`-separated).
    pub fn from_env() -> Self {
        let pattern_dirs = std::env::var_os("PRISM_PATTERNS_PATH")
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        CompileOptions {
            pattern_dirs,
            ..CompileOptions::default()
        }
    }
}

/// The result of compiling one file.
#[derive(Debug, Clone)]
pub struct CompileOutput {
    /// The plan, when the file has no error.
    pub plan: Option<Plan>,
    /// Every diagnostic of the file, ordered by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The loaded pattern the plan was built from (with its steps resolved), when the file
    /// could be read as one.
    pub loaded: Option<Loaded>,
}

impl CompileOutput {
    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A loaded (checked) pattern file, before plan building.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// A YAML pattern.
    Yaml(Box<YamlPattern>),
    /// An org chart.
    OrgChart(OrgChart),
    /// An annotated `.prism` pattern.
    Prism(PrismPattern),
}

/// Compiles a pattern file, dispatching on its extension (`.prism`: annotated pattern; other:
/// YAML, an org chart when it has `structure`/`workflow`). Sub-patterns are looked up in
/// `PRISM_PATTERNS_PATH`.
pub fn compile_file(path: impl AsRef<Path>, text: &str) -> CompileOutput {
    compile_file_with(path, text, &CompileOptions::from_env())
}

/// [`compile_file`] with explicit options.
pub fn compile_file_with(
    path: impl AsRef<Path>,
    text: &str,
    options: &CompileOptions,
) -> CompileOutput {
    compile_inner(path.as_ref(), text, options, &mut Vec::new())
}

fn compile_inner(
    path: &Path,
    text: &str,
    options: &CompileOptions,
    stack: &mut Vec<String>,
) -> CompileOutput {
    let (mut loaded, mut diagnostics) = load_file(path, text);
    let mut plan = None;
    if let Some(loaded) = &mut loaded {
        if let Loaded::Yaml(p) = loaded {
            stack.push(p.meta.name.value.clone());
            resolve_steps(&mut p.steps, path, options, stack, &mut diagnostics);
            stack.pop();
        }
        if !diagnostics.iter().any(Diagnostic::is_error) {
            let built = crate::plan::build::build(loaded, path, text, options, &mut diagnostics);
            if !diagnostics.iter().any(Diagnostic::is_error) {
                plan = Some(built);
            }
        }
    }
    diagnostics.sort_by_key(|d| (d.primary_span().start, std::cmp::Reverse(d.severity)));
    if let Some(p) = &mut plan {
        p.set_warnings(&diagnostics, text);
    }
    CompileOutput {
        plan,
        diagnostics,
        loaded,
    }
}

/// Reads and checks a file without building a plan (for editors).
pub fn load_file(path: &Path, text: &str) -> (Option<Loaded>, Vec<Diagnostic>) {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("prism"))
    {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut diags = Vec::new();
        let p = header::load(text, &stem, &mut diags);
        return (Some(Loaded::Prism(p)), diags);
    }
    let (root, mut diags) = yaml::parse(text);
    let Some(root) = root else {
        if diags.is_empty() {
            diags.push(Diagnostic::error(
                codes::MISSING_KEY,
                "the file is empty: a pattern needs `name`, `input` and `output`",
                crate::span::Span::new(0, 0),
            ));
        }
        return (None, diags);
    };
    if root.as_map().is_none() {
        diags.push(Diagnostic::error(
            codes::BAD_VALUE,
            format!("a pattern is a mapping, found {}", root.type_name()),
            root.span,
        ));
        return (None, diags);
    }
    let mut ctx = ctx::Ctx::new(text);
    let loaded = if orgchart::is_org_chart(&root) {
        orgchart::load(&mut ctx, &root).map(Loaded::OrgChart)
    } else {
        load::load(&mut ctx, &root).map(|p| Loaded::Yaml(Box::new(p)))
    };
    diags.extend(ctx.cx.diags);
    (loaded, diags)
}

fn resolve_steps(
    steps: &mut [Step],
    path: &Path,
    options: &CompileOptions,
    stack: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) {
    for step in steps {
        match &mut step.kind {
            StepKind::Pattern {
                name,
                range,
                resolved,
                span,
                ..
            } => {
                let shown = match range {
                    Some(r) => format!("{name}@{r}"),
                    None => name.clone(),
                };
                let result = if stack.contains(name) {
                    Err(Unresolved::Cycle(stack.clone()))
                } else {
                    resolve::find(
                        name,
                        range.as_deref(),
                        path,
                        &options.pattern_dirs,
                        options.store.as_deref(),
                    )
                };
                let err = |msg: String, help: String| {
                    Diagnostic::error(codes::UNRESOLVED_PATTERN, msg, *span).with_help(help)
                };
                match result {
                    Ok(c) => {
                        stack.push(c.name.clone());
                        let sub = compile_inner(&c.path, &c.text, options, stack);
                        stack.pop();
                        match sub.plan {
                            Some(p) => {
                                let directives = sub
                                    .loaded
                                    .as_ref()
                                    .map(|l| included::carried(l, &c.path, &c.text))
                                    .unwrap_or_default();
                                *resolved = Some(resolve::resolved(&c, p.hash(), directives));
                            }
                            None => diags.push(err(
                                format!("pattern `{shown}` ({}) does not compile", c.path.display()),
                                "run `prism check` on it".into(),
                            )),
                        }
                    }
                    Err(Unresolved::NotFound) => diags.push(err(
                        format!("pattern `{shown}` is not on the pattern path"),
                        if options.pattern_dirs.is_empty() {
                            "no pattern directory is set: pass `--patterns DIR` or set PRISM_PATTERNS_PATH".into()
                        } else {
                            format!("searched: {}", options.pattern_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "))
                        },
                    )),
                    Err(Unresolved::Ambiguous(paths)) => diags.push(err(format!("pattern `{shown}` is ambiguous"), format!("found in: {}", paths.join(", ")))),
                    Err(Unresolved::Cycle(chain)) => diags.push(err(format!("pattern `{shown}` uses itself"), format!("cycle: {} → {name}", chain.join(" → ")))),
                    Err(Unresolved::BadRange(r)) => diags.push(err(format!("`{r}` is not a version range"), "use 1.2.0, 1.x, ^1.2 or ~1.2".into())),
                }
            }
            StepKind::Parallel(inner)
            | StepKind::Loop { steps: inner, .. }
            | StepKind::Batch { task: inner, .. } => {
                resolve_steps(inner, path, options, stack, diags);
            }
            StepKind::Switch { cases, .. } => {
                for c in cases {
                    if let model::Jump::Inline(s) = &mut c.jump {
                        resolve_steps(
                            std::slice::from_mut(s.as_mut()),
                            path,
                            options,
                            stack,
                            diags,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
