//! The store with real consensus output: what a replica writes, a restarted replica reads back;
//! and a replica restarted from disk never signs a second vote in a view it voted in.

use std::sync::Arc;

use committee::{dev_keys, SecretKey};
use consensus::message::proposal_digest;
use consensus::{
    Block, Bls, Config, Effects, Members, Message, Payload, Proposal, QuorumCert, Replica, Restored, Scheme, WireContext,
};
use protocol::sequencer::BlockHeader;
use protocol::Hash32;
use sequencer_store::{Store, StoreError};

fn setup(n: usize) -> (Config, Vec<SecretKey>, impl Fn() -> Members<Bls>, WireContext) {
    let cfg = Config::new(9);
    let keys = dev_keys("store-test", n);
    let pks: Vec<_> = keys.iter().map(|k| (k.public_key(), 1u64)).collect();
    let ctx = WireContext { members: n, limits: cfg.limits };
    (cfg, keys, move || Members::new(pks.clone()).unwrap(), ctx)
}

fn open(dir: &std::path::Path, cfg: &Config, ctx: WireContext) -> Store<Bls> {
    Store::open(dir, ctx, &Restored::<Bls>::genesis(cfg).committed).unwrap()
}

#[test]
fn a_single_member_chain_survives_a_restart() {
    let (cfg, keys, members, ctx) = setup(1);
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &cfg, ctx);
    let mut r = Replica::new(cfg.clone(), members(), 0, keys[0].clone(), store.restored().unwrap(), 0);
    let mut fx = r.start(0);
    let mut now = 0u64;
    let mut decided = 0;
    for _ in 0..20 {
        store.apply(&fx).unwrap();
        decided += fx.committed.len();
        let slot = fx.proposal_slot.take().expect("a single member leads every view");
        now += 10;
        let payload = Payload::from_transactions([(1u64, now.to_be_bytes().to_vec())]);
        fx = r.propose(now, slot.view, payload, None).unwrap();
    }
    store.apply(&fx).unwrap();
    decided += fx.committed.len();
    assert!(decided >= 18, "decided {decided}");
    assert_eq!(store.decided_height().unwrap(), r.committed().block.height());
    let tip = store.decided_height().unwrap();
    for h in 1..=tip {
        let b = store.block(h).unwrap().unwrap();
        assert_eq!(store.block_by_hash(&b.block.hash()).unwrap().unwrap(), b);
        let c = store.certificate(h).unwrap().expect("a lone member certifies at once");
        assert!(r.verify_finality_cert(&c));
    }
    let safety = (r.last_voted_view(), r.high_qc().clone());
    drop(r);
    drop(store);

    let store = open(dir.path(), &cfg, ctx);
    let restored = store.restored().unwrap();
    assert_eq!(restored.committed.block.height(), tip);
    let s = restored.safety.clone().unwrap();
    assert_eq!((s.last_voted_view, s.high_qc), safety);
    assert!(restored.uncertified.is_empty());
    // It carries on from where it was.
    let mut r = Replica::new(cfg.clone(), members(), 0, keys[0].clone(), restored, now);
    let fx = r.start(now);
    store.apply(&fx).unwrap();
    let slot = fx.proposal_slot.expect("leads again");
    assert!(slot.view > safety.0);
}

fn proposal(cfg: &Config, leader: &SecretKey, view: u64, tag: u8) -> Proposal<Bls> {
    let genesis = Block::genesis(cfg.chain_id, cfg.genesis_timestamp_ms);
    let header = BlockHeader {
        chain_id: cfg.chain_id,
        height: 1,
        view,
        timestamp_ms: 1,
        l1_block: 0,
        parent: genesis.hash(),
        payload_root: Hash32::ZERO,
    };
    let block = Arc::new(Block::assemble(header, Payload::from_transactions([(1u64, vec![tag])])));
    let signature = Bls::sign(leader, &proposal_digest(cfg.chain_id, view, &block.hash()));
    Proposal { block, justify: QuorumCert::genesis(&genesis.hash()), tc: None, signature }
}

fn votes(fx: &Effects<Bls>) -> usize {
    fx.send.iter().filter(|(_, m)| matches!(m, Message::Vote(_))).count()
}

