//! What the sequencer and the L1 inbox contract must agree on byte for byte: the block header,
//! the namespace table, and the digests the committee signs (finality and committee handover).
//!
//! The committee signs a finality digest for every block it decides; the L1 inbox verifies one
//! aggregate signature per posted batch (for the batch's last block) and checks that the batch's
//! headers chain to it by parent hash. BLS details (min-pk: public keys in G1, signatures in G2,
//! DST [`BLS_DST`]) are in `docs/protocol.md`.

use alloc::vec::Vec;

use crate::error::{DecodeError, Reader};
use crate::hash::{keccak256, keccak256_concat};
use crate::merkle;
use crate::primitives::Hash32;

/// Hash-to-curve domain separation tag of every committee signature (the IETF BLS proof-of-
/// possession scheme, min-pk variant: signatures in G2).
pub const BLS_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// The most namespaces one block may carry.
pub const MAX_NAMESPACES_PER_BLOCK: usize = 1024;

/// Domain of finality digests: `keccak256("rollup.sequencer.finality.v1")`.
pub fn finality_domain() -> [u8; 32] {
    keccak256(b"rollup.sequencer.finality.v1")
}

/// Domain of committee-handover digests: `keccak256("rollup.sequencer.handover.v1")`.
pub fn handover_domain() -> [u8; 32] {
    keccak256(b"rollup.sequencer.handover.v1")
}

/// A sequencer block header. Its hash (keccak-256 of the 104-byte encoding) is the block's name
/// in consensus, in the finality digest and on the L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockHeader {
    /// Which sequencer network (domain separation across networks).
    pub chain_id: u64,
    /// Height in the chain; the genesis block has height 0.
    pub height: u64,
    /// The consensus view the block was proposed in.
    pub view: u64,
    /// Unix time in milliseconds, set by the proposer, non-decreasing along the chain.
    pub timestamp_ms: u64,
    /// The L1 block number the block refers to: delayed-inbox messages enqueued at or before it
    /// are included in this block's level (DESIGN.md section 3).
    pub l1_block: u64,
    /// Hash of the parent header.
    pub parent: Hash32,
    /// keccak-256 of the block's [`NsTable`] encoding: commits to every namespace's transactions.
    pub payload_root: Hash32,
}

impl BlockHeader {
    /// Encoded size.
    pub const SIZE: usize = 5 * 8 + 2 * 32;

    /// The fixed big-endian layout that is hashed.
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0..8].copy_from_slice(&self.chain_id.to_be_bytes());
        out[8..16].copy_from_slice(&self.height.to_be_bytes());
        out[16..24].copy_from_slice(&self.view.to_be_bytes());
        out[24..32].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        out[32..40].copy_from_slice(&self.l1_block.to_be_bytes());
        out[40..72].copy_from_slice(&self.parent.0);
        out[72..104].copy_from_slice(&self.payload_root.0);
        out
    }

    /// Parses [`BlockHeader::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("block header", bytes);
        let h = BlockHeader {
            chain_id: r.u64()?,
            height: r.u64()?,
            view: r.u64()?,
            timestamp_ms: r.u64()?,
            l1_block: r.u64()?,
            parent: Hash32(r.array()?),
            payload_root: Hash32(r.array()?),
        };
        r.finish()?;
        Ok(h)
    }

    /// The block hash.
    pub fn hash(&self) -> Hash32 {
        Hash32(keccak256(&self.encode()))
    }
}

/// One namespace's share of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsEntry {
    /// The namespace (a rollup's id in the sequencer).
    pub namespace: u64,
    /// How many transactions the namespace has in the block (at least one).
    pub tx_count: u32,
    /// [`tx_root`] of those transactions, in block order.
    pub tx_root: Hash32,
}

/// The namespace table of a block: entries in strictly ascending namespace order, so absence of
/// a namespace is as easy to check as presence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NsTable {
    /// The entries, strictly ascending by namespace.
    pub entries: Vec<NsEntry>,
}

impl NsTable {
    /// Bytes per entry.
    pub const ENTRY_SIZE: usize = 8 + 4 + 32;

