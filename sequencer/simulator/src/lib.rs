//! A deterministic simulator for the consensus core.
//!
//! N replicas ([`consensus::Replica`]) run on a virtual clock over a seeded network that delays,
//! drops and reorders messages, cuts links (partitions), crashes nodes and restarts them from
//! what they had persisted, and lets up to f Byzantine members equivocate as leaders, vote for
//! conflicting blocks, forge and replay messages. Every message goes through the wire codec.
//! After every step the invariants of `docs/consensus.md` section 7 are checked:
//!
//! - agreement: no two honest replicas decide different blocks at one height, and each
//!   replica's decided blocks form one hash chain;
//! - no honest replica signs two votes in one view, or a vote after timing out in that view;
//! - every finality certificate verifies and names the decided block;
//! - honest replicas never penalise each other for forgery or invalid messages;
//! - liveness: once the network heals with at most f members down, every live honest replica
//!   decides new blocks and certifies every block decided before the heal.
//!
//! A run is a pure function of `(scenario, seed)`: the same pair always gives the same trace.

pub mod ed25519;
pub mod memo;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;
use std::sync::Arc;

use consensus::{
    serve, BlockRecord, BlockSource, Config, Effects, FinalityCert, FinalityVote, Height, MemberIndex, Members, Message, Offence,
    Payload, Proposal, QuorumCert, Replica, Request, Response, Restored, SafetyState, Scheme, Target, Timeout, View, Vote,
    WireContext,
};
use protocol::hash::{keccak256, keccak256_concat};
use protocol::Hash32;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use ed25519::Ed25519;
pub use memo::Memoized;

/// A scheme the simulator can make deterministic keys for.
pub trait SimScheme: Scheme {
    /// Key `i` of the run seeded with `seed`.
    fn keygen(seed: u64, i: usize) -> Self::SecretKey;
}

impl SimScheme for consensus::Bls {
    fn keygen(seed: u64, i: usize) -> Self::SecretKey {
        committee::SecretKey::from_ikm(&keccak256(format!("sim/{seed}/{i}").as_bytes())).expect("32 bytes of key material")
    }
}

impl<S: SimScheme> SimScheme for Memoized<S> {
    fn keygen(seed: u64, i: usize) -> Self::SecretKey {
        S::keygen(seed, i)
    }
}

impl SimScheme for Ed25519 {
    fn keygen(seed: u64, i: usize) -> Self::SecretKey {
        ed25519_dalek::SigningKey::from_bytes(&keccak256(format!("sim/{seed}/{i}").as_bytes()))
    }
}

/// The fault patterns the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Four honest replicas, random delays, no faults.
    Normal,
    /// Heavy-tailed delays (reordering) and 20% message loss until the heal.
    Lossy,
    /// Changing partitions (including ones with no quorum side) until the heal.
    Partition,
    /// Crashes and restarts from disk (sometimes between the disk sync and the send), more
    /// than f at a time; at most f stay down after the heal.
    Crash,
    /// One equivocating leader (two blocks per view it leads) that also double-votes.
    Equivocation,
    /// One Byzantine member doing everything at once: equivocation, votes for conflicting and
    /// made-up blocks, forged signatures, replays, low timeouts, false finality signatures;
    /// with loss and partitions.
    Byzantine,
    /// Unequal stakes (2,2,1,1,1) with the heaviest-but-below-a-third member Byzantine.
    Weighted,
    /// Seven members: one Byzantine, crashes, partitions and loss together.
    Mixed,
    /// Outside the protocol's assumptions, to show the checker catches violations: two of
    /// four members Byzantine (half the stake) with the two honest ones partitioned apart.
    /// Agreement can and does break; not part of [`Scenario::ALL`].
    TooManyFaulty,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 8] = [
        Scenario::Normal,
        Scenario::Lossy,
        Scenario::Partition,
        Scenario::Crash,
        Scenario::Equivocation,
        Scenario::Byzantine,
        Scenario::Weighted,
        Scenario::Mixed,
    ];

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Normal => "normal",
            Scenario::Lossy => "lossy",
            Scenario::Partition => "partition",
            Scenario::Crash => "crash",
            Scenario::Equivocation => "equivocation",
            Scenario::Byzantine => "byzantine",
            Scenario::Weighted => "weighted",
            Scenario::Mixed => "mixed",
            Scenario::TooManyFaulty => "too-many-faulty",
        }
    }

    /// Parses [`Scenario::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().chain([Scenario::TooManyFaulty]).find(|x| x.name() == s)
    }
}

/// The shape of one run, derived from the scenario and the seed.
#[derive(Debug, Clone)]
struct Params {
    stakes: Vec<u64>,
    byzantine: BTreeSet<usize>,
    equivocate_only: bool,
    heal_ms: u64,
    end_ms: u64,
    delay_ms: (u64, u64),
    tail_rate: f64,
    drop_rate: f64,
    partitions: bool,
    crashes: bool,
    /// Byzantine members run one honest-looking replica per side of a permanent split of the
    /// honest members (the classic attack when faulty stake reaches a third).
    double_agents: bool,
}

