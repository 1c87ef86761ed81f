//! `poster`: posts the rollup's sequencer blocks to the L1 through the bridge. See the crate
//! documentation and `docs/rollup-node.md` (section "Posting").

use std::sync::Arc;
use std::time::Duration;

use bridge::client::BridgeClient;
use clap::Parser;
use sequencer_poster::batcher::{Batcher, ChannelSink, Position, PosterMetrics};
use sequencer_poster::config::{Certify, PosterConfig};
use sequencer_poster::direct::DirectSequencer;
use service_kit::{init_tracing, ops_router, serve, shutdown_token, ConfigArgs, Health, Metrics};

/// Posts finalized sequencer blocks of the rollup to its L1 inbox.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing("info");
    let cli = Cli::parse();
    let config: PosterConfig = cli.config.load([])?;
    let shutdown = shutdown_token();
    let bridge = BridgeClient::new(&config.bridge_url);
    let rollup = loop {
        match bridge.rollup().await {
            Ok(r) => break r,
            Err(e) => {
                tracing::warn!("bridge not ready ({e}); retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    tracing::info!(mode = ?config.certify, namespace = rollup.namespace, from = rollup.last_sequencer_height + 1, "posting");
    let metrics = Metrics::new("poster");
    let pm = PosterMetrics::register(&metrics);
    let position = Arc::new(Position::default());
    position.posted.store(rollup.last_sequencer_height, std::sync::atomic::Ordering::SeqCst);
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let batcher = Batcher::new(config.clone(), bridge.clone(), rollup.namespace, position.clone(), pm.clone())?;
    let batching = tokio::spawn(batcher.run(rx, shutdown.clone()));

    let mut router = axum::Router::new();
    let source = match config.certify {
        Certify::Direct => {
            let seq = DirectSequencer::new(rollup.namespace, rollup.sequencer_chain_id, config.max_pending_txs);
            router = router.merge(seq.router());
            let interval = Duration::from_millis(config.block_interval_ms);
            tokio::spawn(seq.build(bridge.clone(), position.clone(), tx, interval, shutdown.clone()))
        }
        _ => {
            let clients: Vec<sequencer_api::Client> = config.sequencer_urls.iter().map(|u| sequencer_api::Client::new(u)).collect();
            let mut sink = ChannelSink { position: position.clone(), tx, next: rollup.last_sequencer_height + 1 };
            let stop = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = sequencer_api::sink::follow(&clients, &mut sink, stop).await {
                    tracing::error!("stopped following the sequencer: {e}");
                }
            })
        }
    };
    let posted = position.clone();
    let health = Health::new(move || (true, serde_json::json!({ "posted_height": posted.posted.load(std::sync::atomic::Ordering::SeqCst) })));
    let app = router.merge(ops_router(metrics, health));
    let (addr, server) = serve(config.listen, app, shutdown.clone()).await?;
    tracing::info!("poster on http://{addr}");
    server.await?;
    let _ = source.await;
    let _ = batching.await;
    tracing::info!("poster stopped");
    Ok(())
}
