//! The replica's rules on hand-made inputs: one vote per view whatever the leader sends, forged
//! and misattributed proposals rejected, evidence for equivocation, the safety state returned
//! before any vote, and blocks that break the parent rules not voted for.

use std::sync::Arc;

use committee::{dev_keys, SecretKey};
use consensus::message::{proposal_digest, vote_digest};
use consensus::{
    Block, Bls, Config, Effects, Evidence, Members, Message, Offence, Payload, Proposal, QuorumCert, Replica, Restored, Scheme, Target,
    Verdict, Vote,
};
use protocol::sequencer::BlockHeader;
use protocol::Hash32;

struct Setup {
    cfg: Config,
    keys: Vec<SecretKey>,
}

impl Setup {
    fn new() -> Self {
        Setup { cfg: Config::new(11), keys: dev_keys("replica-test", 4) }
    }
    fn members(&self) -> Members<Bls> {
        Members::new(self.keys.iter().map(|k| (k.public_key(), 1)).collect()).unwrap()
    }
    fn replica(&self, me: u16) -> Replica<Bls> {
        let mut r = Replica::new(self.cfg.clone(), self.members(), me, self.keys[me as usize].clone(), Restored::genesis(&self.cfg), 0);
        r.start(0);
        r
    }
    fn genesis(&self) -> Arc<Block> {
        Block::genesis(self.cfg.chain_id, self.cfg.genesis_timestamp_ms)
    }
    /// A view-1 proposal extending genesis, signed by `signer`, with `tweak` applied to the header.
    fn proposal(&self, signer: u16, tag: u8, tweak: impl Fn(&mut BlockHeader)) -> Proposal<Bls> {
        let g = self.genesis();
        let mut header = BlockHeader { chain_id: self.cfg.chain_id, height: 1, view: 1, timestamp_ms: 10, l1_block: 0, parent: g.hash(), payload_root: Hash32::ZERO };
        tweak(&mut header);
        let block = Arc::new(Block::assemble(header, Payload::from_transactions([(1u64, vec![tag])])));
        let signature = Bls::sign(&self.keys[signer as usize], &proposal_digest(self.cfg.chain_id, header.view, &block.hash()));
        Proposal { block, justify: QuorumCert::genesis(&g.hash()), tc: None, signature }
    }
}

fn votes(fx: &Effects<Bls>) -> Vec<Vote<Bls>> {
    fx.send.iter().filter_map(|(t, m)| match m {
        Message::Vote(v) => {
            assert_eq!(*t, Target::All, "votes go to every member");
            Some(v.clone())
        }
        _ => None,
    })
    .collect()
}

#[test]
fn an_equivocating_leader_gets_one_vote_and_is_caught() {
    let s = Setup::new();
    let probe = s.replica(0);
    let leader = probe.leader(1);
    let me = (leader + 1) % 4;
    let mut r = s.replica(me);
    let first = s.proposal(leader, 1, |_| {});
    let fx = r.on_message(20, leader, Message::Proposal(first.clone()));
    let v = votes(&fx);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].block, first.block.hash());
    // The safety state that must be synced before the vote is sent comes with it.
    assert_eq!(fx.safety.as_ref().unwrap().last_voted_view, 1);
    assert!(Bls::verify(r.members().verifier(), me, &vote_digest(11, 1, 1, &first.block.hash()), &v[0].signature));

    let second = s.proposal(leader, 2, |_| {});
    let fx = r.on_message(21, leader, Message::Proposal(second.clone()));
    assert!(votes(&fx).is_empty());
    assert_eq!(fx.verdict, Verdict::Reject);
    assert_eq!(fx.penalties, vec![(leader, Offence::Equivocation)]);
    assert!(matches!(fx.evidence[..], [Evidence::ConflictingProposals { view: 1, first: a, second: b, .. }] if a == first.block.hash() && b == second.block.hash()));
    // The same proposal again is just ignored.
    let fx = r.on_message(22, leader, Message::Proposal(first));
    assert!(votes(&fx).is_empty() && fx.penalties.is_empty());
}