impl Params {
    fn of(scenario: Scenario, rng: &mut ChaCha8Rng) -> Self {
        let base = Params {
            stakes: vec![1; 4],
            byzantine: BTreeSet::new(),
            equivocate_only: false,
            heal_ms: 4_000,
            end_ms: 12_000,
            delay_ms: (2, 40),
            tail_rate: 0.0,
            drop_rate: 0.0,
            partitions: false,
            crashes: false,
            double_agents: false,
        };
        match scenario {
            Scenario::Normal => Params { heal_ms: 0, end_ms: 5_000, ..base },
            Scenario::Lossy => Params { tail_rate: 0.1, drop_rate: 0.2, ..base },
            Scenario::Partition => Params { partitions: true, ..base },
            Scenario::Crash => Params { crashes: true, ..base },
            Scenario::Equivocation => {
                Params { byzantine: [rng.random_range(0..4)].into(), equivocate_only: true, heal_ms: 0, end_ms: 8_000, ..base }
            }
            Scenario::Byzantine => {
                Params { byzantine: [rng.random_range(0..4)].into(), tail_rate: 0.05, drop_rate: 0.05, partitions: true, ..base }
            }
            Scenario::Weighted => {
                Params { stakes: vec![2, 2, 1, 1, 1], byzantine: [rng.random_range(0..2)].into(), tail_rate: 0.05, drop_rate: 0.1, ..base }
            }
            Scenario::TooManyFaulty => Params {
                byzantine: [0, 1].into(),
                double_agents: true,
                heal_ms: 0,
                end_ms: 5_000,
                ..base
            },
            Scenario::Mixed => Params {
                stakes: vec![1; 7],
                byzantine: [rng.random_range(0..7)].into(),
                tail_rate: 0.05,
                drop_rate: 0.1,
                partitions: true,
                crashes: true,
                ..base
            },
        }
    }
}

/// What went wrong in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two honest replicas decided different blocks at one height.
    Agreement {
        /// The height.
        height: Height,
        /// One block.
        first: Hash32,
        /// The other.
        second: Hash32,
        /// The replica that decided the second.
        node: usize,
    },
    /// A replica's decided blocks do not chain.
    BrokenChain {
        /// The replica.
        node: usize,
        /// Where.
        height: Height,
    },
    /// An honest replica signed two votes in one view.
    DoubleVote {
        /// The replica.
        node: usize,
        /// The view.
        view: View,
    },
    /// An honest replica voted in a view after timing out in it.
    VoteAfterTimeout {
        /// The replica.
        node: usize,
        /// The view.
        view: View,
    },
    /// A finality certificate that does not verify or names another block.
    BadCertificate {
        /// The replica that produced it.
        node: usize,
        /// Its height.
        height: Height,
    },
    /// An honest replica penalised another honest one for something only a faulty one does.
    FalsePenalty {
        /// Who penalised.
        node: usize,
        /// Who was penalised.
        peer: usize,
        /// For what.
        offence: &'static str,
    },
    /// After the heal, a live honest replica did not decide new blocks in time.
    Liveness {
        /// The replica.
        node: usize,
        /// Its decided height at the end.
        height: Height,
        /// The height it had to reach.
        needed: Height,
    },
    /// After the heal, a live honest replica still lacks a finality certificate for a block
    /// decided before the heal.
    Certification {
        /// The replica.
        node: usize,
        /// The first height without a certificate.
        height: Height,
    },
    /// A decided block was reported abandoned (its transactions would be ordered twice).
    AbandonedDecided {
        /// The replica.
        node: usize,
        /// The height.
        height: Height,
    },
    /// A message did not survive encoding and decoding.
    Codec(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Agreement { height, first, second, node } => {
                write!(f, "agreement: node {node} decided {second} at height {height}, another decided {first}")
            }
            Violation::BrokenChain { node, height } => write!(f, "node {node}: decided blocks do not chain at height {height}"),
            Violation::DoubleVote { node, view } => write!(f, "node {node} signed two votes in view {view}"),
            Violation::VoteAfterTimeout { node, view } => write!(f, "node {node} voted in view {view} after timing out in it"),
            Violation::BadCertificate { node, height } => write!(f, "node {node} produced a bad finality certificate at height {height}"),
            Violation::FalsePenalty { node, peer, offence } => write!(f, "honest node {node} penalised honest node {peer} for {offence}"),
            Violation::Liveness { node, height, needed } => {
                write!(f, "liveness: node {node} decided up to {height} after the heal, needed {needed}")
            }
            Violation::Certification { node, height } => write!(f, "node {node} has no finality certificate for height {height}"),
            Violation::AbandonedDecided { node, height } => write!(f, "node {node} reported decided block {height} as abandoned"),
            Violation::Codec(e) => write!(f, "codec: {e}"),
        }
    }
}

/// A failed run, with what is needed to replay it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// Simulated time of the violation.
    pub at_ms: u64,
    /// What broke.
    pub violation: Violation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scenario {} seed {} at {} ms: {} (replay: cargo run -p consensus-sim --bin simulate -- --scenario {} --first-seed {} --seeds 1)",
            self.scenario.name(),
            self.seed,
            self.at_ms,
            self.violation,
            self.scenario.name(),
            self.seed
        )
    }
}

/// Figures of a successful run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Highest height decided by an honest replica.
    pub decided: Height,
    /// Highest view reached.
    pub views: View,
    /// Timeout messages sent by honest replicas.
    pub timeouts: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost to drops, partitions or dead receivers.
    pub dropped: u64,
    /// Crashes.
    pub crashes: u64,
    /// Equivocations detected by honest replicas.
    pub evidence: u64,
    /// Penalties honest replicas gave to the Byzantine member.
    pub penalties: u64,
    /// Hash of everything decided, in order (determinism checks).
    pub trace: [u8; 32],
}

struct Disk<S: Scheme> {
    safety: Option<SafetyState<S>>,
    chain: Vec<BlockRecord<S>>,
    index: BTreeMap<Hash32, Height>,
    pending: BTreeMap<Hash32, BlockRecord<S>>,
    certs: BTreeMap<Height, FinalityCert<S>>,
}

