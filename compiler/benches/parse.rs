//! Lexing + parsing throughput on a generated Prism file of more than 5 MB.
//!
//! `cargo bench -p prism-compiler --bench parse` reports MB/s (criterion's throughput), and the
//! time to compile the whole pattern corpus of `tests/data/patterns/`, and the time to draw
//! 10,000 diagnostics of the 5 MB file.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// One block of realistic Prism: functions, confidence operators, collections, templates,
/// uncertain branches, loops and a match.
fn block(i: usize) -> String {
    format!(
        r#"// block {i}
function score{i}(items, weight) {{
  let total = 0
  for item in items {{
    total += item.value * weight ~> 0.9
  }}
  return total / (items.length || 1)
}}
const config{i} = {{name: "agent-{i}", limits: [1, 2, 3], nested: {{deep: true, ratio: 0.75}}}}
let votes{i} = [0.9, 0.75, 0.4].map(c => "yes" ~> c).filter(v => <~ v >= 0.5)
let best{i} = votes{i}[0] ~||> ("no" ~> 0.6)
uncertain if (best{i}) {{
  high {{ print("act ${{best{i}}} now") }}
  medium {{ print(`check ${{config{i}.name}}`) }}
  low {{ print("wait") }}
  default {{ print("unknown") }}
}}
let label{i} = match score{i}([{{value: {i}}}], 2) {{
  x if x > 100 => "large",
  0 => "zero",
  _ => "small"
}}
let merged{i} = {{...config{i}, extra: label{i} ?? "none"}}
let [first{i}, ...rest{i}] = [1, 2, 3]
while (first{i} < 3) {{ first{i}++ }}
let piped{i} = 5 |> score{i}([{{value: _}}], 1) ~?? 0
"#
    )
}

fn source() -> String {
    let mut src = String::new();
    let mut i = 0;
    while src.len() < 5 * 1024 * 1024 + 1 {
        src.push_str(&block(i));
        i += 1;
    }
    src
}

fn bench(c: &mut Criterion) {
    let src = source();
    let parsed = prism_compiler::parse(&src);
    assert!(
        parsed.diagnostics.is_empty(),
        "the benchmark input must parse cleanly: {:?}",
        parsed.diagnostics.first()
    );
    let mut group = c.benchmark_group("frontend");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.sample_size(10);
    group.bench_function("lex+parse 5 MB", |b| {
        b.iter(|| prism_compiler::parse(std::hint::black_box(&src)))
    });
    group.bench_function("lex only 5 MB", |b| {
        b.iter(|| prism_compiler::lexer::lex(std::hint::black_box(&src)))
    });
    group.finish();
}

/// Compiling every YAML pattern of the shared corpus (what `prism build` does per file, without
/// the I/O): load, check, build the plan, estimate confidence.
fn patterns(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/patterns");
    let Ok(tsv) = std::fs::read_to_string(root.join("expect.tsv")) else {
        eprintln!(
            "skipping the pattern corpus bench: {} not found",
            root.display()
        );
        return;
    };
    let files: Vec<(String, String)> = tsv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .filter_map(|p| {
            let path = root.join(p);
            let text = std::fs::read_to_string(&path).ok()?;
            Some((path.display().to_string(), text))
        })
        .collect();
    let options = prism_compiler::pattern::CompileOptions::default();
    let mut group = c.benchmark_group("patterns");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.bench_function(format!("compile {} corpus files", files.len()), |b| {
        b.iter(|| {
            for (path, text) in &files {
                std::hint::black_box(prism_compiler::pattern::compile_file_with(
                    path, text, &options,
                ));
            }
        })
    });
    group.finish();
}

/// Drawing the diagnostics of a large file: 10,000 warnings spread over the 5 MB source, each
/// with its source lines (what `prism check` prints for a file full of unused names).
fn diagnostics(c: &mut Criterion) {
    let src = source();
    let file = prism_compiler::SourceFile::new("big.prism", src.as_str());
    let step = src.len() / 10_000;
    let diags: Vec<_> = (0..10_000)
        .map(|i| {
            let at = (i * step..src.len())
                .find(|&o| src.is_char_boundary(o))
                .unwrap_or(0);
            let end = (at + 1..=src.len())
                .find(|&o| src.is_char_boundary(o))
                .unwrap_or(at);
            prism_compiler::Diagnostic::warning(
                "prism::lint::unused",
                "`x` is never used",
                prism_compiler::Span::new(at, end),
            )
        })
        .collect();
    let mut group = c.benchmark_group("diagnostics");
    group.sample_size(10);
    group.throughput(Throughput::Elements(diags.len() as u64));
    group.bench_function("render 10,000 warnings of a 5 MB file", |b| {
        b.iter(|| prism_compiler::diagnostic::render(&diags, &file, false))
    });
    group.finish();
}

criterion_group!(benches, bench, patterns, diagnostics);
criterion_main!(benches);
