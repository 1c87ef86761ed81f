//! Commitments: what the L1 holds (rebuilt from events), what this node computes, and what an
//! operator or an accuser should do about the difference. Pure logic, no I/O, so every policy
//! is unit-tested.
//!
//! The contract's rules (docs/contracts.md): a staker's first commitment is a child of the last
//! cemented commitment; later ones extend its own previous commitment; each is exactly one
//! commitment period above its predecessor. A commitment can be cemented once it is a child of
//! the last cemented one, its challenge window has passed, it still has a stake, and no sibling
//! with a stake exists.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::primitives::{Address, B256};
use bridge::api::{EventEnvelope, RollupEvent};
use protocol::{Commitment, Hash32};
use serde::Serialize;

/// Rollup parameters that shape commitments.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Levels per commitment.
    pub period: u32,
    /// L1 blocks a commitment stays refutable.
    pub window: u64,
    /// The genesis state hash (its commitment is cemented at origination).
    pub genesis_state: Hash32,
}

impl Params {
    /// The genesis commitment.
    pub fn genesis(&self) -> Commitment {
        Commitment { predecessor: Hash32::ZERO, state_hash: self.genesis_state, inbox_level: 0, number_of_ticks: 0 }
    }
}

/// A commitment as the L1 holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The commitment.
    pub commitment: CommitmentJson,
    /// Its hash.
    pub hash: B256,
    /// The L1 block it was first published in (its challenge window starts there).
    pub published_at: u64,
    /// Stakers on it.
    pub stakers: BTreeSet<Address>,
}

/// A commitment in JSON answers.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct CommitmentJson {
    /// Predecessor hash.
    pub predecessor: B256,
    /// State hash.
    pub state_hash: B256,
    /// Level.
    pub inbox_level: u32,
    /// Ticks.
    pub number_of_ticks: u64,
}

impl From<&Commitment> for CommitmentJson {
    fn from(c: &Commitment) -> Self {
        CommitmentJson {
            predecessor: B256::from(c.predecessor.0),
            state_hash: B256::from(c.state_hash.0),
            inbox_level: c.inbox_level,
            number_of_ticks: c.number_of_ticks,
        }
    }
}

impl From<&CommitmentJson> for Commitment {
    fn from(c: &CommitmentJson) -> Self {
        Commitment {
            predecessor: Hash32(c.predecessor.0),
            state_hash: Hash32(c.state_hash.0),
            inbox_level: c.inbox_level,
            number_of_ticks: c.number_of_ticks,
        }
    }
}

/// A dispute seen on the L1.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Conflict {
    /// The level.
    pub inbox_level: u32,
    /// The commitment published first.
    pub existing: B256,
    /// The conflicting one.
    pub conflicting: B256,
    /// The L1 block it appeared in.
    pub l1_block: u64,
}

/// What the L1 holds of the rollup's commitments and executed outbox messages, rebuilt from its
/// events.
#[derive(Debug, Clone)]
pub struct L1View {
    params: Params,
    published: HashMap<B256, Published>,
    by_level: BTreeMap<u32, Vec<B256>>,
    conflicts: Vec<Conflict>,
    last_cemented: (B256, u32),
    /// Each staker's latest commitment (its head), while it has a stake.
    heads: HashMap<Address, (B256, u32)>,
    slashed: BTreeSet<Address>,
    executed: BTreeSet<(u32, u32)>,
}

impl L1View {
    /// The state at origination: only the genesis commitment, cemented.
    pub fn new(params: Params) -> Self {
        let g = params.genesis();
        L1View {
            params,
            published: HashMap::new(),
            by_level: BTreeMap::new(),
            conflicts: Vec::new(),
            last_cemented: (B256::from(g.hash().0), 0),
            heads: HashMap::new(),
            slashed: BTreeSet::new(),
            executed: BTreeSet::new(),
        }
    }

