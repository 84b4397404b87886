//! Files beyond the current document: modules named by `import … from "./m.prism"`, and the
//! `.prism` files of the workspace folder (for references, rename and workspace symbols).
//! Open documents win over the files on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tower_lsp_server::ls_types::Uri;

use crate::document::uri_path;
use crate::position::LineIndex;
use crate::state::State;
use prism_compiler::analysis::Analysis;

/// Most files read from the workspace folder for one request.
const MAX_FILES: usize = 2000;

/// A Prism file and its analysis.
#[derive(Clone)]
pub struct Module {
    pub uri: Uri,
    pub text: String,
    pub lines: LineIndex,
    pub analysis: Arc<Analysis>,
}

/// The module `source` imported from the file at `from`.
pub fn resolve_import(state: &State, from: &Uri, source: &str) -> Option<Module> {
    let base = uri_path(from)?;
    let target = base.parent()?.join(source);
    let target = normalize(&target);
    let uri = Uri::from_file_path(&target)?;
    load(state, &uri, &target)
}

/// The module at `uri`: the open document, else the file on disk.
pub fn load(state: &State, uri: &Uri, path: &Path) -> Option<Module> {
    if let Some(doc) = state.doc(uri) {
        let analysis = doc.analysis.clone()?;
        return Some(Module {
            uri: uri.clone(),
            text: doc.text.clone(),
            lines: doc.lines.clone(),
            analysis,
        });
    }
    let text = std::fs::read_to_string(path).ok()?;
    Some(Module {
        uri: uri.clone(),
        lines: LineIndex::new(&text),
        analysis: Arc::new(Analysis::new(&text)),
        text,
    })
}

/// Every Prism module of the workspace: open Prism documents and the `.prism` files under
/// the workspace folder.
pub fn modules(state: &State) -> Vec<Module> {
    let mut out: Vec<Module> = state
        .docs
        .values()
        .filter_map(|d| {
            Some(Module {
                uri: d.uri.clone(),
                text: d.text.clone(),
                lines: d.lines.clone(),
                analysis: d.analysis.clone()?,
            })
        })
        .collect();
    if let Some(root) = &state.root {
        let mut files = Vec::new();
        walk(root, &mut files);
        for f in files {
            let Some(uri) = Uri::from_file_path(&f) else {
                continue;
            };
            if state.docs.contains_key(&uri) {
                continue;
            }
            if let Some(m) = load(state, &uri, &f) {
                out.push(m);
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&p, out);
            }
        } else if name.ends_with(".prism") {
            out.push(p);
        }
    }
}

/// Removes `.` and `..` components without touching the file system.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
