//! The rollup node: starts from the L1 (through the bridge), checks its kernel reproduces the
//! rollup's genesis, then follows the inbox level by level and, in operator or accuser mode,
//! acts on commitments. See `docs/rollup-node.md`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use bridge::api::{EventEnvelope, EventsPage, Level, RollupEvent};
use bridge::client::{BridgeClient, ClientError};
use bridge::server::{CommitmentBody, RollupStatus};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use protocol::{Hash32, InfoPerLevel, RollupMetadata, Transfer};
use sequencer_api::FinalizedBlock;
use pvm::{LevelInput, Pvm, PvmConfig};
use service_kit::Metrics;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::commitments::{accuser_action, operator_action, Action, Disagreement, L1View, OwnChain, Params};
use crate::config::{Mode, NodeConfig};
use crate::soft::{committee_of, SpecLevel, Speculation, Tip, MAX_AHEAD};
use crate::store::{is_tracked_event, Cursor, NodeStore};

type BlockStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<sequencer_api::BlockJson, sequencer_api::ClientError>> + Send>>;

/// The next block of the stream, or never if there is none.
async fn next_block(stream: &mut Option<BlockStream>) -> anyhow::Result<sequencer_api::BlockJson> {
    use futures::StreamExt;
    match stream.as_mut() {
        Some(s) => match s.next().await {
            Some(r) => r.map_err(|e| anyhow::anyhow!("{e}")),
            None => Err(anyhow::anyhow!("the sequencer stream ended")),
        },
        None => std::future::pending().await,
    }
}

/// What the RPC and the policy read of the node.
pub struct Shared {
    /// The rollup as the bridge describes it.
    pub rollup: RollupStatus,
    /// Commitment rules.
    pub params: Params,
    /// The L1's commitments.
    pub l1: L1View,
    /// This node's commitments.
    pub own: OwnChain,
    /// The highest level the L1 has confirmed (and this node executed).
    pub confirmed_level: u32,
    /// The last L1 block applied.
    pub l1_block: u64,
    /// The L1 head as of the last page.
    pub l1_head: u64,
    /// The account this node publishes from (operator/accuser).
    pub me: Option<Address>,
    /// Set when the L1 cemented something this node computes differently.
    pub disagreement: Option<Disagreement>,
    /// A stake recovery was requested.
    pub bailing_out: bool,
    /// The stake was recovered.
    pub bailed_out: bool,
    /// When the last page was applied.
    pub last_progress: Instant,
    /// The last L1 action's error, if it failed.
    pub last_action_error: Option<String>,
}

/// Node metrics.
#[derive(Clone)]
pub struct NodeMetrics {
    levels: Counter,
    level_seconds: Histogram,
    confirmed_level: Gauge,
    transactions: Counter,
    actions: Counter,
}

impl NodeMetrics {
    fn new(m: &Metrics) -> Self {
        let s = NodeMetrics {
            levels: Counter::default(),
            level_seconds: Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            confirmed_level: Gauge::default(),
            transactions: Counter::default(),
            actions: Counter::default(),
        };
        m.register("levels", "Levels executed", s.levels.clone());
        m.register("level_seconds", "Time to execute a level", s.level_seconds.clone());
        m.register("confirmed_level", "Highest L1-confirmed level executed", s.confirmed_level.clone());
        m.register("transactions", "External messages executed", s.transactions.clone());
        m.register("l1_actions", "L1 operations sent (publish, cement, recover)", s.actions.clone());
        s
    }
}

/// A running rollup node.
#[derive(Clone)]
pub struct Node {
    /// Its configuration.
    pub config: Arc<NodeConfig>,
    /// The bridge.
    pub bridge: BridgeClient,
    /// The PVM (shared with the RPC, which only reads).
    pub pvm: Arc<Mutex<Pvm>>,
    /// The node's own store.
    pub store: Arc<NodeStore>,
    /// State for the RPC and the policy.
    pub shared: Arc<RwLock<Shared>>,
    /// Wakes the policy task.
    pub wake: Arc<Notify>,
    /// Metrics.
    pub metrics: NodeMetrics,
}

