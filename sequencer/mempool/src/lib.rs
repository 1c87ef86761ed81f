//! The transaction pool of a sequencer node.
//!
//! Transactions wait in one FIFO queue per namespace. A leader fills its block by deficit round
//! robin over the namespaces that have transactions, so every rollup gets an equal share of
//! block space whatever the others send. The pool is bounded (total bytes, transaction count,
//! and bytes per namespace): when a bound is hit, [`Mempool::insert`] says so and the API
//! answers 503, so one noisy namespace can fill its own share but not starve the others.
//! A transaction is known from submission until it is decided and then remembered for a while
//! (a bounded window), so submitting it again is reported as a duplicate, not ordered twice.
//!
//! The pool follows consensus: transactions of any accepted proposal leave the queues
//! ([`Mempool::included`]), come back if that proposal is abandoned ([`Mempool::abandoned`]) and
//! are forgotten once decided ([`Mempool::decided`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use consensus::{Block, Limits, Payload};
use protocol::hash::keccak256_concat;
use protocol::Hash32;

/// A transaction's identity: `keccak256(u64 namespace || payload)`.
pub fn tx_hash(namespace: u64, payload: &[u8]) -> Hash32 {
    Hash32(keccak256_concat(&[&namespace.to_be_bytes(), payload]))
}

/// Pool bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Total bytes of waiting transactions.
    pub max_bytes: usize,
    /// Number of waiting transactions.
    pub max_txs: usize,
    /// Bytes one namespace may have waiting.
    pub max_namespace_bytes: usize,
    /// Largest transaction.
    pub max_tx_bytes: usize,
    /// Decided transactions remembered for duplicate detection.
    pub remember_decided: usize,
    /// Bytes a namespace may take per round of the block-filling round robin.
    pub quantum_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_bytes: 256 << 20,
            max_txs: 1_000_000,
            max_namespace_bytes: 64 << 20,
            max_tx_bytes: consensus::MAX_TX_BYTES,
            remember_decided: 1_000_000,
            quantum_bytes: 16 << 10,
        }
    }
}

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// Empty payload.
    #[error("the transaction payload is empty")]
    Empty,
    /// Above the size limit.
    #[error("the transaction is {size} bytes; the limit is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Already waiting, in a pending block, or recently decided.
    #[error("transaction {0} is already known")]
    Duplicate(Hash32),
    /// The pool (or this namespace's share of it) is full: retry later.
    #[error("the mempool is full ({0}); retry later")]
    Full(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    InBlock,
}

struct Entry {
    namespace: u64,
    payload: Arc<[u8]>,
    state: State,
}

#[derive(Default)]
struct Queue {
    hashes: VecDeque<Hash32>,
    bytes: usize,
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MempoolStats {
    /// Transactions waiting.
    pub waiting_txs: usize,
    /// Bytes waiting.
    pub waiting_bytes: usize,
    /// Transactions in undecided blocks.
    pub in_blocks: usize,
    /// Namespaces with waiting transactions.
    pub namespaces: usize,
}

/// The pool. Not internally synchronised: the node wraps it in a mutex.
pub struct Mempool {
    cfg: MempoolConfig,
    entries: HashMap<Hash32, Entry>,
    queues: BTreeMap<u64, Queue>,
    waiting_txs: usize,
    waiting_bytes: usize,
    decided: VecDeque<Hash32>,
    decided_set: HashSet<Hash32>,
    next_namespace: u64,
}

impl Mempool {
    /// An empty pool.
    pub fn new(cfg: MempoolConfig) -> Self {
        Mempool {
            cfg,
            entries: HashMap::new(),
            queues: BTreeMap::new(),
            waiting_txs: 0,
            waiting_bytes: 0,
            decided: VecDeque::new(),
            decided_set: HashSet::new(),
            next_namespace: 0,
        }
    }

