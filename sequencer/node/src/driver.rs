//! The consensus driver: the one task that owns the [`Replica`], feeds it network messages,
//! timer ticks and the leader's payloads, and carries out its [`Effects`] in the order the core
//! requires (disk sync first, then the network).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consensus::{Bls, Effects, Evidence, Message, ProposalSlot, Replica, Request, Response, Target};
use sequencer_p2p::{Event, GossipId, Network, Peer, Topic};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::l1::L1HeadSource;
use crate::metrics::Kind;
use crate::node::Shared;

/// Wall-clock milliseconds (block timestamps and consensus timers use it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What reaches the driver.
pub enum Input {
    /// A proposal from gossip (judged back to the gossip layer).
    Proposal { source: u16, id: GossipId, via: Peer, data: Vec<u8> },
    /// A direct consensus message.
    Direct { from: u16, data: Vec<u8> },
    /// A catch-up answer (or failure).
    Response { from: u16, id: u64, result: Result<Vec<u8>, String> },
}

/// Leader pacing.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Least time between a block and its child.
    pub min_block_interval_ms: u64,
    /// Wait before an empty block.
    pub idle_block_interval_ms: u64,
}

/// The driver.
pub struct Driver {
    replica: Replica<Bls>,
    shared: Arc<Shared>,
    net: Network,
    l1: Arc<dyn L1HeadSource>,
    pacing: Pacing,
    slot: Option<ProposalSlot>,
    requests: HashMap<u64, (u16, Request)>,
    next_request: u64,
    certified_ahead: BTreeSet<u64>,
    /// Timestamps of recently decided blocks (certification latency without re-reading them).
    decided_at: BTreeMap<u64, u64>,
}

impl Driver {
    /// A driver around a replica restored from `shared.store`.
    pub fn new(replica: Replica<Bls>, shared: Arc<Shared>, net: Network, l1: Arc<dyn L1HeadSource>, pacing: Pacing) -> Self {
        Driver { replica, shared, net, l1, pacing, slot: None, requests: HashMap::new(), next_request: 0, certified_ahead: BTreeSet::new(), decided_at: BTreeMap::new() }
    }

    /// Runs until `shutdown`. A disk failure stops the node (it must not vote without having
    /// persisted its safety state); it is returned as the error.
    pub async fn run(mut self, mut inputs: mpsc::Receiver<Input>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.replica.set_l1_head(self.l1.head());
        let fx = self.replica.start(now_ms());
        self.apply(fx)?;
        loop {
            let now = now_ms();
            let deadline = self.replica.next_deadline();
            let timer = Instant::now() + Duration::from_millis(deadline.saturating_sub(now));
            let propose_at = self.propose_at(now).map(|t| Instant::now() + Duration::from_millis(t.saturating_sub(now)));
            let notify = self.shared.mempool_notify.clone();
            tokio::select! {
                _ = shutdown.cancelled() => break,
                input = inputs.recv() => match input {
                    Some(i) => self.on_input(i)?,
                    None => break,
                },
                _ = tokio::time::sleep_until(timer.into()) => {
                    self.replica.set_l1_head(self.l1.head());
                    let fx = self.replica.on_timer(now_ms());
                    self.apply(fx)?;
                }
                _ = sleep_opt(propose_at) => self.propose()?,
                // New transactions may make an idle leader propose sooner.
                _ = notify.notified(), if self.slot.is_some() => {}
            }
        }
        tracing::info!("consensus driver stopped");
        Ok(())
    }

    fn on_input(&mut self, input: Input) -> anyhow::Result<()> {
        let ctx = self.shared.store.wire_context();
        match input {
            Input::Proposal { source, id, via, data } => match Message::<Bls>::decode(&data, &ctx) {
                Ok(msg @ Message::Proposal(_)) => {
                    if let Message::Proposal(p) = &msg {
                        let h = p.block.header();
                        tracing::debug!(view = h.view, height = h.height, txs = p.block.payload().tx_count(), bytes = data.len(), age_ms = now_ms().saturating_sub(h.timestamp_ms), "proposal received");
                    }
                    self.replica.set_l1_head(self.l1.head());
                    let fx = self.replica.on_message(now_ms(), source, msg);
                    let verdict = match fx.verdict {
                        consensus::Verdict::Accept => sequencer_p2p::Verdict::Accept,
                        consensus::Verdict::Ignore => sequencer_p2p::Verdict::Ignore,
                        consensus::Verdict::Reject => sequencer_p2p::Verdict::Reject,
                    };
                    self.apply(fx)?;
                    self.net.report(id, via, verdict);
                }
                Ok(_) | Err(_) => {
                    self.net.report(id, via, sequencer_p2p::Verdict::Reject);
                    self.malformed(source, "proposal");
                }
            },
            Input::Direct { from, data } => match Message::<Bls>::decode(&data, &ctx) {
                Ok(Message::Proposal(_)) | Err(_) => self.malformed(from, "direct"),
                Ok(msg) => {
                    let fx = self.replica.on_message(now_ms(), from, msg);
                    self.apply(fx)?;
                }
            },
            Input::Response { from, id, result } => {
                let Some((to, request)) = self.requests.remove(&id) else { return Ok(()) };
                let fx = match result.map(|b| Response::<Bls>::decode(&b, &ctx)) {
                    Ok(Ok(resp)) => self.replica.on_response(now_ms(), from, request, resp),
                    Ok(Err(_)) => {
                        self.malformed(from, "response");
                        self.replica.on_request_failed(now_ms(), to, request)
                    }
                    Err(e) => {
                        tracing::debug!(peer = to, "catch-up request failed: {e}");
                        self.replica.on_request_failed(now_ms(), to, request)
                    }
                };
                self.apply(fx)?;
            }
        }
        Ok(())
    }

