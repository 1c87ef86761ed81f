//! The L1 inbox's side of the protocol (docs/protocol.md section 6): the batch a poster sends to
//! `postBatch`, the level record the contract forms for every level, the batch root and the
//! inbox accumulator, the hash naming a forced level, and [`InboxState`], which replays exactly
//! the contract's checks so a node rebuilds every level from L1 data alone and knows in advance
//! whether the contract will accept a batch.
//!
//! `contract-bridge/src/rollup/SequencerInbox.sol` is the Solidity twin of this module; the two
//! are tested against each other on a live anvil (`contract-bridge/bindings/tests`).

use alloc::vec::Vec;
use core::fmt;

use crate::error::{DecodeError, Reader};
use crate::hash::{keccak256, keccak256_concat};
use crate::inbox::{InboxMessage, InfoPerLevel, InternalMessage, Transfer, MAX_EXTERNAL_PAYLOAD};
use crate::merkle;
use crate::primitives::Hash32;
use crate::sequencer::{BlockHeader, NsTable, MAX_NAMESPACES_PER_BLOCK};

/// Size of an encoded [`LevelRecord`].
pub const LEVEL_RECORD_SIZE: usize = 4 + 8 + 32 + 8 + 8 + 4 + 32;
/// The largest transaction a batch may carry: an external message is `01 || tx` and at most
/// 4,096 bytes.
pub const MAX_TRANSACTION_SIZE: usize = MAX_EXTERNAL_PAYLOAD;
/// Domain of the block hash of a forced level (raw bytes, not hashed first).
pub const FORCED_LEVEL_DOMAIN: &[u8] = b"rollup.inbox.forced.v1";

/// One sequencer block as a batch carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLevel {
    /// The block's header; its hash is the level's block hash.
    pub header: BlockHeader,
    /// The block's whole namespace table (its hash is `header.payload_root`).
    pub ns_table: NsTable,
    /// How many delayed-inbox messages were enqueued at or before `header.l1_block` (the
    /// level includes those not included yet).
    pub delayed_through: u64,
    /// The rollup namespace's transactions in block order; empty when the table has no entry
    /// for the namespace.
    pub transactions: Vec<Vec<u8>>,
}

/// The `bytes batch` argument of `postBatch`: one or more consecutive sequencer blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// The blocks in height order.
    pub levels: Vec<BatchLevel>,
}

impl Batch {
    /// `u32 level_count || level_count x (header || ns_table || u64 delayed_through || txs)`,
    /// each transaction as `u32 len || tx`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.levels.len() as u32).to_be_bytes());
        for l in &self.levels {
            out.extend_from_slice(&l.header.encode());
            out.extend_from_slice(&l.ns_table.encode());
            out.extend_from_slice(&l.delayed_through.to_be_bytes());
            for tx in &l.transactions {
                out.extend_from_slice(&(tx.len() as u32).to_be_bytes());
                out.extend_from_slice(tx);
            }
        }
        out
    }

    /// Parses a batch for the rollup of `namespace` (which decides where transactions follow).
    /// Checks the structure the contract checks while parsing: a valid namespace table, the
    /// announced number of transactions, each at most [`MAX_TRANSACTION_SIZE`], no trailing
    /// bytes, at least one level. Chaining, roots and hints are [`InboxState::apply_batch`]'s.
    pub fn decode(bytes: &[u8], namespace: u64) -> Result<Self, DecodeError> {
        const WHAT: &str = "L1 batch";
        let mut r = Reader::new(WHAT, bytes);
        let count = r.u32()? as usize;
        if count == 0 {
            return Err(DecodeError::Invalid { what: WHAT, reason: "no levels" });
        }
        // Every level takes at least a header, an empty table and a hint.
        let mut levels = Vec::with_capacity(count.min(bytes.len() / (BlockHeader::SIZE + 12)));
        let mut at = 4;
        for _ in 0..count {
            let header = BlockHeader::decode(take(bytes, &mut at, BlockHeader::SIZE)?)?;
            let n = u32::from_be_bytes(peek::<4>(bytes, at)?) as usize;
            if n > MAX_NAMESPACES_PER_BLOCK {
                return Err(DecodeError::TooLarge { what: "namespace table", max: MAX_NAMESPACES_PER_BLOCK, got: n });
            }
            let ns_table = NsTable::decode(take(bytes, &mut at, 4 + n * NsTable::ENTRY_SIZE)?)?;
            let delayed_through = u64::from_be_bytes(peek::<8>(bytes, at)?);
            at += 8;
            let tx_count = ns_table.get(namespace).map_or(0, |e| e.tx_count as usize);
            let mut transactions = Vec::with_capacity(tx_count.min((bytes.len() - at) / 4));
            for _ in 0..tx_count {
                let len = u32::from_be_bytes(peek::<4>(bytes, at)?) as usize;
                at += 4;
                if len > MAX_TRANSACTION_SIZE {
                    return Err(DecodeError::TooLarge { what: "batch transaction", max: MAX_TRANSACTION_SIZE, got: len });
                }
                transactions.push(take(bytes, &mut at, len)?.to_vec());
            }
            levels.push(BatchLevel { header, ns_table, delayed_through, transactions });
        }
        if at != bytes.len() {
            return Err(DecodeError::TrailingBytes { what: WHAT, extra: bytes.len() - at });
        }
        Ok(Batch { levels })
    }
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], DecodeError> {
    let s = bytes
        .get(*at..at.saturating_add(n))
        .ok_or(DecodeError::Truncated { what: "L1 batch", needed: at.saturating_add(n), available: bytes.len() })?;
    *at += n;
    Ok(s)
}

