//! Open documents: their text (kept in sync incrementally), line index and analysis.

use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use prism_compiler::analysis::Analysis;
use prism_compiler::driver::{self, Unit};
use prism_compiler::pattern::CompileOptions;
use prism_license::License;

use crate::position::LineIndex;

/// What an open document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A Prism program (possibly an annotated pattern).
    Prism,
    /// A YAML pattern (top-level `name` and a key only patterns have).
    YamlPattern,
    /// An agents file (a top-level `agents:` list): checked like `prism check` does.
    Agents,
    /// Any other file (other YAML): ignored.
    Other,
}

/// One open document.
#[derive(Debug, Clone)]
pub struct Document {
    pub uri: Uri,
    pub text: String,
    pub version: i32,
    pub lines: LineIndex,
    pub kind: DocKind,
    /// The document compiled as `prism check` compiles a file (on each change; `None` for
    /// other files).
    pub unit: Option<Arc<Unit>>,
    /// The analysis of a Prism document (from its unit).
    pub analysis: Option<Arc<Analysis>>,
}

impl Document {
    /// A document with its first text, compiled with `options` under `license`.
    pub fn new(
        uri: Uri,
        language: &str,
        text: String,
        version: i32,
        options: &CompileOptions,
        license: &License,
    ) -> Self {
        let mut d = Document {
            kind: kind_of(&uri, language, &text),
            uri,
            lines: LineIndex::new(&text),
            text,
            version,
            unit: None,
            analysis: None,
        };
        d.refresh(options, license);
        d
    }

    /// Applies edits in order (a change without a range replaces the whole text). Ranges
    /// outside the text are clamped, never trusted.
    pub fn apply(
        &mut self,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        options: &CompileOptions,
        license: &License,
    ) {
        for c in changes {
            match c.range {
                None => self.text = c.text,
                Some(r) => {
                    let start = self.lines.offset(&self.text, r.start);
                    let end = self.lines.offset(&self.text, r.end).max(start);
                    self.text.replace_range(start..end, &c.text);
                }
            }
            self.lines = LineIndex::new(&self.text);
        }
        self.version = version;
        if self.kind != DocKind::Prism {
            self.kind = kind_of(&self.uri, "", &self.text);
        }
        self.refresh(options, license);
    }

    /// Compiles the document through the compiler's driver, as `prism check` does.
    fn refresh(&mut self, options: &CompileOptions, license: &License) {
        self.unit = (self.kind != DocKind::Other).then(|| {
            let path = compile_path(&self.uri, self.kind);
            Arc::new(driver::compile(&path, &self.text, options, license))
        });
        self.analysis = match (&self.unit, self.kind) {
            (Some(u), DocKind::Prism) => Some(match &u.analysis {
                Some(a) => a.clone(),
                // A `.prism` file the driver read as a pattern that failed to load.
                None => Arc::new(Analysis::new(&self.text)),
            }),
            _ => None,
        };
    }

    /// The file path of a `file:` URI.
    pub fn path(&self) -> Option<PathBuf> {
        uri_path(&self.uri)
    }
}

/// The local path of a `file:` URI.
pub fn uri_path(uri: &Uri) -> Option<PathBuf> {
    if uri.scheme().as_str() != "file" {
        return None;
    }
    uri.to_file_path().map(|p| p.into_owned())
}

/// A path for compiling: the real one, or a made-up one with the right extension.
pub fn compile_path(uri: &Uri, kind: DocKind) -> PathBuf {
    uri_path(uri).unwrap_or_else(|| {
        PathBuf::from(match kind {
            DocKind::Prism => "untitled.prism",
            _ => "untitled.yaml",
        })
    })
}

fn kind_of(uri: &Uri, language: &str, text: &str) -> DocKind {
    let path = uri.path().as_str().to_ascii_lowercase();
    if language == "prism" || path.ends_with(".prism") {
        DocKind::Prism
    } else if language == "yaml" || path.ends_with(".yaml") || path.ends_with(".yml") {
        use prism_compiler::agents_file::{YamlContent, is_agents_file_name, yaml_content};
        let named = uri_path(uri).is_some_and(|p| is_agents_file_name(&p));
        match yaml_content(text) {
            _ if named => DocKind::Agents,
            YamlContent::Pattern => DocKind::YamlPattern,
            YamlContent::Agents => DocKind::Agents,
            YamlContent::Other => DocKind::Other,
        }
    } else {
        DocKind::Other
    }
}
