//! The poster's configuration (TOML with `--set` overrides).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// How batches are certified: which sequencer the rollup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Certify {
    /// The committee's BLS finality certificate (the decentralized sequencer).
    #[default]
    Committee,
    /// An ECDSA signature of the finality digest by one operator key (a centralized sequencer).
    Permissioned,
    /// Nothing: the poster builds blocks itself and anyone may post (no sequencer).
    Direct,
}

/// Everything the poster needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PosterConfig {
    /// How batches are certified.
    pub certify: Certify,
    /// /health, /metrics (and, in `direct` mode, the submit API).
    pub listen: SocketAddr,
    /// The bridge.
    pub bridge_url: String,
    /// Sequencer nodes to follow (tried in turn); not used in `direct` mode.
    pub sequencer_urls: Vec<String>,
    /// `permissioned`: the operator key signing finality digests (hex, `env:VAR` or `file:PATH`).
    pub operator_key: Option<String>,
    /// Flush a batch at this many bytes.
    pub max_batch_bytes: usize,
    /// Flush a batch at this many levels.
    pub max_batch_levels: usize,
    /// Flush a non-empty batch after this long.
    pub max_delay_ms: u64,
    /// `direct`: how often a block is built when there is something to include.
    pub block_interval_ms: u64,
    /// `direct`: transactions waiting at most (then submissions answer 503).
    pub max_pending_txs: usize,
}

impl Default for PosterConfig {
    fn default() -> Self {
        PosterConfig {
            certify: Certify::Committee,
            listen: "127.0.0.1:7400".parse().expect("valid"),
            bridge_url: "http://127.0.0.1:7100".into(),
            sequencer_urls: vec!["http://127.0.0.1:7200".into()],
            operator_key: None,
            max_batch_bytes: 100_000,
            max_batch_levels: 1_000,
            max_delay_ms: 300,
            block_interval_ms: 250,
            max_pending_txs: 200_000,
        }
    }
}
