//! `prism repl`, driven for real: with piped standard input (lines in, values out) and on a
//! pseudo-terminal (line editor, multi-line input, Ctrl-C, Ctrl-D and the history file).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use wait_timeout::ChildExt;

use crate::support::{Run, prism};

/// The REPL trials.
pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("repl::piped_lines_keep_state", piped_lines_keep_state),
        Trial::test(
            "repl::piped_multiline_redeclare_and_errors",
            piped_multiline_redeclare_and_errors,
        ),
        Trial::test("repl::piped_commands_and_std", piped_commands_and_std),
        Trial::test("repl::terminal_session", terminal_session),
    ]
}

/// Runs `prism repl` with `input` on its standard input.
fn repl(input: &str) -> Result<Run, Failed> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(prism())
        .arg("repl")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("PRISM_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let status = child.wait_timeout(Duration::from_secs(30))?;
    if status.is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output()?;
    Ok(Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: status.and_then(|s| s.code()),
    })
}

fn piped_lines_keep_state() -> Result<(), Failed> {
    let r = repl("let x = 2\nx * 3\n")?;
    assert_eq!(r.stdout, "6\n", "{}", r.stderr);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    // Confidence shows as `print` shows it; several statements on a line each show their
    // value; calls that return null (print) and assignments show nothing.
    let r = repl("let t = 72 ~> 0.9\nt > 70\nt + 1; print(\"hi\"); \"done\"\ny = 5\ny\n")?;
    assert_eq!(
        r.stdout, "true ~> 0.90\n73 ~> 0.90\nhi\ndone\n5\n",
        "{}",
        r.stderr
    );
    Ok(())
}

fn piped_multiline_redeclare_and_errors() -> Result<(), Failed> {
    let input = "\
function twice(n) {
  return n * 2
}
twice(21)
let list = [1,
  2,
  3]
