//! The sequencer's consensus: HotStuff-2 as a deterministic state machine with no I/O.
//!
//! [`Replica`] takes messages, catch-up answers, timer ticks and the leader's payload, and
//! returns [`Effects`]: what to make durable, what to send, which blocks are decided, which
//! finality certificates are complete. The node (`sequencer-node`) drives it with libp2p and
//! RocksDB; the simulator (`consensus-sim`) drives it with a seeded virtual network, crashes and
//! Byzantine members. The protocol is specified in `docs/consensus.md`.
//!
//! Blocks use the protocol's header (`protocol::sequencer::BlockHeader`); every decided block
//! gets a finality certificate over `protocol::sequencer::finality_digest`, which with the
//! [`Bls`] scheme is exactly what the L1 inbox verifies.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod block;
pub mod codec;
pub mod config;
pub mod effects;
pub mod message;
pub mod replica;
pub mod scheme;
pub mod serve;

pub use block::{Block, BlockError, Limits, NamespaceTxs, Payload, MAX_TX_BYTES};
pub use codec::CodecError;
pub use config::{CommitteeError, Config, Members};
pub use effects::{Effects, Evidence, Offence, ProposalSlot, SafetyState, Target, Verdict};
pub use message::{
    Advance, BlockRecord, FinalityCert, FinalityVote, Message, Proposal, QuorumCert, Request, Response, Timeout, TimeoutCert, Vote,
    WireContext,
};
pub use replica::{ProposeError, Replica, Restored};
pub use scheme::{Bls, Scheme};
pub use serve::{serve, BlockSource};

/// A consensus view (round). View 0 is the genesis block's.
pub type View = u64;
/// A block height. The genesis block has height 0.
pub type Height = u64;
/// A member's position in the committee (and in certificate bitmaps).
pub type MemberIndex = u16;

/// The highest view any message may carry (`docs/consensus.md` section 6): 2^48, a view per
/// millisecond for 8,900 years. Decoders refuse more, so sums of a view and a small window
/// cannot overflow; the replica also uses checked arithmetic on everything peers send.
pub const MAX_VIEW: View = 1 << 48;
/// The highest height any message may carry (same bound and reason as [`MAX_VIEW`]).
pub const MAX_HEIGHT: Height = 1 << 48;
