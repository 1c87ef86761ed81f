//! The PVM a rollup node runs.
//!
//! [`Pvm`] owns a state directory (RocksDB) and runs the rollup's kernel level by level with
//! fast execution (crate `pvm-fast`), exactly as the seeds define it: for every level the inbox
//! (start of level, info per level, the delayed transfers, the external messages, end of level)
//! is offered to `kernel_run`, which starts from a fresh instance each time, may reboot up to
//! 1,000 times per level, and whose failures are rolled back whole. After each level the state
//! is committed and hashed:
//!
//! `state_hash = keccak(pvm_root ‖ outbox_root)` (docs/protocol.md section 4), with
//! `pvm_root` defined in [`MachineState::pvm_root`] and docs/pvm.md.
//!
//! What the rollup node needs: [`Pvm::genesis`] (the origination state hash),
//! [`Pvm::create`] / [`Pvm::open`], [`Pvm::run_level`], [`Pvm::revert_to`] and [`Pvm::view`]
//! (any earlier level), [`Pvm::outbox`] and [`Pvm::outbox_proof`].

mod config;
mod db;
mod engine;
mod outbox;
mod pvm;
pub mod state;

pub use config::{EngineKind, PvmConfig};
pub use db::{DbError, LevelRecord};
pub use pvm::{KernelChange, LevelInput, LevelOutcome, Pvm, PvmError, RunEnd, RunReport, StateView};
pub use pvm_durable::{Key, NodeKind};
pub use pvm_fast::Compiler;
pub use pvm_host::{Abort, NoPreimages, PreimageDir, PreimageMap, PreimageSource};
pub use pvm_reference::{
    kernel_value_hash, verify_step, KernelRegistry, L1Inbox, LevelOnL1, ModuleRoots, NoKernels, NoL1, ProofError, ReplayError, StepContext, StepProof, SyntheticL1, TickState,
};
pub use state::MachineState;

#[cfg(test)]
mod tests {
    /// The rollup node moves its PVM into a task and shares views across threads.
    #[test]
    fn pvm_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<crate::Pvm>();
        send::<crate::StateView>();
        send::<crate::LevelOutcome>();
    }
}
