//! The Rust `protocol` crate against the Solidity `ProtocolCodec`, running on a real anvil: the
//! same random values must encode, hash and verify identically on both sides.

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address as AAddress, Bytes, FixedBytes};
use alloy::providers::ProviderBuilder;
use l1_bindings::{toolchain, ProtocolCodecProbe};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use protocol::outbox::{L1Call, OutboxMessage, OutboxProof, OutboxTree};
use protocol::l1_batch::{self, LevelRecord};
use protocol::{merkle, Address, Commitment, Hash32, Transfer, Wei};

#[tokio::test(flavor = "multi_thread")]
async fn solidity_codec_agrees_with_rust() {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let provider = ProviderBuilder::new().wallet(alloy::signers::local::PrivateKeySigner::from(anvil.keys()[0].clone())).connect_http(anvil.endpoint_url());
    let probe = ProtocolCodecProbe::deploy(&provider).await.expect("deploy probe");

    // Random cases generated in Rust, checked one by one on the L1.
    let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
    let strategy = (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u32>(),
        any::<u64>(),
        proptest::collection::vec((any::<[u8; 20]>(), any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 0..100)), 0..4),
        any::<usize>(),
        any::<u8>(),
    );
    let mut cases = Vec::new();
    for _ in 0..24 {
        cases.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    for (pred, state, level, ticks, calls, flip_at, flip) in cases {
        // Commitment hash.
        let c = Commitment { predecessor: Hash32(pred), state_hash: Hash32(state), inbox_level: level, number_of_ticks: ticks };
        let sol = probe.commitmentHash(pred.into(), state.into(), level, ticks).call().await.unwrap();
        assert_eq!(sol.0, c.hash().0);

        // Outbox message: canonical bytes accepted and decoded to the same calls...
        let msg = OutboxMessage {
            calls: calls.iter().map(|(d, v, data)| L1Call { destination: Address(*d), value: Wei(*v), data: data.clone() }).collect(),
        };
        let bytes = msg.encode();
        assert!(probe.isCanonicalOutboxMessage(Bytes::from(bytes.clone())).call().await.unwrap());
        let decoded = probe.decodeOutboxMessage(Bytes::from(bytes.clone())).call().await.unwrap();
        assert_eq!(decoded.len(), msg.calls.len());
        for (d, c) in decoded.iter().zip(&msg.calls) {
            assert_eq!(d.destination, AAddress::from(c.destination.0));
            assert_eq!(d.value.to_be_bytes::<32>(), c.value.0);
            assert_eq!(d.data.to_vec(), c.data);
        }
        // ...and a corrupted copy is judged the same way by both sides.
        let mut corrupt = bytes.clone();
        let i = flip_at % corrupt.len();
        corrupt[i] ^= flip.max(1);
        let rust_ok = OutboxMessage::decode(&corrupt).is_ok();
        let sol_ok = probe.isCanonicalOutboxMessage(Bytes::from(corrupt)).call().await.unwrap();
        assert_eq!(rust_ok, sol_ok, "byte {i} flipped");
    }

    // Outbox proofs built by Rust verify on the L1.
    let mut tree = OutboxTree::new();
    let msgs: Vec<Vec<u8>> = (0..7u8).map(|i| OutboxMessage { calls: vec![L1Call { destination: Address([i; 20]), value: Wei::from_u128(i as u128), data: vec![] }] }.encode()).collect();
    tree.set_level(12, &msgs);
    let pvm_root = Hash32([5; 32]);
    let state = protocol::commitment::state_hash(&pvm_root, &Hash32(tree.root()));
    let leaves: Vec<[u8; 32]> = msgs.iter().map(|m| protocol::keccak256(m)).collect();
    for index in [0u32, 3, 6] {
        let proof = OutboxProof {
            pvm_root,
            level: 12,
            index,
            count: 7,
            message_path: merkle::proof(&leaves, index as usize).unwrap(),
            slot_path: tree.slot_path(12),
        };
        assert_eq!(proof.state_hash_for(&msgs[index as usize]), Some(state));
        let sol = probe
            .outboxStateHash(
                pvm_root.0.into(),
                12,
                index,
                7,
                proof.message_path.iter().map(|p| FixedBytes::from(*p)).collect(),
                proof.slot_path.iter().map(|p| FixedBytes::from(*p)).collect(),
                Bytes::from(msgs[index as usize].clone()),
            )
            .call()
            .await
            .unwrap();
        assert_eq!(sol.0, state.0);
    }

    // The inbox hashes (docs/protocol.md 6): level records, batch roots, the accumulator,
    // forced-level block hashes and delayed-message hashes, on random values.
    let mut runner = TestRunner::new(Config { cases: 16, ..Config::default() });
    let inbox = (
        (any::<u32>(), any::<u64>(), any::<[u8; 32]>(), any::<u64>(), any::<u64>(), any::<u32>(), any::<[u8; 32]>()),
        proptest::collection::vec(any::<[u8; 32]>(), 0..20),
        (any::<[u8; 20]>(), any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 0..200)),
    );
    for _ in 0..16 {
        let ((level, ts, bh, start, end, count, root), leaves, (sender, value, payload)) =
            inbox.new_tree(&mut runner).unwrap().current();
        let rec = LevelRecord {
            level,
            timestamp_ms: ts,
            block_hash: Hash32(bh),
            delayed_start: start,
            delayed_end: end,
            tx_count: count,
            tx_root: Hash32(root),
        };
        let sol = probe.levelRecordHash(level, ts, bh.into(), start, end, count, root.into()).call().await.unwrap();
        assert_eq!(sol.0, rec.hash().0);
        let sol = probe.accumulate(bh.into(), root.into(), level, count).call().await.unwrap();
        assert_eq!(sol.0, l1_batch::accumulate(&Hash32(bh), &Hash32(root), level, count).0);
        let sol = probe.forcedBlockHash(ts, start, end).call().await.unwrap();
        assert_eq!(sol.0, l1_batch::forced_block_hash(ts, start, end).0);
        let sol = probe.merkleRoot(leaves.iter().map(|l| FixedBytes::from(*l)).collect()).call().await.unwrap();
        assert_eq!(sol.0, merkle::root(&leaves));
        let t = Transfer { sender: Address(sender), value: Wei(value), payload: payload.clone() };
        let sol = probe.delayedMessageHash(AAddress::from(sender), alloy::primitives::U256::from_be_bytes(value), Bytes::from(payload)).call().await.unwrap();
        assert_eq!(sol.0, l1_batch::delayed_message_hash(&t).0);
    }
}
