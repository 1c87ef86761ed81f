//! The two hash functions of the protocol.
//!
//! keccak-256 for everything the L1 must recompute (commitments, Merkle trees, accumulators);
//! blake2b-256 where the seeds define it (reveal hashes).

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest as _};
use sha3::Keccak256;

/// keccak-256 as the EVM computes it (`keccak256(bytes)` in Solidity).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak-256 over several slices without concatenating them first.
pub fn keccak256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// blake2b with a 32-byte digest (unkeyed), the hash of reveal pages.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(data).into()
}
