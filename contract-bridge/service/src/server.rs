//! The bridge's HTTP API (axum). Routes and shapes are documented in `docs/bridge.md`.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use l1_bindings::{IRollup, Rollup};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::{Deserialize, Serialize};
use service_kit::Metrics;

use crate::api::ErrorBody;
use crate::indexer::{Indexer, PageError};
use crate::ops::{OpError, Operations, Purpose};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The L1 follower.
    pub indexer: Indexer,
    /// The L1 operations.
    pub ops: Arc<Operations>,
    /// Operations done, by purpose and outcome.
    pub ops_total: Family<Vec<(String, String)>, Counter>,
}

impl AppState {
    /// Registers the bridge's metrics.
    pub fn new(indexer: Indexer, ops: Arc<Operations>, metrics: &Metrics) -> Self {
        let ops_total = Family::<Vec<(String, String)>, Counter>::default();
        metrics.register("operations", "L1 operations by purpose and outcome", ops_total.clone());
        AppState { indexer, ops, ops_total }
    }

    fn count(&self, purpose: Purpose, outcome: &str) {
        self.ops_total.get_or_create(&vec![("purpose".into(), purpose.to_string()), ("outcome".into(), outcome.into())]).inc();
    }
}

/// Largest `POST /v1/batches` body: a batch is hex in JSON (twice its size), and a batch may be as
/// large as the L1 accepts in one transaction (anvil takes megabytes; axum's default is 2 MiB).
pub const MAX_BATCH_REQUEST_BYTES: usize = 64 << 20;

/// The API routes (merge `service_kit::ops_router` for /health and /metrics).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/events", get(events))
        .route("/v1/rollup", get(rollup_status))
        .route("/v1/batches", post(post_batch).layer(axum::extract::DefaultBodyLimit::max(MAX_BATCH_REQUEST_BYTES)))
        .route("/v1/inbox/delayed-hint", get(delayed_hint))
        .route("/v1/inclusion/force", post(force_inclusion))
        .route("/v1/commitments", post(publish))
        .route("/v1/commitments/cement", post(cement))
        .route("/v1/stake/recover", post(recover_stake))
        .route("/v1/outbox/execute", post(execute_outbox))
        .route("/v1/game/call", post(game_call))
        .route("/v1/l1/relay", post(relay))
        .route("/v1/l1/account/{address}", get(account))
        .with_state(state)
}

/// An error answer in the `ErrorBody` shape (the rollup node's RPC answers the same way).
pub struct ApiError(StatusCode, ErrorBody);

impl ApiError {
    /// `status` with the machine-readable `error` code and a message saying what to do.
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        ApiError(status, ErrorBody { error: error.into(), message: message.into(), revert: None })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        let msg = e.to_string();
        match e {
            OpError::NoKey(_) => ApiError::new(StatusCode::FORBIDDEN, "key_not_configured", msg),
            OpError::Refused { reason } => ApiError(
                StatusCode::CONFLICT,
                ErrorBody { error: "reverted".into(), message: msg, revert: Some(reason) },
            ),
            OpError::BadRequest(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", msg),
            OpError::Send(_) => ApiError::new(StatusCode::BAD_GATEWAY, "l1_unavailable", msg),
        }
    }
}

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        let msg = e.to_string();
        match e {
            PageError::Reorg { .. } => ApiError::new(StatusCode::CONFLICT, "reorg", msg),
            PageError::Rpc(_) => ApiError::new(StatusCode::BAD_GATEWAY, "l1_unavailable", msg),
            PageError::Replay { .. } => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "replay_failed", msg),
        }
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Query of `GET /v1/events`.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// First L1 block wanted.
    pub from_block: u64,
    /// Hash of `from_block - 1` as the consumer saw it (reorg check).
    pub parent_hash: Option<B256>,
    /// At most this many blocks per page (default 1,000).
    pub max_blocks: Option<u64>,
    /// Long-poll: wait up to this long for `from_block` to be indexed (default 0, at most 30 s).
    pub wait_ms: Option<u64>,
}

