//! The directives a pattern carries into the patterns that include it: its own and, through
//! its `pattern:` steps, those of everything it includes, at any depth. The license gate
//! (`crate::gate`) reads them; the compiler records them on each resolved step.

use std::path::Path;

use crate::diagnostic::SourceFile;
use crate::pattern::Loaded;
use crate::pattern::directives::Directive;
use crate::pattern::model::{IncludedDirective, Step, StepKind};
use crate::span::Span;

/// The directives of a loaded pattern file.
pub fn directives_of(loaded: &Loaded) -> &[Directive] {
    match loaded {
        Loaded::Yaml(p) => &p.meta.directives,
        Loaded::OrgChart(p) => &p.meta.directives,
        Loaded::Prism(p) => &p.meta.directives,
    }
}

/// A directive reached through a step of the pattern being compiled.
pub struct Reached<'a> {
    /// The step of this pattern that includes the pattern (`pattern: ./child.yaml`).
    pub step: &'a str,
    /// The span of its `pattern` value, in this pattern's file.
    pub span: Span,
    /// The directive, in its own file.
    pub included: &'a IncludedDirective,
}

/// Every licensed directive that a loaded pattern brings in through its steps, at any depth.
pub fn reached(loaded: &Loaded) -> Vec<Reached<'_>> {
    fn walk<'a>(steps: &'a [Step], out: &mut Vec<Reached<'a>>) {
        for step in steps {
            match &step.kind {
                StepKind::Pattern {
                    resolved: Some(r),
                    span,
                    ..
                } => out.extend(r.directives.iter().map(|included| Reached {
                    step: &step.id.value,
                    span: *span,
                    included,
                })),
                StepKind::Parallel(inner)
                | StepKind::Loop { steps: inner, .. }
                | StepKind::Batch { task: inner, .. } => walk(inner, out),
                StepKind::Switch { cases, .. } => {
                    for c in cases {
                        if let crate::pattern::model::Jump::Inline(s) = &c.jump {
                            walk(std::slice::from_ref(s.as_ref()), out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    if let Loaded::Yaml(p) = loaded {
        walk(&p.steps, &mut out);
    }
    out
}

/// The licensed directives a pattern carries when another includes it: its own (in its file
/// at `path`) and those it reaches through its own steps.
pub fn carried(loaded: &Loaded, path: &Path, text: &str) -> Vec<IncludedDirective> {
    let file = SourceFile::new(path.display().to_string(), text);
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    let mut out: Vec<IncludedDirective> = directives_of(loaded)
        .iter()
        .map(|d| IncludedDirective {
            directive: d.clone(),
            file: file.clone(),
            through: Vec::new(),
        })
        .collect();
    for r in reached(loaded) {
        let mut deeper = r.included.clone();
        deeper
            .through
            .insert(0, format!("step `{}` of {name}", r.step));
        out.push(deeper);
    }
    out
}
