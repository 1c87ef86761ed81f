//! What the core asks its driver to do after each input.

use std::sync::Arc;

use protocol::sequencer::BlockHeader;
use protocol::Hash32;

use crate::block::Block;
use crate::codec::{CodecError, Reader};
use crate::message::{BlockRecord, FinalityCert, Message, QuorumCert, Request};
use crate::scheme::Scheme;
use crate::{Height, MemberIndex, View};

/// The replica state that must survive a crash for safety: the last view it voted (or timed
/// out) in and its highest quorum certificate. The driver makes it durable before sending any
/// message of the same [`Effects`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyState<S: Scheme> {
    /// No vote is ever cast in this view or below.
    pub last_voted_view: View,
    /// Reported in every timeout; never goes down.
    pub high_qc: QuorumCert<S>,
}

impl<S: Scheme> SafetyState<S> {
    /// Storage form: `u64 last_voted_view || qc`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.last_voted_view.to_be_bytes().to_vec();
        out.extend_from_slice(&self.high_qc.to_bytes());
        out
    }

    /// Parses [`SafetyState::to_bytes`]'s output.
    pub fn from_bytes(bytes: &[u8], members: usize) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let last_voted_view = r.u64("last voted view")?;
        let rest = r.take(r.remaining(), "high qc")?;
        Ok(SafetyState { last_voted_view, high_qc: QuorumCert::from_bytes(rest, members)? })
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every other member.
    All,
    /// One member.
    One(MemberIndex),
}

/// This replica leads the current view and may propose now: the driver picks a payload and
/// calls [`crate::Replica::propose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalSlot {
    /// The view to propose in.
    pub view: View,
    /// The block the proposal will extend.
    pub parent: BlockHeader,
    /// Its hash.
    pub parent_hash: Hash32,
    /// Whether decided-pending blocks with transactions sit on the parent's chain: proposing
    /// promptly is what commits them.
    pub uncommitted_transactions: bool,
}

/// How a gossiped message should be treated by the gossip layer (propagate, drop quietly, or
/// drop and penalise its source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Valid: propagate.
    #[default]
    Accept,
    /// Not useful (stale, duplicate) but not an offence.
    Ignore,
    /// Invalid: drop and penalise the source.
    Reject,
}

/// Misbehaviour of the peer that delivered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offence {
    /// A signature or certificate that does not verify.
    BadSignature,
    /// A well-formed message that breaks a protocol rule (wrong leader, inconsistent fields).
    InvalidMessage,
    /// A message already received (replayed), or far outside the current view window.
    Replay,
    /// Two conflicting signed statements from the same member.
    Equivocation,
    /// A catch-up answer that does not match what was asked.
    BadResponse,
}

impl Offence {
    /// How much the offence costs the peer's score (see `docs/sequencer.md`).
    pub fn weight(self) -> i64 {
        match self {
            Offence::BadSignature | Offence::InvalidMessage | Offence::Equivocation => 50,
            Offence::BadResponse => 20,
            Offence::Replay => 5,
        }
    }

    /// Name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Offence::BadSignature => "bad_signature",
            Offence::InvalidMessage => "invalid_message",
            Offence::Replay => "replay",
            Offence::Equivocation => "equivocation",
            Offence::BadResponse => "bad_response",
        }
    }
}

/// Proof that a member signed two conflicting statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A leader signed two blocks for one view.
    ConflictingProposals {
        /// The view.
        view: View,
        /// The leader.
        leader: MemberIndex,
        /// The first block seen.
        first: Hash32,
        /// The second.
        second: Hash32,
    },
    /// A member voted for two blocks in one view.
    ConflictingVotes {
        /// The view.
        view: View,
        /// The voter.
        signer: MemberIndex,
        /// The first block.
        first: Hash32,
        /// The second.
        second: Hash32,
    },
    /// A member signed finality for a block other than the one decided at that height.
    ConflictingFinality {
        /// The height.
        height: Height,
        /// The signer.
        signer: MemberIndex,
        /// The decided block.
        decided: Hash32,
        /// The block it signed.
        signed: Hash32,
    },
}

/// Everything one input asks of the driver, to be carried out in this order: make `safety`,
/// `store`, `committed` and `certified` durable (synced to disk), then send `send` and
/// `requests`, then act on the rest.
#[derive(Debug)]
pub struct Effects<S: Scheme> {
    /// New safety state; must be synced before any message below leaves the node.
    pub safety: Option<SafetyState<S>>,
    /// Validated blocks not decided yet (kept so peers and restarts can find them).
    pub store: Vec<BlockRecord<S>>,
    /// Newly decided blocks, ascending by height, each extending the previous decided block.
    pub committed: Vec<BlockRecord<S>>,
    /// Undecided blocks that can no longer be decided (their transactions may be re-proposed).
    pub abandoned: Vec<Arc<Block>>,
    /// New finality certificates of decided blocks.
    pub certified: Vec<FinalityCert<S>>,
    /// Messages to send.
    pub send: Vec<(Target, Message<S>)>,
    /// Catch-up requests to send.
    pub requests: Vec<(MemberIndex, Request)>,
    /// Set when this replica may propose now.
    pub proposal_slot: Option<ProposalSlot>,
    /// Peers to penalise.
    pub penalties: Vec<(MemberIndex, Offence)>,
    /// Equivocations detected.
    pub evidence: Vec<Evidence>,
    /// What the gossip layer should do with the message just handled.
    pub verdict: Verdict,
}

impl<S: Scheme> Default for Effects<S> {
    fn default() -> Self {
        Effects {
            safety: None,
            store: Vec::new(),
            committed: Vec::new(),
            abandoned: Vec::new(),
            certified: Vec::new(),
            send: Vec::new(),
            requests: Vec::new(),
            proposal_slot: None,
            penalties: Vec::new(),
            evidence: Vec::new(),
            verdict: Verdict::Accept,
        }
    }
}

impl<S: Scheme> Effects<S> {
    /// Whether something must be made durable before sending.
    pub fn needs_sync(&self) -> bool {
        self.safety.is_some() || !self.store.is_empty() || !self.committed.is_empty() || !self.certified.is_empty()
    }
}