async fn events(State(s): State<AppState>, Query(q): Query<EventsQuery>) -> ApiResult<crate::api::EventsPage> {
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0).min(30_000));
    if !wait.is_zero() && s.indexer.indexed_to() < q.from_block {
        s.indexer.wait_indexed(q.from_block, wait).await;
    }
    Ok(Json(s.indexer.page(q.from_block, q.parent_hash, q.max_blocks.unwrap_or(1_000)).await?))
}

/// `GET /v1/rollup`: where the rollup stands on the L1.
#[derive(Debug, Serialize, Deserialize)]
pub struct RollupStatus {
    /// The rollup contract.
    pub address: Address,
    /// Its origination block.
    pub origination_block: u64,
    /// The rollup's sequencer namespace.
    pub namespace: u64,
    /// The sequencer chain id.
    pub sequencer_chain_id: u64,
    /// The L1 head.
    pub l1_head: u64,
    /// The last block indexed (served by `/v1/events`).
    pub indexed_to: u64,
    /// The last inbox level.
    pub inbox_level: u32,
    /// The height of the last sequencer block posted.
    pub last_sequencer_height: u64,
    /// Its hash (the next batch must chain to it).
    pub last_sequencer_block_hash: B256,
    /// Delayed messages enqueued.
    pub delayed_count: u64,
    /// Delayed messages included in a level.
    pub delayed_included: u64,
    /// The last cemented commitment, its level and state hash.
    pub last_cemented: (B256, u32, B256),
    /// The accounts of the configured purposes.
    pub accounts: std::collections::HashMap<Purpose, Address>,
    /// The origination parameters a rollup node needs.
    pub params: RollupParams,
}

/// Origination parameters (docs/contracts.md section 2) that nodes act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollupParams {
    /// The PVM state before the first level; nodes check their kernel reproduces it.
    pub genesis_state_hash: B256,
    /// blake2b-256 of the kernel's root reveal page.
    pub kernel_reveal_hash: B256,
    /// The kernel's durable value hash (what names it to the one-step verifier).
    pub kernel_value_hash: B256,
    /// Ticks per kernel run: every node runs its PVM with this budget.
    pub tick_budget: u64,
    /// Levels per commitment.
    pub commitment_period: u32,
    /// L1 blocks a commitment stays refutable.
    pub challenge_window: u64,
    /// Stake per staker, in wei.
    pub stake_amount: U256,
    /// Levels back outbox messages stay executable.
    pub max_active_outbox_levels: u32,
    /// L1 blocks before a delayed message can be forced in.
    pub delayed_inclusion_timeout: u64,
    /// The sequencer verifier contract.
    pub verifier: Address,
    /// The refutation game that settles the rollup's disputes.
    pub game_resolver: Address,
}

async fn rollup_status(State(s): State<AppState>) -> ApiResult<RollupStatus> {
    let rpc = |e: alloy::contract::Error| ApiError::new(StatusCode::BAD_GATEWAY, "l1_unavailable", e.to_string());
    let rollup = Rollup::new(s.ops.rollup(), s.ops.reader());
    let head = s
        .ops
        .reader()
        .get_block_number()
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "l1_unavailable", e.to_string()))?;
    let lc = rollup.lastCemented().call().await.map_err(rpc)?;
    let c = rollup.config().call().await.map_err(rpc)?;
    let inbox = s.indexer.inbox();
    let info = s.indexer.info();
    Ok(Json(RollupStatus {
        address: s.ops.rollup(),
        origination_block: info.origination_block,
        namespace: info.rules.namespace,
        sequencer_chain_id: info.rules.sequencer_chain_id,
        l1_head: head,
        indexed_to: s.indexer.indexed_to(),
        inbox_level: inbox.level,
        last_sequencer_height: inbox.last_height,
        last_sequencer_block_hash: B256::from(inbox.last_block_hash.0),
        delayed_count: s.indexer.delayed_count(),
        delayed_included: inbox.delayed_included,
        last_cemented: (lc.hash, lc.inboxLevel, lc.stateHash),
        accounts: s.ops.accounts(),
        params: RollupParams {
            genesis_state_hash: c.genesisStateHash,
            kernel_reveal_hash: c.kernelRevealHash,
            kernel_value_hash: c.kernelValueHash,
            tick_budget: c.tickBudget,
            commitment_period: c.commitmentPeriod,
            challenge_window: c.challengeWindow,
            stake_amount: c.stakeAmount,
            max_active_outbox_levels: c.maxActiveOutboxLevels,
            delayed_inclusion_timeout: c.delayedInclusionTimeout,
            verifier: c.verifier,
            game_resolver: c.gameResolver,
        },
    }))
}

