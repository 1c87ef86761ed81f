//! The bridge's L1 side against a live anvil with a deployed rollup: batches posted through the
//! bridge's own operations come back as levels with the right contents, duplicates are refused
//! before they cost gas, and an L1 reorg (anvil `evm_revert` to a snapshot, then new blocks) is
//! detected: the index rolls back, a consumer holding the old cursor is told to rewind, and the
//! new history is served.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::node_bindings::Anvil;
use alloy::primitives::{Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use bridge::api::RollupEvent;
use bridge::indexer::{Indexer, PageError, RollupInfo};
use bridge::ops::{OpError, Operations, Purpose};
use bridge::sender::{SenderConfig, TxSender};
use l1_bindings::toolchain;
use protocol::l1_batch::{Batch, BatchLevel};
use protocol::sequencer::{tx_root, BlockHeader, NsEntry, NsTable};
use protocol::Hash32;
use rollup_deploy::{deploy, DeployConfig, VerifierKind};

fn block(parent: Hash32, height: u64, l1_block: u64, txs: &[&[u8]]) -> BatchLevel {
    let txs: Vec<Vec<u8>> = txs.iter().map(|t| t.to_vec()).collect();
    let ns_table = if txs.is_empty() {
        NsTable::default()
    } else {
        NsTable { entries: vec![NsEntry { namespace: 7, tx_count: txs.len() as u32, tx_root: tx_root(&txs) }] }
    };
    let header = BlockHeader { chain_id: 3, height, view: height, timestamp_ms: height * 1000, l1_block, parent, payload_root: ns_table.payload_root() };
    // One deposit is enqueued before `l1_block` in this test.
    BatchLevel { header, ns_table, delayed_through: 1, transactions: txs }
}

#[tokio::test(flavor = "multi_thread")]
async fn levels_duplicates_and_reorgs() {
    let anvil = Anvil::at(toolchain::anvil()).arg("--hardfork").arg("prague").spawn();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DeployConfig::default();
    cfg.l1.rpc_url = anvil.endpoint();
    cfg.verifier.kind = VerifierKind::Permissionless;
    cfg.rollup.kernel_reveal_hash = Some(format!("00{}", "cd".repeat(32)));
    cfg.rollup.kernel_value_hash = Some(protocol::Hash32([0x11; 32]));
    cfg.rollup.kernel_module_root = Some(protocol::Hash32([0x22; 32]));
    cfg.rollup.genesis_state_hash = Some(Hash32([5; 32]));
    cfg.rollup.namespace = 7;
    cfg.rollup.sequencer_chain_id = 3;
    cfg.output.deployment_json = dir.path().join("deployment.json");
    let key = |i: usize| format!("0x{}", alloy::hex::encode(anvil.keys()[i].to_bytes()));
    let d = deploy(&cfg, &key(0)).await.expect("deploy");

    let reader = ProviderBuilder::new().connect_http(anvil.endpoint_url()).erased();
    let info = RollupInfo::fetch(&reader, d.rollup.0.into()).await.unwrap();
    let indexer = Indexer::new(reader.clone(), info, 0);
    let poster: PrivateKeySigner = anvil.keys()[1].clone().into();
    let sender = TxSender::connect(&anvil.endpoint(), poster, SenderConfig::default()).await.unwrap();
    let ops = Operations::new(d.rollup.0.into(), reader.clone(), HashMap::from([(Purpose::Post, Arc::new(sender))]));

    // A user deposits, then two batches are posted.
    let user = ProviderBuilder::new().wallet(PrivateKeySigner::from(anvil.keys()[2].clone())).connect_http(anvil.endpoint_url());
    let rollup = l1_bindings::Rollup::new(d.rollup.0.into(), &user);
    rollup.depositEth(Bytes::from(vec![0xaa; 32])).value(U256::from(5)).send().await.unwrap().get_receipt().await.unwrap();
    let head = reader.get_block_number().await.unwrap();
    let b1 = block(Hash32::ZERO, 1, head, &[b"one", b"two"]);
    let h1 = b1.header.hash();
    let posted = ops.post_batch(Batch { levels: vec![b1.clone()] }.encode().into(), Bytes::new()).await.unwrap();
    assert_eq!((posted.first_level, posted.level_count), (1, 1));
    // Posting the same batch again is refused by simulation, with the contract's reason.
    match ops.post_batch(Batch { levels: vec![b1] }.encode().into(), Bytes::new()).await {
        Err(OpError::Refused { reason }) => assert!(reason.contains("Height") || reason.contains("Parent"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let snapshot: U256 = reader.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let b2 = block(h1, 2, head, &[b"three"]);
    ops.post_batch(Batch { levels: vec![b2] }.encode().into(), Bytes::new()).await.unwrap();

    while indexer.step().await.unwrap() {}
    let page = indexer.page(0, None, 10_000).await.unwrap();
    let levels: Vec<_> = page
        .events
        .iter()
        .filter_map(|e| match &e.event {
            RollupEvent::Levels { levels, .. } => Some(levels.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[0].transactions, vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]);
    assert_eq!((levels[0].delayed_start, levels[0].delayed_end), (0, 1), "the deposit is included in level 1");
    assert_eq!(levels[1].transactions, vec![Bytes::from_static(b"three")]);
    assert!(page.events.iter().any(|e| matches!(e.event, RollupEvent::DelayedMessage { index: 0, .. })));
    let old_cursor = (page.to_block, page.to_block_hash);

    // Reorg: drop the second batch's block and build a different history at the same heights.
    let _: bool = reader.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    let b2b = block(h1, 2, head, &[b"other"]);
    ops.post_batch(Batch { levels: vec![b2b] }.encode().into(), Bytes::new()).await.unwrap();
    let _: String = reader.raw_request("evm_mine".into(), ()).await.unwrap();
    while indexer.step().await.unwrap() {}

    // The consumer with the old cursor must rewind...
    match indexer.page(old_cursor.0 + 1, Some(old_cursor.1), 100).await {
        Err(PageError::Reorg { .. }) => {}
        other => panic!("expected a reorg answer, got {other:?}"),
    }
    // ...and the new history is served.
    let page = indexer.page(0, None, 10_000).await.unwrap();
    let txs: Vec<Bytes> = page
        .events
        .iter()
        .filter_map(|e| match &e.event {
            RollupEvent::Levels { levels, .. } => Some(levels.iter().flat_map(|l| l.transactions.clone()).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(txs, vec![Bytes::from_static(b"one"), Bytes::from_static(b"two"), Bytes::from_static(b"other")]);
    assert!(indexer.fault().is_none());
    assert_eq!(indexer.inbox().level, 2);
}
