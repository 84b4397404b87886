//! `prism rollback NAME VERSION`: make a stored version the active one, which
//! `prism run NAME` runs.

use std::process::ExitCode;

use clap::Args;

use super::pattern_store::{fail, open, require_command};
use crate::report::EXIT_RUNTIME;

/// Arguments of `prism rollback`.
#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The pattern's name.
    pub name: String,
    /// The published version to make active.
    pub version: String,
    /// The store (`sqlite:PATH` or `postgres://…`; default: $PRISM_STORE, else
    /// `<data dir>/prism/prism.db`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// Runs `prism rollback`.
pub fn run(args: RollbackArgs) -> ExitCode {
    if let Err(code) = require_command("rollback") {
        return code;
    }
    let store = match open(args.store.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let before = match store.versions(&args.name) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    match store.set_active(&args.name, &args.version) {
        Ok(true) => {
            let was = before
                .iter()
                .find(|v| v.active)
                .map_or(String::new(), |v| format!(" (was {})", v.version));
            println!(
                "{}@{} is now the active version{was}",
                args.name,
                args.version.trim()
            );
            ExitCode::SUCCESS
        }
        Ok(false) => {
            if before.is_empty() {
                eprintln!(
                    "error: no published versions of `{}` in {}",
                    args.name,
                    store.location()
                );
            } else {
                let list: Vec<&str> = before.iter().map(|v| v.version.as_str()).collect();
                eprintln!(
                    "error: {}@{} is not published; published versions: {}",
                    args.name,
                    args.version.trim(),
                    list.join(", ")
                );
            }
            ExitCode::from(EXIT_RUNTIME)
        }
        Err(e) => fail(&e),
    }
}
