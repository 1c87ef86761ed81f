//! `challenger`: the rollup node in the seeds' accuser mode: it computes every commitment but
//! publishes only when a published one differs from its own, so the conflict is on the L1 and
//! cementing stops at the fork. Configuration and RPC are in `docs/rollup-node.md`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollup_node::service::main(rollup_node::config::Mode::Accuser, "challenger").await
}
