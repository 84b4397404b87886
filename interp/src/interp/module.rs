//! Modules: `import … from "./m.prism"` / `"std/name"`, `export`, `export default`.
//!
//! A relative path resolves from the importing file's directory (or `Options::base_dir`). Each
//! module runs once, in its own scope nested in the globals; importing a module that is still
//! loading is a cycle and an error naming it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use prism_compiler::SourceFile;
use prism_compiler::ast::{ExprKind, Ident, ImportSpec, Name, ReExport, Stmt, StmtKind};
use prism_compiler::span::Span;

use super::Interpreter;
use crate::error::{Eval, Flow, fail};
use crate::scope::{Env, Scope};
use crate::value::{Map, ObjectRef, Value};

/// Modules loaded so far and the chain being loaded.
#[derive(Default)]
pub(crate) struct ModuleRegistry {
    loaded: HashMap<String, ObjectRef>,
    loading: Vec<String>,
}

impl Interpreter {
    pub(crate) fn exec_import(
        &mut self,
        default: Option<&Ident>,
        namespace: Option<&Ident>,
        names: &[ImportSpec],
        source: &str,
        span: Span,
        env: &Env,
    ) -> Eval<()> {
        let exports = self.load_module(source, span)?;
        if let Some(ns) = namespace {
            env.define(&ns.name, Value::Object(exports.clone()));
        }
        if let Some(d) = default {
            let v = exports.borrow().get("default").cloned();
            match v {
                Some(v) => env.define(&d.name, v),
                None => return fail(format!("Module '{source}' has no default export"), span),
            }
        }
        for spec in names {
            let v = exports.borrow().get(&*spec.imported.name).cloned();
            match v {
                Some(v) => env.define(&spec.local.name, v),
                None => {
                    return fail(
                        format!("Module '{source}' does not export '{}'", spec.imported.name),
                        spec.imported.span,
                    );
                }
            }
        }
        Ok(())
    }

    /// `export {a, b as c} from "m"` / `export * from "m"` (every export but the default).
    pub(crate) fn exec_re_export(&mut self, re: &ReExport) -> Eval<()> {
        let exports = self.load_module(&re.source, re.source_span)?;
        let picked: Vec<(Name, Value)> = match &re.names {
            None => exports
                .borrow()
                .iter()
                .filter(|(k, _)| &***k != "default")
                .map(|(k, v)| (Name::from(&**k), v.clone()))
                .collect(),
            Some(specs) => {
                let mut out = Vec::with_capacity(specs.len());
                for spec in specs {
                    let v = exports.borrow().get(&*spec.local.name).cloned();
                    match v {
                        Some(v) => out.push((spec.exported.name.clone(), v)),
                        None => {
                            return fail(
                                format!(
                                    "Module '{}' does not export '{}'",
                                    re.source, spec.local.name
                                ),
                                spec.local.span,
                            );
                        }
                    }
                }
                out
            }
        };
        for (name, v) in picked {
            self.export(&name, v);
        }
        Ok(())
    }

    fn load_module(&mut self, source: &str, span: Span) -> Eval<ObjectRef> {
        let (key, text) = self.resolve_module(source, span)?;
        if let Some(exports) = self.modules.loaded.get(&key) {
            return Ok(exports.clone());
        }
        if let Some(pos) = self.modules.loading.iter().position(|k| *k == key) {
            let mut cycle: Vec<&str> = self.modules.loading[pos..]
                .iter()
                .map(String::as_str)
                .collect();
            cycle.push(&key);
            return fail(format!("Circular import: {}", cycle.join(" -> ")), span);
        }
        let parsed = prism_compiler::parse(&text);
        let errors: Vec<String> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        if !errors.is_empty() {
            return fail(
                format!("Syntax error in module '{source}': {}", errors.join("; ")),
                span,
            );
        }
        self.files
            .push(SourceFile::new(key.as_str(), text.as_str()));
        let file = self.files.len() - 1;
        let exports: ObjectRef = Rc::new(std::cell::RefCell::new(Map::default()));
        let env = Scope::child(&self.globals);
        self.modules.loading.push(key.clone());
        let saved_file = std::mem::replace(&mut self.file, file);
        let saved_exports = self.exports.replace(exports.clone());
        let result = self.exec_program(&parsed.program.stmts, &env);
        self.exports = saved_exports;
        self.file = saved_file;
        self.modules.loading.pop();
        if let Err(flow) = result {
            let mut e = flow.into_error();
            if e.file.is_none() {
                e.file = Some(key.clone());
            }
            return Err(Flow::Error(e));
        }
        self.modules.loaded.insert(key, exports.clone());
        Ok(exports)
    }