/// Query and answer of `GET /v1/inbox/delayed-hint`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DelayedHint {
    /// The L1 block a sequencer header names.
    pub l1_block: u64,
    /// Delayed messages enqueued at or before it: the `delayed_through` of its batch level.
    #[serde(default)]
    pub delayed_through: u64,
}

async fn delayed_hint(State(s): State<AppState>, Query(q): Query<DelayedHint>) -> ApiResult<DelayedHint> {
    if s.indexer.indexed_to() < q.l1_block {
        return Err(ApiError::new(
            StatusCode::TOO_EARLY,
            "not_indexed",
            format!("L1 block {} is not indexed yet (indexed to {}); retry shortly", q.l1_block, s.indexer.indexed_to()),
        ));
    }
    Ok(Json(DelayedHint { l1_block: q.l1_block, delayed_through: s.indexer.delayed_hint(q.l1_block) }))
}

/// Body of `POST /v1/batches`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PostBatchRequest {
    /// The batch (docs/protocol.md section 6.2).
    pub batch: Bytes,
    /// The certificate of its last block (empty for the permissionless verifier).
    pub certificate: Bytes,
}

async fn post_batch(State(s): State<AppState>, Json(r): Json<PostBatchRequest>) -> ApiResult<crate::ops::PostedBatch> {
    let out = s.ops.post_batch(r.batch, r.certificate).await;
    s.count(Purpose::Post, if out.is_ok() { "ok" } else { "error" });
    Ok(Json(out?))
}

/// Body of `POST /v1/inclusion/force`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForceRequest {
    /// Include delayed messages up to this index (exclusive).
    pub through: u64,
}

async fn force_inclusion(State(s): State<AppState>, Json(r): Json<ForceRequest>) -> ApiResult<crate::ops::Mined> {
    let out = s.ops.force_inclusion(r.through).await;
    s.count(Purpose::Post, if out.is_ok() { "ok" } else { "error" });
    Ok(Json(out?))
}

/// A commitment in requests (docs/protocol.md section 4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommitmentBody {
    /// Predecessor commitment hash.
    pub predecessor: B256,
    /// State hash.
    pub state_hash: B256,
    /// Last level covered.
    pub inbox_level: u32,
    /// Ticks since the predecessor.
    pub number_of_ticks: u64,
}

impl From<CommitmentBody> for IRollup::Commitment {
    fn from(c: CommitmentBody) -> Self {
        IRollup::Commitment {
            predecessor: c.predecessor,
            stateHash: c.state_hash,
            inboxLevel: c.inbox_level,
            numberOfTicks: c.number_of_ticks,
        }
    }
}

/// Answer of `POST /v1/commitments`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Published {
    /// The commitment's hash.
    pub commitment: B256,
    /// The transaction.
    #[serde(flatten)]
    pub mined: crate::ops::Mined,
}

async fn publish(State(s): State<AppState>, Json(c): Json<CommitmentBody>) -> ApiResult<Published> {
    let out = s.ops.publish(c.into()).await;
    s.count(Purpose::Publish, if out.is_ok() { "ok" } else { "error" });
    let (commitment, mined) = out?;
    Ok(Json(Published { commitment, mined }))
}

async fn cement(State(s): State<AppState>, Json(c): Json<CommitmentBody>) -> ApiResult<crate::ops::Mined> {
    let out = s.ops.cement(c.into()).await;
    s.count(Purpose::Cement, if out.is_ok() { "ok" } else { "error" });
    Ok(Json(out?))
}

async fn recover_stake(State(s): State<AppState>) -> ApiResult<crate::ops::Mined> {
    let out = s.ops.recover_stake().await;
    s.count(Purpose::Publish, if out.is_ok() { "ok" } else { "error" });
    Ok(Json(out?))
}

