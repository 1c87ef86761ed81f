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
mod engine;
mod hostcall;
pub mod lower;
pub mod machine;
pub mod proof;
pub mod state;

pub use engine::{outcome, prove, replay, trace, Kernel, KernelHost, ReferenceEngine, ReplayError, RunStart, StepProof, TickState, TraceLine, MAX_TRACE_TICKS};
pub use hostcall::{L1Inbox, LevelOnL1, NoL1, StepContext, SyntheticL1};
pub use proof::{verify_step, ProofError};
pub use lower::{lower, LowerError, Module};
pub use machine::{Exit, Host, HostReturn, Machine, Memory, Trap};
