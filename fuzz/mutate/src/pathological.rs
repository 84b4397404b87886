//! Hand-made pathological inputs (issue 18): deep nesting of every construct, huge literals
//! and mappings, agents that flood or never end, programs that never stop or grow without
//! end, control bytes, lone CR, a FIFO. `generate` writes them; `run` runs each with its
//! command under the limits and tabulates outcome, time and peak memory.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::campaign::child_env;
use crate::exec::{self, Limits, Status};
use crate::spawner::Spawner;

/// Depth of the deep-nesting cases (`--depth` changes it).
pub const DEPTH: usize = 100_000;

/// One case: files to write (the first is the one the command names), the command, a limit.
pub struct Case {
    pub name: String,
    /// How the input is made, in words (for the README table).
    pub what: String,
    pub files: Vec<(String, Vec<u8>)>,
    /// Arguments after `prism`; `{FILE}` is the first file, `{PORT}` the endless server.
    pub args: Vec<String>,
    pub timeout: Duration,
    /// The first file is a FIFO nobody writes to.
    pub fifo: bool,
}

fn rep(s: &str, n: usize) -> String {
    s.repeat(n)
}

fn case(name: &str, what: &str, file: &str, text: String, args: &[&str], secs: u64) -> Case {
    Case {
        name: name.into(),
        what: what.into(),
        files: vec![(file.into(), text.into_bytes())],
        args: args.iter().map(|s| s.to_string()).collect(),
        timeout: Duration::from_secs(secs),
        fifo: false,
    }
}

/// The nesting shapes of the issue: name, description, text at depth `n`.
type Nesting = (&'static str, &'static str, fn(usize) -> String);

const NESTINGS: &[Nesting] = &[
    ("nest_array_closed", "`let x = ` + `[`×N + `]`×N", |n| {
        format!("let x = {}{}\n", rep("[", n), rep("]", n))
    }),
    ("nest_array_open", "`let x = ` + `[`×N", |n| {
        format!("let x = {}\n", rep("[", n))
    }),
    (
        "nest_object_closed",
        "`let x = ` + `{a:`×N + `1` + `}`×N",
        |n| format!("let x = {}1{}\n", rep("{a:", n), rep("}", n)),
    ),
    (
        "nest_array_of_objects_open",
        "`let x = ` + `[{a:[`×N (unclosed)",
        |n| format!("let x = {}\n", rep("[{a:[", n)),
    ),
    (
        "nest_parens_closed",
        "`let x = ` + `(`×N + `1` + `)`×N",
        |n| format!("let x = {}1{}\n", rep("(", n), rep(")", n)),
    ),
    ("nest_parens_open_in_print", "`print(` + `(`×N", |n| {
        format!("print({}\n", rep("(", n))
    }),
    (
        "nest_calls_closed",
        "`let x = ` + `f(`×N + `1` + `)`×N",
        |n| {
            format!(
                "function f(a) {{ return a }}\nlet x = {}1{}\n",
                rep("f(", n),
                rep(")", n)
            )
        },
    ),
    ("nest_blocks_closed", "`{`×N + `}`×N", |n| {
        format!("{}{}\n", rep("{", n), rep("}", n))
    }),
    ("nest_if_closed", "`if (x) {`×N + `}`×N", |n| {
        format!("let x = true\n{}{}\n", rep("if (x) {", n), rep("}", n))
    }),
    ("nest_if_open", "`if (x) {`×N (unclosed)", |n| {
        format!("let x = true\n{}\n", rep("if (x) {", n))
    }),
    ("else_if_chain", "`if (x) {} else `×N + `{}`", |n| {
        format!("let x = false\n{}{{}}\n", rep("if (x) {} else ", n))
    }),
    (
        "nest_uncertain_if_closed",
        "`uncertain if (x) { high {`×N + `} }`×N",
        |n| {
            format!(
                "let x = true ~> 0.9\n{}{}\n",
                rep("uncertain if (x) { high {", n),
                rep("} }", n)
            )
        },
    ),
    (
        "nest_functions_closed",
        "`function f() {`×N + `}`×N",
        |n| format!("{}{}\n", rep("function f() {", n), rep("}", n)),
    ),
    (
        "nest_functions_open",
        "`function f() {`×N (unclosed)",
        |n| format!("{}\n", rep("function f() {", n)),
    ),
    (
        "nest_functions_open_in_match",
        "`let y = match x {` `_ => {` + `function f() {`×N (unclosed)",
        |n| {
            format!(
                "let x = 1\nlet y = match x {{\n  _ => {{\n{}\n",
                rep("function f() {\n", n)
            )
        },
    ),
    (
        "nest_template_closed",
        "`let x = ` + `` `${ ``×N + `1` + `` }` ``×N",
        |n| format!("let x = {}1{}\n", rep("`${", n), rep("}`", n)),
    ),
    ("nest_arrows", "`let f = ` + `x => `×N + `1`", |n| {
        format!("let f = {}1\n", rep("x => ", n))
    }),
    (
        "nest_spread_closed",
        "`let x = ` + `[...`×N + `[]` + `]`×N",
        |n| format!("let x = {}[]{}\n", rep("[...", n), rep("]", n)),
    ),
    ("nest_unary_minus", "`let x = ` + `- `×N + `1`", |n| {
        format!("let x = {}1\n", rep("- ", n))
    }),
    ("nest_unary_not", "`let x = ` + `!`×N + `true`", |n| {
        format!("let x = {}true\n", rep("!", n))
    }),
    ("chain_member", "`let x = a` + `.b`×N", |n| {
        format!("let a = {{}}\nlet x = a{}\n", rep(".b", n))
    }),
    ("chain_index", "`let x = a` + `[0]`×N", |n| {
        format!("let a = []\nlet x = a{}\n", rep("[0]", n))
    }),
    ("chain_assignment", "`a = `×N + `1`", |n| {
        format!("let a = 0\n{}1\n", rep("a = ", n))
    }),
    ("chain_sum", "`let x = ` + `1 + `×N + `1`", |n| {
        format!("let x = {}1\nprint(x)\n", rep("1 + ", n))
    }),
];

