//! The license gate sees every directive (issue: nested patterns, header variants, silent
//! exits), through the real `prism` binary without a license key and with an empty home:
//! directives of included patterns are refused in their own file, each YAML spelling of a
//! directive is gated or rejected (never ignored), and every exit path of `prism run` that
//! fails says why on stderr.

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::support::{Run, run_prism_with};

/// The gate trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "gate::nested_directives_are_refused_in_their_file",
            nested_directives_are_refused_in_their_file,
        ),
        Trial::test(
            "gate::yaml_directive_spellings_are_gated_or_rejected",
            yaml_directive_spellings_are_gated_or_rejected,
        ),
        Trial::test(
            "gate::header_variants_agree_across_commands",
            header_variants_agree_across_commands,
        ),
        Trial::test(
            "gate::every_failing_run_says_why",
            every_failing_run_says_why,
        ),
    ]
}

/// `prism ARGS` in `dir` with no license anywhere: no key variable, an empty home.
fn unlicensed(dir: &Path, args: &[&str]) -> Result<Run, Failed> {
    let home = dir.join(".home");
    std::fs::create_dir_all(&home)?;
    let home = home.to_string_lossy().to_string();
    let config = format!("{home}/.config");
    Ok(run_prism_with(
        args,
        dir,
        Duration::from_secs(60),
        None,
        &[
            ("HOME", home.as_str()),
            ("XDG_CONFIG_HOME", config.as_str()),
            ("PRISM_LICENSE_FILE", ""),
        ],
    )?)
}

const BODY: &str = "input: {}\nagents: {capabilities: [analysis], min: 1}\noutput: {r: $result}\n";

fn child(directive: &str) -> String {
    format!("name: child\n{BODY}{directive}")
}

fn nested_directives_are_refused_in_their_file() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(
        d.join("child.yaml"),
        child("schedule: {cron: '0 * * * *'}\npersistence: {store: 'sqlite:runs.db'}\n"),
    )?;
    // Included from a plain step, from inside a parallel step, and two levels down.
    std::fs::write(
        d.join("parent.yaml"),
        "name: parent\ninput: {}\nsteps:\n  - id: c\n    pattern: ./child.yaml\noutput: {r: $c}\n",
    )?;
    std::fs::write(
        d.join("fan.yaml"),
        "name: fan\ninput: {}\nsteps:\n  - id: both\n    type: parallel\n    branches:\n      - id: one\n        pattern: ./child.yaml\noutput: {r: $one}\n",
    )?;
    std::fs::write(
        d.join("grand.yaml"),
        "name: grand\ninput: {}\nsteps:\n  - id: p\n    pattern: ./parent.yaml\noutput: {r: $p}\n",
    )?;
    for file in ["parent.yaml", "fan.yaml", "grand.yaml"] {
        for cmd in ["build", "check", "run"] {
            let out = unlicensed(d, &[cmd, file])?;
            let err = &out.stderr;
            if out.code != Some(2) {
                return Err(format!(
                    "prism {cmd} {file}: exit {:?}, expected 2 (refused)\n{err}",
                    out.code
                )
                .into());
            }
            for want in [
                "prism::license::schedule",
                "prism::license::persistence",
                "child.yaml:5:1",
                "included by step",
            ] {
                if !err.contains(want) {
                    return Err(format!("prism {cmd} {file}: no `{want}` in\n{err}").into());
                }
            }
        }
    }
    let grand = unlicensed(d, &["check", "grand.yaml"])?;
    if !grand.stderr.contains("through step `c` of parent.yaml") {
        return Err(format!("the chain of steps is not named:\n{}", grand.stderr).into());
    }
    Ok(())
}

