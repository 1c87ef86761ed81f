//! The devnet: every process of the system started for real on one machine, and the harness the
//! end-to-end tests use to start, kill and restart them.

pub mod demo;
pub mod network;
pub mod process;
