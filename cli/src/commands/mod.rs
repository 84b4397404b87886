//! One module per subcommand.

pub mod check;
pub mod fmt;
pub mod lsp;
pub mod run;
pub mod run_pattern;
