//! The deploy tool's configuration: a TOML file (see `deploy/rollup/devnet.toml`) overlaid by
//! `--set section.key=value` and the named command-line flags.

use std::path::PathBuf;

use protocol::{Address, Hash32, Wei};
use serde::{Deserialize, Serialize};

/// The PVM's default tick budget (docs/pvm.md 4.1; `pvm::state::DEFAULT_TICK_BUDGET`).
pub const DEFAULT_TICK_BUDGET: u64 = 1_000_000_000;

/// Everything the tool needs to deploy and originate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DeployConfig {
    /// Where to deploy and with which key.
    pub l1: L1Config,
    /// Which sequencer verifier the rollup uses.
    pub verifier: VerifierConfig,
    /// The rollup's origination parameters.
    pub rollup: RollupConfig,
    /// What the tool writes.
    pub output: OutputConfig,
}

/// The L1 endpoint and the deployer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L1Config {
    /// JSON-RPC URL of the L1 (anvil on the devnet).
    pub rpc_url: String,
    /// The deployer's secp256k1 key, hex. Prefer `--private-key` or `$DEPLOYER_KEY` to keeping
    /// it in a file.
    pub private_key: Option<String>,
    /// Reuse a factory already on this L1 instead of deploying one (its one-step verifier
    /// judges the rollup's games).
    pub factory: Option<Address>,
    /// Reuse a one-step proof verifier (OneStepProof) for a new factory instead of deploying
    /// one.
    pub one_step_proof: Option<Address>,
}

impl Default for L1Config {
    fn default() -> Self {
        L1Config { rpc_url: "http://127.0.0.1:8545".into(), private_key: None, factory: None, one_step_proof: None }
    }
}

/// The three ways a rollup's batches can be certified (docs/contracts.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VerifierKind {
    /// The sequencer committee's BLS certificates.
    #[default]
    Committee,
    /// One ECDSA key (a centralized sequencer).
    Permissioned,
    /// Anyone posts.
    Permissionless,
}

/// The verifier to deploy (or reuse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierConfig {
    /// Which kind.
    pub kind: VerifierKind,
    /// Reuse a verifier already deployed (its kind must match `kind`).
    pub address: Option<Address>,
    /// Committee: a file holding the committee's L1 encoding (docs/protocol.md 5.3), as hex.
    pub committee_file: Option<PathBuf>,
    /// Committee: members given inline.
    pub members: Vec<MemberConfig>,
    /// Committee: the development committee `committee::dev_keys(seed, size)`, each member
    /// with `dev_stake`. For devnets only: anyone who knows the seed has the keys.
    pub dev_seed: Option<String>,
    /// Size of the development committee.
    pub dev_size: usize,
    /// Stake of each development member.
    pub dev_stake: u64,
    /// Epoch of an inline or development committee.
    pub epoch: u64,
    /// Permissioned: the sequencer's address.
    pub signer: Option<Address>,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            kind: VerifierKind::Committee,
            address: None,
            committee_file: None,
            members: Vec::new(),
            dev_seed: None,
            dev_size: 4,
            dev_stake: 1,
            epoch: 0,
            signer: None,
        }
    }
}

/// One committee member given in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// The BLS public key: 48-byte compressed, 96-byte uncompressed or 128-byte EIP-2537, hex.
    pub public_key: String,
    /// Its stake.
    pub stake: u64,
}

/// The origination parameters (docs/contracts.md section 2). Durations are in L1 blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollupConfig {
    /// The kernel's wasm file: the tool splits it into reveal pages and uses the root hash.
    pub kernel: Option<PathBuf>,
    /// Or the kernel's root reveal hash directly (33 bytes, hex, tag 00); then
    /// `kernel_value_hash` and `kernel_module_root` are needed too.
    pub kernel_reveal_hash: Option<String>,
    /// Without `kernel`: the kernel's durable value hash (docs/pvm.md 5.1).
    pub kernel_value_hash: Option<Hash32>,
    /// Without `kernel`: the kernel's module root (docs/pvm.md 9.4).
    pub kernel_module_root: Option<Hash32>,
    /// The PVM's state hash before the first level (from the PVM; required).
    pub genesis_state_hash: Option<Hash32>,
    /// Ticks every kernel run counts (docs/pvm.md 4.1); every node must run with it.
    pub tick_budget: u64,
    /// Levels per commitment.
    pub commitment_period: u32,
    /// L1 blocks a commitment stays refutable.
    pub challenge_window_blocks: u64,
    /// The stake, in wei.
    pub stake_wei: Wei,
    /// k of the refutation game's dissection.
    pub sections_per_dissection: u32,
    /// Each refutation-game player's clock, in L1 blocks.
    pub timeout_per_player_blocks: u64,
    /// How many levels back outbox messages stay executable (at most 2^20).
    pub max_active_outbox_levels: u32,
    /// The rollup's namespace in the sequencer.
    pub namespace: u64,
    /// The sequencer chain id.
    pub sequencer_chain_id: u64,
    /// The sequencer block the rollup starts after.
    pub sequencer_start_block_hash: Hash32,
    /// Its height.
    pub sequencer_start_height: u64,
    /// L1 blocks after which a delayed message may be forced in.
    pub delayed_inclusion_timeout_blocks: u64,
    /// CREATE2 salt, to originate several rollups with the same parameters.
    pub salt: Hash32,
}

impl Default for RollupConfig {
    fn default() -> Self {
        RollupConfig {
            kernel: None,
            kernel_reveal_hash: None,
            kernel_value_hash: None,
            kernel_module_root: None,
            genesis_state_hash: None,
            tick_budget: DEFAULT_TICK_BUDGET,
            commitment_period: 4,
            challenge_window_blocks: 20,
            stake_wei: Wei::from_u128(1_000_000_000_000_000_000),
            sections_per_dissection: 32,
            timeout_per_player_blocks: 100,
            max_active_outbox_levels: 1 << 16,
            namespace: 1,
            sequencer_chain_id: 1,
            sequencer_start_block_hash: Hash32::ZERO,
            sequencer_start_height: 0,
            delayed_inclusion_timeout_blocks: 50,
            salt: Hash32::ZERO,
        }
    }
}

/// What the tool writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// The deployment JSON every service reads.
    pub deployment_json: PathBuf,
    /// If set, the kernel's reveal pages are written here, one file per page named by its hash
    /// (what a rollup node serves to the kernel).
    pub preimage_dir: Option<PathBuf>,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { deployment_json: "deployment.json".into(), preimage_dir: None }
    }
}