    /// Applies one event (others are ignored).
    pub fn apply(&mut self, env: &EventEnvelope) {
        match &env.event {
            RollupEvent::CommitmentPublished { commitment, staker, predecessor, state_hash, inbox_level, number_of_ticks, .. } => {
                let p = self.published.entry(*commitment).or_insert_with(|| Published {
                    commitment: CommitmentJson {
                        predecessor: *predecessor,
                        state_hash: *state_hash,
                        inbox_level: *inbox_level,
                        number_of_ticks: *number_of_ticks,
                    },
                    hash: *commitment,
                    published_at: env.l1_block,
                    stakers: BTreeSet::new(),
                });
                p.stakers.insert(*staker);
                let at = self.by_level.entry(*inbox_level).or_default();
                if !at.contains(commitment) {
                    at.push(*commitment);
                }
                self.heads.insert(*staker, (*commitment, *inbox_level));
                self.slashed.remove(staker);
            }
            RollupEvent::CommitmentConflict { inbox_level, existing, conflicting } => self.conflicts.push(Conflict {
                inbox_level: *inbox_level,
                existing: *existing,
                conflicting: *conflicting,
                l1_block: env.l1_block,
            }),
            RollupEvent::CommitmentCemented { commitment, inbox_level, .. } => {
                self.last_cemented = (*commitment, *inbox_level);
            }
            RollupEvent::CommitmentRemoved { commitment, inbox_level } => {
                self.published.remove(commitment);
                if let Some(v) = self.by_level.get_mut(inbox_level) {
                    v.retain(|h| h != commitment);
                }
            }
            RollupEvent::StakeRecovered { staker, .. } => {
                self.heads.remove(staker);
            }
            RollupEvent::StakerSlashed { loser, .. } => {
                self.heads.remove(loser);
                self.slashed.insert(*loser);
            }
            RollupEvent::OutboxMessageExecuted { level, index, .. } => {
                self.executed.insert((*level, *index));
            }
            _ => {}
        }
    }

    /// The last cemented commitment and its level.
    pub fn last_cemented(&self) -> (B256, u32) {
        self.last_cemented
    }

    /// A published commitment.
    pub fn get(&self, hash: &B256) -> Option<&Published> {
        self.published.get(hash)
    }

    /// Commitments published at `level` (not removed).
    pub fn at_level(&self, level: u32) -> Vec<&Published> {
        self.by_level.get(&level).map(|v| v.iter().filter_map(|h| self.published.get(h)).collect()).unwrap_or_default()
    }

    /// Whether outbox message `index` of `level` has been executed on the L1.
    pub fn is_executed(&self, level: u32, index: u32) -> bool {
        self.executed.contains(&(level, index))
    }

    /// Every dispute seen.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// A staker's head commitment and its level, while it has a stake.
    pub fn head(&self, staker: &Address) -> Option<(B256, u32)> {
        self.heads.get(staker).copied()
    }

    /// Whether a commitment still has a stake behind it.
    pub fn is_alive(&self, p: &Published) -> bool {
        p.stakers.iter().any(|s| !self.slashed.contains(s))
    }

    /// The newest commitment `staker` published, whether or not it still has a stake.
    pub fn latest_of(&self, staker: &Address) -> Option<&Published> {
        self.published.values().filter(|p| p.stakers.contains(staker)).max_by_key(|p| p.commitment.inbox_level)
    }

    /// The level and predecessor the next commitment of `staker` must have.
    pub fn next_for(&self, staker: &Address) -> (u32, B256) {
        let (lcc, lcc_level) = self.last_cemented;
        match self.heads.get(staker) {
            Some(&(head, level)) if level > lcc_level => (level + self.params.period, head),
            _ => (lcc_level + self.params.period, lcc),
        }
    }
}

/// The commitments this node computes from its own execution, one per period.
#[derive(Debug, Clone, Default)]
pub struct OwnChain {
    by_level: BTreeMap<u32, Commitment>,
}

impl OwnChain {
    /// Extends the chain with the commitment at `level` (a multiple of the period), given the
    /// state hash and cumulative ticks there and at the previous period end.
    pub fn push(&mut self, params: &Params, level: u32, state_hash: Hash32, ticks_since_previous: u64) {
        let predecessor = match level.checked_sub(params.period) {
            Some(0) | None => params.genesis().hash(),
            Some(prev) => self.by_level.get(&prev).map(Commitment::hash).unwrap_or(Hash32::ZERO),
        };
        self.by_level.insert(level, Commitment { predecessor, state_hash, inbox_level: level, number_of_ticks: ticks_since_previous });
    }

    /// The commitment computed for `level`.
    pub fn at(&self, level: u32) -> Option<&Commitment> {
        self.by_level.get(&level)
    }

    /// The highest level computed.
    pub fn last_level(&self) -> u32 {
        self.by_level.keys().next_back().copied().unwrap_or(0)
    }

    /// Forgets commitments above `level` (after a reorg).
    pub fn truncate_above(&mut self, level: u32) {
        let _ = self.by_level.split_off(&(level + 1));
    }

    /// All computed commitments, by level.
    pub fn iter(&self) -> impl Iterator<Item = (&u32, &Commitment)> {
        self.by_level.iter()
    }
}

/// What the node should do on the L1 next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Publish (or join) this commitment.
    Publish(Commitment),
    /// Cement this commitment.
    Cement(Commitment),
    /// Take the stake back.
    RecoverStake,
}

/// Why the node cannot go on (reported on /health).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Disagreement {
    /// The L1 cemented a commitment this node computes differently: its state is not the
    /// rollup's; it must not publish on top.
    CementedDiffers {
        /// The level.
        level: u32,
        /// What the L1 cemented.
        cemented: B256,
        /// What this node computes.
        ours: B256,
    },
}

