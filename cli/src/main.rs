//! The `prism` command: compile, check, run and format Prism programs and patterns.
//!
//! Exit codes: 0 success, 1 runtime error, 2 compile error (or bad usage).

mod commands;
mod format;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The Prism toolchain.
#[derive(Parser)]
#[command(
    name = "prism",
    version,
    about = "The Prism toolchain: run, check, build and format Prism programs and patterns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Prism program (or `-e CODE`).
    Run(commands::run::RunArgs),
    /// Report every diagnostic of the given files; exits non-zero on any error.
    Check(commands::check::CheckArgs),
    /// Compile programs and patterns, report diagnostics (human, JSON or GitHub), emit plans.
    Build(commands::build::BuildArgs),
    /// Format Prism files in place (`--check`: list the files that would change; `-`: stdin).
    Fmt(commands::fmt::FmtArgs),
    /// Run the language server over standard input and output.
    Lsp(commands::lsp::LspArgs),
    /// Run scheduled patterns on time until stopped (needs `scheduled_patterns`).
    Serve(commands::serve::ServeArgs),
    /// Show, verify, install or issue license keys.
    #[command(subcommand)]
    License(commands::license::LicenseCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::License(cmd) => commands::license::run(cmd),
        Command::Fmt(args) => commands::fmt::run(args),
        Command::Lsp(args) => commands::lsp::run(args),
    }
}
