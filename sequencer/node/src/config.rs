//! The node's configuration (TOML, overridable with `--set key=value`) and its key file.
//!
//! Relative paths in a configuration file (`data_dir`, `key_file`) are relative to the file's
//! directory, so a generated network directory can be moved as a whole.

use std::path::{Path, PathBuf};

use committee::{PublicKey, SecretKey, Signature};
use consensus::{Bls, Config as ConsensusConfig, Limits, Members};
use serde::{Deserialize, Serialize};

/// Everything a node needs to run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Who this node is and where it keeps its state.
    pub node: NodeSection,
    /// The chain every member must agree on: id, genesis, committee.
    pub chain: ChainSection,
    /// Pacemaker and block production.
    pub consensus: ConsensusSection,
    /// libp2p.
    pub p2p: P2pSection,
    /// HTTP API.
    pub api: ApiSection,
    /// Transaction pool bounds.
    pub mempool: MempoolSection,
    /// Where the L1 head comes from.
    pub l1: L1Section,
    /// The built-in consumer of finalized blocks.
    pub sink: SinkSection,
}

/// `[node]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSection {
    /// This node's index in `chain.committee`.
    pub member: u16,
    /// RocksDB directory.
    pub data_dir: PathBuf,
    /// The key file (`bls_secret_key`, `p2p_secret_key`).
    pub key_file: PathBuf,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection { member: 0, data_dir: "data".into(), key_file: "node.key".into() }
    }
}

/// `[chain]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainSection {
    /// Sequencer chain id (in every header and signed digest).
    pub chain_id: u64,
    /// Genesis block timestamp.
    pub genesis_timestamp_ms: u64,
    /// The committee, in bitmap order.
    pub committee: Vec<MemberEntry>,
}

/// One `[[chain.committee]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    /// Compressed BLS12-381 G1 public key, hex (48 bytes).
    pub bls_public_key: String,
    /// Proof of possession of that key, hex (96 bytes).
    pub proof_of_possession: String,
    /// Voting weight.
    pub stake: u64,
    /// libp2p peer id.
    pub peer_id: String,
    /// libp2p address to dial.
    pub p2p_address: String,
}

/// `[consensus]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusSection {
    /// View timeout after a view that made progress.
    pub base_timeout_ms: u64,
    /// Cap of the timeout backoff.
    pub max_timeout_ms: u64,
    /// Least time between a block and its child (batches transactions under load).
    pub min_block_interval_ms: u64,
    /// A leader with nothing to order waits this long before an empty block (keeps time and
    /// `l1_block` moving; must stay well below `base_timeout_ms`).
    pub idle_block_interval_ms: u64,
    /// How far ahead of the local clock a block's timestamp may be.
    pub max_clock_drift_ms: u64,
    /// How far ahead of the local L1 head a block's `l1_block` may be.
    pub l1_tolerance_blocks: u64,
    /// Transaction bytes per block.
    pub max_block_bytes: usize,
    /// Transactions per block.
    pub max_block_txs: usize,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            base_timeout_ms: 1_500,
            max_timeout_ms: 30_000,
            min_block_interval_ms: 100,
            idle_block_interval_ms: 500,
            max_clock_drift_ms: 5_000,
            l1_tolerance_blocks: 8,
            max_block_bytes: 2 << 20,
            max_block_txs: 32_768,
        }
    }
}

/// `[p2p]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct P2pSection {
    /// Listen address.
    pub listen: String,
    /// Penalty points at which a peer is banned.
    pub ban_threshold: i64,
    /// Ban length.
    pub ban_seconds: u64,
}

impl Default for P2pSection {
    fn default() -> Self {
        P2pSection { listen: "/ip4/127.0.0.1/tcp/9000".into(), ban_threshold: 100, ban_seconds: 60 }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Listen address of the HTTP API (`/v1/...`, `/health`, `/metrics`).
    pub listen: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most transactions in one `/v1/submit/batch`.
    pub max_batch_txs: usize,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection { listen: "127.0.0.1:8000".into(), max_body_bytes: 16 << 20, max_batch_txs: 65_536 }
    }
}

