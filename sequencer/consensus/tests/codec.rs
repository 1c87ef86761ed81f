//! The wire formats: every message round-trips, and no byte string (random, truncated,
//! corrupted) makes a decoder panic or accept a non-canonical encoding.

use std::sync::Arc;

use committee::dev_keys;
use consensus::message::{proposal_digest, timeout_digest, vote_digest};
use consensus::{
    Advance, Block, BlockRecord, Bls, FinalityCert, FinalityVote, Limits, Message, Payload, Proposal, QuorumCert, Request, Response,
    Scheme, Timeout, TimeoutCert, Vote, WireContext,
};
use proptest::prelude::*;
use protocol::sequencer::{finality_digest, BlockHeader};
use protocol::Hash32;

const N: usize = 4;

fn ctx() -> WireContext {
    WireContext { members: N, limits: Limits { max_block_bytes: 10_000, max_block_txs: 100, max_tx_bytes: 4095 } }
}

fn block(view: u64, txs: Vec<(u64, Vec<u8>)>) -> Arc<Block> {
    let h = BlockHeader { chain_id: 3, height: view, view, timestamp_ms: 5, l1_block: 2, parent: Hash32([7; 32]), payload_root: Hash32::ZERO };
    Arc::new(Block::assemble(h, Payload::from_transactions(txs)))
}

fn samples() -> Vec<Message<Bls>> {
    let keys = dev_keys("codec", N);
    let b = block(9, vec![(1, b"a".to_vec()), (2, vec![0; 300]), (1, b"bc".to_vec())]);
    let votes: Vec<(u16, committee::Signature)> =
        (0..3).map(|i| (i as u16, Bls::sign(&keys[i], &vote_digest(3, 8, 8, &Hash32([7; 32]))))).collect();
    let qc = QuorumCert::<Bls> { view: 8, height: 8, block: Hash32([7; 32]), cert: Bls::aggregate(N, &votes) };
    let tsigs: Vec<(u16, committee::Signature)> =
        (1..4).map(|i| (i as u16, Bls::sign(&keys[i], &timeout_digest(3, 9, 5 + i as u64)))).collect();
    let tc = TimeoutCert::<Bls> { view: 9, high_qc_views: vec![(1, 6), (2, 7), (3, 8)], high_qc: qc.clone(), cert: Bls::aggregate(N, &tsigs).unwrap() };
    let fsigs: Vec<(u16, committee::Signature)> = (0..4).map(|i| (i as u16, Bls::sign(&keys[i], &finality_digest(3, 9, &b.hash())))).collect();
    vec![
        Message::Proposal(Proposal {
            block: b.clone(),
            justify: qc.clone(),
            tc: Some(tc.clone()),
            signature: Bls::sign(&keys[0], &proposal_digest(3, 9, &b.hash())),
        }),
        Message::Proposal(Proposal { block: block(1, vec![]), justify: QuorumCert::genesis(&Hash32([7; 32])), tc: None, signature: votes[0].1 }),
        Message::Vote(Vote { view: 9, height: 9, block: b.hash(), signer: 2, signature: votes[1].1 }),
        Message::Timeout(Timeout { view: 9, high_qc: qc.clone(), signer: 3, signature: tsigs[0].1 }),
        Message::Advance(Advance { high_qc: qc.clone(), tc: Some(tc) }),
        Message::Advance(Advance { high_qc: qc, tc: None }),
        Message::Finality(FinalityVote { height: 9, block: b.hash(), signer: 1, signature: fsigs[1].1 }),
        Message::FinalityCert(FinalityCert { height: 9, block: b.hash(), cert: Bls::aggregate(N, &fsigs).unwrap() }),
    ]
}

#[test]
fn every_message_round_trips() {
    for m in samples() {
        let bytes = m.encode();
        assert_eq!(Message::<Bls>::decode(&bytes, &ctx()).unwrap(), m, "{}", m.kind());
    }
    for r in [Request::Blocks { hash: Hash32([1; 32]), max: 64 }, Request::Certificates { from: 5, max: 256 }] {
        assert_eq!(Request::decode(&r.encode()).unwrap(), r);
    }
    let rec = BlockRecord::<Bls> { block: block(2, vec![(4, b"x".to_vec())]), justify: QuorumCert::genesis(&Hash32([7; 32])) };
    let resp = Response::<Bls>::Blocks(vec![rec.clone(), rec]);
    assert_eq!(Response::<Bls>::decode(&resp.encode(), &ctx()).unwrap(), resp);
    let Message::FinalityCert(c) = samples().pop().unwrap() else { unreachable!() };
    let resp = Response::<Bls>::Certificates(vec![c]);
    assert_eq!(Response::<Bls>::decode(&resp.encode(), &ctx()).unwrap(), resp);
}

