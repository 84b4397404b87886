//! `prism history [PATTERN]` lists persisted execution records, newest first;
//! `prism history show ID` prints one (the full record with `--json`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use prism_store::{RecordQuery, RecordSummary, StoredRecord, format_time_ms};
use serde_json::Value;

use super::pattern_store::{fail, human_duration, open, require_command, table};
use crate::report::EXIT_RUNTIME;

/// Arguments of `prism history`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    /// Only this pattern's runs.
    pub pattern: Option<String>,
    /// At most this many runs (newest first).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: u32,
    /// Print JSON (a list of summaries).
    #[arg(long)]
    pub json: bool,
    /// The store (`sqlite:PATH` or `postgres://…`; default: $PRISM_STORE, else
    /// `<data dir>/prism/prism.db`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// `prism history show`.
#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Show one run (an id, or a unique prefix of one).
    Show(ShowArgs),
}

/// Arguments of `prism history show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The run's id (or a unique prefix).
    pub id: String,
    /// Print the stored execution record as JSON.
    #[arg(long)]
    pub json: bool,
    /// The store (as for `prism history`).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// Runs `prism history`.
pub fn run(args: HistoryArgs) -> ExitCode {
    if let Err(code) = require_command("history") {
        return code;
    }
    match args.command {
        Some(HistoryCommand::Show(show)) => run_show(show),
        None => run_list(args),
    }
}

fn run_list(args: HistoryArgs) -> ExitCode {
    let store = match open(args.store.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let query = RecordQuery {
        pattern: args.pattern.clone(),
        limit: args.limit,
    };
    let rows = match store.list_records(&query) {
        Ok(rows) => rows,
        Err(e) => return fail(&e),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        match &args.pattern {
            Some(p) => eprintln!("no runs of `{p}` in {}", store.location()),
            None => eprintln!("no runs in {}", store.location()),
        }
        return ExitCode::SUCCESS;
    }
    print!("{}", list_table(&rows));
    ExitCode::SUCCESS
}

/// The table `prism history` prints.
pub fn list_table(rows: &[RecordSummary]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.pattern.clone(),
                r.version.clone(),
                r.status.clone(),
                r.confidence.map_or("—".into(), |c| format!("{c:.3}")),
                format_time_ms(r.started_at_ms),
                r.duration_ms.map_or("—".into(), human_duration),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "PATTERN",
            "VERSION",
            "STATUS",
            "CONFIDENCE",
            "STARTED",
            "DURATION",
        ],
        &cells,
    )
}

fn run_show(args: ShowArgs) -> ExitCode {
    let store = match open(args.store.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let found = match store.get_record(&args.id) {
        Ok(Some(r)) => r,
        Ok(None) => {
            eprintln!("error: no run `{}` in {}", args.id, store.location());
            return ExitCode::from(EXIT_RUNTIME);
        }
        Err(e) => return fail(&e),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&found.record).unwrap_or_default()
        );
    } else {
        print!("{}", show_text(&found));
    }
    ExitCode::SUCCESS
}

/// What `prism history show ID` prints.
pub fn show_text(found: &StoredRecord) -> String {
    let s = &found.summary;
    let r = &found.record;
    let mut out = String::new();
    kv(&mut out, "Run:", s.id.clone());
    let source = r
        .pointer("/pattern/source")
        .and_then(Value::as_str)
        .map_or(String::new(), |p| format!(" ({p})"));
    kv(
        &mut out,
        "Pattern:",
        format!("{} {}{source}", s.pattern, s.version),
    );
    kv(&mut out, "Status:", s.status.clone());
    let trigger = match r.pointer("/trigger/scheduledFor").and_then(Value::as_str) {
        Some(at) => format!("{} (scheduled for {at})", s.trigger),
        None => s.trigger.clone(),
    };
    kv(&mut out, "Trigger:", trigger);
    kv(&mut out, "Started:", format_time_ms(s.started_at_ms));
    if let Some(end) = s.ended_at_ms {
        kv(&mut out, "Ended:", format_time_ms(end));
    }
    if let Some(d) = s.duration_ms {
        kv(&mut out, "Duration:", human_duration(d));
    }
    if let Some(c) = s.confidence {
        kv(&mut out, "Confidence:", format!("{c:.3}"));
    }
    if let Some(value) = r.pointer("/result/value") {
        let text = match value {
            Value::String(t) => t.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        kv(&mut out, "Result:", text.replace('\n', "\n            "));
    }
    if let Some(m) = r.get("metrics") {
        let n = |k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
        kv(
            &mut out,
            "Agents:",
            format!(
                "{} selected, {} succeeded, {} failed",
                n("agentsSelected"),
                n("agentsSucceeded"),
                n("agentsFailed")
            ),
        );
    }
    if let Some(steps) = r
        .get("steps")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
    {
        out.push_str("Steps:\n");
        for st in steps {
            let get = |k: &str| st.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
            let conf = st
                .get("confidence")
                .and_then(Value::as_f64)
                .map_or(String::new(), |c| format!(" {c:.3}"));
            let err = st
                .get("error")
                .and_then(Value::as_str)
                .map_or(String::new(), |e| format!(" — {e}"));
            out.push_str(&format!("  {} {}{conf}{err}\n", get("id"), get("status")));
        }
    }
    if let Some(e) = r.get("error").filter(|e| !e.is_null()) {
        let code = e.get("code").and_then(Value::as_str).unwrap_or("error");
        let msg = e.get("message").and_then(Value::as_str).unwrap_or_default();
        out.push_str(&format!("{:<12}[{code}] {msg}\n", "Error:"));
    }
    out
}

fn kv(out: &mut String, key: &str, value: String) {
    out.push_str(&format!("{key:<12}{value}\n"));
}
