//! A sequencer node: the HotStuff-2 consensus core driven over libp2p, with RocksDB storage, a
//! fair bounded mempool, the Espresso-style HTTP API, and a stream of finalized blocks.
//!
//! `docs/sequencer.md` describes the node (configuration, API, network, operations);
//! `docs/consensus.md` the protocol.

pub mod api;
pub mod config;
pub mod driver;
pub mod keys;
pub mod l1;
pub mod metrics;
pub mod node;
pub mod sink;
pub mod txgossip;

pub use config::{NodeConfig, Resolved};
pub use l1::{FixedHead, L1HeadSource, RpcHead};
pub use node::{run, Running};