#[test]
fn forged_and_misattributed_proposals_are_rejected() {
    let s = Setup::new();
    let probe = s.replica(0);
    let leader = probe.leader(1);
    let other = (leader + 1) % 4;
    let me = (leader + 2) % 4;
    let mut r = s.replica(me);
    // Signed by a member who does not lead view 1.
    let fx = r.on_message(20, other, Message::Proposal(s.proposal(other, 1, |_| {})));
    assert!(votes(&fx).is_empty());
    assert_eq!((fx.verdict, fx.penalties.clone()), (Verdict::Reject, vec![(other, Offence::BadSignature)]));
    // Inconsistent fields (height does not follow the justification).
    let fx = r.on_message(20, leader, Message::Proposal(s.proposal(leader, 1, |h| h.height = 5)));
    assert_eq!((fx.verdict, fx.penalties.clone()), (Verdict::Reject, vec![(leader, Offence::InvalidMessage)]));
    // Another chain.
    let fx = r.on_message(20, leader, Message::Proposal(s.proposal(leader, 1, |h| h.chain_id = 12)));
    assert_eq!(fx.verdict, Verdict::Reject);
    // A forged justification (a "QC" for view 1 nobody signed) for a view-2 proposal.
    let mut p = s.proposal(probe.leader(2), 3, |h| h.view = 2);
    p.justify = QuorumCert { view: 1, height: 0, block: s.genesis().hash(), cert: Bls::aggregate(4, &[(0, Bls::sign(&s.keys[0], &[1; 32]))]) };
    let fx = r.on_message(20, probe.leader(2), Message::Proposal(p));
    assert_eq!(fx.verdict, Verdict::Reject);
    assert!(votes(&fx).is_empty());
}

#[test]
fn blocks_breaking_parent_rules_get_no_vote() {
    let s = Setup::new();
    let probe = s.replica(0);
    let leader = probe.leader(1);
    let me = (leader + 3) % 4;
    // A timestamp far in the future (beyond the allowed clock drift).
    let mut r = s.replica(me);
    let fx = r.on_message(20, leader, Message::Proposal(s.proposal(leader, 1, |h| h.timestamp_ms = 20 + 60_000)));
    assert!(votes(&fx).is_empty());
    // An L1 block beyond this replica's L1 head plus tolerance (tolerance 8).
    let mut r = s.replica(me);
    r.set_l1_head(Some(100));
    let fx = r.on_message(20, leader, Message::Proposal(s.proposal(leader, 1, |h| h.l1_block = 109)));
    assert!(votes(&fx).is_empty());
    let mut r = s.replica(me);
    r.set_l1_head(Some(100));
    let fx = r.on_message(20, leader, Message::Proposal(s.proposal(leader, 1, |h| h.l1_block = 108)));
    assert_eq!(votes(&fx).len(), 1);
    // No L1 view: the parent's l1_block only.
    let mut r = s.replica(me);
    let fx = r.on_message(20, leader, Message::Proposal(s.proposal(leader, 1, |h| h.l1_block = 1)));
    assert!(votes(&fx).is_empty());
}

#[test]
fn a_timeout_forbids_voting_later_in_the_view() {
    let s = Setup::new();
    let probe = s.replica(0);
    let leader = probe.leader(1);
    let me = (leader + 1) % 4;
    let mut r = s.replica(me);
    let fx = r.on_timer(s.cfg.base_timeout_ms + 1);
    assert!(fx.send.iter().any(|(_, m)| matches!(m, Message::Timeout(t) if t.view == 1)));
    assert_eq!(fx.safety.unwrap().last_voted_view, 1);
    let fx = r.on_message(s.cfg.base_timeout_ms + 2, leader, Message::Proposal(s.proposal(leader, 1, |_| {})));
    assert!(votes(&fx).is_empty());
}

#[test]
fn a_quorum_of_votes_moves_to_the_next_view_and_forgers_are_found() {
    let s = Setup::new();
    let probe = s.replica(0);
    let leader = probe.leader(1);
    let me = (leader + 1) % 4;
    let mut r = s.replica(me);
    let p = s.proposal(leader, 1, |_| {});
    let h = p.block.hash();
    r.on_message(20, leader, Message::Proposal(p));
    let others: Vec<u16> = (0..4).filter(|i| *i != me).collect();
    // A forged vote in the name of a member (signed with the wrong key) arrives first.
    let forger = others[0];
    let victim = others[1];
    let forged = Vote { view: 1, height: 1, block: h, signer: victim, signature: Bls::sign(&s.keys[forger as usize], &vote_digest(11, 1, 1, &h)) };
    let fx = r.on_message(21, forger, Message::Vote(forged));
    assert!(fx.penalties.is_empty(), "checked lazily");
    // The real one from the victim replaces it (the forger is penalised); with a third vote the
    // quorum is complete and the replica enters view 2.
    let real = |i: u16| Vote { view: 1, height: 1, block: h, signer: i, signature: Bls::sign(&s.keys[i as usize], &vote_digest(11, 1, 1, &h)) };
    let fx = r.on_message(22, victim, Message::Vote(real(victim)));
    assert_eq!(fx.penalties, vec![(forger, Offence::BadSignature)]);
    let fx = r.on_message(23, others[2], Message::Vote(real(others[2])));
    assert_eq!(r.view(), 2, "{fx:?}");
    assert_eq!(r.high_qc().block, h);
    // A replayed vote is penalised as a replay once counted.
    let fx = r.on_message(24, others[2], Message::Vote(real(others[2])));
    assert!(fx.penalties.is_empty() || fx.penalties == vec![(others[2], Offence::Replay)]);
}

