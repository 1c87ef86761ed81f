//! The L1 work: deploy (or reuse) the verifier and the factory, originate the rollup, read the
//! result back.

use std::path::Path;

use alloy::primitives::{Bytes, FixedBytes, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolInterface;
use l1_bindings::osp::{OneStepProof, OspHostCalls, PreimageOracle};
use l1_bindings::{CommitteeVerifier, IRollup, PermissionedVerifier, PermissionlessVerifier, RefutationGame, Rollup, RollupFactory};
use protocol::reveal::{split_into_pages, RevealHash};
use protocol::sequencer::Committee as L1Committee;
use protocol::{Address, Hash32};
use tracing::info;

use crate::config::{DeployConfig, VerifierKind};
use crate::deployment::{
    CommitteeDeployment, CommitteeMemberDeployment, Deployment, DeploymentFileError, RollupParameters, VerifierDeployment,
};

/// Why a deployment failed, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The configuration is incomplete or inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// The L1 cannot be reached.
    #[error("cannot reach the L1 at {url}: {message} (is anvil running? check l1.rpc_url)")]
    Unreachable {
        /// The RPC URL.
        url: String,
        /// What the transport said.
        message: String,
    },
    /// An L1 step failed (the message names the contract error where there is one).
    #[error("{step}: {message}")]
    Step {
        /// Which step.
        step: &'static str,
        /// What failed.
        message: String,
    },
    /// The kernel or the output could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The deployment file could not be written.
    #[error(transparent)]
    Output(#[from] DeploymentFileError),
}

fn a(x: Address) -> alloy::primitives::Address {
    alloy::primitives::Address::from(x.0)
}

fn h(x: Hash32) -> FixedBytes<32> {
    FixedBytes::from(x.0)
}

fn step<E: std::fmt::Display>(step: &'static str) -> impl FnOnce(E) -> DeployError {
    move |e| DeployError::Step { step, message: e.to_string() }
}

/// Describes a contract call error, decoding the contract's named error when it has one.
fn contract_error<I: SolInterface + std::fmt::Debug>(step: &'static str, e: alloy::contract::Error) -> DeployError {
    let message = match e.as_decoded_interface_error::<I>() {
        Some(named) => format!("reverted with {named:?}"),
        None => e.to_string(),
    };
    DeployError::Step { step, message }
}

/// Deploys and originates as `config` says, with the deployer key `private_key` (hex), and
/// returns the deployment (the caller saves it). Logs each step.
pub async fn deploy(config: &DeployConfig, private_key: &str) -> Result<Deployment, DeployError> {
    let signer: PrivateKeySigner = private_key
        .trim()
        .parse()
        .map_err(|e| DeployError::Config(format!("the deployer key is not a secp256k1 private key in hex: {e}")))?;
    let deployer = Address(signer.address().0 .0);
    let url = config
        .l1
        .rpc_url
        .parse()
        .map_err(|e| DeployError::Config(format!("l1.rpc_url `{}` is not a URL: {e}", config.l1.rpc_url)))?;
    let provider = l1_bindings::connect(url, signer);
    deploy_with(&provider, deployer, config).await
}

/// [`deploy`] through an existing provider whose wallet signs for `deployer`.
pub async fn deploy_with<P: Provider>(provider: &P, deployer: Address, config: &DeployConfig) -> Result<Deployment, DeployError> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| DeployError::Unreachable { url: config.l1.rpc_url.clone(), message: e.to_string() })?;
    info!(chain_id, rpc = %config.l1.rpc_url, %deployer, "connected to the L1");

    let kernel = kernel_hashes(config)?;
    let kernel_reveal_hash = kernel.reveal;
    let r = &config.rollup;
    let genesis_state_hash = r.genesis_state_hash.ok_or_else(|| {
        DeployError::Config("rollup.genesis_state_hash is required: the PVM computes it from the kernel (the state before level 1)".into())
    })?;

    let verifier = deploy_verifier(provider, config).await?;
    let factory = match config.l1.factory {
        Some(f) => {
            require_code(provider, f, "l1.factory").await?;
            if config.l1.one_step_proof.is_some() {
                return Err(DeployError::Config(
                    "l1.one_step_proof applies to a new factory only: a reused l1.factory keeps its own".into(),
                ));
            }
            info!(factory = %f, "reusing the factory");
            f
        }
        None => {
            let osp = deploy_one_step_proof(provider, config).await?;
            info!("deploying the rollup factory (it stores the Rollup and game blueprints)");
            let f = RollupFactory::deploy(provider, a(osp)).await.map_err(step("deploying RollupFactory"))?;
            let f = Address(f.address().0 .0);
            info!(factory = %f, "factory deployed");
            f
        }
    };
    let factory_contract = RollupFactory::new(a(factory), provider);
    let one_step_proof = factory_contract.ONE_STEP_PROOF().call().await.map_err(step("reading the factory"))?;
    let host = OneStepProof::new(one_step_proof, provider).hostCalls().call().await.map_err(step("reading the one-step verifier"))?;
    let preimage_oracle = Address(OspHostCalls::new(host, provider).ORACLE().call().await.map_err(step("reading the one-step verifier"))?.0 .0);
    let one_step_proof = Address(one_step_proof.0 .0);

    let params = IRollup::Config {
        kernelRevealHash: FixedBytes::from(kernel_reveal_hash.digest()),
        kernelValueHash: h(kernel.value_hash),
        kernelModuleRoot: h(kernel.module_root),
        genesisStateHash: h(genesis_state_hash),
        tickBudget: r.tick_budget,
        commitmentPeriod: r.commitment_period,
        challengeWindow: r.challenge_window_blocks,
        stakeAmount: U256::from_be_bytes(r.stake_wei.0),
        sectionsPerDissection: r.sections_per_dissection,
        timeoutPerPlayer: r.timeout_per_player_blocks,
        maxActiveOutboxLevels: r.max_active_outbox_levels,
        verifier: a(verifier.address),
        sequencerNamespace: r.namespace,
        sequencerChainId: r.sequencer_chain_id,
        sequencerStartBlockHash: h(r.sequencer_start_block_hash),
        sequencerStartHeight: r.sequencer_start_height,
        delayedInclusionTimeout: r.delayed_inclusion_timeout_blocks,
        // The factory deploys the rollup's game and names it.
        gameResolver: alloy::primitives::Address::ZERO,
    };
    let salt = h(r.salt);
    let predicted = factory_contract
        .rollupAddress(a(deployer), params.clone().into(), salt)
        .call()
        .await
        .map_err(step("predicting the rollup address"))?;
    let game = factory_contract
        .gameAddress(a(deployer), params.clone().into(), salt)
        .call()
        .await
        .map_err(step("predicting the game address"))?;
    info!(rollup = %predicted, %game, "originating the rollup and its refutation game");
    let receipt = factory_contract
        .originate(params.clone().into(), salt)
        .send()
        .await
        .map_err(|e| contract_error::<Rollup::RollupErrors>("originating the rollup", e))?
        .get_receipt()
        .await
        .map_err(step("waiting for the origination receipt"))?;
    if !receipt.status() {
        return Err(DeployError::Step { step: "originating the rollup", message: "the transaction reverted".into() });
    }
    let originated = receipt.decoded_log::<Rollup::Originated>().ok_or_else(|| DeployError::Step {
        step: "originating the rollup",
        message: "no Originated event in the receipt".into(),
    })?;
    if originated.address != predicted {
        return Err(DeployError::Step { step: "originating the rollup", message: format!("rollup at {} instead of {predicted}", originated.address) });
    }
    let rollup = Rollup::new(predicted, provider);
    let stored = rollup.config().call().await.map_err(step("reading the rollup's parameters back"))?;
    let mut expected = params.clone();
    expected.gameResolver = game;
    if stored != expected {
        return Err(DeployError::Step { step: "checking the rollup's parameters", message: format!("stored {stored:?}, expected {expected:?}") });
    }
    let game_contract = RefutationGame::new(game, provider);
    let bound = game_contract.ROLLUP().call().await.map_err(step("reading the game back"))?;
    if bound != predicted {
        return Err(DeployError::Step { step: "checking the game", message: format!("the game at {game} settles {bound}, not {predicted}") });
    }
    let creation_code_hash = factory_contract.ROLLUP_CREATION_CODE_HASH().call().await.map_err(step("reading the factory"))?;
    let origination_block = originated.data.originationBlock;
    info!(rollup = %predicted, %game, origination_block, "rollup originated");
    let game = Address(game.0 .0);

    Ok(Deployment {
        l1_chain_id: chain_id,
        l1_rpc_url: config.l1.rpc_url.clone(),
        deployer,
        factory,
        one_step_proof,
        preimage_oracle,
        game,
        rollup_creation_code_hash: Hash32(creation_code_hash.0),
        verifier,
        rollup: Address(predicted.0 .0),
        origination_block,
        origination_tx: Hash32(receipt.transaction_hash.0),
        genesis_commitment: Hash32(originated.data.genesisCommitment.0),
        parameters: RollupParameters {
            kernel_reveal_hash: kernel_reveal_hash.to_hex(),
            kernel_value_hash: kernel.value_hash,
            kernel_module_root: kernel.module_root,
            genesis_state_hash,
            tick_budget: r.tick_budget,
            commitment_period: r.commitment_period,
            challenge_window_blocks: r.challenge_window_blocks,
            stake_wei: r.stake_wei,
            sections_per_dissection: r.sections_per_dissection,
            timeout_per_player_blocks: r.timeout_per_player_blocks,
            max_active_outbox_levels: r.max_active_outbox_levels,
            namespace: r.namespace,
            sequencer_chain_id: r.sequencer_chain_id,
            sequencer_start_block_hash: r.sequencer_start_block_hash,
            sequencer_start_height: r.sequencer_start_height,
            delayed_inclusion_timeout_blocks: r.delayed_inclusion_timeout_blocks,
            game_resolver: game,
        },
    })
}

