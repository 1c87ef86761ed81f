//! The rollup node's RPC (the seeds' rollup-node RPC, adapted): state, durable storage, outbox
//! messages and their L1 proofs, commitments, and the operator's bailout.

use alloy::primitives::{Bytes, B256};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bridge::server::ApiError;
use bridge::server::ExecuteRequest;
use protocol::outbox::OutboxMessage;
use pvm::Key;
use serde::{Deserialize, Serialize};

use crate::commitments::{CommitmentJson, Conflict, Published};
use crate::node::Node;

/// The RPC routes (merge `service_kit::ops_router` for /health and /metrics).
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/v1/head", get(head))
        .route("/v1/levels/{level}", get(level))
        .route("/v1/durable/value", get(durable_value))
        .route("/v1/durable/subkeys", get(durable_subkeys))
        .route("/v1/outbox", get(outbox_range))
        .route("/v1/outbox/{level}", get(outbox))
        .route("/v1/outbox/{level}/{index}/proof", get(outbox_proof))
        .route("/v1/commitments", get(commitments))
        .route("/v1/admin/bailout", post(bailout))
        .with_state(node)
}

fn not_found(what: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
}

fn bad_request(what: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", what)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// `GET /v1/head`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Head {
    /// The last level executed.
    pub level: u32,
    /// Its state hash.
    pub state_hash: B256,
    /// Ticks since origination.
    pub ticks: u64,
    /// The last level the L1 has confirmed (levels above it were executed from certified
    /// sequencer blocks ahead of the L1).
    pub confirmed_level: u32,
    /// The last L1 block applied.
    pub l1_block: u64,
}

async fn head(State(n): State<Node>) -> ApiResult<Head> {
    let r = n.pvm().head();
    let s = n.shared();
    Ok(Json(Head {
        level: r.level,
        state_hash: B256::from(r.state_hash.0),
        ticks: r.ticks,
        confirmed_level: s.confirmed_level,
        l1_block: s.l1_block,
    }))
}

/// `GET /v1/levels/{level}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LevelState {
    /// The level.
    pub level: u32,
    /// `H(pvm_root || outbox_root)`.
    pub state_hash: B256,
    /// The PVM root.
    pub pvm_root: B256,
    /// The outbox root.
    pub outbox_root: B256,
    /// Ticks since origination.
    pub ticks: u64,
}

async fn level(State(n): State<Node>, Path(level): Path<u32>) -> ApiResult<LevelState> {
    let r = n.pvm().record(level).map_err(internal)?.ok_or_else(|| not_found(format!("level {level} is not executed")))?;
    Ok(Json(LevelState {
        level,
        state_hash: B256::from(r.state_hash.0),
        pvm_root: B256::from(r.pvm_root.0),
        outbox_root: B256::from(r.outbox_root.0),
        ticks: r.ticks,
    }))
}

/// Query of the durable endpoints.
#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    /// A durable storage key such as `/accounts/ab..`.
    pub key: String,
    /// The level (default: the head).
    pub level: Option<u32>,
}

/// `GET /v1/durable/value`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DurableValue {
    /// The key.
    pub key: String,
    /// The level read.
    pub level: u32,
    /// The value.
    pub value: Bytes,
}

fn view(n: &Node, q: &KeyQuery) -> Result<(pvm::StateView, Key, u32), ApiError> {
    let key = Key::new(&q.key).map_err(|e| bad_request(format!("key {:?}: {e}", q.key)))?;
    let pvm = n.pvm();
    let level = q.level.unwrap_or(pvm.head().level);
    let view = pvm.view(level).map_err(|e| not_found(e.to_string()))?;
    Ok((view, key, level))
}

async fn durable_value(State(n): State<Node>, Query(q): Query<KeyQuery>) -> ApiResult<DurableValue> {
    let (mut view, key, level) = view(&n, &q)?;
    let value = view.read(&key).map_err(internal)?.ok_or_else(|| not_found(format!("no value at {} at level {level}", q.key)))?;
    Ok(Json(DurableValue { key: q.key, level, value: value.into() }))
}

/// `GET /v1/durable/subkeys`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Subkeys {
    /// The key.
    pub key: String,
    /// The level read.
    pub level: u32,
    /// Its children's names.
    pub subkeys: Vec<String>,
}

async fn durable_subkeys(State(n): State<Node>, Query(q): Query<KeyQuery>) -> ApiResult<Subkeys> {
    let (mut view, key, level) = view(&n, &q)?;
    let subkeys = view.subkeys(&key).map_err(internal)?;
    Ok(Json(Subkeys { key: q.key, level, subkeys }))
}

/// One outbox message in `GET /v1/outbox/{level}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Its index in the level.
    pub index: u32,
    /// Its bytes.
    pub message: Bytes,
    /// The L1 calls, when it is a canonical batch (otherwise it can never execute).
    pub calls: Option<Vec<Call>>,
}

/// A decoded L1 call.
#[derive(Debug, Serialize, Deserialize)]
pub struct Call {
    /// Destination.
    pub destination: String,
    /// Wei, decimal.
    pub value: String,
    /// Calldata.
    pub data: Bytes,
}