#[test]
fn leaders_follow_stake_and_never_repeat_back_to_back() {
    let keys = dev_keys("leaders", 7);
    for stakes in [vec![1u64; 4], vec![1; 7], vec![2, 2, 1, 1, 1], vec![10, 30, 25, 35]] {
        let members = Members::<Bls>::new(keys.iter().zip(&stakes).map(|(k, s)| (k.public_key(), *s)).collect()).unwrap();
        let total: u64 = stakes.iter().sum();
        let views = 100_000u64;
        let mut count = vec![0u64; stakes.len()];
        let mut prev = u16::MAX;
        for v in 1..=views {
            let l = members.leader(11, 0, v);
            assert!(l != prev || stakes[usize::from(l)] * 100 >= total * 38, "member {l} led views {} and {v} ({stakes:?})", v - 1);
            prev = l;
            count[usize::from(l)] += 1;
        }
        for (i, c) in count.iter().enumerate() {
            let expected = views * stakes[i] / total;
            assert!(c.abs_diff(expected) <= views / 1000, "member {i} led {c} of {views} views, stake share {expected} ({stakes:?})");
        }
    }
}

// ----- Hostile numbers (issue 13, part 1): no peer-supplied view or height panics a replica. -----

/// A replica (not the leader of view 1) after a quorum of votes for the leader's view-1 block
/// arrived without the proposal: it holds the certificate (view 2 now) and fetches the block.
/// Returns the replica, the proposal, the leader and the replica's index.
fn certified_but_missing(s: &Setup) -> (Replica<Bls>, Proposal<Bls>, u16, u16) {
    let leader = s.replica(0).leader(1);
    let me = (leader + 1) % 4;
    let p = s.proposal(leader, 1, |_| {});
    let mut r = s.replica(me);
    let h = p.block.hash();
    for i in (0..4).filter(|i| *i != me) {
        let vote = Vote { view: 1, height: 1, block: h, signer: i, signature: Bls::sign(&s.keys[i as usize], &vote_digest(11, 1, 1, &h)) };
        r.on_message(20, i, Message::Vote(vote));
    }
    assert_eq!((r.view(), r.high_qc().block), (2, h));
    assert!(r.pending_block(&h).is_none());
    (r, p, leader, me)
}

#[test]
fn a_vote_from_the_far_future_is_dropped() {
    let s = Setup::new();
    let mut r = s.replica(0);
    for view in [u64::MAX, u64::MAX - 1, u64::MAX - 64, 1 << 50] {
        let vote = Vote { view, height: 1, block: Hash32([1; 32]), signer: 1, signature: Bls::sign(&s.keys[1], &vote_digest(11, view, 1, &Hash32([1; 32]))) };
        let fx = r.on_message(20, 1, Message::Vote(vote));
        assert!(fx.send.is_empty() && fx.penalties.is_empty(), "{fx:?}");
    }
    assert_eq!(r.view(), 1);
}

#[test]
fn a_proposal_with_an_overflowing_justify_or_tc_is_rejected() {
    let s = Setup::new();
    let leader = s.replica(0).leader(1);
    let me = (leader + 1) % 4;
    // The leader signs a block whose justification claims height u64::MAX.
    let mut r = s.replica(me);
    let mut p = s.proposal(leader, 1, |_| {});
    p.justify.height = u64::MAX;
    let fx = r.on_message(20, leader, Message::Proposal(p));
    assert_eq!((fx.verdict, fx.penalties.clone()), (Verdict::Reject, vec![(leader, Offence::InvalidMessage)]));
    // A timeout certificate for view u64::MAX.
    let mut r = s.replica(me);
    let mut p = s.proposal(leader, 1, |_| {});
    let cert = Bls::aggregate(4, &[(0, Bls::sign(&s.keys[0], &[1; 32]))]).unwrap();
    p.tc = Some(consensus::TimeoutCert { view: u64::MAX, high_qc_views: vec![(0, 0)], high_qc: QuorumCert::genesis(&s.genesis().hash()), cert });
    let fx = r.on_message(20, leader, Message::Proposal(p));
    assert_eq!((fx.verdict, fx.penalties.clone()), (Verdict::Reject, vec![(leader, Offence::InvalidMessage)]));
    assert!(votes(&fx).is_empty());
    // The replica still votes for the honest proposal.
    let fx = r.on_message(21, leader, Message::Proposal(s.proposal(leader, 1, |_| {})));
    assert_eq!(votes(&fx).len(), 1);
}