impl Node {
    /// Connects to the bridge, checks the kernel against the rollup's genesis, opens the state
    /// and rebuilds what it knows. Retries the bridge until `shutdown`.
    pub async fn start(config: NodeConfig, metrics: &Metrics, shutdown: &CancellationToken) -> anyhow::Result<Self> {
        let bridge = BridgeClient::new(&config.bridge_url);
        let rollup = loop {
            match bridge.rollup().await {
                Ok(r) => break r,
                Err(e) => {
                    tracing::warn!("bridge at {} not ready ({e}); retrying", config.bridge_url);
                    tokio::select! {
                        _ = shutdown.cancelled() => anyhow::bail!("shut down before the bridge answered"),
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        let kernel = std::fs::read(&config.kernel)
            .map_err(|e| anyhow::anyhow!("cannot read the kernel {}: {e}", config.kernel.display()))?;
        let value_hash = pvm::kernel_value_hash(&kernel);
        if B256::from(value_hash) != rollup.params.kernel_value_hash {
            anyhow::bail!(
                "kernel {} has value hash {} but the rollup {} was originated with {}: wrong kernel",
                config.kernel.display(),
                B256::from(value_hash),
                rollup.address,
                rollup.params.kernel_value_hash
            );
        }
        let pvm_config = pvm_config(&config, &rollup)?;
        let genesis = Pvm::genesis(&kernel, &pvm_config)?;
        if B256::from(genesis.state_hash.0) != rollup.params.genesis_state_hash {
            anyhow::bail!(
                "kernel {} gives genesis state {} but the rollup {} was originated with {}: wrong kernel",
                config.kernel.display(),
                genesis.state_hash,
                rollup.address,
                rollup.params.genesis_state_hash
            );
        }
        std::fs::create_dir_all(&config.data_dir)?;
        let mut pvm = Pvm::open_or_create(&config.data_dir.join("pvm"), &kernel, pvm_config)?;
        let store = NodeStore::open(&config.data_dir.join("node"))?;
        let cursor = store.cursor()?;
        let confirmed = cursor.map(|c| c.level).unwrap_or(0);
        if pvm.head().level > confirmed {
            // Crashed after executing levels but before recording the page: redo them.
            tracing::info!(from = pvm.head().level, to = confirmed, "reverting unrecorded levels");
            pvm.revert_to(confirmed)?;
        } else if pvm.head().level < confirmed {
            anyhow::bail!(
                "the PVM state ends at level {} but the node recorded level {confirmed}: the state directory {} is damaged; move it away to resync",
                pvm.head().level,
                config.data_dir.display()
            );
        }
        let params = Params {
            period: rollup.params.commitment_period,
            window: rollup.params.challenge_window,
            genesis_state: Hash32(rollup.params.genesis_state_hash.0),
        };
        let mut l1 = L1View::new(params);
        for e in store.events()? {
            l1.apply(&e);
        }
        let own = own_chain(&pvm, &params, confirmed, &config)?;
        let me = match config.mode {
            Mode::Observer => None,
            _ => Some(*rollup.accounts.get(&bridge::ops::Purpose::Publish).ok_or_else(|| {
                anyhow::anyhow!("the bridge has no `publish` key, which {:?} mode needs", config.mode)
            })?),
        };
        tracing::info!(
            rollup = %rollup.address,
            level = confirmed,
            state = %pvm.head().state_hash,
            mode = ?config.mode,
            "rollup node started"
        );
        let shared = Shared {
            params,
            l1,
            own,
            confirmed_level: confirmed,
            l1_block: cursor.map(|c| c.l1_block).unwrap_or(0),
            l1_head: 0,
            me,
            disagreement: None,
            bailing_out: false,
            bailed_out: false,
            last_progress: Instant::now(),
            last_action_error: None,
            rollup,
        };
        let node_metrics = NodeMetrics::new(metrics);
        node_metrics.confirmed_level.set(i64::from(confirmed));
        Ok(Node {
            config: Arc::new(config),
            bridge,
            pvm: Arc::new(Mutex::new(pvm)),
            store: Arc::new(store),
            shared: Arc::new(RwLock::new(shared)),
            wake: Arc::new(Notify::new()),
            metrics: node_metrics,
        })
    }

    /// Read access to the shared state.
    pub fn shared(&self) -> std::sync::RwLockReadGuard<'_, Shared> {
        self.shared.read().unwrap_or_else(|e| e.into_inner())
    }

    fn shared_mut(&self) -> std::sync::RwLockWriteGuard<'_, Shared> {
        self.shared.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the PVM.
    pub fn pvm(&self) -> std::sync::MutexGuard<'_, Pvm> {
        self.pvm.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows the L1 (and, when configured, the sequencer ahead of it) until `shutdown`.
    pub async fn follow(self, shutdown: CancellationToken) {
        let wait = Duration::from_millis(self.config.poll_wait_ms);
        let mut failures = 0u32;
        let mut spec = Speculation::default();
        let soft = match self.soft_source() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot follow the sequencer ahead of the L1: {e:#}");
                None
            }
        };
        let mut stream: Option<BlockStream> = None;
        while !shutdown.is_cancelled() {
            let cursor = match self.store.cursor() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("{e}");
                    return;
                }
            };
            if let Some((client, _)) = &soft {
                if spec.tip.is_none() {
                    spec.tip = self.caught_up_tip().await;
                    stream = None;
                }
                if stream.is_none() && spec.levels.len() < MAX_AHEAD {
                    if let Some(tip) = spec.tip {
                        stream = client.stream_blocks(tip.height + 1).await.ok().map(|s| Box::pin(s) as BlockStream);
                    }
                }
            }
            let (from, parent) = match cursor {
                Some(c) => (c.l1_block + 1, Some(c.l1_hash)),
                None => (self.shared().rollup.origination_block, None),
            };
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                page = self.bridge.events(from, parent, wait) => match page {
                    Ok(page) => self.apply_page(page, cursor, &mut spec).await,
                    Err(ClientError::Api { ref body, .. }) if body.error == "reorg" => {
                        spec.reset(None);
                        stream = None;
                        self.rewind(from).await
                    }
                    Err(e) => Err(anyhow::anyhow!("{e}")),
                },
                item = next_block(&mut stream) => {
                    let committee = &soft.as_ref().expect("a stream implies a source").1;
                    match item.and_then(|b| FinalizedBlock::from_json(&b).map_err(|e| anyhow::anyhow!(e))) {
                        Ok(block) => {
                            if let Err(e) = self.apply_soft(block, &mut spec, committee).await {
                                tracing::debug!("sequencer block not executed ahead of the L1 ({e}); restarting the stream");
                                stream = None;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                        Err(e) => {
                            tracing::debug!("sequencer stream: {e}");
                            stream = None;
                        }
                    }
                    Ok(())
                }
            };
            if spec.tip.is_none() {
                stream = None;
            }
            match result {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures += 1;
                    tracing::warn!("following the L1 failed ({e}); retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(200 * u64::from(failures.min(25)))) => {}
                    }
                }
            }
        }
    }

