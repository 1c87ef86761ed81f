//! The HotStuff-2 replica: a deterministic state machine with no I/O.
//!
//! Inputs are messages (with the member that delivered them), catch-up answers, timer ticks and
//! the leader's payload; every input returns [`Effects`]. Time is an input (`now`, milliseconds),
//! so the same inputs always give the same outputs: the simulator replays any run from its seed.
//! The protocol, its safety argument and every rule implemented here are in
//! `docs/consensus.md`; the section numbers below refer to it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use protocol::sequencer::{finality_digest, BlockHeader};
use protocol::Hash32;

use crate::block::{Block, BlockError, Payload};
use crate::config::{Config, Members};
use crate::effects::{Effects, Evidence, Offence, ProposalSlot, SafetyState, Target, Verdict};
use crate::message::{
    proposal_digest, timeout_digest, vote_digest, Advance, BlockRecord, FinalityCert, FinalityVote, Message, Proposal, QuorumCert,
    Request, Response, Timeout, TimeoutCert, Vote,
};
use crate::scheme::Scheme;
use crate::{Height, MemberIndex, View};

/// Votes for views this far ahead of ours are kept (we may simply be a little behind).
const VOTE_WINDOW: View = 2;
/// Votes this far behind our view are treated as replays.
const STALE_WINDOW: View = 64;
/// Proposals and timeouts for views this far ahead of ours, and unsolicited `Advance`s that
/// far ahead, are dropped before any signature check (a replica further behind catches up by
/// timing out and being sent an `Advance`, section 4.4).
const FUTURE_WINDOW: View = 1024;
/// Finality signatures kept for heights this far above our decided height.
const FINALITY_WINDOW: Height = 256;
/// Finality signatures signed right away when many blocks are decided at once (catch-up);
/// older ones are fetched as certificates from peers.
const FINALITY_SIGN_BATCH: usize = 16;
/// Uncertified decided blocks remembered at most (oldest dropped first).
const MAX_UNCERTIFIED: usize = 100_000;
/// Recent finality certificates kept to answer late signatures.
const RECENT_CERTS: usize = 128;
/// Proposals kept while their parent is fetched.
const MAX_WAITING: usize = 16;
/// Certificates asked for in one request.
const CERT_BATCH: u16 = 256;

/// Why the leader's [`Replica::propose`] call did not produce a proposal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// The view moved on or this replica does not lead it.
    #[error("view {0} is not ours to propose in (current view {1})")]
    NotLeader(View, View),
    /// Already proposed, or timed out, in this view.
    #[error("already proposed or timed out in view {0}")]
    AlreadyActed(View),
    /// The block to extend is not available yet (being fetched).
    #[error("the parent block is not available yet")]
    NoParent,
    /// The payload breaks a block limit.
    #[error(transparent)]
    Payload(#[from] BlockError),
}

/// The state loaded from disk at start.
#[derive(Debug, Clone)]
pub struct Restored<S: Scheme> {
    /// The safety state, if one was ever persisted.
    pub safety: Option<SafetyState<S>>,
    /// The highest decided block (the genesis record on a fresh start).
    pub committed: BlockRecord<S>,
    /// Stored blocks above it.
    pub pending: Vec<BlockRecord<S>>,
    /// Decided blocks that still lack a finality certificate.
    pub uncertified: Vec<(Height, Hash32)>,
}

impl<S: Scheme> Restored<S> {
    /// A fresh start from the genesis block.
    pub fn genesis(cfg: &Config) -> Self {
        let g = Block::genesis(cfg.chain_id, cfg.genesis_timestamp_ms);
        let justify = QuorumCert::genesis(&g.hash());
        Restored { safety: None, committed: BlockRecord { block: g, justify }, pending: Vec::new(), uncertified: Vec::new() }
    }
}

struct PendingVote<S: Scheme> {
    signature: S::Signature,
    origin: MemberIndex,
    verified: bool,
}

struct VoteSet<S: Scheme> {
    votes: BTreeMap<MemberIndex, PendingVote<S>>,
    done: bool,
}

struct TimeoutEntry<S: Scheme> {
    /// The signer's high QC as its timeout carried it (verified only if it is the highest one
    /// when a TC is formed, section 4.4).
    high_qc: QuorumCert<S>,
    signature: S::Signature,
    origin: MemberIndex,
}

struct Uncertified<S: Scheme> {
    block: Hash32,
    signatures: BTreeMap<MemberIndex, PendingVote<S>>,
    signed: bool,
    last_action_ms: u64,
}

struct Fetch {
    asked: MemberIndex,
    at_ms: u64,
    attempts: u32,
}

/// One committee member's consensus state machine.
pub struct Replica<S: Scheme> {
    cfg: Config,
    members: Members<S>,
    me: MemberIndex,
    key: S::SecretKey,

    // Safety state (section 4.1), persisted before any vote or timeout leaves.
    last_voted_view: View,
    high_qc: QuorumCert<S>,

    // Pacemaker (section 4.4).
    view: View,
    last_tc: Option<TimeoutCert<S>>,
    timeouts_in_row: u32,
    view_deadline_ms: u64,
    timed_out: bool,
    timeout_resend_ms: u64,
    proposed_view: View,
    slot_offered_view: View,
    l1_head: Option<u64>,

    // The chain.
    tip: BlockRecord<S>,
    blocks: BTreeMap<Hash32, BlockRecord<S>>,
    deferred_commits: BTreeSet<Hash32>,

    // Collectors.
    votes: BTreeMap<(View, Height, Hash32), VoteSet<S>>,
    voters: BTreeMap<View, BTreeMap<MemberIndex, (Height, Hash32)>>,
    timeouts: BTreeMap<View, BTreeMap<MemberIndex, TimeoutEntry<S>>>,
    latest_timeout_of: BTreeMap<MemberIndex, View>,
    /// Per member that was behind: the view of its timeout we last answered, and when.
    answered: BTreeMap<MemberIndex, (View, u64)>,
    proposals_seen: BTreeMap<View, Hash32>,
    waiting: BTreeMap<Hash32, Vec<(MemberIndex, Proposal<S>)>>,
    fetching: BTreeMap<Hash32, Fetch>,
    /// Statements of verified QCs, with the certificate that proved each (what we re-send).
    verified_qcs: BTreeMap<(View, Height, Hash32), S::Certificate>,

    // Finality (section 5).
    uncertified: BTreeMap<Height, Uncertified<S>>,
    early_finality: BTreeMap<(Height, MemberIndex), (Hash32, S::Signature, MemberIndex)>,
    recent_certs: BTreeMap<Height, FinalityCert<S>>,
    cert_peer: MemberIndex,

    fx: Effects<S>,
}

