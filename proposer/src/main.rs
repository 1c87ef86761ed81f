//! `proposer`: the rollup node in the seeds' operator mode. Configuration and RPC are in
//! `docs/rollup-node.md`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollup_node::service::main(rollup_node::config::Mode::Operator, "proposer").await
}
