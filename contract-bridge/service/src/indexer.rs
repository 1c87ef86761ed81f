//! Follows the rollup contract on the L1 and serves its history as [`RollupEvent`]s.
//!
//! The indexer walks L1 blocks from the rollup's origination up to `head - confirmations`,
//! decoding the rollup's logs. Batches are replayed with [`protocol::l1_batch::InboxState`],
//! exactly as the contract checked them, to know each level's delayed-message range; the
//! replay's accumulator must equal the one the contract emitted, or the bridge reports itself
//! unhealthy. To keep memory bounded whatever the traffic, the index keeps only metadata (block
//! hashes, the inbox state before each batch, the delayed queue); a page of events re-reads the
//! batches' calldata (recent batches come from a byte-bounded cache).
//!
//! Reorgs: the index remembers the hashes of the last [`REORG_WINDOW`] blocks it indexed and
//! checks the newest against the L1 before every step; on a mismatch it rolls back to the fork
//! point and re-indexes. Consumers pass the hash of the last block they consumed, and get
//! [`PageError::Reorg`] when it is no longer canonical.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use alloy::consensus::Transaction as _;
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEventInterface;
use l1_bindings::Rollup::{self, RollupEvents};
use protocol::l1_batch::{Batch, InboxRules, InboxState};
use protocol::Hash32;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::api::{EventEnvelope, EventsPage, Level, RollupEvent};

/// Blocks whose hashes are remembered for reorg detection (deeper reorgs restart the index).
pub const REORG_WINDOW: u64 = 256;
/// Blocks fetched per `eth_getLogs` call.
const BLOCKS_PER_STEP: u64 = 500;
/// Bytes of recent batch calldata kept to serve pages without re-reading the L1.
const BATCH_CACHE_BYTES: usize = 64 << 20;

/// What the indexer needs to know about the rollup.
#[derive(Debug, Clone)]
pub struct RollupInfo {
    /// The rollup contract.
    pub address: Address,
    /// The L1 block it was originated in.
    pub origination_block: u64,
    /// The inbox rules fixed at origination.
    pub rules: InboxRules,
    /// The sequencer block the rollup starts after, and its height.
    pub start: (Hash32, u64),
}

impl RollupInfo {
    /// Reads the rollup's origination parameters from the contract.
    pub async fn fetch(provider: &DynProvider, address: Address) -> anyhow::Result<Self> {
        let rollup = Rollup::new(address, provider);
        let origination_block = rollup.ORIGINATION_BLOCK().call().await?;
        let c = rollup.config().call().await?;
        Ok(RollupInfo {
            address,
            origination_block,
            rules: InboxRules {
                sequencer_chain_id: c.sequencerChainId,
                namespace: c.sequencerNamespace,
                delayed_inclusion_timeout: c.delayedInclusionTimeout,
            },
            start: (Hash32(c.sequencerStartBlockHash.0), c.sequencerStartHeight),
        })
    }
}

/// Why a page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The consumer's `parent_hash` is not the canonical hash of `from_block - 1`: it must
    /// rewind to an earlier cursor.
    #[error("block {block} is no longer canonical (reorg): rewind to an earlier cursor")]
    Reorg {
        /// The block whose hash differs.
        block: u64,
    },
    /// The L1 could not be read.
    #[error("L1 RPC error: {0}")]
    Rpc(String),
    /// A batch accepted by the contract could not be replayed (a bug or a contract/bridge
    /// version mismatch).
    #[error("cannot rebuild batch {batch_index}: {reason}")]
    Replay {
        /// The batch.
        batch_index: u64,
        /// Why.
        reason: String,
    },
}

#[derive(Debug, Clone)]
enum Indexed {
    Event { tx_hash: B256, log_index: u64, event: RollupEvent },
    Batch { tx_hash: B256, log_index: u64, batch_index: u64, posted_in: u64, state_before: InboxState, accumulator: B256 },
}

#[derive(Default)]
struct Index {
    /// Next block to index.
    next_block: u64,
    /// Indexed block -> hash (the last REORG_WINDOW blocks).
    hashes: BTreeMap<u64, B256>,
    /// Blocks with events.
    blocks: BTreeMap<u64, Vec<Indexed>>,
    /// For each block with events in the reorg window: the inbox and delayed queue length
    /// before it, to roll back to.
    undo: BTreeMap<u64, (InboxState, usize)>,
    inbox: Option<InboxState>,
    /// Enqueue block of every delayed message.
    delayed: Vec<u64>,
    /// Batch bytes given by `BatchData` events (posted by contracts), by batch index.
    batch_data: HashMap<u64, Bytes>,
    /// Set when a replay disagrees with the contract.
    fault: Option<String>,
}

