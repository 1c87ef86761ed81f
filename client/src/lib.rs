//! The user's side of the rollup: an L2 wallet for the transfer kernel (docs/kernels.md section
//! 4) and the L1 operations a user makes (deposit, execute a withdrawal). Every failure comes
//! back as a sentence that says what to do.

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address as L1Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{anyhow, bail, Context, Result};
use bridge::client::BridgeClient;
use bridge::server::RollupStatus;
use protocol::{Address, Hash32};
use rollup_node::rpc::{DurableValue, OutboxStatus};
use serde::{Deserialize, Serialize};
use transfer_tx::{Account, AccountId, Operation, SignedOperation};

/// An L2 key: the ed25519 secret seed and the account it controls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// 32-byte secret seed, hex. Keep it secret.
    pub secret: String,
    /// The account (public key), hex.
    pub account: String,
}

impl KeyFile {
    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness available: {e}"))?;
        Ok(Self::from_secret(&secret))
    }

    /// The key of a secret seed.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        KeyFile { secret: hex::encode(secret), account: hex::encode(AccountId::from_secret(secret).0) }
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read key file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a key file (run `rollup keygen`)", path.display()))
    }

    /// The secret seed.
    pub fn secret(&self) -> Result<[u8; 32]> {
        let b = hex::decode(self.secret.trim_start_matches("0x")).context("key file: secret is not hex")?;
        b.try_into().map_err(|_| anyhow!("key file: secret must be 32 bytes"))
    }

    /// The account.
    pub fn account(&self) -> Result<AccountId> {
        parse_account(&self.account)
    }
}

/// Parses an account id (64 hex digits, optional `0x`).
pub fn parse_account(s: &str) -> Result<AccountId> {
    let b = hex::decode(s.trim_start_matches("0x")).with_context(|| format!("account {s:?} is not hex"))?;
    Ok(AccountId(b.try_into().map_err(|_| anyhow!("an account is 32 bytes (64 hex digits)"))?))
}

/// Parses an amount: wei (`1000`), or with a unit: `1.5eth`, `20gwei`.
pub fn parse_amount(s: &str) -> Result<u128> {
    let s = s.trim().to_ascii_lowercase();
    let (num, decimals) = if let Some(n) = s.strip_suffix("eth") {
        (n, 18u32)
    } else if let Some(n) = s.strip_suffix("gwei") {
        (n, 9)
    } else if let Some(n) = s.strip_suffix("wei") {
        (n, 0)
    } else {
        (s.as_str(), 0)
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > decimals as usize || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        bail!("amount {s:?}: expected wei, or a number with eth/gwei, with at most {decimals} decimals");
    }
    let scale = 10u128.pow(decimals);
    let int: u128 = if int.is_empty() { 0 } else { int.parse().context("amount too large")? };
    let frac_val: u128 = if frac.is_empty() { 0 } else { frac.parse::<u128>()? * 10u128.pow(decimals - frac.len() as u32) };
    int.checked_mul(scale).and_then(|v| v.checked_add(frac_val)).ok_or_else(|| anyhow!("amount {s:?} too large"))
}

/// Where the services are.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The bridge.
    pub bridge: String,
    /// A sequencer node.
    pub sequencer: String,
    /// A rollup node (proposer or challenger).
    pub node: String,
}

/// The user client.
pub struct Client {
    /// Endpoints.
    pub endpoints: Endpoints,
    bridge: BridgeClient,
    sequencer: sequencer_api::Client,
    http: reqwest::Client,
}

/// An account's state on the rollup.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Balance {
    /// Wei.
    pub balance: u128,
    /// Next nonce.
    pub nonce: u64,
    /// The level it was read at.
    pub level: u32,
}

impl Client {
    /// A client of the services at `endpoints`.
    pub fn new(endpoints: Endpoints) -> Self {
        Client {
            bridge: BridgeClient::new(&endpoints.bridge),
            sequencer: sequencer_api::Client::new(&endpoints.sequencer),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("reqwest client"),
            endpoints,
        }
    }

    /// The rollup's parameters, from the bridge.
    pub async fn rollup(&self) -> Result<RollupStatus> {
        self.bridge.rollup().await.map_err(|e| anyhow!("cannot reach the bridge at {}: {e}", self.endpoints.bridge))
    }

