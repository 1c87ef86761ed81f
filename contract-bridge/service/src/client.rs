//! A typed client of the bridge's HTTP API, for the rollup node, the poster and the user client.

use std::time::Duration;

use alloy::primitives::{Address, Bytes, B256};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{ErrorBody, EventsPage};
use crate::ops::{Mined, PostedBatch};
use crate::server::{
    AccountInfo, CommitmentBody, ExecuteRequest, ForceRequest, PostBatchRequest, Published, RelayRequest, Relayed, RollupStatus,
};

/// What went wrong talking to the bridge.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The bridge answered with an error (`body.error` is the stable code: `reorg`, `reverted`,
    /// `key_not_configured`, `l1_unavailable`, `bad_request`...).
    #[error("bridge answered {status}: {}{}", body.message, body.revert.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: ErrorBody,
    },
    /// The bridge could not be reached or answered something unreadable.
    #[error("bridge unreachable: {0}")]
    Transport(String),
}

impl ClientError {
    /// The stable error code, if the bridge answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.error),
            ClientError::Transport(_) => None,
        }
    }
}

/// A bridge at a base URL such as `http://127.0.0.1:7100`.
#[derive(Clone, Debug)]
pub struct BridgeClient {
    base: String,
    http: reqwest::Client,
}

impl BridgeClient {
    /// A client of the bridge at `base`.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("reqwest client");
        BridgeClient { base: base.trim_end_matches('/').to_string(), http }
    }

    async fn decode<T: DeserializeOwned>(r: Result<reqwest::Response, reqwest::Error>) -> Result<T, ClientError> {
        let r = r.map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = r.status();
        if status.is_success() {
            r.json::<T>().await.map_err(|e| ClientError::Transport(format!("unreadable answer: {e}")))
        } else {
            let text = r.text().await.unwrap_or_default();
            let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
                error: "http".into(),
                message: text,
                revert: None,
            });
            Err(ClientError::Api { status: status.as_u16(), body })
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        Self::decode(self.http.get(format!("{}{path}", self.base)).send().await).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        Self::decode(self.http.post(format!("{}{path}", self.base)).json(body).send().await).await
    }

    /// A page of rollup events from `from_block`; `parent_hash` is the hash of `from_block - 1`
    /// as last seen (a reorg answers `reorg`). Waits up to `wait` for new blocks.
    pub async fn events(&self, from_block: u64, parent_hash: Option<B256>, wait: Duration) -> Result<EventsPage, ClientError> {
        let mut q = format!("/v1/events?from_block={from_block}&wait_ms={}", wait.as_millis());
        if let Some(h) = parent_hash {
            q.push_str(&format!("&parent_hash={h}"));
        }
        self.get(&q).await
    }

    /// Where the rollup stands on the L1.
    pub async fn rollup(&self) -> Result<RollupStatus, ClientError> {
        self.get("/v1/rollup").await
    }

    /// Posts a batch.
    pub async fn post_batch(&self, batch: Bytes, certificate: Bytes) -> Result<PostedBatch, ClientError> {
        self.post("/v1/batches", &PostBatchRequest { batch, certificate }).await
    }

    /// The `delayed_through` of a batch level whose header names `l1_block` (answers
    /// `not_indexed` until the bridge has indexed that block).
    pub async fn delayed_hint(&self, l1_block: u64) -> Result<u64, ClientError> {
        let h: crate::server::DelayedHint = self.get(&format!("/v1/inbox/delayed-hint?l1_block={l1_block}")).await?;
        Ok(h.delayed_through)
    }

    /// Forces overdue delayed messages in.
    pub async fn force_inclusion(&self, through: u64) -> Result<Mined, ClientError> {
        self.post("/v1/inclusion/force", &ForceRequest { through }).await
    }

    /// Publishes a commitment (staking first if needed).
    pub async fn publish(&self, c: &CommitmentBody) -> Result<Published, ClientError> {
        self.post("/v1/commitments", c).await
    }

    /// Cements a commitment.
    pub async fn cement(&self, c: &CommitmentBody) -> Result<Mined, ClientError> {
        self.post("/v1/commitments/cement", c).await
    }

    /// Recovers the publish key's stake.
    pub async fn recover_stake(&self) -> Result<Mined, ClientError> {
        self.post("/v1/stake/recover", &serde_json::json!({})).await
    }

    /// Executes an outbox message.
    pub async fn execute_outbox(&self, r: &ExecuteRequest) -> Result<Mined, ClientError> {
        self.post("/v1/outbox/execute", r).await
    }

    /// Relays a user-signed transaction to the rollup contract.
    pub async fn relay(&self, raw_tx: Bytes) -> Result<Relayed, ClientError> {
        self.post("/v1/l1/relay", &RelayRequest { raw_tx }).await
    }

    /// Nonce, balance and fee suggestions for signing an L1 transaction.
    pub async fn account(&self, address: Address) -> Result<AccountInfo, ClientError> {
        self.get(&format!("/v1/l1/account/{address}")).await
    }
}
