//! The machine that executes `kernel_run`: fast execution (wasmer) or the reference machine.
//! Both implement the same host semantics and reach the same state after every run
//! (docs/pvm.md section 9); the choice changes speed, never a result.

use std::sync::Arc;

use pvm_fast::{FastEngine, LoadError};
use pvm_host::{HostState, RunReport};
use pvm_reference::ReferenceEngine;

use crate::config::{EngineKind, PvmConfig};

/// An engine of either kind.
pub(crate) enum Engine {
    Fast(FastEngine),
    Reference(ReferenceEngine),
}

/// A kernel loaded by one of the engines.
#[derive(Clone)]
pub(crate) enum LoadedKernel {
    Fast(Arc<pvm_fast::Kernel>),
    Reference(Arc<pvm_reference::Kernel>),
}

impl LoadedKernel {
    /// The durable value hash it was loaded under.
    pub fn hash(&self) -> [u8; 32] {
        match self {
            LoadedKernel::Fast(k) => k.hash(),
            LoadedKernel::Reference(k) => k.hash(),
        }
    }
}

impl Engine {
    pub fn new(config: &PvmConfig) -> Self {
        match config.engine {
            EngineKind::Fast => Engine::Fast(FastEngine::new(config.compiler)),
            EngineKind::Reference => Engine::Reference(ReferenceEngine::new()),
        }
    }

    pub fn cached(&self, hash: &[u8; 32]) -> Option<LoadedKernel> {
        match self {
            Engine::Fast(e) => e.cached(hash).map(LoadedKernel::Fast),
            Engine::Reference(e) => e.cached(hash).map(LoadedKernel::Reference),
        }
    }

    pub fn load(&self, hash: [u8; 32], bytes: &[u8]) -> Result<LoadedKernel, LoadError> {
        match self {
            Engine::Fast(e) => e.load(hash, bytes).map(LoadedKernel::Fast),
            Engine::Reference(e) => e.load(hash, bytes).map(LoadedKernel::Reference),
        }
    }

    pub fn run(&self, kernel: &LoadedKernel, host: HostState, budget: u64) -> RunReport {
        match (self, kernel) {
            (Engine::Fast(e), LoadedKernel::Fast(k)) => e.run(k, host, budget),
            (Engine::Reference(e), LoadedKernel::Reference(k)) => e.run(k, host, budget),
            _ => RunReport { host, outcome: pvm_host::RunOutcome::EngineError("kernel loaded by another engine".into()), ticks: 0 },
        }
    }
}