    /// An account's balance and nonce, from the rollup node (zero for an unknown account).
    pub async fn balance(&self, account: &AccountId) -> Result<Balance> {
        let url = format!("{}/v1/durable/value?key={}", self.endpoints.node, account.storage_key());
        let r = self.http.get(&url).send().await.with_context(|| format!("cannot reach the rollup node at {}", self.endpoints.node))?;
        match r.status().as_u16() {
            200 => {
                let v: DurableValue = r.json().await?;
                let a = Account::decode(&v.value).ok_or_else(|| anyhow!("the account record at {} is malformed", account.storage_key()))?;
                Ok(Balance { balance: a.balance, nonce: a.nonce, level: v.level })
            }
            404 => {
                let head: rollup_node::rpc::Head = self.http.get(format!("{}/v1/head", self.endpoints.node)).send().await?.json().await?;
                Ok(Balance { balance: 0, nonce: 0, level: head.level })
            }
            s => bail!("the rollup node answered {s}: {}", r.text().await.unwrap_or_default()),
        }
    }

    /// Signs `op` with `key` at its next nonce, checks it can succeed, and submits it to the
    /// sequencer. Returns the transaction hash and the nonce used.
    pub async fn send(&self, key: &KeyFile, op: Operation) -> Result<(Hash32, u64)> {
        let account = key.account()?;
        let rollup = self.rollup().await?;
        let state = self.balance(&account).await?;
        let amount = match op {
            Operation::Transfer { amount, .. } | Operation::Withdrawal { amount, .. } => amount,
        };
        if amount > state.balance {
            bail!("insufficient funds: account {} has {} wei, the operation needs {amount}", hex::encode(account.0), state.balance);
        }
        let signed = SignedOperation::sign(&key.secret()?, op, state.nonce, &Address(rollup.address.0 .0));
        let hash = self
            .sequencer
            .submit(rollup.namespace, &signed.encode())
            .await
            .map_err(|e| anyhow!("the sequencer at {} refused the transaction: {e}", self.endpoints.sequencer))?;
        Ok((hash, state.nonce))
    }

