//! The PVM's reference machine: the tick-level semantics of a kernel run.
//!
//! A validated kernel is lowered once ([`lower`]) to a flat list of instructions, one per code
//! leaf ([`code`]): structured control flow and `br_table` compiled to absolute jumps that carry
//! their stack adjustment, bulk instructions split into one step per 32-byte memory leaf or
//! table element. The [`Machine`] executes one instruction per tick, so its tick count is the
//! cost table's by construction (docs/pvm.md sections 4.2 and 9), and calls the host functions
//! through the same `pvm_host::HostState` as fast execution. [`ReferenceEngine`] runs a
//! `kernel_run` exactly as `pvm_fast::FastEngine` does; the PVM's level driver takes either.

pub mod code;
mod driver;
mod engine;
mod hostcall;
pub mod lower;
pub mod machine;
pub mod proof;
pub mod state;

pub use driver::{kernel_value_hash, KernelRegistry, ModuleRoots, NoKernels};
pub use engine::{
    instruction_budget, outcome, prove, replay, run_end_state, trace, Kernel, KernelHost, ReferenceEngine, ReplayError, RunStart, StepProof, TickState, TraceLine,
    DRIVER_TICKS, MAX_TRACE_TICKS,
};
pub use hostcall::{L1Inbox, LevelOnL1, NoL1, StepContext, SyntheticL1};
pub use proof::{verify_step, ProofError};
pub use lower::{lower, LowerError, Module};
pub use machine::{Exit, Host, HostReturn, Machine, Memory, Trap};
