//! Executor benchmarks: one parallel voting pattern over 10,000 local agents end to end
//! (compile excluded, selection, dispatch, aggregation, output and record included), and the
//! per-call overhead of the executor (one agent, one call).

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use prism_agents::local::{Behaviour, LocalAgent};
use prism_agents::{AgentInfo, AgentSet, SharedAgent};
use prism_compiler::pattern::compile_file;
use prism_compiler::plan::Plan;
use prism_executor::{RunOptions, RunStatus, execute};
use serde_json::json;

const PATTERN: &str = "name: fan-out\ninput: {}\nagents:\n  capabilities: [vote]\n  min: 1\naggregation:\n  strategy: voting\n  method: majority\noutput:\n  decision: $vote.winner\n  voters: $totalCount\n";

fn plan() -> Arc<Plan> {
    let out = compile_file("bench.yaml", PATTERN);
    Arc::new(
        out.plan
            .unwrap_or_else(|| panic!("the bench pattern compiles: {:?}", out.diagnostics)),
    )
}

fn agents(n: usize) -> AgentSet {
    let list: Vec<SharedAgent> = (0..n)
        .map(|i| {
            let value = if i % 3 == 0 {
                json!("no")
            } else {
                json!("yes")
            };
            Arc::new(LocalAgent::new(
                AgentInfo::new(format!("agent-{i}"), vec!["vote".into()]),
                Behaviour::Respond {
                    value,
                    confidence: 0.8,
                },
                None,
            )) as SharedAgent
        })
        .collect();
    AgentSet::new(list)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio: {e}"));
    let plan = plan();
    for (name, n) in [
        ("parallel_voting_10000_agents", 10_000),
        ("per_call_overhead_1_agent", 1),
    ] {
        let set = agents(n);
        let mut g = c.benchmark_group("executor");
        if n > 1 {
            g.sample_size(20).measurement_time(Duration::from_secs(10));
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                let opts = RunOptions {
                    agents: set.clone(),
                    ..RunOptions::default()
                };
                let record = rt.block_on(execute(plan.clone(), opts));
                assert_eq!(record.status, RunStatus::Completed);
                assert_eq!(record.agent_results.len(), n);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