    /// Waits until `account`'s nonce passes `nonce` on the rollup node (the operation was
    /// executed, or skipped as invalid if the nonce moved for another reason).
    pub async fn wait_nonce(&self, account: &AccountId, nonce: u64, timeout: Duration) -> Result<Balance> {
        let start = Instant::now();
        loop {
            // A node that is restarting answers nothing for a moment: keep waiting.
            let state = self.balance(account).await;
            match &state {
                Ok(b) if b.nonce > nonce => return Ok(*b),
                _ if start.elapsed() > timeout => match state {
                    Ok(b) => bail!(
                        "not executed after {timeout:?}: the account's nonce is still {} (is the sequencer running and the poster posting?)",
                        b.nonce
                    ),
                    Err(e) => bail!("not executed after {timeout:?}: {e}"),
                },
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deposits `amount` wei from the L1 account of `l1_key` to `to`, relayed by the bridge.
    /// Returns the delayed-inbox index.
    pub async fn deposit(&self, l1_key: &PrivateKeySigner, to: &AccountId, amount: u128) -> Result<u64> {
        let rollup = self.rollup().await?;
        let call = l1_bindings::Rollup::depositEthCall { payload: Bytes::from(transfer_tx::deposit_payload(to).to_vec()) };
        let relayed = self.sign_and_relay(l1_key, rollup.address, call.abi_encode().into(), U256::from(amount)).await?;
        relayed.delayed_indices.first().copied().ok_or_else(|| anyhow!("the deposit was mined but enqueued nothing"))
    }

    async fn sign_and_relay(&self, key: &PrivateKeySigner, to: L1Address, input: Bytes, value: U256) -> Result<bridge::server::Relayed> {
        let info = self.bridge.account(key.address()).await.map_err(|e| anyhow!("{e}"))?;
        if info.balance < value {
            bail!("insufficient L1 funds: {} has {} wei, the deposit needs {value} plus gas", key.address(), info.balance);
        }
        let tx = TransactionRequest::default()
            .with_from(key.address())
            .with_to(to)
            .with_input(input)
            .with_value(value)
            .with_nonce(info.nonce)
            .with_chain_id(info.chain_id)
            .with_gas_limit(300_000)
            .with_max_fee_per_gas(info.max_fee_per_gas)
            .with_max_priority_fee_per_gas(info.max_priority_fee_per_gas);
        let wallet = EthereumWallet::from(key.clone());
        let envelope = alloy::network::NetworkTransactionBuilder::<alloy::network::Ethereum>::build(tx, &wallet).await.context("signing the L1 transaction")?;
        let mut raw = Vec::new();
        alloy::eips::Encodable2718::encode_2718(&envelope, &mut raw);
        self.bridge.relay(raw.into()).await.map_err(|e| anyhow!("{e}"))
    }

    /// The rollup node's outbox messages in a level range, with their execution status.
    pub async fn outbox(&self, from: Option<u32>, to: Option<u32>) -> Result<Vec<OutboxStatus>> {
        let mut url = format!("{}/v1/outbox?", self.endpoints.node);
        if let Some(f) = from {
            url.push_str(&format!("from_level={f}&"));
        }
        if let Some(t) = to {
            url.push_str(&format!("to_level={t}"));
        }
        let r = self.http.get(&url).send().await.with_context(|| format!("cannot reach the rollup node at {}", self.endpoints.node))?;
        if !r.status().is_success() {
            bail!("the rollup node answered {}: {}", r.status(), r.text().await.unwrap_or_default());
        }
        Ok(r.json().await?)
    }

    /// Executes outbox message `index` of `level` on the L1: with `l1_key` from the user's own
    /// account, otherwise by the bridge's execute key.
    pub async fn execute(&self, level: u32, index: u32, l1_key: Option<&PrivateKeySigner>) -> Result<bridge::ops::Mined> {
        let url = format!("{}/v1/outbox/{level}/{index}/proof", self.endpoints.node);
        let r = self.http.get(&url).send().await.with_context(|| format!("cannot reach the rollup node at {}", self.endpoints.node))?;
        match r.status().as_u16() {
            200 => {}
            409 => bail!("level {level} is not cemented yet: wait for the challenge window to pass, then try again"),
            404 => bail!("no outbox message {index} at level {level}: {}", r.text().await.unwrap_or_default()),
            s => bail!("the rollup node answered {s}: {}", r.text().await.unwrap_or_default()),
        }
        let req: bridge::server::ExecuteRequest = r.json().await?;
        match l1_key {
            None => self.bridge.execute_outbox(&req).await.map_err(|e| match e.code() {
                Some("reverted") if e.to_string().contains("AlreadyExecuted") => {
                    anyhow!("outbox message {index} of level {level} was already executed")
                }
                _ => anyhow!("{e}"),
            }),
            Some(key) => {
                let rollup = self.rollup().await?;
                let call = l1_bindings::Rollup::executeOutboxMessageCall {
                    cemented: req.cemented,
                    proof: l1_bindings::IRollup::OutboxProof {
                        pvmRoot: req.pvm_root,
                        level: req.level,
                        index: req.index,
                        count: req.count,
                        messagePath: req.message_path,
                        slotPath: req.slot_path,
                    },
                    message: req.message,
                };
                Ok(self.sign_and_relay(key, rollup.address, call.abi_encode().into(), U256::ZERO).await?.mined)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("1000").unwrap(), 1000);
        assert_eq!(parse_amount("1.5eth").unwrap(), 1_500_000_000_000_000_000);
        assert_eq!(parse_amount("20gwei").unwrap(), 20_000_000_000);
        assert_eq!(parse_amount("0.000000000000000001eth").unwrap(), 1);
        assert!(parse_amount("0.0000000000000000001eth").is_err());
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("").is_err());
        assert!(parse_amount("1e18").is_err());
    }

    #[test]
    fn keys_roundtrip() {
        let k = KeyFile::generate().unwrap();
        let back: KeyFile = serde_json::from_str(&serde_json::to_string(&k).unwrap()).unwrap();
        assert_eq!(back.account().unwrap(), AccountId::from_secret(&back.secret().unwrap()));
        assert!(parse_account("12").is_err());
    }
}