    fn malformed(&self, from: u16, channel: &str) {
        self.shared.metrics.malformed.get_or_create(&Kind::of(channel)).inc();
        self.shared.metrics.penalties.get_or_create(&Kind::of("malformed")).inc();
        self.net.penalise(from, 50, "malformed message");
    }

    /// When the leader should propose: promptly when there is something to order (after the
    /// minimum block interval), otherwise after the idle interval.
    fn propose_at(&mut self, now: u64) -> Option<u64> {
        let slot = self.slot.as_ref()?;
        if slot.view != self.replica.view() {
            self.slot = None;
            return None;
        }
        let parent = slot.parent.timestamp_ms;
        let busy = slot.uncommitted_transactions || self.shared.mempool.lock().expect("mempool lock").has_waiting();
        let wait = if busy { self.pacing.min_block_interval_ms } else { self.pacing.idle_block_interval_ms };
        // Measured from the parent's timestamp, but never more than `wait` from now (clock skew).
        Some(parent.saturating_add(wait).clamp(now, now + wait))
    }

    fn propose(&mut self) -> anyhow::Result<()> {
        let Some(slot) = self.slot.take() else { return Ok(()) };
        let started = Instant::now();
        let payload = self.shared.mempool.lock().expect("mempool lock").select(&self.replica.config().limits);
        tracing::debug!(view = slot.view, txs = payload.tx_count(), select_ms = started.elapsed().as_millis() as u64, "proposing");
        let l1 = self.l1.head();
        self.replica.set_l1_head(l1);
        match self.replica.propose(now_ms(), slot.view, payload, l1) {
            Ok(fx) => {
                self.shared.metrics.proposed_blocks.inc();
                self.apply(fx)
            }
            Err(e) => {
                tracing::debug!(view = slot.view, "no proposal: {e}");
                Ok(())
            }
        }
    }