impl<S: Scheme> BlockSource<S> for Disk<S> {
    fn block(&self, hash: &Hash32) -> Option<BlockRecord<S>> {
        if let Some(h) = self.index.get(hash) {
            return self.chain.get(*h as usize).cloned();
        }
        self.pending.get(hash).cloned()
    }
    fn certificate(&self, height: Height) -> Option<FinalityCert<S>> {
        self.certs.get(&height).cloned()
    }
    fn decided_height(&self) -> Height {
        self.chain.len() as Height - 1
    }
}

struct Node<S: Scheme> {
    member: usize,
    side: u8,
    replica: Option<Replica<S>>,
    disk: Disk<S>,
    key: S::SecretKey,
    skew: i64,
    l1_lag: u64,
    timer_gen: u64,
    timer_at: u64,
    crash_mid_effects: bool,
    permanently_down: bool,
    sent_log: Vec<Vec<u8>>,
    /// Honest timeouts a Byzantine member collected, by view (to build inflated TCs from).
    timeouts_seen: BTreeMap<View, BTreeMap<MemberIndex, Timeout<S>>>,
}

enum Ev {
    Deliver { to: usize, from: usize, bytes: Arc<Vec<u8>> },
    Request { to: usize, from: usize, req: Request },
    Response { to: usize, from: usize, req: Request, bytes: Vec<u8> },
    Timer { node: usize, gen: u64 },
    Propose { node: usize, view: View },
    Crash { node: usize, mid_effects: bool },
    Restart { node: usize },
    Repartition,
}

struct Queued {
    at: u64,
    seq: u64,
    ev: Ev,
}
impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// One simulated network.
struct Sim<S: SimScheme> {
    seed: u64,
    p: Params,
    cfg: Config,
    ctx: WireContext,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    nodes: Vec<Node<S>>,
    group: Vec<u8>,
    decided: BTreeMap<Height, Hash32>,
    votes_signed: BTreeMap<(usize, View), Hash32>,
    timed_out: BTreeSet<(usize, View)>,
    outcome: Outcome,
    trace: [u8; 32],
    trace_on: bool,
}

/// Runs `scenario` with `seed` and checks every invariant; the same pair always gives the same
/// result.
pub fn run<S: SimScheme>(scenario: Scenario, seed: u64) -> Result<Outcome, Failure> {
    memo::reset();
    ed25519::reset_memo();
    let mut sim = Sim::<Memoized<S>>::new(scenario, seed);
    sim.run().map_err(|(at_ms, violation)| Failure { scenario, seed, at_ms, violation })?;
    Ok(sim.outcome)
}

fn members_of<S: SimScheme>(seed: u64, stakes: &[u64]) -> (Vec<S::SecretKey>, Members<S>) {
    let keys: Vec<S::SecretKey> = (0..stakes.len()).map(|i| S::keygen(seed, i)).collect();
    let members = Members::new(keys.iter().zip(stakes).map(|(k, s)| (S::public_key(k), *s)).collect()).expect("valid committee");
    (keys, members)
}