fn peek<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], DecodeError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(bytes, &mut { at }, N)?);
    Ok(out)
}

/// What the contract commits to for each level: enough to prove any of the level's inbox
/// messages against the accumulator (the transactions through `tx_root`, the delayed messages
/// through their hashes in the contract's storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelRecord {
    /// The rollup level, from 1.
    pub level: u32,
    /// Unix milliseconds of the sequencer block (of the L1 block for a forced level).
    pub timestamp_ms: u64,
    /// The sequencer block hash, or [`forced_block_hash`] for a forced level.
    pub block_hash: Hash32,
    /// First delayed-inbox message the level includes.
    pub delayed_start: u64,
    /// One past the last delayed-inbox message the level includes.
    pub delayed_end: u64,
    /// The rollup namespace's transactions in the block (0 if absent).
    pub tx_count: u32,
    /// Their Merkle root (zero if absent).
    pub tx_root: Hash32,
}

impl LevelRecord {
    /// `u32 level || u64 timestamp_ms || block_hash || u64 delayed_start || u64 delayed_end ||
    /// u32 tx_count || tx_root`.
    pub fn encode(&self) -> [u8; LEVEL_RECORD_SIZE] {
        let mut out = [0u8; LEVEL_RECORD_SIZE];
        out[0..4].copy_from_slice(&self.level.to_be_bytes());
        out[4..12].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        out[12..44].copy_from_slice(&self.block_hash.0);
        out[44..52].copy_from_slice(&self.delayed_start.to_be_bytes());
        out[52..60].copy_from_slice(&self.delayed_end.to_be_bytes());
        out[60..64].copy_from_slice(&self.tx_count.to_be_bytes());
        out[64..96].copy_from_slice(&self.tx_root.0);
        out
    }

    /// Parses [`LevelRecord::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("level record", bytes);
        let rec = LevelRecord {
            level: r.u32()?,
            timestamp_ms: r.u64()?,
            block_hash: Hash32(r.array()?),
            delayed_start: r.u64()?,
            delayed_end: r.u64()?,
            tx_count: r.u32()?,
            tx_root: Hash32(r.array()?),
        };
        r.finish()?;
        Ok(rec)
    }

    /// The Merkle leaf of the record in its batch.
    pub fn hash(&self) -> Hash32 {
        Hash32(keccak256(&self.encode()))
    }

    /// The level's info-per-level message.
    pub fn info(&self) -> InfoPerLevel {
        InfoPerLevel { timestamp_ms: self.timestamp_ms, block_hash: self.block_hash }
    }
}

