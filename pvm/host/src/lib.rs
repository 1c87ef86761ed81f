//! The host functions a kernel imports from `smart_rollup_core`, with the seeds' semantics.
//!
//! This crate is the one definition of what every host call does: [`abi`] lists the functions,
//! their accepted wasm signatures, the error codes and the limits; [`HostState`] executes a call
//! against the durable storage, the level's inbox, the outbox and the reveal channel, reading
//! and writing the kernel's memory through the [`GuestMemory`] trait. Fast execution (wasmer),
//! the future reference machine and the kernel SDK's mock host all call into it, so they cannot
//! disagree on a return code.
//!
//! A call either returns its value to the kernel (a result or a negative error code) or, when
//! the *node* cannot answer (storage failure, a preimage it does not have), an [`Abort`]: the PVM
//! then abandons the level without committing anything.

pub use pvm_abi as abi;
pub mod driver;
mod host;
mod memory;
mod reveal;
mod run;

pub use abi::{HostError, HostFn, Signature, ValType};
pub use host::{read_message, Abort, DebugLog, HostState, LevelInbox};
pub use memory::{GuestMemory, OutOfBounds, VecMemory};
pub use run::{Failure, RunOutcome, RunReport};
pub use reveal::{NoPreimages, PreimageDir, PreimageMap, PreimageSource};
