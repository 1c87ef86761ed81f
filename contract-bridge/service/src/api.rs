//! The bridge's HTTP API types, shared by the bridge (server) and its clients (the rollup node,
//! the poster, the user client). JSON; hashes, addresses and byte strings as `0x` hex, wei as
//! decimal strings.

use alloy::primitives::{Address, Bytes, B256, U256};
use serde::{Deserialize, Serialize};

/// One page of the rollup event stream: the events of L1 blocks `[from_block, to_block]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventsPage {
    /// Events in L1 order.
    pub events: Vec<EventEnvelope>,
    /// The last L1 block this page covers (`from_block - 1` when it covers none yet).
    pub to_block: u64,
    /// Its hash: pass it back as `parent_hash` with `from_block = to_block + 1`, so a reorg
    /// below it is detected.
    pub to_block_hash: B256,
    /// The highest block the bridge serves (head minus confirmations).
    pub safe_head: u64,
}

/// Where an event happened on the L1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventEnvelope {
    /// L1 block number.
    pub l1_block: u64,
    /// Transaction that emitted it.
    pub tx_hash: B256,
    /// Position of the log in the block.
    pub log_index: u64,
    /// The event.
    pub event: RollupEvent,
}

/// A rollup-level event, decoded from the rollup contract's logs (and, for batches, the posting
/// transaction's calldata), in the form a rollup node consumes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RollupEvent {
    /// A message entered the delayed inbox; it becomes an internal transfer in the level that
    /// includes index `index`.
    DelayedMessage {
        /// Position in the delayed inbox.
        index: u64,
        /// The L1 account that sent it.
        sender: Address,
        /// Wei deposited with it.
        value: U256,
        /// The L1 block it was enqueued in.
        enqueued_at: u64,
        /// Its payload.
        payload: Bytes,
    },
    /// Levels appended to the inbox: a posted batch, or one forced level.
    Levels {
        /// Batch index (posted and forced batches share the sequence).
        batch_index: u64,
        /// The inbox accumulator after this batch.
        accumulator: B256,
        /// The levels, in order.
        levels: Vec<Level>,
    },
    /// A staker published (or joined) a commitment.
    CommitmentPublished {
        /// Commitment hash.
        commitment: B256,
        /// The staker.
        staker: Address,
        /// Predecessor commitment hash.
        predecessor: B256,
        /// Claimed state hash.
        state_hash: B256,
        /// Last level covered.
        inbox_level: u32,
        /// Ticks since the predecessor.
        number_of_ticks: u64,
        /// Whether this published it (rather than adding a stake to it).
        first: bool,
    },
    /// Two different commitments at one level: a dispute, and cementing stops there.
    CommitmentConflict {
        /// The level.
        inbox_level: u32,
        /// The commitment published first.
        existing: B256,
        /// The one that conflicts with it.
        conflicting: B256,
    },
    /// A commitment became final.
    CommitmentCemented {
        /// Commitment hash.
        commitment: B256,
        /// Its level.
        inbox_level: u32,
        /// Its state hash.
        state_hash: B256,
    },
    /// A commitment without stake was dropped.
    CommitmentRemoved {
        /// Commitment hash.
        commitment: B256,
        /// Its level.
        inbox_level: u32,
    },
    /// A staker deposited its stake.
    StakeDeposited {
        /// The staker.
        staker: Address,
        /// Wei.
        amount: U256,
    },
    /// A staker took its stake back.
    StakeRecovered {
        /// The staker.
        staker: Address,
        /// Wei.
        amount: U256,
    },
    /// A refutation game took a stake.
    StakerSlashed {
        /// The losing staker.
        loser: Address,
        /// The winner (zero if both lost).
        winner: Address,
        /// Wei credited to the winner.
        reward: U256,
        /// Wei burnt.
        burnt: U256,
    },
    /// An outbox message ran on the L1.
    OutboxMessageExecuted {
        /// Its level.
        level: u32,
        /// Its index in the level.
        index: u32,
        /// keccak of the message.
        message_hash: B256,
        /// Wei it paid out.
        value: U256,
    },
}

/// One inbox level: what the PVM needs to rebuild its messages (docs/protocol.md section 2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Level {
    /// The level number.
    pub level: u32,
    /// The sequencer block's height, or `None` for a forced level.
    pub sequencer_height: Option<u64>,
    /// Info-per-level timestamp (ms).
    pub timestamp_ms: u64,
    /// Info-per-level block hash.
    pub block_hash: B256,
    /// Delayed messages `[delayed_start, delayed_end)` are included, in order, after info per
    /// level.
    pub delayed_start: u64,
    /// End (exclusive) of the included delayed messages.
    pub delayed_end: u64,
    /// The rollup namespace's transactions, in block order (external messages).
    pub transactions: Vec<Bytes>,
}

/// An error answer: a stable machine-readable `error` and a sentence for people.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    /// Stable code, e.g. `reorg`, `reverted`, `bad_request`, `key_not_configured`.
    pub error: String,
    /// What happened and what to do.
    pub message: String,
    /// For `reverted`: the decoded custom error, e.g. `BatchParentMismatch(...)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert: Option<String>,
}
