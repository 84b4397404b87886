//! The `LanguageServer` implementation: keeps documents in sync, publishes diagnostics, and
//! hands each request to its handler. A handler that panics answers "no result" instead of
//! taking the server down.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::RwLock;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::document::{DocKind, Document, uri_path};
use crate::handlers;
use crate::state::State;

/// The Prism language server.
pub struct Backend {
    client: Client,
    state: RwLock<State>,
}

impl Backend {
    /// A server that talks to `client`.
    pub fn new(client: Client) -> Self {
        Backend {
            client,
            state: RwLock::new(State::new()),
        }
    }

    /// Runs a read-only handler; a panic becomes `None`.
    fn read<R>(&self, f: impl FnOnce(&State) -> Option<R>) -> Option<R> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        catch_unwind(AssertUnwindSafe(|| f(&state))).unwrap_or(None)
    }

    /// Updates the state; a panic leaves it as it was before the panic.
    fn write(&self, f: impl FnOnce(&mut State)) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let _ = catch_unwind(AssertUnwindSafe(|| f(&mut state)));
    }

    /// Computes and sends the diagnostics of one document.
    async fn publish(&self, uri: Uri) {
        let computed = self.read(|s| {
            let doc = s.doc(&uri)?;
            Some((handlers::diagnostics::lsp_diagnostics(doc), doc.version))
        });
        if let Some((diags, version)) = computed {
            self.client
                .publish_diagnostics(uri, diags, Some(version))
                .await;
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .and_then(|f| uri_path(&f.uri));
        self.write(|s| s.root = root);
        Ok(InitializeResult {
            capabilities: handlers::capabilities(),
            server_info: Some(ServerInfo {
                name: "prism-lsp".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {}

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let d = params.text_document;
        let uri = d.uri.clone();
        self.write(|s| {
            let doc = Document::new(
                d.uri.clone(),
                &d.language_id,
                d.text,
                d.version,
                &s.options,
                s.license,
            );
            s.docs.insert(d.uri, doc);
        });
        self.publish(uri).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri.clone();
        self.write(|s| {
            let (options, license) = (s.options.clone(), s.license);
            if let Some(doc) = s.docs.get_mut(&uri) {
                doc.apply(
                    params.content_changes,
                    params.text_document.version,
                    &options,
                    license,
                );
            }
        });
        self.publish(uri).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let was_shown = self.read(|s| s.doc(&uri).map(|d| d.kind != DocKind::Other));
        self.write(|s| {
            s.docs.remove(&uri);
        });
        if was_shown == Some(true) {
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        Ok(self.read(|s| handlers::hover::hover(s, &params)))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(self.read(|s| handlers::completion::completion(s, &params)))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        Ok(self.read(|s| handlers::definition::definition(s, &params)))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        Ok(self.read(|s| handlers::references::references(s, &params)))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        Ok(self.read(|s| handlers::rename::prepare(s, &params)))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let result = self.read(|s| Some(handlers::rename::rename(s, &params)));
        match result {
            Some(Ok(edit)) => Ok(edit),
            Some(Err(message)) => Err(tower_lsp_server::jsonrpc::Error::invalid_params(message)),
            None => Ok(None),
        }
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        Ok(self.read(|s| handlers::symbols::document_symbols(s, &params)))
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        Ok(self.read(|s| handlers::symbols::workspace_symbols(s, &params)))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        Ok(self.read(|s| handlers::folding::folding_ranges(s, &params)))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        Ok(self.read(|s| handlers::semantic_tokens::full(s, &params)))
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        Ok(self.read(|s| handlers::signature_help::signature_help(s, &params)))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        Ok(self.read(|s| handlers::formatting::formatting(s, &params)))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        Ok(self.read(|s| handlers::inlay_hints::inlay_hints(s, &params)))
    }
}