/// What names the kernel on the L1: its root reveal hash, durable value hash and module root.
struct KernelHashes {
    reveal: RevealHash,
    value_hash: Hash32,
    module_root: Hash32,
}

/// The kernel's hashes, from `rollup.kernel` (validating and lowering it, splitting it into
/// reveal pages and writing them to `output.preimage_dir` if set) or given directly.
fn kernel_hashes(config: &DeployConfig) -> Result<KernelHashes, DeployError> {
    let r = &config.rollup;
    match (&r.kernel, &r.kernel_reveal_hash) {
        (Some(_), Some(_)) => Err(DeployError::Config("set rollup.kernel or rollup.kernel_reveal_hash, not both".into())),
        (None, None) => Err(DeployError::Config(
            "the kernel is required: set rollup.kernel to its wasm file (or rollup.kernel_reveal_hash)".into(),
        )),
        (None, Some(hash)) => {
            let reveal = hash
                .parse()
                .map_err(|e| DeployError::Config(format!("rollup.kernel_reveal_hash: {e} (33 bytes of hex, tag 00)")))?;
            let (Some(value_hash), Some(module_root)) = (r.kernel_value_hash, r.kernel_module_root) else {
                return Err(DeployError::Config(
                    "with rollup.kernel_reveal_hash, set rollup.kernel_value_hash and rollup.kernel_module_root too (or give rollup.kernel, which computes all three)".into(),
                ));
            };
            Ok(KernelHashes { reveal, value_hash, module_root })
        }
        (Some(path), None) => {
            if r.kernel_value_hash.is_some() || r.kernel_module_root.is_some() {
                return Err(DeployError::Config(
                    "rollup.kernel_value_hash and rollup.kernel_module_root are computed from rollup.kernel: remove them".into(),
                ));
            }
            let wasm = std::fs::read(path).map_err(|e| DeployError::Io(format!("cannot read the kernel {}: {e}", path.display())))?;
            let (value_hash, module_root) = pvm_reference::ModuleRoots::default()
                .register(&wasm)
                .map_err(|e| DeployError::Config(format!("rollup.kernel {} is not a valid kernel: {e}", path.display())))?;
            let dag = split_into_pages(&wasm);
            info!(kernel = %path.display(), bytes = wasm.len(), pages = dag.pages.len(), root = %dag.root, "kernel split into reveal pages");
            if let Some(dir) = &config.output.preimage_dir {
                write_pages(dir, &dag.pages)?;
                info!(dir = %dir.display(), "reveal pages written");
            }
            Ok(KernelHashes { reveal: dag.root, value_hash: Hash32(value_hash), module_root: Hash32(module_root) })
        }
    }
}