    /// The sequencer to follow ahead of the L1 and the committee certifying its blocks, if
    /// configured (`sequencer_url` and a `deployment` with a committee verifier).
    fn soft_source(&self) -> anyhow::Result<Option<(sequencer_api::Client, committee::Committee)>> {
        let (Some(url), Some(path)) = (&self.config.sequencer_url, &self.config.deployment) else { return Ok(None) };
        let deployment = rollup_deploy::Deployment::load(path)?;
        match committee_of(&deployment)? {
            Some(c) => {
                tracing::info!(sequencer = %url, members = c.members.len(), "executing certified sequencer blocks ahead of the L1");
                Ok(Some((sequencer_api::Client::new(url), c)))
            }
            None => {
                tracing::info!("the rollup has no committee verifier: following the L1 only");
                Ok(None)
            }
        }
    }

    /// The tip to extend, once this node has executed every level the L1 holds.
    async fn caught_up_tip(&self) -> Option<Tip> {
        let status = self.bridge.rollup().await.ok()?;
        let confirmed = self.shared().confirmed_level;
        (status.inbox_level == confirmed && self.pvm().head().level == confirmed).then_some(Tip {
            level: confirmed,
            height: status.last_sequencer_height,
            block_hash: status.last_sequencer_block_hash,
            delayed_end: status.delayed_included,
        })
    }

