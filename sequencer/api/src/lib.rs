//! The sequencer's API as a rollup integrator sees it.
//!
//! - [`types`]: the JSON shapes of the HTTP API (Espresso-style paths, see `docs/sequencer.md`);
//! - [`proof`]: checking a namespace's transactions against a block header;
//! - [`client`]: an HTTP + WebSocket client for all of it;
//! - [`sink`]: "where finalized blocks go" ([`FinalizedSink`]) and [`follow`], which feeds a
//!   sink from a node's stream, resuming at the height the sink asks for.

pub mod client;
pub mod proof;
pub mod sink;
pub mod types;

pub use client::{Client, ClientError};
pub use proof::{verify_namespace, ProofError};
pub use sink::{follow, FinalizedSink, SinkError};
pub use types::{BlockJson, FinalizedBlock, HeaderJson, NamespaceJson, Status, SubmitRequest, TxJson};