/// The one-step verifier a new factory uses: `l1.one_step_proof`, or a fresh OneStepProof with
/// its host-call contract.
async fn deploy_one_step_proof<P: Provider>(provider: &P, config: &DeployConfig) -> Result<Address, DeployError> {
    if let Some(osp) = config.l1.one_step_proof {
        require_code(provider, osp, "l1.one_step_proof").await?;
        info!(one_step_proof = %osp, "reusing the one-step proof verifier");
        return Ok(osp);
    }
    info!("deploying the one-step proof verifier (OneStepProof, OspHostCalls, PreimageOracle)");
    let oracle = PreimageOracle::deploy(provider).await.map_err(step("deploying PreimageOracle"))?;
    let host = OspHostCalls::deploy(provider, *oracle.address()).await.map_err(step("deploying OspHostCalls"))?;
    let osp = OneStepProof::deploy(provider, *host.address()).await.map_err(step("deploying OneStepProof"))?;
    let osp = Address(osp.address().0 .0);
    info!(one_step_proof = %osp, "one-step proof verifier deployed");
    Ok(osp)
}

fn write_pages(dir: &Path, pages: &[(RevealHash, Vec<u8>)]) -> Result<(), DeployError> {
    let io = |e: std::io::Error| DeployError::Io(format!("cannot write reveal pages to {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    for (hash, page) in pages {
        std::fs::write(dir.join(hash.to_hex()), page).map_err(io)?;
    }
    Ok(())
}

async fn require_code<P: Provider>(provider: &P, at: Address, what: &str) -> Result<(), DeployError> {
    let code = provider.get_code_at(a(at)).await.map_err(step("reading contract code"))?;
    if code.is_empty() {
        return Err(DeployError::Config(format!("{what} = {at} has no code on this L1")));
    }
    Ok(())
}

/// The committee the config describes, in its L1 form.
pub fn committee_from_config(config: &DeployConfig) -> Result<L1Committee, DeployError> {
    let v = &config.verifier;
    let sources = [v.committee_file.is_some(), !v.members.is_empty(), v.dev_seed.is_some()];
    match sources.iter().filter(|s| **s).count() {
        1 => {}
        0 => {
            return Err(DeployError::Config(
                "a committee verifier needs verifier.committee_file, verifier.members or verifier.dev_seed".into(),
            ))
        }
        _ => return Err(DeployError::Config("give only one of verifier.committee_file, verifier.members, verifier.dev_seed".into())),
    }
    if let Some(path) = &v.committee_file {
        return read_committee_file(path);
    }
    let members: Vec<(committee::PublicKey, u64)> = if let Some(seed) = &v.dev_seed {
        if v.dev_size == 0 {
            return Err(DeployError::Config("verifier.dev_size must be at least 1".into()));
        }
        committee::dev_keys(seed, v.dev_size).iter().map(|k| (k.public_key(), v.dev_stake)).collect()
    } else {
        v.members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let bytes = protocol::primitives::parse_hex(&m.public_key)
                    .map_err(|e| DeployError::Config(format!("verifier.members[{i}].public_key: {e}")))?;
                let pk = if bytes.len() == committee::G1_EIP2537_SIZE {
                    committee::PublicKey::from_eip2537(&bytes)
                } else {
                    committee::PublicKey::from_bytes(&bytes)
                }
                .map_err(|e| DeployError::Config(format!("verifier.members[{i}].public_key: {e}")))?;
                Ok((pk, m.stake))
            })
            .collect::<Result<_, DeployError>>()?
    };
    Ok(committee::Committee { epoch: v.epoch, members }.to_l1())
}