impl<S: Scheme> Replica<S> {
    /// Starts (or restarts) member `me` from what was on disk.
    pub fn new(cfg: Config, members: Members<S>, me: MemberIndex, key: S::SecretKey, restored: Restored<S>, now: u64) -> Self {
        let tip = restored.committed;
        let (last_voted_view, high_qc) = match restored.safety {
            Some(s) => (s.last_voted_view, s.high_qc),
            None => (0, tip.justify.clone()),
        };
        let genesis_qc = QuorumCert::genesis(&Block::genesis(cfg.chain_id, cfg.genesis_timestamp_ms).hash());
        let high_qc = if high_qc.view == 0 { genesis_qc } else { high_qc };
        let view = high_qc.view.saturating_add(1).max(last_voted_view).max(1);
        let mut r = Replica {
            members,
            me,
            key,
            last_voted_view,
            high_qc,
            view,
            last_tc: None,
            timeouts_in_row: 0,
            view_deadline_ms: now + cfg.base_timeout_ms,
            timed_out: false,
            timeout_resend_ms: 0,
            proposed_view: 0,
            slot_offered_view: 0,
            l1_head: None,
            tip,
            blocks: BTreeMap::new(),
            deferred_commits: BTreeSet::new(),
            votes: BTreeMap::new(),
            voters: BTreeMap::new(),
            timeouts: BTreeMap::new(),
            latest_timeout_of: BTreeMap::new(),
            answered: BTreeMap::new(),
            proposals_seen: BTreeMap::new(),
            waiting: BTreeMap::new(),
            fetching: BTreeMap::new(),
            verified_qcs: BTreeMap::new(),
            uncertified: BTreeMap::new(),
            early_finality: BTreeMap::new(),
            recent_certs: BTreeMap::new(),
            cert_peer: me,
            fx: Effects::default(),
            cfg,
        };
        let tip_height = r.tip.block.height();
        for rec in restored.pending {
            if rec.block.height() > tip_height {
                r.blocks.insert(rec.block.hash(), rec);
            }
        }
        for (height, block) in restored.uncertified {
            r.uncertified.insert(height, Uncertified { block, signatures: BTreeMap::new(), signed: false, last_action_ms: 0 });
        }
        if view == r.last_voted_view && view > 0 {
            // We voted or timed out in this view before the restart: we can only time out again.
            r.view_deadline_ms = now;
        }
        r
    }

    /// The initial effects after [`Replica::new`]: a proposal slot if we lead the first view,
    /// fetches of missing blocks.
    pub fn start(&mut self, now: u64) -> Effects<S> {
        let hq = self.high_qc.clone();
        if !self.has_block(&hq.block) {
            self.fetch(now, hq.block, None);
        } else {
            self.try_commit(now, hq.block, hq.height);
        }
        self.maybe_offer_slot();
        self.take()
    }

    // ----- accessors -----

    /// The current view.
    pub fn view(&self) -> View {
        self.view
    }

    /// This replica's member index.
    pub fn me(&self) -> MemberIndex {
        self.me
    }

    /// The highest decided block.
    pub fn committed(&self) -> &BlockRecord<S> {
        &self.tip
    }

    /// The highest quorum certificate.
    pub fn high_qc(&self) -> &QuorumCert<S> {
        &self.high_qc
    }

    /// The last view voted or timed out in.
    pub fn last_voted_view(&self) -> View {
        self.last_voted_view
    }

