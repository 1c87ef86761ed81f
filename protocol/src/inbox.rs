//! Inbox messages: what `read_input` hands a kernel, byte for byte.
//!
//! Tags follow the seeds (DESIGN.md section 3): outer `0x00` internal / `0x01` external;
//! internal `0x00` transfer, `0x01` start of level, `0x02` end of level, `0x03` info per level.
//! An internal transfer comes from the L1 delayed inbox and carries an L1 sender, a value in wei
//! and a payload instead of Michelson.

use alloc::vec::Vec;

use crate::error::{DecodeError, Reader};
use crate::primitives::{Address, Hash32, Wei};
use crate::MAX_MESSAGE_SIZE;

/// Outer tag of internal messages.
pub const TAG_INTERNAL: u8 = 0x00;
/// Outer tag of external messages.
pub const TAG_EXTERNAL: u8 = 0x01;
/// Internal tag of a transfer from the L1.
pub const TAG_TRANSFER: u8 = 0x00;
/// Internal tag of start of level.
pub const TAG_START_OF_LEVEL: u8 = 0x01;
/// Internal tag of end of level.
pub const TAG_END_OF_LEVEL: u8 = 0x02;
/// Internal tag of info per level.
pub const TAG_INFO_PER_LEVEL: u8 = 0x03;

/// Bytes of a transfer before its payload: two tags, sender, value.
pub const TRANSFER_HEADER_SIZE: usize = 2 + 20 + 32;
/// The largest payload an internal transfer can carry.
pub const MAX_TRANSFER_PAYLOAD: usize = MAX_MESSAGE_SIZE - TRANSFER_HEADER_SIZE;
/// The largest payload an external message can carry.
pub const MAX_EXTERNAL_PAYLOAD: usize = MAX_MESSAGE_SIZE - 1;
/// The encoded size of an info-per-level message.
pub const INFO_PER_LEVEL_SIZE: usize = 2 + 8 + 32;

/// The encoded start-of-level message.
pub const START_OF_LEVEL_BYTES: [u8; 2] = [TAG_INTERNAL, TAG_START_OF_LEVEL];
/// The encoded end-of-level message.
pub const END_OF_LEVEL_BYTES: [u8; 2] = [TAG_INTERNAL, TAG_END_OF_LEVEL];

/// One message of a rollup inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxMessage {
    /// Pushed by the L1 or the protocol.
    Internal(InternalMessage),
    /// Sent by a user through the sequencer: opaque bytes for the kernel to interpret.
    External(Vec<u8>),
}

/// Messages the protocol itself (or an L1 contract) puts in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InternalMessage {
    /// A message or ETH deposit from an L1 account, through the delayed inbox.
    Transfer(Transfer),
    /// First message of every level.
    StartOfLevel,
    /// Second message of every level: when the level's sequencer block was made and its hash.
    InfoPerLevel(InfoPerLevel),
    /// Last message of every level.
    EndOfLevel,
}

/// A delayed-inbox message from the L1: who sent it, how much ETH came with it, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The L1 account (EOA or contract) that called the delayed inbox.
    pub sender: Address,
    /// Wei deposited with the message (0 for a plain message).
    pub value: Wei,
    /// Arbitrary bytes chosen by the sender, at most [`MAX_TRANSFER_PAYLOAD`].
    pub payload: Vec<u8>,
}

/// The block a level comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoPerLevel {
    /// Unix time of the sequencer block, in milliseconds.
    pub timestamp_ms: u64,
    /// Hash of the sequencer block header (or of the forced-inclusion record for forced levels).
    pub block_hash: Hash32,
}