/// The indexer: a background task ([`Indexer::run`]) and the pages it serves.
#[derive(Clone)]
pub struct Indexer {
    provider: DynProvider,
    info: Arc<RollupInfo>,
    confirmations: u64,
    index: Arc<RwLock<Index>>,
    cache: Arc<RwLock<VecDeque<(B256, Bytes)>>>,
    progress: watch::Sender<u64>,
}

impl Indexer {
    /// An indexer of `info`'s rollup that serves blocks `confirmations` deep.
    pub fn new(provider: DynProvider, info: RollupInfo, confirmations: u64) -> Self {
        let index = Index {
            next_block: info.origination_block,
            inbox: Some(InboxState::at_origination(info.start.0, info.start.1)),
            ..Index::default()
        };
        let (progress, _) = watch::channel(info.origination_block.saturating_sub(1));
        Indexer {
            provider,
            info: Arc::new(info),
            confirmations,
            index: Arc::new(RwLock::new(index)),
            cache: Arc::default(),
            progress,
        }
    }

    /// The rollup being followed.
    pub fn info(&self) -> &RollupInfo {
        &self.info
    }

    /// The last indexed L1 block.
    pub fn indexed_to(&self) -> u64 {
        *self.progress.borrow()
    }

    /// The inbox as of the last indexed block.
    pub fn inbox(&self) -> InboxState {
        self.read().inbox.clone().expect("inbox state is always set")
    }

    /// How many delayed messages have been seen.
    pub fn delayed_count(&self) -> u64 {
        self.read().delayed.len() as u64
    }

    /// The `delayed_through` hint of a level whose header names `l1_block`: the delayed
    /// messages enqueued at or before it (meaningful once `l1_block` is indexed).
    pub fn delayed_hint(&self, l1_block: u64) -> u64 {
        protocol::l1_batch::delayed_hint_for(self.read().delayed.as_slice(), l1_block)
    }