/// The Merkle root (docs/protocol.md 1.1) of a batch's level records.
pub fn batch_root(records: &[LevelRecord]) -> Hash32 {
    let leaves: Vec<[u8; 32]> = records.iter().map(|r| r.hash().0).collect();
    Hash32(merkle::root(&leaves))
}

/// `acc_k = H(acc_{k-1} || batch_root || u32 first_level || u32 level_count)`.
pub fn accumulate(previous: &Hash32, batch_root: &Hash32, first_level: u32, level_count: u32) -> Hash32 {
    Hash32(keccak256_concat(&[&previous.0, &batch_root.0, &first_level.to_be_bytes(), &level_count.to_be_bytes()]))
}

/// The block hash of a forced level:
/// `H("rollup.inbox.forced.v1" || u64 l1_block || u64 delayed_start || u64 delayed_end)`.
pub fn forced_block_hash(l1_block: u64, delayed_start: u64, delayed_end: u64) -> Hash32 {
    Hash32(keccak256_concat(&[
        FORCED_LEVEL_DOMAIN,
        &l1_block.to_be_bytes(),
        &delayed_start.to_be_bytes(),
        &delayed_end.to_be_bytes(),
    ]))
}

/// The inbox message a delayed-inbox entry becomes, and the hash the contract stores for it.
pub fn delayed_message_hash(transfer: &Transfer) -> Hash32 {
    Hash32(keccak256(&InboxMessage::Internal(InternalMessage::Transfer(transfer.clone())).encode()))
}

/// The enqueue L1 block of each delayed-inbox message, in queue order: all the inclusion rules
/// need to know about the delayed inbox.
pub trait DelayedQueue {
    /// How many messages were ever enqueued.
    fn count(&self) -> u64;
    /// The L1 block at which message `index` was enqueued (`index < count()`).
    fn enqueued_at(&self, index: u64) -> u64;
}

impl DelayedQueue for [u64] {
    fn count(&self) -> u64 {
        self.len() as u64
    }
    fn enqueued_at(&self, index: u64) -> u64 {
        self[index as usize]
    }
}

impl DelayedQueue for Vec<u64> {
    fn count(&self) -> u64 {
        self.len() as u64
    }
    fn enqueued_at(&self, index: u64) -> u64 {
        self[index as usize]
    }
}

/// Why the inbox contract refuses a batch or a forced inclusion. Each variant is the contract's
/// custom error of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// The bytes are not a batch (structure, sizes, namespace table).
    Malformed(DecodeError),
    /// A header names another sequencer chain.
    WrongSequencerChain {
        /// The level.
        level: u32,
        /// The header's chain id.
        chain_id: u64,
    },
    /// A header's height is not its parent's plus one.
    HeightNotConsecutive {
        /// The level.
        level: u32,
        /// The height expected.
        expected: u64,
        /// The header's height.
        got: u64,
    },
    /// A header's parent is not the previous block.
    ParentMismatch {
        /// The level.
        level: u32,
        /// The previous block's hash.
        expected: Hash32,
        /// The header's parent.
        got: Hash32,
    },
    /// A header refers to an L1 block that is not strictly before the posting block.
    L1BlockNotFinal {
        /// The level.
        level: u32,
        /// The header's L1 block.
        l1_block: u64,
    },
    /// `H(ns_table) != payload_root`.
    PayloadRootMismatch {
        /// The level.
        level: u32,
    },
    /// The namespace's transactions do not hash to the table's `tx_root`.
    TxRootMismatch {
        /// The level.
        level: u32,
    },
    /// `delayed_through` is not the number of delayed messages enqueued at or before the
    /// header's L1 block.
    BadDelayedHint {
        /// The level.
        level: u32,
        /// The hint.
        hint: u64,
    },
    /// Level numbers would pass `u32::MAX`.
    InboxLevelOverflow,
    /// A forced inclusion must include at least one waiting message and none past the queue.
    BadForceRange {
        /// Delayed messages already included.
        included: u64,
        /// The requested end.
        through: u64,
        /// Messages in the queue.
        count: u64,
    },
    /// The last message of a forced inclusion has not waited past the timeout yet.
    NotOverdue {
        /// First L1 block at which it may be forced.
        overdue_at: u64,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Malformed(e) => write!(f, "malformed batch: {e}"),
            BatchError::WrongSequencerChain { level, chain_id } => write!(f, "level {level}: header of sequencer chain {chain_id}"),
            BatchError::HeightNotConsecutive { level, expected, got } => {
                write!(f, "level {level}: height {got}, expected {expected}")
            }
            BatchError::ParentMismatch { level, expected, got } => {
                write!(f, "level {level}: parent {got} is not the previous block {expected}")
            }
            BatchError::L1BlockNotFinal { level, l1_block } => {
                write!(f, "level {level}: L1 block {l1_block} is not before the posting block; retry later")
            }
            BatchError::PayloadRootMismatch { level } => write!(f, "level {level}: namespace table does not match payload_root"),
            BatchError::TxRootMismatch { level } => write!(f, "level {level}: transactions do not match the namespace's tx_root"),
            BatchError::BadDelayedHint { level, hint } => write!(f, "level {level}: delayed_through {hint} does not match the header's L1 block"),
            BatchError::InboxLevelOverflow => write!(f, "inbox level would overflow u32"),
            BatchError::BadForceRange { included, through, count } => {
                write!(f, "cannot force through {through}: {included} included, {count} enqueued")
            }
            BatchError::NotOverdue { overdue_at } => write!(f, "not overdue before L1 block {overdue_at}"),
        }
    }
}

