//! The rollup node's configuration (TOML with `--set` overrides).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which L1 operations the node performs (the seeds' modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Follows and computes; never touches the L1.
    Observer,
    /// Publishes a commitment every period, cements, recovers the stake when asked.
    #[default]
    Operator,
    /// Computes commitments and publishes only when a published one conflicts with its own.
    Accuser,
}

/// A deliberate fault, for testing that the rest of the system catches it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Publish a corrupted state hash in the commitment covering this level.
    pub corrupt_state_at_level: Option<u32>,
}

/// Everything the node needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Operator, accuser or observer.
    pub mode: Mode,
    /// RPC address.
    pub listen: SocketAddr,
    /// The bridge's API.
    pub bridge_url: String,
    /// A sequencer node's API, to execute finalized blocks before they reach the L1 (optional;
    /// needs `deployment` for the committee that certifies them).
    pub sequencer_url: Option<String>,
    /// The deployment record (`deployment.json`), for the sequencer committee.
    pub deployment: Option<PathBuf>,
    /// Where the node keeps its state (the PVM's and its own).
    pub data_dir: PathBuf,
    /// The kernel the rollup was originated with (`.wasm`).
    pub kernel: PathBuf,
    /// Directory of reveal pages, named by their hash in hex.
    pub preimages_dir: Option<PathBuf>,
    /// The machine that executes kernel runs: `fast` (wasmer) or `reference` (the tick-level
    /// reference machine: much slower, the same states; for checking fast execution).
    pub engine: String,
    /// wasmer compiler: `cranelift` or `singlepass`.
    pub compiler: String,
    /// Long-poll wait for new L1 events, in milliseconds.
    pub poll_wait_ms: u64,
    /// Deliberate faults (testing only).
    pub faults: Faults,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            mode: Mode::Operator,
            listen: "127.0.0.1:7300".parse().expect("valid"),
            bridge_url: "http://127.0.0.1:7100".into(),
            sequencer_url: None,
            deployment: None,
            data_dir: PathBuf::from("rollup-node-data"),
            kernel: PathBuf::from("target/kernels/transfer.wasm"),
            preimages_dir: None,
            engine: "fast".into(),
            compiler: "cranelift".into(),
            poll_wait_ms: 1_000,
            faults: Faults::default(),
        }
    }
}
