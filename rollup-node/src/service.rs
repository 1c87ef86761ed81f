//! The node as a service: configuration, tasks, RPC, graceful shutdown. Both binaries call
//! [`main`] with their mode.


use clap::Parser;
use service_kit::{init_tracing, ops_router, serve, shutdown_token, string_override, ConfigArgs, Health, Metrics};

use crate::config::{Mode, NodeConfig};
use crate::node::Node;

/// Command line of `proposer` and `challenger`.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// `--config` and `--set` (e.g. `--set bridge_url=http://..`).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Shorthand for `--set listen=...`.
    #[arg(long)]
    pub listen: Option<String>,
    /// Shorthand for `--set bridge_url=...`.
    #[arg(long)]
    pub bridge_url: Option<String>,
    /// Shorthand for `--set data_dir=...`.
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Shorthand for `--set kernel=...`.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Fault injection (testing): publish a corrupted state hash for the commitment covering
    /// this level.
    #[arg(long)]
    pub fault_corrupt_state_at_level: Option<u32>,
}

/// Runs a node in `mode` until SIGTERM or Ctrl-C.
pub async fn main(mode: Mode, prefix: &str) -> anyhow::Result<()> {
    init_tracing("info");
    let cli = Cli::parse();
    let mut sets = vec![format!("mode=\"{}\"", serde_json::to_value(mode)?.as_str().unwrap_or("operator"))];
    let strings = [("listen", &cli.listen), ("bridge_url", &cli.bridge_url), ("data_dir", &cli.data_dir), ("kernel", &cli.kernel)];
    sets.extend(strings.into_iter().filter_map(|(k, v)| string_override(k, v.as_ref())));
    if let Some(l) = cli.fault_corrupt_state_at_level {
        sets.push(format!("faults.corrupt_state_at_level={l}"));
    }
    let config: NodeConfig = cli.config.load(sets)?;
    let shutdown = shutdown_token();
    let metrics = Metrics::new(prefix);
    let node = Node::start(config.clone(), &metrics, &shutdown).await?;

    let h = node.clone();
    let health = Health::new(move || {
        let s = h.shared();
        let stalled = s.last_progress.elapsed().as_secs() > 60;
        (
            s.disagreement.is_none() && !stalled,
            serde_json::json!({
                "mode": h.config.mode,
                "confirmed_level": s.confirmed_level,
                "l1_block": s.l1_block,
                "last_cemented_level": s.l1.last_cemented().1,
                "disagreement": s.disagreement,
                "last_action_error": s.last_action_error,
                "seconds_since_progress": s.last_progress.elapsed().as_secs(),
            }),
        )
    });
    let follower = tokio::spawn(node.clone().follow(shutdown.clone()));
    let actor = tokio::spawn(node.clone().act(shutdown.clone()));
    let app = crate::rpc::router(node.clone()).merge(ops_router(metrics, health));
    let (addr, server) = serve(config.listen, app, shutdown.clone()).await?;
    tracing::info!("rollup node RPC on http://{addr}");
    server.await?;
    follower.await?;
    actor.await?;
    tracing::info!("rollup node stopped at level {}", node.pvm().head().level);
    Ok(())
}
