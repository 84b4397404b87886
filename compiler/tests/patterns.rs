//! Compiles every file of `shared/patterns/` and checks it against `expect.tsv`.

use std::path::{Path, PathBuf};

use prism_compiler::pattern::{CompileOptions, CompileOutput, compile_file_with};
use serde_json::Value;

#[path = "patterns/shape.rs"]
mod shape;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/patterns")
}

struct Expect {
    path: String,
    accept: bool,
    code: String,
}

fn expectations() -> Vec<Expect> {
    let text = std::fs::read_to_string(corpus().join("expect.tsv")).expect("expect.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            Expect {
                path: cols.next().unwrap_or_default().to_string(),
                accept: cols.next() == Some("accept"),
                code: cols.next().unwrap_or_default().trim().to_string(),
            }
        })
        .collect()
}

fn compile(rel: &str) -> CompileOutput {
    let text = std::fs::read_to_string(corpus().join(rel)).expect("pattern file");
    compile_file_with(rel, &text, &CompileOptions::default())
}

#[test]
fn every_pattern_gives_its_expected_verdict() {
    let mut failures = Vec::new();
    let all = expectations();
    for e in &all {
        let out = compile(&e.path);
        let errors: Vec<String> = out
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        if e.accept {
            if !errors.is_empty() || out.plan.is_none() {
                failures.push(format!("{}: expected accept, got {errors:#?}", e.path));
            }
        } else if !out
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.code == e.code)
        {
            failures.push(format!("{}: expected {}, got {errors:#?}", e.path, e.code));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Each accepted file's plan has the shape its line in `README.md` gives (top-level agent
/// group, steps and their kinds, roles, aggregation, groups, confidence, fallback, …).
#[test]
fn accepted_plans_have_the_documented_shape() {
    let readme = std::fs::read_to_string(corpus().join("README.md")).expect("README.md");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, shape) in shape::accept_lines(&readme) {
        let out = compile(&path);
        let Some(plan) = out.plan else {
            failures.push(format!("{path}: no plan"));
            continue;
        };
        let json: Value = plan.to_json_value();
        let warnings: Vec<&str> = out
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| d.code)
            .collect();
        checked += 1;
        for problem in shape::check(&shape, &json, &warnings) {
            failures.push(format!("{path}: {problem}"));
        }
    }
    assert!(checked >= 120, "only {checked} README lines were read");
    assert!(
        failures.is_empty(),
        "{} shape mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `PATTERN=rel/path cargo test --test patterns dump -- --ignored --nocapture` prints a file's
/// diagnostics and plan.
#[test]
#[ignore]
fn dump() {
    let Ok(rel) = std::env::var("PATTERN") else {
        return;
    };
    let text = std::fs::read_to_string(corpus().join(&rel)).expect("pattern file");
    let out = compile(&rel);
    let file = prism_compiler::SourceFile::new(rel.as_str(), text.as_str());
    println!(
        "{}",
        prism_compiler::diagnostic::render(&out.diagnostics, &file, false)
    );
    if let Some(p) = &out.plan {
        if std::env::var("FORMAT").as_deref() == Ok("dot") {
            println!("{}", p.to_dot());
        } else if std::env::var("FORMAT").as_deref() == Ok("mermaid") {
            println!("{}", p.to_mermaid());
        } else {
            println!("{}", p.to_json());
        }
    }
}

fn snapshot_name(path: &str) -> String {
    path.trim_end_matches(".yaml")
        .trim_end_matches(".yml")
        .replace('/', "__")
}

/// Snapshots of what a user sees: every plan's JSON and every file's rendered diagnostics.
#[test]
fn plan_and_diagnostic_snapshots() {
    for e in expectations() {
        let text = std::fs::read_to_string(corpus().join(&e.path)).expect("pattern file");
        let out = compile(&e.path);
        let name = snapshot_name(&e.path);
        if let Some(plan) = &out.plan {
            insta::assert_snapshot!(format!("plan__{name}"), plan.to_json());
        }
        if !out.diagnostics.is_empty() {
            let file = prism_compiler::SourceFile::new(e.path.as_str(), text.as_str());
            let rendered = prism_compiler::diagnostic::render(&out.diagnostics, &file, false);
            insta::assert_snapshot!(format!("diagnostics__{name}"), rendered);
        }
    }
}

/// Every emitter runs on every plan; generated Prism parses.
#[test]
fn emitters_run_on_every_plan() {
    for e in expectations() {
        let Some(plan) = compile(&e.path).plan else {
            continue;
        };
        assert!(plan.to_dot().starts_with("digraph"), "{}", e.path);
        assert!(plan.to_mermaid().starts_with("flowchart TD"), "{}", e.path);
        let src = plan.to_prism();
        let parsed = prism_compiler::parse(&src);
        let errors: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        assert!(
            errors.is_empty(),
            "{}: generated Prism does not parse: {errors:?}\n{src}",
            e.path
        );
        let back = compile_file_with("generated.prism", &src, &CompileOptions::default());
        let plan_back = back
            .plan
            .unwrap_or_else(|| panic!("{}: {:?}", e.path, back.diagnostics));
        assert_eq!(plan_back.meta.name, plan.meta.name);
        assert_eq!(plan_back.meta.version, plan.meta.version);
    }
}
