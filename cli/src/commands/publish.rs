//! `prism publish FILE`: store a pattern version (name, semver version, content hash, plan,
//! source, author, time) and make it the active one; `keepHistory` prunes old versions.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use prism_compiler::pattern::CompileOptions;
use prism_compiler::pattern::directives::DirectiveKind;
use prism_compiler::plan::Plan;
use prism_license::License;
use prism_store::{NewVersion, PublishOutcome, Store, now_ms};
use serde_json::{Value, json};

use super::compile::{FileKind, compile};
use super::pattern_store::{fail, open, require_command};
use crate::report::{EXIT_COMPILE, print_diagnostics};

/// Arguments of `prism publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The pattern file (YAML or annotated `.prism`).
    pub file: PathBuf,
    /// Who publishes (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// The store (`sqlite:PATH` or `postgres://…`; default: $PRISM_STORE, else
    /// `<data dir>/prism/prism.db`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Print what happened as JSON.
    #[arg(long)]
    pub json: bool,
}

fn author(flag: Option<String>) -> String {
    flag.filter(|a| !a.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("USERNAME").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Runs `prism publish`.
pub fn run(args: PublishArgs) -> ExitCode {
    if let Err(code) = require_command("publish") {
        return code;
    }
    let (plan, text) = match publishable_plan(&args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let version = match semver::Version::parse(plan.meta.version.trim()) {
        Ok(v) => v,
        Err(_) => {
            eprintln!(
                "error: `version` must be semver to publish (like 1.2.0), found `{}`",
                plan.meta.version
            );
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let keep_history = plan
        .directives()
        .iter()
        .find(|d| d.kind == DirectiveKind::Versioning)
        .and_then(|d| d.config.get("keepHistory"))
        .and_then(Value::as_u64);
    let file_name = args.file.file_name().map_or_else(
        || "pattern.yaml".to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let new = NewVersion {
        name: plan.meta.name.clone(),
        version,
        content_hash: plan.meta.source_hash.clone(),
        plan: plan.to_json(),
        source: text,
        file_name,
        author: author(args.author),
        published_at_ms: now_ms(),
    };
    let store = match open(args.store.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match store.publish(&new, keep_history) {
        Ok(outcome) => report(&new, outcome, keep_history, &store, args.json),
        Err(e) => fail(&e),
    }
}

/// The pattern file compiled, with its text: its diagnostics printed (unless `--json` and
/// none is an error), and an exit code when it is a program or does not compile.
fn publishable_plan(args: &PublishArgs) -> Result<(Arc<Plan>, String), ExitCode> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", args.file.display());
        ExitCode::from(EXIT_COMPILE)
    })?;
    let compiled = compile(
        &args.file,
        &text,
        &CompileOptions::default(),
        License::current(),
    );
    if compiled.kind == FileKind::Program {
        eprintln!(
            "error: {} is a program, not a pattern: `prism publish` takes a YAML pattern or a `.prism` file with a pattern header",
            args.file.display()
        );
        return Err(ExitCode::from(EXIT_COMPILE));
    }
    let has_errors = compiled.errors() > 0;
    if has_errors || !args.json {
        print_diagnostics(&compiled.diagnostics, &compiled.file);
    }
    match compiled.plan.filter(|_| !has_errors) {
        Some(plan) => Ok((plan, text)),
        None => Err(ExitCode::from(EXIT_COMPILE)),
    }
}

/// Prints what publishing did, as a sentence or (`--json`) as an object.
fn report(
    new: &NewVersion,
    outcome: PublishOutcome,
    keep_history: Option<u64>,
    store: &Store,
    json: bool,
) -> ExitCode {
    let id = format!("{}@{}", new.name, new.version);
    if json {
        let (status, pruned) = match &outcome {
            PublishOutcome::Published { pruned } => ("published", pruned.clone()),
            PublishOutcome::Unchanged => ("unchanged", Vec::new()),
        };
        let out = json!({
            "status": status, "name": new.name, "version": new.version.to_string(),
            "contentHash": new.content_hash, "author": new.author, "pruned": pruned,
            "store": store.location().to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    match outcome {
        PublishOutcome::Unchanged => {
            println!("{id} is already published with the same content; nothing to do");
        }
        PublishOutcome::Published { pruned } => {
            println!(
                "published {id} ({}) by {} to {}; it is now the active version",
                new.content_hash,
                new.author,
                store.location()
            );
            if !pruned.is_empty() {
                println!(
                    "removed {} (keepHistory: {})",
                    pruned.join(", "),
                    keep_history.unwrap_or_default()
                );
            }
        }
    }
    ExitCode::SUCCESS
}