#[test]
fn a_republished_proposal_with_an_overflowing_justify_is_dropped() {
    let s = Setup::new();
    let (mut r, p, leader, _) = certified_but_missing(&s);
    // Anyone may re-publish a late proposal; this one's justification claims height u64::MAX.
    let mut bad = p.clone();
    bad.justify.height = u64::MAX;
    let fx = r.on_message(30, 3, Message::Proposal(bad));
    assert!(fx.store.is_empty() && r.pending_block(&p.block.hash()).is_none(), "{fx:?}");
    // The real one is still taken.
    let fx = r.on_message(31, leader, Message::Proposal(p.clone()));
    assert_eq!(fx.store.len(), 1);
    assert!(r.pending_block(&p.block.hash()).is_some());
}

#[test]
fn a_catch_up_answer_with_an_overflowing_justify_is_refused() {
    let s = Setup::new();
    let (mut r, p, _, me) = certified_but_missing(&s);
    let hash = p.block.hash();
    let mut justify = p.justify.clone();
    justify.height = u64::MAX;
    let peer = (me + 1) % 4;
    let request = consensus::Request::Blocks { hash, max: 8 };
    let fx = r.on_response(30, peer, request, consensus::Response::Blocks(vec![consensus::BlockRecord { block: p.block.clone(), justify }]));
    assert_eq!(fx.penalties, vec![(peer, Offence::BadResponse)]);
    assert!(fx.store.is_empty() && r.pending_block(&hash).is_none());
    let fx = r.on_response(31, peer, request, consensus::Response::Blocks(vec![consensus::BlockRecord { block: p.block.clone(), justify: p.justify.clone() }]));
    assert!(fx.penalties.is_empty() && r.pending_block(&hash).is_some());
}

// ----- Timeout certificates prove their highest QC (issue 13, part 1). -----

fn timeout(s: &Setup, view: u64, signer: u16, high_qc_view: u64) -> consensus::Timeout<Bls> {
    let signature = Bls::sign(&s.keys[signer as usize], &consensus::message::timeout_digest(11, view, high_qc_view));
    consensus::Timeout { view, high_qc: QuorumCert::genesis(&s.genesis().hash()), signer, signature }
}

/// What a Byzantine member can build: honest timeouts for `view` (high QC genesis) combined with
/// its own, which claims a high QC of `view - 1` that nobody certified.
fn inflated_tc(s: &Setup, view: u64, honest: &[u16], byzantine: u16) -> consensus::TimeoutCert<Bls> {
    let mut entries: Vec<(u16, u64)> = honest.iter().map(|h| (*h, 0)).chain([(byzantine, view - 1)]).collect();
    entries.sort();
    let sigs: Vec<(u16, committee::Signature)> =
        entries.iter().map(|(i, hv)| (*i, Bls::sign(&s.keys[*i as usize], &consensus::message::timeout_digest(11, view, *hv)))).collect();
    // The only certificate it can attach is one it has: genesis (view 0, not view - 1).
    consensus::TimeoutCert { view, high_qc_views: entries, high_qc: QuorumCert::genesis(&s.genesis().hash()), cert: Bls::aggregate(4, &sigs).unwrap() }
}