/// Body of `POST /v1/outbox/execute`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExecuteRequest {
    /// The cemented commitment whose state holds the message.
    pub cemented: B256,
    /// The PVM root of that state.
    pub pvm_root: B256,
    /// Level of the message.
    pub level: u32,
    /// Index in the level.
    pub index: u32,
    /// Messages the level wrote.
    pub count: u32,
    /// Path to the level's messages root.
    pub message_path: Vec<B256>,
    /// Path to the outbox root.
    pub slot_path: Vec<B256>,
    /// The message.
    pub message: Bytes,
}

async fn execute_outbox(State(s): State<AppState>, Json(r): Json<ExecuteRequest>) -> ApiResult<crate::ops::Mined> {
    let proof = IRollup::OutboxProof {
        pvmRoot: r.pvm_root,
        level: r.level,
        index: r.index,
        count: r.count,
        messagePath: r.message_path,
        slotPath: r.slot_path,
    };
    let out = s.ops.execute_outbox(r.cemented, proof, r.message).await;
    s.count(Purpose::Execute, if out.is_ok() { "ok" } else { "error" });
    Ok(Json(out?))
}

/// Body of `POST /v1/game/call`.
#[derive(Debug, Serialize, Deserialize)]
pub struct GameCall {
    /// The game contract.
    pub game: Address,
    /// ABI-encoded call.
    pub calldata: Bytes,
}

async fn game_call(State(s): State<AppState>, Json(r): Json<GameCall>) -> ApiResult<crate::ops::Mined> {
    let out = s.ops.game_call(r.game, r.calldata).await;
    s.count(Purpose::Refute, if out.is_ok() { "ok" } else { "error" });
    Ok(Json(out?))
}

/// Body of `POST /v1/l1/relay`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RelayRequest {
    /// A signed EIP-2718 transaction to the rollup contract.
    pub raw_tx: Bytes,
}

/// Answer of `POST /v1/l1/relay`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Relayed {
    /// The transaction.
    #[serde(flatten)]
    pub mined: crate::ops::Mined,
    /// Delayed-inbox indices it enqueued (a deposit or a message).
    pub delayed_indices: Vec<u64>,
}

async fn relay(State(s): State<AppState>, Json(r): Json<RelayRequest>) -> ApiResult<Relayed> {
    use alloy::sol_types::SolEventInterface;
    let receipt = s.ops.relay(r.raw_tx).await?;
    let delayed_indices = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|l| match l1_bindings::Rollup::RollupEvents::decode_raw_log(l.topics(), &l.data().data) {
            Ok(l1_bindings::Rollup::RollupEvents::DelayedMessageEnqueued(e)) => Some(e.index),
            _ => None,
        })
        .collect();
    Ok(Json(Relayed { mined: (&receipt).into(), delayed_indices }))
}

/// Answer of `GET /v1/l1/account/{address}`: what a user needs to sign a transaction.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The L1 chain id.
    pub chain_id: u64,
    /// Next nonce (pending).
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Suggested EIP-1559 fee cap.
    pub max_fee_per_gas: u128,
    /// Suggested EIP-1559 tip.
    pub max_priority_fee_per_gas: u128,
    /// The rollup contract (the only destination the bridge relays to).
    pub rollup: Address,
}

async fn account(State(s): State<AppState>, Path(address): Path<Address>) -> ApiResult<AccountInfo> {
    let p = s.ops.reader();
    let rpc = |e: alloy::transports::TransportError| ApiError::new(StatusCode::BAD_GATEWAY, "l1_unavailable", e.to_string());
    let chain_id = p.get_chain_id().await.map_err(rpc)?;
    let nonce = p.get_transaction_count(address).pending().await.map_err(rpc)?;
    let balance = p.get_balance(address).await.map_err(rpc)?;
    let fees = p.estimate_eip1559_fees().await.map_err(rpc)?;
    Ok(Json(AccountInfo {
        chain_id,
        nonce,
        balance,
        max_fee_per_gas: fees.max_fee_per_gas,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        rollup: s.ops.rollup(),
    }))
}