    /// Executes a certified sequencer block as the next, speculative, level.
    async fn apply_soft(&self, block: FinalizedBlock, spec: &mut Speculation, committee: &committee::Committee) -> anyhow::Result<()> {
        let Some(tip) = spec.tip else { anyhow::bail!("no tip yet") };
        spec.check(&tip, &block, committee)?;
        if spec.levels.len() >= MAX_AHEAD {
            anyhow::bail!("{MAX_AHEAD} levels ahead of the L1; waiting for it");
        }
        let hint = self.bridge.delayed_hint(block.header.l1_block).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let (start, end) = (tip.delayed_end, tip.delayed_end.max(hint));
        let level = Level {
            level: tip.level + 1,
            sequencer_height: Some(block.header.height),
            timestamp_ms: block.header.timestamp_ms,
            block_hash: B256::from(block.hash().0),
            delayed_start: start,
            delayed_end: end,
            transactions: block.namespace(self.shared().rollup.namespace).into_iter().map(|t| t.to_vec().into()).collect(),
        };
        self.execute(&level, &HashMap::new()).await?;
        spec.levels.insert(level.level, SpecLevel { block_hash: level.block_hash, delayed: (start, end), height: block.header.height });
        spec.tip = Some(Tip { level: level.level, height: block.header.height, block_hash: level.block_hash, delayed_end: end });
        Ok(())
    }

    async fn apply_page(&self, page: EventsPage, cursor: Option<Cursor>, spec: &mut Speculation) -> anyhow::Result<()> {
        let mut delayed: Vec<(u64, Transfer)> = Vec::new();
        let mut page_delayed: HashMap<u64, Transfer> = HashMap::new();
        let mut commitment_events: Vec<EventEnvelope> = Vec::new();
        let mut delayed_count = cursor.map(|c| c.delayed_count).unwrap_or(0);
        let mut confirmed = cursor.map(|c| c.level).unwrap_or(0);
        for env in &page.events {
            match &env.event {
                RollupEvent::DelayedMessage { index, sender, value, payload, .. } => {
                    let t = Transfer {
                        sender: protocol::Address(sender.0 .0),
                        value: protocol::Wei(value.to_be_bytes::<32>()),
                        payload: payload.to_vec(),
                    };
                    page_delayed.insert(*index, t.clone());
                    delayed.push((*index, t));
                    delayed_count = delayed_count.max(index + 1);
                }
                RollupEvent::Levels { levels, .. } => {
                    for level in levels {
                        self.confirm(level, &page_delayed, &mut confirmed, spec).await?;
                    }
                }
                e if is_tracked_event(e) => commitment_events.push(env.clone()),
                _ => {}
            }
        }
        let level = confirmed;
        let new_cursor = Cursor { l1_block: page.to_block, l1_hash: page.to_block_hash, level, delayed_count };
        self.store.commit_page(&new_cursor, &delayed, &commitment_events)?;
        {
            let own = {
                let pvm = self.pvm();
                let s = self.shared();
                extend_own(&pvm, &s.params, &s.own, level, &self.config)?
            };
            let mut s = self.shared_mut();
            for e in &commitment_events {
                s.l1.apply(e);
            }
            s.own = own;
            s.confirmed_level = level;
            s.l1_block = page.to_block;
            s.l1_head = page.safe_head;
            s.last_progress = Instant::now();
        }
        self.metrics.confirmed_level.set(i64::from(level));
        self.wake.notify_one();
        Ok(())
    }

