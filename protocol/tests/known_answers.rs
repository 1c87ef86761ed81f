//! Known-answer tests: hash test vectors, ABI encodings checked against alloy's encoder, and the
//! fixed vectors the Solidity side checks too (contract-bridge/test/ProtocolCodec.t.sol).

use alloy_primitives::{Address as AAddress, Bytes, U256};
use alloy_sol_types::{sol, SolValue};
use protocol::hash::{blake2b_256, keccak256};
use protocol::merkle;
use protocol::outbox::{L1Call, OutboxMessage, OutboxProof, OutboxTree, OUTBOX_TREE_DEPTH};
use protocol::reveal::{split_into_pages, RevealHash, MAX_CONTENTS_PER_PAGE};
use protocol::sequencer::{finality_digest, tx_root, BlockHeader, NsEntry, NsTable};
use protocol::{Address, Commitment, Hash32, RollupMetadata, Wei};

sol! {
    struct SolL1Call { address destination; uint256 value; bytes data; }
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn blake2b_256_vectors() {
    // blake2b with a 32-byte digest (RFC 7693 parameters, digest length 32).
    assert_eq!(blake2b_256(b"").to_vec(), h("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"));
    assert_eq!(blake2b_256(b"abc").to_vec(), h("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"));
    assert_eq!(
        blake2b_256(b"The quick brown fox jumps over the lazy dog").to_vec(),
        h("01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9")
    );
}

#[test]
fn keccak256_vectors() {
    assert_eq!(keccak256(b"").to_vec(), h("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"));
    assert_eq!(keccak256(b"abc").to_vec(), h("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"));
}

#[test]
fn reveal_hash_is_tag_then_blake2b() {
    let r = RevealHash::of(b"abc");
    assert_eq!(r.0[0], 0x00);
    assert_eq!(r.0[1..].to_vec(), h("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"));
    // A single-page payload: the root is the hash of `00 || len || data`.
    let dag = split_into_pages(b"hello");
    assert_eq!(dag.pages.len(), 1);
    assert_eq!(dag.pages[0].1, h("000000000568656c6c6f"));
    assert_eq!(dag.root, RevealHash::of(&h("000000000568656c6c6f")));
    // Two leaves and one hashes page.
    let dag = split_into_pages(&vec![0u8; MAX_CONTENTS_PER_PAGE + 1]);
    assert_eq!(dag.pages.len(), 3);
    assert_eq!(dag.pages[2].1[0], 0x01);
    assert_eq!(&dag.pages[2].1[1..5], &66u32.to_be_bytes());
}

fn sample_calls() -> Vec<L1Call> {
    vec![
        L1Call { destination: Address([0x11; 20]), value: Wei::from_u128(1_000_000_000_000_000_000), data: vec![] },
        L1Call { destination: Address([0xab; 20]), value: Wei::ZERO, data: h("a9059cbb000000000000000000000000000000000000000000000000000000000000002a") },
        L1Call { destination: Address([0x01; 20]), value: Wei::from_u128(5), data: vec![0xff; 33] },
    ]
}

fn to_alloy(calls: &[L1Call]) -> Vec<SolL1Call> {
    calls
        .iter()
        .map(|c| SolL1Call {
            destination: AAddress::from(c.destination.0),
            value: U256::from_be_bytes(c.value.0),
            data: Bytes::from(c.data.clone()),
        })
        .collect()
}

#[test]
fn outbox_encoding_matches_alloy_abi_encode() {
    for n in 0..=sample_calls().len() {
        let calls = sample_calls()[..n].to_vec();
        let ours = OutboxMessage { calls: calls.clone() }.encode();
        // `abi.encode(calls)` is the parameter encoding of the 1-tuple `(calls,)`.
        let theirs = (to_alloy(&calls),).abi_encode_params();
        assert_eq!(ours, theirs, "{n} calls");
        // And alloy decodes ours.
        let back = <(Vec<SolL1Call>,)>::abi_decode_params(&ours).unwrap().0;
        assert_eq!(back.len(), n);
    }
}

/// The fixed vector the Solidity test decodes too: one ETH transfer of 1 ether to 0x11..11.
pub const WITHDRAWAL_VECTOR: &str = concat!(
    "0000000000000000000000000000000000000000000000000000000000000020",
    "0000000000000000000000000000000000000000000000000000000000000001",
    "0000000000000000000000000000000000000000000000000000000000000020",
    "0000000000000000000000001111111111111111111111111111111111111111",
    "0000000000000000000000000000000000000000000000000de0b6b3a7640000",
    "0000000000000000000000000000000000000000000000000000000000000060",
    "0000000000000000000000000000000000000000000000000000000000000000",
);

#[test]
fn withdrawal_vector() {
    let m = OutboxMessage { calls: sample_calls()[..1].to_vec() };
    assert_eq!(hex::encode(m.encode()), WITHDRAWAL_VECTOR);
}

#[test]
fn non_canonical_abi_is_rejected() {
    let good = h(WITHDRAWAL_VECTOR);
    // Dirty address bytes.
    let mut bad = good.clone();
    bad[96 + 11] = 1;
    assert!(OutboxMessage::decode(&bad).is_err());
    // Non-canonical head offset.
    let mut bad = good.clone();
    bad[31] = 0x40;
    assert!(OutboxMessage::decode(&bad).is_err());
    // Trailing word.
    let mut bad = good.clone();
    bad.extend_from_slice(&[0; 32]);
    assert!(OutboxMessage::decode(&bad).is_err());
    // Truncated.
    assert!(OutboxMessage::decode(&good[..good.len() - 1]).is_err());
}

#[test]
fn commitment_hash_is_keccak_of_packed_fields() {
    let c = Commitment { predecessor: Hash32([1; 32]), state_hash: Hash32([2; 32]), inbox_level: 7, number_of_ticks: 1_000 };
    let mut packed = vec![1u8; 32];
    packed.extend_from_slice(&[2; 32]);
    packed.extend_from_slice(&7u32.to_be_bytes());
    packed.extend_from_slice(&1_000u64.to_be_bytes());
    assert_eq!(c.hash().0, keccak256(&packed));
    // Same as alloy's abi.encodePacked(bytes32, bytes32, uint32, uint64).
    let alloy_packed = (
        alloy_primitives::B256::from([1; 32]),
        alloy_primitives::B256::from([2; 32]),
        7u32,
        1_000u64,
    )
        .abi_encode_packed();
    assert_eq!(alloy_packed, packed);
    assert_eq!(hex::encode(c.hash().0), hex::encode(keccak256(&alloy_packed)));
}

#[test]
fn metadata_layout() {
    let m = RollupMetadata { address: Address([0xaa; 20]), origination_level: 0x01020304 };
    let e = m.encode();
    assert_eq!(&e[..20], &[0xaa; 20]);
    assert_eq!(&e[20..], &[1, 2, 3, 4]);
}

#[test]
fn merkle_rule() {
    let a = keccak256(b"a");
    let b = keccak256(b"b");
    let c = keccak256(b"c");
    assert_eq!(merkle::root(&[]), [0u8; 32]);
    assert_eq!(merkle::root(&[a]), a);
    assert_eq!(merkle::root(&[a, b]), merkle::node(&a, &b));
    assert_eq!(merkle::root(&[a, b, c]), merkle::node(&merkle::node(&a, &b), &merkle::node(&c, &[0; 32])));
    for n in 1..40usize {
        let leaves: Vec<[u8; 32]> = (0..n).map(|i| keccak256(&i.to_be_bytes())).collect();
        let r = merkle::root(&leaves);
        for i in 0..n {
            let p = merkle::proof(&leaves, i).unwrap();
            assert!(merkle::verify(&leaves[i], i, n, &p, &r), "n={n} i={i}");
            assert!(!merkle::verify(&leaves[i], (i + 1) % n.max(2), n.max(2), &p, &r) || n == 1);
        }
    }
}

#[test]
fn outbox_tree_proofs_verify_against_the_state_hash() {
    let mut tree = OutboxTree::new();
    let empty_root = tree.root();
    assert_eq!(empty_root, merkle::zero_subtree(OUTBOX_TREE_DEPTH));
    let msgs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 40]).collect();
    tree.set_level(3, &msgs);
    tree.set_level(1 << 20 | 9, &msgs[..2]);
    let pvm_root = Hash32([9; 32]);
    let state = protocol::commitment::state_hash(&pvm_root, &Hash32(tree.root()));
    let leaves: Vec<[u8; 32]> = msgs.iter().map(|m| keccak256(m)).collect();
    for i in 0..5 {
        let proof = OutboxProof {
            pvm_root,
            level: 3,
            index: i,
            count: 5,
            message_path: merkle::proof(&leaves, i as usize).unwrap(),
            slot_path: tree.slot_path(3),
        };
        assert_eq!(proof.state_hash_for(&msgs[i as usize]), Some(state));
        assert_ne!(proof.state_hash_for(b"forged"), Some(state));
    }
    // Clearing both slots returns the tree to empty.
    tree.set_level(3, &[]);
    tree.set_level(1 << 20 | 9, &[]);
    assert_eq!(tree.root(), empty_root);
}