impl core::error::Error for BatchError {}

impl From<DecodeError> for BatchError {
    fn from(e: DecodeError) -> Self {
        BatchError::Malformed(e)
    }
}

/// What the rollup fixed at origination that the inbox rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxRules {
    /// The sequencer chain every header must name.
    pub sequencer_chain_id: u64,
    /// The rollup's namespace in the sequencer's blocks.
    pub namespace: u64,
    /// L1 blocks after which a delayed message may be forced in.
    pub delayed_inclusion_timeout: u64,
}

/// A batch (posted or forced) as the contract appended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedBatch {
    /// Its index, from 0.
    pub index: u64,
    /// The records of its levels, the first being `records[0].level`.
    pub records: Vec<LevelRecord>,
    /// Merkle root of the records.
    pub batch_root: Hash32,
    /// The accumulator after it.
    pub accumulator: Hash32,
}

/// The inbox contract's state, replayed off-chain: the same checks, the same records, the same
/// accumulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxState {
    /// The last level appended (0 at origination).
    pub level: u32,
    /// The height of the last accepted sequencer block.
    pub last_height: u64,
    /// Its hash (the origination's start block until the first batch).
    pub last_block_hash: Hash32,
    /// Delayed messages included in some level so far.
    pub delayed_included: u64,
    /// The accumulator (zero before the first batch).
    pub accumulator: Hash32,
    /// Batches appended so far.
    pub batch_count: u64,
}

impl InboxState {
    /// The state at origination: the first posted block must chain to `start_block_hash` and
    /// have height `start_height + 1`.
    pub fn at_origination(start_block_hash: Hash32, start_height: u64) -> Self {
        InboxState {
            level: 0,
            last_height: start_height,
            last_block_hash: start_block_hash,
            delayed_included: 0,
            accumulator: Hash32::ZERO,
            batch_count: 0,
        }
    }

