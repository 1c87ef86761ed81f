//! The rollup node library shared by the `proposer` (the seeds' operator mode) and the
//! `challenger` (accuser mode) binaries: follow the inbox through the bridge, execute each level
//! on the PVM, compute commitments, act on the L1, serve the node RPC. See
//! `docs/rollup-node.md`.

pub mod commitments;
pub mod config;
pub mod game;
pub mod node;
pub mod rpc;
pub mod service;
pub mod soft;
pub mod store;