impl<S: SimScheme> Sim<S> {
    fn new(scenario: Scenario, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e0_5e0);
        let p = Params::of(scenario, &mut rng);
        let mut cfg = Config::new(7);
        cfg.genesis_timestamp_ms = 0;
        cfg.base_timeout_ms = 400;
        cfg.max_timeout_ms = 3_200;
        cfg.fetch_retry_ms = 300;
        cfg.finality_retry_ms = 500;
        cfg.max_clock_drift_ms = 500;
        cfg.l1_tolerance_blocks = 4;
        cfg.fetch_batch = 8;
        let ctx = WireContext { members: p.stakes.len(), limits: cfg.limits };
        let (keys, _) = members_of::<S>(seed, &p.stakes);
        let restored = Restored::<S>::genesis(&cfg);
        let genesis = restored.committed.clone();
        // One replica per member; with double agents, the honest members are split in two
        // sides and each Byzantine member runs one replica on each side.
        let mut instances: Vec<(usize, u8)> = (0..keys.len()).map(|m| (m, 0)).collect();
        if p.double_agents {
            let honest: Vec<usize> = (0..keys.len()).filter(|m| !p.byzantine.contains(m)).collect();
            for (m, side) in instances.iter_mut() {
                if honest.iter().position(|h| h == m).is_some_and(|k| k % 2 == 1) {
                    *side = 1;
                }
            }
            for &b in &p.byzantine {
                instances.push((b, 1));
            }
        }
        let nodes = instances
            .into_iter()
            .map(|(member, side)| Node {
                member,
                side,
                replica: None,
                disk: Disk {
                    safety: None,
                    index: [(genesis.block.hash(), 0)].into(),
                    chain: vec![genesis.clone()],
                    pending: BTreeMap::new(),
                    certs: BTreeMap::new(),
                },
                key: keys[member].clone(),
                skew: rng.random_range(-100..=100),
                l1_lag: rng.random_range(0..3),
                timer_gen: 0,
                timer_at: u64::MAX,
                crash_mid_effects: false,
                permanently_down: false,
                sent_log: Vec::new(),
                timeouts_seen: BTreeMap::new(),
            })
            .collect::<Vec<_>>();
        let n = nodes.len();
        Sim {
            seed,
            p,
            cfg,
            ctx,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            group: vec![0; n],
            decided: BTreeMap::new(),
            votes_signed: BTreeMap::new(),
            timed_out: BTreeSet::new(),
            outcome: Outcome::default(),
            trace: [0; 32],
            trace_on: std::env::var_os("SIM_TRACE").is_some(),
        }
    }

    fn n(&self) -> usize {
        self.nodes.len()
    }

    fn f_stake_ok(&self, down: &BTreeSet<usize>) -> bool {
        // Faulty (Byzantine or down) stake must stay below a third.
        let total: u64 = self.p.stakes.iter().sum();
        let faulty: u64 = self.p.stakes.iter().enumerate().filter(|(i, _)| down.contains(i) || self.p.byzantine.contains(i)).map(|(_, s)| s).sum();
        faulty * 3 < total
    }

    /// Whether instance `i` belongs to an honest member.
    fn honest(&self, i: usize) -> bool {
        !self.p.byzantine.contains(&self.nodes[i].member)
    }

    /// Whether instance `i` misbehaves on the wire (double agents look honest to each side).
    fn acts_byzantine(&self, i: usize) -> bool {
        !self.honest(i) && !self.p.double_agents
    }

    /// The instance of `member` that instance `from` talks to.
    fn instance_of(&self, member: usize, from: usize) -> usize {
        let side = self.nodes[from].side;
        self.nodes.iter().position(|n| n.member == member && n.side == side).unwrap_or(member)
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued { at, seq: self.seq, ev }));
    }

    fn local_now(&self, i: usize) -> u64 {
        (self.now as i64 + self.nodes[i].skew).max(0) as u64
    }

    fn l1_head(&self, i: usize) -> Option<u64> {
        Some((self.now / 1_000).saturating_sub(self.nodes[i].l1_lag))
    }

    fn run(&mut self) -> Result<(), (u64, Violation)> {
        for i in 0..self.n() {
            self.start_node(i).map_err(|v| (0, v))?;
        }
        if self.p.partitions {
            let at = self.rng.random_range(100..800);
            self.push(at, Ev::Repartition);
        }
        if self.p.crashes {
            self.schedule_crashes();
        }
        let mut heal_checked = self.p.heal_ms == 0;
        let mut heal_target: Height = 0;
        let mut heal_nodes: Vec<usize> = (0..self.n()).filter(|i| self.honest(*i)).collect();
        while let Some(Reverse(q)) = self.queue.pop() {
            if q.at > self.p.end_ms {
                break;
            }
            self.now = q.at;
            if !heal_checked && self.now >= self.p.heal_ms {
                heal_checked = true;
                self.heal();
                heal_target = self.decided.keys().next_back().copied().unwrap_or(0);
                heal_nodes = (0..self.n()).filter(|i| self.honest(*i) && !self.nodes[*i].permanently_down).collect();
            }
            self.step(q.ev).map_err(|v| (self.now, v))?;
        }
        self.now = self.p.end_ms;
        // Liveness and certification after the heal.
        let needed = heal_target + 3;
        let heal_nodes = if self.p.double_agents { Vec::new() } else { heal_nodes };
        for &i in &heal_nodes {
            let height = self.nodes[i].disk.decided_height();
            if height < needed {
                return Err((self.now, Violation::Liveness { node: i, height, needed }));
            }
            if let Some(h) = (1..=heal_target).find(|h| !self.nodes[i].disk.certs.contains_key(h)) {
                return Err((self.now, Violation::Certification { node: i, height: h }));
            }
        }
        self.outcome.decided = self.decided.keys().next_back().copied().unwrap_or(0);
        self.outcome.trace = self.trace;
        Ok(())
    }

    fn heal(&mut self) {
        self.p.drop_rate = 0.0;
        self.p.tail_rate = 0.0;
        self.p.partitions = false;
        self.group.iter_mut().for_each(|g| *g = 0);
        // Restart everyone except possibly some that stay down for good (faulty stake < 1/3).
        let mut down = BTreeSet::new();
        let candidates: Vec<usize> = (0..self.n()).filter(|i| self.honest(*i)).collect();
        if self.p.crashes && self.rng.random_bool(0.5) {
            let pick = candidates[self.rng.random_range(0..candidates.len())];
            let mut trial = down.clone();
            trial.insert(pick);
            if self.f_stake_ok(&trial) {
                down = trial;
            }
        }
        for i in 0..self.n() {
            if !down.contains(&i) {
                self.nodes[i].crash_mid_effects = false; // a crash still pending is cancelled
            }
            if down.contains(&i) {
                self.nodes[i].permanently_down = true;
                if self.nodes[i].replica.is_some() {
                    self.nodes[i].replica = None;
                    self.outcome.crashes += 1;
                }
            } else if self.nodes[i].replica.is_none() {
                self.nodes[i].crash_mid_effects = false;
                let now = self.now;
                self.push(now, Ev::Restart { node: i });
            }
        }
    }

    fn schedule_crashes(&mut self) {
        let count = self.rng.random_range(1..=4);
        for _ in 0..count {
            let node = self.rng.random_range(0..self.n());
            if !self.honest(node) {
                continue;
            }
            let at = self.rng.random_range(200..self.p.heal_ms.max(201));
            let mid_effects = self.rng.random_bool(0.5);
            self.push(at, Ev::Crash { node, mid_effects });
            let back = at + self.rng.random_range(200..3_000);
            if back < self.p.heal_ms {
                self.push(back, Ev::Restart { node });
            }
        }
    }

    fn start_node(&mut self, i: usize) -> Result<(), Violation> {
        let (_, members) = members_of::<S>(self.seed, &self.p.stakes);
        let disk = &self.nodes[i].disk;
        let tip = disk.chain.last().expect("genesis").clone();
        let tip_height = tip.block.height();
        let uncertified = (1..=tip_height).filter(|h| !disk.certs.contains_key(h)).map(|h| (h, disk.chain[h as usize].block.hash())).collect();
        let restored = Restored { safety: disk.safety.clone(), committed: tip, pending: disk.pending.values().cloned().collect(), uncertified };
        let now = self.local_now(i);
        let me = self.nodes[i].member as MemberIndex;
        let mut replica = Replica::new(self.cfg.clone(), members, me, self.nodes[i].key.clone(), restored, now);
        replica.set_l1_head(self.l1_head(i));
        let fx = replica.start(now);
        self.nodes[i].replica = Some(replica);
        self.nodes[i].timer_at = u64::MAX;
        self.apply(i, fx)
    }

    fn step(&mut self, ev: Ev) -> Result<(), Violation> {
        if self.trace_on {
            self.print_event(&ev);
        }
        match ev {
            Ev::Deliver { to, from, bytes } => {
                if self.nodes[to].replica.is_none() {
                    self.outcome.dropped += 1;
                    return Ok(());
                }
                self.outcome.delivered += 1;
                let msg = match Message::<S>::decode(&bytes, &self.ctx) {
                    Ok(msg) => msg,
                    // Hostile bytes from a Byzantine member: the node drops them (and penalises).
                    Err(_) if self.acts_byzantine(from) => {
                        self.outcome.penalties += 1;
                        return Ok(());
                    }
                    Err(e) => return Err(Violation::Codec(e.to_string())),
                };
                if self.acts_byzantine(to) {
                    self.byzantine_receive(to, &msg);
                }
                let now = self.local_now(to);
                let l1 = self.l1_head(to);
                let from_member = self.nodes[from].member as MemberIndex;
                let r = self.nodes[to].replica.as_mut().expect("alive");
                r.set_l1_head(l1);
                let fx = r.on_message(now, from_member, msg);
                self.apply(to, fx)
            }
            Ev::Request { to, from, req } => {
                if self.nodes[to].replica.is_none() {
                    self.outcome.dropped += 1;
                    return Ok(());
                }
                let resp: Response<S> = serve(&req, &self.nodes[to].disk);
                let bytes = resp.encode();
                let delay = self.delay();
                if self.link_ok(to, from) {
                    self.push(self.now + delay, Ev::Response { to: from, from: to, req, bytes });
                }
                Ok(())
            }
            Ev::Response { to, from, req, bytes } => {
                if self.nodes[to].replica.is_none() {
                    return Ok(());
                }
                let resp = Response::<S>::decode(&bytes, &self.ctx).map_err(|e| Violation::Codec(e.to_string()))?;
                let now = self.local_now(to);
                let from_member = self.nodes[from].member as MemberIndex;
                let fx = self.nodes[to].replica.as_mut().expect("alive").on_response(now, from_member, req, resp);
                self.apply(to, fx)
            }
            Ev::Timer { node, gen } => {
                if self.nodes[node].timer_gen != gen || self.nodes[node].replica.is_none() {
                    return Ok(());
                }
                self.nodes[node].timer_at = u64::MAX;
                let now = self.local_now(node);
                let l1 = self.l1_head(node);
                let r = self.nodes[node].replica.as_mut().expect("alive");
                r.set_l1_head(l1);
                let fx = r.on_timer(now);
                self.apply(node, fx)
            }
            Ev::Propose { node, view } => {
                if self.nodes[node].replica.is_none() {
                    return Ok(());
                }
                let payload = self.random_payload();
                let now = self.local_now(node);
                let l1 = self.l1_head(node);
                let r = self.nodes[node].replica.as_mut().expect("alive");
                match r.propose(now, view, payload, l1) {
                    Ok(fx) => self.apply(node, fx),
                    Err(_) => Ok(()), // the view moved on meanwhile
                }
            }
            Ev::Crash { node, mid_effects } => {
                if self.nodes[node].replica.is_some() && !self.nodes[node].permanently_down {
                    if mid_effects {
                        self.nodes[node].crash_mid_effects = true;
                    } else {
                        self.nodes[node].replica = None;
                        self.outcome.crashes += 1;
                    }
                }
                Ok(())
            }
            Ev::Restart { node } => {
                if self.nodes[node].replica.is_none() && !self.nodes[node].permanently_down {
                    self.nodes[node].crash_mid_effects = false;
                    self.start_node(node)?;
                }
                Ok(())
            }
            Ev::Repartition => {
                if !self.p.partitions {
                    return Ok(());
                }
                let n = self.n();
                match self.rng.random_range(0..4) {
                    0 => self.group.iter_mut().for_each(|g| *g = 0),
                    1 => {
                        let lone = self.rng.random_range(0..n);
                        for (i, g) in self.group.iter_mut().enumerate() {
                            *g = u8::from(i == lone);
                        }
                    }
                    _ => {
                        for g in self.group.iter_mut() {
                            *g = self.rng.random_range(0..2);
                        }
                    }
                }
                let next = self.now + self.rng.random_range(300..2_000);
                self.push(next, Ev::Repartition);
                Ok(())
            }
        }
    }

    fn print_event(&self, ev: &Ev) {
        let views: Vec<String> = self
            .nodes
            .iter()
            .map(|n| n.replica.as_ref().map_or("down".into(), |r| format!("v{}/h{}/L{}", r.view(), r.committed().block.height(), r.leader(r.view()))))
            .collect();
        let what = match ev {
            Ev::Deliver { to, from, bytes } => {
                let kind = Message::<S>::decode(bytes, &self.ctx).map(|m| match m {
                    Message::Proposal(p) => format!("proposal v{} h{} {}", p.block.view(), p.block.height(), p.block.hash()),
                    Message::Vote(v) => format!("vote v{} by {} for {}", v.view, v.signer, v.block),
                    Message::Timeout(t) => format!("timeout v{} by {} hqc v{}", t.view, t.signer, t.high_qc.view),
                    m => m.kind().to_string(),
                });
                format!("deliver {from}->{to}: {}", kind.unwrap_or_else(|e| e.to_string()))
            }
            Ev::Request { to, from, req } => format!("request {from}->{to}: {req:?}"),
            Ev::Response { to, from, .. } => format!("response {from}->{to}"),
            Ev::Timer { node, .. } => format!("timer {node}"),
            Ev::Propose { node, view } => format!("propose {node} v{view}"),
            Ev::Crash { node, .. } => format!("crash {node}"),
            Ev::Restart { node } => format!("restart {node}"),
            Ev::Repartition => "repartition".into(),
        };
        eprintln!("{:>6} [{}] {what}", self.now, views.join(" "));
    }

    fn random_payload(&mut self) -> Payload {
        let n = self.rng.random_range(0..=4);
        let txs: Vec<(u64, Vec<u8>)> = (0..n)
            .map(|_| {
                let len = self.rng.random_range(1..48);
                (self.rng.random_range(1..4u64), (0..len).map(|_| self.rng.random()).collect())
            })
            .collect();
        Payload::from_transactions(txs)
    }

    fn delay(&mut self) -> u64 {
        let (lo, hi) = self.p.delay_ms;
        let mut d = self.rng.random_range(lo..=hi);
        if self.p.tail_rate > 0.0 && self.rng.random_bool(self.p.tail_rate) {
            d += self.rng.random_range(100..2_000);
        }
        d
    }

    fn link_ok(&mut self, a: usize, b: usize) -> bool {
        if self.group[a] != self.group[b] {
            return false;
        }
        if self.nodes[a].side != self.nodes[b].side {
            return false;
        }
        !(self.p.drop_rate > 0.0 && self.rng.random_bool(self.p.drop_rate))
    }

    fn send_bytes(&mut self, from: usize, to: usize, bytes: Arc<Vec<u8>>) {
        if to == from {
            return;
        }
        if !self.link_ok(from, to) {
            self.outcome.dropped += 1;
            return;
        }
        let at = self.now + self.delay();
        self.push(at, Ev::Deliver { to, from, bytes });
    }

    fn broadcast(&mut self, from: usize, target: Target, bytes: Arc<Vec<u8>>) {
        match target {
            Target::All => {
                for to in 0..self.n() {
                    self.send_bytes(from, to, bytes.clone());
                }
            }
            Target::One(to) => {
                let to = self.instance_of(usize::from(to), from);
                self.send_bytes(from, to, bytes)
            }
        }
    }

    /// Checks the invariants on a replica's effects, persists them, then sends.
    fn apply(&mut self, i: usize, fx: Effects<S>) -> Result<(), Violation> {
        let honest = self.honest(i);
        if honest {
            self.check_effects(i, &fx)?;
        } else {
            self.outcome.penalties += 0;
        }
        // Make it durable first (what the node syncs before sending).
        let disk = &mut self.nodes[i].disk;
        if let Some(s) = &fx.safety {
            disk.safety = Some(s.clone());
        }
        for rec in &fx.store {
            disk.pending.insert(rec.block.hash(), rec.clone());
        }
        for rec in &fx.committed {
            let h = rec.block.height();
            let prev = disk.chain.last().expect("genesis");
            if h != prev.block.height() + 1 || rec.block.header().parent != prev.block.hash() {
                return Err(Violation::BrokenChain { node: i, height: h });
            }
            disk.pending.remove(&rec.block.hash());
            disk.index.insert(rec.block.hash(), h);
            disk.chain.push(rec.clone());
            if honest {
                self.trace = keccak256_concat(&[&self.trace, &(i as u64).to_be_bytes(), &rec.block.hash().0]);
            }
        }
        let tip = disk.chain.len() as Height - 1;
        disk.pending.retain(|_, r| r.block.height() > tip);
        for c in &fx.certified {
            disk.certs.insert(c.height, c.clone());
        }
        if self.nodes[i].crash_mid_effects {
            // Crashed between the disk sync and the sends.
            self.nodes[i].crash_mid_effects = false;
            self.nodes[i].replica = None;
            self.outcome.crashes += 1;
            return Ok(());
        }
        for (target, msg) in fx.send {
            if self.acts_byzantine(i) {
                self.byzantine_send(i, target, msg);
            } else {
                self.send_bytes_all(i, target, &msg);
            }
        }
        for (to, req) in fx.requests {
            let to = self.instance_of(usize::from(to), i);
            if self.link_ok(i, to) {
                let at = self.now + self.delay();
                self.push(at, Ev::Request { to, from: i, req });
            }
        }
        if let Some(slot) = fx.proposal_slot {
            let at = self.now + self.rng.random_range(20..80);
            self.push(at, Ev::Propose { node: i, view: slot.view });
        }
        if let Some(r) = &self.nodes[i].replica {
            self.outcome.views = self.outcome.views.max(r.view());
            let local = r.next_deadline();
            let global = (local as i64 - self.nodes[i].skew).max(self.now as i64 + 1) as u64;
            if global != self.nodes[i].timer_at {
                self.nodes[i].timer_gen += 1;
                self.nodes[i].timer_at = global;
                let gen = self.nodes[i].timer_gen;
                self.push(global, Ev::Timer { node: i, gen });
            }
        }
        Ok(())
    }

    fn send_bytes_all(&mut self, i: usize, target: Target, msg: &Message<S>) {
        let bytes = Arc::new(msg.encode());
        self.broadcast(i, target, bytes);
    }

    fn check_effects(&mut self, i: usize, fx: &Effects<S>) -> Result<(), Violation> {
        for (_, msg) in &fx.send {
            match msg {
                Message::Vote(v) => {
                    if self.timed_out.contains(&(i, v.view)) {
                        return Err(Violation::VoteAfterTimeout { node: i, view: v.view });
                    }
                    if let Some(prev) = self.votes_signed.insert((i, v.view), v.block) {
                        if prev != v.block {
                            return Err(Violation::DoubleVote { node: i, view: v.view });
                        }
                    }
                }
                Message::Timeout(t) if self.timed_out.insert((i, t.view)) => self.outcome.timeouts += 1,
                _ => {}
            }
        }
        for rec in &fx.committed {
            let h = rec.block.height();
            let hash = rec.block.hash();
            match self.decided.get(&h) {
                Some(prev) if *prev != hash => return Err(Violation::Agreement { height: h, first: *prev, second: hash, node: i }),
                Some(_) => {}
                None => {
                    self.decided.insert(h, hash);
                }
            }
        }
        for b in &fx.abandoned {
            if self.decided.get(&b.height()) == Some(&b.hash()) {
                return Err(Violation::AbandonedDecided { node: i, height: b.height() });
            }
        }
        for c in &fx.certified {
            let r = self.nodes[i].replica.as_ref().expect("alive while applying its effects");
            let ok = r.verify_finality_cert(c) && self.decided.get(&c.height) == Some(&c.block);
            if !ok {
                return Err(Violation::BadCertificate { node: i, height: c.height });
            }
        }
        for (peer, offence) in &fx.penalties {
            let peer = self.instance_of(usize::from(*peer), i);
            if self.trace_on {
                eprintln!("       node {i} penalises {peer} for {} (evidence {:?})", offence.name(), fx.evidence);
            }
            if self.honest(peer) {
                if !matches!(offence, Offence::Replay) {
                    return Err(Violation::FalsePenalty { node: i, peer, offence: offence.name() });
                }
            } else {
                self.outcome.penalties += 1;
            }
        }
        self.outcome.evidence += fx.evidence.len() as u64;
        Ok(())
    }

    // ----- Byzantine behaviour -----

    fn byzantine_send(&mut self, i: usize, target: Target, msg: Message<S>) {
        let chain_id = self.cfg.chain_id;
        let key = self.nodes[i].key.clone();
        let me = self.nodes[i].member as MemberIndex;
        let n = self.n();
        match &msg {
            Message::Proposal(p) => {
                // Equivocate: a second block for the same view to half of the network.
                let mut txs: Vec<(u64, Vec<u8>)> = p.block.payload().transactions().map(|(ns, t)| (ns, t.to_vec())).collect();
                txs.push((9, self.rng.random::<[u8; 8]>().to_vec()));
                let mut header = *p.block.header();
                header.payload_root = Hash32::ZERO;
                let other = Arc::new(consensus::Block::assemble(header, Payload::from_transactions(txs)));
                let signature = S::sign(&key, &consensus::message::proposal_digest(chain_id, other.view(), &other.hash()));
                let twin = Message::Proposal(Proposal { block: other, justify: p.justify.clone(), tc: p.tc.clone(), signature });
                let first = Arc::new(msg.encode());
                let second = Arc::new(twin.encode());
                for to in 0..n {
                    match self.rng.random_range(0..3) {
                        0 => self.send_bytes(i, to, first.clone()),
                        1 => self.send_bytes(i, to, second.clone()),
                        _ => {
                            self.send_bytes(i, to, first.clone());
                            self.send_bytes(i, to, second.clone());
                        }
                    }
                }
                return;
            }
            Message::Vote(v) if !self.p.equivocate_only => {
                // A vote from the far future, at or past the wire bound.
                if self.rng.random_bool(0.2) {
                    let view = self.hostile_number(v.view);
                    let sig = S::sign(&key, &consensus::message::vote_digest(chain_id, view, v.height, &v.block));
                    self.send_bytes_all(i, Target::All, &Message::Vote(Vote { view, signature: sig, ..v.clone() }));
                }
                // Also vote for a made-up block in the same view.
                let fake = Hash32(self.rng.random());
                let sig = S::sign(&key, &consensus::message::vote_digest(chain_id, v.view, v.height, &fake));
                let bad = Message::Vote(Vote { view: v.view, height: v.height, block: fake, signer: me, signature: sig });
                self.send_bytes_all(i, Target::All, &bad);
                // And a forged vote (signature over the wrong digest) in another member's name.
                let victim = self.rng.random_range(0..n) as MemberIndex;
                let forged_sig = S::sign(&key, &[7u8; 32]);
                let forged = Message::Vote(Vote { signer: victim, signature: forged_sig, ..v.clone() });
                self.send_bytes_all(i, Target::All, &forged);
            }
            Message::Timeout(t) if !self.p.equivocate_only && self.rng.random_bool(0.5) => {
                // Report the genesis certificate instead of the real high QC.
                let genesis_qc = QuorumCert::<S>::genesis(&self.nodes[i].disk.chain[0].block.hash());
                let sig = S::sign(&key, &consensus::message::timeout_digest(chain_id, t.view, 0));
                let low = Message::Timeout(Timeout { view: t.view, high_qc: genesis_qc, signer: me, signature: sig });
                self.send_bytes_all(i, target, &low);
                return;
            }
            Message::Finality(f) if !self.p.equivocate_only => {
                let fake = Hash32(self.rng.random());
                let sig = S::sign(&key, &protocol::sequencer::finality_digest(chain_id, f.height, &fake));
                let bad = Message::Finality(FinalityVote { height: f.height, block: fake, signer: me, signature: sig });
                self.send_bytes_all(i, Target::All, &bad);
            }
            _ => {}
        }
        let bytes = Arc::new(msg.encode());
        if !self.p.equivocate_only {
            self.nodes[i].sent_log.push(bytes.to_vec());
            if self.nodes[i].sent_log.len() > 64 {
                self.nodes[i].sent_log.remove(0);
            }
            // Replay something old now and then.
            if self.rng.random_bool(0.1) {
                let k = self.rng.random_range(0..self.nodes[i].sent_log.len());
                let old = Arc::new(self.nodes[i].sent_log[k].clone());
                let to = self.rng.random_range(0..n);
                self.send_bytes(i, to, old);
            }
        }
        self.broadcast(i, target, bytes);
    }

    /// A view or height near `near`, at the wire bound, just past it, or near `u64::MAX`
    /// (arithmetic on them must neither overflow nor be trusted).
    fn hostile_number(&mut self, near: u64) -> u64 {
        match self.rng.random_range(0..4) {
            0 => near + consensus::MAX_VIEW / 2,
            1 => consensus::MAX_VIEW,
            2 => consensus::MAX_VIEW + 1,
            _ => u64::MAX - self.rng.random_range(0..64),
        }
    }

    /// A Byzantine member votes for every proposal it sees, whatever the rules say, and
    /// re-publishes it with a justification or timeout certificate of hostile numbers.
    fn byzantine_receive(&mut self, i: usize, msg: &Message<S>) {
        if let Message::Timeout(t) = msg {
            if !self.p.equivocate_only {
                self.inflate_tc(i, t);
            }
        }
        if let Message::Proposal(p) = msg {
            if !self.p.equivocate_only && self.rng.random_bool(0.2) {
                let mut bad = p.clone();
                bad.justify.height = self.hostile_number(p.justify.height);
                if let Some(tc) = &mut bad.tc {
                    tc.view = self.hostile_number(tc.view);
                }
                self.send_bytes_all(i, Target::All, &Message::Proposal(bad));
            }
            let chain_id = self.cfg.chain_id;
            let key = self.nodes[i].key.clone();
            let b = &p.block;
            let sig = S::sign(&key, &consensus::message::vote_digest(chain_id, b.view(), b.height(), &b.hash()));
            let vote = Message::Vote(Vote { view: b.view(), height: b.height(), block: b.hash(), signer: self.nodes[i].member as MemberIndex, signature: sig });
            self.send_bytes_all(i, Target::All, &vote);
        }
    }
}

