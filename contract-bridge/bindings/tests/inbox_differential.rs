//! The Rust replay of the inbox (`protocol::l1_batch::InboxState`) against the Solidity inbox on
//! a live anvil: random valid batches, random corruptions of them, delayed messages and forced
//! inclusions. For every operation Rust predicts accept or reject and the resulting accumulator;
//! the contract must agree, and its state must equal the replay after every step.

use alloy::primitives::{Address, Bytes, FixedBytes, U256, U64};
use alloy::providers::Provider;
use l1_bindings::{IRollup, PermissionlessVerifier, Rollup, RollupFactory};
use protocol::l1_batch::{delayed_hint_for, Batch, BatchError, BatchLevel, InboxRules, InboxState};
use protocol::sequencer::{tx_root, BlockHeader, NsEntry, NsTable};
use protocol::Hash32;

mod common;
use common::Rng;

const CHAIN_ID: u64 = 77;
const NAMESPACE: u64 = 1000;
const TIMEOUT: u64 = 4;

fn random_block(rng: &mut Rng, parent: Hash32, height: u64, l1_block: u64, delayed: &[u64]) -> BatchLevel {
    // A table of a few namespaces, ours present about two times in three.
    let mut entries = Vec::new();
    let mut txs = Vec::new();
    for ns in [NAMESPACE - 7, NAMESPACE, NAMESPACE + 3] {
        if ns == NAMESPACE {
            if rng.below(3) == 0 {
                continue;
            }
            let n = 1 + rng.below(4) as usize;
            for _ in 0..n {
                let len = match rng.below(10) {
                    0 => 0,
                    1 => 4095,
                    _ => rng.below(200) as usize,
                };
                txs.push(rng.bytes(len));
            }
            entries.push(NsEntry { namespace: ns, tx_count: n as u32, tx_root: tx_root(&txs) });
        } else if rng.below(2) == 0 {
            entries.push(NsEntry { namespace: ns, tx_count: 1 + rng.below(9) as u32, tx_root: Hash32(rng.next().to_be_bytes().repeat(4).try_into().unwrap()) });
        }
    }
    let ns_table = NsTable { entries };
    let header = BlockHeader {
        chain_id: CHAIN_ID,
        height,
        view: rng.below(1000),
        timestamp_ms: 1_700_000_000_000 + rng.below(1 << 30),
        l1_block,
        parent,
        payload_root: ns_table.payload_root(),
    };
    BatchLevel { header, ns_table, delayed_through: delayed_hint_for(delayed, l1_block), transactions: txs }
}