list.length
let list = \"again\"
list
nope + 1
print(\"still running\")
let broken = (1
";
    let r = repl(input)?;
    assert_eq!(r.stdout, "42\n3\nagain\nstill running\n", "{}", r.stderr);
    assert!(
        r.stderr.contains("Undefined variable: nope"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("<repl:"),
        "errors name the input: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("prism::syntax"),
        "an unfinished last input is reported: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(1), "piped input with an error exits 1");
    Ok(())
}

fn piped_commands_and_std() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let lib = dir.path().join("lib.prism");
    std::fs::write(&lib, "let base = 40\nfunction add(n) { return base + n }\n")?;
    let input = format!(
        ".help\n.load {}\nadd(2)\nimport {{majorityVote}} from \"std/patterns\"\nmajorityVote([\"a\" ~> 0.9, \"a\" ~> 0.7, \"b\" ~> 0.5])\n.5 + 1\n.clear\nbase\n.frob\n.exit\nprint(\"not reached\")\n",
        lib.display()
    );
    let r = repl(&input)?;
    let expected_tail = "42\na ~> 0.53\n1.5\n(every binding forgotten)\n";
    assert!(r.stdout.starts_with("Type Prism code"), "{}", r.stdout);
    assert!(r.stdout.ends_with(expected_tail), "{}", r.stdout);
    assert!(
        r.stderr.contains("Undefined variable: base"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("unknown command .frob"), "{}", r.stderr);
    assert!(!r.stdout.contains("not reached"), ".exit stops reading");
    assert_eq!(r.code, Some(1));
    Ok(())
}

/// `text` without terminal escape sequences (`ESC [ … final-byte`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A pseudo-terminal session: what a person typing sees.
struct Terminal {
    master: std::fs::File,
    seen: Arc<Mutex<Vec<u8>>>,
    child: std::process::Child,
}

impl Terminal {
    fn start(history: &std::path::Path) -> Result<Terminal, Failed> {
        let size = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&size, None)?;
        let child = Command::new(prism())
            .arg("repl")
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("PRISM_HISTORY", history)
            .stdin(Stdio::from(pty.slave.try_clone()?))
            .stdout(Stdio::from(pty.slave.try_clone()?))
            .stderr(Stdio::from(pty.slave))
            .spawn()?;
        let master = std::fs::File::from(pty.master);
        let mut reader = master.try_clone()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with an error once the child has exited and the terminal is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.extend_from_slice(&buf[..n]);
                }
            }
        });
        Ok(Terminal {
            master,
            seen,
            child,
        })
    }

    fn screen(&self) -> String {
        let bytes = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits until the output contains `needle` `count` times.
    fn wait_for(&self, needle: &str, count: usize) -> Result<(), Failed> {
        self.wait_until(&format!("{count}× {needle:?}"), |screen| {
            screen.matches(needle).count() >= count
        })
    }

    /// Waits until the output ends with a fresh prompt, so the editor is reading keys.
    fn prompt(&self) -> Result<(), Failed> {
        self.wait_until("a prompt", |screen| {
            strip_escapes(screen)
                .trim_end_matches('\r')
                .ends_with("prism> ")
        })
    }

    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> Result<(), Failed> {
        let start = Instant::now();
        while !done(&self.screen()) {
            if start.elapsed() > Duration::from_secs(20) {
                return Err(
                    format!("waited for {what}; the terminal shows:\n{}", self.screen()).into(),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the editor finish switching the terminal mode.
        std::thread::sleep(Duration::from_millis(50));
        Ok(())
    }

    fn type_keys(&mut self, keys: &str) -> Result<(), Failed> {
        self.master.write_all(keys.as_bytes())?;
        self.master.flush()?;
        Ok(())
    }
}

fn terminal_session() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let history = dir.path().join("state").join("history");
    let mut t = Terminal::start(&history)?;
    t.prompt()?;
    t.type_keys("let x = 2\r")?;
    t.prompt()?;
    t.type_keys("x * 3\r")?;
    t.wait_for("\r\n6\r\n", 1)?;
    t.prompt()?;
    // An open brace continues the input on the next line.
    t.type_keys("function f(a) {\r  return a ~> 0.5\r}\r")?;
    t.prompt()?;
    t.type_keys("f(x)\r")?;
    t.wait_for("2 ~> 0.50", 1)?;
    t.prompt()?;
    // Ctrl-C throws the line being typed away; the session goes on.
    t.type_keys("cancelled_line_here\x03")?;
    t.prompt()?;
    t.type_keys("x + 40\r")?;
    t.wait_for("\r\n42\r\n", 1)?;
    t.prompt()?;
    // Ctrl-D on an empty line leaves.
    t.type_keys("\x04")?;
    let status = t.child.wait_timeout(Duration::from_secs(20))?;
    let Some(status) = status else {
        let _ = t.child.kill();
        return Err(format!("Ctrl-D did not end the session:\n{}", t.screen()).into());
    };
    assert_eq!(status.code(), Some(0), "{}", t.screen());
    let screen = t.screen();
    assert!(
        !screen.contains("Undefined variable"),
        "the cancelled line never ran:\n{screen}"
    );
    let saved = std::fs::read_to_string(&history)?;
    for entry in ["let x = 2", "x * 3", "function f(a) {", "f(x)", "x + 40"] {
        assert!(saved.contains(entry), "history lacks {entry:?}:\n{saved}");
    }
    assert!(!saved.contains("cancelled_line_here"), "{saved}");

    // The next session starts with that history: Up recalls the last entry.
    let mut t = Terminal::start(&history)?;
    t.prompt()?;
    t.type_keys("let x = 1\r")?;
    t.prompt()?;
    t.type_keys("\x1b[A\x1b[A\r")?;
    t.wait_for("\r\n41\r\n", 1)?;
    t.prompt()?;
    t.type_keys(".exit\r")?;
    let status = t.child.wait_timeout(Duration::from_secs(20))?;
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", t.screen());
    Ok(())
}