/// Every case of the issue, the nestings at `depth`.
pub fn cases(depth: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for (name, what, make) in NESTINGS {
        let text = make(depth);
        let what = what.replace("×N", &format!("×{depth}"));
        for cmd in ["check", "run"] {
            let mut c = case(
                &format!("{name}.{cmd}"),
                &what,
                &format!("{name}.prism"),
                text.clone(),
                &[cmd, "{FILE}"],
                30,
            );
            c.what = what.clone();
            out.push(c);
        }
    }
    out.push(case(
        "chain_sum_1m.run",
        "`let x = ` + `1 + `×1000000 + `1`",
        "sum.prism",
        format!("let x = {}1\nprint(x)\n", rep("1 + ", 1_000_000)),
        &["run", "{FILE}"],
        60,
    ));
    out.push(case(
        "print_minus_100k.check",
        "`print(` + `-`×100000 + `1)`",
        "minus.prism",
        format!("print({}1)\n", rep("-", 100_000)),
        &["check", "{FILE}"],
        60,
    ));
    out.push(case(
        "recovery_nested_blocks.check",
        "`if (x) {`×4000 + `zz (x) {` + `if (x) {`×4000",
        "recovery.prism",
        format!(
            "let x = true\n{}zz (x) {{{}\n",
            rep("if (x) {", 4000),
            rep("if (x) {", 4000)
        ),
        &["check", "{FILE}"],
        60,
    ));
    for (n, name) in [
        (65_535, "spaces_65535_paren"),
        (65_536, "spaces_65536_paren"),
    ] {
        out.push(case(
            &format!("{name}.check"),
            &format!("`' '`×{n} + `)`"),
            &format!("{name}.prism"),
            format!("{})\n", rep(" ", n)),
            &["check", "{FILE}"],
            30,
        ));
    }
    out.push(case(
        "runtime_error_column_65536.run",
        "`let a = null` newline `' '`×65536 + `a.b`",
        "rt65536.prism",
        format!("let a = null\n{}a.b\n", rep(" ", 65_536)),
        &["run", "{FILE}"],
        30,
    ));
    out.push(case(
        "yaml_key_65536.check",
        "a pattern with a 65,536-character key",
        "key65536.yaml",
        format!("name: p\ninput: {{}}\n{}: 1\noutput: 1\n", rep("k", 65_536)),
        &["check", "{FILE}"],
        30,
    ));
    let array_10mb = format!("let a = [{}1]\nprint(a.length)\n", rep("1,", 5_000_000));
    for cmd in ["check", "run"] {
        out.push(case(
            &format!("array_one_line_10mb.{cmd}"),
            "`let a = [` + `1,`×5000000 + `1]` (10 MB, one line)",
            "array10mb.prism",
            array_10mb.clone(),
            &[cmd, "{FILE}"],
            60,
        ));
    }
    let lists: [(&str, &str, String); 3] = [
        (
            "array_80k",
            "`let a = [` + `1, `×80000 + `1]`",
            format!("let a = [{}1]\nprint(a.length)\n", rep("1, ", 80_000)),
        ),
        (
            "call_args_80k",
            "`print(` + `1, `×80000 + `1)` (for comparison)",
            format!("print({}1)\n", rep("1, ", 80_000)),
        ),
        (
            "object_80k",
            "`let o = {` + `kI: 1, `×80000 + `}` (for comparison)",
            format!(
                "let o = {{{}z: 1}}\nprint(Object.keys(o).length)\n",
                (0..80_000)
                    .map(|i| format!("k{i}: 1, "))
                    .collect::<String>()
            ),
        ),
    ];
    for (name, what, text) in lists {
        for cmd in ["check", "run"] {
            out.push(case(
                &format!("{name}.{cmd}"),
                what,
                &format!("{name}.prism"),
                text.clone(),
                &[cmd, "{FILE}"],
                60,
            ));
        }
    }
    for n in [50_000, 100_000] {
        let text = format!(
            "name: keys\ninput: {{}}\noutput:\n{}",
            (0..n).map(|i| format!("  k{i}: 1\n")).collect::<String>()
        );
        for cmd in ["check", "run"] {
            out.push(case(
                &format!("yaml_mapping_{}k.{cmd}", n / 1000),
                &format!("a pattern whose `output` maps {n} keys `kI: 1`"),
                &format!("keys{n}.yaml"),
                text.clone(),
                &[cmd, "{FILE}"],
                120,
            ));
        }
    }
    let steps = format!(
        "name: steps\ninput: {{}}\nsteps:\n{}output: $s19999\n",
        (0..20_000)
            .map(|i| format!("  - id: s{i}\n    agents: {{min: 1}}\n"))
            .collect::<String>()
    );
    for cmd in ["check", "run"] {
        out.push(case(
            &format!("yaml_steps_20k.{cmd}"),
            "a pattern with 20,000 agent steps `- id: sI / agents: {min: 1}`",
            "steps.yaml",
            steps.clone(),
            &[cmd, "{FILE}"],
            120,
        ));
    }
    let huge = "name: huge\ninput: {}\nagents:\n  min: 1000000000\noutput: $results\n";
    for cmd in ["check", "run"] {
        out.push(case(
            &format!("agents_min_1e9.{cmd}"),
            "`agents: {min: 1000000000}`",
            "huge.yaml",
            huge.into(),
            &[cmd, "{FILE}"],
            60,
        ));
    }
    let huge_prism = "/**\n * @name huge\n * @minAgents 1000000000\n */\nresult = 1 ~> 0.9\n";
    for cmd in ["check", "run"] {
        out.push(case(
            &format!("min_agents_1e9_prism.{cmd}"),
            "an annotated `.prism` pattern with `@minAgents 1000000000`",
            "huge.prism",
            huge_prism.into(),
            &[cmd, "{FILE}"],
            60,
        ));
    }
    out.extend(agent_cases());
    out.push(case(
        "while_true_timeout.run",
        "`while (true) {}` run with `--timeout 1000`",
        "loop.prism",
        "while (true) {}\n".into(),
        &["run", "--timeout", "1000", "{FILE}"],
        20,
    ));
    out.push(case(
        "while_true_timeout_eval.run",
        "`prism run --timeout 1000 -e 'while (true) {}'`",
        "unused.prism",
        String::new(),
        &["run", "--timeout", "1000", "-e", "while (true) {}"],
        20,
    ));
    out.push(case(
        "string_doubling.run",
        "`let s = \"x\"; while (true) { s = s + s }`",
        "strings.prism",
        "let s = \"x\"\nwhile (true) { s = s + s }\n".into(),
        &["run", "{FILE}"],
        60,
    ));
    out.push(case(
        "array_doubling.run",
        "`let a = [1]; while (true) { a = a.concat(a) }`",
        "arrays.prism",
        "let a = [1]\nwhile (true) { a = a.concat(a) }\n".into(),
        &["run", "{FILE}"],
        60,
    ));
    out.push(case(
        "flat_self_infinity.run",
        "`let a = []; a.push(a); a.flat(Infinity)`",
        "flat.prism",
        "let a = []\na.push(a)\nprint(a.flat(Infinity).length)\n".into(),
        &["run", "{FILE}"],
        30,
    ));
    out.push(case(
        "json_stringify_deep.run",
        "an object nested 100,000 deep by a loop, then `JSON.stringify`",
        "json.prism",
        "let o = {}\nfor (let i = 0; i < 100000; i++) { o = {a: o} }\nprint(JSON.stringify(o).length)\n".into(),
        &["run", "{FILE}"],
        60,
    ));
    for cmd in ["check", "run"] {
        out.push(case(
            &format!("lone_cr.{cmd}"),
            "`let a = 1\\rlet b = c +\\rprint(b)\\r` (lone CR line ends)",
            "lonecr.prism",
            "let a = 1\rlet b = c +\rprint(b)\r".into(),
            &[cmd, "{FILE}"],
            30,
        ));
    }
    out.push(case(
        "escape_sequences.check",
        "ESC/OSC sequences (`ESC]0;pwned BEL`, `ESC[2J`) inside an erroneous line",
        "escapes.prism",
        "let a = \u{1b}]0;pwned\u{7}\u{1b}[2J 1 +\n".into(),
        &["check", "{FILE}"],
        30,
    ));
    out.push(case(
        "yaml_self_alias.run",
        "`output: &a [*a]` (an alias to itself)",
        "alias.yaml",
        "name: alias\ninput: {}\noutput: &a [*a]\n".into(),
        &["run", "{FILE}"],
        30,
    ));
    let mut fifo = case(
        "fifo.check",
        "a FIFO nobody writes to, named `fifo.prism`",
        "fifo.prism",
        String::new(),
        &["check", "{FILE}"],
        10,
    );
    fifo.fifo = true;
    out.push(fifo);
    out
}

