//! Interpreter throughput on four workloads: recursive calls, an arithmetic loop, array
//! pipelines and string building — and the loop again with a step limit, a timeout and a
//! cancellation token set, to show what enforcing limits costs.

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

use prism_interp::{CaptureOutput, Interpreter, Options, RunLimits};
use tokio_util::sync::CancellationToken;

const FIB: &str = r#"
function fib(n) {
  if (n < 2) { return n }
  return fib(n - 1) + fib(n - 2)
}
print(fib(25))
"#;

const LOOP: &str = r#"
let sum = 0
for (let i = 0; i < 1000000; i++) {
  sum = sum + i * 2 % 7
}
print(sum)
"#;

const MAP_FILTER_REDUCE: &str = r#"
let xs = []
for (let i = 0; i < 100000; i++) { xs.push(i) }
print(xs.map(x => x * 2).filter(x => x % 3 == 0).reduce((a, b) => a + b, 0))
"#;

const STRING_BUILD: &str = r#"
let s = ""
for (let i = 0; i < 100000; i++) { s += "ab" + i }
print(s.length)
"#;

fn run(source: &str, limits: RunLimits) {
    let parsed = prism_compiler::parse(source);
    let file = prism_compiler::SourceFile::new("bench.prism", source);
    let mut interp = Interpreter::new(Options {
        output: Box::new(CaptureOutput::new()),
        limits,
        ..Options::default()
    });
    if let Err(e) = interp.run_program(&parsed.program, &file) {
        eprintln!("benchmark program failed: {}", e.message);
    }
}

fn workloads(c: &mut Criterion) {
    let mut group = c.benchmark_group("interp");
    group.sample_size(10);
    for (name, source) in [
        ("fib_25", FIB),
        ("arith_loop_1m", LOOP),
        ("map_filter_reduce_100k", MAP_FILTER_REDUCE),
        ("string_build_100k", STRING_BUILD),
    ] {
        group.bench_function(name, |b| b.iter(|| run(source, RunLimits::default())));
    }
    let limits = RunLimits {
        max_steps: Some(u64::MAX / 2),
        timeout: Some(Duration::from_secs(3600)),
        cancel: Some(CancellationToken::new()),
        max_memory: None,
    };
    group.bench_function("arith_loop_1m_limited", |b| {
        b.iter(|| run(LOOP, limits.clone()))
    });
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
