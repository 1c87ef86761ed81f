//! The deploy tool against a live anvil: each verifier kind deploys and originates, the
//! deployment JSON round-trips and describes what is on chain, a batch certified the way the
//! deployment says (development committee, permissioned key, nobody) is accepted, the CLI works
//! end to end, and bad configurations fail with messages that say what to fix.

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Bytes, B256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use committee::Certificate;
use l1_bindings::{toolchain, RefutationGame, Rollup};
use protocol::l1_batch::{Batch, BatchLevel};
use protocol::sequencer::{finality_digest, tx_root, BlockHeader, NsEntry, NsTable};
use protocol::{Address, Hash32};
use rollup_deploy::{deploy, DeployConfig, DeployError, Deployment, VerifierKind};

fn key_hex(anvil: &AnvilInstance, i: usize) -> String {
    format!("0x{}", hex::encode(anvil.keys()[i].to_bytes()))
}

fn base_config(anvil: &AnvilInstance) -> DeployConfig {
    let mut c = DeployConfig::default();
    c.l1.rpc_url = anvil.endpoint();
    c.rollup.kernel_reveal_hash = Some(format!("00{}", "ab".repeat(32)));
    c.rollup.kernel_value_hash = Some(Hash32([5; 32]));
    c.rollup.kernel_module_root = Some(Hash32([6; 32]));
    c.rollup.genesis_state_hash = Some(Hash32([7; 32]));
    c.rollup.namespace = 42;
    c.rollup.sequencer_chain_id = 5;
    c.rollup.sequencer_start_block_hash = Hash32([1; 32]);
    c.rollup.sequencer_start_height = 9;
    c
}

