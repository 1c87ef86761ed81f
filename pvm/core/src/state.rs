//! What the state hash covers: the PVM's root and the well-known keys of the durable storage.

use protocol::hash::{keccak256, keccak256_concat};
use protocol::Hash32;
use pvm_durable::Key;

pub use pvm_host::abi::{keys, stuck, MAX_REBOOTS_PER_LEVEL};

/// The default tick budget per `kernel_run`: the seeds' 11 × 10^9 ticks, rescaled to ticks of
/// one wasm instruction (docs/pvm.md section 4.1 says why).
pub const DEFAULT_TICK_BUDGET: u64 = 1_000_000_000;

/// Status of a machine waiting for the next level (the only status between levels; the
/// reference machine defines the others).
pub const STATUS_WAITING_FOR_INPUT: u8 = 0;

pub(crate) fn key(s: &str) -> Key {
    // The constants above are valid keys; a test checks it.
    Key::new(s).unwrap_or_else(|_| Key::root())
}

/// The PVM's part of the state, between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineState {
    /// The last level processed (the origination level before the first one).
    pub level: u32,
    /// Ticks since origination: every `kernel_run` counts the full budget.
    pub ticks: u64,
    /// Root of the durable storage.
    pub durable_root: Hash32,
}

impl MachineState {
    /// The domain separator of the PVM root: `keccak256("rollup.pvm.state.v1")`.
    pub fn domain() -> [u8; 32] {
        keccak256(b"rollup.pvm.state.v1")
    }

    /// `pvm_root = H(domain ‖ u8 status ‖ u32 level ‖ u64 ticks ‖ durable_root ‖ machine_root)`,
    /// with status 0 (waiting for input) and machine_root zero (no transient machine between
    /// levels).
    pub fn pvm_root(&self) -> Hash32 {
        Hash32(keccak256_concat(&[
            &Self::domain(),
            &[STATUS_WAITING_FOR_INPUT],
            &self.level.to_be_bytes(),
            &self.ticks.to_be_bytes(),
            &self.durable_root.0,
            &[0u8; 32],
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_keys_are_valid() {
        for k in [keys::BOOT, keys::FALLBACK, keys::REBOOT, keys::STUCK, keys::REBOOT_COUNTER] {
            assert!(Key::new(k).is_ok(), "{k}");
        }
    }
}