    /// A replay/contract disagreement, if one was seen (the bridge is then unhealthy).
    pub fn fault(&self) -> Option<String> {
        self.read().fault.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows the L1 until `shutdown`, polling every `poll`.
    pub async fn run(self, poll: Duration, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let advanced = match self.step().await {
                Ok(a) => {
                    failures = 0;
                    a
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!("indexing failed ({e}); retrying");
                    false
                }
            };
            if advanced {
                continue;
            }
            let wait = if failures > 0 { poll * failures.min(20) } else { poll };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Indexes the next range of blocks, if any; returns whether it advanced.
    pub async fn step(&self) -> anyhow::Result<bool> {
        let head = self.provider.get_block_number().await?;
        let target = head.saturating_sub(self.confirmations);
        self.check_reorg().await?;
        let from = self.read().next_block;
        if from > target {
            return Ok(false);
        }
        let to = target.min(from + BLOCKS_PER_STEP - 1);
        let filter = Filter::new().address(self.info.address).from_block(from).to_block(to);
        let logs = self.provider.get_logs(&filter).await?;
        let to_hash = self.block_hash(to).await?;
        // Decode outside the lock (it reads calldata), then commit the range atomically.
        let mut staged = self.stage(from, &logs).await?;
        // Blocks whose logs we saw must still have the hashes the logs say (no reorg mid-step).
        let mut idx = self.write();
        if idx.next_block != from {
            return Ok(true); // another step raced us; harmless
        }
        for (block, entries, hash, undo) in staged.drain(..) {
            idx.undo.insert(block, undo);
            idx.hashes.insert(block, hash);
            idx.blocks.insert(block, entries);
        }
        idx.hashes.insert(to, to_hash);
        idx.next_block = to + 1;
        let keep_from = to.saturating_sub(REORG_WINDOW);
        idx.hashes = idx.hashes.split_off(&keep_from);
        idx.undo = idx.undo.split_off(&keep_from);
        drop(idx);
        self.progress.send_replace(to);
        Ok(true)
    }

    /// Decodes the logs of `[from, ..]` against a copy of the current index state, returning
    /// per block: its entries, hash, and the undo record; and updating the live inbox state
    /// and delayed queue.
    async fn stage(&self, _from: u64, logs: &[Log]) -> anyhow::Result<Vec<(u64, Vec<Indexed>, B256, (InboxState, usize))>> {
        let (mut inbox, mut delayed) = {
            let idx = self.read();
            (idx.inbox.clone().expect("set"), idx.delayed.clone())
        };
        let mut out: Vec<(u64, Vec<Indexed>, B256, (InboxState, usize))> = Vec::new();
        let mut batch_data: HashMap<u64, Bytes> = HashMap::new();
        // BatchData may come before or after its BatchPosted in the same transaction.
        for log in logs {
            if let Ok(RollupEvents::BatchData(d)) = RollupEvents::decode_raw_log(log.topics(), &log.data().data) {
                batch_data.insert(d.batchIndex, d.batch.clone());
            }
        }
        let mut fault = None;
        for log in logs {
            let (Some(block), Some(tx_hash), Some(log_index), Some(block_hash)) =
                (log.block_number, log.transaction_hash, log.log_index, log.block_hash)
            else {
                continue; // pending logs carry no position; they will come back mined
            };
            if out.last().map(|e| e.0) != Some(block) {
                out.push((block, Vec::new(), block_hash, (inbox.clone(), delayed.len())));
            }
            let Ok(ev) = RollupEvents::decode_raw_log(log.topics(), &log.data().data) else {
                continue; // an event this bridge does not know (a newer contract)
            };
            let entry = match ev {
                RollupEvents::DelayedMessageEnqueued(e) => {
                    delayed.push(e.l1Block);
                    Some(RollupEvent::DelayedMessage {
                        index: e.index,
                        sender: e.sender,
                        value: e.value,
                        enqueued_at: e.l1Block,
                        payload: e.payload,
                    })
                }
                RollupEvents::BatchPosted(e) => {
                    let state_before = inbox.clone();
                    let bytes = match batch_data.get(&e.batchIndex) {
                        Some(b) => b.clone(),
                        None => self.batch_bytes(tx_hash).await?,
                    };
                    match replay(&self.info.rules, &mut inbox, &bytes, &delayed, block) {
                        Ok(acc) if acc == e.accumulator => {}
                        Ok(acc) => {
                            fault = Some(format!("batch {}: replayed accumulator {acc} != emitted {}", e.batchIndex, e.accumulator))
                        }
                        Err(r) => fault = Some(format!("batch {}: {r}", e.batchIndex)),
                    }
                    if let Some(b) = batch_data.remove(&e.batchIndex) {
                        self.write().batch_data.insert(e.batchIndex, b);
                    }
                    out.last_mut().expect("pushed").1.push(Indexed::Batch {
                        tx_hash,
                        log_index,
                        batch_index: e.batchIndex,
                        posted_in: block,
                        state_before,
                        accumulator: e.accumulator,
                    });
                    None
                }
                RollupEvents::InclusionForced(e) => {
                    let timestamp = self.block_timestamp(block).await?;
                    if let Err(r) = inbox.apply_forced(&self.info.rules, e.delayedEnd, &delayed, block, timestamp) {
                        fault = Some(format!("forced level {}: {r}", e.level));
                    }
                    Some(RollupEvent::Levels {
                        batch_index: e.batchIndex,
                        accumulator: B256::from(inbox.accumulator.0),
                        levels: vec![Level {
                            level: e.level,
                            sequencer_height: None,
                            timestamp_ms: e.timestampMs,
                            block_hash: e.blockHash,
                            delayed_start: e.delayedStart,
                            delayed_end: e.delayedEnd,
                            transactions: vec![],
                        }],
                    })
                }
                RollupEvents::CommitmentPublished(e) => Some(RollupEvent::CommitmentPublished {
                    commitment: e.commitment,
                    staker: e.staker,
                    predecessor: e.predecessor,
                    state_hash: e.stateHash,
                    inbox_level: e.inboxLevel,
                    number_of_ticks: e.numberOfTicks,
                    first: e.first,
                }),
                RollupEvents::CommitmentConflict(e) => Some(RollupEvent::CommitmentConflict {
                    inbox_level: e.inboxLevel,
                    existing: e.existing,
                    conflicting: e.conflicting,
                }),
                RollupEvents::CommitmentCemented(e) => Some(RollupEvent::CommitmentCemented {
                    commitment: e.commitment,
                    inbox_level: e.inboxLevel,
                    state_hash: e.stateHash,
                }),
                RollupEvents::CommitmentRemoved(e) => {
                    Some(RollupEvent::CommitmentRemoved { commitment: e.commitment, inbox_level: e.inboxLevel })
                }
                RollupEvents::StakeDeposited(e) => Some(RollupEvent::StakeDeposited { staker: e.staker, amount: e.amount }),
                RollupEvents::StakeRecovered(e) => Some(RollupEvent::StakeRecovered { staker: e.staker, amount: e.amount }),
                RollupEvents::StakerSlashed(e) => {
                    Some(RollupEvent::StakerSlashed { loser: e.loser, winner: e.winner, reward: e.reward, burnt: e.burnt })
                }
                RollupEvents::OutboxMessageExecuted(e) => Some(RollupEvent::OutboxMessageExecuted {
                    level: e.level,
                    index: e.index,
                    message_hash: e.messageHash,
                    value: e.value,
                }),
                _ => None,
            };
            if let Some(event) = entry {
                out.last_mut().expect("pushed").1.push(Indexed::Event { tx_hash, log_index, event });
            }
        }
        let mut idx = self.write();
        idx.inbox = Some(inbox);
        idx.delayed = delayed;
        if let Some(f) = fault {
            tracing::error!("{f}");
            idx.fault = Some(f);
        }
        Ok(out)
    }

    async fn check_reorg(&self) -> anyhow::Result<()> {
        let newest = self.read().hashes.iter().next_back().map(|(b, h)| (*b, *h));
        let Some((block, hash)) = newest else { return Ok(()) };
        if self.block_hash(block).await? == hash {
            return Ok(());
        }
        // Walk back to the newest remembered block that is still canonical.
        let remembered: Vec<(u64, B256)> = self.read().hashes.iter().rev().map(|(b, h)| (*b, *h)).collect();
        let mut fork = None;
        for (b, h) in remembered {
            if self.block_hash(b).await? == h {
                fork = Some(b);
                break;
            }
        }
        let mut idx = self.write();
        match fork {
            Some(fork) => {
                tracing::warn!("L1 reorg: rolling the index back to block {fork}");
                let dropped = idx.blocks.split_off(&(fork + 1));
                if let Some((_, (inbox, delayed_len))) = idx.undo.range(fork + 1..).next() {
                    let (inbox, delayed_len) = (inbox.clone(), *delayed_len);
                    idx.inbox = Some(inbox);
                    idx.delayed.truncate(delayed_len);
                }
                let _ = idx.undo.split_off(&(fork + 1));
                let _ = idx.hashes.split_off(&(fork + 1));
                idx.next_block = fork + 1;
                drop(dropped);
                drop(idx);
                self.progress.send_replace(fork);
            }
            None => {
                tracing::error!("L1 reorg deeper than {REORG_WINDOW} blocks: re-indexing from origination");
                *idx = Index {
                    next_block: self.info.origination_block,
                    inbox: Some(InboxState::at_origination(self.info.start.0, self.info.start.1)),
                    ..Index::default()
                };
                drop(idx);
                self.progress.send_replace(self.info.origination_block.saturating_sub(1));
            }
        }
        Ok(())
    }

    async fn block_hash(&self, n: u64) -> anyhow::Result<B256> {
        let b = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .ok_or_else(|| anyhow::anyhow!("L1 block {n} not found"))?;
        Ok(b.header.hash)
    }

    async fn block_timestamp(&self, n: u64) -> anyhow::Result<u64> {
        let b = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .ok_or_else(|| anyhow::anyhow!("L1 block {n} not found"))?;
        Ok(b.header.timestamp)
    }

    /// The `batch` argument of the `postBatch` call in transaction `tx_hash`.
    async fn batch_bytes(&self, tx_hash: B256) -> anyhow::Result<Bytes> {
        if let Some((_, b)) = self.cache.read().unwrap_or_else(|e| e.into_inner()).iter().find(|(h, _)| *h == tx_hash) {
            return Ok(b.clone());
        }
        let tx = self
            .provider
            .get_transaction_by_hash(tx_hash)
            .await?
            .ok_or_else(|| anyhow::anyhow!("transaction {tx_hash} not found"))?;
        let (batch, _certificate) = l1_bindings::decode_post_batch_input(tx.input())
            .ok_or_else(|| anyhow::anyhow!("transaction {tx_hash} is not a direct postBatch call and no BatchData was emitted"))?;
        let bytes = Bytes::from(batch);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.push_back((tx_hash, bytes.clone()));
        let mut total: usize = cache.iter().map(|(_, b)| b.len()).sum();
        while total > BATCH_CACHE_BYTES {
            match cache.pop_front() {
                Some((_, b)) => total -= b.len(),
                None => break,
            }
        }
        Ok(bytes)
    }

    /// Waits until block `block` is indexed or `timeout` passes.
    pub async fn wait_indexed(&self, block: u64, timeout: Duration) {
        let mut rx = self.progress.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|&b| b >= block)).await;
    }

