//! Generating a network: keys, proofs of possession, and one configuration per node.

use std::path::{Path, PathBuf};

use committee::SecretKey;
use rand::TryRngCore;
use serde::Serialize;

use crate::config::{ApiSection, ChainSection, KeyFile, MemberEntry, NodeConfig, NodeSection, P2pSection};
use sequencer_api::types::to_hex;

/// What to generate.
#[derive(Debug, Clone)]
pub struct NetworkPlan {
    /// Sequencer chain id.
    pub chain_id: u64,
    /// libp2p port of each node (its length is the committee size).
    pub p2p_ports: Vec<u16>,
    /// HTTP API port of each node.
    pub api_ports: Vec<u16>,
    /// Host the nodes listen on and dial each other at.
    pub host: String,
    /// Stake of every member.
    pub stake: u64,
    /// Genesis timestamp (Unix ms).
    pub genesis_timestamp_ms: u64,
}

/// The committee summary written next to the configurations: what the L1 inbox is originated
/// with (committee encoding and hash, genesis block hash).
#[derive(Debug, Serialize)]
pub struct CommitteeSummary {
    /// Sequencer chain id.
    pub chain_id: u64,
    /// Hash of the genesis block (the block the rollup's inbox starts after).
    pub genesis_hash: String,
    /// Committee epoch.
    pub epoch: u64,
    /// Members in bitmap order.
    pub members: Vec<SummaryMember>,
    /// `docs/protocol.md` 5.3 committee encoding, hex.
    pub l1_encoding: String,
    /// keccak of `l1_encoding`.
    pub committee_hash: String,
}

/// One member in [`CommitteeSummary`].
#[derive(Debug, Serialize)]
pub struct SummaryMember {
    /// Compressed key, hex.
    pub bls_public_key: String,
    /// EIP-2537 G1 encoding, hex (128 bytes).
    pub g1_eip2537: String,
    /// Proof of possession, hex.
    pub proof_of_possession: String,
    /// Stake.
    pub stake: u64,
    /// libp2p peer id.
    pub peer_id: String,
    /// API URL.
    pub api_url: String,
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut b).expect("the OS random source works");
    b
}

/// Writes `node{i}.toml`, `node{i}.key` (mode 0600) and `committee.json` into `out`; returns
/// the configuration paths.
pub fn generate(plan: &NetworkPlan, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let n = plan.p2p_ports.len();
    anyhow::ensure!(n > 0 && plan.api_ports.len() == n, "give one p2p port and one API port per node");
    std::fs::create_dir_all(out)?;
    let mut entries = Vec::new();
    let mut keys = Vec::new();
    let mut summary = Vec::new();
    for i in 0..n {
        let bls = SecretKey::from_ikm(&random32())?;
        let mut seed = random32();
        let p2p = sequencer_p2p::Keypair::ed25519_from_bytes(seed).map_err(|e| anyhow::anyhow!("p2p key: {e}"))?;
        let peer_id = p2p.public().to_peer_id().to_string();
        let pk = bls.public_key();
        let pop = bls.prove_possession();
        entries.push(MemberEntry {
            bls_public_key: to_hex(&pk.to_compressed()),
            proof_of_possession: to_hex(&pop.to_compressed()),
            stake: plan.stake,
            peer_id: peer_id.clone(),
            p2p_address: format!("/ip4/{}/tcp/{}", plan.host, plan.p2p_ports[i]),
        });
        summary.push(SummaryMember {
            bls_public_key: to_hex(&pk.to_compressed()),
            g1_eip2537: to_hex(&pk.to_eip2537()),
            proof_of_possession: to_hex(&pop.to_compressed()),
            stake: plan.stake,
            peer_id,
            api_url: format!("http://{}:{}", plan.host, plan.api_ports[i]),
        });
        keys.push(KeyFile { bls_secret_key: to_hex(&bls.to_bytes()), p2p_secret_key: to_hex(&seed) });
        seed.fill(0);
    }
    let chain = ChainSection { chain_id: plan.chain_id, genesis_timestamp_ms: plan.genesis_timestamp_ms, committee: entries };
    let mut paths = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let cfg = NodeConfig {
            node: NodeSection { member: i as u16, data_dir: format!("node{i}-data").into(), key_file: format!("node{i}.key").into() },
            chain: chain.clone(),
            p2p: P2pSection { listen: format!("/ip4/{}/tcp/{}", plan.host, plan.p2p_ports[i]), ..Default::default() },
            api: ApiSection { listen: format!("{}:{}", plan.host, plan.api_ports[i]), ..Default::default() },
            ..Default::default()
        };
        let path = out.join(format!("node{i}.toml"));
        std::fs::write(&path, toml::to_string_pretty(&cfg)?)?;
        let key_path = out.join(format!("node{i}.key"));
        std::fs::write(&key_path, toml::to_string_pretty(key)?)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
        }
        paths.push(path);
    }
    let committee = committee::Committee {
        epoch: 0,
        members: chain
            .committee
            .iter()
            .map(|m| {
                let pk = committee::PublicKey::from_bytes(&sequencer_api::types::from_hex(&m.bls_public_key).expect("just written")).expect("valid");
                (pk, m.stake)
            })
            .collect(),
    };
    let l1 = committee.to_l1();
    let genesis = consensus::Block::genesis(plan.chain_id, plan.genesis_timestamp_ms);
    let summary = CommitteeSummary {
        chain_id: plan.chain_id,
        genesis_hash: genesis.hash().to_string(),
        epoch: 0,
        members: summary,
        l1_encoding: to_hex(&l1.encode()),
        committee_hash: l1.hash().to_string(),
    };
    std::fs::write(out.join("committee.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(paths)
}
