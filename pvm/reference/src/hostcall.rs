//! Host calls as one provable tick (docs/pvm.md section 9.6).
//!
//! A host call's proof carries what the call touches, each part self-checking against a root
//! the pre-state commits to:
//! - the memory leaves it reads or writes, as one multiproof against the memory root;
//! - the durable-storage nodes it loads, in their stored form (section 5.1): content-addressed,
//!   so they form a store of their own in which the call runs;
//! - for `read_input`, the message and its place on the L1 ([`L1Inbox`]).
//!
//! The verifier then runs the call with the PVM's own host semantics (`pvm_host::HostState`)
//! over that memory and that store, so the proof checks exactly what execution does, and hashes
//! the memory, durable storage and outbox that result.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use protocol::hash::{keccak256, keccak256_concat};
use protocol::l1_batch::LevelRecord;
use protocol::merkle;
use protocol::reveal::RevealHash;
use protocol::RollupMetadata;
use pvm_durable::{stored_node_hash, Hash, MemStore, NodeStore, StoreError, Tree};
use pvm_host::{read_message, Abort, GuestMemory, HostFn, HostState, LevelInbox, OutOfBounds, PreimageMap, PreimageSource};

use crate::code::HostTarget;
use crate::machine::{LEAF_SIZE, PAGE_SIZE};
use crate::proof::{bad, Header, ProofError, Reader, Writer};
use crate::state::{leaf_at, MemoryTree, Record, MEMORY_DEPTH};

/// What the L1 holds that a `read_input` step is checked against (docs/protocol.md section 6):
/// the inbox accumulator stored after each batch and the hash of each delayed-inbox message.
pub trait L1Inbox {
    /// `acc_k` after batch `batch`, if that batch was posted.
    fn accumulator(&self, batch: u64) -> Option<[u8; 32]>;
    /// The stored hash of delayed-inbox message `index`, if it was enqueued.
    fn delayed_message_hash(&self, index: u64) -> Option<[u8; 32]>;
}

/// An L1 that holds nothing: every `read_input` proof is refused against it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoL1;

impl L1Inbox for NoL1 {
    fn accumulator(&self, _: u64) -> Option<[u8; 32]> {
        None
    }
    fn delayed_message_hash(&self, _: u64) -> Option<[u8; 32]> {
        None
    }
}

/// Where a level sits on the L1: its batch and the batch's level records. The prover needs it
/// to show a `read_input`'s message against the accumulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelOnL1 {
    /// The batch's index in the inbox.
    pub batch: u64,
    /// The accumulator before the batch (`acc_{k-1}`, zero for the first batch).
    pub previous_accumulator: [u8; 32],
    /// The first level of the batch.
    pub first_level: u32,
    /// The records of every level of the batch, in order.
    pub records: Vec<LevelRecord>,
}

/// Levels posted to an L1 one batch each, as a test or a tool without an L1 builds them from
/// level inputs: the same accumulator and delayed hashes the contracts would store for them.
#[derive(Debug, Clone, Default)]
pub struct SyntheticL1 {
    accumulators: Vec<[u8; 32]>,
    delayed: Vec<[u8; 32]>,
    levels: HashMap<u32, LevelOnL1>,
}