#[test]
fn an_inflated_timeout_certificate_cannot_stop_the_leader() {
    let s = Setup::new();
    let probe = s.replica(0);
    let leader = probe.leader(3);
    let others: Vec<u16> = (0..4).filter(|i| *i != leader).collect();
    let (byz, h1, h2) = (others[0], others[1], others[2]);
    let mut r = s.replica(leader);
    // Views 1 fails: the honest timeouts take the leader to view 2.
    for h in [h1, h2] {
        r.on_message(1_000, h, Message::Timeout(timeout(&s, 1, h, 0)));
    }
    assert_eq!(r.view(), 2);
    // In view 2 the Byzantine member hands the leader a TC(2) whose maximum it inflated to 1.
    let genesis_qc = QuorumCert::genesis(&s.genesis().hash());
    let tc = inflated_tc(&s, 2, &[h1, h2], byz);
    assert_eq!(tc.max_high_qc_view(), 1);
    let fx = r.on_message(2_000, byz, Message::Advance(consensus::Advance { high_qc: genesis_qc, tc: Some(tc) }));
    assert_eq!(fx.penalties, vec![(byz, Offence::BadSignature)], "a TC without a QC of its maximal view is refused");
    assert_eq!(r.view(), 2);
    // The honest timeouts of view 2 arrive: the leader enters view 3 and can propose.
    let mut slot = None;
    for h in [h1, h2] {
        let fx = r.on_message(2_100, h, Message::Timeout(timeout(&s, 2, h, 0)));
        slot = slot.or(fx.proposal_slot);
    }
    assert_eq!(r.view(), 3);
    assert_eq!(slot.map(|s| s.view), Some(3), "the leader of view 3 is offered its slot");
    let fx = r.propose(2_200, 3, Payload::from_transactions([(1u64, vec![5])]), None).expect("the leader proposes");
    assert!(fx.send.iter().any(|(_, m)| matches!(m, Message::Proposal(p) if p.block.view() == 3)));
}

// ----- Stale and far-future timeouts and Advances cost no signature check (issue 13, part 1). -----

#[test]
fn far_future_and_replayed_timeouts_and_advances_are_dropped_before_any_signature_check() {
    let s = Setup::new();
    let mut r = s.replica(0);
    let forged = Bls::sign(&s.keys[2], &[9; 32]);
    let genesis_qc = QuorumCert::genesis(&s.genesis().hash());
    // A timeout 5,000 views ahead with a bad signature: dropped unchecked (no penalty).
    let t = consensus::Timeout { view: 5_000, high_qc: genesis_qc.clone(), signer: 1, signature: forged.clone() };
    let fx = r.on_message(10, 1, Message::Timeout(t));
    assert!(fx.penalties.is_empty(), "{:?}", fx.penalties);
    // An unsolicited Advance that far ahead: dropped unchecked too.
    let block = Hash32([3; 32]);
    let fake = QuorumCert { view: 5_000, height: 1, block, cert: Bls::aggregate(4, &[(1, forged.clone())]) };
    let advance = |qc: &QuorumCert<Bls>| Message::Advance(consensus::Advance { high_qc: qc.clone(), tc: None });
    let fx = r.on_message(11, 1, advance(&fake));
    assert!(fx.penalties.is_empty(), "{:?}", fx.penalties);
    assert_eq!(r.view(), 1);
    // Once timed out it has asked for help: an Advance is checked, and a real one moves it on.
    r.on_timer(s.cfg.base_timeout_ms + 1);
    let fx = r.on_message(s.cfg.base_timeout_ms + 2, 1, advance(&fake));
    assert_eq!(fx.penalties, vec![(1, Offence::BadSignature)]);
    let sigs: Vec<(u16, committee::Signature)> = (1..4).map(|i| (i, Bls::sign(&s.keys[i as usize], &vote_digest(11, 5_000, 1, &block)))).collect();
    let real = QuorumCert { cert: Bls::aggregate(4, &sigs), ..fake };
    r.on_message(s.cfg.base_timeout_ms + 3, 1, advance(&real));
    assert_eq!(r.view(), 5_001);
    // A timeout from a member that is behind is answered with an Advance; a replay soon after
    // (or a forgery of it) is dropped unchecked; a retransmission a base timeout later is
    // answered again (the first answer may have been lost).
    let now = 10_000;
    let old = timeout(&s, 1, 2, 0);
    let answers = |fx: &Effects<Bls>| fx.send.iter().filter(|(t, m)| *t == Target::One(2) && matches!(m, Message::Advance(_))).count();
    assert_eq!(answers(&r.on_message(now, 2, Message::Timeout(old.clone()))), 1);
    assert_eq!(answers(&r.on_message(now + 1, 2, Message::Timeout(old.clone()))), 0);
    let fx = r.on_message(now + 2, 2, Message::Timeout(consensus::Timeout { signature: forged, ..old.clone() }));
    assert!(fx.penalties.is_empty() && fx.send.is_empty(), "{fx:?}");
    assert_eq!(answers(&r.on_message(now + s.cfg.base_timeout_ms, 2, Message::Timeout(old))), 1);
}