/// `[mempool]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolSection {
    /// Total waiting bytes.
    pub max_bytes: usize,
    /// Waiting transactions.
    pub max_txs: usize,
    /// Waiting bytes per namespace.
    pub max_namespace_bytes: usize,
}

impl Default for MempoolSection {
    fn default() -> Self {
        let d = sequencer_mempool::MempoolConfig::default();
        MempoolSection { max_bytes: d.max_bytes, max_txs: d.max_txs, max_namespace_bytes: d.max_namespace_bytes }
    }
}

/// `[l1]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L1Section {
    /// Ethereum JSON-RPC URL; empty for no L1 (the head is then `fixed_head`).
    pub rpc_url: String,
    /// Blocks below the RPC's latest block that count as the head (reorg safety).
    pub confirmations: u64,
    /// Polling period.
    pub poll_interval_ms: u64,
    /// The head when there is no RPC (`-1` for none: blocks keep their parent's `l1_block`).
    pub fixed_head: i64,
}

impl Default for L1Section {
    fn default() -> Self {
        L1Section { rpc_url: String::new(), confirmations: 2, poll_interval_ms: 1_000, fixed_head: -1 }
    }
}

/// `[sink]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkSection {
    /// Log every finalized block (the built-in sink; the L1 poster follows the stream API).
    pub log: bool,
}

impl Default for SinkSection {
    fn default() -> Self {
        SinkSection { log: true }
    }
}

/// A node's secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// BLS12-381 secret scalar, hex (32 bytes).
    pub bls_secret_key: String,
    /// ed25519 secret seed of the libp2p identity, hex (32 bytes).
    pub p2p_secret_key: String,
}

/// What is wrong with a configuration, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err(s: impl Into<String>) -> ConfigError {
    ConfigError(s.into())
}

fn hex_bytes(s: &str, what: &str) -> Result<Vec<u8>, ConfigError> {
    sequencer_api::types::from_hex(s).map_err(|e| err(format!("{what}: {e}")))
}

/// A validated configuration with keys loaded and the committee checked.
pub struct Resolved {
    /// The configuration as given.
    pub config: NodeConfig,
    /// Data directory (absolute or relative to the working directory).
    pub data_dir: PathBuf,
    /// BLS key.
    pub bls_key: SecretKey,
    /// libp2p identity.
    pub p2p_key: sequencer_p2p::Keypair,
    /// Consensus parameters.
    pub consensus: ConsensusConfig,
    /// Committee keys and stakes.
    pub members: Vec<(PublicKey, u64)>,
    /// Peer ids and addresses in member order.
    pub peers: Vec<sequencer_p2p::PeerInfo>,
}

impl Resolved {
    /// The committee as consensus uses it.
    pub fn consensus_members(&self) -> Members<Bls> {
        Members::new(self.members.clone()).expect("checked in resolve")
    }

    /// The committee as the L1 and the `committee` crate use it.
    pub fn committee(&self) -> committee::Committee {
        committee::Committee { epoch: 0, members: self.members.clone() }
    }
}

/// Reads the key file.
pub fn load_keys(path: &Path) -> Result<(SecretKey, sequencer_p2p::Keypair), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read key file {}: {e}", path.display())))?;
    let k: KeyFile = toml::from_str(&text).map_err(|e| err(format!("key file {}: {e}", path.display())))?;
    let bls = SecretKey::from_bytes(&hex_bytes(&k.bls_secret_key, "bls_secret_key")?).map_err(|e| err(format!("bls_secret_key: {e}")))?;
    let mut seed = hex_bytes(&k.p2p_secret_key, "p2p_secret_key")?;
    if seed.len() != 32 {
        return Err(err("p2p_secret_key must be 32 bytes"));
    }
    let p2p = sequencer_p2p::Keypair::ed25519_from_bytes(&mut seed).map_err(|e| err(format!("p2p_secret_key: {e}")))?;
    Ok((bls, p2p))
}