/// The operator's next action: publish its next commitment once computed and the level is in
/// the inbox, cement the next one when allowed, recover the stake when bailing out.
pub fn operator_action(
    l1: &L1View,
    own: &OwnChain,
    me: &Address,
    inbox_level: u32,
    l1_block: u64,
    bailing_out: bool,
) -> Result<Option<Action>, Disagreement> {
    check_cemented(l1, own)?;
    if let Some(c) = cementable(l1, own, l1_block) {
        return Ok(Some(Action::Cement(c)));
    }
    if bailing_out {
        let (_, lcc_level) = l1.last_cemented();
        return Ok(match l1.head(me) {
            Some((_, level)) if level <= lcc_level => Some(Action::RecoverStake),
            _ => None,
        });
    }
    let (level, predecessor) = l1.next_for(me);
    match own.at(level) {
        Some(c) if level <= inbox_level && B256::from(c.predecessor.0) == predecessor => Ok(Some(Action::Publish(*c))),
        _ => Ok(None),
    }
}

/// The accuser's next action: nothing while every published commitment agrees with its own;
/// on a conflict, publish its own chain from where its stake stands up to the disputed level.
pub fn accuser_action(l1: &L1View, own: &OwnChain, me: &Address, inbox_level: u32) -> Result<Option<Action>, Disagreement> {
    check_cemented(l1, own)?;
    // The lowest level where a live published commitment differs from ours while building on
    // the same predecessor: the fork point.
    let (_, lcc_level) = l1.last_cemented();
    let dispute = own.iter().filter(|(level, _)| **level > lcc_level).find_map(|(level, ours)| {
        let ours_hash = B256::from(ours.hash().0);
        let ours_pred = B256::from(ours.predecessor.0);
        l1.at_level(*level)
            .into_iter()
            .any(|p| p.hash != ours_hash && p.commitment.predecessor == ours_pred && l1.is_alive(p))
            .then_some(*level)
    });
    let Some(disputed) = dispute else { return Ok(None) };
    // Already defending it?
    if let Some(ours) = own.at(disputed) {
        if l1.get(&B256::from(ours.hash().0)).is_some_and(|p| p.stakers.contains(me)) {
            return Ok(None);
        }
    }
    let (level, predecessor) = l1.next_for(me);
    match own.at(level) {
        Some(c) if level <= disputed && level <= inbox_level && B256::from(c.predecessor.0) == predecessor => {
            Ok(Some(Action::Publish(*c)))
        }
        _ => Ok(None),
    }
}

fn check_cemented(l1: &L1View, own: &OwnChain) -> Result<(), Disagreement> {
    let (cemented, level) = l1.last_cemented();
    if level == 0 {
        return Ok(());
    }
    match own.at(level) {
        Some(c) if B256::from(c.hash().0) != cemented => {
            Err(Disagreement::CementedDiffers { level, cemented, ours: B256::from(c.hash().0) })
        }
        _ => Ok(()),
    }
}