    /// Applies a posted batch as `postBatch` does in L1 block `l1_block_number` (before asking
    /// the verifier, which is not modelled here). On error the state is unchanged.
    pub fn apply_batch<Q: DelayedQueue + ?Sized>(
        &mut self,
        rules: &InboxRules,
        batch: &Batch,
        delayed: &Q,
        l1_block_number: u64,
    ) -> Result<AppliedBatch, BatchError> {
        if batch.levels.is_empty() {
            return Err(BatchError::Malformed(DecodeError::Invalid { what: "L1 batch", reason: "no levels" }));
        }
        let count = u32::try_from(batch.levels.len()).map_err(|_| BatchError::InboxLevelOverflow)?;
        let first = self.level.checked_add(1).ok_or(BatchError::InboxLevelOverflow)?;
        first.checked_add(count - 1).ok_or(BatchError::InboxLevelOverflow)?;
        let mut height = self.last_height;
        let mut parent = self.last_block_hash;
        let mut included = self.delayed_included;
        let mut records = Vec::with_capacity(batch.levels.len());
        for (i, l) in batch.levels.iter().enumerate() {
            let level = first + i as u32;
            let h = &l.header;
            if h.chain_id != rules.sequencer_chain_id {
                return Err(BatchError::WrongSequencerChain { level, chain_id: h.chain_id });
            }
            if u128::from(h.height) != u128::from(height) + 1 {
                return Err(BatchError::HeightNotConsecutive { level, expected: height.wrapping_add(1), got: h.height });
            }
            if h.parent != parent {
                return Err(BatchError::ParentMismatch { level, expected: parent, got: h.parent });
            }
            if h.l1_block >= l1_block_number {
                return Err(BatchError::L1BlockNotFinal { level, l1_block: h.l1_block });
            }
            if l.ns_table.payload_root() != h.payload_root {
                return Err(BatchError::PayloadRootMismatch { level });
            }
            let (tx_count, tx_root) = match l.ns_table.get(rules.namespace) {
                Some(e) => {
                    if l.transactions.len() != e.tx_count as usize
                        || crate::sequencer::tx_root(&l.transactions) != e.tx_root
                    {
                        return Err(BatchError::TxRootMismatch { level });
                    }
                    (e.tx_count, e.tx_root)
                }
                None => {
                    if !l.transactions.is_empty() {
                        return Err(BatchError::TxRootMismatch { level });
                    }
                    (0, Hash32::ZERO)
                }
            };
            if l.transactions.iter().any(|t| t.len() > MAX_TRANSACTION_SIZE) {
                return Err(BatchError::Malformed(DecodeError::TooLarge {
                    what: "batch transaction",
                    max: MAX_TRANSACTION_SIZE,
                    got: l.transactions.iter().map(Vec::len).max().unwrap_or(0),
                }));
            }
            if !delayed_hint_is_exact(delayed, l.delayed_through, h.l1_block) {
                return Err(BatchError::BadDelayedHint { level, hint: l.delayed_through });
            }
            let start = included;
            let end = included.max(l.delayed_through);
            included = end;
            let block_hash = h.hash();
            records.push(LevelRecord {
                level,
                timestamp_ms: h.timestamp_ms,
                block_hash,
                delayed_start: start,
                delayed_end: end,
                tx_count,
                tx_root,
            });
            height = h.height;
            parent = block_hash;
        }
        self.last_height = height;
        self.last_block_hash = parent;
        self.delayed_included = included;
        Ok(self.append(records))
    }

    /// Applies `forceInclusion(through)` sent in L1 block `l1_block_number` at Unix time
    /// `l1_timestamp` (seconds). On error the state is unchanged.
    pub fn apply_forced<Q: DelayedQueue + ?Sized>(
        &mut self,
        rules: &InboxRules,
        through: u64,
        delayed: &Q,
        l1_block_number: u64,
        l1_timestamp: u64,
    ) -> Result<AppliedBatch, BatchError> {
        let included = self.delayed_included;
        if through <= included || through > delayed.count() {
            return Err(BatchError::BadForceRange { included, through, count: delayed.count() });
        }
        let overdue_at = delayed.enqueued_at(through - 1).saturating_add(rules.delayed_inclusion_timeout).saturating_add(1);
        if l1_block_number < overdue_at {
            return Err(BatchError::NotOverdue { overdue_at });
        }
        let level = self.level.checked_add(1).ok_or(BatchError::InboxLevelOverflow)?;
        let record = LevelRecord {
            level,
            timestamp_ms: l1_timestamp.saturating_mul(1000),
            block_hash: forced_block_hash(l1_block_number, included, through),
            delayed_start: included,
            delayed_end: through,
            tx_count: 0,
            tx_root: Hash32::ZERO,
        };
        self.delayed_included = through;
        Ok(self.append(alloc::vec![record]))
    }

