//! How a PVM is set up: the parameters every node of a rollup must share, and local choices.

use std::sync::Arc;

use protocol::RollupMetadata;
use pvm_fast::Compiler;
use pvm_host::{NoPreimages, PreimageSource};

use crate::state::DEFAULT_TICK_BUDGET;

/// Which machine executes kernel runs: fast execution (wasmer, the default) or the reference
/// machine (one tick at a time). Both reach the same state after every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EngineKind {
    /// wasmer, with [`PvmConfig::compiler`].
    #[default]
    Fast,
    /// The reference machine (crate `pvm-reference`).
    Reference,
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Fast => "fast",
            EngineKind::Reference => "reference",
        })
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fast" => Ok(EngineKind::Fast),
            "reference" => Ok(EngineKind::Reference),
            other => Err(format!("unknown engine `{other}`: expected `fast` or `reference`")),
        }
    }
}

/// The configuration of a PVM.
///
/// `tick_budget` and `metadata` are rollup parameters fixed at origination: every node must use
/// the same values, and a state directory refuses to open with different ones. `engine`,
/// `compiler` and `preimages` are the node's own choices and never change a result.
#[derive(Clone)]
pub struct PvmConfig {
    /// Ticks per `kernel_run` (every run counts exactly this many).
    pub tick_budget: u64,
    /// What `reveal_metadata` answers: the rollup contract's address and origination level.
    pub metadata: RollupMetadata,
    /// The machine that executes kernel runs.
    pub engine: EngineKind,
    /// The wasmer compiler (fast execution).
    pub compiler: Compiler,
    /// Where reveal pages come from.
    pub preimages: Arc<dyn PreimageSource>,
}

impl PvmConfig {
    /// The default budget and compiler, no preimages.
    pub fn new(metadata: RollupMetadata) -> Self {
        PvmConfig { tick_budget: DEFAULT_TICK_BUDGET, metadata, engine: EngineKind::Fast, compiler: Compiler::default(), preimages: Arc::new(NoPreimages) }
    }

    /// The rollup parameters as stored in a state directory.
    pub(crate) fn params(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 24);
        out.extend_from_slice(&self.tick_budget.to_be_bytes());
        out.extend_from_slice(&self.metadata.encode());
        out
    }

    pub(crate) fn describe_params(bytes: &[u8]) -> String {
        match (bytes.get(..8), bytes.get(8..).and_then(|m| RollupMetadata::decode(m).ok())) {
            (Some(b), Some(m)) => format!(
                "tick budget {}, rollup {}, origination level {}",
                u64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
                m.address,
                m.origination_level
            ),
            _ => "unreadable parameters".into(),
        }
    }
}

impl std::fmt::Debug for PvmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PvmConfig")
            .field("tick_budget", &self.tick_budget)
            .field("metadata", &self.metadata)
            .field("engine", &self.engine)
            .field("compiler", &self.compiler)
            .finish()
    }
}
