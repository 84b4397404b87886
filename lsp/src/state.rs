//! The server's state: open documents, the workspace root, compile options and the license.

use std::collections::HashMap;
use std::path::PathBuf;

use prism_compiler::pattern::CompileOptions;
use prism_license::License;
use tower_lsp_server::ls_types::Uri;

use crate::document::Document;

/// Everything the request handlers read.
pub struct State {
    pub docs: HashMap<Uri, Document>,
    /// The first workspace folder, searched by workspace symbols and cross-file references.
    pub root: Option<PathBuf>,
    pub options: CompileOptions,
    pub license: &'static License,
}

impl State {
    /// An empty state with the license of the environment.
    pub fn new() -> Self {
        State {
            docs: HashMap::new(),
            root: None,
            options: CompileOptions::from_env(),
            license: License::current(),
        }
    }

    /// An open document.
    pub fn doc(&self, uri: &Uri) -> Option<&Document> {
        self.docs.get(uri)
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}
