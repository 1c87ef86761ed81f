//! Outbox messages and the outbox tree.
//!
//! An outbox message is a batch of L1 calls, ABI-encoded exactly as Solidity's
//! `abi.encode(calls)` with `struct L1Call { address destination; uint256 value; bytes data; }`,
//! so the L1 executes it with `abi.decode(message, (L1Call[]))`. Only the canonical encoding is
//! valid (the one `abi.encode` produces); the decoder rejects every other byte string.
//!
//! The outbox of the rollup state is a fixed-depth sparse Merkle tree of [`OUTBOX_TREE_DEPTH`]
//! with one slot per level (slot = level mod 2^depth), each slot committing to that level's
//! messages. See `docs/protocol.md`.

use alloc::vec::Vec;

use crate::error::DecodeError;
use crate::hash::{keccak256, keccak256_concat};
use crate::merkle;
use crate::primitives::{Address, Hash32, Wei};
use crate::MAX_MESSAGE_SIZE;

/// At most this many outbox messages per level.
pub const MAX_OUTBOX_MESSAGES_PER_LEVEL: usize = 100;
/// Depth of the outbox tree: 2^20 level slots, the upper bound of `max active outbox levels`.
pub const OUTBOX_TREE_DEPTH: usize = 20;

/// One call the L1 makes when the message is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Call {
    /// Contract or account called.
    pub destination: Address,
    /// Wei sent with the call, paid from the rollup's bridge balance.
    pub value: Wei,
    /// Calldata of the call (empty for a plain ETH transfer).
    pub data: Vec<u8>,
}

/// A batch of L1 calls a kernel writes with `write_output`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxMessage {
    /// The calls, executed in order, all or none.
    pub calls: Vec<L1Call>,
}

const WORD: usize = 32;

fn padded(len: usize) -> usize {
    len.div_ceil(WORD) * WORD
}

fn word_usize(n: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(n as u64).to_be_bytes());
    w
}

/// Reads a word that must hold a small unsigned integer.
fn read_usize(bytes: &[u8], at: usize, what: &'static str) -> Result<usize, DecodeError> {
    let w = bytes
        .get(at..at + WORD)
        .ok_or(DecodeError::Truncated { what, needed: at + WORD, available: bytes.len() })?;
    if w[..24].iter().any(|&b| b != 0) {
        return Err(DecodeError::Invalid { what, reason: "integer word out of range" });
    }
    let mut lo = [0u8; 8];
    lo.copy_from_slice(&w[24..]);
    usize::try_from(u64::from_be_bytes(lo)).map_err(|_| DecodeError::Invalid { what, reason: "integer word out of range" })
}

impl L1Call {
    fn encoded_len(&self) -> usize {
        4 * WORD + padded(self.data.len())
    }
}