    /// The bounds.
    pub fn config(&self) -> &MempoolConfig {
        &self.cfg
    }

    /// Checks a transaction without admitting it (size rules only).
    pub fn check(&self, payload: &[u8]) -> Result<(), RejectReason> {
        if payload.is_empty() {
            return Err(RejectReason::Empty);
        }
        if payload.len() > self.cfg.max_tx_bytes {
            return Err(RejectReason::TooLarge { size: payload.len(), max: self.cfg.max_tx_bytes });
        }
        Ok(())
    }

    /// Admits a transaction, returning its hash.
    pub fn insert(&mut self, namespace: u64, payload: &[u8]) -> Result<Hash32, RejectReason> {
        self.check(payload)?;
        let hash = tx_hash(namespace, payload);
        if self.entries.contains_key(&hash) || self.decided_set.contains(&hash) {
            return Err(RejectReason::Duplicate(hash));
        }
        if self.waiting_txs >= self.cfg.max_txs {
            return Err(RejectReason::Full("transaction count"));
        }
        if self.waiting_bytes + payload.len() > self.cfg.max_bytes {
            return Err(RejectReason::Full("bytes"));
        }
        let q = self.queues.entry(namespace).or_default();
        if q.bytes + payload.len() > self.cfg.max_namespace_bytes {
            return Err(RejectReason::Full("this namespace's share"));
        }
        q.hashes.push_back(hash);
        q.bytes += payload.len();
        self.waiting_txs += 1;
        self.waiting_bytes += payload.len();
        self.entries.insert(hash, Entry { namespace, payload: payload.into(), state: State::Waiting });
        Ok(hash)
    }

    /// Whether any transaction is waiting.
    pub fn has_waiting(&self) -> bool {
        self.waiting_txs > 0
    }

    /// Current counters.
    pub fn stats(&self) -> MempoolStats {
        MempoolStats {
            waiting_txs: self.waiting_txs,
            waiting_bytes: self.waiting_bytes,
            in_blocks: self.entries.len() - self.waiting_txs,
            namespaces: self.queues.values().filter(|q| q.bytes > 0).count(),
        }
    }

    /// A block's worth of waiting transactions, shared fairly between namespaces (deficit round
    /// robin, starting after the namespace served first last time). The transactions stay in
    /// the pool until [`Mempool::included`] is told about the block that carries them.
    pub fn select(&mut self, limits: &Limits) -> Payload {
        let mut chosen: Vec<(u64, Vec<u8>)> = Vec::new();
        let (mut bytes, mut count) = (0usize, 0usize);
        let mut taken: HashSet<Hash32> = HashSet::new();
        // Position in each queue and deficit per namespace.
        let mut cursor: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
        let order: Vec<u64> = {
            let active: Vec<u64> = self.queues.iter().filter(|(_, q)| q.bytes > 0).map(|(ns, _)| *ns).collect();
            let split = active.iter().position(|ns| *ns >= self.next_namespace).unwrap_or(0);
            active[split..].iter().chain(&active[..split]).copied().collect()
        };
        if let Some(first) = order.first() {
            self.next_namespace = first.wrapping_add(1);
        }
        let mut progress = true;
        while progress && count < limits.max_block_txs && bytes < limits.max_block_bytes {
            progress = false;
            for ns in &order {
                let q = &self.queues[ns];
                let (pos, deficit) = cursor.entry(*ns).or_insert((0, 0));
                *deficit += self.cfg.quantum_bytes;
                while *pos < q.hashes.len() {
                    let h = q.hashes[*pos];
                    let Some(e) = self.entries.get(&h) else {
                        *pos += 1;
                        continue;
                    };
                    if e.state != State::Waiting || taken.contains(&h) {
                        *pos += 1;
                        continue;
                    }
                    let len = e.payload.len();
                    if len > *deficit || count + 1 > limits.max_block_txs || bytes + len > limits.max_block_bytes {
                        break;
                    }
                    *deficit -= len;
                    *pos += 1;
                    bytes += len;
                    count += 1;
                    taken.insert(h);
                    chosen.push((*ns, e.payload.to_vec()));
                    progress = true;
                }
            }
        }
        Payload::from_transactions(chosen)
    }