    /// The leader of `view`.
    pub fn leader(&self, view: View) -> MemberIndex {
        self.members.leader(self.cfg.chain_id, self.cfg.epoch, view)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The committee.
    pub fn members(&self) -> &Members<S> {
        &self.members
    }

    /// A stored undecided block.
    pub fn pending_block(&self, hash: &Hash32) -> Option<&BlockRecord<S>> {
        self.blocks.get(hash)
    }

    /// Number of decided blocks still lacking a finality certificate.
    pub fn uncertified_count(&self) -> usize {
        self.uncertified.len()
    }

    /// When [`Replica::on_timer`] must next be called (absolute milliseconds).
    pub fn next_deadline(&self) -> u64 {
        let mut d = if self.timed_out { self.timeout_resend_ms } else { self.view_deadline_ms };
        if let Some(f) = self.fetching.values().map(|f| f.at_ms + self.cfg.fetch_retry_ms).min() {
            d = d.min(f);
        }
        if let Some(u) = self.uncertified.values().take(FINALITY_SIGN_BATCH).map(|u| u.last_action_ms + self.cfg.finality_retry_ms).min() {
            d = d.min(u);
        }
        d
    }

    // ----- inputs -----

    /// The local L1 head (already `confirmations` deep), used to bound proposals' `l1_block`.
    pub fn set_l1_head(&mut self, head: Option<u64>) {
        self.l1_head = head;
    }

    /// A message delivered by member `from` (the peer that sent or relayed it).
    pub fn on_message(&mut self, now: u64, from: MemberIndex, msg: Message<S>) -> Effects<S> {
        match msg {
            Message::Proposal(p) => self.handle_proposal(now, from, p, false),
            Message::Vote(v) => self.handle_vote(now, from, v),
            Message::Timeout(t) => self.handle_timeout(now, from, t),
            Message::Advance(a) => self.handle_advance(now, from, a),
            Message::Finality(f) => self.handle_finality_vote(now, from, f),
            Message::FinalityCert(c) => self.handle_finality_cert(from, c),
        }
        self.take()
    }

    /// The answer of member `from` to our `request`.
    pub fn on_response(&mut self, now: u64, from: MemberIndex, request: Request, response: Response<S>) -> Effects<S> {
        match (request, response) {
            (Request::Blocks { hash, .. }, Response::Blocks(records)) => self.handle_blocks(now, from, hash, records),
            (Request::Certificates { .. }, Response::Certificates(certs)) => {
                for c in certs {
                    self.handle_finality_cert(from, c);
                }
            }
            _ => self.fx.penalties.push((from, Offence::BadResponse)),
        }
        self.take()
    }

    /// A catch-up request to member `to` failed (no answer, peer gone): ask someone else.
    pub fn on_request_failed(&mut self, now: u64, to: MemberIndex, request: Request) -> Effects<S> {
        if let Request::Blocks { hash, .. } = request {
            if let Some(f) = self.fetching.get(&hash) {
                if f.asked == to {
                    let next = self.next_peer(to);
                    self.send_fetch(now, hash, next);
                }
            }
        }
        self.take()
    }

    /// Time passed: view timeouts, retransmissions, catch-up retries.
    pub fn on_timer(&mut self, now: u64) -> Effects<S> {
        if !self.timed_out && now >= self.view_deadline_ms {
            self.local_timeout(now);
        } else if self.timed_out && now >= self.timeout_resend_ms {
            // Still stuck: say it again (messages may have been lost).
            self.broadcast_timeout(now);
        }
        let due: Vec<(Hash32, MemberIndex)> = self
            .fetching
            .iter()
            .filter(|(_, f)| f.at_ms + self.cfg.fetch_retry_ms <= now)
            .map(|(h, f)| (*h, f.asked))
            .collect();
        for (hash, asked) in due {
            let next = self.next_peer(asked);
            self.send_fetch(now, hash, next);
        }
        self.finality_retries(now);
        self.take()
    }

    /// The leader's block for `view`, with `payload` from its mempool and its L1 head.
    pub fn propose(&mut self, now: u64, view: View, payload: Payload, l1_head: Option<u64>) -> Result<Effects<S>, ProposeError> {
        if view != self.view || self.leader(view) != self.me {
            return Err(ProposeError::NotLeader(view, self.view));
        }
        if self.proposed_view >= view || self.last_voted_view >= view {
            return Err(ProposeError::AlreadyActed(view));
        }
        payload.check(&self.cfg.limits)?;
        let justify = self.high_qc.clone();
        let tc = if follows(justify.view, view) {
            None
        } else {
            match &self.last_tc {
                Some(tc) if follows(tc.view, view) && tc.max_high_qc_view() <= justify.view => Some(tc.clone()),
                _ => return Err(ProposeError::NoParent),
            }
        };
        let parent = *self.header_of(&justify.block).ok_or(ProposeError::NoParent)?;
        let l1_block = l1_head.unwrap_or(parent.l1_block).max(parent.l1_block);
        let header = BlockHeader {
            chain_id: self.cfg.chain_id,
            height: parent.height + 1,
            view,
            timestamp_ms: now.max(parent.timestamp_ms),
            l1_block,
            parent: justify.block,
            payload_root: Hash32::ZERO,
        };
        let block = Arc::new(Block::assemble(header, payload));
        let signature = S::sign(&self.key, &proposal_digest(self.cfg.chain_id, view, &block.hash()));
        let proposal = Proposal { block, justify, tc, signature };
        self.proposed_view = view;
        self.fx.send.push((Target::All, Message::Proposal(proposal.clone())));
        self.handle_proposal(now, self.me, proposal, true);
        Ok(self.take())
    }

    // ----- proposals and votes (sections 4.2, 4.3) -----

    /// `own` is true only for the proposal this replica just made (its signature needs no check).
    fn handle_proposal(&mut self, now: u64, from: MemberIndex, p: Proposal<S>, own: bool) {
        let v = p.block.view();
        let hash = p.block.hash();
        if v > self.view.saturating_add(FUTURE_WINDOW) {
            self.fx.verdict = Verdict::Ignore;
            return;
        }
        if v < self.view || (v == self.view && self.proposals_seen.get(&v) == Some(&hash)) {
            self.fx.verdict = Verdict::Ignore;
            if !self.has_block(&hash) && (self.fetching.contains_key(&hash) || self.high_qc.block == hash) {
                // Late, but its block is certified and missing here (we formed the certificate
                // from votes that overtook it): keep it, no vote.
                self.insert_certified(now, p.block, p.justify);
            }
            return;
        }
        let leader = self.leader(v);
        if !own && !S::verify(self.members.verifier(), leader, &proposal_digest(self.cfg.chain_id, v, &hash), &p.signature) {
            self.reject(from, Offence::BadSignature);
            return;
        }
        if let Some(first) = self.proposals_seen.get(&v) {
            if *first != hash {
                self.fx.evidence.push(Evidence::ConflictingProposals { view: v, leader, first: *first, second: hash });
                self.reject(from, Offence::Equivocation);
            } else {
                self.fx.verdict = Verdict::Ignore;
            }
            return;
        }
        let h = p.block.header();
        let well_formed = h.chain_id == self.cfg.chain_id
            && h.parent == p.justify.block
            && follows(p.justify.height, h.height)
            && p.justify.view < v
            && match &p.tc {
                None => follows(p.justify.view, v),
                Some(tc) => follows(tc.view, v) && p.justify.view >= tc.max_high_qc_view(),
            };
        if !well_formed {
            self.reject(from, Offence::InvalidMessage);
            return;
        }
        if !self.verify_qc(&p.justify) {
            self.reject(from, Offence::BadSignature);
            return;
        }
        if let Some(tc) = &p.tc {
            if !self.verify_tc(tc) {
                self.reject(from, Offence::BadSignature);
                return;
            }
        }
        self.proposals_seen.insert(v, hash);
        while self.proposals_seen.len() > 64 {
            self.proposals_seen.pop_first();
        }
        // The justification moves us to view v (section 4.4).
        self.on_qc(now, p.justify.clone());
        if let Some(tc) = p.tc.clone() {
            self.on_tc(now, tc);
        }
        if self.has_block(&p.justify.block) {
            self.try_vote(now, from, p);
        } else {
            self.fetch(now, p.justify.block, Some(from));
            let list = self.waiting.entry(p.justify.block).or_default();
            list.push((from, p));
            while self.waiting.values().map(Vec::len).sum::<usize>() > MAX_WAITING {
                self.waiting.pop_first();
            }
        }
    }

    /// Stores a verified proposal whose parent is known and votes for it if the voting rule
    /// allows (section 4.2).
    fn try_vote(&mut self, now: u64, from: MemberIndex, p: Proposal<S>) {
        let v = p.block.view();
        let Some(parent) = self.header_of(&p.justify.block).copied() else { return };
        let h = *p.block.header();
        let consistent = follows(parent.height, h.height) && parent.view == p.justify.view && parent.height == p.justify.height;
        if !consistent {
            self.reject(from, Offence::InvalidMessage);
            return;
        }
        if parent.height < self.tip.block.height() {
            // Extends something older than what we decided: never vote for it.
            self.fx.verdict = Verdict::Ignore;
            return;
        }
        let hash = p.block.hash();
        if let std::collections::btree_map::Entry::Vacant(slot) = self.blocks.entry(hash) {
            let rec = BlockRecord { block: p.block.clone(), justify: p.justify.clone() };
            slot.insert(rec.clone());
            self.fx.store.push(rec);
        }
        let l1_max = match self.l1_head {
            Some(head) => head.saturating_add(self.cfg.l1_tolerance_blocks).max(parent.l1_block),
            None => parent.l1_block,
        };
        let acceptable = h.timestamp_ms >= parent.timestamp_ms
            && h.timestamp_ms <= now.saturating_add(self.cfg.max_clock_drift_ms)
            && h.l1_block >= parent.l1_block
            && h.l1_block <= l1_max;
        if acceptable && v == self.view && v > self.last_voted_view {
            self.last_voted_view = v;
            let hq = self.high_qc.clone();
            self.fx.safety = Some(SafetyState { last_voted_view: v, high_qc: hq });
            let signature = S::sign(&self.key, &vote_digest(self.cfg.chain_id, v, h.height, &hash));
            let vote = Vote { view: v, height: h.height, block: hash, signer: self.me, signature };
            self.fx.send.push((Target::All, Message::Vote(vote.clone())));
            self.add_vote(now, self.me, vote, true);
        }
        self.after_new_block(now, hash);
    }

    fn handle_vote(&mut self, now: u64, from: MemberIndex, vote: Vote<S>) {
        if vote.view < self.view.saturating_sub(STALE_WINDOW) {
            self.fx.penalties.push((from, Offence::Replay));
            return;
        }
        if vote.view < self.view || vote.view > self.view.saturating_add(VOTE_WINDOW) {
            return;
        }
        self.add_vote(now, from, vote, false);
    }

    fn add_vote(&mut self, now: u64, from: MemberIndex, vote: Vote<S>, verified: bool) {
        let key = (vote.view, vote.height, vote.block);
        let prev = self.voters.get(&vote.view).and_then(|m| m.get(&vote.signer)).copied();
        if let Some(prev) = prev {
            let chain_id = self.cfg.chain_id;
            let verifier = self.members.verifier();
            if prev == (vote.height, vote.block) {
                // The same statement again: a replay, or a forgery racing the real signature.
                if let Some(stored) = self.votes.get_mut(&key).and_then(|s| s.votes.get_mut(&vote.signer)) {
                    let digest = vote_digest(chain_id, vote.view, vote.height, &vote.block);
                    if reconcile::<S>(stored, vote.signature, from, verified, |sig| S::verify(verifier, vote.signer, &digest, sig), &mut self.fx.penalties) {
                        self.try_form_qc(now, key);
                    }
                }
                return;
            }
            // A different block: equivocation if both signatures are real.
            if !verified && !self.vote_signature_ok(&vote) {
                self.fx.penalties.push((from, Offence::BadSignature));
                return;
            }
            let old_key = (vote.view, prev.0, prev.1);
            let old_digest = vote_digest(chain_id, vote.view, prev.0, &prev.1);
            let stored = self.votes.get(&old_key).and_then(|s| s.votes.get(&vote.signer));
            let old_real = stored.is_some_and(|p| p.verified || S::verify(verifier, vote.signer, &old_digest, &p.signature));
            if old_real {
                self.fx.evidence.push(Evidence::ConflictingVotes { view: vote.view, signer: vote.signer, first: prev.1, second: vote.block });
                self.fx.penalties.push((from, Offence::Equivocation));
                return;
            }
            // The first one was forged in the signer's name: drop it, keep the real one.
            if let Some(p) = self.votes.get_mut(&old_key).and_then(|s| s.votes.remove(&vote.signer)) {
                self.fx.penalties.push((p.origin, Offence::BadSignature));
            }
            return self.insert_vote(now, from, vote, true);
        }
        self.insert_vote(now, from, vote, verified);
    }

    fn insert_vote(&mut self, now: u64, from: MemberIndex, vote: Vote<S>, verified: bool) {
        let key = (vote.view, vote.height, vote.block);
        let set = self.votes.entry(key).or_insert_with(|| VoteSet { votes: BTreeMap::new(), done: false });
        if set.done {
            return; // already certified: late votes change nothing
        }
        self.voters.entry(vote.view).or_default().insert(vote.signer, (vote.height, vote.block));
        set.votes.insert(vote.signer, PendingVote { signature: vote.signature, origin: from, verified });
        self.try_form_qc(now, key);
    }

    /// Votes are checked lazily (one aggregate check at quorum). Votes that never reached a
    /// quorum are checked one by one when their view is forgotten, so forgers are penalised
    /// even when their forgeries had no effect.
    fn audit_dropped_votes(&mut self, view: View) {
        let chain_id = self.cfg.chain_id;
        let verifier = self.members.verifier();
        for ((v, height, block), set) in self.votes.iter() {
            if *v + 1 >= view || set.done {
                continue;
            }
            let digest = vote_digest(chain_id, *v, *height, block);
            for (signer, p) in &set.votes {
                if !p.verified && !S::verify(verifier, *signer, &digest, &p.signature) {
                    self.fx.penalties.push((p.origin, Offence::BadSignature));
                }
            }
        }
    }

    fn vote_signature_ok(&self, vote: &Vote<S>) -> bool {
        S::verify(self.members.verifier(), vote.signer, &vote_digest(self.cfg.chain_id, vote.view, vote.height, &vote.block), &vote.signature)
    }

    /// Forms a certificate once the collected votes hold a quorum, checking their signatures in
    /// one aggregate (and one by one only if the aggregate fails, to find and penalise forgers).
    fn try_form_qc(&mut self, now: u64, (view, height, block): (View, Height, Hash32)) {
        let chain_id = self.cfg.chain_id;
        let Some(set) = self.votes.get_mut(&(view, height, block)) else { return };
        if set.done {
            return;
        }
        let digest = vote_digest(chain_id, view, height, &block);
        let Some(cert) = aggregate_verified::<S>(&self.members, &mut set.votes, &digest, &mut self.fx.penalties) else { return };
        set.done = true;
        self.verified_qcs.insert((view, height, block), cert.clone());
        let qc = QuorumCert { view, height, block, cert: Some(cert) };
        self.on_qc(now, qc);
    }

    /// A verified quorum certificate: raise the high QC, decide what it decides, enter the
    /// next view.
    fn on_qc(&mut self, now: u64, qc: QuorumCert<S>) {
        let qc = self.checked_copy(qc);
        if qc.view > self.high_qc.view {
            self.high_qc = qc.clone();
            self.fx.safety = Some(SafetyState { last_voted_view: self.last_voted_view, high_qc: qc.clone() });
            if !self.has_block(&qc.block) {
                // Votes overtook the proposal, or we were away: we need the block to extend it.
                self.fetch(now, qc.block, None);
            }
        }
        self.try_commit(now, qc.block, qc.height);
        if qc.view >= self.view {
            self.timeouts_in_row = 0;
            self.enter_view(now, qc.view.saturating_add(1));
        }
    }

    /// The two-chain rule (section 4.3): a certified block whose parent was proposed in the
    /// view just before decides that parent and its ancestors.
    ///
    /// `certified` must be the hash of a block certified by a verified quorum certificate.
    fn try_commit(&mut self, now: u64, certified: Hash32, height: Height) {
        if height <= self.tip.block.height() + 1 {
            return;
        }
        let Some(rec) = self.blocks.get(&certified) else {
            self.deferred_commits.insert(certified);
            self.fetch(now, certified, None);
            return;
        };
        let child_view = rec.block.view();
        let parent_hash = rec.block.header().parent;
        let parent_view = match self.header_of(&parent_hash) {
            Some(p) => p.view,
            None => {
                self.deferred_commits.insert(certified);
                self.fetch(now, parent_hash, None);
                return;
            }
        };
        if follows(parent_view, child_view) {
            self.commit_chain(now, parent_hash, certified);
        }
    }

    fn commit_chain(&mut self, now: u64, target: Hash32, certified: Hash32) {
        if target == self.tip.block.hash() {
            return;
        }
        let mut chain = Vec::new();
        let mut cursor = target;
        loop {
            if cursor == self.tip.block.hash() {
                break;
            }
            match self.blocks.get(&cursor) {
                Some(rec) if rec.block.height() > self.tip.block.height() => {
                    chain.push(rec.clone());
                    cursor = rec.block.header().parent;
                }
                Some(_) => return, // below our tip on another branch: never decided (safety)
                None => {
                    self.deferred_commits.insert(certified);
                    self.fetch(now, cursor, None);
                    return;
                }
            }
        }
        chain.reverse();
        let total = chain.len();
        for (i, rec) in chain.into_iter().enumerate() {
            let height = rec.block.height();
            let hash = rec.block.hash();
            let sign_now = total - i <= FINALITY_SIGN_BATCH;
            self.uncertified.insert(height, Uncertified { block: hash, signatures: BTreeMap::new(), signed: false, last_action_ms: now });
            if sign_now {
                self.sign_finality(now, height, hash);
            }
            self.absorb_early_finality(height);
            self.tip = rec.clone();
            self.fx.committed.push(rec);
        }
        if total > FINALITY_SIGN_BATCH {
            let from = self.tip.block.height() + 1 - total as u64;
            let peer = self.next_cert_peer();
            self.fx.requests.push((peer, Request::Certificates { from, max: CERT_BATCH }));
        }
        while self.uncertified.len() > MAX_UNCERTIFIED {
            self.uncertified.pop_first();
        }
        self.prune_after_commit();
    }

    /// Drops blocks that can no longer be decided: at or below the decided height, or on a
    /// branch that does not extend the decided block.
    fn prune_after_commit(&mut self) {
        let decided: BTreeSet<Hash32> = self.fx.committed.iter().map(|r| r.block.hash()).collect();
        let tip_height = self.tip.block.height();
        let mut by_height: Vec<(Height, Hash32)> = self.blocks.iter().map(|(h, r)| (r.block.height(), *h)).collect();
        by_height.sort();
        let tip_hash = self.tip.block.hash();
        let mut removed: BTreeSet<Hash32> = BTreeSet::new();
        for (height, hash) in by_height {
            let parent = self.blocks[&hash].block.header().parent;
            let dead = height <= tip_height
                || (height == tip_height + 1 && parent != tip_hash)
                || (parent != tip_hash && removed.contains(&parent));
            if dead {
                removed.insert(hash);
            }
        }
        for hash in removed {
            if let Some(rec) = self.blocks.remove(&hash) {
                // Decided blocks leave the map too, but they are not abandoned.
                if !decided.contains(&hash) && !rec.block.payload().is_empty() {
                    self.fx.abandoned.push(rec.block);
                }
            }
            self.waiting.remove(&hash);
            self.fetching.remove(&hash);
            self.deferred_commits.remove(&hash);
        }
    }

    // ----- timeouts and view synchronisation (section 4.4) -----

    fn local_timeout(&mut self, now: u64) {
        self.timed_out = true;
        if self.view > self.last_voted_view {
            self.last_voted_view = self.view;
        }
        self.fx.safety = Some(SafetyState { last_voted_view: self.last_voted_view, high_qc: self.high_qc.clone() });
        self.broadcast_timeout(now);
    }

    fn broadcast_timeout(&mut self, now: u64) {
        let t = self.make_timeout();
        self.timeout_resend_ms = now + self.cfg.base_timeout_ms;
        self.fx.send.push((Target::All, Message::Timeout(t.clone())));
        self.add_timeout(now, self.me, t);
    }

    fn make_timeout(&self) -> Timeout<S> {
        let digest = timeout_digest(self.cfg.chain_id, self.view, self.high_qc.view);
        Timeout { view: self.view, high_qc: self.high_qc.clone(), signer: self.me, signature: S::sign(&self.key, &digest) }
    }

    fn handle_timeout(&mut self, now: u64, from: MemberIndex, t: Timeout<S>) {
        if t.high_qc.view >= t.view {
            self.reject(from, Offence::InvalidMessage);
            return;
        }
        if t.view > self.view.saturating_add(FUTURE_WINDOW) {
            self.fx.verdict = Verdict::Ignore;
            return;
        }
        let digest = timeout_digest(self.cfg.chain_id, t.view, t.high_qc.view);
        if t.view < self.view {
            // Answered lately for this view or a later one: a replay, dropped unchecked.
            let period = self.cfg.base_timeout_ms / 2;
            if self.answered.get(&t.signer).is_some_and(|(v, at)| t.view <= *v && now < at.saturating_add(period)) {
                self.fx.verdict = Verdict::Ignore;
                return;
            }
            // The sender is behind: tell it how we got ahead (once its signature checks out).
            if S::verify(self.members.verifier(), t.signer, &digest, &t.signature) {
                self.answered.insert(t.signer, (t.view, now));
                let advance = Advance { high_qc: self.high_qc.clone(), tc: self.last_tc.clone().filter(|tc| tc.view > self.high_qc.view) };
                self.fx.send.push((Target::One(from), Message::Advance(advance)));
            } else {
                self.fx.penalties.push((from, Offence::BadSignature));
            }
            return;
        }
        if self.timeouts.get(&t.view).is_some_and(|m| m.contains_key(&t.signer)) {
            return; // retransmission
        }
        if !S::verify(self.members.verifier(), t.signer, &digest, &t.signature) {
            self.fx.penalties.push((from, Offence::BadSignature));
            return;
        }
        if t.high_qc.view > self.high_qc.view {
            // Only a certificate we can check may raise the bar a leader must meet.
            if !self.verify_qc(&t.high_qc) {
                self.fx.penalties.push((from, Offence::BadSignature));
                return;
            }
            self.on_qc(now, t.high_qc.clone());
        }
        self.add_timeout(now, from, t);
    }

    fn add_timeout(&mut self, now: u64, from: MemberIndex, t: Timeout<S>) {
        if t.view < self.view {
            return;
        }
        // One pending timeout per member: its latest.
        if let Some(prev) = self.latest_timeout_of.get(&t.signer).copied() {
            if prev > t.view {
                return;
            }
            if prev < t.view {
                if let Some(m) = self.timeouts.get_mut(&prev) {
                    m.remove(&t.signer);
                }
            }
        }
        self.latest_timeout_of.insert(t.signer, t.view);
        let view = t.view;
        self.timeouts.entry(view).or_default().insert(t.signer, TimeoutEntry { high_qc: t.high_qc, signature: t.signature, origin: from });
        self.timeouts.retain(|_, m| !m.is_empty());
        let entries = &self.timeouts[&view];
        let signers: Vec<MemberIndex> = entries.keys().copied().collect();
        let stake = self.members.stake_of(&signers);
        if view == self.view && !self.timed_out && self.members.exceeds_one_third(stake) {
            // More than a third gave up: at least one honest member did, so join them
            // (section 4.4, timeout amplification).
            self.local_timeout(now);
            return;
        }
        if self.members.is_quorum(stake) {
            self.form_tc(now, view);
        }
    }

    /// Aggregates the quorum of timeouts held for `view` into `TC(view)`, carrying a verified
    /// QC of the highest view its signers reported (section 4.4): ours if it is that high,
    /// otherwise the one the reporting timeout carried, checked now. A timeout whose QC fails
    /// is dropped and its sender penalised (its signer signed a certificate nobody has).
    fn form_tc(&mut self, now: u64, view: View) {
        loop {
            let Some(entries) = self.timeouts.get(&view) else { return };
            let signers: Vec<MemberIndex> = entries.keys().copied().collect();
            if !self.members.is_quorum(self.members.stake_of(&signers)) {
                return;
            }
            let max = entries.values().map(|e| e.high_qc.view).max().unwrap_or(0);
            let high_qc = if self.high_qc.view == max {
                self.high_qc.clone()
            } else {
                let Some((signer, e)) = entries.iter().find(|(_, e)| e.high_qc.view == max) else { return };
                let (signer, origin, qc) = (*signer, e.origin, e.high_qc.clone());
                if !self.verify_qc(&qc) {
                    self.fx.penalties.push((origin, Offence::BadSignature));
                    if let Some(m) = self.timeouts.get_mut(&view) {
                        m.remove(&signer);
                    }
                    continue;
                }
                self.checked_copy(qc)
            };
            let entries = &self.timeouts[&view];
            let sigs: Vec<(MemberIndex, S::Signature)> = entries.iter().map(|(i, e)| (*i, e.signature.clone())).collect();
            let high_qc_views: Vec<(MemberIndex, View)> = entries.iter().map(|(i, e)| (*i, e.high_qc.view)).collect();
            if let Some(cert) = S::aggregate(self.members.len(), &sigs) {
                self.on_tc(now, TimeoutCert { view, high_qc_views, high_qc, cert });
            }
            return;
        }
    }

    /// A verified TC (its QC verified too): adopt its QC, enter the view after it.
    fn on_tc(&mut self, now: u64, tc: TimeoutCert<S>) {
        self.on_qc(now, tc.high_qc.clone());
        if self.last_tc.as_ref().is_none_or(|l| l.view < tc.view) {
            self.last_tc = Some(tc.clone());
        }
        if tc.view >= self.view {
            self.timeouts_in_row = self.timeouts_in_row.saturating_add(1);
            self.enter_view(now, tc.view.saturating_add(1));
        }
    }

    fn handle_advance(&mut self, now: u64, from: MemberIndex, a: Advance<S>) {
        // Far ahead is only believable once we timed out (and so asked for help).
        let limit = if self.timed_out { View::MAX } else { self.view.saturating_add(FUTURE_WINDOW) };
        if a.high_qc.view > limit || a.tc.as_ref().is_some_and(|tc| tc.view > limit) {
            self.fx.verdict = Verdict::Ignore;
            return;
        }
        if a.high_qc.view >= self.view || a.high_qc.view > self.high_qc.view {
            if !self.verify_qc(&a.high_qc) {
                self.reject(from, Offence::BadSignature);
                return;
            }
            self.on_qc(now, a.high_qc);
        }
        if let Some(tc) = a.tc {
            if tc.view >= self.view {
                if !self.verify_tc(&tc) {
                    self.reject(from, Offence::BadSignature);
                    return;
                }
                self.on_tc(now, tc);
            }
        }
    }

    fn enter_view(&mut self, now: u64, view: View) {
        if view <= self.view {
            return;
        }
        self.view = view;
        self.timed_out = false;
        self.view_deadline_ms = now + self.cfg.timeout_ms(self.timeouts_in_row);
        if self.last_voted_view >= view {
            self.view_deadline_ms = now;
        }
        self.audit_dropped_votes(view);
        self.votes.retain(|(v, _, _), _| *v + 1 >= view);
        self.voters.retain(|v, _| *v + 1 >= view);
        self.timeouts.retain(|v, _| *v >= view);
        self.waiting.retain(|_, list| {
            list.retain(|(_, p)| p.block.view() >= view);
            !list.is_empty()
        });
        while self.verified_qcs.len() > 256 {
            self.verified_qcs.pop_first();
        }
        self.maybe_offer_slot();
    }

    fn maybe_offer_slot(&mut self) {
        let view = self.view;
        if self.leader(view) != self.me || self.slot_offered_view >= view || self.last_voted_view >= view {
            return;
        }
        let needs_tc = !follows(self.high_qc.view, view);
        if needs_tc && !self.last_tc.as_ref().is_some_and(|tc| follows(tc.view, view) && tc.max_high_qc_view() <= self.high_qc.view) {
            return;
        }
        let Some(parent) = self.header_of(&self.high_qc.block).copied() else { return };
        let mut uncommitted_transactions = false;
        let mut cursor = self.high_qc.block;
        while let Some(rec) = self.blocks.get(&cursor) {
            if !rec.block.payload().is_empty() {
                uncommitted_transactions = true;
                break;
            }
            cursor = rec.block.header().parent;
        }
        self.slot_offered_view = view;
        self.fx.proposal_slot = Some(ProposalSlot { view, parent, parent_hash: self.high_qc.block, uncommitted_transactions });
    }

    // ----- catch-up (section 4.5) -----

    fn fetch(&mut self, now: u64, hash: Hash32, hint: Option<MemberIndex>) {
        if self.fetching.contains_key(&hash) || self.has_block(&hash) {
            return;
        }
        let peer = match hint {
            Some(h) if h != self.me => h,
            _ => self.next_peer(self.leader(self.view)),
        };
        self.send_fetch(now, hash, peer);
    }

    fn send_fetch(&mut self, now: u64, hash: Hash32, peer: MemberIndex) {
        if peer == self.me {
            return;
        }
        let attempts = self.fetching.get(&hash).map_or(0, |f| f.attempts) + 1;
        if attempts > 3 * self.members.len() as u32 {
            // Nobody has it: give up (a later certificate will ask again if it matters).
            self.fetching.remove(&hash);
            return;
        }
        self.fetching.insert(hash, Fetch { asked: peer, at_ms: now, attempts });
        self.fx.requests.push((peer, Request::Blocks { hash, max: self.cfg.fetch_batch }));
    }

    fn next_peer(&self, after: MemberIndex) -> MemberIndex {
        let n = self.members.len() as MemberIndex;
        let mut p = (after + 1) % n;
        if p == self.me {
            p = (p + 1) % n;
        }
        p
    }

    fn next_cert_peer(&mut self) -> MemberIndex {
        self.cert_peer = self.next_peer(self.cert_peer);
        self.cert_peer
    }

    fn handle_blocks(&mut self, now: u64, from: MemberIndex, requested: Hash32, records: Vec<BlockRecord<S>>) {
        if !self.fetching.contains_key(&requested) {
            return; // unsolicited or already satisfied
        }
        let mut expected = requested;
        let mut inserted = Vec::new();
        for rec in records {
            if rec.block.hash() != expected {
                self.fx.penalties.push((from, Offence::BadResponse));
                break;
            }
            let h = *rec.block.header();
            if h.height <= self.tip.block.height() {
                break;
            }
            if h.chain_id != self.cfg.chain_id || rec.justify.block != h.parent || !follows(rec.justify.height, h.height) {
                self.fx.penalties.push((from, Offence::BadResponse));
                break;
            }
            expected = h.parent;
            self.fetching.remove(&rec.block.hash());
            if let std::collections::btree_map::Entry::Vacant(slot) = self.blocks.entry(rec.block.hash()) {
                slot.insert(rec.clone());
                self.fx.store.push(rec.clone());
                inserted.push(rec.block.hash());
            }
            if self.has_block(&expected) {
                break;
            }
        }
        if inserted.is_empty() {
            // Nothing useful: the timer asks the next peer after the retry delay.
            if let Some(f) = self.fetching.get_mut(&requested) {
                f.at_ms = now;
            }
            return;
        }
        if !self.has_block(&expected) && self.header_height_above_tip(&inserted) {
            self.fetching.remove(&requested);
            self.send_fetch(now, expected, from);
        }
        for hash in inserted.into_iter().rev() {
            self.after_new_block(now, hash);
        }
    }

    fn header_height_above_tip(&self, inserted: &[Hash32]) -> bool {
        inserted.last().and_then(|h| self.blocks.get(h)).is_some_and(|r| r.block.height() > self.tip.block.height() + 1)
    }

    /// Stores a block whose hash is certified (so it needs no other authentication).
    fn insert_certified(&mut self, now: u64, block: Arc<Block>, justify: QuorumCert<S>) {
        let h = block.header();
        if h.height <= self.tip.block.height() || justify.block != h.parent || !follows(justify.height, h.height) {
            return;
        }
        let hash = block.hash();
        let rec = BlockRecord { block, justify };
        self.blocks.insert(hash, rec.clone());
        self.fx.store.push(rec);
        self.after_new_block(now, hash);
    }

    /// A block became available: resume what waited for it.
    fn after_new_block(&mut self, now: u64, hash: Hash32) {
        self.fetching.remove(&hash);
        if let Some(list) = self.waiting.remove(&hash) {
            for (from, p) in list {
                if p.block.view() >= self.view {
                    self.try_vote(now, from, p);
                }
            }
        }
        // Certified blocks whose decision waited for missing ancestors.
        let deferred: Vec<Hash32> = std::mem::take(&mut self.deferred_commits).into_iter().collect();
        for d in deferred {
            match self.blocks.get(&d).map(|r| r.block.height()) {
                Some(height) => self.try_commit(now, d, height),
                None => {
                    if self.fetching.contains_key(&d) {
                        self.deferred_commits.insert(d);
                    }
                }
            }
        }
        self.maybe_offer_slot();
    }

    // ----- finality certificates (section 5) -----

    fn sign_finality(&mut self, now: u64, height: Height, block: Hash32) {
        let Some(u) = self.uncertified.get_mut(&height) else { return };
        let signature = S::sign(&self.key, &finality_digest(self.cfg.chain_id, height, &block));
        u.signed = true;
        u.last_action_ms = now;
        u.signatures.insert(self.me, PendingVote { signature: signature.clone(), origin: self.me, verified: true });
        self.fx.send.push((Target::All, Message::Finality(FinalityVote { height, block, signer: self.me, signature })));
        self.try_certify(height);
    }

    fn absorb_early_finality(&mut self, height: Height) {
        let keys: Vec<(Height, MemberIndex)> = self.early_finality.range((height, 0)..=(height, MemberIndex::MAX)).map(|(k, _)| *k).collect();
        for key in keys {
            if let Some((block, signature, origin)) = self.early_finality.remove(&key) {
                self.add_finality(origin, FinalityVote { height, block, signer: key.1, signature });
            }
        }
    }

    fn handle_finality_vote(&mut self, _now: u64, from: MemberIndex, f: FinalityVote<S>) {
        let tip = self.tip.block.height();
        if f.height > tip {
            if f.height <= tip + FINALITY_WINDOW {
                self.early_finality.insert((f.height, f.signer), (f.block, f.signature, from));
            }
            return;
        }
        if let Some(cert) = self.recent_certs.get(&f.height) {
            if cert.block == f.block && !S::signers(&cert.cert).contains(&f.signer) {
                // A peer still collecting: hand it the certificate.
                self.fx.send.push((Target::One(from), Message::FinalityCert(cert.clone())));
            }
            return;
        }
        self.add_finality(from, f);
    }

    fn add_finality(&mut self, from: MemberIndex, f: FinalityVote<S>) {
        let chain_id = self.cfg.chain_id;
        let Some(u) = self.uncertified.get_mut(&f.height) else { return };
        if u.block != f.block {
            let digest = finality_digest(chain_id, f.height, &f.block);
            if S::verify(self.members.verifier(), f.signer, &digest, &f.signature) {
                self.fx.evidence.push(Evidence::ConflictingFinality { height: f.height, signer: f.signer, decided: u.block, signed: f.block });
                self.fx.penalties.push((from, Offence::Equivocation));
            } else {
                self.fx.penalties.push((from, Offence::BadSignature));
            }
            return;
        }
        if let Some(stored) = u.signatures.get_mut(&f.signer) {
            // A retransmission, or a forgery racing the real signature.
            let digest = finality_digest(chain_id, f.height, &f.block);
            let verifier = self.members.verifier();
            let changed = stored.signature != f.signature
                && reconcile::<S>(stored, f.signature, from, false, |sig| S::verify(verifier, f.signer, &digest, sig), &mut self.fx.penalties);
            if changed {
                self.try_certify(f.height);
            }
            return;
        }
        u.signatures.insert(f.signer, PendingVote { signature: f.signature, origin: from, verified: false });
        self.try_certify(f.height);
    }

    fn try_certify(&mut self, height: Height) {
        let chain_id = self.cfg.chain_id;
        let Some(u) = self.uncertified.get_mut(&height) else { return };
        let digest = finality_digest(chain_id, height, &u.block);
        let block = u.block;
        let Some(cert) = aggregate_verified::<S>(&self.members, &mut u.signatures, &digest, &mut self.fx.penalties) else { return };
        self.uncertified.remove(&height);
        self.record_cert(FinalityCert { height, block, cert });
    }

    fn handle_finality_cert(&mut self, from: MemberIndex, c: FinalityCert<S>) {
        let Some(u) = self.uncertified.get(&c.height) else { return };
        if u.block != c.block {
            self.fx.penalties.push((from, Offence::BadResponse));
            return;
        }
        if !self.verify_finality_cert(&c) {
            self.fx.penalties.push((from, Offence::BadSignature));
            return;
        }
        self.uncertified.remove(&c.height);
        self.record_cert(c);
    }

    fn record_cert(&mut self, c: FinalityCert<S>) {
        self.recent_certs.insert(c.height, c.clone());
        while self.recent_certs.len() > RECENT_CERTS {
            self.recent_certs.pop_first();
        }
        self.fx.certified.push(c);
    }

    /// Checks a finality certificate: quorum of stake, aggregate signature over the finality
    /// digest.
    pub fn verify_finality_cert(&self, c: &FinalityCert<S>) -> bool {
        let digest = c.digest(self.cfg.chain_id);
        self.members.is_quorum(self.members.stake_of(&S::signers(&c.cert))) && S::verify_certificate(self.members.verifier(), &c.cert, &|_| digest)
    }

    fn finality_retries(&mut self, now: u64) {
        let retry = self.cfg.finality_retry_ms;
        let due: Vec<(Height, Hash32, bool)> = self
            .uncertified
            .iter()
            .take(FINALITY_SIGN_BATCH)
            .filter(|(_, u)| u.last_action_ms + retry <= now)
            .map(|(h, u)| (*h, u.block, u.signed))
            .collect();
        if due.is_empty() {
            return;
        }
        for (height, block, signed) in &due {
            if !signed {
                self.sign_finality(now, *height, *block);
            } else if let Some(u) = self.uncertified.get_mut(height) {
                u.last_action_ms = now;
                if let Some(own) = u.signatures.get(&self.me) {
                    let vote = FinalityVote { height: *height, block: *block, signer: self.me, signature: own.signature.clone() };
                    self.fx.send.push((Target::All, Message::Finality(vote)));
                }
            }
        }
        if self.members.len() > 1 {
            let peer = self.next_cert_peer();
            self.fx.requests.push((peer, Request::Certificates { from: due[0].0, max: CERT_BATCH }));
        }
    }

    // ----- helpers -----

    fn take(&mut self) -> Effects<S> {
        std::mem::take(&mut self.fx)
    }

    fn reject(&mut self, from: MemberIndex, offence: Offence) {
        self.fx.verdict = Verdict::Reject;
        self.fx.penalties.push((from, offence));
    }

    fn has_block(&self, hash: &Hash32) -> bool {
        *hash == self.tip.block.hash() || self.blocks.contains_key(hash)
    }

    fn header_of(&self, hash: &Hash32) -> Option<&BlockHeader> {
        if *hash == self.tip.block.hash() {
            return Some(self.tip.block.header());
        }
        self.blocks.get(hash).map(|r| r.block.header())
    }

    fn verify_qc(&mut self, qc: &QuorumCert<S>) -> bool {
        let Some(cert) = &qc.cert else {
            let genesis = Block::genesis(self.cfg.chain_id, self.cfg.genesis_timestamp_ms).hash();
            return qc.view == 0 && qc.height == 0 && qc.block == genesis;
        };
        if qc.view == 0 {
            return false;
        }
        if self.verified_qcs.contains_key(&(qc.view, qc.height, qc.block)) {
            return true;
        }
        if let Some(h) = self.header_of(&qc.block) {
            if h.view != qc.view || h.height != qc.height {
                return false;
            }
        }
        let digest = vote_digest(self.cfg.chain_id, qc.view, qc.height, &qc.block);
        let ok = self.members.is_quorum(self.members.stake_of(&S::signers(cert)))
            && S::verify_certificate(self.members.verifier(), cert, &|_| digest);
        if ok {
            self.verified_qcs.insert((qc.view, qc.height, qc.block), cert.clone());
        }
        ok
    }

    /// A verified `qc` with the certificate this replica checked (or formed) itself for the
    /// same statement: what it re-sends (its high QC, a TC's QC) then verifies at every peer,
    /// even if the copy it received had the statement of a known QC and a forged certificate.
    fn checked_copy(&self, qc: QuorumCert<S>) -> QuorumCert<S> {
        match self.verified_qcs.get(&(qc.view, qc.height, qc.block)) {
            Some(cert) => QuorumCert { cert: Some(cert.clone()), ..qc },
            None => qc,
        }
    }

    /// A TC verifies if its signers hold a quorum, each signed its timeout for `tc.view` with
    /// the `high_qc_view` listed (below `tc.view`), and it carries a verified QC of exactly the
    /// highest of those views (section 3).
    fn verify_tc(&mut self, tc: &TimeoutCert<S>) -> bool {
        let signers: Vec<MemberIndex> = tc.high_qc_views.iter().map(|(s, _)| *s).collect();
        if signers != S::signers(&tc.cert) || tc.high_qc_views.iter().any(|(_, v)| *v >= tc.view) {
            return false;
        }
        if tc.high_qc.view != tc.max_high_qc_view() {
            return false;
        }
        if !self.members.is_quorum(self.members.stake_of(&signers)) {
            return false;
        }
        let chain_id = self.cfg.chain_id;
        let view = tc.view;
        let lookup = |i: MemberIndex| {
            let hv = tc.high_qc_views.iter().find(|(s, _)| *s == i).map(|(_, v)| *v).unwrap_or(u64::MAX);
            timeout_digest(chain_id, view, hv)
        };
        S::verify_certificate(self.members.verifier(), &tc.cert, &lookup) && self.verify_qc(&tc.high_qc)
    }
}

/// Whether `next` is `prev + 1`, without overflowing on the numbers peers send.
fn follows(prev: u64, next: u64) -> bool {
    prev.checked_add(1) == Some(next)
}

/// A second signature from the same member for a statement we hold one for. Identical bytes are
/// a replay (penalised). Otherwise the new one is checked: if it is real and the stored one is
/// not (or was never checked), the real one replaces it. Returns whether the stored entry changed.
fn reconcile<S: Scheme>(
    stored: &mut PendingVote<S>,
    new: S::Signature,
    from: MemberIndex,
    new_verified: bool,
    verify: impl Fn(&S::Signature) -> bool,
    penalties: &mut Vec<(MemberIndex, Offence)>,
) -> bool {
    if stored.signature == new {
        penalties.push((from, Offence::Replay));
        return false;
    }
    if !new_verified && !verify(&new) {
        penalties.push((from, Offence::BadSignature));
        return false;
    }
    if stored.verified || verify(&stored.signature) {
        stored.verified = true;
        return false; // two valid signatures of one statement: keep the first
    }
    penalties.push((stored.origin, Offence::BadSignature));
    *stored = PendingVote { signature: new, origin: from, verified: true };
    true
}

/// Aggregates the collected signatures once they hold a quorum and verifies the aggregate;
/// if it fails, verifies each unverified signature, drops and penalises the bad ones, and
/// tries again. Returns the certificate when a verified quorum exists.
fn aggregate_verified<S: Scheme>(
    members: &Members<S>,
    sigs: &mut BTreeMap<MemberIndex, PendingVote<S>>,
    digest: &[u8; 32],
    penalties: &mut Vec<(MemberIndex, Offence)>,
) -> Option<S::Certificate> {
    let signers: Vec<MemberIndex> = sigs.keys().copied().collect();
    if !members.is_quorum(members.stake_of(&signers)) {
        return None;
    }
    let list: Vec<(MemberIndex, S::Signature)> = sigs.iter().map(|(i, p)| (*i, p.signature.clone())).collect();
    if let Some(cert) = S::aggregate(members.len(), &list) {
        if sigs.values().all(|p| p.verified) || S::verify_certificate(members.verifier(), &cert, &|_| *digest) {
            for p in sigs.values_mut() {
                p.verified = true;
            }
            return Some(cert);
        }
    }
    // Someone forged: find who.
    let bad: Vec<MemberIndex> =
        sigs.iter().filter(|(i, p)| !p.verified && !S::verify(members.verifier(), **i, digest, &p.signature)).map(|(i, _)| *i).collect();
    for i in &bad {
        if let Some(p) = sigs.remove(i) {
            penalties.push((p.origin, Offence::BadSignature));
        }
    }
    for p in sigs.values_mut() {
        p.verified = true;
    }
    let signers: Vec<MemberIndex> = sigs.keys().copied().collect();
    if bad.is_empty() || !members.is_quorum(members.stake_of(&signers)) {
        return None;
    }
    let list: Vec<(MemberIndex, S::Signature)> = sigs.iter().map(|(i, p)| (*i, p.signature.clone())).collect();
    S::aggregate(members.len(), &list)
}