    /// Applies a level the L1 confirmed: already executed ahead with the same inputs, or
    /// executed now (after reverting a speculation that differs).
    async fn confirm(&self, level: &Level, page_delayed: &HashMap<u64, Transfer>, confirmed: &mut u32, spec: &mut Speculation) -> anyhow::Result<()> {
        if level.level <= *confirmed {
            return Ok(());
        }
        match spec.levels.remove(&level.level) {
            Some(s) if s.block_hash == level.block_hash && s.delayed == (level.delayed_start, level.delayed_end) => {}
            other => {
                if other.is_some() || self.pvm().head().level >= level.level {
                    tracing::warn!(level = level.level, "the L1's level differs from the one executed ahead; re-executing from the L1");
                    self.pvm().revert_to(level.level - 1)?;
                    spec.reset(None);
                }
                self.execute(level, page_delayed).await?;
            }
        }
        *confirmed = level.level;
        if spec.levels.is_empty() {
            if let Some(tip) = spec.tip.as_mut() {
                tip.level = level.level;
                tip.delayed_end = level.delayed_end;
                if let Some(h) = level.sequencer_height {
                    tip.height = h;
                    tip.block_hash = level.block_hash;
                }
            }
        }
        Ok(())
    }

    async fn execute(&self, level: &Level, page_delayed: &HashMap<u64, Transfer>) -> anyhow::Result<()> {
        let head = self.pvm().head().level;
        if level.level != head + 1 {
            anyhow::bail!("level {} arrived but the PVM is at {head}: the event stream skipped a level", level.level);
        }
        let mut transfers = Vec::with_capacity((level.delayed_end - level.delayed_start) as usize);
        for i in level.delayed_start..level.delayed_end {
            let t = match page_delayed.get(&i) {
                Some(t) => t.clone(),
                None => self.store.delayed(i)?.ok_or_else(|| anyhow::anyhow!("level {} includes delayed message {i}, which the node has not seen", level.level))?,
            };
            transfers.push(t);
        }
        let externals: Vec<Vec<u8>> = level.transactions.iter().map(|t| t.to_vec()).collect();
        let input = LevelInput::new(
            level.level,
            InfoPerLevel { timestamp_ms: level.timestamp_ms, block_hash: Hash32(level.block_hash.0) },
            &transfers,
            &externals,
        );
        let pvm = self.pvm.clone();
        let started = Instant::now();
        let outcome = tokio::task::spawn_blocking(move || pvm.lock().unwrap_or_else(|e| e.into_inner()).run_level(input)).await??;
        self.metrics.levels.inc();
        self.metrics.transactions.inc_by(externals.len() as u64);
        self.metrics.level_seconds.observe(started.elapsed().as_secs_f64());
        tracing::debug!(level = level.level, txs = externals.len(), ticks = outcome.ticks, state = %outcome.record.state_hash, "level executed");
        for d in &outcome.debug {
            tracing::trace!(level = level.level, "kernel: {}", String::from_utf8_lossy(d));
        }
        Ok(())
    }

    /// The consumer-side of a reorg: go back to the newest cursor before `from` and redo.
    async fn rewind(&self, from: u64) -> anyhow::Result<()> {
        let Some(c) = self.store.cursor_before(from - 1)? else {
            anyhow::bail!("L1 reorg below every remembered cursor: resync the node from an empty data directory");
        };
        tracing::warn!(to_l1_block = c.l1_block, level = c.level, "L1 reorg: rewinding");
        self.pvm().revert_to(c.level)?;
        self.store.rewind(&c)?;
        let mut l1 = L1View::new(self.shared().params);
        for e in self.store.events()? {
            l1.apply(&e);
        }
        let mut s = self.shared_mut();
        s.l1 = l1;
        s.own.truncate_above(c.level);
        s.confirmed_level = c.level;
        s.l1_block = c.l1_block;
        Ok(())
    }

