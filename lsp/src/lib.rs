//! The Prism language server (`prism lsp`): diagnostics as you type, hover, completion,
//! navigation, rename, symbols, folding, semantic tokens, signature help, formatting and
//! confidence inlay hints for `.prism` programs, and diagnostics and completion for YAML
//! patterns. Built on `tower-lsp-server`; every request handler lives in [`handlers`].

pub mod convert;
pub mod diagnostics;
pub mod document;
pub mod handlers;
pub mod position;
mod server;
pub mod state;
mod transport;
pub mod workspace;
pub mod yaml;

pub use server::Backend;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

/// Serves the language server over a byte stream pair until the client sends `exit` or
/// closes the input.
pub async fn serve<I, O>(input: I, output: O)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let (service, socket) = LspService::new(Backend::new);
    let (pipe_in, pipe_out) = tokio::io::duplex(1 << 20);
    let server = Server::new(pipe_out, output, socket).serve(service);
    let pump = transport::pump(input, pipe_in);
    tokio::pin!(server, pump);
    tokio::select! {
        () = &mut server => return,
        () = &mut pump => {}
    }
    // The input ended: the server sees the end of the pipe and finishes.
    server.await;
}

/// Stack of the server thread: syntax trees of deeply nested (or malformed) documents are
/// walked recursively.
const STACK_SIZE: usize = 256 << 20;

/// Runs the server on standard input and output (what `prism lsp` does).
pub fn run_stdio() -> std::io::Result<()> {
    let worker = std::thread::Builder::new()
        .name("prism-lsp".to_string())
        .stack_size(STACK_SIZE)
        .spawn(|| -> std::io::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout()));
            // Standard input is read on a blocking thread that only returns when the client
            // closes the pipe; after `exit` the process must end without waiting for that.
            runtime.shutdown_background();
            Ok(())
        })?;
    worker
        .join()
        .map_err(|_| std::io::Error::other("the language server thread panicked"))?
}
