//! One module per subcommand.

pub mod build;
pub mod check;
pub mod compile;
pub mod fmt;
pub mod license;
pub mod lsp;
pub mod run;
pub mod run_pattern;
pub mod serve;