/// How a spelling must end: refused by the license gate with this code, or rejected with
/// another error (either way `prism build` exits 2 and no plan is written).
enum Verdict {
    Gated(&'static str),
    Rejected(&'static str),
}

fn yaml_directive_spellings_are_gated_or_rejected() -> Result<(), Failed> {
    use Verdict::*;
    let s = "{cron: '0 * * * *'}";
    let cases: Vec<(&str, String, Verdict)> = vec![
        ("plain", format!("name: a\n{BODY}schedule: {s}\n"), Gated("schedule")),
        (
            "anchor and alias",
            format!("name: a\n{BODY}x-s: &s {s}\nschedule: *s\n"),
            Gated("schedule"),
        ),
        (
            "merge key",
            format!("name: a\n{BODY}base: &b\n  schedule: {s}\n<<: *b\n"),
            Rejected("prism::pattern::unknown-key"),
        ),
        (
            "flow mapping",
            "{name: a, input: {}, agents: {capabilities: [analysis], min: 1}, output: {r: $result}, persistence: true}\n".into(),
            Gated("persistence"),
        ),
        (
            "double-quoted key",
            format!("name: a\n{BODY}\"schedule\": {s}\n"),
            Gated("schedule"),
        ),
        (
            "single-quoted key",
            format!("name: a\n{BODY}'versioning': {{keepHistory: 3}}\n"),
            Gated("versioning"),
        ),
        (
            "escaped key",
            format!("name: a\n{BODY}\"sched\\u0075le\": {s}\n"),
            Gated("schedule"),
        ),
        (
            "duplicate key",
            format!("name: a\n{BODY}persistence: true\npersistence: true\n"),
            Gated("persistence"),
        ),
        (
            "CRLF",
            format!("name: a\n{BODY}schedule: {s}\n").replace('\n', "\r\n"),
            Gated("schedule"),
        ),
        (
            "byte-order mark",
            format!("\u{feff}name: a\n{BODY}persistence: true\n"),
            Gated("persistence"),
        ),
        (
            "second document",
            format!("name: a\n{BODY}---\nschedule: {s}\n"),
            Rejected("prism::yaml::syntax"),
        ),
        (
            "explicit document",
            format!("---\nname: a\n{BODY}schedule: {s}\n"),
            Gated("schedule"),
        ),
        (
            "tagged key",
            format!("name: a\n{BODY}!!str schedule: {s}\n"),
            Gated("schedule"),
        ),
        (
            "complex key",
            format!("name: a\n{BODY}? schedule\n: {s}\n"),
            Gated("schedule"),
        ),
        (
            "space before the colon",
            format!("name: a\n{BODY}schedule : {s}\n"),
            Gated("schedule"),
        ),
        (
            "other case",
            format!("name: a\n{BODY}Schedule: {s}\n"),
            Rejected("prism::pattern::unknown-key"),
        ),
        (
            "empty value",
            format!("name: a\n{BODY}persistence:\n"),
            Rejected("prism::directive::invalid"),
        ),
        (
            "nested step",
            "name: a\ninput: {}\nsteps:\n  - id: c\n    pattern: ./child.yaml\noutput: {r: $c}\n"
                .into(),
            Gated("versioning"),
        ),
    ];
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(
        d.join("child.yaml"),
        child("versioning: {keepHistory: 2}\n"),
    )?;
    let mut failures = Vec::new();
    for (i, (what, text, verdict)) in cases.iter().enumerate() {
        let file = format!("case{i}.yaml");
        std::fs::write(d.join(&file), text)?;
        let out = unlicensed(d, &["build", &file, "--emit", "json", "--out", "plans"])?;
        let written = d.join("plans").exists()
            && std::fs::read_dir(d.join("plans"))?.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("case{i}"))
            });
        let want = match verdict {
            Gated(code) => format!("prism::license::{code}"),
            Rejected(code) => code.to_string(),
        };
        if out.code != Some(2) || !out.stderr.contains(&want) || written {
            failures.push(format!(
                "{what}: exit {:?}, plan written: {written}, expected `{want}`\n{}",
                out.code, out.stderr
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n---\n").into())
    }
}

fn header_variants_agree_across_commands() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let header = "/**\n * @name p\n * @persistence {}\n */\nprint(\"ran\")\n";
    // A byte-order mark before the header: still a pattern, for every command.
    std::fs::write(d.join("bom.prism"), format!("\u{feff}{header}"))?;
    for cmd in ["check", "build"] {
        let out = unlicensed(d, &[cmd, "bom.prism"])?;
        if cmd == "build" && !out.stderr.contains("1 plan(s)") {
            return Err(format!("prism {cmd} bom.prism is not one plan:\n{}", out.stderr).into());
        }
        // Only a pattern's header is read for tags.
        if !out.stderr.contains("did you mean `@persist`?") {
            return Err(format!("no did-you-mean for @persistence:\n{}", out.stderr).into());
        }
    }
    let run = unlicensed(d, &["run", "bom.prism"])?;
    if run.code != Some(0) || !run.stdout.contains("ran") {
        return Err(format!("prism run bom.prism: {:?}\n{}", run.code, run.stderr).into());
    }
    // Header-like text in a string, or after code: a plain program everywhere.
    for (name, text) in [
        (
            "in_string.prism",
            "let s = \"/** @name x\\n * @persist {} */\"\nprint(\"ran\")\n",
        ),
        (
            "after_code.prism",
            "print(\"ran\")\n/**\n * @name x\n * @persist {}\n */\n",
        ),
    ] {
        std::fs::write(d.join(name), text)?;
        let check = unlicensed(d, &["check", name])?;
        let build = unlicensed(d, &["build", name])?;
        let run = unlicensed(d, &["run", name])?;
        if check.code != Some(0) {
            return Err(format!("prism check {name}: {:?}\n{}", check.code, check.stderr).into());
        }
        if build.code != Some(0) || !build.stderr.contains("1 program(s)") {
            return Err(format!("prism build {name}: {:?}\n{}", build.code, build.stderr).into());
        }
        if run.code != Some(0) || !run.stdout.contains("ran") {
            return Err(format!("prism run {name}: {:?}\n{}", run.code, run.stderr).into());
        }
    }
    Ok(())
}

fn every_failing_run_says_why() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let files: &[(&str, &[u8])] = &[
        ("syntax.prism", b"print(\n"),
        ("undefined.prism", b"let x = nope + 1\n"),
        ("throws.prism", b"throw \"boom\"\n"),
        ("incomplete.yaml", b"name: x\n"),
        ("agents.yaml", b"agents: [\n"),
        ("binary.prism", b"\xff\xfe\x00"),
        ("ok.yaml", b"name: ok\ninput: {}\nagents: {capabilities: [analysis], min: 1}\noutput: {r: $result}\n"),
        ("gated.yaml", b"name: g\ninput: {}\nagents: {capabilities: [analysis], min: 1}\noutput: {r: $result}\nschedule: {interval: 1m}\n"),
        ("fails.yaml", b"name: f\ninput: {}\nagents: {capabilities: [nobody-has-this], min: 1}\noutput: {r: $result}\n"),
    ];
    for (name, bytes) in files {
        std::fs::write(d.join(name), bytes)?;
    }
    std::fs::create_dir_all(d.join("folder"))?;
    let cases: &[&[&str]] = &[
        &["run", "missing.prism"],
        &["run", "folder"],
        &["run", "syntax.prism"],
        &["run", "undefined.prism"],
        &["run", "throws.prism"],
        &["run", "incomplete.yaml"],
        &["run", "agents.yaml"],
        &["run", "binary.prism"],
        &["run", "-e", "nope"],
        &["run", "-e", "print("],
        &["run", "ok.yaml", "--input", "{bad"],
        &["run", "ok.yaml", "--agents", "missing.yaml"],
        &["run", "ok.yaml", "--agents", "agents.yaml"],
        &["run", "ok.yaml", "--agent-results", "missing.json"],
        &["run", "gated.yaml"],
        &["run", "fails.yaml"],
        &["run", "ok.yaml", "--timeout", "soon"],
        &["run", "--no-such-flag"],
        &["run"],
    ];
    let mut silent = Vec::new();
    for args in cases {
        let out = unlicensed(d, args)?;
        match out.code {
            Some(0) => silent.push(format!(
                "prism {}: exit 0, expected a failure",
                args.join(" ")
            )),
            None => silent.push(format!("prism {}: did not finish", args.join(" "))),
            Some(_) if out.stderr.trim().is_empty() => silent.push(format!(
                "prism {}: exit {:?} with nothing on stderr",
                args.join(" "),
                out.code
            )),
            Some(_) => {}
        }
    }
    if silent.is_empty() {
        Ok(())
    } else {
        Err(silent.join("\n").into())
    }
}