impl SyntheticL1 {
    /// An L1 with nothing posted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Posts a level whose inbox is `messages` (start of level, info per level, the delayed
    /// transfers, the externals, end of level: docs/protocol.md section 2) as a batch of its own.
    /// Its delayed messages are enqueued first. An inbox of another shape is no L1 level.
    pub fn post_level(&mut self, level: u32, messages: &[Vec<u8>]) -> Result<(), String> {
        let n = messages.len();
        if n < 3 || messages[0] != [0, 1] || messages[n - 1] != [0, 2] {
            return Err(format!("level {level}: an L1 level starts with start of level and ends with end of level"));
        }
        let info = &messages[1];
        if info.len() != 42 || info[..2] != [0, 3] {
            return Err(format!("level {level}: message 1 is not info per level"));
        }
        let body = &messages[2..n - 1];
        let delayed = body.iter().take_while(|m| m.starts_with(&[0, 0])).count();
        if body[delayed..].iter().any(|m| m.first() != Some(&1)) {
            return Err(format!("level {level}: after the delayed transfers only external messages may come"));
        }
        let delayed_start = self.delayed.len() as u64;
        self.delayed.extend(body[..delayed].iter().map(|m| keccak256(m)));
        let txs: Vec<[u8; 32]> = body[delayed..].iter().map(|m| keccak256(&m[1..])).collect();
        let record = LevelRecord {
            level,
            timestamp_ms: u64::from_be_bytes(info[2..10].try_into().unwrap_or_default()),
            block_hash: protocol::Hash32(info[10..42].try_into().unwrap_or_default()),
            delayed_start,
            delayed_end: self.delayed.len() as u64,
            tx_count: txs.len() as u32,
            tx_root: protocol::Hash32(merkle::root(&txs)),
        };
        let previous = self.accumulators.last().copied().unwrap_or([0; 32]);
        let root = protocol::l1_batch::batch_root(&[record]);
        let acc = protocol::l1_batch::accumulate(&protocol::Hash32(previous), &root, level, 1);
        self.levels.insert(
            level,
            LevelOnL1 { batch: self.accumulators.len() as u64, previous_accumulator: previous, first_level: level, records: vec![record] },
        );
        self.accumulators.push(acc.0);
        Ok(())
    }

    /// Where `level` was posted.
    pub fn level(&self, level: u32) -> Option<&LevelOnL1> {
        self.levels.get(&level)
    }
}

impl L1Inbox for SyntheticL1 {
    fn accumulator(&self, batch: u64) -> Option<[u8; 32]> {
        self.accumulators.get(usize::try_from(batch).ok()?).copied()
    }
    fn delayed_message_hash(&self, index: u64) -> Option<[u8; 32]> {
        self.delayed.get(usize::try_from(index).ok()?).copied()
    }
}

/// What the verifier knows besides the proof: the rollup's constants and what the L1 holds.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    /// Ticks per run.
    pub tick_budget: u64,
    /// What `reveal_metadata` answers.
    pub metadata: RollupMetadata,
    /// The inbox accumulators and delayed-message hashes.
    pub inbox: &'a dyn L1Inbox,
    /// The preimage oracle: pages uploaded by their reveal hash.
    pub preimages: &'a dyn PreimageSource,
    /// The module roots of the kernels the L1 knows (a run's first tick needs its kernel's).
    pub kernels: &'a dyn crate::driver::KernelRegistry,
}

impl std::fmt::Debug for StepContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepContext").field("tick_budget", &self.tick_budget).field("metadata", &self.metadata).finish_non_exhaustive()
    }
}

impl StepContext<'static> {
    /// A context with only the budget and the metadata: it proves every step but inputs read,
    /// pages revealed, failed runs' last ticks and runs' first ticks.
    pub fn without_l1(tick_budget: u64, metadata: RollupMetadata) -> Self {
        StepContext { tick_budget, metadata, inbox: &NoL1, preimages: &pvm_host::NoPreimages, kernels: &crate::driver::NoKernels }
    }
}

// ---------------------------------------------------------------------------------------------
// Multiproofs of a fixed-depth tree.

/// The positions `(height, index)` of the siblings a multiproof of `leaves` (sorted, distinct)
/// needs, in the order the proof lists them: height by height from the leaves up, left to right,
/// every node on a path whose sibling is not itself on a path.
fn sibling_positions(leaves: &[u64], depth: usize) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    let mut layer: Vec<u64> = leaves.to_vec();
    for h in 0..depth {
        let mut next = Vec::with_capacity(layer.len());
        let mut i = 0;
        while i < layer.len() {
            let j = layer[i];
            if j.is_multiple_of(2) && layer.get(i + 1) == Some(&(j + 1)) {
                i += 2;
            } else {
                out.push((h, j ^ 1));
                i += 1;
            }
            next.push(j / 2);
        }
        layer = next;
    }
    out
}

