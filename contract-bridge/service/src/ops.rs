//! The rollup operations the bridge performs on the L1, each with the key of its purpose (the
//! seeds' operator configuration: one key per kind of operation, so a leaked key limits harm).

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEventInterface, SolInterface};
use l1_bindings::IRollup;
use l1_bindings::Rollup::{self, RollupErrors, RollupEvents};
use serde::{Deserialize, Serialize};

use crate::sender::{SendError, TxSender};

/// What a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Posting sequencer batches, forcing delayed messages in.
    Post,
    /// Publishing commitments (and staking, and recovering the stake).
    Publish,
    /// Cementing commitments.
    Cement,
    /// Playing refutation games.
    Refute,
    /// Executing outbox messages.
    Execute,
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Purpose::Post => "post",
            Purpose::Publish => "publish",
            Purpose::Cement => "cement",
            Purpose::Refute => "refute",
            Purpose::Execute => "execute",
        };
        f.write_str(s)
    }
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The bridge has no key for this purpose.
    #[error("no `{0}` key is configured on this bridge")]
    NoKey(Purpose),
    /// The rollup contract refuses the call (the revert decoded, if it is the rollup's).
    #[error("the rollup refuses: {reason}")]
    Refused {
        /// Decoded custom error, or the raw revert data.
        reason: String,
    },
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// The L1 transaction could not be completed.
    #[error(transparent)]
    Send(SendError),
}

impl From<SendError> for OpError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Reverted { data } => OpError::Refused { reason: decode_revert(&data) },
            other => OpError::Send(other),
        }
    }
}

/// Names a rollup revert (`BatchParentMismatch { .. }`), or shows the raw data.
pub fn decode_revert(data: &[u8]) -> String {
    match RollupErrors::abi_decode(data) {
        Ok(e) => format!("{e:?}"),
        Err(_) if data.is_empty() => "reverted without data".into(),
        Err(_) => format!("revert data {}", Bytes::copy_from_slice(data)),
    }
}

/// A posted batch, as the contract recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PostedBatch {
    /// The L1 transaction.
    pub tx_hash: B256,
    /// The L1 block it was mined in.
    pub l1_block: u64,
    /// The batch index.
    pub batch_index: u64,
    /// The first level it appended.
    pub first_level: u32,
    /// How many levels.
    pub level_count: u32,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// A mined L1 transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mined {
    /// The transaction.
    pub tx_hash: B256,
    /// Its block.
    pub l1_block: u64,
    /// Gas it used.
    pub gas_used: u64,
}

impl From<&TransactionReceipt> for Mined {
    fn from(r: &TransactionReceipt) -> Self {
        Mined { tx_hash: r.transaction_hash, l1_block: r.block_number.unwrap_or_default(), gas_used: r.gas_used }
    }
}

/// The bridge's L1 operations on one rollup.
pub struct Operations {
    rollup: Address,
    reader: DynProvider,
    senders: HashMap<Purpose, Arc<TxSender>>,
}

impl Operations {
    /// Operations on `rollup`, with a sender per configured purpose.
    pub fn new(rollup: Address, reader: DynProvider, senders: HashMap<Purpose, Arc<TxSender>>) -> Self {
        Operations { rollup, reader, senders }
    }

    /// The rollup contract.
    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// A provider for reads.
    pub fn reader(&self) -> &DynProvider {
        &self.reader
    }

    /// The account of each configured purpose.
    pub fn accounts(&self) -> HashMap<Purpose, Address> {
        self.senders.iter().map(|(p, s)| (*p, s.address())).collect()
    }

    fn sender(&self, p: Purpose) -> Result<&TxSender, OpError> {
        self.senders.get(&p).map(|s| s.as_ref()).ok_or(OpError::NoKey(p))
    }

    /// Posts a batch of sequencer blocks with its certificate.
    pub async fn post_batch(&self, batch: Bytes, certificate: Bytes) -> Result<PostedBatch, OpError> {
        let input = Rollup::postBatchCall { batch, certificate }.abi_encode();
        let r = self.sender(Purpose::Post)?.send(self.rollup, input.into(), U256::ZERO).await?;
        let posted = r
            .inner
            .logs()
            .iter()
            .find_map(|l| match RollupEvents::decode_raw_log(l.topics(), &l.data().data) {
                Ok(RollupEvents::BatchPosted(e)) => Some((e.batchIndex, e.firstLevel, e.levelCount)),
                _ => None,
            })
            .ok_or_else(|| OpError::BadRequest("postBatch succeeded but emitted no BatchPosted".into()))?;
        Ok(PostedBatch {
            tx_hash: r.transaction_hash,
            l1_block: r.block_number.unwrap_or_default(),
            batch_index: posted.0,
            first_level: posted.1,
            level_count: posted.2,
            gas_used: r.gas_used,
        })
    }

