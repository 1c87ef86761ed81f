//! `bridge`: the contract-bridge service. See `docs/bridge.md`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::Context;
use bridge::config::BridgeConfig;
use bridge::indexer::{Indexer, RollupInfo};
use bridge::ops::Operations;
use bridge::sender::{SenderConfig, TxSender};
use bridge::server::{router, AppState};
use clap::Parser;
use prometheus_client::metrics::gauge::Gauge;
use service_kit::{init_tracing, ops_router, serve, shutdown_token, string_override, ConfigArgs, Health, Metrics};

/// The contract-bridge: the one process that talks to the L1.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    /// Shorthand for `--set listen=...`.
    #[arg(long)]
    listen: Option<String>,
    /// Shorthand for `--set l1_rpc=...`.
    #[arg(long)]
    l1_rpc: Option<String>,
    /// Shorthand for `--set rollup=...`.
    #[arg(long)]
    rollup: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing("info");
    let cli = Cli::parse();
    let shorthands = [("listen", &cli.listen), ("l1_rpc", &cli.l1_rpc), ("rollup", &cli.rollup)].into_iter().filter_map(|(k, v)| string_override(k, v.as_ref()));
    let cfg: BridgeConfig = cli.config.load(shorthands)?;
    let rollup = cfg.rollup.context("no rollup address: set `rollup` in the config or pass --rollup")?;
    let shutdown = shutdown_token();

    let reader = ProviderBuilder::new().connect_http(cfg.l1_rpc.parse().context("l1_rpc is not a URL")?).erased();
    let info = loop {
        match RollupInfo::fetch(&reader, rollup).await {
            Ok(i) => break i,
            Err(e) => {
                tracing::warn!("cannot read rollup {rollup} on {} yet ({e}); retrying", cfg.l1_rpc);
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    tracing::info!(%rollup, origination = info.origination_block, namespace = info.rules.namespace, "following the rollup");

    let sender_cfg = SenderConfig { receipt_timeout: Duration::from_millis(cfg.receipt_timeout_ms), ..SenderConfig::default() };
    let mut senders = HashMap::new();
    for (purpose, signer) in cfg.keys.signers()? {
        let s = TxSender::connect(&cfg.l1_rpc, signer, sender_cfg.clone()).await?;
        tracing::info!(%purpose, account = %s.address(), "key configured");
        senders.insert(purpose, Arc::new(s));
    }
    let ops = Arc::new(Operations::new(rollup, reader.clone(), senders));
    let indexer = Indexer::new(reader.clone(), info, cfg.confirmations);

    let metrics = Metrics::new("bridge");
    let indexed = Gauge::<i64>::default();
    metrics.register("indexed_l1_block", "Last L1 block indexed", indexed.clone());
    let state = AppState::new(indexer.clone(), ops, &metrics);
    let health_indexer = indexer.clone();
    let health = Health::new(move || {
        let fault = health_indexer.fault();
        (fault.is_none(), serde_json::json!({ "indexed_to": health_indexer.indexed_to(), "fault": fault }))
    });

    let idx = indexer.clone();
    let poll = Duration::from_millis(cfg.poll_interval_ms);
    let indexing = tokio::spawn(idx.run(poll, shutdown.clone()));
    let gauge_indexer = indexer.clone();
    let gauge_shutdown = shutdown.clone();
    tokio::spawn(async move {
        while !gauge_shutdown.is_cancelled() {
            indexed.set(gauge_indexer.indexed_to() as i64);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let app = router(state).merge(ops_router(metrics, health));
    let (addr, server) = serve(cfg.listen, app, shutdown.clone()).await?;
    tracing::info!("bridge API on http://{addr}");
    server.await?;
    indexing.await?;
    tracing::info!("bridge stopped");
    Ok(())
}