    /// `u32 count || entries`, each `u64 namespace || u32 tx_count || tx_root`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.entries.len() * Self::ENTRY_SIZE);
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.namespace.to_be_bytes());
            out.extend_from_slice(&e.tx_count.to_be_bytes());
            out.extend_from_slice(&e.tx_root.0);
        }
        out
    }

    /// Parses and validates a table (ascending order, non-empty namespaces, size limit).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "namespace table";
        let mut r = Reader::new(WHAT, bytes);
        let n = r.u32()? as usize;
        if n > MAX_NAMESPACES_PER_BLOCK {
            return Err(DecodeError::TooLarge { what: WHAT, max: MAX_NAMESPACES_PER_BLOCK, got: n });
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let e = NsEntry { namespace: r.u64()?, tx_count: r.u32()?, tx_root: Hash32(r.array()?) };
            if e.tx_count == 0 {
                return Err(DecodeError::Invalid { what: WHAT, reason: "entry with no transactions" });
            }
            if entries.last().is_some_and(|p: &NsEntry| p.namespace >= e.namespace) {
                return Err(DecodeError::Invalid { what: WHAT, reason: "namespaces not strictly ascending" });
            }
            entries.push(e);
        }
        r.finish()?;
        Ok(NsTable { entries })
    }

    /// The header's `payload_root`.
    pub fn payload_root(&self) -> Hash32 {
        Hash32(keccak256(&self.encode()))
    }

    /// The entry of `namespace`, if the block has transactions for it.
    pub fn get(&self, namespace: u64) -> Option<&NsEntry> {
        self.entries.binary_search_by_key(&namespace, |e| e.namespace).ok().map(|i| &self.entries[i])
    }
}

/// The Merkle leaf of one transaction: keccak-256 of its bytes.
pub fn tx_leaf(tx: &[u8]) -> [u8; 32] {
    keccak256(tx)
}

/// The root over a namespace's transactions, in block order ([`crate::merkle`] rule).
pub fn tx_root<T: AsRef<[u8]>>(txs: &[T]) -> Hash32 {
    let leaves: Vec<[u8; 32]> = txs.iter().map(|t| tx_leaf(t.as_ref())).collect();
    Hash32(merkle::root(&leaves))
}

/// The 32-byte message every committee member signs once it has decided a block:
/// `keccak256(finality_domain || u64 chain_id || u64 height || block_hash)`.
pub fn finality_digest(chain_id: u64, height: u64, block_hash: &Hash32) -> [u8; 32] {
    keccak256_concat(&[&finality_domain(), &chain_id.to_be_bytes(), &height.to_be_bytes(), &block_hash.0])
}

/// A committee member as the L1 holds it: the public key in EIP-2537 G1 encoding (128 bytes:
/// x then y, each a 48-byte big-endian field element left-padded to 64) and its stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommitteeMember {
    /// Uncompressed G1 public key, EIP-2537 layout.
    pub g1_pubkey: [u8; 128],
    /// Voting weight.
    pub stake: u64,
}

/// The committee an epoch of the sequencer runs with, in the order of the signer bitmap.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committee {
    /// Increases by one at each handover.
    pub epoch: u64,
    /// Members; bit `i` of a certificate's bitmap is member `i`.
    pub members: Vec<CommitteeMember>,
}

impl Committee {
    /// `u64 epoch || u32 n || n × (128-byte G1 || u64 stake)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.members.len() * 136);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&(self.members.len() as u32).to_be_bytes());
        for m in &self.members {
            out.extend_from_slice(&m.g1_pubkey);
            out.extend_from_slice(&m.stake.to_be_bytes());
        }
        out
    }

    /// Parses [`Committee::encode`]'s output (key validity is the BLS layer's job).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "committee";
        let mut r = Reader::new(WHAT, bytes);
        let epoch = r.u64()?;
        let n = r.u32()? as usize;
        if n > 4096 {
            return Err(DecodeError::TooLarge { what: WHAT, max: 4096, got: n });
        }
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            members.push(CommitteeMember { g1_pubkey: r.array()?, stake: r.u64()? });
        }
        r.finish()?;
        Ok(Committee { epoch, members })
    }

    /// keccak-256 of the encoding: what a handover certificate signs.
    pub fn hash(&self) -> Hash32 {
        Hash32(keccak256(&self.encode()))
    }

    /// Total stake (saturating).
    pub fn total_stake(&self) -> u64 {
        self.members.iter().fold(0u64, |a, m| a.saturating_add(m.stake))
    }

    /// The least stake that is a quorum: strictly more than two thirds of the total.
    pub fn quorum_stake(&self) -> u128 {
        (u128::from(self.total_stake()) * 2) / 3 + 1
    }
}

/// The digest the outgoing committee signs to hand over to `next`:
/// `keccak256(handover_domain || u64 chain_id || committee_hash(next))`.
pub fn handover_digest(chain_id: u64, next: &Committee) -> [u8; 32] {
    keccak256_concat(&[&handover_domain(), &chain_id.to_be_bytes(), &next.hash().0])
}