impl<S: SimScheme> Sim<S> {
    /// Collects honest timeouts; once they and its own make a quorum for a view `v >= 2`, builds
    /// `TC(v)` with its own entry claiming a high QC of `v - 1` (inflated: no such certificate
    /// need exist) and sends it in an `Advance` to everyone, racing the honest TC to the next
    /// leader. It can only attach a certificate it really has (its own high QC).
    fn inflate_tc(&mut self, i: usize, t: &Timeout<S>) {
        let chain_id = self.cfg.chain_id;
        let node = &mut self.nodes[i];
        let me = node.member as MemberIndex;
        let Some(r) = node.replica.as_ref() else { return };
        if t.signer == me || t.view < 2 || t.view + 2 < r.view() {
            return;
        }
        node.timeouts_seen.retain(|v, _| *v + 2 >= t.view);
        let entries = node.timeouts_seen.entry(t.view).or_default();
        if entries.contains_key(&me) {
            return; // already sent for this view
        }
        entries.insert(t.signer, t.clone());
        let signers: Vec<MemberIndex> = entries.keys().copied().chain([me]).collect();
        if !r.members().is_quorum(r.members().stake_of(&signers)) {
            return;
        }
        let own = S::sign(&node.key, &consensus::message::timeout_digest(chain_id, t.view, t.view - 1));
        let mut sigs: Vec<(MemberIndex, S::Signature)> = entries.iter().map(|(s, e)| (*s, e.signature.clone())).chain([(me, own)]).collect();
        sigs.sort_by_key(|(s, _)| *s);
        let mut high_qc_views: Vec<(MemberIndex, View)> = entries.iter().map(|(s, e)| (*s, e.high_qc.view)).chain([(me, t.view - 1)]).collect();
        high_qc_views.sort();
        entries.insert(me, t.clone()); // marks the view done
        let Some(cert) = S::aggregate(r.members().len(), &sigs) else { return };
        let high_qc = r.high_qc().clone();
        let tc = consensus::TimeoutCert { view: t.view, high_qc_views, high_qc: high_qc.clone(), cert };
        self.send_bytes_all(i, Target::All, &Message::Advance(consensus::Advance { high_qc, tc: Some(tc) }));
    }
}