impl OutboxMessage {
    /// The canonical ABI encoding, `abi.encode(calls)`.
    pub fn encode(&self) -> Vec<u8> {
        let n = self.calls.len();
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&word_usize(0x20));
        out.extend_from_slice(&word_usize(n));
        let mut offset = n * WORD;
        for c in &self.calls {
            out.extend_from_slice(&word_usize(offset));
            offset += c.encoded_len();
        }
        for c in &self.calls {
            let mut addr = [0u8; 32];
            addr[12..].copy_from_slice(&c.destination.0);
            out.extend_from_slice(&addr);
            out.extend_from_slice(&c.value.0);
            out.extend_from_slice(&word_usize(3 * WORD));
            out.extend_from_slice(&word_usize(c.data.len()));
            out.extend_from_slice(&c.data);
            out.resize(out.len() + padded(c.data.len()) - c.data.len(), 0);
        }
        out
    }

    /// The size of [`OutboxMessage::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        2 * WORD + self.calls.iter().map(|c| WORD + c.encoded_len()).sum::<usize>()
    }

    /// Whether the encoding fits the 4,096-byte outbox message limit.
    pub fn fits(&self) -> bool {
        self.encoded_len() <= MAX_MESSAGE_SIZE
    }

    /// Parses a canonical `abi.encode(L1Call[])`; anything else is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "outbox message";
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(DecodeError::TooLarge { what: WHAT, max: MAX_MESSAGE_SIZE, got: bytes.len() });
        }
        if read_usize(bytes, 0, WHAT)? != 0x20 {
            return Err(DecodeError::Invalid { what: WHAT, reason: "array offset is not 0x20" });
        }
        let n = read_usize(bytes, WORD, WHAT)?;
        // Every call takes at least five words (head offset + four tuple words).
        if n > (bytes.len() - 2 * WORD) / (5 * WORD) {
            return Err(DecodeError::Invalid { what: WHAT, reason: "call count exceeds the message length" });
        }
        let heads = 2 * WORD;
        let mut expected_offset = n * WORD;
        let mut calls = Vec::with_capacity(n);
        for i in 0..n {
            if read_usize(bytes, heads + i * WORD, WHAT)? != expected_offset {
                return Err(DecodeError::Invalid { what: WHAT, reason: "non-canonical call offset" });
            }
            let at = heads + expected_offset;
            let addr_word = bytes
                .get(at..at + WORD)
                .ok_or(DecodeError::Truncated { what: WHAT, needed: at + WORD, available: bytes.len() })?;
            if addr_word[..12].iter().any(|&b| b != 0) {
                return Err(DecodeError::Invalid { what: WHAT, reason: "dirty high bytes in address" });
            }
            let mut destination = [0u8; 20];
            destination.copy_from_slice(&addr_word[12..]);
            let mut value = [0u8; 32];
            value.copy_from_slice(
                bytes
                    .get(at + WORD..at + 2 * WORD)
                    .ok_or(DecodeError::Truncated { what: WHAT, needed: at + 2 * WORD, available: bytes.len() })?,
            );
            if read_usize(bytes, at + 2 * WORD, WHAT)? != 3 * WORD {
                return Err(DecodeError::Invalid { what: WHAT, reason: "non-canonical calldata offset" });
            }
            let len = read_usize(bytes, at + 3 * WORD, WHAT)?;
            if len > MAX_MESSAGE_SIZE {
                return Err(DecodeError::Invalid { what: WHAT, reason: "calldata length exceeds the message" });
            }
            let data_at = at + 4 * WORD;
            let end = data_at + padded(len);
            let region = bytes
                .get(data_at..end)
                .ok_or(DecodeError::Truncated { what: WHAT, needed: end, available: bytes.len() })?;
            if region[len..].iter().any(|&b| b != 0) {
                return Err(DecodeError::Invalid { what: WHAT, reason: "dirty calldata padding" });
            }
            let call = L1Call { destination: Address(destination), value: Wei(value), data: region[..len].to_vec() };
            expected_offset += call.encoded_len();
            calls.push(call);
        }
        let end = heads + expected_offset;
        if end != bytes.len() {
            return Err(DecodeError::TrailingBytes { what: WHAT, extra: bytes.len().saturating_sub(end) });
        }
        Ok(OutboxMessage { calls })
    }
}

/// The leaf of one outbox message: keccak-256 of its bytes.
pub fn message_leaf(message: &[u8]) -> [u8; 32] {
    keccak256(message)
}

/// The root over one level's outbox messages, in the order they were written.
pub fn level_messages_root(messages: &[Vec<u8>]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = messages.iter().map(|m| message_leaf(m)).collect();
    merkle::root(&leaves)
}

/// The leaf stored in a level's slot of the outbox tree.
pub fn slot_leaf(level: u32, count: u32, messages_root: &[u8; 32]) -> [u8; 32] {
    keccak256_concat(&[&level.to_be_bytes(), &count.to_be_bytes(), messages_root])
}

/// The slot of a level in the outbox tree.
pub fn slot_index(level: u32) -> u64 {
    u64::from(level) & ((1u64 << OUTBOX_TREE_DEPTH) - 1)
}

