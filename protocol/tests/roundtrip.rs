//! decode(encode(x)) == x for every type, and arbitrary bytes never panic a decoder.

use proptest::prelude::*;
use protocol::inbox::{InboxMessage, InfoPerLevel, InternalMessage, Transfer, MAX_EXTERNAL_PAYLOAD, MAX_TRANSFER_PAYLOAD};
use protocol::outbox::{L1Call, OutboxMessage};
use protocol::reveal::{reassemble, split_into_pages, RevealHash, RevealPage, MAX_HASHES_PER_PAGE, MAX_PAGE_SIZE};
use protocol::sequencer::{BlockHeader, Committee, CommitteeMember, NsEntry, NsTable};
use protocol::{Address, Commitment, Hash32, RollupMetadata, Wei, MAX_MESSAGE_SIZE};
use std::collections::HashMap;

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address)
}
fn hash32() -> impl Strategy<Value = Hash32> {
    any::<[u8; 32]>().prop_map(Hash32)
}
fn wei() -> impl Strategy<Value = Wei> {
    any::<[u8; 32]>().prop_map(Wei)
}

fn inbox_message() -> impl Strategy<Value = InboxMessage> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=MAX_EXTERNAL_PAYLOAD).prop_map(InboxMessage::External),
        Just(InboxMessage::Internal(InternalMessage::StartOfLevel)),
        Just(InboxMessage::Internal(InternalMessage::EndOfLevel)),
        (any::<u64>(), hash32()).prop_map(|(timestamp_ms, block_hash)| InboxMessage::Internal(
            InternalMessage::InfoPerLevel(InfoPerLevel { timestamp_ms, block_hash })
        )),
        (address(), wei(), proptest::collection::vec(any::<u8>(), 0..=MAX_TRANSFER_PAYLOAD)).prop_map(
            |(sender, value, payload)| InboxMessage::Internal(InternalMessage::Transfer(Transfer { sender, value, payload }))
        ),
    ]
}

fn l1_call() -> impl Strategy<Value = L1Call> {
    (address(), wei(), proptest::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(destination, value, data)| L1Call { destination, value, data })
}