/// Reads a committee file: the committee's L1 encoding as hex, or a JSON object with that hex in
/// `l1_encoding` (the sequencer's `committee.json`), whose `committee_hash`, if present, must
/// match.
fn read_committee_file(path: &Path) -> Result<L1Committee, DeployError> {
    let bad = |why: String| DeployError::Config(format!("verifier.committee_file {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| DeployError::Io(format!("cannot read {}: {e}", path.display())))?;
    let text = text.trim();
    let (hex_text, expected_hash) = if text.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let encoding = json
            .get("l1_encoding")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("a JSON committee file needs `l1_encoding` (hex of docs/protocol.md 5.3)".into()))?;
        (encoding.to_string(), json.get("committee_hash").and_then(|v| v.as_str()).map(str::to_string))
    } else {
        (text.to_string(), None)
    };
    let bytes = protocol::primitives::parse_hex(&hex_text).map_err(|e| bad(format!("the encoding is not hex: {e}")))?;
    let committee = L1Committee::decode(&bytes).map_err(|e| bad(e.to_string()))?;
    if let Some(expected) = expected_hash {
        let expected: Hash32 = expected.parse().map_err(|e| bad(format!("committee_hash: {e}")))?;
        if committee.hash() != expected {
            return Err(bad(format!("committee_hash {expected} does not match the encoding's {}", committee.hash())));
        }
    }
    Ok(committee)
}