    /// Forces delayed messages `[included, through)` into the inbox once they are overdue.
    pub async fn force_inclusion(&self, through: u64) -> Result<Mined, OpError> {
        let input = Rollup::forceInclusionCall { through }.abi_encode();
        let r = self.sender(Purpose::Post)?.send(self.rollup, input.into(), U256::ZERO).await?;
        Ok((&r).into())
    }

    /// Publishes a commitment, depositing the stake first if the publish key has none.
    pub async fn publish(&self, c: IRollup::Commitment) -> Result<(B256, Mined), OpError> {
        let sender = self.sender(Purpose::Publish)?;
        let rollup = Rollup::new(self.rollup, &self.reader);
        let (id, _, _) = {
            let s = rollup.staker(sender.address()).call().await.map_err(|e| OpError::Send(SendError::Rpc(e.to_string())))?;
            (s.id, s.head, s.headLevel)
        };
        let value = if id == 0 {
            rollup.config().call().await.map_err(|e| OpError::Send(SendError::Rpc(e.to_string())))?.stakeAmount
        } else {
            U256::ZERO
        };
        let hash = protocol::Commitment {
            predecessor: protocol::Hash32(c.predecessor.0),
            state_hash: protocol::Hash32(c.stateHash.0),
            inbox_level: c.inboxLevel,
            number_of_ticks: c.numberOfTicks,
        }
        .hash();
        let input = Rollup::publishCall { c }.abi_encode();
        let r = sender.send(self.rollup, input.into(), value).await?;
        Ok((B256::from(hash.0), (&r).into()))
    }

    /// Cements a commitment whose refutation window has passed.
    pub async fn cement(&self, c: IRollup::Commitment) -> Result<Mined, OpError> {
        let input = Rollup::cementCall { c }.abi_encode();
        Ok((&self.sender(Purpose::Cement)?.send(self.rollup, input.into(), U256::ZERO).await?).into())
    }

    /// Takes the publish key's stake back (it must have nothing uncemented).
    pub async fn recover_stake(&self) -> Result<Mined, OpError> {
        let input = Rollup::recoverStakeCall {}.abi_encode();
        Ok((&self.sender(Purpose::Publish)?.send(self.rollup, input.into(), U256::ZERO).await?).into())
    }

    /// Executes an outbox message of a cemented commitment.
    pub async fn execute_outbox(&self, cemented: B256, proof: IRollup::OutboxProof, message: Bytes) -> Result<Mined, OpError> {
        let input = Rollup::executeOutboxMessageCall { cemented, proof, message }.abi_encode();
        Ok((&self.sender(Purpose::Execute)?.send(self.rollup, input.into(), U256::ZERO).await?).into())
    }

    /// Sends `calldata` to the refutation game contract with the refute key.
    pub async fn game_call(&self, game: Address, calldata: Bytes) -> Result<Mined, OpError> {
        Ok((&self.sender(Purpose::Refute)?.send(game, calldata, U256::ZERO).await?).into())
    }

    /// Broadcasts a transaction a user signed (a deposit, a message, an outbox execution from
    /// their own account) and waits for it; only calls to the rollup contract are relayed.
    pub async fn relay(&self, raw: Bytes) -> Result<TransactionReceipt, OpError> {
        use alloy::consensus::{Transaction as _, TxEnvelope};
        use alloy::eips::Decodable2718;
        let env = TxEnvelope::decode_2718(&mut raw.as_ref())
            .map_err(|e| OpError::BadRequest(format!("not a signed EIP-2718 transaction: {e}")))?;
        if env.to() != Some(self.rollup) {
            return Err(OpError::BadRequest(format!("only calls to the rollup contract {} are relayed", self.rollup)));
        }
        let pending = self
            .reader
            .send_raw_transaction(&raw)
            .await
            .map_err(|e| OpError::Send(SendError::Rpc(e.to_string())))?;
        let r = pending
            .with_timeout(Some(std::time::Duration::from_secs(60)))
            .get_receipt()
            .await
            .map_err(|e| OpError::Send(SendError::Rpc(e.to_string())))?;
        if !r.status() {
            return Err(OpError::Send(SendError::MinedReverted {
                tx_hash: r.transaction_hash,
                block: r.block_number.unwrap_or_default(),
            }));
        }
        Ok(r)
    }
}