fn outbox_message() -> impl Strategy<Value = OutboxMessage> {
    proptest::collection::vec(l1_call(), 0..8)
        .prop_map(|calls| OutboxMessage { calls })
        .prop_filter("fits the message limit", |m| m.fits())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn inbox_roundtrip(m in inbox_message()) {
        let bytes = m.encode();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert!(bytes.len() <= MAX_MESSAGE_SIZE);
        prop_assert_eq!(InboxMessage::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn outbox_roundtrip(m in outbox_message()) {
        let bytes = m.encode();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(OutboxMessage::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn outbox_single_byte_corruption_never_decodes_to_a_different_encoding(m in outbox_message(), pos in any::<prop::sample::Index>(), flip in 1u8..) {
        // Canonical decoding means: whatever decodes, re-encodes to exactly the input bytes.
        let mut bytes = m.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= flip;
        if let Ok(d) = OutboxMessage::decode(&bytes) {
            prop_assert_eq!(d.encode(), bytes);
        }
    }

    #[test]
    fn commitment_roundtrip(predecessor in hash32(), state_hash in hash32(), inbox_level in any::<u32>(), number_of_ticks in any::<u64>()) {
        let c = Commitment { predecessor, state_hash, inbox_level, number_of_ticks };
        prop_assert_eq!(Commitment::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn metadata_roundtrip(address in address(), origination_level in any::<u32>()) {
        let m = RollupMetadata { address, origination_level };
        prop_assert_eq!(RollupMetadata::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn reveal_page_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..=MAX_PAGE_SIZE - 5), n in 0..=MAX_HASHES_PER_PAGE, seed in any::<u8>()) {
        let contents = RevealPage::Contents(data);
        prop_assert_eq!(RevealPage::decode(&contents.encode()).unwrap(), contents);
        let hashes = RevealPage::Hashes((0..n).map(|i| RevealHash::of(&[seed, i as u8])).collect());
        let bytes = hashes.encode();
        prop_assert!(bytes.len() <= MAX_PAGE_SIZE);
        prop_assert_eq!(RevealPage::decode(&bytes).unwrap(), hashes);
    }

    #[test]
    fn reveal_dag_roundtrip(payload in proptest::collection::vec(any::<u8>(), 0..40_000)) {
        let dag = split_into_pages(&payload);
        let store: HashMap<RevealHash, Vec<u8>> = dag.pages.iter().cloned().collect();
        for (h, p) in &dag.pages {
            prop_assert!(p.len() <= MAX_PAGE_SIZE);
            prop_assert_eq!(RevealHash::of(p), *h);
        }
        let back = reassemble(&dag.root, |h| store.get(h).cloned(), usize::MAX, 16).unwrap();
        prop_assert_eq!(back, payload);
    }

    #[test]
    fn header_roundtrip(chain_id in any::<u64>(), height in any::<u64>(), view in any::<u64>(), timestamp_ms in any::<u64>(), l1_block in any::<u64>(), parent in hash32(), payload_root in hash32()) {
        let h = BlockHeader { chain_id, height, view, timestamp_ms, l1_block, parent, payload_root };
        prop_assert_eq!(BlockHeader::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn ns_table_roundtrip(mut namespaces in proptest::collection::btree_set(any::<u64>(), 0..20), count in 1u32.., root in hash32()) {
        let entries: Vec<NsEntry> = std::mem::take(&mut namespaces).into_iter().map(|namespace| NsEntry { namespace, tx_count: count, tx_root: root }).collect();
        let t = NsTable { entries };
        prop_assert_eq!(NsTable::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn committee_roundtrip(epoch in any::<u64>(), stakes in proptest::collection::vec(any::<u64>(), 0..6), key in any::<u8>()) {
        let c = Committee { epoch, members: stakes.into_iter().map(|stake| CommitteeMember { g1_pubkey: [key; 128], stake }).collect() };
        prop_assert_eq!(Committee::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn wei_decimal_roundtrip(v in wei()) {
        prop_assert_eq!(Wei::from_dec_str(&v.to_dec_string()).unwrap(), v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let _ = InboxMessage::decode(&bytes);
        let _ = OutboxMessage::decode(&bytes);
        let _ = Commitment::decode(&bytes);
        let _ = RollupMetadata::decode(&bytes);
        let _ = RevealHash::decode(&bytes);
        let _ = RevealPage::decode(&bytes);
        let _ = BlockHeader::decode(&bytes);
        let _ = NsTable::decode(&bytes);
        let _ = Committee::decode(&bytes);
    }

    #[test]
    fn tagged_bytes_never_panic(tag in 0u8..4, inner in 0u8..5, rest in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Biased towards valid tags so decoders go past the first byte.
        let mut bytes = vec![tag, inner];
        bytes.extend_from_slice(&rest);
        let _ = InboxMessage::decode(&bytes);
        let _ = RevealPage::decode(&bytes);
        let mut abi = vec![0u8; 31];
        abi.push(0x20);
        abi.extend_from_slice(&rest);
        let _ = OutboxMessage::decode(&abi);
    }
}

#[test]
fn oversized_messages_are_rejected_with_typed_errors() {
    let big = vec![1u8; MAX_MESSAGE_SIZE + 1];
    assert!(matches!(InboxMessage::decode(&big), Err(protocol::DecodeError::TooLarge { .. })));
    assert!(matches!(OutboxMessage::decode(&big), Err(protocol::DecodeError::TooLarge { .. })));
    assert!(matches!(RevealPage::decode(&big), Err(protocol::DecodeError::TooLarge { .. })));
    assert!(matches!(InboxMessage::decode(&[]), Err(protocol::DecodeError::Empty { .. })));
    assert!(matches!(InboxMessage::decode(&[0x02]), Err(protocol::DecodeError::UnknownTag { tag: 0x02, .. })));
    assert!(matches!(InboxMessage::decode(&[0x00, 0x01, 0x00]), Err(protocol::DecodeError::TrailingBytes { .. })));
    let t = InboxMessage::Internal(InternalMessage::Transfer(Transfer {
        sender: Address::ZERO,
        value: Wei::ZERO,
        payload: vec![0; MAX_TRANSFER_PAYLOAD + 1],
    }));
    assert!(!t.fits());
}

#[test]
fn reassemble_rejects_wrong_pages_and_hostile_trees() {
    let dag = split_into_pages(&vec![7u8; 10_000]);
    let store: HashMap<RevealHash, Vec<u8>> = dag.pages.iter().cloned().collect();
    // A missing page.
    let missing = dag.pages[0].0;
    let err = reassemble(&dag.root, |h| if *h == missing { None } else { store.get(h).cloned() }, usize::MAX, 8).unwrap_err();
    assert_eq!(err, protocol::reveal::RevealError::Missing(missing));
    // A page that does not hash to its name.
    let err = reassemble(&dag.root, |h| if *h == missing { Some(vec![0, 0, 0, 0, 0]) } else { store.get(h).cloned() }, usize::MAX, 8).unwrap_err();
    assert_eq!(err, protocol::reveal::RevealError::HashMismatch(missing));
    // A "zip bomb": one leaf referenced 123 times per level, four levels deep.
    let leaf = RevealPage::Contents(vec![1; 4091]).encode();
    let mut pages = HashMap::new();
    let mut h = RevealHash::of(&leaf);
    pages.insert(h, leaf);
    for _ in 0..4 {
        let p = RevealPage::Hashes(vec![h; MAX_HASHES_PER_PAGE]).encode();
        h = RevealHash::of(&p);
        pages.insert(h, p);
    }
    let err = reassemble(&h, |k| pages.get(k).cloned(), 1 << 20, 8).unwrap_err();
    assert_eq!(err, protocol::reveal::RevealError::TooLarge { max: 1 << 20 });
    let err = reassemble(&h, |k| pages.get(k).cloned(), usize::MAX, 2).unwrap_err();
    assert_eq!(err, protocol::reveal::RevealError::TooDeep { max_depth: 2 });
}