    /// The cache key and source text of an import.
    fn resolve_module(&self, source: &str, span: Span) -> Eval<(String, String)> {
        if let Some(name) = source.strip_prefix("std/") {
            return match prism_compiler::stdlib::module_source(name) {
                Some(text) => Ok((source.to_string(), text.to_string())),
                None => fail(format!("Cannot find module '{source}'"), span),
            };
        }
        let base: PathBuf = self
            .files
            .get(self.file)
            .map(|f| {
                Path::new(&*f.name)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default()
            })
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| self.base_dir.clone())
            .unwrap_or_default();
        let mut path = base.join(source);
        if path.extension().is_none() {
            path.set_extension("prism");
        }
        let key = path
            .canonicalize()
            .unwrap_or_else(|_| path.clone())
            .to_string_lossy()
            .into_owned();
        match prism_compiler::source::read_source(&path) {
            Ok(text) => Ok((key, text)),
            Err(e) => fail(format!("Cannot find module '{source}': {e}"), span),
        }
    }

    /// Records an export of the module being evaluated.
    pub(crate) fn export(&mut self, name: &str, v: Value) {
        if let Some(exports) = &self.exports {
            exports.borrow_mut().insert(name.into(), v);
        }
    }

    /// Exports every name an `export let/const/function` statement declared.
    pub(crate) fn export_declared(&mut self, stmt: &Stmt, env: &Env) {
        let mut names: Vec<Name> = Vec::new();
        match &stmt.kind {
            StmtKind::Decl { decls, .. } => {
                for d in decls {
                    let mut ids = Vec::new();
                    d.target.bound_names(&mut ids);
                    names.extend(ids.iter().map(|id| id.name.clone()));
                }
            }
            StmtKind::Function(f) => {
                if let Some(n) = &f.name {
                    names.push(n.name.clone());
                }
            }
            // `export name = value`
            StmtKind::Expr(e) => {
                if let ExprKind::Assign { target, .. } = &e.kind
                    && let ExprKind::Ident(n) = &target.kind
                {
                    names.push(n.clone());
                }
            }
            _ => {}
        }
        for n in names {
            if let Some(v) = env.lookup(&n) {
                self.export(&n, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{CaptureOutput, Interpreter, Options};

    fn run_file(dir: &std::path::Path, main: &str) -> String {
        let path = dir.join("main.prism");
        let _ = std::fs::write(&path, main);
        let name = path.to_string_lossy().into_owned();
        let main = main.to_string();
        crate::run_with_large_stack(move || {
            let parsed = prism_compiler::parse(&main);
            let file = prism_compiler::SourceFile::new(name.as_str(), main.as_str());
            let capture = CaptureOutput::new();
            let mut interp = Interpreter::new(Options {
                output: Box::new(capture.clone()),
                ..Options::default()
            });
            match interp.run_program(&parsed.program, &file) {
                Ok(_) => capture.stdout_text(),
                Err(e) => format!("{}ERROR: {e}\n", capture.stdout_text()),
            }
        })
    }

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("prism-modules-{tag}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    #[test]
    fn imports_named_default_and_renamed_exports_once() {
        let dir = temp_dir("basic");
        let _ = std::fs::write(
            dir.join("m.prism"),
            "print(\"loading m\")\nexport const a = 1\nexport function twice(x) { return x * 2 }\nlet hidden = 3\nexport { hidden as shown }\nexport default \"dflt\"\n",
        );
        let out = run_file(
            &dir,
            "import {a, twice, shown as s} from \"./m.prism\"\nimport d from \"./m\"\nimport * as ns from \"./m.prism\"\nprint(a, twice(4), s, d, ns.a)\n",
        );
        assert_eq!(out, "loading m\n1 8 3 dflt 1\n");
    }

    #[test]
    fn cycles_and_missing_names_are_errors() {
        let dir = temp_dir("cycle");
        let _ = std::fs::write(
            dir.join("a.prism"),
            "import {b} from \"./b.prism\"\nexport let a = 1\n",
        );
        let _ = std::fs::write(
            dir.join("b.prism"),
            "import {a} from \"./a.prism\"\nexport let b = 2\n",
        );
        let out = run_file(&dir, "import {a} from \"./a.prism\"\nprint(a)\n");
        assert!(out.contains("Circular import"), "{out}");
        assert!(
            out.contains("a.prism -> ") && out.contains("b.prism"),
            "{out}"
        );
        let out = run_file(&dir, "import {zzz} from \"./nothere.prism\"\n");
        assert!(out.contains("Cannot find module"), "{out}");
    }
}
