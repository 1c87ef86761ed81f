//! The deployment JSON: where a rollup lives on the L1 and with which parameters. The deploy
//! tool writes it; the bridge, the sequencer's poster, the proposer, the challenger and the
//! devnet read it with [`Deployment::load`].

use std::path::Path;

use protocol::l1_batch::InboxRules;
use protocol::reveal::RevealHash;
use protocol::{Address, Hash32, RollupMetadata, Wei};
use serde::{Deserialize, Serialize};

use crate::config::VerifierKind;

/// A deployed and originated rollup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The L1's chain id (`eth_chainId`).
    pub l1_chain_id: u64,
    /// The RPC URL the tool deployed through.
    pub l1_rpc_url: String,
    /// The account that deployed and originated.
    pub deployer: Address,
    /// The RollupFactory.
    pub factory: Address,
    /// The one-step proof verifier that judges the last move of every game.
    pub one_step_proof: Address,
    /// Where `reveal_preimage` steps read their pages: upload a page there before proving a
    /// step that reveals it.
    pub preimage_oracle: Address,
    /// The rollup's refutation game (its `gameResolver`), deployed by the factory.
    pub game: Address,
    /// keccak-256 of the Rollup creation code the factory deploys (which contract version).
    pub rollup_creation_code_hash: Hash32,
    /// The sequencer verifier.
    pub verifier: VerifierDeployment,
    /// The rollup contract: the rollup's address, also in the kernels' reveal metadata.
    pub rollup: Address,
    /// The L1 block of origination: the origination level in the reveal metadata and where to
    /// start reading the rollup's logs.
    pub origination_block: u64,
    /// The origination transaction.
    pub origination_tx: Hash32,
    /// The genesis commitment's hash (the first last-cemented commitment).
    pub genesis_commitment: Hash32,
    /// The origination parameters, as the contract holds them.
    pub parameters: RollupParameters,
}

/// The verifier a rollup checks its batches with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierDeployment {
    /// Committee, permissioned or permissionless.
    pub kind: VerifierKind,
    /// Its address.
    pub address: Address,
    /// For a committee verifier: the committee it was deployed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committee: Option<CommitteeDeployment>,
    /// For a permissioned verifier: the sequencer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<Address>,
}

/// A committee as deployed (later epochs arrive by handover; the verifier's events have them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitteeDeployment {
    /// Its epoch.
    pub epoch: u64,
    /// keccak-256 of its encoding.
    pub hash: Hash32,
    /// Members in bitmap order.
    pub members: Vec<CommitteeMemberDeployment>,
}

/// One committee member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitteeMemberDeployment {
    /// The EIP-2537 G1 public key (128 bytes), hex with `0x`.
    pub g1_pubkey: String,
    /// Its stake.
    pub stake: u64,
}

/// The origination parameters (docs/contracts.md section 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupParameters {
    /// The kernel's root reveal hash (33 bytes: tag 00 then blake2b-256), hex without `0x`.
    pub kernel_reveal_hash: String,
    /// The kernel's durable value hash.
    pub kernel_value_hash: Hash32,
    /// The kernel's module root.
    pub kernel_module_root: Hash32,
    /// The genesis state hash.
    pub genesis_state_hash: Hash32,
    /// Ticks per kernel run.
    pub tick_budget: u64,
    /// Levels per commitment.
    pub commitment_period: u32,
    /// L1 blocks a commitment stays refutable.
    pub challenge_window_blocks: u64,
    /// The stake, in wei.
    pub stake_wei: Wei,
    /// k of the dissection.
    pub sections_per_dissection: u32,
    /// Each player's clock, in L1 blocks.
    pub timeout_per_player_blocks: u64,
    /// Levels back an outbox message stays executable.
    pub max_active_outbox_levels: u32,
    /// The rollup's namespace.
    pub namespace: u64,
    /// The sequencer chain.
    pub sequencer_chain_id: u64,
    /// The sequencer block the rollup starts after.
    pub sequencer_start_block_hash: Hash32,
    /// Its height.
    pub sequencer_start_height: u64,
    /// L1 blocks before a delayed message may be forced in.
    pub delayed_inclusion_timeout_blocks: u64,
    /// Who settles refutation games: the rollup's game.
    pub game_resolver: Address,
}

/// Why a deployment file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentFileError {
    /// The file could not be read or written.
    #[error("deployment file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a deployment JSON of this version.
    #[error("deployment file {path} is not a valid deployment (re-run rollup-deploy): {source}")]
    Json {
        /// The file.
        path: String,
        /// The JSON error.
        source: serde_json::Error,
    },
}

impl Deployment {
    /// Reads a deployment JSON.
    pub fn load(path: &Path) -> Result<Self, DeploymentFileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| DeploymentFileError::Io { path: path.display().to_string(), source })?;
        serde_json::from_str(&text).map_err(|source| DeploymentFileError::Json { path: path.display().to_string(), source })
    }

    /// Writes it (pretty-printed), creating the parent directory.
    pub fn save(&self, path: &Path) -> Result<(), DeploymentFileError> {
        let io = |source| DeploymentFileError::Io { path: path.display().to_string(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let json = serde_json::to_string_pretty(self).expect("a deployment always serialises");
        std::fs::write(path, json + "\n").map_err(io)
    }

    /// The rules a node replays the inbox with (`protocol::l1_batch::InboxState`).
    pub fn inbox_rules(&self) -> InboxRules {
        InboxRules {
            sequencer_chain_id: self.parameters.sequencer_chain_id,
            namespace: self.parameters.namespace,
            delayed_inclusion_timeout: self.parameters.delayed_inclusion_timeout_blocks,
        }
    }

    /// What `reveal_metadata` gives the kernel: the rollup address and origination level.
    pub fn reveal_metadata(&self) -> RollupMetadata {
        RollupMetadata { address: self.rollup, origination_level: self.origination_block as u32 }
    }

    /// The kernel's root reveal hash.
    pub fn kernel_reveal_hash(&self) -> Result<RevealHash, protocol::DecodeError> {
        self.parameters.kernel_reveal_hash.parse()
    }
}