    /// The events of blocks `[from_block, from_block + max_blocks)` that are indexed. With
    /// `parent_hash`, first checks it is still the canonical hash of `from_block - 1`.
    pub async fn page(&self, from_block: u64, parent_hash: Option<B256>, max_blocks: u64) -> Result<EventsPage, PageError> {
        let from = from_block.max(self.info.origination_block);
        if let Some(parent) = parent_hash {
            if from_block > 0 && from_block > self.info.origination_block {
                let remembered = self.read().hashes.get(&(from_block - 1)).copied();
                let canonical = match remembered {
                    Some(h) => h,
                    None => self.block_hash(from_block - 1).await.map_err(|e| PageError::Rpc(e.to_string()))?,
                };
                if canonical != parent {
                    return Err(PageError::Reorg { block: from_block - 1 });
                }
            }
        }
        let indexed_to = self.indexed_to();
        let head = self.provider.get_block_number().await.map_err(|e| PageError::Rpc(e.to_string()))?;
        let safe_head = head.saturating_sub(self.confirmations);
        if indexed_to < from {
            let to_block = from - 1;
            let to_block_hash = match parent_hash {
                Some(h) => h,
                None if to_block + 1 >= self.info.origination_block && to_block > 0 => {
                    self.block_hash(to_block).await.map_err(|e| PageError::Rpc(e.to_string()))?
                }
                None => B256::ZERO,
            };
            return Ok(EventsPage { events: vec![], to_block, to_block_hash, safe_head });
        }
        let to = indexed_to.min(from.saturating_add(max_blocks.max(1)) - 1);
        let (entries, to_hash, delayed, stored_data): (Vec<(u64, Indexed)>, Option<B256>, Vec<u64>, HashMap<u64, Bytes>) = {
            let idx = self.read();
            let entries = idx.blocks.range(from..=to).flat_map(|(b, es)| es.iter().map(|e| (*b, e.clone()))).collect();
            (entries, idx.hashes.get(&to).copied(), idx.delayed.clone(), idx.batch_data.clone())
        };
        let mut events = Vec::with_capacity(entries.len());
        for (block, e) in entries {
            match e {
                Indexed::Event { tx_hash, log_index, event } => {
                    events.push(EventEnvelope { l1_block: block, tx_hash, log_index, event })
                }
                Indexed::Batch { tx_hash, log_index, batch_index, posted_in, mut state_before, accumulator } => {
                    let bytes = match stored_data.get(&batch_index) {
                        Some(b) => b.clone(),
                        None => self.batch_bytes(tx_hash).await.map_err(|e| PageError::Rpc(e.to_string()))?,
                    };
                    let batch = Batch::decode(&bytes, self.info.rules.namespace)
                        .map_err(|e| PageError::Replay { batch_index, reason: e.to_string() })?;
                    let applied = state_before
                        .apply_batch(&self.info.rules, &batch, &delayed, posted_in)
                        .map_err(|e| PageError::Replay { batch_index, reason: e.to_string() })?;
                    let levels = applied
                        .records
                        .iter()
                        .zip(batch.levels)
                        .map(|(r, l)| Level {
                            level: r.level,
                            sequencer_height: Some(l.header.height),
                            timestamp_ms: r.timestamp_ms,
                            block_hash: B256::from(r.block_hash.0),
                            delayed_start: r.delayed_start,
                            delayed_end: r.delayed_end,
                            transactions: l.transactions.into_iter().map(Bytes::from).collect(),
                        })
                        .collect();
                    events.push(EventEnvelope {
                        l1_block: block,
                        tx_hash,
                        log_index,
                        event: RollupEvent::Levels { batch_index, accumulator, levels },
                    });
                }
            }
        }
        let to_block_hash = match to_hash {
            Some(h) => h,
            None => self.block_hash(to).await.map_err(|e| PageError::Rpc(e.to_string()))?,
        };
        Ok(EventsPage { events, to_block: to, to_block_hash, safe_head })
    }
}

/// Replays one posted batch on `inbox`, returning the accumulator after it.
fn replay(rules: &InboxRules, inbox: &mut InboxState, bytes: &[u8], delayed: &[u64], posted_in: u64) -> Result<B256, String> {
    let batch = Batch::decode(bytes, rules.namespace).map_err(|e| e.to_string())?;
    let applied = inbox.apply_batch(rules, &batch, delayed, posted_in).map_err(|e| e.to_string())?;
    Ok(B256::from(applied.accumulator.0))
}
