//! `--registry ADDR` of `prism run` and `prism serve`: Prism serves the Parallax agent
//! registry and agent gateway on ADDR (`prism-grpc`), and the agents that register or
//! connect there take part in runs as agents from a file do.

use std::sync::Arc;
use std::time::Duration;

use prism_agents::AgentSet;
use prism_grpc::{ControlPlane, Directory};

/// Adds the live agents of `directory` to every run of `set`; without an agents file they
/// replace the built-in local agents.
pub fn attach(set: &mut AgentSet, directory: &Arc<Directory>) {
    if set.builtin {
        set.agents.clear();
        set.builtin = false;
    }
    set.live = Some(directory.clone());
}

/// Starts serving on `address` and says where on stderr.
pub async fn start(address: &str, directory: Arc<Directory>) -> Result<ControlPlane, String> {
    let plane = ControlPlane::start(address, directory)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "registry: serving parallax.registry.Registry and parallax.gateway.AgentGateway on {}",
        plane.address()
    );
    Ok(plane)
}

/// For one run (`prism run --registry`): starts serving, then waits up to `wait` until the
/// file's agents and the joined ones number at least `min` (the pattern's largest `min`).
pub fn open_for_run(
    runtime: &tokio::runtime::Runtime,
    address: &str,
    wait: Duration,
    agents: &mut AgentSet,
    min: usize,
) -> Result<ControlPlane, String> {
    let directory = Directory::new();
    attach(agents, &directory);
    let needed = min.saturating_sub(agents.agents.len());
    runtime.block_on(async {
        let plane = start(address, directory.clone()).await?;
        if needed > 0 {
            eprintln!(
                "registry: waiting up to {} s for {needed} agent(s) to register or connect",
                wait.as_secs()
            );
            let live = directory.wait_for(needed, wait).await;
            let names = directory.names();
            eprintln!(
                "registry: {live} agent(s) joined{}{}",
                if names.is_empty() { "" } else { ": " },
                names.join(", ")
            );
        }
        Ok(plane)
    })
}
