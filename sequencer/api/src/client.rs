//! A client for a sequencer node's API.

use futures::{Stream, StreamExt};
use protocol::Hash32;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::types::{BlockJson, ErrorJson, HeaderJson, NamespaceJson, Status, SubmitRequest, SubmitResult};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not reach the node.
    #[error("cannot reach the sequencer node: {0}")]
    Transport(String),
    /// The node answered with an error status.
    #[error("the node answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The node's explanation.
        message: String,
    },
    /// The answer is not what the API promises.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status, if the node answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An HTTP client for one node (`base` like `http://127.0.0.1:8000`).
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the node at `base`.
    pub fn new(base: &str) -> Self {
        Client { base: base.trim_end_matches('/').to_string(), http: reqwest::Client::new() }
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn read<T: serde::de::DeserializeOwned>(resp: Result<reqwest::Response, reqwest::Error>) -> Result<T, ClientError> {
        let resp = resp.map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| ClientError::Transport(e.to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorJson>(&body).map(|e| e.error).unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            return Err(ClientError::Status { status: status.as_u16(), message });
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        Self::read(self.http.get(format!("{}{path}", self.base)).send().await).await
    }

    /// Submits a transaction; returns its hash.
    pub async fn submit(&self, namespace: u64, payload: &[u8]) -> Result<Hash32, ClientError> {
        let body = SubmitRequest { namespace, payload: crate::types::to_hex(payload) };
        Self::read(self.http.post(format!("{}/v1/submit", self.base)).json(&body).send().await).await
    }

    /// Submits many transactions in one request; one result per transaction.
    pub async fn submit_batch(&self, txs: &[SubmitRequest]) -> Result<Vec<SubmitResult>, ClientError> {
        Self::read(self.http.post(format!("{}/v1/submit/batch", self.base)).json(txs).send().await).await
    }

    /// The number of decided blocks (the next height to be decided).
    pub async fn block_height(&self) -> Result<u64, ClientError> {
        self.get("/v1/status/block-height").await
    }

    /// Node status.
    pub async fn status(&self) -> Result<Status, ClientError> {
        self.get("/v1/status").await
    }

    /// The decided header at `height`.
    pub async fn header(&self, height: u64) -> Result<HeaderJson, ClientError> {
        self.get(&format!("/v1/availability/header/{height}")).await
    }

    /// The decided block at `height`.
    pub async fn block(&self, height: u64) -> Result<BlockJson, ClientError> {
        self.get(&format!("/v1/availability/block/{height}")).await
    }

    /// One namespace of the block at `height`, with its proof.
    pub async fn namespace(&self, height: u64, namespace: u64) -> Result<NamespaceJson, ClientError> {
        self.get(&format!("/v1/availability/block/{height}/namespace/{namespace}")).await
    }

    /// Certified blocks from `from` on, in height order, as they are certified (WebSocket).
    pub async fn stream_blocks(&self, from: u64) -> Result<impl Stream<Item = Result<BlockJson, ClientError>> + Unpin, ClientError> {
        let url = format!("{}/v1/availability/stream/blocks/{from}", self.base.replacen("http", "ws", 1));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| ClientError::Transport(e.to_string()))?;
        // Reading the socket also answers the node's pings.
        let stream = ws.filter_map(move |m| {
            let out = match m {
                Ok(WsMessage::Text(t)) => Some(serde_json::from_str::<BlockJson>(&t).map_err(|e| ClientError::Decode(e.to_string()))),
                Ok(WsMessage::Binary(b)) => Some(serde_json::from_slice::<BlockJson>(&b).map_err(|e| ClientError::Decode(e.to_string()))),
                Ok(WsMessage::Close(_)) => Some(Err(ClientError::Transport("the node closed the stream".into()))),
                Ok(_) => None,
                Err(e) => Some(Err(ClientError::Transport(e.to_string()))),
            };
            futures::future::ready(out)
        });
        Ok(Box::pin(stream))
    }
}
