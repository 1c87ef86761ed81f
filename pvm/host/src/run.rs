//! How one `kernel_run` ends, whichever engine ran it (fast execution or the reference
//! machine): the level driver acts on this and nothing engine-specific.

use std::fmt;

use crate::{Abort, HostState};

/// Why a `kernel_run` did not complete. The PVM treats all of them alike (the run is rolled
/// back and the stuck flag set); they are told apart for logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The tick budget ran out.
    OutOfTicks,
    /// A call would have made more than 300 frames.
    CallStackExhausted,
    /// Any wasm trap: `unreachable`, out-of-bounds memory access, division by zero,
    /// indirect call type mismatch, a native stack overflow...
    Trap(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::OutOfTicks => f.write_str("tick budget exhausted"),
            Failure::CallStackExhausted => f.write_str("call stack limit (300 frames) exceeded"),
            Failure::Trap(t) => write!(f, "trap: {t}"),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// `kernel_run` returned.
    Completed,
    /// The kernel failed.
    Failed(Failure),
    /// The node could not answer a host call (the level must be abandoned).
    Aborted(Abort),
    /// The engine itself failed (could not instantiate for lack of resources): a node problem,
    /// handled like an abort.
    EngineError(String),
}

/// The result of one `kernel_run`.
pub struct RunReport {
    /// The host state, given back with everything the run did to it (the caller decides
    /// whether to keep it).
    pub host: HostState,
    /// How the run ended.
    pub outcome: RunOutcome,
    /// Ticks the run consumed (metered), at most the budget.
    pub ticks: u64,
}