/// The commitment this node may cement now: the child of the last cemented one that it agrees
/// with, past its window, with no live sibling.
pub fn cementable(l1: &L1View, own: &OwnChain, l1_block: u64) -> Option<Commitment> {
    let (lcc, lcc_level) = l1.last_cemented();
    let level = lcc_level + l1.params.period;
    let ours = own.at(level)?;
    let ours_hash = B256::from(ours.hash().0);
    let candidates: Vec<&Published> =
        l1.at_level(level).into_iter().filter(|p| p.commitment.predecessor == lcc && l1.is_alive(p)).collect();
    let mine = candidates.iter().find(|p| p.hash == ours_hash)?;
    // The contract accepts the call in the next block.
    if l1_block + 1 < mine.published_at + l1.params.window || candidates.len() != 1 {
        return None;
    }
    Some(*ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Address = Address::repeat_byte(0xaa);
    const OTHER: Address = Address::repeat_byte(0xbb);

    fn params() -> Params {
        Params { period: 2, window: 5, genesis_state: Hash32([7; 32]) }
    }

    fn chain(states: &[u8]) -> OwnChain {
        let p = params();
        let mut own = OwnChain::default();
        for (i, s) in states.iter().enumerate() {
            own.push(&p, (i as u32 + 1) * p.period, Hash32([*s; 32]), 100);
        }
        own
    }

    fn publish(l1: &mut L1View, c: &Commitment, who: Address, block: u64) {
        l1.apply(&EventEnvelope {
            l1_block: block,
            tx_hash: B256::ZERO,
            log_index: 0,
            event: RollupEvent::CommitmentPublished {
                commitment: B256::from(c.hash().0),
                staker: who,
                predecessor: B256::from(c.predecessor.0),
                state_hash: B256::from(c.state_hash.0),
                inbox_level: c.inbox_level,
                number_of_ticks: c.number_of_ticks,
                first: true,
            },
        });
    }

    fn cemented(l1: &mut L1View, c: &Commitment) {
        l1.apply(&EventEnvelope {
            l1_block: 0,
            tx_hash: B256::ZERO,
            log_index: 0,
            event: RollupEvent::CommitmentCemented {
                commitment: B256::from(c.hash().0),
                inbox_level: c.inbox_level,
                state_hash: B256::from(c.state_hash.0),
            },
        });
    }

    #[test]
    fn operator_publishes_in_order_then_cements_after_the_window() {
        let own = chain(&[1, 2, 3]);
        let mut l1 = L1View::new(params());
        // Level 2 not in the inbox yet: nothing.
        assert_eq!(operator_action(&l1, &own, &ME, 1, 10, false), Ok(None));
        // In the inbox: publish level 2, child of genesis.
        let c2 = *own.at(2).unwrap();
        assert_eq!(c2.predecessor, params().genesis().hash());
        assert_eq!(operator_action(&l1, &own, &ME, 2, 10, false), Ok(Some(Action::Publish(c2))));
        publish(&mut l1, &c2, ME, 10);
        // Next: level 4 extends our head.
        let c4 = *own.at(4).unwrap();
        assert_eq!(operator_action(&l1, &own, &ME, 5, 11, false), Ok(Some(Action::Publish(c4))));
        publish(&mut l1, &c4, ME, 11);
        // Window of c2 still open at block 13; closes at 15 (callable in block 15, so at 14).
        assert_eq!(cementable(&l1, &own, 13), None);
        assert_eq!(operator_action(&l1, &own, &ME, 5, 14, false), Ok(Some(Action::Cement(c2))));
        cemented(&mut l1, &c2);
        // Bailing out: no new publications, and the stake is still in use (head at 4 > 2).
        assert_eq!(operator_action(&l1, &own, &ME, 6, 14, true), Ok(None));
        assert_eq!(operator_action(&l1, &own, &ME, 6, 16, true), Ok(Some(Action::Cement(c4))));
        cemented(&mut l1, &c4);
        assert_eq!(operator_action(&l1, &own, &ME, 6, 16, true), Ok(Some(Action::RecoverStake)));
    }

    #[test]
    fn a_dispute_blocks_cementing_and_the_accuser_defends_from_the_fork() {
        let own = chain(&[1, 2, 3]);
        let mut l1 = L1View::new(params());
        // The operator publishes a correct level 2, then a wrong level 4.
        let c2 = *own.at(2).unwrap();
        publish(&mut l1, &c2, OTHER, 10);
        let mut bad4 = *own.at(4).unwrap();
        bad4.state_hash = Hash32([0xee; 32]);
        publish(&mut l1, &bad4, OTHER, 11);
        // The accuser first joins level 2 (its stake must start from the last cemented), then
        // publishes its own level 4.
        assert_eq!(accuser_action(&l1, &own, &ME, 6), Ok(Some(Action::Publish(c2))));
        publish(&mut l1, &c2, ME, 12);
        let c4 = *own.at(4).unwrap();
        assert_eq!(accuser_action(&l1, &own, &ME, 6), Ok(Some(Action::Publish(c4))));
        publish(&mut l1, &c4, ME, 13);
        assert_eq!(accuser_action(&l1, &own, &ME, 6), Ok(None), "already defending");
        // Level 2 cements; level 4 is disputed: neither side can cement it.
        cemented(&mut l1, &c2);
        assert_eq!(cementable(&l1, &own, 100), None);
        // Once the game removes the wrong one (its staker slashed), ours cements.
        l1.apply(&EventEnvelope {
            l1_block: 50,
            tx_hash: B256::ZERO,
            log_index: 0,
            event: RollupEvent::StakerSlashed { loser: OTHER, winner: ME, reward: Default::default(), burnt: Default::default() },
        });
        assert_eq!(cementable(&l1, &own, 100), Some(c4));
    }

    #[test]
    fn agreement_means_the_accuser_stays_silent() {
        let own = chain(&[1, 2]);
        let mut l1 = L1View::new(params());
        publish(&mut l1, own.at(2).unwrap(), OTHER, 10);
        publish(&mut l1, own.at(4).unwrap(), OTHER, 11);
        assert_eq!(accuser_action(&l1, &own, &ME, 6), Ok(None));
    }

    #[test]
    fn a_cemented_state_we_disagree_with_stops_the_node() {
        let own = chain(&[1]);
        let mut l1 = L1View::new(params());
        let mut other = *own.at(2).unwrap();
        other.state_hash = Hash32([9; 32]);
        publish(&mut l1, &other, OTHER, 1);
        cemented(&mut l1, &other);
        assert!(matches!(operator_action(&l1, &own, &ME, 2, 100, false), Err(Disagreement::CementedDiffers { level: 2, .. })));
    }
}