/// Summary of many runs of one scenario.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Runs that passed.
    pub passed: u64,
    /// Failures (with their seeds).
    pub failures: Vec<Failure>,
    /// Sum of decided heights.
    pub decided: u64,
    /// Sum of views.
    pub views: u64,
    /// Sum of detected equivocations.
    pub evidence: u64,
    /// Sum of penalties given to Byzantine members.
    pub penalties: u64,
    /// Sum of crashes.
    pub crashes: u64,
}

/// Runs seeds `first .. first + count` of `scenario` on `threads` threads.
pub fn run_seeds<S: SimScheme>(scenario: Scenario, first: u64, count: u64, threads: usize) -> Summary {
    let threads = threads.max(1) as u64;
    let results: Vec<Summary> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut s = Summary::default();
                    let mut seed = first + t;
                    while seed < first + count {
                        match run::<S>(scenario, seed) {
                            Ok(o) => {
                                s.passed += 1;
                                s.decided += o.decided;
                                s.views += o.views;
                                s.evidence += o.evidence;
                                s.penalties += o.penalties;
                                s.crashes += o.crashes;
                            }
                            Err(f) => s.failures.push(f),
                        }
                        seed += threads;
                    }
                    s
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("simulation thread")).collect()
    });
    let mut total = Summary::default();
    for s in results {
        total.passed += s.passed;
        total.failures.extend(s.failures);
        total.decided += s.decided;
        total.views += s.views;
        total.evidence += s.evidence;
        total.penalties += s.penalties;
        total.crashes += s.crashes;
    }
    total.failures.sort_by_key(|f| f.seed);
    total
}
