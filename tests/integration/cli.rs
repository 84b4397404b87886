//! Behaviour of the `prism` command itself: exit codes, `-e`, several files.

use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{repo, run_prism};

/// The CLI trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("cli::run_eval_prints", run_eval_prints),
        Trial::test("cli::runtime_error_exits_1", runtime_error_exits_1),
        Trial::test("cli::syntax_error_exits_2", syntax_error_exits_2),
        Trial::test(
            "cli::deep_recursion_is_an_error",
            deep_recursion_is_an_error,
        ),
        Trial::test("cli::check_reports_every_file", check_reports_every_file),
        Trial::test(
            "cli::check_strict_warns_about_implicit_declarations",
            check_strict_warns_about_implicit_declarations,
        ),
        Trial::test("cli::match_on_an_array_literal", match_on_an_array_literal),
        Trial::test(
            "cli::build_estimates_with_the_agents_file",
            build_estimates_with_the_agents_file,
        ),
        Trial::test(
            "cli::folder_walks_skip_other_yaml_and_check_agents_files",
            folder_walks_skip_other_yaml_and_check_agents_files,
        ),
        Trial::test(
            "cli::plan_pictures_show_settings",
            plan_pictures_show_settings,
        ),
    ]
}

fn eval(code: &str) -> Result<crate::support::Run, Failed> {
    Ok(run_prism(
        &["run", "-e", code],
        &repo(),
        Duration::from_secs(30),
    )?)
}

fn run_eval_prints() -> Result<(), Failed> {
    let r = eval("print(1 + 2 ~> 0.5)")?;
    assert_eq!(r.stdout, "3 ~> 0.50\n");
    assert_eq!(r.code, Some(0));
    Ok(())
}

fn runtime_error_exits_1() -> Result<(), Failed> {
    let r = eval("function f(x) { return x / 0 }\nprint(\"a\")\nf(1)")?;
    assert_eq!(r.stdout, "a\n");
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("Division by zero"), "{}", r.stderr);
    assert!(r.stderr.contains("<eval>:1:"), "span missing: {}", r.stderr);
    Ok(())
}

fn syntax_error_exits_2() -> Result<(), Failed> {
    let r = eval("print(\"before\")\nlet x = 1 ~>\nlet y = (2\nprint(x)")?;
    assert_eq!(
        r.stdout, "",
        "nothing runs when the file has a syntax error"
    );
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("expected an expression after `~>`"),
        "{}",
        r.stderr
    );
    Ok(())
}

fn deep_recursion_is_an_error() -> Result<(), Failed> {
    let r = eval("function f(n) { return f(n + 1) }\nf(0)")?;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.to_lowercase().contains("maximum call depth"),
        "{}",
        r.stderr
    );
    Ok(())
}

fn check_reports_every_file() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("a.prism"), "let a = \n")?;
    std::fs::write(dir.path().join("b.prism"), "print(1))\n")?;
    std::fs::write(dir.path().join("ok.prism"), "print(1)\n")?;
    let r = run_prism(
        &["check", "a.prism", "b.prism", "ok.prism"],
        dir.path(),
        Duration::from_secs(30),
    )?;
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("a.prism"), "{}", r.stderr);
    assert!(r.stderr.contains("b.prism"), "{}", r.stderr);
    let ok = run_prism(&["check", "ok.prism"], dir.path(), Duration::from_secs(30))?;
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    Ok(())
}

fn check_strict_warns_about_implicit_declarations() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("p.prism"),
        "let a = 1\nresults = [a]\nprint(results)\n",
    )?;
    let plain = run_prism(&["check", "p.prism"], dir.path(), Duration::from_secs(30))?;
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert!(!plain.stderr.contains("implicit"), "{}", plain.stderr);
    let strict = run_prism(
        &["check", "--strict", "p.prism"],
        dir.path(),
        Duration::from_secs(30),
    )?;
    // A warning, not an error: the program is valid Prism.
    assert_eq!(strict.code, Some(0), "{}", strict.stderr);
    assert!(
        strict.stderr.contains("prism::lint::implicit-declaration")
            && strict
                .stderr
                .contains("`results` is declared implicitly by this assignment")
            && strict.stderr.contains("p.prism:2:1"),
        "{}",
        strict.stderr
    );
    Ok(())
}

fn match_on_an_array_literal() -> Result<(), Failed> {
    let r = eval(
        "let match = [7]\nprint(match[0])\nprint(match [1, 2, 3] { [a, b, c] => a + b + c, _ => 0 })",
    )?;
    assert_eq!(r.stdout, "7\n6\n", "{}", r.stderr);
    Ok(())
}

