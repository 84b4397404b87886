//! The standard library: Prism modules shipped inside the toolchain, importable as
//! `std/<name>`.
//!
//! Each module is a Prism source file under `stdlib/modules/` (with its tests in
//! `stdlib/tests/`), compiled into the binary. The interpreter's import resolver asks
//! [`module_source`] for `import … from "std/<name>"`; the checks ask [`check_imports`] so that
//! a misspelt module or name is reported before anything runs.

use crate::Diagnostic;
use crate::ast::{Program, StmtKind};

/// Every standard module: its name (as in `std/<name>`) and its source.
const MODULES: &[(&str, &str)] = &[
    (
        "confidence",
        include_str!("../../stdlib/modules/confidence.prism"),
    ),
    (
        "patterns",
        include_str!("../../stdlib/modules/patterns.prism"),
    ),
];

/// Diagnostic code of an import of a standard module that does not exist.
pub const UNKNOWN_MODULE: &str = "prism::import::unknown-module";
/// Diagnostic code of an import of a name a standard module does not export.
pub const UNKNOWN_NAME: &str = "prism::import::unknown-name";

/// The source of the standard module `std/<name>`, if there is one.
pub fn module_source(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names of the standard modules, sorted.
pub fn module_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = MODULES.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names
}

/// The names `std/<name>` exports (`default` for an `export default`), in source order.
pub fn exports(name: &str) -> Option<Vec<String>> {
    let source = module_source(name)?;
    Some(exported_names(&crate::parse(source).program))
}

/// The names a program exports, in source order.
fn exported_names(program: &Program) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in &program.stmts {
        match &stmt.kind {
            StmtKind::ExportDecl(inner) => match &inner.kind {
                StmtKind::Function(f) => {
                    if let Some(n) = &f.name {
                        out.push(n.name.to_string());
                    }
                }
                StmtKind::Decl { decls, .. } => {
                    for d in decls {
                        if let crate::ast::Pattern::Ident(id) = &d.target {
                            out.push(id.name.to_string());
                        }
                    }
                }
                _ => {}
            },
            StmtKind::ExportNames(specs) => {
                out.extend(specs.iter().map(|s| s.exported.name.to_string()));
            }
            StmtKind::ExportDefault(_) => out.push("default".to_string()),
            _ => {}
        }
    }
    out
}

/// Errors for the `std/…` imports of a program: a module that does not exist, or a name (or
/// default export) that its module does not export. Each error points at the offending string
/// or name and suggests the closest existing one.
pub fn check_imports(program: &Program) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for stmt in &program.stmts {
        let StmtKind::Import {
            default,
            names,
            source,
            source_span,
            ..
        } = &stmt.kind
        else {
            continue;
        };
        let Some(module) = source.strip_prefix("std/") else {
            continue;
        };
        let Some(exported) = exports(module) else {
            let known = module_names();
            let list = known
                .iter()
                .map(|n| format!("std/{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = match closest(module, known.iter().copied()) {
                Some(n) => format!("did you mean `std/{n}`? The standard modules are {list}"),
                None => format!("the standard modules are {list}"),
            };
            out.push(
                Diagnostic::error(
                    UNKNOWN_MODULE,
                    format!("there is no standard module `{source}`"),
                    *source_span,
                )
                .with_label("unknown standard module")
                .with_help(help),
            );
            continue;
        };
        if let Some(d) = default
            && !exported.iter().any(|e| e == "default")
        {
            out.push(
                Diagnostic::error(
                    UNKNOWN_NAME,
                    format!("`{source}` has no default export"),
                    d.span,
                )
                .with_label("no default export")
                .with_help(format!(
                    "standard modules have named exports only: import * as {} from \"{source}\", or import {{{}}} from \"{source}\"",
                    d.name,
                    exported.first().map(String::as_str).unwrap_or("name")
                )),
            );
        }
        for spec in names {
            let name = &*spec.imported.name;
            if exported.iter().any(|e| e == name) {
                continue;
            }
            let help = match closest(name, exported.iter().map(String::as_str)) {
                Some(n) => format!(
                    "did you mean `{n}`? `{source}` exports {}",
                    exported.join(", ")
                ),
                None => format!("`{source}` exports {}", exported.join(", ")),
            };
            out.push(
                Diagnostic::error(
                    UNKNOWN_NAME,
                    format!("`{source}` does not export `{name}`"),
                    spec.imported.span,
                )
                .with_label("not exported")
                .with_help(help),
            );
        }
    }
    out
}

/// The candidate most like `name`, if any is close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_parses_without_diagnostics_and_exports_something() {
        for name in module_names() {
            let source = module_source(name).unwrap_or_default();
            let parsed = crate::parse(source);
            let messages: Vec<&str> = parsed
                .diagnostics
                .iter()
                .map(|d| d.message.as_str())
                .collect();
            assert!(messages.is_empty(), "std/{name}: {messages:?}");
            let names = exports(name).unwrap_or_default();
            assert!(!names.is_empty(), "std/{name} exports nothing");
        }
    }

    #[test]
    fn exports_list_functions_and_constants() {
        let patterns = exports("patterns").unwrap_or_default();
        for name in [
            "majorityVote",
            "consensusVote",
            "confidenceCascade",
            "qualityGate",
        ] {
            assert!(patterns.iter().any(|n| n == name), "{name}: {patterns:?}");
        }
        let confidence = exports("confidence").unwrap_or_default();
        assert!(confidence.iter().any(|n| n == "HIGH"), "{confidence:?}");
        assert!(
            !patterns.iter().any(|n| n == "ballotOf"),
            "private helpers are not exported"
        );
        assert!(exports("nope").is_none());
    }

    fn errors(source: &str) -> Vec<(String, String, String)> {
        let parsed = crate::parse(source);
        check_imports(&parsed.program)
            .into_iter()
            .map(|d| {
                let span = d.primary_span();
                (
                    d.message.clone(),
                    source[span.start as usize..span.end as usize].to_string(),
                    d.help.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn unknown_modules_and_names_are_errors_at_their_spans() {
        let e = errors("import {majorityVote} from \"std/pattern\"\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "there is no standard module `std/pattern`");
        assert_eq!(e[0].1, "\"std/pattern\"");
        assert!(
            e[0].2.starts_with("did you mean `std/patterns`?"),
            "{}",
            e[0].2
        );

        let e = errors(
            "import {majorityVot, level as l, nothingLikeIt} from \"std/patterns\"\nimport {level} from \"std/confidence\"\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].1, "majorityVot");
        assert!(
            e[0].2.starts_with("did you mean `majorityVote`?"),
            "{}",
            e[0].2
        );
        assert_eq!(e[1].1, "level");
        assert_eq!(e[2].1, "nothingLikeIt");
        assert!(e[2].2.starts_with("`std/patterns` exports "), "{}", e[2].2);

        let e = errors("import votes from \"std/patterns\"\n");
        assert_eq!(e[0].0, "`std/patterns` has no default export");
        assert_eq!(e[0].1, "votes");
    }

    #[test]
    fn valid_and_relative_imports_pass() {
        assert!(errors("import {majorityVote as mv} from \"std/patterns\"\nimport * as c from \"std/confidence\"\nimport {x} from \"./local.prism\"\n").is_empty());
    }
}
