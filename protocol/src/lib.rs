//! Byte-exact encodings every part of the rollup shares.
//!
//! The sequencer, the L1 contracts, the PVM, the kernels and the rollup node all read and write
//! these bytes, so each format lives here once, with a decoder that returns a typed error (never
//! panics) on any input. The formats are specified in `docs/protocol.md`; this crate is the
//! executable version of that document.
//!
//! The crate is `no_std` + `alloc` so kernels compiled to `wasm32-unknown-unknown` use the very
//! same code as the node that feeds them.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod commitment;
pub mod error;
pub mod hash;
pub mod inbox;
pub mod l1_batch;
pub mod merkle;
pub mod metadata;
pub mod outbox;
pub mod primitives;
pub mod reveal;
pub mod sequencer;

pub use commitment::Commitment;
pub use error::DecodeError;
pub use hash::{blake2b_256, keccak256};
pub use inbox::{InboxMessage, InfoPerLevel, InternalMessage, Transfer};
pub use metadata::RollupMetadata;
pub use outbox::{L1Call, OutboxMessage};
pub use primitives::{Address, Hash32, Wei};
pub use reveal::{RevealHash, RevealPage};

/// The largest inbox message, outbox message or reveal page, in bytes (the seeds' 4 KiB limit).
pub const MAX_MESSAGE_SIZE: usize = 4096;
