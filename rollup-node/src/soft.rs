//! Executing finalized sequencer blocks before the L1 has them (DESIGN.md: "for low latency, the
//! sequencer's availability API, authenticated by the certificates").
//!
//! Each block is checked exactly as the L1 inbox will check it: its finality certificate against
//! the committee the rollup was originated with, its parent against the tip, its namespace table
//! against the header and its transactions against the table; its delayed-message range follows
//! the inbox rule (docs/protocol.md section 6.3) with the hint the bridge computes from the L1.
//! The level is then executed as the next level and remembered as *speculative*. When the L1
//! confirms that level with the same block hash and delayed range, the inputs were identical, so
//! the state stands and nothing is re-executed; any difference (a forced inclusion, a reorg)
//! reverts the PVM to the last confirmed level and the L1's level is executed instead.
//! Commitments are only ever computed over confirmed levels.

use std::collections::BTreeMap;

use alloy::primitives::B256;
use committee::Committee;
use sequencer_api::FinalizedBlock;

/// The most levels executed ahead of the L1.
pub const MAX_AHEAD: usize = 5_000;

/// The tip the next sequencer block must extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Its level.
    pub level: u32,
    /// The sequencer height of its block.
    pub height: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// Delayed messages included up to it.
    pub delayed_end: u64,
}

/// What a speculative level was executed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecLevel {
    /// The sequencer block's hash (info per level).
    pub block_hash: B256,
    /// Its delayed range.
    pub delayed: (u64, u64),
    /// Its sequencer height.
    pub height: u64,
}

/// Levels executed ahead of the L1, and the tip to extend.
#[derive(Debug, Default)]
pub struct Speculation {
    /// Speculative levels, all above the confirmed level.
    pub levels: BTreeMap<u32, SpecLevel>,
    /// The tip (confirmed or speculative) the next block extends; `None` until the node has
    /// caught up with the L1.
    pub tip: Option<Tip>,
}

/// Why a sequencer block cannot be executed ahead of the L1.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    /// Not the next block: the stream must restart at the tip.
    #[error("block {got} does not extend the tip (height {expected})")]
    NotNext {
        /// Height expected.
        expected: u64,
        /// Height given.
        got: u64,
    },
    /// The certificate does not verify against the rollup's committee.
    #[error("bad finality certificate: {0}")]
    Certificate(String),
}

impl Speculation {
    /// Checks that `block` extends the tip and is certified by `committee`.
    pub fn check(&self, tip: &Tip, block: &FinalizedBlock, committee: &Committee) -> Result<(), Rejected> {
        if block.header.height != tip.height + 1 || B256::from(block.header.parent.0) != tip.block_hash {
            return Err(Rejected::NotNext { expected: tip.height + 1, got: block.header.height });
        }
        block.verify_certificate(committee).map_err(|e| Rejected::Certificate(e.to_string()))
    }

    /// Forgets everything above `level` and makes `tip` current (after a mismatch).
    pub fn reset(&mut self, tip: Option<Tip>) {
        self.levels.clear();
        self.tip = tip;
    }
}

/// The committee of a deployment record, for checking certificates.
pub fn committee_of(deployment: &rollup_deploy::Deployment) -> anyhow::Result<Option<Committee>> {
    let Some(c) = &deployment.verifier.committee else { return Ok(None) };
    let mut members = Vec::with_capacity(c.members.len());
    for m in &c.members {
        let bytes = alloy::hex::decode(m.g1_pubkey.trim_start_matches("0x"))?;
        members.push((committee::PublicKey::from_eip2537(&bytes)?, m.stake));
    }
    Ok(Some(Committee { epoch: c.epoch, members }))
}
