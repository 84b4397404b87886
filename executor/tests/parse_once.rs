//! A pattern file is parsed once per run: the driver compiles it into a unit (program, model,
//! plan) and the executor runs that unit's script and expressions without parsing the file
//! again. Alone in its test binary, so no other test's parsing moves the process-wide count.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prism_agents::config::builtin_agents;
use prism_compiler::driver::compile;
use prism_compiler::parser::parses;
use prism_compiler::pattern::CompileOptions;
use prism_executor::{RunOptions, RunStatus, ScriptOutput, execute, largest_min};
use prism_license::License;
use serde_json::json;

fn example(name: &str) -> (std::path::PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/patterns")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("example pattern");
    (path, text)
}

/// Compiles `name` through the driver and runs it as `prism run` does; returns how many
/// times the parser ran meanwhile and the run's status.
fn parses_for_one_run(name: &str) -> (usize, RunStatus) {
    let (path, text) = example(name);
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let before = parses();
    let unit = compile(
        &path,
        &text,
        &CompileOptions::default(),
        &License::open_source(),
    );
    let plan = unit.plan.clone().expect("the example compiles to a plan");
    let opts = RunOptions {
        input: json!({}),
        agents: builtin_agents(largest_min(&plan)),
        timeout: Some(Duration::from_secs(20)),
        source: Some(Arc::from(text.as_str())),
        model: unit.loaded.clone(),
        backoff: Duration::from_millis(1),
        script_output: ScriptOutput::Discard,
        ..RunOptions::default()
    };
    let record = runtime.block_on(execute(plan, opts));
    (parses() - before, record.status)
}

#[test]
fn a_pattern_file_is_parsed_once_per_run_and_its_expressions_once() {
    // An annotated .prism pattern: the file is the script, parsed by the driver and nowhere
    // else (it has no imports). Its plan's output expression is compiled with the plan (not a
    // parse the run counts), so each run parses the file alone.
    let (first, status) = parses_for_one_run("uncertainty-router.prism");
    assert_eq!(status, RunStatus::Completed);
    assert!(first >= 1);
    let (second, _) = parses_for_one_run("uncertainty-router.prism");
    assert_eq!(
        second, 1,
        "the .prism pattern was parsed {second} times in one run"
    );

    // A YAML pattern is read once by the driver; its output's expressions are compiled with
    // the plan, the others (conditions, inputs) once per process, so a second run parses
    // nothing at all.
    let (first, status) = parses_for_one_run("confidence-cascade.yaml");
    assert_eq!(status, RunStatus::Completed);
    let (second, _) = parses_for_one_run("confidence-cascade.yaml");
    assert!(
        first > 0,
        "the cascade's expressions are Prism, parsed on first use"
    );
    assert_eq!(
        second, 0,
        "the second run parsed {second} expressions again"
    );
}