    /// Acts on commitments (operator/accuser) whenever the follower makes progress.
    pub async fn act(self, shutdown: CancellationToken) {
        let Some(me) = self.shared().me else { return };
        let mut done: HashMap<String, Instant> = HashMap::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            let decision = {
                let s = self.shared();
                let inbox_level = s.confirmed_level;
                match self.config.mode {
                    Mode::Operator => operator_action(&s.l1, &s.own, &me, inbox_level, s.l1_head, s.bailing_out),
                    Mode::Accuser => accuser_action(&s.l1, &s.own, &me, inbox_level),
                    Mode::Observer => Ok(None),
                }
            };
            let action = match decision {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(d) => {
                    let mut s = self.shared_mut();
                    if s.disagreement.as_ref() != Some(&d) {
                        tracing::error!("{d:?}: this node's state is not the rollup's; it stops acting on commitments");
                    }
                    s.disagreement = Some(d);
                    continue;
                }
            };
            let key = format!("{action:?}");
            if done.get(&key).is_some_and(|t| t.elapsed() < Duration::from_secs(30)) {
                continue; // sent; waiting for the event to come back through the bridge
            }
            let result = match &action {
                Action::Publish(c) => self.bridge.publish(&body(c)).await.map(|p| format!("published {} at level {}", p.commitment, c.inbox_level)),
                Action::Cement(c) => self.bridge.cement(&body(c)).await.map(|_| format!("cemented level {}", c.inbox_level)),
                Action::RecoverStake => self.bridge.recover_stake().await.map(|_| "stake recovered".to_string()),
            };
            self.metrics.actions.inc();
            match result {
                Ok(msg) => {
                    tracing::info!("{msg}");
                    done.insert(key, Instant::now());
                    let mut s = self.shared_mut();
                    s.last_action_error = None;
                    if action == Action::RecoverStake {
                        s.bailed_out = true;
                    }
                }
                Err(e) => {
                    tracing::warn!("{action:?} failed: {e}");
                    self.shared_mut().last_action_error = Some(e.to_string());
                }
            }
        }
    }

    /// Asks the operator to stop publishing and take its stake back once all its commitments
    /// are cemented (the seeds' bailout).
    pub fn bail_out(&self) {
        self.shared_mut().bailing_out = true;
        self.wake.notify_one();
    }
}

fn body(c: &protocol::Commitment) -> CommitmentBody {
    CommitmentBody {
        predecessor: B256::from(c.predecessor.0),
        state_hash: B256::from(c.state_hash.0),
        inbox_level: c.inbox_level,
        number_of_ticks: c.number_of_ticks,
    }
}

fn pvm_config(config: &NodeConfig, rollup: &RollupStatus) -> anyhow::Result<PvmConfig> {
    let metadata = RollupMetadata {
        address: protocol::Address(rollup.address.0 .0),
        origination_level: u32::try_from(rollup.origination_block)
            .map_err(|_| anyhow::anyhow!("origination block {} does not fit the 4-byte metadata", rollup.origination_block))?,
    };
    let mut c = PvmConfig::new(metadata);
    c.tick_budget = rollup.params.tick_budget;
    c.compiler = config.compiler.parse().map_err(|e| anyhow::anyhow!("compiler: {e}"))?;
    c.engine = config.engine.parse().map_err(|e| anyhow::anyhow!("engine: {e}"))?;
    if let Some(dir) = &config.preimages_dir {
        c.preimages = Arc::new(pvm_host::PreimageDir::new(dir.clone()));
    }
    Ok(c)
}

/// This node's commitments for every period end up to `level`.
fn own_chain(pvm: &Pvm, params: &Params, level: u32, config: &NodeConfig) -> anyhow::Result<OwnChain> {
    extend_own(pvm, params, &OwnChain::default(), level, config)
}

fn extend_own(pvm: &Pvm, params: &Params, own: &OwnChain, level: u32, config: &NodeConfig) -> anyhow::Result<OwnChain> {
    let mut own = own.clone();
    let mut at = own.last_level() + params.period;
    while at <= level {
        let r = pvm.record(at)?.ok_or_else(|| anyhow::anyhow!("no PVM record for level {at}"))?;
        let prev_ticks = match at.checked_sub(params.period) {
            Some(0) | None => 0,
            Some(p) => pvm.record(p)?.map(|r| r.ticks).unwrap_or(0),
        };
        let mut state = r.state_hash;
        if let Some(f) = config.faults.corrupt_state_at_level {
            if f > at - params.period && f <= at {
                tracing::warn!(level = at, "FAULT INJECTION: corrupting the state hash of this commitment");
                state.0[0] ^= 0xff;
            }
        }
        own.push(params, at, state, r.ticks - prev_ticks);
        at += params.period;
    }
    Ok(own)
}

/// The data directory's lock-free sanity: whether `dir` holds a node's state.
pub fn has_state(dir: &Path) -> bool {
    dir.join("pvm").exists() && dir.join("node").exists()
}
