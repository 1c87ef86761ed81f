//! Wiring a node together: storage, consensus driver, network, mempool, API, sink.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consensus::{Bls, Replica, WireContext};
use sequencer_mempool::{Mempool, MempoolConfig};
use sequencer_p2p::{Network, NetworkConfig};
use sequencer_store::Store;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::config::Resolved;
use crate::driver::{Driver, Pacing};
use crate::l1::{FixedHead, L1HeadSource, RpcHead};
use crate::metrics::NodeMetrics;

/// What the consensus driver publishes for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsensusStatus {
    /// Current view.
    pub view: u64,
    /// Its leader.
    pub leader: u16,
    /// Highest decided height.
    pub decided: u64,
}

/// State shared by the driver, the router, the API and the sink.
pub struct Shared {
    /// The disk.
    pub store: Store<Bls>,
    /// The transaction pool.
    pub mempool: Mutex<Mempool>,
    /// Signalled when transactions arrive (an idle leader may propose sooner).
    pub mempool_notify: Arc<Notify>,
    /// Metrics.
    pub metrics: NodeMetrics,
    /// Consensus progress.
    pub status: watch::Sender<ConsensusStatus>,
    /// Highest height certified together with all below it.
    pub certified: watch::Sender<u64>,
    /// Sequencer chain id.
    pub chain_id: u64,
    /// This node's member index.
    pub me: u16,
    /// Committee stakes (health: can the connected members make a quorum?).
    pub stakes: Vec<u64>,
}

/// Addresses a running node is reachable at.
#[derive(Debug, Clone, Copy)]
pub struct Running {
    /// The HTTP API.
    pub api: SocketAddr,
}

