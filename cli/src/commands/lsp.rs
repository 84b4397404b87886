//! `prism lsp`: the language server over standard input and output.

use std::process::ExitCode;

use clap::Args;

/// Arguments of `prism lsp`.
#[derive(Args)]
pub struct LspArgs {
    /// Accepted for editor clients that pass it; standard input/output is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

/// Runs the language server until the client exits.
pub fn run(_args: LspArgs) -> ExitCode {
    match prism_lsp::run_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the language server stopped: {e}");
            ExitCode::from(1)
        }
    }
}
