//! Rollup metadata, as `reveal_metadata` hands it to a kernel.

use crate::error::{DecodeError, Reader};
use crate::primitives::Address;

/// The rollup's own address (the L1 rollup contract) and the L1 block of its origination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RollupMetadata {
    /// The L1 rollup contract's address.
    pub address: Address,
    /// The L1 block number at which the rollup was originated.
    pub origination_level: u32,
}

impl RollupMetadata {
    /// Encoded size: 20-byte address then 4-byte big-endian level.
    pub const SIZE: usize = 24;

    /// The 24 bytes `reveal_metadata` writes.
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[..20].copy_from_slice(&self.address.0);
        out[20..].copy_from_slice(&self.origination_level.to_be_bytes());
        out
    }

    /// Parses [`RollupMetadata::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("rollup metadata", bytes);
        let m = RollupMetadata { address: Address(r.array()?), origination_level: r.u32()? };
        r.finish()?;
        Ok(m)
    }
}