#[test]
fn no_second_vote_in_a_view_after_a_restart() {
    let (cfg, keys, members, ctx) = setup(4);
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &cfg, ctx);
    let probe = Replica::new(cfg.clone(), members(), 0, keys[0].clone(), store.restored().unwrap(), 0);
    let leader = probe.leader(1);
    let me = (leader + 1) % 4;
    drop(probe);
    let mut r = Replica::new(cfg.clone(), members(), me, keys[me as usize].clone(), store.restored().unwrap(), 0);
    store.apply(&r.start(0)).unwrap();
    let fx = r.on_message(5, leader, Message::Proposal(proposal(&cfg, &keys[leader as usize], 1, 1)));
    assert_eq!(votes(&fx), 1);
    assert!(fx.safety.is_some(), "the vote comes with safety state to sync first");
    store.apply(&fx).unwrap();
    drop(r);

    // Restarted from disk, the same view's conflicting proposal gets no vote.
    let mut r = Replica::new(cfg.clone(), members(), me, keys[me as usize].clone(), store.restored().unwrap(), 10);
    store.apply(&r.start(10)).unwrap();
    let fx = r.on_message(11, leader, Message::Proposal(proposal(&cfg, &keys[leader as usize], 1, 2)));
    assert_eq!(votes(&fx), 0);
    // Nor does the original one again.
    let fx = r.on_message(12, leader, Message::Proposal(proposal(&cfg, &keys[leader as usize], 1, 1)));
    assert_eq!(votes(&fx), 0);
}

#[test]
fn another_chain_or_corrupt_records_are_errors() {
    let (cfg, _, _, ctx) = setup(4);
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), &cfg, ctx));
    let mut other = cfg.clone();
    other.chain_id += 1;
    let err = Store::<Bls>::open(dir.path(), ctx, &Restored::<Bls>::genesis(&other).committed).err().unwrap();
    assert!(matches!(err, StoreError::GenesisMismatch { .. }), "{err}");

    // Garbage in the pending column family: reported, not a panic.
    {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(false);
        let db = rocksdb::DB::open_cf(&opts, dir.path(), ["meta", "records", "heights", "pending", "certs", "admitted"]).unwrap();
        db.put_cf(db.cf_handle("pending").unwrap(), [1u8; 32], b"").unwrap();
        db.put_cf(db.cf_handle("records").unwrap(), [1u8; 32], b"not a block").unwrap();
        db.put_cf(db.cf_handle("certs").unwrap(), 5u64.to_be_bytes(), [0xffu8; 7]).unwrap();
    }
    let store = open(dir.path(), &cfg, ctx);
    assert!(matches!(store.restored(), Err(StoreError::Corrupt { what: "records", .. })));
    assert!(matches!(store.certificate(5), Err(StoreError::Corrupt { what: "certs", .. })));
}

#[test]
fn accepted_transactions_survive_a_restart_until_their_block_is_decided() {
    let (cfg, keys, members, ctx) = setup(1);
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &cfg, ctx);
    let (a, b) = (Hash32([1; 32]), Hash32([2; 32]));
    store.admit(&a, 7, b"first").unwrap();
    store.admit(&b, 8, b"second").unwrap();
    drop(store);

    let store = open(dir.path(), &cfg, ctx);
    let mut back = store.admitted().unwrap();
    back.sort();
    assert_eq!(back, vec![(a, 7, b"first".to_vec()), (b, 8, b"second".to_vec())]);

    // Deciding a block forgets the transactions named with it, in the same batch.
    let mut r = Replica::new(cfg.clone(), members(), 0, keys[0].clone(), store.restored().unwrap(), 0);
    let mut fx = r.start(0);
    let mut now = 0;
    while fx.committed.is_empty() {
        store.apply(&fx).unwrap();
        let slot = fx.proposal_slot.take().expect("a single member leads every view");
        now += 10;
        fx = r.propose(now, slot.view, Payload::from_transactions([(7u64, b"first".to_vec())]), None).unwrap();
    }
    assert_eq!(store.admitted().unwrap().len(), 2, "nothing forgotten before a decision");
    store.apply_deciding(&fx, &[a]).unwrap();
    assert_eq!(store.admitted().unwrap(), vec![(b, 8, b"second".to_vec())]);
    store.forget_admitted(&[b]).unwrap();
    drop(store);
    assert!(open(dir.path(), &cfg, ctx).admitted().unwrap().is_empty());
}
