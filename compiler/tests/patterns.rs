//! Compiles every file of `tests/data/patterns/` (a copy of `shared/patterns/`) and checks it against `expect.tsv`.

use std::path::{Path, PathBuf};

use prism_compiler::pattern::{CompileOptions, CompileOutput, compile_file_with};
use serde_json::Value;

#[path = "patterns/shape.rs"]
mod shape;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/patterns")
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

/// Every emitter runs on every plan. The generated Prism parses, compiles without a warning to a plan with the
/// same name, version, input schema and directives, and calls the same agent groups with
/// the same selection in the same order: a single-phase pattern keeps its group as
/// `@agents` (the same `AgentGroup` node), every other group is a `callAgents(selection, …)`
/// (`fillRole(role, selection)` for an org chart's roles) in the script.
#[test]
fn emitters_run_on_every_plan() {
    let mut with_header = 0;
    let mut calls = 0;
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
        let warnings: Vec<_> = back.diagnostics.iter().map(|d| d.code).collect();
        assert!(warnings.is_empty(), "{}: {warnings:?}", e.path);
        assert_eq!(plan_back.meta.name, plan.meta.name);
        assert_eq!(plan_back.meta.version, plan.meta.version);
        assert_eq!(plan_back.meta.input, plan.meta.input, "{}", e.path);
        let directives = |p: &prism_compiler::plan::Plan| -> Vec<String> {
            p.directives()
                .iter()
                .map(|d| format!("{:?} {}", d.kind, d.config))
                .collect()
        };
        assert_eq!(directives(&plan_back), directives(&plan), "{}", e.path);

        let mut expected = agent_groups(&plan.graph);
        let header: Vec<Value> = agent_groups(&plan_back.graph)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        if let Some(h) = header.first() {
            // The header's group is the YAML's top-level group, node for node.
            assert_eq!(header.len(), 1, "{}", e.path);
            let (_, top) = expected.remove(0);
            assert_eq!(h, &top, "{}: @agents", e.path);
            with_header += 1;
        }
        let mut called = selections_called(&src);
        if let (Some(h), Some(first)) = (header.first(), called.first())
            && *first == expressions_as_markers(h)
            && called.len() == expected.len() + 1
        {
            // Validation retries call the header's group again from the script.
            called.remove(0);
        }
        let expected: Vec<Value> = expected
            .into_iter()
            .map(|(role, s)| match role {
                Some(r) => serde_json::json!([r, s]),
                None => expressions_as_markers(&s),
            })
            .collect();
        calls += called.len();
        assert_eq!(called, expected, "{}: agent groups\n{src}", e.path);
    }
    assert!(with_header > 30, "only {with_header} plans keep `@agents`");
    assert!(calls > 100, "only {calls} agent groups were called");
}

/// The selections of a graph's agent groups in node order (loop and batch bodies where their
/// node is), with the role of an org chart's groups.
fn agent_groups(g: &prism_compiler::plan::Graph) -> Vec<(Option<String>, Value)> {
    use prism_compiler::plan::NodeKind;
    let mut out = Vec::new();
    for i in g.node_indices() {
        let Some(n) = g.node_weight(i) else { continue };
        match &n.kind {
            NodeKind::AgentGroup {
                selection, role, ..
            } => out.push((role.clone(), selection.to_json())),
            NodeKind::Loop { body, .. } | NodeKind::Batch { body, .. } => {
                out.extend(agent_groups(&body.graph))
            }
            _ => {}
        }
    }
    out
}

/// A selection's `$…` capabilities and exclusions (expressions evaluated when the phase
/// starts) as `"<expr>"`, what [`Reader`] reads an expression as.
fn expressions_as_markers(v: &Value) -> Value {
    let mut v = v.clone();
    for key in ["capabilities", "exclude"] {
        match v.get_mut(key) {
            Some(Value::Array(items)) => {
                for x in items.iter_mut() {
                    if x.as_str().is_some_and(|s| s.starts_with('$')) {
                        *x = Value::from("<expr>");
                    }
                }
            }
            Some(x) if x.as_str().is_some_and(|s| s.starts_with('$')) => {
                *x = Value::from(vec!["<expr>"]);
            }
            _ => {}
        }
    }
    v
}

/// The selections the script passes to `callAgents(selection, …)` and, as `[role,
/// selection]`, to `fillRole(role, selection)`, in source order.
fn selections_called(src: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, args) in [("callAgents(", 1), ("fillRole(", 2)] {
        let mut from = 0;
        while let Some(at) = src[from..].find(name) {
            let start = from + at;
            from = start + name.len();
            let before = src[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let mut r = Reader {
                s: src.as_bytes(),
                i: from,
            };
            let mut vals = Vec::new();
            for k in 0..args {
                if k > 0 {
                    r.expect(b',');
                }
                vals.push(r.value());
            }
            let v = if args == 1 {
                vals.remove(0)
            } else {
                Value::Array(vals)
            };
            out.push((start, v));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, v)| v).collect()
}

/// Reads a Prism literal (objects, arrays, strings, numbers, `true false null`); any other
/// expression reads as `"<expr>"`.
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn skip(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) {
        self.skip();
        assert_eq!(self.s.get(self.i), Some(&b), "at byte {}", self.i);
        self.i += 1;
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Value {
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut m = serde_json::Map::new();
                while self.peek() != Some(b'}') {
                    let key = match self.peek() {
                        Some(b'"') => self.string(),
                        _ => self.word(),
                    };
                    self.expect(b':');
                    m.insert(key, self.value());
                    if self.peek() == Some(b',') {
                        self.i += 1;
                    }
                }
                self.i += 1;
                Value::Object(m)
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                while self.peek() != Some(b']') {
                    a.push(self.value());
                    if self.peek() == Some(b',') {
                        self.i += 1;
                    }
                }
                self.i += 1;
                Value::Array(a)
            }
            Some(b'"') => Value::String(self.string()),
            _ => {
                let start = self.i;
                let mut depth = 0i32;
                while let Some(&c) = self.s.get(self.i) {
                    match c {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' if depth == 0 => break,
                        b')' | b']' | b'}' => depth -= 1,
                        b',' if depth == 0 => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]);
                let text = text.trim();
                serde_json::from_str(text)
                    .ok()
                    .filter(|v: &Value| !v.is_string())
                    .unwrap_or_else(|| Value::from("<expr>"))
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn string(&mut self) -> String {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(&n) = self.s.get(self.i) {
                        self.i += 1;
                        match n {
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            other => out.push(other),
                        }
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Snapshots of the Prism `prism build --emit prism` writes: a single-phase pattern with
/// groups, validation and a fallback; steps that jump (a step machine); an org chart.
#[test]
fn emitted_prism_snapshots() {
    for rel in [
        "sdk-compiler-tests/40-valid-all-features-combined.yaml",
        "docs/apps__docs__docs__patterns__advanced-composition--block09.yaml",
        "patterns/org-startup-team.yaml",
    ] {
        let plan = compile(rel)
            .plan
            .unwrap_or_else(|| panic!("{rel} does not compile"));
        insta::assert_snapshot!(format!("emitted__{}", snapshot_name(rel)), plan.to_prism());
    }
}