    fn append(&mut self, records: Vec<LevelRecord>) -> AppliedBatch {
        let root = batch_root(&records);
        let first = records[0].level;
        let count = records.len() as u32;
        self.accumulator = accumulate(&self.accumulator, &root, first, count);
        self.level = first + count - 1;
        let index = self.batch_count;
        self.batch_count += 1;
        AppliedBatch { index, records, batch_root: root, accumulator: self.accumulator }
    }
}

/// Whether `hint` is exactly the number of delayed messages enqueued at or before `l1_block`:
/// the message before it is at or before the block, the one at it after.
pub fn delayed_hint_is_exact<Q: DelayedQueue + ?Sized>(delayed: &Q, hint: u64, l1_block: u64) -> bool {
    hint <= delayed.count()
        && (hint == 0 || delayed.enqueued_at(hint - 1) <= l1_block)
        && (hint == delayed.count() || delayed.enqueued_at(hint) > l1_block)
}

/// The hint a poster writes for a block at `l1_block`: the number of delayed messages enqueued
/// at or before it.
pub fn delayed_hint_for<Q: DelayedQueue + ?Sized>(delayed: &Q, l1_block: u64) -> u64 {
    // The queue is sorted by enqueue block: binary search for the first message after l1_block.
    let (mut lo, mut hi) = (0u64, delayed.count());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if delayed.enqueued_at(mid) <= l1_block {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::NsEntry;
    use alloc::vec;

    fn hex32(s: &str) -> Hash32 {
        let mut out = [0u8; 32];
        out.copy_from_slice(&hex::decode(s).unwrap());
        Hash32(out)
    }

    /// The vectors `contract-bridge/test/ProtocolCodec.t.sol` pins on the Solidity side.
    #[test]
    fn known_answers() {
        let rec = LevelRecord {
            level: 7,
            timestamp_ms: 1_700_000_000_000,
            block_hash: Hash32([0x11; 32]),
            delayed_start: 3,
            delayed_end: 5,
            tx_count: 2,
            tx_root: Hash32([0x22; 32]),
        };
        // Computed independently (js-sha3 over the byte layouts of docs/protocol.md 6.2 and 6.4).
        assert_eq!(rec.hash(), hex32("2e7593cc73675d9215c119eb64c59b68c9522a27d75692ec0662a5d9b70003a5"));
        assert_eq!(
            accumulate(&Hash32([0x33; 32]), &Hash32([0x44; 32]), 9, 3),
            hex32("514936e077bd86927a4bd9a14a7e0569b154d840a8cdab7efa87a04e569753bc")
        );
        assert_eq!(forced_block_hash(1234, 5, 8), hex32("e2719933928d25ddfdc6382bd8a9de780db976c6b9062fcb641ebf6c956ecb7c"));
    }

    #[test]
    fn level_record_roundtrips() {
        let rec = LevelRecord {
            level: 1,
            timestamp_ms: 2,
            block_hash: Hash32([3; 32]),
            delayed_start: 4,
            delayed_end: 5,
            tx_count: 6,
            tx_root: Hash32([7; 32]),
        };
        assert_eq!(LevelRecord::decode(&rec.encode()), Ok(rec));
        assert!(LevelRecord::decode(&rec.encode()[..95]).is_err());
    }

    fn chain(n: usize, namespace: u64) -> (Batch, Hash32) {
        let start = Hash32([9; 32]);
        let mut parent = start;
        let mut levels = vec![];
        for i in 0..n {
            let txs: Vec<Vec<u8>> = (0..i).map(|t| vec![t as u8; t + 1]).collect();
            let mut entries = vec![NsEntry { namespace: namespace + 1, tx_count: 1, tx_root: Hash32([1; 32]) }];
            if !txs.is_empty() {
                entries.insert(0, NsEntry { namespace, tx_count: txs.len() as u32, tx_root: crate::sequencer::tx_root(&txs) });
            }
            let ns_table = NsTable { entries };
            let header = BlockHeader {
                chain_id: 5,
                height: 11 + i as u64,
                view: 1,
                timestamp_ms: 1000 * i as u64,
                l1_block: 20,
                parent,
                payload_root: ns_table.payload_root(),
            };
            parent = header.hash();
            levels.push(BatchLevel { header, ns_table, delayed_through: 0, transactions: txs });
        }
        (Batch { levels }, start)
    }

    #[test]
    fn batch_roundtrips_and_applies() {
        let (batch, start) = chain(4, 42);
        let bytes = batch.encode();
        assert_eq!(Batch::decode(&bytes, 42).unwrap(), batch);
        // Another namespace reads no transactions, so the same bytes do not parse for it.
        assert!(Batch::decode(&bytes, 7).is_err());
        let rules = InboxRules { sequencer_chain_id: 5, namespace: 42, delayed_inclusion_timeout: 10 };
        let mut state = InboxState::at_origination(start, 10);
        let applied = state.apply_batch(&rules, &batch, &[0u64; 0][..], 21).unwrap();
        assert_eq!(applied.records.len(), 4);
        assert_eq!(state.level, 4);
        assert_eq!(state.last_height, 14);
        assert_eq!(applied.accumulator, accumulate(&Hash32::ZERO, &applied.batch_root, 1, 4));
        assert_eq!(applied.records[3].tx_count, 3);
        // Not final yet at L1 block 20: the state is unchanged by a refused batch.
        let mut fresh = InboxState::at_origination(start, 10);
        assert!(matches!(fresh.apply_batch(&rules, &batch, &[0u64; 0][..], 20), Err(BatchError::L1BlockNotFinal { .. })));
        assert_eq!(fresh, InboxState::at_origination(start, 10));
    }

    #[test]
    fn delayed_hints_and_forced_inclusion() {
        let delayed = vec![5u64, 5, 8, 12];
        assert_eq!(delayed_hint_for(&delayed, 4), 0);
        assert_eq!(delayed_hint_for(&delayed, 5), 2);
        assert_eq!(delayed_hint_for(&delayed, 11), 3);
        assert_eq!(delayed_hint_for(&delayed, 100), 4);
        for b in 0..20 {
            for h in 0..=5 {
                assert_eq!(delayed_hint_is_exact(&delayed, h, b), h == delayed_hint_for(&delayed, b));
            }
        }
        let rules = InboxRules { sequencer_chain_id: 5, namespace: 42, delayed_inclusion_timeout: 10 };
        let mut state = InboxState::at_origination(Hash32::ZERO, 0);
        assert_eq!(state.apply_forced(&rules, 2, &delayed, 15, 99), Err(BatchError::NotOverdue { overdue_at: 16 }));
        assert!(matches!(state.apply_forced(&rules, 0, &delayed, 16, 99), Err(BatchError::BadForceRange { .. })));
        assert!(matches!(state.apply_forced(&rules, 5, &delayed, 16, 99), Err(BatchError::BadForceRange { .. })));
        let applied = state.apply_forced(&rules, 2, &delayed, 16, 99).unwrap();
        let rec = applied.records[0];
        assert_eq!((rec.level, rec.delayed_start, rec.delayed_end, rec.timestamp_ms), (1, 0, 2, 99_000));
        assert_eq!(rec.block_hash, forced_block_hash(16, 0, 2));
        assert_eq!(applied.batch_root, rec.hash());
        assert_eq!(state.delayed_included, 2);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1500), ns in 0u64..4) {
            let _ = Batch::decode(&bytes, ns);
        }

        #[test]
        fn corrupted_batches_never_panic_the_replay(n in 1usize..4, at in proptest::prelude::any::<usize>(), flip in 1u8..=255) {
            let (batch, start) = chain(n, 42);
            let mut bytes = batch.encode();
            let i = at % bytes.len();
            bytes[i] ^= flip;
            let rules = InboxRules { sequencer_chain_id: 5, namespace: 42, delayed_inclusion_timeout: 10 };
            let mut state = InboxState::at_origination(start, 10);
            let before = state.clone();
            if let Ok(b) = Batch::decode(&bytes, 42) {
                if state.apply_batch(&rules, &b, &[0u64; 0][..], 100).is_err() {
                    proptest::prop_assert_eq!(state, before);
                }
            }
        }
    }
}