/// A one-level batch continuing the deployment's start block, with two transactions for the
/// rollup's namespace; returns it with the block's height and hash.
fn first_batch(d: &Deployment, l1_block: u64) -> (Vec<u8>, u64, Hash32) {
    let txs = vec![b"hello".to_vec(), b"world".to_vec()];
    let ns_table = NsTable { entries: vec![NsEntry { namespace: d.parameters.namespace, tx_count: 2, tx_root: tx_root(&txs) }] };
    let header = BlockHeader {
        chain_id: d.parameters.sequencer_chain_id,
        height: d.parameters.sequencer_start_height + 1,
        view: 1,
        timestamp_ms: 1,
        l1_block,
        parent: d.parameters.sequencer_start_block_hash,
        payload_root: ns_table.payload_root(),
    };
    let batch = Batch { levels: vec![BatchLevel { header, ns_table, delayed_through: 0, transactions: txs }] };
    (batch.encode(), header.height, header.hash())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_verifier_kind_deploys_and_accepts_its_certificates() {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let provider = l1_bindings::connect(anvil.endpoint_url(), anvil.keys()[1].clone().into());
    let sequencer_key: PrivateKeySigner = anvil.keys()[2].clone().into();
    let dir = tempfile::tempdir().unwrap();

    let mut factory = None;
    let mut osp = None;
    for kind in [VerifierKind::Committee, VerifierKind::Permissioned, VerifierKind::Permissionless] {
        let mut c = base_config(&anvil);
        c.verifier.kind = kind;
        c.verifier.dev_seed = Some("deploy-test".into());
        c.verifier.signer = Some(Address(sequencer_key.address().0 .0));
        c.l1.factory = factory;
        c.rollup.salt = Hash32([kind as u8; 32]);
        if kind != VerifierKind::Committee {
            c.verifier.dev_seed = None;
        }
        let d = deploy(&c, &key_hex(&anvil, 0)).await.unwrap();
        factory = Some(d.factory); // later rounds reuse the factory
        assert_eq!(d.verifier.kind, kind);
        assert_eq!(d.l1_chain_id, 31337);
        assert_eq!(d.parameters.namespace, 42);
        // No account settles games: the resolver is the rollup's own game, bound to it and to
        // the factory's one-step verifier (the same for every rollup of a reused factory).
        assert_eq!(d.parameters.game_resolver, d.game);
        let game = RefutationGame::new(alloy::primitives::Address::from(d.game.0), &provider);
        assert_eq!(game.ROLLUP().call().await.unwrap().0, d.rollup.0);
        assert_eq!(game.VERIFIER().call().await.unwrap().0, d.one_step_proof.0);
        assert_eq!(*osp.get_or_insert(d.one_step_proof), d.one_step_proof);
        let oracle = l1_bindings::osp::PreimageOracle::new(alloy::primitives::Address::from(d.preimage_oracle.0), &provider);
        assert!(!oracle.has(B256::ZERO).call().await.unwrap(), "a fresh oracle holds no page");
        assert_eq!(oracle.MAX_PAGE_SIZE().call().await.unwrap(), alloy::primitives::U256::from(4096));
        let stored = Rollup::new(alloy::primitives::Address::from(d.rollup.0), &provider).config().call().await.unwrap();
        assert_eq!(stored.tickBudget, d.parameters.tick_budget);
        assert_eq!(stored.kernelModuleRoot.0, [6; 32]);
        assert_eq!(d.reveal_metadata().address, d.rollup);
        assert_eq!(d.kernel_reveal_hash().unwrap().to_hex(), format!("00{}", "ab".repeat(32)));

        // The JSON round-trips.
        let path = dir.path().join(format!("{kind:?}.json"));
        d.save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), d);

        // A batch certified as the deployment says is accepted.
        let rollup = Rollup::new(alloy::primitives::Address::from(d.rollup.0), &provider);
        let head = alloy::providers::Provider::get_block_number(&provider).await.unwrap();
        let (batch, height, block_hash) = first_batch(&d, head);
        let digest = finality_digest(d.parameters.sequencer_chain_id, height, &block_hash);
        let certificate = match kind {
            VerifierKind::Committee => {
                let committee = d.verifier.committee.as_ref().expect("committee recorded");
                assert_eq!(committee.members.len(), 4);
                let keys = committee::dev_keys("deploy-test", 4);
                let sigs: Vec<_> = (0..3).map(|i| (i, keys[i].sign(&digest))).collect();
                Certificate::aggregate(4, &sigs).unwrap().to_l1_bytes()
            }
            VerifierKind::Permissioned => sequencer_key.sign_hash_sync(&B256::from(digest)).unwrap().as_bytes().to_vec(),
            VerifierKind::Permissionless => vec![],
        };
        let receipt = rollup
            .postBatch(Bytes::from(batch), Bytes::from(certificate))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        assert_eq!(rollup.inboxState().call().await.unwrap().level, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kernel_file_is_split_into_reveal_pages() {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("kernel.wasm");
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels/echo.wasm");
    let bytes = std::fs::read(&built).unwrap_or_else(|e| panic!("{}: {e}; build the kernels first with `kernels/build.sh`", built.display()));
    std::fs::write(&kernel, &bytes).unwrap();
    let mut c = base_config(&anvil);
    c.verifier.kind = VerifierKind::Permissionless;
    c.rollup.kernel_reveal_hash = None;
    c.rollup.kernel_value_hash = None;
    c.rollup.kernel_module_root = None;
    c.rollup.kernel = Some(kernel.clone());
    c.output.preimage_dir = Some(dir.path().join("preimages"));
    let d = deploy(&c, &key_hex(&anvil, 0)).await.unwrap();
    let root = d.kernel_reveal_hash().unwrap();
    assert_eq!(root, protocol::reveal::split_into_pages(&bytes).root);
    // The pages are on disk, named by hash, and reassemble to the kernel.
    let pages = dir.path().join("preimages");
    let back = protocol::reveal::reassemble(&root, |h| std::fs::read(pages.join(h.to_hex())).ok(), 1 << 20, 4).unwrap();
    assert_eq!(back, bytes);
    // The value hash and module root are the reference machine's, so the L1 can prove a run's
    // first tick of this kernel.
    let (value_hash, module_root) = pvm_reference::ModuleRoots::default().register(&bytes).unwrap();
    assert_eq!(d.parameters.kernel_value_hash, Hash32(value_hash));
    assert_eq!(d.parameters.kernel_module_root, Hash32(module_root));

    // Bytes that are not a kernel are refused before anything is deployed.
    std::fs::write(&kernel, b"not wasm").unwrap();
    let e = deploy(&c, &key_hex(&anvil, 0)).await.unwrap_err();
    assert!(matches!(&e, DeployError::Config(m) if m.contains("not a valid kernel")), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configurations_say_what_to_fix() {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    use VerifierKind::{Committee, Permissioned, Permissionless};
    let config_error = |e: &DeployError, what: &str| matches!(e, DeployError::Config(m) if m.contains(what));
    let invalid_parameter = |e: &DeployError, name: &str| e.to_string().contains("InvalidParameter") && e.to_string().contains(name);

    let e = deploy_error(&anvil, |c| (c.verifier.kind, c.rollup.genesis_state_hash) = (Permissionless, None)).await;
    assert!(config_error(&e, "genesis_state_hash"), "{e}");
    let e = deploy_error(&anvil, |c| c.verifier.kind = Permissioned).await;
    assert!(config_error(&e, "verifier.signer"), "{e}");
    let e = deploy_error(&anvil, |c| c.verifier.kind = Committee).await;
    assert!(config_error(&e, "dev_seed"), "{e}");
    let e = deploy_error(&anvil, |c| (c.verifier.kind, c.rollup.commitment_period) = (Permissionless, 0)).await;
    assert!(invalid_parameter(&e, "commitmentPeriod"), "{e}");
    let e = deploy_error(&anvil, |c| (c.verifier.kind, c.rollup.kernel_module_root) = (Permissionless, None)).await;
    assert!(config_error(&e, "kernel_module_root"), "{e}");
    let e = deploy_error(&anvil, |c| (c.verifier.kind, c.rollup.tick_budget) = (Permissionless, 2)).await;
    assert!(invalid_parameter(&e, "tickBudget"), "{e}");
    let e = deploy_error(&anvil, |c| c.l1.rpc_url = "http://127.0.0.1:1".into()).await;
    assert!(matches!(e, DeployError::Unreachable { .. }), "{e}");

    let e = deploy(&base_config(&anvil), "not a key").await.unwrap_err();
    assert!(config_error(&e, "private key"), "{e}");
}

/// Why deploying `base_config` changed by `edit` fails (it must).
async fn deploy_error(anvil: &AnvilInstance, edit: impl FnOnce(&mut DeployConfig)) -> DeployError {
    let mut c = base_config(anvil);
    edit(&mut c);
    deploy(&c, &key_hex(anvil, 0)).await.expect_err("this configuration must be refused")
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_deploys_from_toml_with_overrides() {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("deploy.toml");
    std::fs::write(
        &config,
        r#"
[verifier]
kind = "committee"
dev_seed = "cli"
dev_size = 7

[rollup]
kernel_reveal_hash = "00cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
kernel_value_hash = "0x0101010101010101010101010101010101010101010101010101010101010101"
kernel_module_root = "0x0202020202020202020202020202020202020202020202020202020202020202"
commitment_period = 6
namespace = 3
"#,
    )
    .unwrap();
    let out = dir.path().join("out/deployment.json");
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollup-deploy"))
        .arg("--config")
        .arg(&config)
        .args(["--rpc-url", &anvil.endpoint()])
        .args(["--genesis-state-hash", &format!("0x{}", "11".repeat(32))])
        .args(["--set", "rollup.commitment_period=8", "--set", "rollup.challenge_window_blocks=3"])
        .arg("--out")
        .arg(&out)
        .env("DEPLOYER_KEY", key_hex(&anvil, 3))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let d = Deployment::load(&out).unwrap();
    assert_eq!(d.parameters.commitment_period, 8); // --set wins over the file
    assert_eq!(d.parameters.challenge_window_blocks, 3);
    assert_eq!(d.parameters.namespace, 3);
    assert_eq!(d.parameters.genesis_state_hash, Hash32([0x11; 32]));
    assert_eq!(d.verifier.committee.unwrap().members.len(), 7);
    assert_eq!(d.deployer.0, anvil.addresses()[3].0 .0);

    // Without a key the CLI says where to put one.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollup-deploy"))
        .arg("--config")
        .arg(&config)
        .env_remove("DEPLOYER_KEY")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DEPLOYER_KEY"));
}

#[test]
fn committee_file_is_hex_or_the_sequencers_json() {
    let dir = tempfile::tempdir().unwrap();
    let keys = committee::dev_keys("file", 3);
    let c = committee::Committee { epoch: 2, members: keys.iter().map(|k| (k.public_key(), 5)).collect() }.to_l1();
    let hex_path = dir.path().join("committee.hex");
    std::fs::write(&hex_path, format!("0x{}\n", hex::encode(c.encode()))).unwrap();
    let json_path = dir.path().join("committee.json");
    let json = serde_json::json!({ "chain_id": 1, "epoch": 2, "l1_encoding": hex::encode(c.encode()), "committee_hash": c.hash().to_string() });
    std::fs::write(&json_path, json.to_string()).unwrap();
    for path in [&hex_path, &json_path] {
        let mut cfg = DeployConfig::default();
        cfg.verifier.committee_file = Some(path.clone());
        assert_eq!(rollup_deploy::committee_from_config(&cfg).unwrap(), c);
    }
    // A hash that does not match the encoding is refused.
    let wrong = serde_json::json!({ "l1_encoding": hex::encode(c.encode()), "committee_hash": Hash32([1; 32]).to_string() });
    std::fs::write(&json_path, wrong.to_string()).unwrap();
    let mut cfg = DeployConfig::default();
    cfg.verifier.committee_file = Some(json_path);
    let e = rollup_deploy::committee_from_config(&cfg).unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
}