/// The root of a tree of `depth` whose leaves at `leaves` (sorted, distinct) are given, the
/// other nodes it needs being `siblings` in [`sibling_positions`] order.
fn multiproof_root(leaves: &[(u64, [u8; 32])], depth: usize, siblings: &[[u8; 32]]) -> [u8; 32] {
    let mut layer: Vec<(u64, [u8; 32])> = leaves.to_vec();
    let mut sib = siblings.iter();
    let mut next_sibling = || sib.next().copied().unwrap_or([0; 32]);
    for _ in 0..depth {
        let mut next = Vec::with_capacity(layer.len());
        let mut i = 0;
        while i < layer.len() {
            let (j, h) = layer[i];
            let parent = if j.is_multiple_of(2) && layer.get(i + 1).map(|n| n.0) == Some(j + 1) {
                i += 2;
                merkle::node(&h, &layer[i - 1].1)
            } else {
                i += 1;
                let s = next_sibling();
                if j.is_multiple_of(2) {
                    merkle::node(&h, &s)
                } else {
                    merkle::node(&s, &h)
                }
            };
            next.push((j / 2, parent));
        }
        layer = next;
    }
    layer.first().map_or([0; 32], |l| l.1)
}

// ---------------------------------------------------------------------------------------------
// Memory.

/// The kernel's memory as a host call sees it in a proof: the leaves the call touches. Over the
/// machine's bytes (`base`) it records which leaves those are; without a base (the verifier) it
/// holds the proof's leaves and notes any access to another one.
struct LeafMemory<'a> {
    size: u64,
    base: Option<&'a [u8]>,
    leaves: RefCell<BTreeMap<u64, [u8; 32]>>,
    missing: Cell<bool>,
}

impl<'a> LeafMemory<'a> {
    fn over(bytes: &'a [u8]) -> Self {
        LeafMemory { size: bytes.len() as u64, base: Some(bytes), leaves: RefCell::default(), missing: Cell::new(false) }
    }

    fn witnessed(size: u64, leaves: BTreeMap<u64, [u8; 32]>) -> Self {
        LeafMemory { size, base: None, leaves: RefCell::new(leaves), missing: Cell::new(false) }
    }

    /// Calls `f` on each leaf piece of `[addr, addr + len)`: leaf index, offset in the leaf,
    /// offset in the range, length.
    fn pieces(addr: u64, len: usize, mut f: impl FnMut(u64, usize, usize, usize)) {
        let mut done = 0;
        while done < len {
            let at = addr + done as u64;
            let (leaf, off) = (at / LEAF_SIZE, (at % LEAF_SIZE) as usize);
            let n = (LEAF_SIZE as usize - off).min(len - done);
            f(leaf, off, done, n);
            done += n;
        }
    }

    fn leaf(&self, i: u64) -> [u8; 32] {
        let mut leaves = self.leaves.borrow_mut();
        if let Some(l) = leaves.get(&i) {
            return *l;
        }
        let l = match self.base {
            Some(bytes) => leaf_at(bytes, i as usize),
            None => {
                self.missing.set(true);
                [0; 32]
            }
        };
        leaves.insert(i, l);
        l
    }
}

impl GuestMemory for LeafMemory<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        if !self.contains(addr, buf.len() as u64) {
            return Err(OutOfBounds);
        }
        Self::pieces(u64::from(addr), buf.len(), |leaf, off, at, n| {
            buf[at..at + n].copy_from_slice(&self.leaf(leaf)[off..off + n]);
        });
        Ok(())
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), OutOfBounds> {
        if !self.contains(addr, data.len() as u64) {
            return Err(OutOfBounds);
        }
        Self::pieces(u64::from(addr), data.len(), |leaf, off, at, n| {
            let mut l = self.leaf(leaf);
            l[off..off + n].copy_from_slice(&data[at..at + n]);
            self.leaves.borrow_mut().insert(leaf, l);
        });
        Ok(())
    }
}

