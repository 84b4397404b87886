//! Command-line conventions users of cargo, deno and ruff expect: shell completions, `--color`
//! with `NO_COLOR`/`FORCE_COLOR`, `-` for standard input, `check`/`build` on the current
//! folder, one column convention in runtime errors, a progress line that names the agents
//! still awaited, an install section and a release build without debug info.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

use crate::support::{prism, repo, run_prism, run_prism_stdin, run_prism_with};

/// The convention trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("conventions::shell_completions", shell_completions),
        Trial::test(
            "conventions::color_flag_and_environment",
            color_flag_and_environment,
        ),
        Trial::test(
            "conventions::standard_input_with_a_dash",
            standard_input_with_a_dash,
        ),
        Trial::test(
            "conventions::check_and_build_default_to_the_current_folder",
            default_folder,
        ),
        Trial::test(
            "conventions::runtime_errors_count_columns_from_one",
            columns_from_one,
        ),
        Trial::test(
            "conventions::progress_names_the_agents_awaited",
            progress_names_awaited,
        ),
        Trial::test(
            "conventions::install_section_and_release_profile",
            install_and_release,
        ),
    ]
}

const LIMIT: Duration = Duration::from_secs(30);

fn shell_completions() -> Result<(), Failed> {
    for (shell, marker) in [
        ("bash", "_prism()"),
        ("zsh", "#compdef prism"),
        ("fish", "complete -c prism"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = run_prism(&["completions", shell], &repo(), LIMIT)?;
        assert_eq!(r.code, Some(0), "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(marker), "{shell}: no {marker:?}");
        for sub in ["check", "build", "fmt", "completions"] {
            assert!(r.stdout.contains(sub), "{shell}: no `{sub}`");
        }
    }
    let bad = run_prism(&["completions", "tcsh"], &repo(), LIMIT)?;
    assert_eq!(bad.code, Some(2));
    Ok(())
}

fn color_flag_and_environment() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("bad.prism"), "let = 1\n")?;
    let colored = |args: &[&str], env: &[(&str, &str)]| -> Result<bool, Failed> {
        let r = run_prism_with(args, dir.path(), LIMIT, None, env)?;
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        Ok(r.stderr.contains("\u{1b}["))
    };
    let check = ["check", "bad.prism"];
    // Not a terminal: no colour unless asked.
    assert!(!colored(&check, &[("NO_COLOR", "")])?);
    assert!(colored(&["--color", "always", "check", "bad.prism"], &[])?);
    assert!(colored(&["check", "bad.prism", "--color=always"], &[])?);
    assert!(colored(&check, &[("NO_COLOR", ""), ("FORCE_COLOR", "1")])?);
    assert!(!colored(
        &check,
        &[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]
    )?);
    assert!(!colored(
        &["--color", "never", "check", "bad.prism"],
        &[("NO_COLOR", ""), ("FORCE_COLOR", "1")]
    )?);
    let bad = run_prism(&["--color", "sometimes", "check"], dir.path(), LIMIT)?;
    assert_eq!(bad.code, Some(2));
    Ok(())
}

fn standard_input_with_a_dash() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let r = run_prism_stdin(&["run", "-"], dir.path(), LIMIT, "print(<~ (1 ~> 0.25))\n")?;
    assert_eq!(
        (r.stdout.as_str(), r.code),
        ("0.25\n", Some(0)),
        "{}",
        r.stderr
    );
    let err = run_prism_stdin(&["run", "-"], dir.path(), LIMIT, "\nnope\n")?;
    assert_eq!(err.code, Some(1));
    assert!(err.stderr.contains("<stdin>:2:1"), "{}", err.stderr);
    std::fs::write(
        dir.path().join("echo.yaml"),
        "name: echo\ninput:\n  text: string\nagents:\n  capabilities: []\n  min: 1\n  max: 1\noutput: $input.text\n",
    )?;
    let r = run_prism_stdin(
        &["run", "echo.yaml", "--input", "@-"],
        dir.path(),
        LIMIT,
        "{\"text\": \"from stdin\"}",
    )?;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "from stdin\nconfidence: 0.800\n");
    let both = run_prism_stdin(&["run", "-", "--input", "@-"], dir.path(), LIMIT, "")?;
    assert_eq!(both.code, Some(2));
    assert!(
        both.stderr.contains("`--input @-` cannot"),
        "{}",
        both.stderr
    );
    Ok(())
}

