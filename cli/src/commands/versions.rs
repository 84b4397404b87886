//! `prism versions NAME`: the published versions of a pattern, newest first, with the active
//! one marked.

use std::process::ExitCode;

use clap::Args;
use prism_store::{PatternVersion, format_time_ms};

use super::pattern_store::{fail, open, require_command, table};

/// Arguments of `prism versions`.
#[derive(Args, Debug)]
pub struct VersionsArgs {
    /// The pattern's name.
    pub name: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The store (`sqlite:PATH` or `postgres://…`; default: $PRISM_STORE, else
    /// `<data dir>/prism/prism.db`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// Runs `prism versions`.
pub fn run(args: VersionsArgs) -> ExitCode {
    if let Err(code) = require_command("versions") {
        return code;
    }
    let store = match open(args.store.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let versions = match store.versions(&args.name) {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&versions).unwrap_or_default()
        );
    } else if versions.is_empty() {
        eprintln!(
            "no published versions of `{}` in {}",
            args.name,
            store.location()
        );
    } else {
        print!("{}", versions_table(&versions));
    }
    ExitCode::SUCCESS
}

/// The table `prism versions` prints.
pub fn versions_table(versions: &[PatternVersion]) -> String {
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            vec![
                if v.active { "*" } else { "" }.to_string(),
                v.version.clone(),
                format_time_ms(v.published_at_ms),
                v.author.clone(),
                v.content_hash.chars().take(19).collect(),
            ]
        })
        .collect();
    table(&["", "VERSION", "PUBLISHED", "AUTHOR", "HASH"], &rows)
}
