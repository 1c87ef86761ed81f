//! Batching blocks and posting them: the part common to every mode.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, B256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use bridge::client::{BridgeClient, ClientError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use protocol::l1_batch::{Batch, BatchLevel};
use protocol::sequencer::{finality_digest, BlockHeader};
use sequencer_api::sink::{FinalizedSink, SinkError};
use sequencer_api::FinalizedBlock;
use service_kit::Metrics;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{Certify, PosterConfig};

/// A block for the batcher, tagged with the epoch it was fetched in (a reset starts a new one
/// and blocks of older epochs are dropped).
pub struct Tagged {
    /// The fetch epoch.
    pub epoch: u64,
    /// The block.
    pub block: FinalizedBlock,
}

/// What the batcher tells the block source: where to restart after the L1 moved, and how far
/// posting got.
#[derive(Default)]
pub struct Position {
    /// Set by the batcher when fetching must restart at this height.
    pub reset_to: std::sync::Mutex<Option<u64>>,
    /// Bumped on every reset; blocks fetched in an older epoch are dropped.
    pub epoch: AtomicU64,
    /// The last height posted to the L1.
    pub posted: AtomicU64,
}

impl Position {
    fn take_reset(&self) -> Option<u64> {
        self.reset_to.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn reset_pending(&self) -> bool {
        self.reset_to.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Asks the source to restart at `height` (set before the epoch moves, so a block fetched
    /// across the change is either refused or dropped, never accepted out of order).
    fn reset(&self, height: u64) {
        *self.reset_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(height);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Poster metrics.
#[derive(Clone, Default)]
pub struct PosterMetrics {
    /// Batches posted.
    pub batches: Counter,
    /// Levels posted.
    pub levels: Counter,
    /// Transactions of the namespace posted.
    pub transactions: Counter,
    /// L1 gas spent posting.
    pub gas: Counter,
    /// Batch bytes posted.
    pub bytes: Counter,
    /// The last height posted.
    pub posted_height: Gauge,
}

impl PosterMetrics {
    /// Registers the metrics.
    pub fn register(m: &Metrics) -> Self {
        let s = PosterMetrics::default();
        m.register("batches", "Batches posted to the L1", s.batches.clone());
        m.register("levels", "Levels posted to the L1", s.levels.clone());
        m.register("transactions", "Rollup transactions posted to the L1", s.transactions.clone());
        m.register("l1_gas", "L1 gas spent posting", s.gas.clone());
        m.register("batch_bytes", "Batch bytes posted", s.bytes.clone());
        m.register("posted_height", "Last sequencer height posted", s.posted_height.clone());
        s
    }
}

/// The [`FinalizedSink`] fed by the sequencer's block stream: it hands blocks to the batcher
/// and resumes from where the batcher (and so the L1) says.
pub struct ChannelSink {
    /// Shared position.
    pub position: Arc<Position>,
    /// To the batcher.
    pub tx: mpsc::Sender<Tagged>,
    /// The next height this sink needs.
    pub next: u64,
}

impl FinalizedSink for ChannelSink {
    async fn resume_height(&mut self) -> Result<u64, SinkError> {
        if let Some(h) = self.position.take_reset() {
            self.next = h;
        }
        Ok(self.next)
    }

    async fn deliver(&mut self, block: FinalizedBlock) -> Result<(), SinkError> {
        let epoch = self.position.epoch.load(Ordering::SeqCst);
        if self.position.reset_pending() {
            return Err(SinkError::Retry("the L1 inbox moved; resuming from it".into()));
        }
        let h = block.header.height;
        self.tx.send(Tagged { epoch, block }).await.map_err(|_| SinkError::Fatal("the batcher stopped".into()))?;
        self.next = h + 1;
        Ok(())
    }
}

/// Collects blocks into batches and posts them.
pub struct Batcher {
    config: PosterConfig,
    bridge: BridgeClient,
    namespace: u64,
    operator: Option<PrivateKeySigner>,
    position: Arc<Position>,
    metrics: PosterMetrics,
}

impl Batcher {
    /// A batcher for the rollup of `namespace`.
    pub fn new(config: PosterConfig, bridge: BridgeClient, namespace: u64, position: Arc<Position>, metrics: PosterMetrics) -> anyhow::Result<Self> {
        let operator = match (config.certify, &config.operator_key) {
            (Certify::Permissioned, Some(k)) => Some(bridge::config::load_key(k)?),
            (Certify::Permissioned, None) => anyhow::bail!("`permissioned` certification needs `operator_key`"),
            _ => None,
        };
        Ok(Batcher { config, bridge, namespace, operator, position, metrics })
    }

    /// Posts blocks from `rx` until `shutdown`.
    pub async fn run(self, mut rx: mpsc::Receiver<Tagged>, shutdown: CancellationToken) {
        let mut pending: Vec<BatchLevel> = Vec::new();
        let mut last_cert: Vec<u8> = Vec::new();
        let mut bytes = 0usize;
        let mut oldest: Option<Instant> = None;
        let max_delay = Duration::from_millis(self.config.max_delay_ms);
        loop {
            let deadline = oldest.map(|t| t + max_delay);
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                b = rx.recv() => b,
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d.into()).await, None => std::future::pending().await } } => None,
            };
            if let Some(t) = next {
                if t.epoch != self.position.epoch.load(Ordering::SeqCst) {
                    continue; // fetched before a reset
                }
                let level = match self.level(&t.block, &shutdown).await {
                    Some(l) => l,
                    None => return,
                };
                let level_bytes = BlockHeader::SIZE + 12 + level.ns_table.entries.len() * 44
                    + level.transactions.iter().map(|x| 4 + x.len()).sum::<usize>();
                // Post what is pending first if this level would take the batch past its size
                // (a level larger than the limit on its own still goes, alone).
                if !pending.is_empty() && bytes + level_bytes > self.config.max_batch_bytes {
                    (bytes, oldest) = (0, None);
                    if !self.post(Batch { levels: std::mem::take(&mut pending) }, &last_cert, &shutdown).await {
                        return;
                    }
                }
                bytes += level_bytes;
                last_cert = t.block.certificate.clone();
                pending.push(level);
                oldest.get_or_insert_with(Instant::now);
            }
            let due = !pending.is_empty()
                && (bytes >= self.config.max_batch_bytes
                    || pending.len() >= self.config.max_batch_levels
                    || oldest.is_some_and(|t| t.elapsed() >= max_delay));
            if !due {
                continue;
            }
            (bytes, oldest) = (0, None);
            if !self.post(Batch { levels: std::mem::take(&mut pending) }, &last_cert, &shutdown).await {
                return;
            }
        }
    }

    /// The batch level of a block: its rollup transactions and delayed-inbox hint.
    async fn level(&self, b: &FinalizedBlock, shutdown: &CancellationToken) -> Option<BatchLevel> {
        let mut wait = Duration::from_millis(50);
        let delayed_through = loop {
            match self.bridge.delayed_hint(b.header.l1_block).await {
                Ok(h) => break h,
                Err(e) => {
                    if e.code() != Some("not_indexed") {
                        tracing::warn!("cannot get the delayed-inbox hint for L1 block {}: {e}", b.header.l1_block);
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        };
        Some(BatchLevel {
            header: b.header,
            ns_table: b.ns_table.clone(),
            delayed_through,
            transactions: b.namespace(self.namespace).into_iter().map(<[u8]>::to_vec).collect(),
        })
    }

    fn certificate(&self, last: &BlockHeader, committee_cert: &[u8]) -> Bytes {
        match self.config.certify {
            Certify::Committee => Bytes::copy_from_slice(committee_cert),
            Certify::Direct => Bytes::new(),
            Certify::Permissioned => {
                let digest = B256::from(finality_digest(last.chain_id, last.height, &last.hash()));
                let signer = self.operator.as_ref().expect("checked at construction");
                match signer.sign_hash_sync(&digest) {
                    Ok(sig) => Bytes::from(sig.as_bytes().to_vec()),
                    Err(e) => {
                        tracing::error!("cannot sign the finality digest: {e}");
                        Bytes::new()
                    }
                }
            }
        }
    }

    /// Posts one batch, retrying transient failures; on a refusal, resynchronises with the L1
    /// inbox. Returns false on shutdown.
    async fn post(&self, batch: Batch, committee_cert: &[u8], shutdown: &CancellationToken) -> bool {
        let last = batch.levels.last().expect("non-empty").header;
        let certificate = self.certificate(&last, committee_cert);
        let txs: usize = batch.levels.iter().map(|l| l.transactions.len()).sum();
        let encoded = Bytes::from(batch.encode());
        let mut wait = Duration::from_millis(200);
        loop {
            match self.bridge.post_batch(encoded.clone(), certificate.clone()).await {
                Ok(p) => {
                    tracing::info!(
                        levels = %format!("{}..={}", p.first_level, p.first_level + p.level_count - 1),
                        heights = %format!("{}..={}", batch.levels[0].header.height, last.height),
                        txs,
                        bytes = encoded.len(),
                        gas = p.gas_used,
                        "batch {} posted",
                        p.batch_index
                    );
                    self.metrics.batches.inc();
                    self.metrics.levels.inc_by(batch.levels.len() as u64);
                    self.metrics.transactions.inc_by(txs as u64);
                    self.metrics.gas.inc_by(p.gas_used);
                    self.metrics.bytes.inc_by(encoded.len() as u64);
                    self.metrics.posted_height.set(last.height as i64);
                    self.position.posted.store(last.height, Ordering::SeqCst);
                    return true;
                }
                Err(ClientError::Api { ref body, .. }) if body.error == "reverted" => {
                    // The L1 moved under us (a restart, or another poster): resume from it.
                    tracing::warn!("batch refused ({}); resynchronising with the L1 inbox", body.revert.clone().unwrap_or_default());
                    return self.resync(shutdown).await;
                }
                Err(e) => {
                    tracing::warn!("posting failed ({e}); retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Restarts fetching after the L1 inbox's last height.
    async fn resync(&self, shutdown: &CancellationToken) -> bool {
        loop {
            match self.bridge.rollup().await {
                Ok(r) => {
                    self.position.posted.store(r.last_sequencer_height, Ordering::SeqCst);
                    self.position.reset(r.last_sequencer_height + 1);
                    return true;
                }
                Err(e) => {
                    tracing::warn!("cannot read the L1 inbox ({e}); retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }
}