#[test]
fn sequencer_header_and_digest() {
    let txs: Vec<Vec<u8>> = vec![b"tx1".to_vec(), b"tx2".to_vec()];
    let table = NsTable { entries: vec![NsEntry { namespace: 42, tx_count: 2, tx_root: tx_root(&txs) }] };
    let header = BlockHeader {
        chain_id: 1,
        height: 10,
        view: 12,
        timestamp_ms: 1_700_000_000_000,
        l1_block: 100,
        parent: Hash32([3; 32]),
        payload_root: table.payload_root(),
    };
    assert_eq!(header.encode().len(), 104);
    let packed = (
        1u64,
        10u64,
        12u64,
        1_700_000_000_000u64,
        100u64,
        alloy_primitives::B256::from([3; 32]),
        alloy_primitives::B256::from(table.payload_root().0),
    )
        .abi_encode_packed();
    assert_eq!(header.encode().to_vec(), packed);
    let d = finality_digest(1, 10, &header.hash());
    let expected = keccak256(
        &[&keccak256(b"rollup.sequencer.finality.v1")[..], &1u64.to_be_bytes(), &10u64.to_be_bytes(), &header.hash().0].concat(),
    );
    assert_eq!(d, expected);
    assert!(table.get(42).is_some() && table.get(41).is_none());
}