/// The memory witness: `u16 n ‖ n × (u32 leaf index ‖ leaf[32])` (indices increasing) and the
/// multiproof's siblings.
fn write_memory(w: &mut Writer, bytes: &[u8], tree: &MemoryTree, touched: &[u64]) {
    w.u16(touched.len() as u16);
    for &i in touched {
        w.u32(i as u32);
        w.h(&leaf_at(bytes, i as usize));
    }
    for (h, j) in sibling_positions(touched, MEMORY_DEPTH) {
        w.h(&tree.node(bytes, h, j));
    }
}

/// Memory leaves by index.
type Leaves = Vec<(u64, [u8; 32])>;

/// Reads and checks the memory witness: the leaves and the siblings (to rehash after the call).
fn read_memory(r: &mut Reader<'_>, root: &[u8; 32]) -> Result<(Leaves, Vec<[u8; 32]>), ProofError> {
    let n = r.u16()? as usize;
    let mut leaves: Vec<(u64, [u8; 32])> = Vec::with_capacity(n);
    for _ in 0..n {
        let i = u64::from(r.u32()?);
        if i >= 1 << MEMORY_DEPTH || leaves.last().is_some_and(|l| l.0 >= i) {
            return Err(bad("memory leaf index"));
        }
        leaves.push((i, r.h()?));
    }
    let indices: Vec<u64> = leaves.iter().map(|l| l.0).collect();
    let siblings = r.path(sibling_positions(&indices, MEMORY_DEPTH).len())?;
    let computed = if leaves.is_empty() { *root } else { multiproof_root(&leaves, MEMORY_DEPTH, &siblings) };
    if computed != *root {
        return Err(bad("memory leaves"));
    }
    Ok((leaves, siblings))
}

// ---------------------------------------------------------------------------------------------
// Durable storage.

/// Nodes from two stores: the ones a run made since its tree was last committed, over the PVM's.
pub(crate) struct Layered {
    top: MemStore,
    base: Arc<dyn NodeStore>,
}

impl NodeStore for Layered {
    fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        match self.top.get(hash)? {
            Some(b) => Ok(Some(b)),
            None => self.base.get(hash),
        }
    }
}

/// A store that notes which nodes are loaded, in the order they first are.
pub(crate) struct Recording<S> {
    inner: S,
    loaded: Mutex<Vec<(Hash, Vec<u8>)>>,
}

impl<S: NodeStore> NodeStore for Recording<S> {
    fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let got = self.inner.get(hash)?;
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = &got {
            if !loaded.iter().any(|(h, _)| h == hash) {
                loaded.push((*hash, b.clone()));
            }
        }
        Ok(got)
    }
}

/// The proof's nodes by hash; which of them the call loaded, in order.
pub(crate) struct Witnessed {
    nodes: HashMap<Hash, Vec<u8>>,
    loaded: Mutex<Vec<Hash>>,
}

impl Witnessed {
    /// The nodes loaded so far, in order.
    pub(crate) fn loaded(&self) -> Vec<Hash> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// `durable` (with what it has not committed) over a store that records the nodes loaded.
pub(crate) fn recording_tree(durable: &Tree) -> (Tree, Arc<Recording<Layered>>) {
    let mut fork = durable.fork();
    let (root, fresh) = fork.commit();
    let top = MemStore::new();
    top.insert_all(fresh);
    let store = Arc::new(Recording { inner: Layered { top, base: durable.store() }, loaded: Mutex::new(Vec::new()) });
    (Tree::open(store.clone(), root), store)
}

/// The durable witness: the nodes `store` recorded, in order.
pub(crate) fn write_loaded(w: &mut Writer, store: &Recording<Layered>) {
    let loaded = store.loaded.lock().unwrap_or_else(|e| e.into_inner());
    w.u16(loaded.len() as u16);
    for (_, bytes) in loaded.iter() {
        w.u32(bytes.len() as u32);
        w.0.extend_from_slice(bytes);
    }
}

/// The tree of root `root` over a proof's nodes.
pub(crate) fn witnessed_tree(nodes: Nodes, root: Hash) -> (Tree, Arc<Witnessed>) {
    let store = Arc::new(Witnessed { nodes, loaded: Mutex::new(Vec::new()) });
    (Tree::open(store.clone(), root), store)
}

impl NodeStore for Witnessed {
    fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let got = self.nodes.get(hash).cloned();
        if got.is_some() {
            let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            if !loaded.contains(hash) {
                loaded.push(*hash);
            }
        }
        Ok(got)
    }
}