/// The agent cases: a pattern asking one agent, and an agents file with a misbehaving one.
fn agent_cases() -> Vec<Case> {
    let pattern = "name: ask\ninput: {}\nagents:\n  capabilities: [x]\n  min: 1\n  retries: 0\noutput: $results\n";
    let agents: [(&str, &str, String); 6] = [
        (
            "process_stdout_flood",
            "a `lines` process agent writing zero bytes without end (`cat /dev/zero`)",
            "    command: [cat, /dev/zero]\n".into(),
        ),
        (
            "process_stdout_lines_flood",
            "a `lines` process agent writing `y` lines without end (`yes`)",
            "    command: [yes]\n".into(),
        ),
        (
            "process_stderr_flood",
            "a process agent writing zero bytes to stderr without end",
            "    command: \"cat /dev/zero >&2\"\n".into(),
        ),
        (
            "process_non_utf8_line",
            "a `lines` process agent answering each request with a non-UTF-8 line",
            "    command: \"while read l; do printf '\\\\377\\\\n'; done\"\n".into(),
        ),
        (
            "oneshot_detached_grandchild",
            "a `oneshot` agent that answers but leaves a detached grandchild holding stdout",
            "    mode: oneshot\n    command: \"setsid sleep 20 & echo ok; echo 'CONFIDENCE: 0.9'\"\n"
                .into(),
        ),
        (
            "http_endless_body",
            "an HTTP agent whose 200 response body never ends",
            "    url: http://127.0.0.1:{PORT}/\n".into(),
        ),
    ];
    agents
        .into_iter()
        .map(|(name, what, behaviour)| Case {
            name: format!("{name}.run"),
            what: what.into(),
            files: vec![
                ("ask.yaml".into(), pattern.as_bytes().to_vec()),
                (
                    "agents.yaml".into(),
                    format!("agents:\n  - name: bad\n    capabilities: [x]\n{behaviour}")
                        .into_bytes(),
                ),
            ],
            args: vec!["run".into(), "{FILE}".into()],
            timeout: Duration::from_secs(60),
            fifo: false,
        })
        .collect()
}

