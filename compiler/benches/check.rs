//! `prism check` throughput on the generated 5 MB program of issue #14, phase by phase.
//!
//! `cargo bench -p prism-compiler --bench check` reports MB/s (criterion's throughput) for
//! each phase of what `prism check` runs on a program: lexing, the layout pass, the whole
//! parse (lex → layout → nesting → grammar → early checks), name analysis with its lints, and
//! the whole driver (`driver::compile`, what the command calls). `PRISM_WRITE_GEN=path`
//! writes the generated text to `path` first (for `hyperfine 'prism check path'`); it is the
//! same text as `gen_program.py` beside this file writes.

use std::fmt::Write as _;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator of the `prism` binary, so the figures are those of `prism check`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One block of the generated program (the same text as `gen_program.py`).
fn block(out: &mut String, i: usize) {
    let _ = write!(
        out,
        r#"// block {i}
function compute{i}(a, b = 2) {{
  let total = a * b + {i} ~> 0.8
  const label = "item-{i}"
  if (total > 100 ~&& <~total >= 0.5) {{
    total = total - 1
  }} else {{
    total += 2
  }}
  for (let k = 0; k < 3; k++) {{
    total = total + k
  }}
  let obj = {{name: label, value: total, tags: ["a", "b", {i}]}}
  uncertain if (total) {{
    high {{ return obj.value }}
    medium {{ return obj.value / 2 }}
    low {{ return null }}
  }}
  return [1, 2, 3].map(x => x * total).filter(x => x > 1)
}}
"#
    );
}

/// The generated program: blocks until the text reaches 5 MiB.
fn program() -> String {
    let mut src = String::new();
    let mut i = 0;
    while src.len() < 5 * 1024 * 1024 {
        block(&mut src, i);
        i += 1;
    }
    src
}

/// The CPU time this thread has used, in nanoseconds (Linux: the first field of
/// `/proc/thread-self/schedstat`), or `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// `PRISM_CPU_PHASES=N`: runs each phase N times and prints its least CPU time (not wall
/// time: on a busy machine wall time says more about the other processes than about this one).
fn cpu_phases(src: &str, runs: u32) {
    let options = prism_compiler::pattern::CompileOptions::default();
    let license = prism_license::License::open_source();
    let compile =
        || prism_compiler::driver::compile(Path::new("gen5mb.prism"), src, &options, &license);
    let mb = src.len() as f64 / 1e6;
    let print = |name: &str, ns: u64| {
        let ms = ns as f64 / 1e6;
        println!("{name:<46} {ms:>7.1} ms CPU {:>7.1} MB/s", mb / (ms / 1e3));
    };
    // Times `run` on what `setup` makes (setup and freeing the result are not timed).
    fn least<T, U>(runs: u32, mut setup: impl FnMut() -> T, mut run: impl FnMut(T) -> U) -> u64 {
        let mut best = u64::MAX;
        for _ in 0..runs {
            let input = setup();
            let start = cpu_ns().unwrap_or(0);
            let out = run(input);
            let end = cpu_ns().unwrap_or(0);
            drop(out);
            best = best.min(end - start);
        }
        best
    }
    print(
        "lex",
        least(runs, || (), |()| prism_compiler::lexer::lex(src)),
    );
    let (raw, _) = prism_compiler::lexer::lex(src);
    print(
        "layout",
        least(
            runs,
            || raw.clone(),
            |raw| prism_compiler::layout::layout_noting_joins(src, raw, false),
        ),
    );
    print(
        "parse (lex, layout, grammar, early checks)",
        least(runs, || (), |()| prism_compiler::parse(src)),
    );
    print(
        "parse + analysis",
        least(
            runs,
            || (),
            |()| prism_compiler::analysis::Analysis::new(src),
        ),
    );
    print(
        "driver::compile (what prism check runs)",
        least(runs, || (), |()| compile()),
    );
    print(
        "freeing its unit",
        least(runs, compile, |unit| drop(std::hint::black_box(unit))),
    );
}

fn phases(c: &mut Criterion) {
    let src = program();
    if let Ok(path) = std::env::var("PRISM_WRITE_GEN")
        && let Err(e) = std::fs::write(&path, &src)
    {
        eprintln!("cannot write {path}: {e}");
    }
    if let Some(runs) = std::env::var("PRISM_CPU_PHASES")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        cpu_phases(&src, runs);
        return;
    }
    let parsed = prism_compiler::parse(&src);
    assert!(
        !parsed.has_errors(),
        "the benchmark input must parse cleanly: {:?}",
        parsed.diagnostics.first()
    );
    let mut group = c.benchmark_group("check 5 MB");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.sample_size(10);
    group.bench_function("lex", |b| {
        b.iter(|| prism_compiler::lexer::lex(std::hint::black_box(&src)))
    });
    let (raw, _) = prism_compiler::lexer::lex(&src);
    group.bench_function("layout", |b| {
        b.iter_batched(
            || raw.clone(),
            |raw| prism_compiler::layout::layout_noting_joins(&src, raw, false),
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function("parse (lex, layout, grammar, early checks)", |b| {
        b.iter(|| prism_compiler::parse(std::hint::black_box(&src)))
    });
    group.bench_function("parse + analysis", |b| {
        b.iter(|| prism_compiler::analysis::Analysis::new(std::hint::black_box(&src)))
    });
    let options = prism_compiler::pattern::CompileOptions::default();
    let license = prism_license::License::open_source();
    group.bench_function("driver::compile (prism check)", |b| {
        b.iter(|| {
            prism_compiler::driver::compile(
                Path::new("gen5mb.prism"),
                std::hint::black_box(&src),
                &options,
                &license,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, phases);
criterion_main!(benches);
