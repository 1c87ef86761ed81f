//! Commitments: a staker's claim about the rollup state at the end of a commitment period.

use crate::error::{DecodeError, Reader};
use crate::hash::keccak256;
use crate::primitives::Hash32;

/// `{predecessor, state_hash, inbox_level, number_of_ticks}`, as published on the L1.
///
/// Its hash is keccak-256 of [`Commitment::encode`], which is Solidity's
/// `keccak256(abi.encodePacked(bytes32 predecessor, bytes32 stateHash, uint32 inboxLevel,
/// uint64 numberOfTicks))`, so the contract and every node name a commitment the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment {
    /// Hash of the commitment this one builds on (the genesis commitment for the first).
    pub predecessor: Hash32,
    /// The rollup state hash after the last level of the period.
    pub state_hash: Hash32,
    /// The last inbox level the commitment covers.
    pub inbox_level: u32,
    /// Ticks executed since the predecessor's state.
    pub number_of_ticks: u64,
}

impl Commitment {
    /// Encoded size in bytes.
    pub const SIZE: usize = 32 + 32 + 4 + 8;

    /// The packed big-endian encoding that is hashed.
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..32].copy_from_slice(&self.predecessor.0);
        out[32..64].copy_from_slice(&self.state_hash.0);
        out[64..68].copy_from_slice(&self.inbox_level.to_be_bytes());
        out[68..].copy_from_slice(&self.number_of_ticks.to_be_bytes());
        out
    }

    /// Parses [`Commitment::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("commitment", bytes);
        let c = Commitment {
            predecessor: Hash32(r.array()?),
            state_hash: Hash32(r.array()?),
            inbox_level: r.u32()?,
            number_of_ticks: r.u64()?,
        };
        r.finish()?;
        Ok(c)
    }

    /// The commitment's name on the L1 and in every node.
    pub fn hash(&self) -> Hash32 {
        Hash32(keccak256(&self.encode()))
    }
}

/// The rollup state hash a commitment carries: it binds the PVM's own state root and the
/// outbox root, so the L1 can check an outbox proof knowing only the outbox side.
pub fn state_hash(pvm_root: &Hash32, outbox_root: &Hash32) -> Hash32 {
    Hash32(crate::hash::keccak256_concat(&[&pvm_root.0, &outbox_root.0]))
}
