//! What every replica of a network must agree on (chain, committee, limits) and the local
//! timing parameters of the pacemaker.

use crate::block::Limits;
use crate::scheme::Scheme;
use crate::{MemberIndex, View};

/// Consensus parameters. The chain id, genesis time and limits must be identical on every
/// replica; the timing values are local but should match for predictable view changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The sequencer chain (block header `chain_id`, every signed digest).
    pub chain_id: u64,
    /// Committee epoch (leader election seed).
    pub epoch: u64,
    /// Timestamp of the genesis block.
    pub genesis_timestamp_ms: u64,
    /// How long a view waits for progress before timing out, after a view that made progress.
    pub base_timeout_ms: u64,
    /// Cap of the exponential backoff after consecutive timed-out views.
    pub max_timeout_ms: u64,
    /// How far a proposal's timestamp may be ahead of the local clock.
    pub max_clock_drift_ms: u64,
    /// How far a proposal's `l1_block` may be ahead of the local L1 head.
    pub l1_tolerance_blocks: u64,
    /// Block limits.
    pub limits: Limits,
    /// Blocks asked for per catch-up request.
    pub fetch_batch: u16,
    /// How long to wait for a catch-up answer before asking another peer.
    pub fetch_retry_ms: u64,
    /// How long a decided block may lack its finality certificate before signatures are
    /// re-sent and certificates requested from peers.
    pub finality_retry_ms: u64,
}

impl Config {
    /// Defaults suited to a local network: 1 s base timeout, 5 s clock drift.
    pub fn new(chain_id: u64) -> Self {
        Config {
            chain_id,
            epoch: 0,
            genesis_timestamp_ms: 0,
            base_timeout_ms: 1_000,
            max_timeout_ms: 30_000,
            max_clock_drift_ms: 5_000,
            l1_tolerance_blocks: 8,
            limits: Limits::default(),
            fetch_batch: 64,
            fetch_retry_ms: 500,
            finality_retry_ms: 1_000,
        }
    }

    /// The view timeout after `timeouts_in_row` consecutive timed-out views: base × 1.5^k,
    /// capped.
    pub fn timeout_ms(&self, timeouts_in_row: u32) -> u64 {
        let mut t = self.base_timeout_ms;
        for _ in 0..timeouts_in_row.min(32) {
            t = t.saturating_add(t / 2);
            if t >= self.max_timeout_ms {
                return self.max_timeout_ms;
            }
        }
        t.min(self.max_timeout_ms)
    }
}

/// The committee as consensus uses it: keys and stakes in member-index order.
pub struct Members<S: Scheme> {
    keys: Vec<S::PublicKey>,
    stakes: Vec<u64>,
    total: u128,
    verifier: S::Verifier,
}

/// Why a committee cannot run consensus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitteeError {
    /// No members, or more than the wire format's member index allows.
    #[error("a committee needs between 1 and {max} members, got {got}")]
    Size {
        /// Members given.
        got: usize,
        /// The most allowed.
        max: usize,
    },
    /// A member with zero stake.
    #[error("member {0} has zero stake")]
    ZeroStake(usize),
    /// The same key twice.
    #[error("members {0} and {1} have the same key")]
    DuplicateKey(usize, usize),
}

/// The largest committee: certificate bitmaps and member indices must stay small.
pub const MAX_MEMBERS: usize = 1024;

impl<S: Scheme> Members<S> {
    /// Builds the committee from `(public key, stake)` in index order.
    pub fn new(members: Vec<(S::PublicKey, u64)>) -> Result<Self, CommitteeError> {
        if members.is_empty() || members.len() > MAX_MEMBERS {
            return Err(CommitteeError::Size { got: members.len(), max: MAX_MEMBERS });
        }
        for (i, (k, s)) in members.iter().enumerate() {
            if *s == 0 {
                return Err(CommitteeError::ZeroStake(i));
            }
            if let Some(j) = members[..i].iter().position(|(o, _)| o == k) {
                return Err(CommitteeError::DuplicateKey(j, i));
            }
        }
        let verifier = S::verifier(&members);
        let total = members.iter().map(|(_, s)| u128::from(*s)).sum();
        let (keys, stakes) = members.into_iter().unzip();
        Ok(Members { keys, stakes, total, verifier })
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no members (never true for a built committee).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of member `i`.
    pub fn key(&self, i: MemberIndex) -> Option<&S::PublicKey> {
        self.keys.get(usize::from(i))
    }

    /// The index of a key.
    pub fn index_of(&self, key: &S::PublicKey) -> Option<MemberIndex> {
        self.keys.iter().position(|k| k == key).map(|i| i as MemberIndex)
    }

    /// Stake of member `i` (0 for a non-member).
    pub fn stake(&self, i: MemberIndex) -> u64 {
        self.stakes.get(usize::from(i)).copied().unwrap_or(0)
    }

    /// Total stake.
    pub fn total_stake(&self) -> u128 {
        self.total
    }

    /// Whether `stake` is a quorum: strictly more than two thirds of the total.
    pub fn is_quorum(&self, stake: u128) -> bool {
        stake * 3 > self.total * 2
    }

    /// Whether `stake` is more than a third of the total (at least one honest member among
    /// them when at most a third is faulty).
    pub fn exceeds_one_third(&self, stake: u128) -> bool {
        stake * 3 > self.total
    }

    /// Stake of a set of signers (each counted once, non-members ignored).
    pub fn stake_of(&self, signers: &[MemberIndex]) -> u128 {
        let mut seen = vec![false; self.keys.len()];
        let mut sum = 0u128;
        for &s in signers {
            if let Some(flag) = seen.get_mut(usize::from(s)) {
                if !*flag {
                    *flag = true;
                    sum += u128::from(self.stakes[usize::from(s)]);
                }
            }
        }
        sum
    }

    /// The scheme's verifier.
    pub fn verifier(&self) -> &S::Verifier {
        &self.verifier
    }

    /// The leader of `view`: a stake-weighted low-discrepancy sequence. Point `view` is
    /// `frac(seed + view / φ)` (φ the golden ratio, `seed` from `(chain_id, epoch)`), scaled to
    /// the total stake; the member whose cumulative-stake interval holds it leads. Each member
    /// leads a share of views proportional to its stake, spread evenly: consecutive points are
    /// at least 0.38 apart, so a member with less than 38% of the stake never leads two views in
    /// a row (a crashed leader costs one view timeout, never two back to back).
    pub fn leader(&self, chain_id: u64, epoch: u64, view: View) -> MemberIndex {
        // 2^64 / φ, the golden-ratio step of the sequence.
        const STEP: u64 = 0x9E37_79B9_7F4A_7C15;
        let seed = protocol::hash::keccak256_concat(&[b"rollup.sequencer.consensus.leader.v1", &chain_id.to_be_bytes(), &epoch.to_be_bytes()]);
        let offset = u64::from_be_bytes(seed[..8].try_into().expect("8 bytes"));
        let point = offset.wrapping_add(view.wrapping_mul(STEP));
        let r = (u128::from(point) * self.total) >> 64;
        let mut acc = 0u128;
        for (i, s) in self.stakes.iter().enumerate() {
            acc += u128::from(*s);
            if r < acc {
                return i as MemberIndex;
            }
        }
        (self.stakes.len() - 1) as MemberIndex
    }
}