    /// An accepted block (ours or another leader's): its transactions leave the queues.
    pub fn included(&mut self, block: &Block) {
        for (ns, tx) in block.payload().transactions() {
            let h = tx_hash(ns, tx);
            if let Some(e) = self.entries.get_mut(&h) {
                if e.state == State::Waiting {
                    e.state = State::InBlock;
                    self.waiting_txs -= 1;
                    self.waiting_bytes -= tx.len();
                    if let Some(q) = self.queues.get_mut(&ns) {
                        q.bytes -= tx.len();
                    }
                }
            } else if !self.decided_set.contains(&h) {
                // Known only from the block: remember it so a late submission is a duplicate.
                self.entries.insert(h, Entry { namespace: ns, payload: tx.into(), state: State::InBlock });
            }
        }
        self.compact();
    }

    /// A block that can no longer be decided: its transactions wait again (ahead of newer ones),
    /// even past the pool's bounds: they were admitted once and are not dropped (the excess is
    /// at most what undecided blocks hold, and new admissions wait until it drains).
    pub fn abandoned(&mut self, block: &Block) {
        let txs: Vec<(u64, &[u8])> = block.payload().transactions().collect();
        for (ns, tx) in txs.into_iter().rev() {
            let h = tx_hash(ns, tx);
            if let Some(e) = self.entries.get_mut(&h) {
                if e.state == State::InBlock {
                    e.state = State::Waiting;
                    self.waiting_txs += 1;
                    self.waiting_bytes += tx.len();
                    let q = self.queues.entry(ns).or_default();
                    q.bytes += tx.len();
                    q.hashes.push_front(h);
                }
            }
        }
    }

    /// A decided block: its transactions are done (and remembered as duplicates for a while).
    pub fn decided(&mut self, block: &Block) {
        let hashes: Vec<Hash32> = block.payload().transactions().map(|(ns, tx)| tx_hash(ns, tx)).collect();
        self.decided_hashed(block, &hashes);
    }

    /// [`Mempool::decided`] with the block's transaction hashes already computed (in payload
    /// order), for a caller that needed them anyway.
    pub fn decided_hashed(&mut self, block: &Block, hashes: &[Hash32]) {
        debug_assert_eq!(hashes.len(), block.payload().tx_count());
        for ((_, tx), &h) in block.payload().transactions().zip(hashes) {
            if let Some(e) = self.entries.remove(&h) {
                if e.state == State::Waiting {
                    self.waiting_txs -= 1;
                    self.waiting_bytes -= tx.len();
                    if let Some(q) = self.queues.get_mut(&e.namespace) {
                        q.bytes -= tx.len();
                    }
                }
            }
            if self.decided_set.insert(h) {
                self.decided.push_back(h);
            }
        }
        while self.decided.len() > self.cfg.remember_decided {
            if let Some(old) = self.decided.pop_front() {
                self.decided_set.remove(&old);
            }
        }
        self.compact();
    }

    /// Drops queue slots of transactions that are no longer waiting (from the front, where
    /// blocks take them), and empty queues.
    fn compact(&mut self) {
        let entries = &self.entries;
        for q in self.queues.values_mut() {
            while let Some(h) = q.hashes.front() {
                if entries.get(h).is_some_and(|e| e.state == State::Waiting) {
                    break;
                }
                q.hashes.pop_front();
            }
            if q.bytes == 0 && q.hashes.len() > 64 {
                q.hashes.retain(|h| entries.get(h).is_some_and(|e| e.state == State::Waiting));
            }
        }
        self.queues.retain(|_, q| !q.hashes.is_empty());
    }
}