/// `prism build --agents FILE` assumes the agents' declared confidences in the static estimate.
fn build_estimates_with_the_agents_file() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: p\ninput: {}\nagents:\n  capabilities: [x]\n  min: 2\naggregation:\n  strategy: first\noutput:\n  answer: $first.result\n",
    )?;
    std::fs::write(
        dir.path().join("team.yaml"),
        "agents:\n  - name: a\n    capabilities: [x]\n    respond: {value: 1, confidence: 0.9}\n  - name: b\n    capabilities: [x]\n    respond: {value: 1, confidence: 0.5}\n",
    )?;
    let output_estimate = |args: &[&str]| -> Result<serde_json::Value, Failed> {
        let r = run_prism(args, dir.path(), Duration::from_secs(30))?;
        if r.code != Some(0) {
            return Err(format!("exit {:?}: {}", r.code, r.stderr).into());
        }
        let plan: serde_json::Value = serde_json::from_str(&r.stdout)?;
        let nodes = plan["nodes"].as_array().ok_or("no nodes")?;
        let out = nodes
            .iter()
            .find(|n| n["kind"] == "Output")
            .ok_or("no output node")?;
        Ok(out["confidence"]["estimate"].clone())
    };
    let default = output_estimate(&["build", "--emit", "json", "p.yaml"])?;
    assert_eq!(default, serde_json::json!({"lower": 0.0, "expected": 0.7}));
    let assumed = output_estimate(&["build", "--emit", "json", "--agents", "team.yaml", "p.yaml"])?;
    assert_eq!(
        assumed["expected"],
        serde_json::json!(0.7),
        "mean of 0.9 and 0.5: {assumed}"
    );
    assert_eq!(
        assumed["lower"],
        serde_json::json!(0.5),
        "the least confident agent: {assumed}"
    );
    let missing = run_prism(
        &["build", "--agents", "nope.yaml", "p.yaml"],
        dir.path(),
        Duration::from_secs(30),
    )?;
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("nope.yaml"), "{}", missing.stderr);
    Ok(())
}

/// `prism build .` and `prism check` (no path: the current folder) skip YAML that is neither
/// a pattern nor an agents file, and check agents files with spans and "did you mean".
fn folder_walks_skip_other_yaml_and_check_agents_files() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let write = |name: &str, text: &str| -> Result<(), Failed> {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(std::fs::write(path, text)?)
    };
    write(
        "vote.yaml",
        "name: vote\ninput: {}\nagents:\n  capabilities: [x]\naggregation:\n  strategy: voting\noutput: $vote.winner\n",
    )?;
    write(
        "agents.yaml",
        "agents:\n  - name: a\n    capabilities: [x]\n    echo: true\n",
    )?;
    write(
        "docker-compose.yaml",
        "name: app\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n",
    )?;
    write(
        ".github/workflows/ci.yml",
        "name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
    )?;
    write("k8s/pod.yml", "apiVersion: v1\nkind: Pod\n")?;
    let limit = Duration::from_secs(30);
    let build = run_prism(&["build", "."], dir.path(), limit)?;
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    assert!(
        build
            .stderr
            .contains("checked 2 file(s): 1 plan(s), 0 program(s), 1 agents file(s); 0 error(s)"),
        "{}",
        build.stderr
    );
    let check = run_prism(&["check"], dir.path(), limit)?;
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    // An agents file with a typo: line, column and a suggestion; not pattern errors.
    write(
        "agents.yaml",
        "agents:\n  - name: a\n    capabilites: [x]\n    echo: true\n  - name: b\n    url: localhost:8080\n",
    )?;
    let bad = run_prism(&["check", "agents.yaml"], dir.path(), limit)?;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    for want in [
        "prism::agents::unknown-key",
        "unknown key `capabilites` in `agents[0]`",
        "agents.yaml:3:5",
        "did you mean `capabilities`?",
        "`agents[1].url` must start with http:// or https://, found `localhost:8080`",
        "agents.yaml:6:10",
    ] {
        assert!(
            bad.stderr.contains(want),
            "missing {want:?} in\n{}",
            bad.stderr
        );
    }
    assert!(!bad.stderr.contains("prism::pattern"), "{}", bad.stderr);
    // The same problems stop `prism run` before any agent is called, with their positions.
    let run = run_prism(&["run", "vote.yaml"], dir.path(), limit)?;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("agents.yaml:3:5: unknown key `capabilites` in `agents[0]` (did you mean `capabilities`?)"),
        "{}",
        run.stderr
    );
    Ok(())
}

/// `--emit dot|mermaid`: each node shows its settings (capabilities, strategy, aggregation,
/// conditions, fallback target) and a legend explains the confidence annotation.
fn plan_pictures_show_settings() -> Result<(), Failed> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for (emit, file) in [
        ("dot", "examples/patterns/confidence-cascade.yaml"),
        ("mermaid", "examples/patterns/confidence-cascade.yaml"),
        ("dot", "examples/patterns/multi-model-voting.yaml"),
        ("mermaid", "examples/patterns/consensus-builder.yaml"),
    ] {
        let r = run_prism(
            &["build", "--emit", emit, file],
            &repo(),
            Duration::from_secs(30),
        )?;
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(r.stdout.contains("Legend"), "{emit} {file}: no legend");
        let stem = file
            .rsplit('/')
            .next()
            .unwrap_or(file)
            .trim_end_matches(".yaml");
        settings.bind(|| insta::assert_snapshot!(format!("plan_{emit}__{stem}"), r.stdout));
    }
    Ok(())
}
