//! The bridge's configuration (TOML, with `--set key=value` overrides).

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use crate::ops::Purpose;

/// Everything the bridge needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeConfig {
    /// HTTP API address.
    pub listen: SocketAddr,
    /// The L1 JSON-RPC endpoint.
    pub l1_rpc: String,
    /// The rollup contract.
    pub rollup: Option<Address>,
    /// L1 blocks an event must be buried under before it is served (reorg safety).
    pub confirmations: u64,
    /// How often the L1 is polled for new blocks.
    pub poll_interval_ms: u64,
    /// How long to wait for a receipt before re-pricing a transaction.
    pub receipt_timeout_ms: u64,
    /// One key per purpose; a purpose without a key is disabled (its endpoints answer 403).
    pub keys: Keys,
}

/// Private keys, as `0x` hex, or `env:VAR` to read one from the environment, or `file:PATH`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Keys {
    /// Posts batches and forces inclusion.
    pub post: Option<String>,
    /// Publishes commitments, stakes, recovers the stake.
    pub publish: Option<String>,
    /// Cements commitments.
    pub cement: Option<String>,
    /// Plays refutation games.
    pub refute: Option<String>,
    /// Executes outbox messages.
    pub execute: Option<String>,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            listen: "127.0.0.1:7100".parse().expect("valid"),
            l1_rpc: "http://127.0.0.1:8545".into(),
            rollup: None,
            confirmations: 0,
            poll_interval_ms: 200,
            receipt_timeout_ms: 30_000,
            keys: Keys::default(),
        }
    }
}

impl Keys {
    /// The configured signers by purpose.
    pub fn signers(&self) -> anyhow::Result<Vec<(Purpose, PrivateKeySigner)>> {
        let mut out = Vec::new();
        for (p, k) in [
            (Purpose::Post, &self.post),
            (Purpose::Publish, &self.publish),
            (Purpose::Cement, &self.cement),
            (Purpose::Refute, &self.refute),
            (Purpose::Execute, &self.execute),
        ] {
            if let Some(spec) = k {
                out.push((p, load_key(spec).map_err(|e| anyhow::anyhow!("keys.{p}: {e}"))?));
            }
        }
        Ok(out)
    }
}

/// Reads a key given as hex, `env:VAR` or `file:PATH`.
pub fn load_key(spec: &str) -> anyhow::Result<PrivateKeySigner> {
    let text = if let Some(var) = spec.strip_prefix("env:") {
        std::env::var(var).map_err(|_| anyhow::anyhow!("environment variable {var} is not set"))?
    } else if let Some(path) = spec.strip_prefix("file:") {
        std::fs::read_to_string(PathBuf::from(path)).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?
    } else {
        spec.to_string()
    };
    text.trim().parse::<PrivateKeySigner>().map_err(|e| anyhow::anyhow!("not a private key: {e}"))
}