/// Checks a configuration, loads its keys, and verifies every member's proof of possession.
/// `base` is the directory relative paths are taken from.
pub fn resolve(config: NodeConfig, base: &Path) -> Result<Resolved, ConfigError> {
    let c = &config;
    if c.chain.committee.is_empty() {
        return Err(err("chain.committee is empty: generate a network with `sequencer-node keygen`"));
    }
    let me = usize::from(c.node.member);
    if me >= c.chain.committee.len() {
        return Err(err(format!("node.member is {me} but the committee has {} members", c.chain.committee.len())));
    }
    let mut members = Vec::new();
    let mut peers = Vec::new();
    for (i, m) in c.chain.committee.iter().enumerate() {
        let pk = PublicKey::from_bytes(&hex_bytes(&m.bls_public_key, "bls_public_key")?)
            .map_err(|e| err(format!("committee member {i}: bls_public_key: {e}")))?;
        let pop = Signature::from_bytes(&hex_bytes(&m.proof_of_possession, "proof_of_possession")?)
            .map_err(|e| err(format!("committee member {i}: proof_of_possession: {e}")))?;
        if !pk.verify_possession(&pop) {
            return Err(err(format!("committee member {i}: the proof of possession does not verify; the key cannot join")));
        }
        if m.stake == 0 {
            return Err(err(format!("committee member {i}: stake must be positive")));
        }
        members.push((pk, m.stake));
        let peer_id = m.peer_id.parse().map_err(|e| err(format!("committee member {i}: peer_id: {e}")))?;
        let address = m.p2p_address.parse().map_err(|e| err(format!("committee member {i}: p2p_address: {e}")))?;
        peers.push(sequencer_p2p::PeerInfo { member: i as u16, peer_id, address });
    }
    Members::<Bls>::new(members.clone()).map_err(|e| err(format!("committee: {e}")))?;
    let key_path = base.join(&c.node.key_file);
    let (bls_key, p2p_key) = load_keys(&key_path)?;
    if bls_key.public_key() != members[me].0 {
        return Err(err(format!("the BLS key in {} is not member {me}'s key", key_path.display())));
    }
    if p2p_key.public().to_peer_id() != peers[me].peer_id {
        return Err(err(format!("the p2p key in {} is not member {me}'s peer id", key_path.display())));
    }
    let k = &c.consensus;
    if k.idle_block_interval_ms.saturating_mul(2) > k.base_timeout_ms {
        return Err(err("consensus.idle_block_interval_ms must be at most half of base_timeout_ms (replicas would time out on an idle leader)"));
    }
    if k.min_block_interval_ms > k.idle_block_interval_ms {
        return Err(err("consensus.min_block_interval_ms must not exceed idle_block_interval_ms"));
    }
    if k.max_block_bytes == 0 || k.max_block_txs == 0 {
        return Err(err("consensus.max_block_bytes and max_block_txs must be positive"));
    }
    let mut cc = ConsensusConfig::new(c.chain.chain_id);
    cc.genesis_timestamp_ms = c.chain.genesis_timestamp_ms;
    cc.base_timeout_ms = k.base_timeout_ms;
    cc.max_timeout_ms = k.max_timeout_ms.max(k.base_timeout_ms);
    cc.max_clock_drift_ms = k.max_clock_drift_ms;
    cc.l1_tolerance_blocks = k.l1_tolerance_blocks;
    cc.limits = Limits { max_block_bytes: k.max_block_bytes, max_block_txs: k.max_block_txs, max_tx_bytes: consensus::MAX_TX_BYTES };
    cc.finality_retry_ms = k.base_timeout_ms;
    let data_dir = base.join(&c.node.data_dir);
    Ok(Resolved { config, data_dir, bls_key, p2p_key, consensus: cc, members, peers })
}
