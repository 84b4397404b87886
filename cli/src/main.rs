//! The `prism` command: compile, check, run and format Prism programs and patterns.
//!
//! Exit codes: 0 success, 1 runtime error, 2 compile error (or bad usage).

mod commands;
mod format;
mod report;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// mimalloc: the toolchain makes many small allocations (syntax trees, values, records).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Prism toolchain.
#[derive(Parser)]
#[command(
    name = "prism",
    version,
    about = "The Prism toolchain: run, check, build and format Prism programs and patterns"
)]
struct Cli {
    /// When to colour diagnostics: `auto` (a terminal, unless `NO_COLOR` is set or
    /// `TERM=dumb`; `FORCE_COLOR` forces it), `always` or `never`.
    #[arg(long, value_enum, global = true, default_value_t = report::ColorChoice::Auto)]
    color: report::ColorChoice,
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
    /// Start an interactive prompt (reads lines from standard input when it is not a terminal).
    Repl(commands::repl::ReplArgs),
    /// Generate documentation from the command's definition (`__doc cli` writes docs/cli.md).
    #[command(name = "__doc", hide = true)]
    Doc(commands::doc::DocArgs),
    /// Run scheduled patterns on time until stopped (needs `scheduled_patterns`).
    Serve(commands::serve::ServeArgs),
    /// Run pattern workflows and agent calls for a Temporal server (needs
    /// `distributed_execution`; see docs/distributed.md).
    Worker(commands::temporal::WorkerArgs),
    /// Show, verify, install or issue license keys.
    #[command(subcommand)]
    License(commands::license::LicenseCommand),
    /// List persisted runs (`history [PATTERN]`) or show one (`history show ID`).
    History(commands::history::HistoryArgs),
    /// Publish a pattern version to the store.
    Publish(commands::publish::PublishArgs),
    /// List the published versions of a pattern.
    Versions(commands::versions::VersionsArgs),
    /// Make a published version the active one.
    Rollback(commands::rollback::RollbackArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(commands::completions::CompletionsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    report::set_color(cli.color);
    prism_grpc::install();
    match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Worker(args) => commands::temporal::worker(args),
        Command::License(cmd) => commands::license::run(cmd),
        Command::History(args) => commands::history::run(args),
        Command::Publish(args) => commands::publish::run(args),
        Command::Versions(args) => commands::versions::run(args),
        Command::Rollback(args) => commands::rollback::run(args),
        Command::Fmt(args) => commands::fmt::run(args),
        Command::Lsp(args) => commands::lsp::run(args),
        Command::Repl(args) => commands::repl::run(args),
        Command::Doc(args) => commands::doc::run(args, Cli::command()),
        Command::Completions(args) => commands::completions::run(args, Cli::command()),
    }
}