async fn outbox(State(n): State<Node>, Path(level): Path<u32>) -> ApiResult<Vec<OutboxEntry>> {
    let messages = n.pvm().outbox(level).map_err(|e| not_found(e.to_string()))?;
    Ok(Json(messages.into_iter().enumerate().map(|(i, m)| entry(i as u32, m)).collect()))
}

/// Query of `GET /v1/outbox`.
#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// First level (default: 1).
    pub from_level: Option<u32>,
    /// Last level (default: the head; at most 10,000 levels per call).
    pub to_level: Option<u32>,
}

/// One message of `GET /v1/outbox`.
#[derive(Debug, Serialize, Deserialize)]
pub struct OutboxStatus {
    /// Its level.
    pub level: u32,
    /// The message.
    #[serde(flatten)]
    pub entry: OutboxEntry,
    /// `executed`, `executable` (cemented, not yet executed), or `not_cemented`.
    pub status: String,
}

async fn outbox_range(State(n): State<Node>, Query(q): Query<RangeQuery>) -> ApiResult<Vec<OutboxStatus>> {
    let head = n.pvm().head().level;
    let from = q.from_level.unwrap_or(1).max(1);
    let to = q.to_level.unwrap_or(head).min(head);
    if to >= from && to - from >= 10_000 {
        return Err(bad_request("at most 10,000 levels per call"));
    }
    let (_, cemented_level) = n.shared().l1.last_cemented();
    let mut out = Vec::new();
    for level in from..to.saturating_add(1) {
        let messages = n.pvm().outbox(level).map_err(internal)?;
        for (i, m) in messages.into_iter().enumerate() {
            let index = i as u32;
            let status = if n.shared().l1.is_executed(level, index) {
                "executed"
            } else if level <= cemented_level {
                "executable"
            } else {
                "not_cemented"
            };
            out.push(OutboxStatus { level, entry: entry(index, m), status: status.into() });
        }
    }
    Ok(Json(out))
}

fn entry(index: u32, m: Vec<u8>) -> OutboxEntry {
    OutboxEntry {
        index,
        calls: OutboxMessage::decode(&m).ok().map(|o| {
            o.calls
                .into_iter()
                .map(|c| Call { destination: c.destination.to_string(), value: c.value.to_string(), data: c.data.into() })
                .collect()
        }),
        message: m.into(),
    }
}

async fn outbox_proof(State(n): State<Node>, Path((level, index)): Path<(u32, u32)>) -> ApiResult<ExecuteRequest> {
    let (cemented, at) = n.shared().l1.last_cemented();
    if level > at {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_cemented",
            format!("level {level} is not cemented yet (last cemented level {at}); wait for the challenge window"),
        ));
    }
    let (message, proof) = n.pvm().outbox_proof(at, level, index).map_err(|e| not_found(e.to_string()))?;
    Ok(Json(ExecuteRequest {
        cemented,
        pvm_root: B256::from(proof.pvm_root.0),
        level,
        index,
        count: proof.count,
        message_path: proof.message_path.iter().map(|h| B256::from(*h)).collect(),
        slot_path: proof.slot_path.iter().map(|h| B256::from(*h)).collect(),
        message: message.into(),
    }))
}

/// `GET /v1/commitments`.
#[derive(Debug, Serialize)]
pub struct Commitments {
    /// The last cemented commitment and its level.
    pub last_cemented: (B256, u32),
    /// The newest commitment this node's account published.
    pub last_published: Option<Published>,
    /// This node's computed commitments (newest last).
    pub computed: Vec<CommitmentJson>,
    /// Disputes seen on the L1.
    pub conflicts: Vec<Conflict>,
    /// Set if the L1 cemented a state this node disagrees with.
    pub disagreement: Option<crate::commitments::Disagreement>,
    /// Operator bailout status.
    pub bailing_out: bool,
    /// Whether the stake was recovered.
    pub bailed_out: bool,
}

async fn commitments(State(n): State<Node>) -> ApiResult<Commitments> {
    let s = n.shared();
    let computed: Vec<CommitmentJson> = s.own.iter().map(|(_, c)| CommitmentJson::from(c)).collect();
    let start = computed.len().saturating_sub(50);
    Ok(Json(Commitments {
        last_cemented: s.l1.last_cemented(),
        last_published: s.me.and_then(|me| s.l1.latest_of(&me).cloned()),
        computed: computed[start..].to_vec(),
        conflicts: s.l1.conflicts().to_vec(),
        disagreement: s.disagreement.clone(),
        bailing_out: s.bailing_out,
        bailed_out: s.bailed_out,
    }))
}

async fn bailout(State(n): State<Node>) -> Response {
    if n.shared().me.is_none() {
        return bad_request("an observer has no stake to recover").into_response();
    }
    n.bail_out();
    (StatusCode::ACCEPTED, Json(serde_json::json!({"status": "bailing out: no new commitments; the stake is recovered once the last one is cemented"})))
        .into_response()
}