/// Writes every case's files under `dir/<case>/` (the FIFO case is made at run time).
pub fn generate(dir: &Path, port: u16, depth: usize) -> std::io::Result<()> {
    for c in cases(depth) {
        let d = dir.join(&c.name);
        std::fs::create_dir_all(&d)?;
        for (name, bytes) in &c.files {
            if c.fifo && name == &c.files[0].0 {
                continue;
            }
            let text = String::from_utf8_lossy(bytes).replace("{PORT}", &port.to_string());
            std::fs::write(d.join(name), text)?;
        }
    }
    Ok(())
}

/// A server that answers every request with a 200 whose body never ends.
fn endless_server() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"value\":\"";
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b'a'; 64 * 1024];
                while s.write_all(&chunk).is_ok() {}
            });
        }
    });
    Ok(port)
}

/// Runs the cases whose name contains `only` (all when empty) and writes `pathological.md`.
pub fn run(
    prism: &Path,
    out: &Path,
    memory: u64,
    only: &str,
    depth: usize,
) -> std::io::Result<String> {
    let mut spawner = Spawner::start()?;
    let port = endless_server()?;
    let dir = out.join("cases");
    generate(&dir, port, depth)?;
    let mut table = String::from(
        "| case | input | command | outcome | status | time | peak RSS | stderr (start) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for c in cases(depth).into_iter().filter(|c| c.name.contains(only)) {
        let d = dir.join(&c.name).canonicalize()?;
        let file = d.join(&c.files[0].0);
        if c.fifo {
            let _ = std::fs::remove_file(&file);
            let status = std::process::Command::new("mkfifo").arg(&file).status()?;
            if !status.success() {
                continue;
            }
        }
        let mut argv: Vec<OsString> = vec![prism.into(), "--color".into(), "never".into()];
        for a in &c.args {
            if a == "{FILE}" {
                argv.push(file.clone().into());
            } else {
                argv.push(a.into());
            }
        }
        let limits = Limits {
            timeout: c.timeout,
            memory,
        };
        let o = spawner.run(&argv, &d, &child_env(&d), limits)?;
        let class = exec::classify(&o);
        let status = match o.status {
            Status::Exited(code) => format!("exit {code}"),
            Status::Signaled(s) => format!("signal {s}"),
            Status::TimedOut => format!("killed at {} s", c.timeout.as_secs()),
        };
        let mut err = exec::printable(&o.stderr, 160)
            .replace('\n', "⏎")
            .replace('|', "\\|");
        if exec::has_control_bytes(&o) {
            err.insert_str(0, "[control bytes] ");
        }
        let shown: Vec<String> = c.args.iter().map(|a| a.replace("{FILE}", "FILE")).collect();
        let row = format!(
            "| {} | {} | `prism {}` | **{}** | {} | {:.2} s | {} MiB | {} |\n",
            c.name,
            c.what.replace('|', "\\|"),
            shown.join(" "),
            class.name(),
            status,
            o.elapsed.as_secs_f64(),
            o.max_rss_kib >> 10,
            err
        );
        eprint!("{row}");
        table.push_str(&row);
        std::fs::write(out.join("pathological.md"), &table)?;
        std::fs::write(
            d.join("stderr.txt"),
            format!(
                "{:?} after {:?}, peak RSS {} KiB, stdout {} bytes, stderr {} bytes\n{}",
                o.status,
                o.elapsed,
                o.max_rss_kib,
                o.stdout_len,
                o.stderr_len,
                exec::printable(&o.stderr, 20_000)
            ),
        )?;
        if c.fifo {
            let _ = std::fs::remove_file(&file);
        }
    }
    Ok(table)
}