/// The most bytes of one stored node in a proof (a value of 2^31 - 1 bytes lists 4,194,304 chunk
/// hashes; section 9.6 says why that bound is not yet 4 KiB).
const MAX_NODE_BYTES: usize = 5 + (pvm_durable::MAX_VALUE_SIZE as usize).div_ceil(pvm_durable::CHUNK_SIZE) * 32;

/// Stored nodes by hash.
pub(crate) type Nodes = HashMap<Hash, Vec<u8>>;

/// The durable witness: `u16 n ‖ n × (u32 len ‖ stored node)`, in the order the call loads them.
pub(crate) fn read_nodes(r: &mut Reader<'_>) -> Result<(Vec<Hash>, Nodes), ProofError> {
    let n = r.u16()? as usize;
    let mut order = Vec::with_capacity(n);
    let mut nodes = HashMap::with_capacity(n);
    for _ in 0..n {
        let len = r.u32()? as usize;
        if len > MAX_NODE_BYTES {
            return Err(bad("durable node size"));
        }
        let bytes = r.bytes(len)?.to_vec();
        let h = stored_node_hash(&bytes).ok_or(bad("durable node encoding"))?;
        if nodes.insert(h, bytes).is_some() {
            return Err(bad("durable node listed twice"));
        }
        order.push(h);
    }
    Ok((order, nodes))
}

// ---------------------------------------------------------------------------------------------
// Inputs.

fn read_record(r: &mut Reader<'_>) -> Result<LevelRecord, ProofError> {
    LevelRecord::decode(r.bytes(protocol::l1_batch::LEVEL_RECORD_SIZE)?).map_err(|_| bad("level record"))
}

/// The input witness of `read_input` (after the memory and durable ones): the level record
/// `‖ u64 batch ‖ previous accumulator ‖ u32 first_level ‖ u32 level_count ‖` the record's path
/// in the batch, then by the message id: nothing (start, info, end of level, exhausted), the
/// delayed message `u32 len ‖ bytes`, or the transaction `u32 len ‖ tx ‖` its path in `tx_root`.
/// Returns the message (`None`: the level's inbox is exhausted).
fn read_input(r: &mut Reader<'_>, pre: &Header, l1: &dyn L1Inbox) -> Result<Option<Vec<u8>>, ProofError> {
    let record = read_level_record(r, pre, l1)?;
    read_message_of(r, &record, u64::from(pre.record.inbox_next), l1)
}

/// The level record of the proof's level `‖ u64 batch ‖ previous accumulator ‖ u32 first_level
/// ‖ u32 level_count ‖` its path in the batch, checked against the accumulator the L1 stores.
pub(crate) fn read_level_record(r: &mut Reader<'_>, pre: &Header, l1: &dyn L1Inbox) -> Result<LevelRecord, ProofError> {
    let record = read_record(r)?;
    let batch = r.u64()?;
    let previous = r.h()?;
    let (first, count) = (r.u32()?, r.u32()?);
    let path = r.path(merkle::depth(count as usize))?;
    let at = pre.level.checked_sub(first).filter(|at| *at < count).ok_or(bad("level outside its batch"))?;
    if record.level != pre.level {
        return Err(bad("level record of another level"));
    }
    let batch_root = merkle::root_from_path(&record.hash().0, u64::from(at), &path);
    let acc = keccak256_concat(&[&previous, &batch_root, &first.to_be_bytes(), &count.to_be_bytes()]);
    if l1.accumulator(batch) != Some(acc) {
        return Err(bad("level record not in the L1 inbox"));
    }
    Ok(record)
}

