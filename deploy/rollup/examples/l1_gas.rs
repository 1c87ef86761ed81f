//! The L1 gas table: what each rollup operation costs on anvil (Prague), measured from receipts
//! (whole transactions, calldata included) and, for the committee verifier alone, with the
//! GasProbe contract (calldata excluded). Gas is deterministic, so the figures do not depend on
//! the machine.
//!
//! ```sh
//! cargo run -p rollup-deploy --example l1_gas             # writes target/bench/l1-gas.{md,json}
//! cargo run -p rollup-deploy --example l1_gas -- out/dir  # elsewhere
//! ```

use std::path::PathBuf;

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address as AAddress, Bytes, FixedBytes, U256, U64};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use committee::Certificate;
use l1_bindings::{toolchain, CommitteeVerifier, GasProbe, IRollup, Rollup};
use protocol::commitment::state_hash;
use protocol::l1_batch::{Batch, BatchLevel};
use protocol::outbox::{L1Call, OutboxMessage, OutboxTree};
use protocol::sequencer::{finality_digest, tx_root, BlockHeader, NsEntry, NsTable};
use protocol::{merkle, Address, Hash32, Wei};
use rollup_deploy::{deploy, DeployConfig, Deployment, VerifierKind};

struct Row {
    operation: String,
    gas: u64,
    note: String,
}

/// A chain of sequencer blocks for one rollup, as a poster builds it.
struct Chain {
    parent: Hash32,
    height: u64,
    chain_id: u64,
    namespace: u64,
}

impl Chain {
    fn new(d: &Deployment) -> Self {
        Chain {
            parent: d.parameters.sequencer_start_block_hash,
            height: d.parameters.sequencer_start_height,
            chain_id: d.parameters.sequencer_chain_id,
            namespace: d.parameters.namespace,
        }
    }

    /// `levels` blocks with `txs` transactions of `tx_size` bytes each for the rollup (and one
    /// other namespace), referring to L1 block `l1_block`.
    fn batch(&mut self, levels: usize, txs: usize, tx_size: usize, l1_block: u64, delayed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..levels {
            let t: Vec<Vec<u8>> = (0..txs).map(|i| vec![i as u8; tx_size]).collect();
            let mut entries = vec![NsEntry { namespace: self.namespace + 1, tx_count: 3, tx_root: Hash32([9; 32]) }];
            if txs > 0 {
                entries.insert(0, NsEntry { namespace: self.namespace, tx_count: txs as u32, tx_root: tx_root(&t) });
            }
            let ns_table = NsTable { entries };
            let header = BlockHeader {
                chain_id: self.chain_id,
                height: self.height + 1,
                view: self.height + 1,
                timestamp_ms: 1_700_000_000_000 + self.height,
                l1_block,
                parent: self.parent,
                payload_root: ns_table.payload_root(),
            };
            self.parent = header.hash();
            self.height += 1;
            out.push(BatchLevel { header, ns_table, delayed_through: delayed, transactions: t });
        }
        Batch { levels: out }.encode()
    }
}