impl InboxMessage {
    /// The bytes a kernel reads.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        match self {
            InboxMessage::External(payload) => {
                out.push(TAG_EXTERNAL);
                out.extend_from_slice(payload);
            }
            InboxMessage::Internal(m) => {
                out.push(TAG_INTERNAL);
                match m {
                    InternalMessage::Transfer(t) => {
                        out.push(TAG_TRANSFER);
                        out.extend_from_slice(&t.sender.0);
                        out.extend_from_slice(&t.value.0);
                        out.extend_from_slice(&t.payload);
                    }
                    InternalMessage::StartOfLevel => out.push(TAG_START_OF_LEVEL),
                    InternalMessage::EndOfLevel => out.push(TAG_END_OF_LEVEL),
                    InternalMessage::InfoPerLevel(info) => {
                        out.push(TAG_INFO_PER_LEVEL);
                        out.extend_from_slice(&info.timestamp_ms.to_be_bytes());
                        out.extend_from_slice(&info.block_hash.0);
                    }
                }
            }
        }
        out
    }

    /// The size of [`InboxMessage::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        match self {
            InboxMessage::External(p) => 1 + p.len(),
            InboxMessage::Internal(InternalMessage::Transfer(t)) => TRANSFER_HEADER_SIZE + t.payload.len(),
            InboxMessage::Internal(InternalMessage::InfoPerLevel(_)) => INFO_PER_LEVEL_SIZE,
            InboxMessage::Internal(_) => 2,
        }
    }

    /// Whether the encoding fits the 4,096-byte message limit. Producers (the mempool, the
    /// delayed inbox) refuse messages for which this is false.
    pub fn fits(&self) -> bool {
        self.encoded_len() <= MAX_MESSAGE_SIZE
    }

    /// Parses the bytes a kernel read. Rejects anything over [`MAX_MESSAGE_SIZE`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "inbox message";
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(DecodeError::TooLarge { what: WHAT, max: MAX_MESSAGE_SIZE, got: bytes.len() });
        }
        let mut r = Reader::new(WHAT, bytes);
        let outer = *bytes.first().ok_or(DecodeError::Empty { what: WHAT })?;
        r.take(1)?;
        match outer {
            TAG_EXTERNAL => Ok(InboxMessage::External(r.rest().to_vec())),
            TAG_INTERNAL => {
                let inner = r.u8()?;
                let msg = match inner {
                    TAG_TRANSFER => {
                        let sender = Address(r.array()?);
                        let value = Wei(r.array()?);
                        InternalMessage::Transfer(Transfer { sender, value, payload: r.rest().to_vec() })
                    }
                    TAG_START_OF_LEVEL => InternalMessage::StartOfLevel,
                    TAG_END_OF_LEVEL => InternalMessage::EndOfLevel,
                    TAG_INFO_PER_LEVEL => {
                        let timestamp_ms = r.u64()?;
                        let block_hash = Hash32(r.array()?);
                        InternalMessage::InfoPerLevel(InfoPerLevel { timestamp_ms, block_hash })
                    }
                    tag => return Err(DecodeError::UnknownTag { what: "internal inbox message", tag }),
                };
                r.finish()?;
                Ok(InboxMessage::Internal(msg))
            }
            tag => Err(DecodeError::UnknownTag { what: WHAT, tag }),
        }
    }
}

/// The messages of one level in the order the PVM feeds them: start of level, info per level,
/// the delayed-inbox transfers the level includes, the rollup namespace's transactions as
/// external messages, end of level.
pub fn level_messages(info: InfoPerLevel, transfers: &[Transfer], externals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(3 + transfers.len() + externals.len());
    out.push(START_OF_LEVEL_BYTES.to_vec());
    out.push(InboxMessage::Internal(InternalMessage::InfoPerLevel(info)).encode());
    for t in transfers {
        out.push(InboxMessage::Internal(InternalMessage::Transfer(t.clone())).encode());
    }
    for e in externals {
        let mut m = Vec::with_capacity(1 + e.len());
        m.push(TAG_EXTERNAL);
        m.extend_from_slice(e);
        out.push(m);
    }
    out.push(END_OF_LEVEL_BYTES.to_vec());
    out
}