/// Reads the message of `read_input` for message id `id` of the level of `record`.
fn read_message_of(r: &mut Reader<'_>, record: &LevelRecord, id: u64, l1: &dyn L1Inbox) -> Result<Option<Vec<u8>>, ProofError> {
    let delayed = record.delayed_end.checked_sub(record.delayed_start).ok_or(bad("delayed range"))?;
    let txs = u64::from(record.tx_count);
    Ok(Some(match id {
        0 => vec![0, 1],
        1 => {
            let mut m = vec![0, 3];
            m.extend_from_slice(&record.timestamp_ms.to_be_bytes());
            m.extend_from_slice(&record.block_hash.0);
            m
        }
        id if id - 2 < delayed => {
            let len = r.u32()? as usize;
            if len > pvm_host::abi::MAX_IO_SIZE {
                return Err(bad("delayed message size"));
            }
            let m = r.bytes(len)?.to_vec();
            if l1.delayed_message_hash(record.delayed_start + (id - 2)) != Some(keccak256(&m)) {
                return Err(bad("delayed message"));
            }
            m
        }
        id if id - 2 - delayed < txs => {
            let len = r.u32()? as usize;
            if len >= pvm_host::abi::MAX_IO_SIZE {
                return Err(bad("transaction size"));
            }
            let tx = r.bytes(len)?.to_vec();
            let path = r.path(merkle::depth(txs as usize))?;
            if merkle::root_from_path(&keccak256(&tx), id - 2 - delayed, &path) != record.tx_root.0 {
                return Err(bad("transaction"));
            }
            let mut m = vec![1];
            m.extend_from_slice(&tx);
            m
        }
        id if id - 2 - delayed == txs => vec![0, 2],
        _ => return Ok(None),
    }))
}

/// Writes what [`read_level_record`] reads.
pub(crate) fn write_level_record(w: &mut Writer, level: u32, l1: &LevelOnL1) -> Result<LevelRecord, ProofError> {
    let no = |what: &str| ProofError::NoInboxEvidence(format!("level {level}: {what}"));
    let at = level.checked_sub(l1.first_level).filter(|at| (*at as usize) < l1.records.len()).ok_or_else(|| no("not in the batch given"))?;
    let record = l1.records[at as usize];
    w.0.extend_from_slice(&record.encode());
    w.u64(l1.batch);
    w.h(&l1.previous_accumulator);
    w.u32(l1.first_level);
    w.u32(l1.records.len() as u32);
    let leaves: Vec<[u8; 32]> = l1.records.iter().map(|r| r.hash().0).collect();
    w.path(&merkle::proof(&leaves, at as usize).unwrap_or_default());
    Ok(record)
}