/// A proof that a message was written at `(level, index)`, checkable against a commitment's
/// state hash. Its fields are what the L1 `executeOutboxMessage` call takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxProof {
    /// The PVM's own state root, the other half of the state hash.
    pub pvm_root: Hash32,
    /// The level the message was written at.
    pub level: u32,
    /// Its position among the level's messages.
    pub index: u32,
    /// How many messages the level wrote.
    pub count: u32,
    /// Path from the message leaf to the level's messages root.
    pub message_path: Vec<[u8; 32]>,
    /// Path from the level's slot leaf to the outbox root ([`OUTBOX_TREE_DEPTH`] siblings).
    pub slot_path: Vec<[u8; 32]>,
}

impl OutboxProof {
    /// The state hash this proof shows `message` to be committed in, or `None` if the proof is
    /// malformed (wrong path lengths, index out of range).
    pub fn state_hash_for(&self, message: &[u8]) -> Option<Hash32> {
        let count = self.count as usize;
        if self.index >= self.count
            || count > MAX_OUTBOX_MESSAGES_PER_LEVEL
            || self.message_path.len() != merkle::depth(count)
            || self.slot_path.len() != OUTBOX_TREE_DEPTH
        {
            return None;
        }
        let messages_root = merkle::root_from_path(&message_leaf(message), u64::from(self.index), &self.message_path);
        let leaf = slot_leaf(self.level, self.count, &messages_root);
        let outbox_root = merkle::root_from_path(&leaf, slot_index(self.level), &self.slot_path);
        Some(crate::commitment::state_hash(&self.pvm_root, &Hash32(outbox_root)))
    }
}

impl Default for OutboxTree {
    fn default() -> Self {
        Self::new()
    }
}

/// The outbox tree held in memory: the reference implementation the PVM's persistent tree must
/// agree with, and a convenient one for tools. Only non-empty nodes are stored.
#[derive(Debug, Clone)]
pub struct OutboxTree {
    /// `nodes[h]` maps an index at height `h` (0 = slots) to its hash.
    nodes: Vec<alloc::collections::BTreeMap<u64, [u8; 32]>>,
    /// `zeros[h]` is the root of an empty subtree of height `h`.
    zeros: Vec<[u8; 32]>,
}

impl OutboxTree {
    /// An empty outbox.
    pub fn new() -> Self {
        let mut zeros = Vec::with_capacity(OUTBOX_TREE_DEPTH + 1);
        zeros.push([0u8; 32]);
        for h in 0..OUTBOX_TREE_DEPTH {
            zeros.push(merkle::node(&zeros[h], &zeros[h]));
        }
        Self { nodes: (0..=OUTBOX_TREE_DEPTH).map(|_| Default::default()).collect(), zeros }
    }

    fn get(&self, height: usize, index: u64) -> [u8; 32] {
        self.nodes[height].get(&index).copied().unwrap_or(self.zeros[height])
    }

    /// Records a level's messages in its slot (replacing whatever the slot held).
    pub fn set_level(&mut self, level: u32, messages: &[Vec<u8>]) {
        let leaf = if messages.is_empty() {
            [0u8; 32]
        } else {
            slot_leaf(level, messages.len() as u32, &level_messages_root(messages))
        };
        let mut index = slot_index(level);
        let mut acc = leaf;
        for h in 0..OUTBOX_TREE_DEPTH {
            if acc == self.zeros[h] {
                self.nodes[h].remove(&index);
            } else {
                self.nodes[h].insert(index, acc);
            }
            let sib = self.get(h, index ^ 1);
            acc = if index & 1 == 0 { merkle::node(&acc, &sib) } else { merkle::node(&sib, &acc) };
            index >>= 1;
        }
        self.nodes[OUTBOX_TREE_DEPTH].insert(0, acc);
    }

    /// The root committed in the state hash.
    pub fn root(&self) -> [u8; 32] {
        self.get(OUTBOX_TREE_DEPTH, 0)
    }

    /// The sibling path of a level's slot.
    pub fn slot_path(&self, level: u32) -> Vec<[u8; 32]> {
        let mut index = slot_index(level);
        (0..OUTBOX_TREE_DEPTH)
            .map(|h| {
                let s = self.get(h, index ^ 1);
                index >>= 1;
                s
            })
            .collect()
    }
}