async fn deploy_verifier<P: Provider>(provider: &P, config: &DeployConfig) -> Result<VerifierDeployment, DeployError> {
    let v = &config.verifier;
    let chain = config.rollup.sequencer_chain_id;
    // A reused verifier needs no committee or signer from the config (they are recorded when
    // given); a new one does.
    let reuse = v.address.is_some();
    let committee = match v.kind {
        VerifierKind::Committee if !reuse || v.committee_file.is_some() || !v.members.is_empty() || v.dev_seed.is_some() => {
            Some(committee_from_config(config)?)
        }
        _ => None,
    };
    let signer = match v.kind {
        VerifierKind::Permissioned if !reuse => {
            Some(v.signer.ok_or_else(|| DeployError::Config("a permissioned verifier needs verifier.signer".into()))?)
        }
        VerifierKind::Permissioned => v.signer,
        _ => None,
    };
    let address = if let Some(existing) = v.address {
        require_code(provider, existing, "verifier.address").await?;
        info!(%existing, kind = ?v.kind, "reusing the verifier");
        existing
    } else {
        let deployed = match v.kind {
            VerifierKind::Committee => {
                let c = committee.as_ref().expect("set above");
                info!(members = c.members.len(), epoch = c.epoch, "deploying the committee verifier");
                let d = CommitteeVerifier::deploy(provider, chain, Bytes::from(c.encode()))
                    .await
                    .map_err(|e| contract_error::<CommitteeVerifier::CommitteeVerifierErrors>("deploying CommitteeVerifier", e))?;
                *d.address()
            }
            VerifierKind::Permissioned => {
                let s = signer.expect("set above");
                info!(signer = %s, "deploying the permissioned verifier");
                *PermissionedVerifier::deploy(provider, chain, a(s)).await.map_err(step("deploying PermissionedVerifier"))?.address()
            }
            VerifierKind::Permissionless => {
                info!("deploying the permissionless verifier");
                *PermissionlessVerifier::deploy(provider).await.map_err(step("deploying PermissionlessVerifier"))?.address()
            }
        };
        let d = Address(deployed.0 .0);
        info!(verifier = %d, "verifier deployed");
        d
    };
    Ok(VerifierDeployment {
        kind: v.kind,
        address,
        committee: committee.map(|c| CommitteeDeployment {
            epoch: c.epoch,
            hash: c.hash(),
            members: c
                .members
                .iter()
                .map(|m| CommitteeMemberDeployment { g1_pubkey: format!("0x{}", hex::encode(m.g1_pubkey)), stake: m.stake })
                .collect(),
        }),
        signer,
    })
}