fn default_folder() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("ok.prism"), "print(1)\n")?;
    std::fs::write(dir.path().join("sub.prism"), "let = 1\n")?;
    for cmd in ["check", "build"] {
        let r = run_prism(&[cmd], dir.path(), LIMIT)?;
        assert_eq!(r.code, Some(2), "{cmd}: {}", r.stderr);
        assert!(r.stderr.contains("sub.prism"), "{cmd}: {}", r.stderr);
    }
    std::fs::remove_file(dir.path().join("sub.prism"))?;
    let r = run_prism(&["build"], dir.path(), LIMIT)?;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("checked 1 file(s)"), "{}", r.stderr);
    Ok(())
}

/// The message, the span header and the call stack all count columns from 1; the text a
/// `catch` sees stays the reference's (the conformance suite checks it byte for byte).
fn columns_from_one() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("col.prism"),
        "function f(x) {\n  return x + nope\n}\nprint(\"a\")\nf(1)\n",
    )?;
    let r = run_prism(&["run", "col.prism"], dir.path(), LIMIT)?;
    assert_eq!(r.code, Some(1));
    for want in [
        "Error at line 2, column 14: Undefined variable: nope",
        "col.prism:2:14",
        "in f called at 5:1",
    ] {
        assert!(r.stderr.contains(want), "missing {want:?}:\n{}", r.stderr);
    }
    let caught = run_prism(
        &[
            "run",
            "-e",
            "try {\n  let v = nothing + 1\n} catch (e) {\n  print(e)\n}",
        ],
        dir.path(),
        LIMIT,
    )?;
    assert_eq!(
        caught.stdout,
        "Error at line 2, column 10: Undefined variable: nothing\n"
    );
    Ok(())
}

/// On a terminal, `prism run` keeps one progress line that names the agents it waits for.
fn progress_names_awaited() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("agents.yaml"),
        "agents:\n  - name: quick\n    capabilities: [x]\n    respond: {value: a, confidence: 0.9}\n  - name: sleepy\n    capabilities: [x]\n    mode: oneshot\n    command: \"sleep 1; echo a\"\n",
    )?;
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: p\ninput: {}\nagents:\n  capabilities: [x]\n  min: 2\naggregation:\n  strategy: voting\noutput: $vote.winner\n",
    )?;
    let screen = on_terminal(&["run", "p.yaml"], dir.path())?;
    assert!(
        screen.contains("⋯ p: ") && screen.contains("waiting for sleepy"),
        "{screen}"
    );
    // `sleepy` answers text without a `CONFIDENCE:` line: 0.5; the vote (a, a) gives 0.7.
    assert!(screen.contains("confidence: 0.700"), "{screen}");
    Ok(())
}

/// Runs `prism ARGS` with stdout and stderr on a pseudo-terminal; returns what it showed.
fn on_terminal(args: &[&str], dir: &Path) -> Result<String, Failed> {
    let size = nix::pty::Winsize {
        ws_row: 24,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&size, None)?;
    let mut child = Command::new(prism())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone()?))
        .stderr(Stdio::from(pty.slave))
        .spawn()?;
    let mut reader = std::fs::File::from(pty.master);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = sink.lock() {
                s.extend_from_slice(&buf[..n]);
            }
        }
    });
    let start = Instant::now();
    while child.try_wait()?.is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            return Err("prism did not finish on the terminal".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let bytes = seen.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn install_and_release() -> Result<(), Failed> {
    let readme = std::fs::read_to_string(repo().join("README.md"))?;
    assert!(
        readme.contains("## Install") && readme.contains("cargo install --path cli --locked"),
        "README.md has no install section"
    );
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml"))?;
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .ok_or("no [profile.release] in Cargo.toml")?;
    assert!(
        release.lines().any(|l| l.trim() == "debug = false"),
        "release builds carry debug info:\n{release}"
    );
    Ok(())
}