fn write_input(w: &mut Writer, level: u32, inbox: &LevelInbox, l1: &LevelOnL1) -> Result<(), ProofError> {
    let no = |what: &str| ProofError::NoInboxEvidence(format!("level {level}: {what}"));
    let record = write_level_record(w, level, l1)?;
    let id = inbox.next as u64;
    let delayed = record.delayed_end.saturating_sub(record.delayed_start);
    let Some(msg) = inbox.messages.get(inbox.next) else { return Ok(()) };
    if id >= 2 && id - 2 < delayed {
        w.u32(msg.len() as u32);
        w.0.extend_from_slice(msg);
    } else if id >= 2 && id - 2 - delayed < u64::from(record.tx_count) {
        let first_tx = usize::try_from(delayed).unwrap_or(usize::MAX).saturating_add(2);
        let txs: Vec<[u8; 32]> = inbox.messages.iter().skip(first_tx).take(record.tx_count as usize).map(|m| keccak256(m.get(1..).unwrap_or_default())).collect();
        if merkle::root(&txs) != record.tx_root.0 {
            return Err(no("its external messages are not the record's transactions"));
        }
        let tx = msg.get(1..).unwrap_or_default();
        w.u32(tx.len() as u32);
        w.0.extend_from_slice(tx);
        w.path(&merkle::proof(&txs, (id - 2 - delayed) as usize).unwrap_or_default());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The step.

/// A host state around `durable` for one call: `outbox_count` messages in the outbox (a call
/// sees only how many there are), the rollup's metadata and the pages the call may reveal.
fn host_for(durable: Tree, outbox_count: usize, preimages: Arc<dyn PreimageSource>, metadata: RollupMetadata) -> HostState {
    HostState { durable, inbox: LevelInbox::default(), outbox: vec![Vec::new(); outbox_count], debug: Default::default(), preimages, metadata }
}

/// The 33-byte reveal hash a `reveal_preimage` call names, if it reads one (the page it needs).
fn revealed_hash(target: HostTarget, args: &[u64], mem: &impl GuestMemory) -> Option<RevealHash> {
    if target.func != Some(HostFn::RevealPreimage) || (target.form == 1 && args.get(1).copied() != Some(pvm_host::abi::REVEAL_HASH_SIZE as u64)) {
        return None;
    }
    let raw = mem.read_vec(args.first().copied().unwrap_or(0) as u32, pvm_host::abi::REVEAL_HASH_SIZE as u32).ok()?;
    RevealHash::decode(&raw).ok()
}

fn abort_error(a: Abort) -> ProofError {
    match a {
        Abort::MissingPreimage(h) => ProofError::MissingPreimage(h.to_string()),
        Abort::Storage(_) => bad("durable nodes (one the call needs is missing)"),
        Abort::Preimage(e) => ProofError::Aborted(e),
    }
}

/// Writes the witnesses of host call `target` with `args`, made from the machine's memory (its
/// tree up to date) and the run's host state, as [`verify`] reads them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prove(
    w: &mut Writer,
    memory: &[u8],
    tree: &MemoryTree,
    host: &HostState,
    target: HostTarget,
    args: &[u64],
    level: u32,
    l1: Option<&LevelOnL1>,
) -> Result<(), ProofError> {
    let func = target.func.ok_or_else(|| ProofError::NotProvable("a call of an import the PVM does not define".into()))?;
    if func == HostFn::WriteDebug {
        // Not part of the state: the step reads nothing.
        w.u16(0);
        w.u16(0);
        return Ok(());
    }
    let (tree_before, store) = recording_tree(&host.durable);
    let mut mem = LeafMemory::over(memory);
    if func == HostFn::ReadInput {
        let a = |i: usize| args.get(i).copied().unwrap_or(0) as u32;
        let msg = host.inbox.messages.get(host.inbox.next).map(Vec::as_slice);
        read_message(&mut mem, level, host.inbox.next as u32, msg, [a(0), a(1), a(2), a(3)]);
    } else {
        let mut scratch = host_for(tree_before, host.outbox.len(), host.preimages.clone(), host.metadata);
        scratch.call(func, usize::from(target.form), args, &mut mem).map_err(abort_error)?;
    }
    let touched: Vec<u64> = mem.leaves.borrow().keys().copied().collect();
    write_memory(w, memory, tree, &touched);
    write_loaded(w, &store);
    if func == HostFn::WriteOutput {
        w.path(&crate::state::outbox_level_path(&host.outbox, host.outbox.len()));
    }
    if func == HostFn::ReadInput {
        let l1 = l1.ok_or_else(|| ProofError::NoInboxEvidence(format!("level {level}: where it was posted on the L1 was not given")))?;
        write_input(w, level, &host.inbox, l1)?;
    }
    Ok(())
}

/// Executes host call `target` with `args` from its witnesses: updates the memory root, the
/// inbox position and the outbox in `rec` and the durable root in `durable`, and returns the
/// call's wasm result.
pub(crate) fn verify(
    r: &mut Reader<'_>,
    pre: &Header,
    rec: &mut Record,
    durable: &mut [u8; 32],
    target: HostTarget,
    args: &[u64],
    ctx: &StepContext<'_>,
) -> Result<Option<u64>, ProofError> {
    let func = target.func.ok_or(bad("host call of an undefined import"))?;
    let (leaves, siblings) = read_memory(r, &pre.record.memory_root)?;
    let (order, nodes) = read_nodes(r)?;
    if func == HostFn::WriteDebug {
        if !leaves.is_empty() || !order.is_empty() {
            return Err(bad("write_debug reads nothing"));
        }
        return Ok((target.form != 0).then_some(0));
    }
    let size = u64::from(pre.record.memory_pages) * PAGE_SIZE;
    let mut mem = LeafMemory::witnessed(size, leaves.iter().copied().collect());
    let (tree_before, store) = witnessed_tree(nodes, pre.durable_root);
    let result = if func == HostFn::ReadInput {
        let msg = read_input(r, pre, ctx.inbox)?;
        let a = |i: usize| args.get(i).copied().unwrap_or(0) as u32;
        let (ret, consumed) = read_message(&mut mem, pre.level, pre.record.inbox_next, msg.as_deref(), [a(0), a(1), a(2), a(3)]);
        if consumed {
            rec.inbox_next = pre.record.inbox_next.checked_add(1).ok_or(bad("inbox position"))?;
        }
        Some(u64::from(ret as u32))
    } else {
        let count = pre.record.outbox_count as usize;
        if count > protocol::outbox::MAX_OUTBOX_MESSAGES_PER_LEVEL {
            return Err(bad("outbox count"));
        }
        // The level's next outbox slot, empty, in the level's outbox tree.
        let slot_path = if func == HostFn::WriteOutput { r.path(crate::state::OUTBOX_LEVEL_DEPTH)? } else { Vec::new() };
        if func == HostFn::WriteOutput && merkle::root_from_path(&[0; 32], count as u64, &slot_path) != pre.record.outbox_root {
            return Err(bad("outbox slot"));
        }
        // The oracle's page, if the call reveals one (its hash is in the witnessed memory).
        let mut pages = PreimageMap::default();
        if let Some(h) = revealed_hash(target, args, &mem) {
            if let Some(page) = ctx.preimages.preimage(&h).map_err(ProofError::Aborted)? {
                if RevealHash::of(&page) != h {
                    return Err(ProofError::Aborted(format!("the preimage oracle served a page that is not {h}")));
                }
                pages.0.insert(h, page);
            }
        }
        let mut host = host_for(tree_before, count, Arc::new(pages), ctx.metadata);
        let result = host.call(func, usize::from(target.form), args, &mut mem).map_err(abort_error)?;
        *durable = host.durable.root_hash();
        if host.outbox.len() > count {
            let msg = host.outbox.last().map(Vec::as_slice).unwrap_or_default();
            rec.outbox_count = pre.record.outbox_count + 1;
            rec.outbox_root = merkle::root_from_path(&keccak256(msg), count as u64, &slot_path);
        }
        result
    };
    if mem.missing.get() {
        return Err(bad("memory leaves (one the call touches is missing)"));
    }
    if store.loaded() != order {
        return Err(bad("durable nodes (not the ones the call loads, in its order)"));
    }
    let after: Vec<(u64, [u8; 32])> = mem.leaves.into_inner().into_iter().collect();
    if !after.is_empty() {
        rec.memory_root = multiproof_root(&after, MEMORY_DEPTH, &siblings);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiproofs_agree_with_single_paths() {
        let leaves: Vec<[u8; 32]> = (0..16u8).map(|i| [i + 1; 32]).collect();
        let root = merkle::root(&leaves);
        for set in [vec![0u64], vec![3], vec![0, 1], vec![1, 2], vec![0, 5, 6, 15], (0..16).collect::<Vec<u64>>()] {
            let known: Vec<(u64, [u8; 32])> = set.iter().map(|i| (*i, leaves[*i as usize])).collect();
            let sibs: Vec<[u8; 32]> = sibling_positions(&set, 4)
                .into_iter()
                .map(|(h, j)| {
                    // The node at (h, j): the root of its leaves.
                    let span = 1usize << h;
                    merkle::root(&leaves[j as usize * span..(j as usize + 1) * span])
                })
                .collect();
            assert_eq!(multiproof_root(&known, 4, &sibs), root, "{set:?}");
        }
    }
}