#[test]
fn limits_and_commitments_are_enforced_on_decode() {
    let limits = ctx().limits;
    // Over the block byte limit.
    let big = Message::<Bls>::Proposal(Proposal {
        block: block(1, (0..4).map(|i| (i, vec![1; 3000])).collect()),
        justify: QuorumCert::genesis(&Hash32::ZERO),
        tc: None,
        signature: Bls::sign(&dev_keys("codec", 1)[0], &[0; 32]),
    });
    assert!(Message::<Bls>::decode(&big.encode(), &ctx()).is_err());
    assert!(Message::<Bls>::decode(&big.encode(), &WireContext { limits: Limits { max_block_bytes: 20_000, ..limits }, ..ctx() }).is_ok());
    // A header whose payload_root does not match the payload.
    let Message::Proposal(mut p) = samples().remove(0) else { unreachable!() };
    let mut h = *p.block.header();
    h.payload_root = Hash32([1; 32]);
    assert!(Block::new(h, p.block.payload().clone()).is_err());
    let mut bytes = Message::Proposal(p.clone()).encode();
    bytes[1 + 72..1 + 104].copy_from_slice(&[1; 32]);
    assert!(Message::<Bls>::decode(&bytes, &ctx()).is_err());
    // An empty transaction, a signer outside the committee.
    p.block = Arc::new(Block::assemble(*p.block.header(), Payload::from_transactions([(1, vec![])])));
    assert!(Message::<Bls>::decode(&Message::Proposal(p).encode(), &ctx()).is_err());
    let Message::Vote(mut v) = samples().remove(2) else { unreachable!() };
    v.signer = N as u16;
    assert!(Message::<Bls>::decode(&Message::Vote(v).encode(), &ctx()).is_err());
    // A timeout certificate whose QC is not of its signers' highest reported view.
    let Message::Advance(mut a) = samples().remove(4) else { unreachable!() };
    assert!(Message::<Bls>::decode(&Message::Advance(a.clone()).encode(), &ctx()).is_ok());
    a.tc.as_mut().unwrap().high_qc.view = 7;
    assert!(Message::<Bls>::decode(&Message::Advance(a).encode(), &ctx()).is_err());
    // A bitmap with bits past the committee.
    let Message::FinalityCert(mut c) = samples().pop().unwrap() else { unreachable!() };
    c.cert.bitmap[0] |= 0x80;
    assert!(Message::<Bls>::decode(&Message::FinalityCert(c).encode(), &ctx()).is_err());
}

#[test]
fn views_and_heights_beyond_the_bound_do_not_decode() {
    // Every view and height a peer sends is at most 2^48 (a view per millisecond for 8,900
    // years), so the replica's arithmetic on them cannot overflow.
    const BOUND: u64 = 1 << 48;
    let decodes = |m: &Message<Bls>| Message::<Bls>::decode(&m.encode(), &ctx()).is_ok();
    for (value, ok) in [(BOUND, true), (BOUND + 1, false), (u64::MAX, false)] {
        for m in samples() {
            let mut views = m.clone();
            let mut heights = m.clone();
            match (&mut views, &mut heights) {
                (Message::Proposal(a), Message::Proposal(b)) => {
                    let mut h = *a.block.header();
                    h.view = value;
                    a.block = Arc::new(Block::assemble(h, a.block.payload().clone()));
                    b.justify.height = value;
                }
                (Message::Vote(a), Message::Vote(b)) => (a.view, b.height) = (value, value),
                (Message::Timeout(a), Message::Timeout(b)) => (a.view, b.high_qc.view) = (value, value),
                (Message::Advance(a), Message::Advance(b)) => {
                    a.high_qc.view = value;
                    b.high_qc.height = value;
                    if let Some(tc) = &mut b.tc {
                        tc.view = value;
                    }
                }
                (Message::Finality(a), Message::Finality(b)) => (a.height, b.height) = (value, value),
                (Message::FinalityCert(a), Message::FinalityCert(b)) => (a.height, b.height) = (value, value),
                _ => unreachable!(),
            }
            assert_eq!(decodes(&views), ok, "{} with {value}", m.kind());
            assert_eq!(decodes(&heights), ok, "{} with {value}", m.kind());
        }
        let req = Request::Certificates { from: value, max: 1 };
        assert_eq!(Request::decode(&req.encode()).is_ok(), ok);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Message::<Bls>::decode(&bytes, &ctx());
        let _ = Request::decode(&bytes);
        let _ = Response::<Bls>::decode(&bytes, &ctx());
        let _ = BlockRecord::<Bls>::from_bytes(&bytes, &ctx());
    }

}

proptest! {
    // Each case decodes several BLS points (subgroup checks): fewer cases.
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn corrupted_messages_fail_cleanly_or_stay_canonical(which in 0usize..8, pos in any::<usize>(), byte in any::<u8>(), cut in any::<usize>(), op in 0u8..3) {
        let m = &samples()[which];
        let mut bytes = m.encode();
        match op {
            0 => { let i = pos % bytes.len(); bytes[i] = byte; }
            1 => { bytes.truncate(cut % bytes.len()); }
            _ => { bytes.push(byte); }
        }
        if let Ok(decoded) = Message::<Bls>::decode(&bytes, &ctx()) {
            // Whatever decodes is exactly what it re-encodes to (no two encodings of one message).
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }
}
