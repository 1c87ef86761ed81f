//! Sending L1 transactions so that nothing is sent twice and nothing is silently dropped.
//!
//! One [`TxSender`] per key. It sends one transaction at a time: it simulates the call first
//! (a call that would revert is refused with its revert data and never sent), takes the pending
//! nonce from the node, prices with EIP-1559 estimates, waits for the receipt, and if none comes
//! within the timeout re-sends the same nonce with higher fees, so at most one of its attempts
//! can ever be mined. RPC failures (a lost L1 connection) are retried with backoff.

use std::time::Duration;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, TxHash, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};
use tokio::sync::Mutex;

/// How a [`TxSender`] behaves; the defaults suit a devnet.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// How long to wait for a receipt before re-pricing the transaction.
    pub receipt_timeout: Duration,
    /// Re-pricings before giving up (the last attempt may still be mined later; its hash is
    /// reported).
    pub max_replacements: u32,
    /// Fee multiplier per replacement, in percent (nodes require at least 110).
    pub fee_bump_percent: u128,
    /// Attempts for a transient RPC failure before it is reported.
    pub rpc_retries: u32,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig { receipt_timeout: Duration::from_secs(30), max_replacements: 5, fee_bump_percent: 125, rpc_retries: 8 }
    }
}

/// Why a transaction was not (or not successfully) included.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The call reverts; it was not sent. `data` is the revert data (a custom error to decode).
    #[error("the call reverts ({}); not sent", hex_or_empty(data))]
    Reverted {
        /// ABI-encoded revert data.
        data: Bytes,
    },
    /// The transaction was mined but reverted (the state changed between simulation and
    /// inclusion, e.g. a competing poster).
    #[error("transaction {tx_hash} was mined in block {block} but reverted")]
    MinedReverted {
        /// Hash of the mined transaction.
        tx_hash: TxHash,
        /// Block it was mined in.
        block: u64,
    },
    /// No receipt after every re-pricing; one of `tx_hashes` may still be mined.
    #[error("no receipt after {} attempts (last {:?}); the nonce is still pending", tx_hashes.len(), tx_hashes.last())]
    NotMined {
        /// Every hash sent for this nonce.
        tx_hashes: Vec<TxHash>,
    },
    /// The L1 node could not be reached or answered with an error; nothing was sent.
    #[error("L1 RPC error: {0}")]
    Rpc(String),
}

fn hex_or_empty(b: &Bytes) -> String {
    if b.is_empty() {
        "no revert data".into()
    } else {
        b.to_string()
    }
}

/// Sends transactions from one key, one at a time.
pub struct TxSender {
    address: Address,
    provider: DynProvider,
    chain_id: u64,
    config: SenderConfig,
    lock: Mutex<()>,
}

impl TxSender {
    /// A sender for `signer` on the L1 at `rpc_url`.
    pub async fn connect(rpc_url: &str, signer: PrivateKeySigner, config: SenderConfig) -> Result<Self, SendError> {
        let url = rpc_url.parse().map_err(|e| SendError::Rpc(format!("bad L1 RPC URL {rpc_url}: {e}")))?;
        let address = signer.address();
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();
        let chain_id = retry(config.rpc_retries, || provider.get_chain_id()).await?;
        Ok(TxSender { address, provider, chain_id, config, lock: Mutex::new(()) })
    }

    /// The sending account.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The provider (with this key's wallet) for reads.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Simulates, sends and waits for the receipt of a call to `to`.
    pub async fn send(&self, to: Address, input: Bytes, value: U256) -> Result<TransactionReceipt, SendError> {
        let _one_at_a_time = self.lock.lock().await;
        let mut tx = TransactionRequest::default()
            .with_from(self.address)
            .with_to(to)
            .with_input(input)
            .with_value(value)
            .with_chain_id(self.chain_id);

        // Simulation doubles as gas estimation; a revert is final, not retried.
        let gas = self.estimate(&tx).await?;
        tx.set_gas_limit(gas + gas / 5 + 10_000);
        let nonce = retry(self.config.rpc_retries, || self.provider.get_transaction_count(self.address).pending()).await?;
        tx.set_nonce(nonce);
        let fees = retry(self.config.rpc_retries, || self.provider.estimate_eip1559_fees()).await?;
        let (mut max_fee, mut tip) = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas.max(1));

        let mut sent: Vec<TxHash> = Vec::new();
        for attempt in 0..=self.config.max_replacements {
            tx.set_max_fee_per_gas(max_fee);
            tx.set_max_priority_fee_per_gas(tip);
            match self.provider.send_transaction(tx.clone()).await {
                Ok(pending) => {
                    let hash = *pending.tx_hash();
                    sent.push(hash);
                    tracing::debug!(%hash, nonce, attempt, "sent");
                    match pending.with_timeout(Some(self.config.receipt_timeout)).get_receipt().await {
                        Ok(receipt) => return check(receipt),
                        Err(e) => tracing::warn!(%hash, nonce, "no receipt yet ({e}); re-pricing"),
                    }
                }
                Err(e) => {
                    // A replacement refused because an earlier attempt was mined, or a transient
                    // failure: either way, look for a mined earlier attempt first.
                    if let Some(r) = self.mined(&sent).await {
                        return check(r);
                    }
                    let msg = e.to_string();
                    if msg.contains("nonce too low") {
                        return Err(SendError::Rpc(format!("nonce {nonce} was taken by another sender of {}", self.address)));
                    }
                    tracing::warn!(nonce, attempt, "send failed: {msg}; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
            if let Some(r) = self.mined(&sent).await {
                return check(r);
            }
            max_fee = max_fee * self.config.fee_bump_percent / 100 + 1;
            tip = tip * self.config.fee_bump_percent / 100 + 1;
        }
        Err(SendError::NotMined { tx_hashes: sent })
    }

    async fn estimate(&self, tx: &TransactionRequest) -> Result<u64, SendError> {
        let mut attempt = 0;
        loop {
            match self.provider.estimate_gas(tx.clone()).await {
                Ok(g) => return Ok(g),
                Err(RpcError::ErrorResp(payload)) => {
                    if let Some(data) = payload.as_revert_data() {
                        return Err(SendError::Reverted { data });
                    }
                    if payload.message.contains("revert") {
                        return Err(SendError::Reverted { data: Bytes::new() });
                    }
                    return Err(SendError::Rpc(payload.to_string()));
                }
                Err(e) if attempt < self.config.rpc_retries => {
                    tracing::warn!("L1 unreachable while simulating ({e}); retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(SendError::Rpc(e.to_string())),
            }
        }
    }

    async fn mined(&self, hashes: &[TxHash]) -> Option<TransactionReceipt> {
        for h in hashes {
            if let Ok(Some(r)) = self.provider.get_transaction_receipt(*h).await {
                return Some(r);
            }
        }
        None
    }
}

fn check(r: TransactionReceipt) -> Result<TransactionReceipt, SendError> {
    if r.status() {
        Ok(r)
    } else {
        Err(SendError::MinedReverted { tx_hash: r.transaction_hash, block: r.block_number.unwrap_or_default() })
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(6)))
}

/// Runs an RPC call, retrying transport failures with backoff.
pub async fn retry<T, F, Fut>(retries: u32, mut f: F) -> Result<T, SendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::IntoFuture<Output = Result<T, RpcError<TransportErrorKind>>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < retries && !matches!(e, RpcError::ErrorResp(_)) => {
                tracing::warn!("L1 RPC failed ({e}); retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(SendError::Rpc(e.to_string())),
        }
    }
}
