//! No sequencer at all: the poster takes submissions (the same `POST /v1/submit` shape as a
//! sequencer node, so clients do not change), builds blocks itself on top of the L1 inbox's last
//! block, and hands them to the batcher uncertified (the permissionless verifier accepts them).
//!
//! A transaction stays with the poster until the batch holding it is posted: if the L1 refuses
//! a batch (someone else posted first), its transactions go back to the front of the queue and
//! are rebuilt on the new tip, so nothing accepted is lost.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bridge::client::BridgeClient;
use protocol::inbox::MAX_EXTERNAL_PAYLOAD;
use protocol::sequencer::{tx_root, BlockHeader, NsEntry, NsTable};
use protocol::Hash32;
use sequencer_api::types::{decode_payload, SubmitRequest};
use sequencer_api::FinalizedBlock;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::batcher::{Position, Tagged};

/// Transactions per block at most.
const MAX_TXS_PER_BLOCK: usize = 10_000;

/// The poster acting as its own sequencer.
pub struct DirectSequencer {
    namespace: u64,
    chain_id: u64,
    max_pending: usize,
    pending: Mutex<VecDeque<Vec<u8>>>,
}

impl DirectSequencer {
    /// A sequencer for `namespace` on chain `chain_id`.
    pub fn new(namespace: u64, chain_id: u64, max_pending: usize) -> Arc<Self> {
        Arc::new(DirectSequencer { namespace, chain_id, max_pending, pending: Mutex::new(VecDeque::new()) })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, VecDeque<Vec<u8>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Transactions waiting.
    pub fn backlog(&self) -> usize {
        self.pending().len()
    }

    /// The submit API.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().route("/v1/submit", post(submit)).with_state(self.clone())
    }

    /// Builds blocks every `interval` while there is something to include, until `shutdown`.
    pub async fn build(
        self: Arc<Self>,
        bridge: BridgeClient,
        position: Arc<Position>,
        tx: mpsc::Sender<Tagged>,
        interval: Duration,
        shutdown: CancellationToken,
    ) {
        let mut epoch = u64::MAX; // forces reading the tip first
        let mut tip = (0u64, Hash32::ZERO);
        let mut last_hint = 0u64;
        let mut inflight: VecDeque<(u64, Vec<Vec<u8>>)> = VecDeque::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let status = match bridge.rollup().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot read the L1 inbox ({e}); retrying");
                    continue;
                }
            };
            // Posted blocks no longer need their transactions.
            let posted = position.posted.load(Ordering::SeqCst);
            while inflight.front().is_some_and(|(h, _)| *h <= posted) {
                inflight.pop_front();
            }
            let now_epoch = position.epoch.load(Ordering::SeqCst);
            if now_epoch != epoch {
                // Start (or restart after a refusal) on the L1's tip; unposted blocks' txs go
                // back first, in order.
                let mut q = self.pending();
                for (_, txs) in inflight.drain(..).rev() {
                    for t in txs.into_iter().rev() {
                        q.push_front(t);
                    }
                }
                tip = (status.last_sequencer_height, crate::direct::hash32(status.last_sequencer_block_hash));
                last_hint = status.delayed_included;
                epoch = now_epoch;
                let _ = position.reset_to.lock().map(|mut r| r.take());
            }
            let l1_block = status.indexed_to;
            let hint = match bridge.delayed_hint(l1_block).await {
                Ok(h) => h,
                Err(_) => continue,
            };
            let txs: Vec<Vec<u8>> = {
                let mut q = self.pending();
                let n = q.len().min(MAX_TXS_PER_BLOCK);
                q.drain(..n).collect()
            };
            if txs.is_empty() && hint <= last_hint {
                continue; // nothing new to include
            }
            last_hint = last_hint.max(hint);
            let table = if txs.is_empty() {
                NsTable::default()
            } else {
                NsTable { entries: vec![NsEntry { namespace: self.namespace, tx_count: txs.len() as u32, tx_root: tx_root(&txs) }] }
            };
            let header = BlockHeader {
                chain_id: self.chain_id,
                height: tip.0 + 1,
                view: 0,
                timestamp_ms: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
                l1_block,
                parent: tip.1,
                payload_root: table.payload_root(),
            };
            tip = (header.height, header.hash());
            inflight.push_back((header.height, txs.clone()));
            let block = FinalizedBlock {
                header,
                ns_table: table,
                transactions: txs.into_iter().map(|t| (self.namespace, t)).collect(),
                certificate: vec![],
            };
            if tx.send(Tagged { epoch, block }).await.is_err() {
                return;
            }
        }
    }
}

fn hash32(h: alloy::primitives::B256) -> Hash32 {
    Hash32(h.0)
}

async fn submit(State(s): State<Arc<DirectSequencer>>, body: Bytes) -> Response {
    let bad = |m: String| (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": m }))).into_response();
    let req: SubmitRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(format!(r#"malformed submission ({e}); expected {{"namespace": <u64>, "payload": "<0x-hex or base64>"}}"#)),
    };
    if req.namespace != s.namespace {
        return bad(format!("this poster sequences namespace {} only", s.namespace));
    }
    let payload = match decode_payload(&req.payload) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    if payload.is_empty() || payload.len() > MAX_EXTERNAL_PAYLOAD {
        return bad(format!("a transaction is 1 to {MAX_EXTERNAL_PAYLOAD} bytes, got {}", payload.len()));
    }
    let hash = Hash32(protocol::keccak256(&payload));
    let mut q = s.pending();
    if q.len() >= s.max_pending {
        let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": "too many pending transactions; retry later" })))
            .into_response();
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        return r;
    }
    q.push_back(payload);
    Json(hash).into_response()
}
