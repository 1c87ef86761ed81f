//! The HTTP API (`docs/sequencer.md` section 3): submission, availability, status, the
//! finalized-block stream, `/health` and `/metrics`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consensus::{BlockRecord, Bls, FinalityCert};
use protocol::Hash32;
use sequencer_api::types::{
    decode_payload, to_hex, BlockJson, ErrorJson, HeaderJson, NamespaceJson, NamespaceProof, Status, SubmitRequest, SubmitResult, TxJson,
};
use sequencer_mempool::{tx_hash, RejectReason};
use sequencer_p2p::Network;
use tokio_util::sync::CancellationToken;

use crate::config::ApiSection;
use crate::metrics::Kind;
use crate::node::Shared;
use crate::txgossip::Outbox;

/// Handler state.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

struct Inner {
    shared: Arc<Shared>,
    gossip: Outbox,
    net: Network,
    cfg: ApiSection,
    shutdown: CancellationToken,
}

impl ApiState {
    /// The API over a node's shared state; `gossip` takes accepted transactions to the network;
    /// open streams close when `shutdown` is cancelled.
    pub fn new(shared: Arc<Shared>, gossip: Outbox, net: Network, cfg: ApiSection, shutdown: CancellationToken) -> Self {
        ApiState(Arc::new(Inner { shared, gossip, net, cfg, shutdown }))
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(ErrorJson { error: message.into() })).into_response()
}

/// All routes, plus `/health` and `/metrics`.
pub fn router(state: ApiState, registry: service_kit::Metrics) -> Router {
    let h = state.0.clone();
    let health = service_kit::Health::new(move || {
        let peers = h.net.stats().connected.load(std::sync::atomic::Ordering::Relaxed);
        let status = *h.shared.status.borrow();
        let certified = *h.shared.certified.borrow();
        let ok = peers + 1 >= quorum_size(&h.shared.stakes);
        let details = serde_json::json!({
            "member": h.shared.me, "peers": peers, "view": status.view,
            "decided_height": status.decided, "certified_height": certified,
            "reason": if ok { "enough committee peers connected to make progress" } else { "too few committee peers connected for a quorum" },
        });
        (ok, details)
    });
    let body_limit = state.0.cfg.max_body_bytes;
    Router::new()
        .route("/v1/submit", post(submit))
        .route("/v1/submit/batch", post(submit_batch))
        .route("/v1/status", get(status))
        .route("/v1/status/block-height", get(block_height))
        .route("/v1/availability/header/{height}", get(header_at))
        .route("/v1/availability/block/{height}", get(block_at))
        .route("/v1/availability/block/{height}/namespace/{ns}", get(namespace_at))
        .route("/v1/availability/stream/blocks/{from}", get(stream_blocks))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
        .merge(service_kit::ops_router(registry, health))
}

/// The fewest members whose stake is surely a quorum (smallest stakes first).
fn quorum_size(stakes: &[u64]) -> usize {
    let total: u128 = stakes.iter().map(|s| u128::from(*s)).sum();
    let mut sorted = stakes.to_vec();
    sorted.sort_unstable();
    let mut sum = 0u128;
    for (i, s) in sorted.iter().enumerate() {
        sum += u128::from(*s);
        if sum * 3 > total * 2 {
            return i + 1;
        }
    }
    stakes.len()
}

impl Inner {
    fn admit(&self, namespace: u64, payload: Vec<u8>) -> Result<Hash32, (StatusCode, String, Option<Hash32>)> {
        let result = self.shared.mempool.lock().expect("mempool lock").insert(namespace, &payload);
        let m = &self.shared.metrics.submissions;
        match result {
            Ok(hash) => {
                // Durable before the client hears "accepted": a restart re-queues it.
                if let Err(e) = self.shared.store.admit(&hash, namespace, &payload) {
                    m.get_or_create(&Kind::of("unavailable")).inc();
                    tracing::error!("cannot record an accepted transaction: {e}");
                    return Err((StatusCode::SERVICE_UNAVAILABLE, format!("the node cannot write to its disk ({e}); try another node"), None));
                }
                m.get_or_create(&Kind::of("accepted")).inc();
                // If the gossip queue is full the transaction still waits here and is ordered
                // when this node leads.
                let _ = self.gossip.try_send((namespace, payload));
                self.shared.mempool_notify.notify_one();
                Ok(hash)
            }
            Err(e) => {
                let (status, kind, hash) = match &e {
                    RejectReason::Empty => (StatusCode::BAD_REQUEST, "invalid", None),
                    RejectReason::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", None),
                    RejectReason::Duplicate(h) => (StatusCode::CONFLICT, "duplicate", Some(*h)),
                    RejectReason::Full(_) => (StatusCode::SERVICE_UNAVAILABLE, "full", None),
                };
                m.get_or_create(&Kind::of(kind)).inc();
                Err((status, e.to_string(), hash))
            }
        }
    }
}

const SUBMIT_SHAPE: &str = r#"expected {"namespace": <u64>, "payload": "<0x-hex or base64>"}"#;

async fn submit(State(s): State<ApiState>, body: Bytes) -> Response {
    let req: SubmitRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            s.0.shared.metrics.submissions.get_or_create(&Kind::of("invalid")).inc();
            return error(StatusCode::BAD_REQUEST, format!("malformed submission ({e}); {SUBMIT_SHAPE}"));
        }
    };
    let payload = match decode_payload(&req.payload) {
        Ok(p) => p,
        Err(e) => {
            s.0.shared.metrics.submissions.get_or_create(&Kind::of("invalid")).inc();
            return error(StatusCode::BAD_REQUEST, e);
        }
    };
    match s.0.admit(req.namespace, payload) {
        Ok(hash) => Json(hash).into_response(),
        Err((status, msg, hash)) => {
            let mut resp = (status, Json(serde_json::json!({ "error": msg, "hash": hash }))).into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            resp
        }
    }
}

