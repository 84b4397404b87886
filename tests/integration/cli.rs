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
