use std::sync::Arc;

use consensus::{Block, Limits, Payload};
use protocol::sequencer::BlockHeader;
use protocol::Hash32;
use sequencer_mempool::{tx_hash, Mempool, MempoolConfig, RejectReason};

fn block(payload: Payload) -> Arc<Block> {
    let h = BlockHeader { chain_id: 1, height: 1, view: 1, timestamp_ms: 0, l1_block: 0, parent: Hash32::ZERO, payload_root: Hash32::ZERO };
    Arc::new(Block::assemble(h, payload))
}

fn small() -> MempoolConfig {
    MempoolConfig { max_bytes: 1000, max_txs: 50, max_namespace_bytes: 400, max_tx_bytes: 100, remember_decided: 10, quantum_bytes: 100 }
}

#[test]
fn rejects_bad_and_duplicate_transactions() {
    let mut m = Mempool::new(small());
    assert_eq!(m.insert(1, b""), Err(RejectReason::Empty));
    assert!(matches!(m.insert(1, &[0u8; 101]), Err(RejectReason::TooLarge { size: 101, max: 100 })));
    let h = m.insert(1, b"a").unwrap();
    assert_eq!(h, tx_hash(1, b"a"));
    assert_eq!(m.insert(1, b"a"), Err(RejectReason::Duplicate(h)));
    // Same bytes in another namespace is another transaction.
    assert!(m.insert(2, b"a").is_ok());
}

#[test]
fn bounds_give_backpressure_per_namespace_and_globally() {
    let mut m = Mempool::new(small());
    for i in 0..4u8 {
        m.insert(1, &[i; 100]).unwrap();
    }
    // Namespace 1 holds its whole share (400 bytes)...
    assert_eq!(m.insert(1, &[9; 100]), Err(RejectReason::Full("this namespace's share")));
    // ...but others are still served.
    for i in 0..4u8 {
        m.insert(2, &[i; 100]).unwrap();
    }
    m.insert(3, &[0; 100]).unwrap();
    m.insert(3, &[1; 100]).unwrap();
    // 1000 bytes total: the pool is full for everyone.
    assert_eq!(m.insert(4, &[0; 1]), Err(RejectReason::Full("bytes")));
    assert_eq!(m.stats().waiting_bytes, 1000);
}

#[test]
fn blocks_share_space_fairly_between_namespaces() {
    let mut m = Mempool::new(MempoolConfig { max_namespace_bytes: 100_000, max_bytes: 1 << 20, max_txs: 10_000, ..small() });
    // Namespace 1 floods, namespace 2 sends a little.
    for i in 0..500u32 {
        m.insert(1, &i.to_be_bytes().repeat(10)).unwrap();
    }
    for i in 0..5u32 {
        m.insert(2, &i.to_be_bytes().repeat(10)).unwrap();
    }
    let limits = Limits { max_block_bytes: 400, max_block_txs: 1000, max_tx_bytes: 100 };
    let p = m.select(&limits);
    assert!(p.byte_len() <= 400);
    // Both namespaces got a share; namespace 2 got all it had (5 × 40 = 200 bytes).
    assert_eq!(p.namespace(2).len(), 5);
    assert_eq!(p.namespace(1).len(), 5);
}

#[test]
fn follows_proposals_abandonment_and_decisions() {
    let mut m = Mempool::new(small());
    for i in 0..3u8 {
        m.insert(7, &[i; 10]).unwrap();
    }
    let limits = Limits { max_block_bytes: 1000, max_block_txs: 100, max_tx_bytes: 100 };
    let p = m.select(&limits);
    assert_eq!(p.tx_count(), 3);
    // Selecting does not remove: a second leader attempt sees the same transactions.
    assert_eq!(m.select(&limits).tx_count(), 3);
    let b = block(p);
    m.included(&b);
    assert!(!m.has_waiting());
    assert_eq!(m.select(&limits).tx_count(), 0);
    // Still known while in a pending block.
    assert!(matches!(m.insert(7, &[0; 10]), Err(RejectReason::Duplicate(_))));
    m.abandoned(&b);
    assert_eq!(m.stats().waiting_txs, 3);
    let again = m.select(&limits);
    assert_eq!(again.namespace(7), b.payload().namespace(7), "order kept after abandonment");
    let b2 = block(again);
    m.included(&b2);
    m.decided(&b2);
    assert_eq!(m.stats(), Default::default());
    // Remembered after decision.
    assert!(matches!(m.insert(7, &[1; 10]), Err(RejectReason::Duplicate(_))));
}

#[test]
fn transactions_seen_only_in_blocks_are_deduplicated() {
    let mut m = Mempool::new(small());
    let b = block(Payload::from_transactions([(5u64, b"from elsewhere".to_vec())]));
    m.included(&b);
    assert!(matches!(m.insert(5, b"from elsewhere"), Err(RejectReason::Duplicate(_))));
    m.decided(&b);
    assert!(matches!(m.insert(5, b"from elsewhere"), Err(RejectReason::Duplicate(_))));
}

proptest::proptest! {
    #[test]
    fn accounting_never_drifts(ops in proptest::collection::vec((0u8..4, 0u64..3, 1usize..60), 1..200)) {
        let mut m = Mempool::new(small());
        let limits = Limits { max_block_bytes: 300, max_block_txs: 10, max_tx_bytes: 100 };
        let mut pending: Vec<Arc<Block>> = Vec::new();
        let mut n = 0u32;
        for (op, ns, len) in ops {
            match op {
                0 | 1 => {
                    n += 1;
                    let mut tx = n.to_be_bytes().to_vec();
                    tx.resize(len.max(4), 1);
                    if m.insert(ns, &tx).is_ok() {
                        // An admission never takes the pool past its bounds.
                        let s = m.stats();
                        proptest::prop_assert!(s.waiting_bytes <= 1000 && s.waiting_txs <= 50);
                    }
                }
                2 => { let b = block(m.select(&limits)); proptest::prop_assert!(b.payload().byte_len() <= 300); m.included(&b); pending.push(b); }
                _ => if let Some(b) = pending.pop() { if len % 2 == 0 { m.decided(&b) } else { m.abandoned(&b) } },
            }
            // Abandoned blocks bring their (already admitted) transactions back even past the
            // bounds: at most the pending blocks' contents on top.
            let s = m.stats();
            let pending_bytes: usize = pending.iter().map(|b| b.payload().byte_len()).sum();
            proptest::prop_assert!(s.waiting_bytes <= 1000 + 300 * 200 + pending_bytes);
        }
        for b in pending { m.abandoned(&b); }
        // Everything left is selectable.
        let s = m.stats();
        let big = Limits { max_block_bytes: 1 << 20, max_block_txs: 100_000, max_tx_bytes: 100 };
        let all = m.select(&big);
        proptest::prop_assert_eq!(all.tx_count(), s.waiting_txs);
        proptest::prop_assert_eq!(all.byte_len(), s.waiting_bytes);
    }
}
