//! The L1 poster: the finalized blocks of the sequencer, for one rollup's namespace, go to the
//! rollup's L1 inbox through the bridge, batched by size and time (docs/protocol.md section 6.2).
//!
//! Three ways to certify a batch, one per kind of sequencer (the inbox's verifier decides which
//! it accepts):
//! - `committee`: the decentralized sequencer's BLS finality certificate of the batch's last
//!   block, passed through;
//! - `permissioned`: one operator key signs the finality digest of the last block (ECDSA);
//! - `direct`: no sequencer at all: the poster takes submissions itself, builds the blocks and
//!   posts them uncertified (the permissionless verifier).
//!
//! After a restart, or when a post is refused because the L1 moved (another poster), posting
//! resumes from where the L1 inbox says it stopped, so nothing is posted twice or skipped.

pub mod batcher;
pub mod config;
pub mod direct;
