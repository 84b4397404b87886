//! One module per subcommand.

pub mod build;
pub mod check;
pub mod compile;
pub mod completions;
pub mod doc;
pub mod fmt;
pub mod history;
pub mod license;
pub mod lsp;
pub mod pattern_store;
pub mod publish;
pub mod registry;
pub mod repl;
pub mod repl_input;
pub mod rollback;
pub mod run;
pub mod run_pattern;
pub mod serve;
pub mod serve_temporal;
pub mod temporal;
pub mod versions;