fn corrupt(rng: &mut Rng, bytes: &mut Vec<u8>) -> &'static str {
    match rng.below(4) {
        0 => {
            let i = rng.below(bytes.len() as u64) as usize;
            bytes[i] ^= 1 + rng.below(255) as u8;
            "flipped byte"
        }
        1 => {
            let keep = rng.below(bytes.len() as u64) as usize;
            bytes.truncate(keep);
            "truncated"
        }
        2 => {
            bytes.push(rng.next() as u8);
            "trailing byte"
        }
        _ => {
            // Flip a byte in the header region of the first level (chain, height, view, time,
            // L1 block, parent): some of these are still valid blocks.
            let i = 4 + rng.below(104) as usize;
            bytes[i] ^= 1;
            "header byte"
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_replay_agrees_with_the_contract() {
    let seed = std::env::var("INBOX_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_u64);
    let mut rng = Rng(seed);
    let (anvil, provider) = common::anvil();

    let verifier = PermissionlessVerifier::deploy(&provider).await.expect("deploy verifier");
    let oracle = l1_bindings::osp::PreimageOracle::deploy(&provider).await.expect("deploy the preimage oracle");
    let host = l1_bindings::osp::OspHostCalls::deploy(&provider, *oracle.address()).await.expect("deploy the host-call verifier");
    let osp = l1_bindings::osp::OneStepProof::deploy(&provider, *host.address()).await.expect("deploy the one-step verifier");
    let factory = RollupFactory::deploy(&provider, *osp.address()).await.expect("deploy factory");
    let start = Hash32([0xab; 32]);
    let config = IRollup::Config {
        kernelRevealHash: FixedBytes::from([1u8; 32]),
        kernelValueHash: FixedBytes::from([3u8; 32]),
        kernelModuleRoot: FixedBytes::from([4u8; 32]),
        genesisStateHash: FixedBytes::from([2u8; 32]),
        tickBudget: 1_000_000_000,
        commitmentPeriod: 4,
        challengeWindow: 10,
        stakeAmount: U256::from(10u64).pow(U256::from(18u64)),
        sectionsPerDissection: 32,
        timeoutPerPlayer: 100,
        maxActiveOutboxLevels: 1024,
        verifier: *verifier.address(),
        sequencerNamespace: NAMESPACE,
        sequencerChainId: CHAIN_ID,
        sequencerStartBlockHash: FixedBytes::from(start.0),
        sequencerStartHeight: 500,
        delayedInclusionTimeout: TIMEOUT,
        gameResolver: Address::ZERO, // the factory deploys the game
    };
    let me = anvil.addresses()[0];
    let addr = factory.rollupAddress(me, config.clone().into(), FixedBytes::ZERO).call().await.unwrap();
    factory.originate(config.clone().into(), FixedBytes::ZERO).send().await.unwrap().get_receipt().await.unwrap();
    let rollup = Rollup::new(addr, &provider);

    let rules = InboxRules { sequencer_chain_id: CHAIN_ID, namespace: NAMESPACE, delayed_inclusion_timeout: TIMEOUT };
    let mut state = InboxState::at_origination(start, 500);
    let mut delayed: Vec<u64> = Vec::new();
    let (mut accepted, mut rejected, mut corrupt_accepted) = (0, 0, 0);

    for step in 0..200 {
        match rng.below(10) {
            // Enqueue delayed messages (and sometimes deposits).
            0 | 1 => {
                let len = rng.below(64) as usize;
                let payload = Bytes::from(rng.bytes(len));
                let receipt = if rng.below(2) == 0 {
                    rollup.sendMessage(payload).send().await.unwrap().get_receipt().await.unwrap()
                } else {
                    rollup.depositEth(payload).value(U256::from(1 + rng.below(1000))).send().await.unwrap().get_receipt().await.unwrap()
                };
                delayed.push(receipt.block_number.unwrap());
            }
            // Let L1 blocks pass.
            2 => {
                let n = 1 + rng.below(6);
                provider
                    .raw_request::<_, serde_json::Value>("anvil_mine".into(), (Some(U64::from(n)), None::<U64>))
                    .await
                    .unwrap();
            }
            // Force waiting delayed messages in.
            3 => {
                if delayed.len() as u64 == state.delayed_included {
                    continue;
                }
                let through = state.delayed_included + 1 + rng.below(delayed.len() as u64 - state.delayed_included);
                let next_block = provider.get_block_number().await.unwrap() + 1;
                let mut predicted = state.clone();
                let expect = predicted.apply_forced(&rules, through, &delayed, next_block, 0);
                let sent = rollup.forceInclusion(through).send().await;
                match (expect, sent) {
                    (Ok(_), Ok(pending)) => {
                        let receipt = pending.get_receipt().await.unwrap();
                        assert!(receipt.status(), "step {step}: forced inclusion reverted on chain");
                        let block = provider.get_block_by_number(receipt.block_number.unwrap().into()).await.unwrap().unwrap();
                        let mut replay = state.clone();
                        let applied = replay.apply_forced(&rules, through, &delayed, block.header.number, block.header.timestamp).unwrap();
                        let ev = receipt.decoded_log::<Rollup::BatchPosted>().expect("BatchPosted");
                        assert_eq!(ev.accumulator.0, applied.accumulator.0, "step {step}: forced accumulator");
                        state = replay;
                        accepted += 1;
                    }
                    (Err(e), Err(err)) => {
                        let name = err.as_decoded_interface_error::<Rollup::RollupErrors>().map(|e| format!("{e:?}"));
                        assert!(name.is_some(), "step {step}: expected {e}, got an undecodable error {err}");
                        rejected += 1;
                    }
                    (Ok(_), Err(err)) => panic!("step {step}: Rust accepts a forced inclusion, the contract refuses: {err}"),
                    (Err(e), Ok(_)) => panic!("step {step}: Rust refuses a forced inclusion ({e}), the contract accepts"),
                }
            }
            // Post a batch, valid or corrupted.
            _ => {
                let head = provider.get_block_number().await.unwrap();
                let levels = 1 + rng.below(3) as usize;
                let mut blocks = Vec::new();
                let (mut parent, mut height) = (state.last_block_hash, state.last_height);
                for _ in 0..levels {
                    let l1_block = head.saturating_sub(rng.below(8));
                    let b = random_block(&mut rng, parent, height + 1, l1_block, &delayed);
                    parent = b.header.hash();
                    height += 1;
                    blocks.push(b);
                }
                let mut bytes = Batch { levels: blocks }.encode();
                let what = if rng.below(3) == 0 { corrupt(&mut rng, &mut bytes) } else { "valid" };
                let mut predicted = state.clone();
                let expect = Batch::decode(&bytes, NAMESPACE)
                    .map_err(BatchError::from)
                    .and_then(|b| predicted.apply_batch(&rules, &b, &delayed, head + 1));
                let sent = rollup.postBatch(Bytes::from(bytes.clone()), Bytes::new()).send().await;
                match (expect, sent) {
                    (Ok(applied), Ok(pending)) => {
                        let receipt = pending.get_receipt().await.unwrap();
                        assert!(receipt.status(), "step {step}: batch reverted on chain");
                        assert_eq!(receipt.block_number, Some(head + 1), "step {step}: mined in another block");
                        let ev = receipt.decoded_log::<Rollup::BatchPosted>().expect("BatchPosted");
                        assert_eq!(ev.batchIndex, applied.index);
                        assert_eq!(ev.firstLevel, applied.records[0].level);
                        assert_eq!(ev.levelCount as usize, applied.records.len());
                        assert_eq!(ev.batchRoot.0, applied.batch_root.0, "step {step}: batch root ({what})");
                        assert_eq!(ev.accumulator.0, applied.accumulator.0, "step {step}: accumulator ({what})");
                        assert_eq!(ev.delayedIncluded, predicted.delayed_included);
                        state = predicted;
                        accepted += 1;
                        if what != "valid" {
                            corrupt_accepted += 1;
                        }
                    }
                    (Err(_), Err(err)) => {
                        assert!(
                            err.as_decoded_interface_error::<Rollup::RollupErrors>().is_some(),
                            "step {step}: the contract's revert is not a named rollup error: {err}"
                        );
                        rejected += 1;
                    }
                    (Ok(_), Err(err)) => panic!("step {step}: Rust accepts a {what} batch, the contract refuses: {err}"),
                    (Err(e), Ok(_)) => panic!("step {step}: Rust refuses a {what} batch ({e}), the contract accepts"),
                }
            }
        }
        // After every step the contract's state is the replay's.
        let s = rollup.inboxState().call().await.unwrap();
        assert_eq!(s.level, state.level, "step {step}: level");
        assert_eq!(s.lastHeight, state.last_height, "step {step}: height");
        assert_eq!(s.lastBlockHash.0, state.last_block_hash.0, "step {step}: tip");
        assert_eq!(s.delayedIncluded, state.delayed_included, "step {step}: delayed included");
        assert_eq!(s.batchCount, state.batch_count, "step {step}: batches");
        assert_eq!(s.accumulator.0, state.accumulator.0, "step {step}: accumulator");
    }
    eprintln!("seed {seed:#x}: {accepted} appended ({corrupt_accepted} from corrupted bytes), {rejected} refused");
    assert!(accepted > 10 && rejected > 5, "the scenario exercised too little");
}
