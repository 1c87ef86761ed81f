//! The contract-bridge service: the only process of the rollup that talks to the L1.
//!
//! It turns rollup operations (post a batch, deposit, publish, cement, refute, execute an outbox
//! message) into L1 transactions, each purpose with its own key as the seeds' operator
//! configuration has it, and turns the rollup contracts' logs back into a stream of rollup
//! events. See `docs/bridge.md`.

pub mod api;
pub mod client;
pub mod config;
pub mod indexer;
pub mod ops;
pub mod sender;
pub mod server;