    /// Carries out effects: disk (synced) first, then the network, then the rest.
    fn apply(&mut self, fx: Effects<Bls>) -> anyhow::Result<()> {
        let shared = self.shared.clone();
        // The decided blocks' transaction hashes: the disk forgets them as admitted, the pool as
        // pending. Computed once, here.
        let decided_txs: Vec<Vec<_>> =
            fx.committed.iter().map(|rec| rec.block.payload().transactions().map(|(ns, tx)| sequencer_mempool::tx_hash(ns, tx)).collect()).collect();
        if fx.needs_sync() {
            let started = Instant::now();
            let flat: Vec<_> = decided_txs.concat();
            tokio::task::block_in_place(|| shared.store.apply_deciding(&fx, &flat)).map_err(|e| anyhow::anyhow!("cannot persist consensus state: {e}"))?;
            tracing::debug!(ms = started.elapsed().as_millis() as u64, blocks = fx.store.len(), decided = fx.committed.len(), "disk sync");
        }
        for (target, msg) in &fx.send {
            if matches!(msg, Message::Timeout(t) if t.signer == self.replica.me()) {
                shared.metrics.timeouts.inc();
            }
            let bytes = msg.encode();
            match (target, msg) {
                (Target::All, Message::Proposal(_)) => self.net.publish(Topic::Proposals, bytes),
                (Target::All, _) => {
                    for m in 0..self.replica.members().len() as u16 {
                        if m != self.replica.me() {
                            self.net.send(m, bytes.clone());
                        }
                    }
                }
                (Target::One(m), _) => self.net.send(*m, bytes),
            }
        }
        for (to, request) in &fx.requests {
            self.next_request += 1;
            self.requests.insert(self.next_request, (*to, *request));
            self.net.request(*to, self.next_request, request.encode());
        }
        if self.requests.len() > 10_000 {
            let min = self.next_request - 10_000;
            self.requests.retain(|k, _| *k > min);
        }
        for (peer, offence) in &fx.penalties {
            shared.metrics.penalties.get_or_create(&Kind::of(offence.name())).inc();
            self.net.penalise(*peer, offence.weight(), offence.name());
        }
        for e in &fx.evidence {
            let kind = match e {
                Evidence::ConflictingProposals { .. } => "proposals",
                Evidence::ConflictingVotes { .. } => "votes",
                Evidence::ConflictingFinality { .. } => "finality",
            };
            shared.metrics.equivocations.get_or_create(&Kind::of(kind)).inc();
            tracing::warn!("equivocation detected: {e:?}");
        }
        if let Some(slot) = fx.proposal_slot {
            self.slot = Some(slot);
        }
        {
            let mut pool = shared.mempool.lock().expect("mempool lock");
            for rec in &fx.store {
                pool.included(&rec.block);
            }
            for b in &fx.abandoned {
                pool.abandoned(b);
            }
            for (rec, hashes) in fx.committed.iter().zip(&decided_txs) {
                pool.decided_hashed(&rec.block, hashes);
            }
            let s = pool.stats();
            shared.metrics.mempool_txs.set(s.waiting_txs as i64);
            shared.metrics.mempool_bytes.set(s.waiting_bytes as i64);
        }
        let now = now_ms();
        for rec in &fx.committed {
            let b = &rec.block;
            shared.metrics.decided_blocks.inc();
            shared.metrics.decided_txs.inc_by(b.payload().tx_count() as u64);
            shared.metrics.decided_bytes.inc_by(b.payload().byte_len() as u64);
            shared.metrics.decide_latency.observe(now.saturating_sub(b.header().timestamp_ms) as f64 / 1e3);
            self.decided_at.insert(b.height(), b.header().timestamp_ms);
            tracing::debug!(height = b.height(), view = b.view(), txs = b.payload().tx_count(), hash = %b.hash(), "decided");
        }
        if !fx.certified.is_empty() {
            let mut through = *shared.certified.borrow();
            for c in &fx.certified {
                if c.height > through {
                    self.certified_ahead.insert(c.height);
                }
                if let Some(ts) = self.decided_at.remove(&c.height) {
                    shared.metrics.certify_latency.observe(now.saturating_sub(ts) as f64 / 1e3);
                }
            }
            while self.decided_at.len() > 4096 {
                self.decided_at.pop_first();
            }
            while self.certified_ahead.remove(&(through + 1)) {
                through += 1;
            }
            shared.metrics.certified_height.set(through as i64);
            shared.certified.send_if_modified(|c| {
                let changed = *c != through;
                *c = through;
                changed
            });
        }
        let decided = self.replica.committed().block.height();
        shared.metrics.decided_height.set(decided as i64);
        shared.metrics.view.set(self.replica.view() as i64);
        shared.status.send_if_modified(|s| {
            let new = crate::node::ConsensusStatus { view: self.replica.view(), leader: self.replica.leader(self.replica.view()), decided };
            let changed = *s != new;
            *s = new;
            changed
        });
        Ok(())
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => futures::future::pending().await,
    }
}

/// Splits network events: proposals, direct messages and answers go to the driver; transaction
/// batches into the mempool; catch-up questions are answered from disk.
pub async fn route(mut events: mpsc::Receiver<Event>, to_driver: mpsc::Sender<Input>, shared: Arc<Shared>, net: Network) {
    while let Some(ev) = events.recv().await {
        match ev {
            Event::Gossip { topic: Topic::Proposals, source, id, via, data } => {
                if to_driver.send(Input::Proposal { source, id, via, data }).await.is_err() {
                    break;
                }
            }
            Event::Gossip { topic: Topic::Transactions, source, id, via, data } => {
                let verdict = crate::txgossip::ingest(&shared, &data);
                if verdict == sequencer_p2p::Verdict::Reject {
                    shared.metrics.malformed.get_or_create(&Kind::of("transactions")).inc();
                    net.penalise(source, 50, "malformed transaction batch");
                }
                net.report(id, via, verdict);
            }
            Event::Direct { from, data } => {
                if to_driver.send(Input::Direct { from, data }).await.is_err() {
                    break;
                }
            }
            Event::Response { from, id, result } => {
                if to_driver.send(Input::Response { from, id, result }).await.is_err() {
                    break;
                }
            }
            Event::Request { from, key, data } => {
                let shared = shared.clone();
                let net = net.clone();
                tokio::task::spawn_blocking(move || {
                    let answer = match Request::decode(&data) {
                        Ok(req) => consensus::serve::<Bls>(&req, &shared.store).encode(),
                        Err(_) => {
                            net.penalise(from, 50, "malformed catch-up request");
                            Vec::new()
                        }
                    };
                    net.respond(key, answer);
                });
            }
            Event::Connected(_) | Event::Disconnected(_) => {
                shared.metrics.peers.set(net.stats().connected.load(std::sync::atomic::Ordering::Relaxed) as i64);
            }
            Event::Banned(m) => {
                shared.metrics.bans.inc();
                tracing::warn!(member = m, "peer banned");
            }
        }
    }
}