async fn submit_batch(State(s): State<ApiState>, body: Bytes) -> Response {
    let reqs: Vec<SubmitRequest> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("malformed batch ({e}); expected a JSON array of submissions, each {SUBMIT_SHAPE}")),
    };
    if reqs.len() > s.0.cfg.max_batch_txs {
        return error(StatusCode::PAYLOAD_TOO_LARGE, format!("{} transactions in one batch; the limit is {}", reqs.len(), s.0.cfg.max_batch_txs));
    }
    let mut full = false;
    let results: Vec<SubmitResult> = reqs
        .into_iter()
        .map(|r| match decode_payload(&r.payload) {
            Err(e) => SubmitResult { hash: None, error: Some(e) },
            Ok(p) => match s.0.admit(r.namespace, p) {
                Ok(h) => SubmitResult { hash: Some(h), error: None },
                Err((status, msg, hash)) => {
                    full |= status == StatusCode::SERVICE_UNAVAILABLE;
                    SubmitResult { hash, error: Some(msg) }
                }
            },
        })
        .collect();
    // Backpressure: if the pool filled up, say so with 503 (the body still tells which made it).
    let status = if full { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let mut resp = (status, Json(results)).into_response();
    if full {
        resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}

async fn status(State(s): State<ApiState>) -> Response {
    let c = *s.0.shared.status.borrow();
    let pool = s.0.shared.mempool.lock().expect("mempool lock").stats();
    Json(Status {
        chain_id: s.0.shared.chain_id,
        member: s.0.shared.me,
        decided_height: c.decided,
        certified_height: *s.0.shared.certified.borrow(),
        view: c.view,
        leader: c.leader,
        peers: s.0.net.stats().connected.load(std::sync::atomic::Ordering::Relaxed),
        mempool_txs: pool.waiting_txs,
        mempool_bytes: pool.waiting_bytes,
    })
    .into_response()
}

/// Espresso's convention: the number of blocks (the next height to be decided).
async fn block_height(State(s): State<ApiState>) -> Response {
    Json(s.0.shared.status.borrow().decided + 1).into_response()
}

/// A decided block and its certificate, if it has one yet.
type Stored = (BlockRecord<Bls>, Option<FinalityCert<Bls>>);

fn load(s: &ApiState, height: u64) -> Result<Stored, Box<Response>> {
    let store = &s.0.shared.store;
    let internal = |e: sequencer_store::StoreError| Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, format!("storage error: {e}")));
    match store.block(height).map_err(internal)? {
        Some(rec) => Ok((rec, store.certificate(height).map_err(internal)?)),
        None => {
            let decided = s.0.shared.status.borrow().decided;
            Err(Box::new(error(StatusCode::NOT_FOUND, format!("block {height} is not decided yet (decided height {decided})"))))
        }
    }
}

/// The API form of a decided block.
pub fn block_json(rec: &BlockRecord<Bls>, cert: Option<&FinalityCert<Bls>>) -> BlockJson {
    let b = &rec.block;
    BlockJson {
        header: HeaderJson::new(b.header()),
        ns_table: to_hex(&b.ns_table().encode()),
        transactions: b.payload().transactions().map(|(ns, t)| TxJson { namespace: ns, payload: to_hex(t), hash: tx_hash(ns, t) }).collect(),
        certificate: cert.map(|c| to_hex(&c.cert.to_l1_bytes())),
    }
}

async fn header_at(State(s): State<ApiState>, Path(height): Path<u64>) -> Response {
    match load(&s, height) {
        Ok((rec, _)) => Json(HeaderJson::new(rec.block.header())).into_response(),
        Err(r) => *r,
    }
}

async fn block_at(State(s): State<ApiState>, Path(height): Path<u64>) -> Response {
    match load(&s, height) {
        Ok((rec, cert)) => Json(block_json(&rec, cert.as_ref())).into_response(),
        Err(r) => *r,
    }
}

async fn namespace_at(State(s): State<ApiState>, Path((height, ns)): Path<(u64, u64)>) -> Response {
    match load(&s, height) {
        Ok((rec, cert)) => Json(NamespaceJson {
            header: HeaderJson::new(rec.block.header()),
            namespace: ns,
            transactions: rec.block.payload().namespace(ns).iter().map(|t| to_hex(t)).collect(),
            proof: NamespaceProof { ns_table: to_hex(&rec.block.ns_table().encode()) },
            certificate: cert.map(|c| to_hex(&c.cert.to_l1_bytes())),
        })
        .into_response(),
        Err(r) => *r,
    }
}

async fn stream_blocks(State(s): State<ApiState>, Path(from): Path<u64>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| stream_task(socket, s, from))
}

/// Sends every certified block from `from` on, in order, then each new one as it is certified.
async fn stream_task(mut socket: WebSocket, s: ApiState, from: u64) {
    let mut certified = s.0.shared.certified.subscribe();
    let mut next = from;
    loop {
        let through = *certified.borrow_and_update();
        while next <= through {
            let json = match load(&s, next) {
                Ok((rec, cert)) if cert.is_some() => serde_json::to_string(&block_json(&rec, cert.as_ref())).expect("serialisable"),
                _ => break,
            };
            if socket.send(WsMessage::Text(json.into())).await.is_err() {
                return;
            }
            next += 1;
        }
        tokio::select! {
            _ = s.0.shutdown.cancelled() => {
                let _ = socket.send(WsMessage::Close(None)).await;
                return;
            }
            changed = certified.changed() => if changed.is_err() { return },
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