async fn gas(receipt: TransactionReceipt, what: &str) -> u64 {
    assert!(receipt.status(), "{what} reverted");
    receipt.gas_used
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out_dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench"));
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let key = format!("0x{}", hex::encode(anvil.keys()[0].to_bytes()));
    let provider = l1_bindings::connect(anvil.endpoint_url(), anvil.keys()[0].clone().into());
    let probe = GasProbe::deploy(&provider).await?;
    let mut rows: Vec<Row> = Vec::new();

    let mut base = DeployConfig::default();
    base.l1.rpc_url = anvil.endpoint();
    base.rollup.kernel_reveal_hash = Some(format!("00{}", "ee".repeat(32)));
    base.rollup.kernel_value_hash = Some(protocol::Hash32([0x11; 32]));
    base.rollup.kernel_module_root = Some(protocol::Hash32([0x22; 32]));
    base.rollup.genesis_state_hash = Some(Hash32([1; 32]));
    base.rollup.challenge_window_blocks = 5;

    // ---- postBatch with the committee verifier, by committee size.
    let mut factory = None;
    for n in [4usize, 16, 64, 128] {
        let mut c = base.clone();
        c.l1.factory = factory;
        c.verifier.kind = VerifierKind::Committee;
        c.verifier.dev_seed = Some(format!("gas-{n}"));
        c.verifier.dev_size = n;
        c.rollup.salt = Hash32([n as u8; 32]);
        let d = deploy(&c, &key).await?;
        factory = Some(d.factory);
        let rollup = Rollup::new(AAddress::from(d.rollup.0), &provider);
        let keys = committee::dev_keys(&format!("gas-{n}"), n);
        let mut chain = Chain::new(&d);
        // The first batch of a rollup also fills the inbox's zero storage slots: post one to
        // warm up, then measure the steady state.
        for signing in [n, n * 2 / 3 + 1, n] {
            let head = provider.get_block_number().await?;
            let batch = chain.batch(1, 4, 100, head, 0);
            let digest = finality_digest(chain.chain_id, chain.height, &chain.parent);
            let sigs: Vec<_> = (0..signing).map(|i| (i, keys[i].sign(&digest))).collect();
            let cert = Certificate::aggregate(n, &sigs)?.to_l1_bytes();
            let verify_gas = probe
                .measureVerify(AAddress::from(d.verifier.address.0), chain.chain_id, chain.height, FixedBytes::from(chain.parent.0), Bytes::from(cert.clone()))
                .call()
                .await?;
            let calldata = batch.len() + cert.len();
            let receipt = rollup.postBatch(Bytes::from(batch), Bytes::from(cert)).send().await?.get_receipt().await?;
            let total = gas(receipt, "postBatch").await;
            if chain.height == d.parameters.sequencer_start_height + 1 {
                continue; // the warm-up batch
            }
            rows.push(Row {
                operation: format!("postBatch, committee of {n}, {signing} signers"),
                gas: total,
                note: format!("1 level, 4 txs of 100 B, {calldata} B of batch+certificate; verify alone {verify_gas} gas"),
            });
        }
        if n == 128 {
            // A handover to another committee of 128, certified by a bare quorum.
            let next = committee::Committee {
                epoch: 1,
                members: committee::dev_keys("gas-128-next", 128).iter().map(|k| (k.public_key(), 1)).collect(),
            }
            .to_l1();
            let digest = protocol::sequencer::handover_digest(d.parameters.sequencer_chain_id, &next);
            let sigs: Vec<_> = (0..86).map(|i| (i, keys[i].sign(&digest))).collect();
            let cert = Certificate::aggregate(n, &sigs)?.to_l1_bytes();
            let verifier = CommitteeVerifier::new(AAddress::from(d.verifier.address.0), &provider);
            let receipt = verifier.handover(Bytes::from(next.encode()), Bytes::from(cert)).send().await?.get_receipt().await?;
            rows.push(Row {
                operation: "handover, 128 to 128 members".into(),
                gas: gas(receipt, "handover").await,
                note: "checks 128 keys (G1MSM), writes the 17 KB stake table as code".into(),
            });
        }
        if n == 4 {
            let receipt = provider
                .get_transaction_receipt(FixedBytes::from(d.origination_tx.0))
                .await?
                .ok_or_else(|| anyhow::anyhow!("no origination receipt"))?;
            rows.push(Row { operation: "originate (RollupFactory.originate)".into(), gas: gas(receipt, "originate").await, note: "deploys the ~20 KB Rollup".into() });
        }
    }

    // ---- Everything else, on a permissionless rollup (no verifier cost).
    let mut c = base.clone();
    c.l1.factory = factory;
    c.verifier.kind = VerifierKind::Permissionless;
    c.rollup.salt = Hash32([0xee; 32]);
    c.rollup.commitment_period = 4;
    let d = deploy(&c, &key).await?;
    let rollup = Rollup::new(AAddress::from(d.rollup.0), &provider);
    let mut chain = Chain::new(&d);

    let ten_eth = U256::from(10u64).pow(U256::from(19u64));
    let receipt = rollup.depositEth(Bytes::from(vec![7u8; 100])).value(ten_eth).send().await?.get_receipt().await?;
    rows.push(Row { operation: "depositEth, the rollup's first".into(), gas: gas(receipt, "deposit").await, note: "10 ETH, 100-byte payload; fills zero slots".into() });
    let receipt = rollup.depositEth(Bytes::from(vec![7u8; 100])).value(ten_eth).send().await?.get_receipt().await?;
    rows.push(Row { operation: "depositEth".into(), gas: gas(receipt, "deposit").await, note: "10 ETH, 100-byte payload".into() });
    let receipt = rollup.sendMessage(Bytes::from(vec![7u8; 100])).send().await?.get_receipt().await?;
    rows.push(Row { operation: "sendMessage".into(), gas: gas(receipt, "sendMessage").await, note: "100-byte payload".into() });

    for (levels, txs) in [(1usize, 0usize), (1, 0), (1, 4), (10, 4)] {
        let head = provider.get_block_number().await?;
        let batch = chain.batch(levels, txs, 100, head, 3);
        let len = batch.len();
        let receipt = rollup.postBatch(Bytes::from(batch), Bytes::new()).send().await?.get_receipt().await?;
        let used = gas(receipt, "postBatch").await;
        if chain.height == d.parameters.sequencer_start_height + 1 {
            continue; // the warm-up batch (see above)
        }
        rows.push(Row {
            operation: format!("postBatch, no verifier, {levels} level(s)"),
            gas: used,
            note: format!("{txs} txs of 100 B per level, {len} B of batch"),
        });
    }
    provider.raw_request::<_, serde_json::Value>("anvil_mine".into(), (Some(U64::from(d.parameters.delayed_inclusion_timeout_blocks + 1)), None::<U64>)).await?;
    rollup.sendMessage(Bytes::from(vec![1u8; 10])).send().await?.get_receipt().await?;
    provider.raw_request::<_, serde_json::Value>("anvil_mine".into(), (Some(U64::from(d.parameters.delayed_inclusion_timeout_blocks + 1)), None::<U64>)).await?;
    let receipt = rollup.forceInclusion(4).send().await?.get_receipt().await?;
    rows.push(Row { operation: "forceInclusion".into(), gas: gas(receipt, "forceInclusion").await, note: "one overdue message".into() });

    // A state whose outbox holds seven withdrawals at level 3.
    let recipient = Address([0x42; 20]);
    let msgs: Vec<Vec<u8>> = (0..7u128)
        .map(|i| OutboxMessage { calls: vec![L1Call { destination: recipient, value: Wei::from_u128(1_000 + i), data: vec![] }] }.encode())
        .collect();
    let mut tree = OutboxTree::new();
    tree.set_level(3, &msgs);
    let pvm_root = Hash32([3; 32]);
    let state = state_hash(&pvm_root, &Hash32(tree.root()));
    let first = IRollup::Commitment {
        predecessor: FixedBytes::from(d.genesis_commitment.0),
        stateHash: FixedBytes::from(state.0),
        inboxLevel: 4,
        numberOfTicks: 1_000_000,
    };
    let stake = U256::from_be_bytes(d.parameters.stake_wei.0);
    let receipt = rollup.publish(first.clone()).value(stake).send().await?.get_receipt().await?;
    rows.push(Row { operation: "publish, first commitment".into(), gas: gas(receipt, "publish").await, note: "deposits the stake".into() });
    let first_hash = protocol::Commitment { predecessor: d.genesis_commitment, state_hash: state, inbox_level: 4, number_of_ticks: 1_000_000 }.hash();
    let second = IRollup::Commitment { predecessor: FixedBytes::from(first_hash.0), stateHash: FixedBytes::from([5u8; 32]), inboxLevel: 8, numberOfTicks: 1_000_000 };
    let receipt = rollup.publish(second).send().await?.get_receipt().await?;
    rows.push(Row { operation: "publish, next commitment".into(), gas: gas(receipt, "publish").await, note: "same stake".into() });
    let joiner_provider = l1_bindings::connect(anvil.endpoint_url(), anvil.keys()[1].clone().into());
    let receipt = Rollup::new(AAddress::from(d.rollup.0), &joiner_provider).publish(first.clone()).value(stake).send().await?.get_receipt().await?;
    rows.push(Row { operation: "publish, joining a commitment".into(), gas: gas(receipt, "publish").await, note: "a second staker".into() });
    provider.raw_request::<_, serde_json::Value>("anvil_mine".into(), (Some(U64::from(d.parameters.challenge_window_blocks)), None::<U64>)).await?;
    let receipt = rollup.cement(first).send().await?.get_receipt().await?;
    rows.push(Row { operation: "cement".into(), gas: gas(receipt, "cement").await, note: "no rival".into() });

    let leaves: Vec<[u8; 32]> = msgs.iter().map(|m| protocol::keccak256(m)).collect();
    let proof = IRollup::OutboxProof {
        pvmRoot: FixedBytes::from(pvm_root.0),
        level: 3,
        index: 2,
        count: 7,
        messagePath: merkle::proof(&leaves, 2).unwrap().into_iter().map(FixedBytes::from).collect(),
        slotPath: tree.slot_path(3).into_iter().map(FixedBytes::from).collect(),
    };
    let receipt = rollup.executeOutboxMessage(FixedBytes::from(first_hash.0), proof, Bytes::from(msgs[2].clone())).send().await?.get_receipt().await?;
    rows.push(Row {
        operation: "executeOutboxMessage".into(),
        gas: gas(receipt, "executeOutboxMessage").await,
        note: "a withdrawal (one call), 7 messages in the level, 20-deep slot path".into(),
    });
    let receipt = Rollup::new(AAddress::from(d.rollup.0), &joiner_provider).recoverStake().send().await?.get_receipt().await?;
    rows.push(Row { operation: "recoverStake".into(), gas: gas(receipt, "recoverStake").await, note: "head cemented".into() });

    // ---- Print and write.
    let mut md = String::from("# L1 gas (anvil, Prague)\n\n`cargo run -p rollup-deploy --example l1_gas`\n\n| operation | gas | notes |\n|---|---:|---|\n");
    for r in &rows {
        md.push_str(&format!("| {} | {} | {} |\n", r.operation, r.gas, r.note));
    }
    print!("{md}");
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("l1-gas.md"), &md)?;
    let json: Vec<_> = rows.iter().map(|r| serde_json::json!({ "operation": r.operation, "gas": r.gas, "notes": r.note })).collect();
    std::fs::write(out_dir.join("l1-gas.json"), serde_json::to_string_pretty(&json)? + "\n")?;
    eprintln!("written to {}", out_dir.join("l1-gas.{md,json}").display());
    Ok(())
}