/// Runs a node until `shutdown` is cancelled; `on_ready` is called once the API listens.
pub async fn run(r: Resolved, shutdown: CancellationToken, on_ready: impl FnOnce(Running)) -> anyhow::Result<()> {
    let cfg = &r.config;
    let ctx = WireContext { members: r.members.len(), limits: r.consensus.limits };
    let genesis = consensus::Restored::<Bls>::genesis(&r.consensus).committed;
    std::fs::create_dir_all(&r.data_dir).map_err(|e| anyhow::anyhow!("cannot create data_dir {}: {e}", r.data_dir.display()))?;
    let store = Store::<Bls>::open(&r.data_dir, ctx, &genesis)?;
    let restored = store.restored()?;
    let decided = restored.committed.block.height();
    tracing::info!(member = cfg.node.member, decided, data_dir = %r.data_dir.display(), "starting sequencer node");
    let replica = Replica::new(r.consensus.clone(), r.consensus_members(), cfg.node.member, r.bls_key.clone(), restored, crate::driver::now_ms());

    let registry = service_kit::Metrics::new("sequencer");
    let metrics = NodeMetrics::register(&registry);
    let mut certified_through = 0;
    while store.certificate(certified_through + 1)?.is_some() {
        certified_through += 1;
    }
    let mempool_cfg = MempoolConfig {
        max_bytes: cfg.mempool.max_bytes,
        max_txs: cfg.mempool.max_txs,
        max_namespace_bytes: cfg.mempool.max_namespace_bytes,
        ..MempoolConfig::default()
    };
    let shared = Arc::new(Shared {
        store,
        mempool: Mutex::new(Mempool::new(mempool_cfg)),
        mempool_notify: Arc::new(Notify::new()),
        metrics,
        status: watch::channel(ConsensusStatus { decided, ..Default::default() }).0,
        certified: watch::channel(certified_through).0,
        chain_id: cfg.chain.chain_id,
        me: cfg.node.member,
        stakes: r.members.iter().map(|(_, s)| *s).collect(),
    });
    let requeued = requeue_admitted(&shared, decided)?;
    shared.metrics.certified_height.set(certified_through as i64);
    shared.metrics.decided_height.set(decided as i64);

    let listen = cfg.p2p.listen.parse().map_err(|e| anyhow::anyhow!("p2p.listen {:?}: {e}", cfg.p2p.listen))?;
    let mut net_cfg = NetworkConfig::new(cfg.chain.chain_id, r.p2p_key.clone(), cfg.node.member, listen, r.peers.clone());
    net_cfg.ban_threshold = cfg.p2p.ban_threshold;
    net_cfg.ban_duration = Duration::from_secs(cfg.p2p.ban_seconds);
    net_cfg.max_gossip_bytes = cfg.consensus.max_block_bytes + cfg.consensus.max_block_txs * 8 + (1 << 20);
    let net_shutdown = shutdown.child_token();
    let (net, events, net_task) = Network::start(net_cfg, net_shutdown.clone()).await?;

    let l1: Arc<dyn L1HeadSource> = if cfg.l1.rpc_url.is_empty() {
        Arc::new(FixedHead(u64::try_from(cfg.l1.fixed_head).ok()))
    } else {
        Arc::new(RpcHead::spawn(&cfg.l1.rpc_url, cfg.l1.confirmations, Duration::from_millis(cfg.l1.poll_interval_ms), shutdown.clone())?)
    };

    let (to_driver, driver_rx) = tokio::sync::mpsc::channel(4096);
    let router = tokio::spawn(crate::driver::route(events, to_driver, shared.clone(), net.clone()));
    let (gossip_tx, gossip_rx) = crate::txgossip::channel();
    for tx in requeued {
        let _ = gossip_tx.try_send(tx);
    }
    let batcher = tokio::spawn(crate::txgossip::batcher(gossip_rx, net.clone(), shutdown.clone()));

    let api_listen: SocketAddr = cfg.api.listen.parse().map_err(|e| anyhow::anyhow!("api.listen {:?}: {e}", cfg.api.listen))?;
    let router_http = crate::api::router(crate::api::ApiState::new(shared.clone(), gossip_tx, net.clone(), cfg.api.clone(), shutdown.clone()), registry);
    let (api_addr, api_task) = service_kit::serve(api_listen, router_http, shutdown.clone()).await?;
    tracing::info!("API listening on http://{api_addr}");

    let sink_task = cfg.sink.log.then(|| tokio::spawn(crate::sink::run_local(shared.clone(), crate::sink::LogSink, shutdown.clone())));

    let pacing = Pacing { min_block_interval_ms: cfg.consensus.min_block_interval_ms, idle_block_interval_ms: cfg.consensus.idle_block_interval_ms };
    let driver = Driver::new(replica, shared.clone(), net.clone(), l1, pacing);
    on_ready(Running { api: api_addr });
    let result = driver.run(driver_rx, shutdown.clone()).await;
    if result.is_err() {
        shutdown.cancel();
    }
    // Graceful stop: the API drains, the network closes, the disk is flushed by RocksDB's drop.
    let _ = api_task.await;
    net_shutdown.cancel();
    let _ = net_task.await;
    router.abort();
    batcher.abort();
    if let Some(t) = sink_task {
        let _ = t.await;
    }
    tracing::info!("node stopped");
    result
}

/// Decided blocks whose transactions a restarted node remembers as duplicates before it reloads
/// what it had accepted (so nothing decided just before a crash is ordered twice).
const RESTART_DEDUP_BLOCKS: u64 = 1024;

/// Puts the transactions this node accepted before it stopped, and had not seen decided, back
/// in its mempool; returns them for gossip.
fn requeue_admitted(shared: &Shared, decided: u64) -> anyhow::Result<Vec<(u64, Vec<u8>)>> {
    let admitted = shared.store.admitted()?;
    if admitted.is_empty() {
        return Ok(Vec::new());
    }
    let mut pool = shared.mempool.lock().expect("mempool lock");
    for h in decided.saturating_sub(RESTART_DEDUP_BLOCKS - 1).max(1)..=decided {
        if let Some(rec) = shared.store.block(h)? {
            pool.decided(&rec.block);
        }
    }
    let (mut back, mut done) = (Vec::new(), Vec::new());
    for (hash, namespace, payload) in admitted {
        match pool.insert(namespace, &payload) {
            Ok(_) => back.push((namespace, payload)),
            Err(sequencer_mempool::RejectReason::Duplicate(_)) => done.push(hash),
            Err(e) => tracing::warn!(%hash, "an accepted transaction does not fit back in the mempool: {e}"),
        }
    }
    drop(pool);
    shared.store.forget_admitted(&done)?;
    tracing::info!(requeued = back.len(), already_decided = done.len(), "reloaded accepted transactions");
    Ok(back)
}
