//! The PVM: a state directory, a kernel engine, and the level driver.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use protocol::outbox::{level_messages_root, message_leaf, slot_leaf, OutboxProof};
use protocol::{Hash32, MAX_MESSAGE_SIZE};
use pvm_durable::{DurableError, Key, MemStore, NodeKind, NodeStore, Tree};
use pvm_fast::{LoadError, RunOutcome};
use pvm_host::{Abort, HostState, LevelInbox};

use crate::config::PvmConfig;
use crate::engine::{Engine, LoadedKernel};
use crate::db::{Commit, DbError, DbNodes, LevelRecord, StateDb};
use crate::outbox::OutboxTree;
use crate::state::{key, keys, MachineState};
use pvm_host::driver;

/// What can go wrong. None of these changes the committed state: a failed level can be run
/// again once the cause is fixed.
#[derive(Debug, thiserror::Error)]
pub enum PvmError {
    /// The state database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The durable storage could not be read.
    #[error(transparent)]
    Storage(#[from] DurableError),
    /// `create` on a directory that already holds a state.
    #[error("{0} already holds a PVM state: open it instead")]
    AlreadyExists(PathBuf),
    /// `open` on a directory without a state.
    #[error("{0} holds no PVM state: create one from a kernel first")]
    NoState(PathBuf),
    /// The directory was created with other rollup parameters.
    #[error("state in {dir} was created with {stored}, but the configuration says {configured}")]
    ParamsMismatch {
        /// The directory.
        dir: PathBuf,
        /// What it holds.
        stored: String,
        /// What the configuration asks for.
        configured: String,
    },
    /// The origination kernel does not load.
    #[error("origination kernel: {0}")]
    Kernel(LoadError),
    /// Levels must come in order.
    #[error("expected level {expected}, got level {got}")]
    UnexpectedLevel {
        /// The next level.
        expected: u32,
        /// The level given.
        got: u32,
    },
    /// An inbox message over 4,096 bytes.
    #[error("inbox message {index} of level {level} is {size} bytes; messages are at most 4096")]
    MessageTooLarge {
        /// The level.
        level: u32,
        /// Its position.
        index: usize,
        /// Its size.
        size: usize,
    },
    /// The node could not answer a host call (see [`Abort`]); nothing was committed.
    #[error("level {level} abandoned: {abort}")]
    Aborted {
        /// The level.
        level: u32,
        /// Why.
        abort: Abort,
    },
    /// The wasm engine failed (not the kernel): nothing was committed.
    #[error("level {level} abandoned: engine failure: {reason}")]
    Engine {
        /// The level.
        level: u32,
        /// What failed.
        reason: String,
    },
    /// A run a level did not make.
    #[error("level {level} made {runs} runs; there is no run {run}")]
    NoSuchRun {
        /// The level.
        level: u32,
        /// The run asked for (from 0).
        run: usize,
        /// The runs it made.
        runs: usize,
    },
    /// The reference machine could not replay the run.
    #[error("level {level}, run {run}: {error}")]
    Replay {
        /// The level.
        level: u32,
        /// The run.
        run: usize,
        /// Why.
        error: pvm_reference::ReplayError,
    },
    /// A level this state does not have (not yet processed, or reverted).
    #[error("no state for level {0}")]
    UnknownLevel(u32),
    /// No outbox message at that position.
    #[error("level {level} has no outbox message {index}")]
    NoOutboxMessage {
        /// The level.
        level: u32,
        /// The index asked for.
        index: u32,
    },
    /// The outbox slot of that level has been reused by a later level.
    #[error("the outbox of level {level} is no longer in the state of level {at}")]
    OutboxExpired {
        /// The level of the message.
        level: u32,
        /// The state asked about.
        at: u32,
    },
}

/// One level's inbox: every message `read_input` will return, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelInput {
    /// The level.
    pub level: u32,
    /// Start of level, info per level, the delayed transfers, the externals, end of level.
    pub messages: Vec<Vec<u8>>,
}

impl LevelInput {
    /// Refuses a message over 4,096 bytes (the level cannot be run, or replayed).
    fn check_sizes(&self) -> Result<(), PvmError> {
        match self.messages.iter().enumerate().find(|(_, m)| m.len() > MAX_MESSAGE_SIZE) {
            Some((index, m)) => Err(PvmError::MessageTooLarge { level: self.level, index, size: m.len() }),
            None => Ok(()),
        }
    }

    /// The inbox of a level in the protocol's order (docs/protocol.md section 2).
    pub fn new(level: u32, info: protocol::InfoPerLevel, transfers: &[protocol::Transfer], externals: &[Vec<u8>]) -> Self {
        LevelInput { level, messages: protocol::inbox::level_messages(info, transfers, externals) }
    }
}

/// How one `kernel_run` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// It returned (and asked for a reboot, or yielded).
    Completed {
        /// Whether it asked to be called again in the same level.
        reboot: bool,
    },
    /// It failed and was rolled back.
    Failed(String),
}

/// One `kernel_run` of a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// How it ended.
    pub end: RunEnd,
    /// Ticks it consumed (it is counted as the full budget regardless).
    pub metered_ticks: u64,
    /// Inbox messages it read.
    pub inputs_read: usize,
}

/// A kernel change during a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelChange {
    /// A new kernel was written to `/kernel/boot.wasm` and loaded.
    Upgraded {
        /// Its durable value hash.
        hash: Hash32,
    },
    /// The kernel at `/kernel/boot.wasm` did not load; the previous one was restored.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// The result of a level.
#[derive(Debug, Clone)]
pub struct LevelOutcome {
    /// The new state.
    pub record: LevelRecord,
    /// Ticks this level counted (runs × budget).
    pub ticks: u64,
    /// The outbox messages the level wrote.
    pub outbox: Vec<Vec<u8>>,
    /// `write_debug` output.
    pub debug: Vec<Vec<u8>>,
    /// Whether debug output was cut at the per-level bound.
    pub debug_truncated: bool,
    /// Every `kernel_run`, in order.
    pub runs: Vec<RunReport>,
    /// Kernel upgrades and rejected upgrades.
    pub kernel_changes: Vec<KernelChange>,
}

/// Where the level driver stopped.
enum Driven {
    /// The level is done.
    Level { host: HostState, runs: Vec<RunReport>, changes: Vec<KernelChange> },
    /// Before the run asked for (before its first tick: the reboot counter is not written yet).
    Stopped { host: HostState, reboots: u32 },
}

/// A PVM with its state directory. See the crate documentation.
pub struct Pvm {
    dir: PathBuf,
    db: Arc<StateDb>,
    nodes: Arc<dyn NodeStore>,
    engine: Arc<Engine>,
    /// Lowers kernels for replays on the reference machine (disputes, traces).
    replays: Arc<pvm_reference::ReferenceEngine>,
    config: PvmConfig,
    head: LevelRecord,
    durable: Tree,
    outbox: OutboxTree,
}

impl std::fmt::Debug for Pvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pvm").field("dir", &self.dir).field("head", &self.head).finish()
    }
}

// Not `#[from]`, so a `{:#}` chain does not print the load error twice.
impl From<LoadError> for PvmError {
    fn from(e: LoadError) -> Self {
        PvmError::Kernel(e)
    }
}

/// The durable storage with the origination kernel installed.
fn genesis_tree(store: Arc<dyn NodeStore>, kernel: &[u8]) -> Result<Tree, PvmError> {
    let mut t = Tree::empty(store);
    let put = |t: &mut Tree, k: &str, v: &[u8]| t.set_value(&key(k), v).map_err(|e| DurableError::Corrupt { hash: String::new(), reason: leak(e) });
    put(&mut t, keys::BOOT, kernel)?;
    t.copy(&key(keys::BOOT), &key(keys::FALLBACK)).map_err(|e| DurableError::Corrupt { hash: String::new(), reason: leak(e) })?;
    Ok(t)
}

fn leak(e: pvm_durable::AccessError) -> &'static str {
    match e {
        pvm_durable::AccessError::TooLarge => "kernel too large",
        _ => "could not be written",
    }
}

fn record_for(machine: MachineState, outbox_root: [u8; 32]) -> LevelRecord {
    let pvm_root = machine.pvm_root();
    LevelRecord {
        level: machine.level,
        state_hash: protocol::commitment::state_hash(&pvm_root, &Hash32(outbox_root)),
        pvm_root,
        outbox_root: Hash32(outbox_root),
        durable_root: machine.durable_root,
        ticks: machine.ticks,
    }
}

impl Pvm {
    /// The genesis state of a rollup running `kernel`, without touching disk: what the L1
    /// origination records (its state hash goes into the genesis commitment).
    pub fn genesis(kernel: &[u8], config: &PvmConfig) -> Result<LevelRecord, PvmError> {
        Engine::new(config).load(protocol::keccak256(kernel), kernel)?;
        let mut t = genesis_tree(Arc::new(MemStore::new()), kernel)?;
        let machine = MachineState { level: 0, ticks: 0, durable_root: Hash32(t.root_hash()) };
        Ok(record_for(machine, OutboxTree::new().empty_root()))
    }

    /// Creates the genesis state of a rollup running `kernel` in `dir` (level 0).
    pub fn create(dir: &Path, kernel: &[u8], config: PvmConfig) -> Result<Self, PvmError> {
        let db = Arc::new(StateDb::open(dir)?);
        if db.head()?.is_some() {
            return Err(PvmError::AlreadyExists(dir.to_path_buf()));
        }
        let engine = Arc::new(Engine::new(&config));
        let nodes: Arc<dyn NodeStore> = Arc::new(DbNodes(db.clone()));
        let mut tree = genesis_tree(nodes.clone(), kernel)?;
        let hash = tree.value_hash(&key(keys::BOOT))?.unwrap_or_default();
        engine.load(hash, kernel)?;
        let (durable_root, durable_nodes) = tree.commit();
        let outbox = OutboxTree::new();
        let record = record_for(MachineState { level: 0, ticks: 0, durable_root: Hash32(durable_root) }, outbox.empty_root());
        let params = config.params();
        db.commit(Commit { record, durable_nodes: &durable_nodes, outbox_nodes: &[], outbox: &[], params: Some(&params) })?;
        tracing::info!(dir = %dir.display(), state_hash = %record.state_hash, "PVM state created");
        Ok(Pvm { dir: dir.to_path_buf(), db, nodes, engine, replays: Default::default(), config, head: record, durable: tree, outbox })
    }

    /// Opens the state in `dir` where it stopped.
    pub fn open(dir: &Path, config: PvmConfig) -> Result<Self, PvmError> {
        if !dir.join("CURRENT").exists() {
            return Err(PvmError::NoState(dir.to_path_buf()));
        }
        let db = Arc::new(StateDb::open(dir)?);
        let head = db.head()?.ok_or_else(|| PvmError::NoState(dir.to_path_buf()))?;
        let stored = db.params()?.unwrap_or_default();
        if stored != config.params() {
            return Err(PvmError::ParamsMismatch {
                dir: dir.to_path_buf(),
                stored: PvmConfig::describe_params(&stored),
                configured: PvmConfig::describe_params(&config.params()),
            });
        }
        let record = db.record(head)?.ok_or(PvmError::UnknownLevel(head))?;
        let nodes: Arc<dyn NodeStore> = Arc::new(DbNodes(db.clone()));
        let durable = Tree::open(nodes.clone(), record.durable_root.0);
        let engine = Arc::new(Engine::new(&config));
        Ok(Pvm { dir: dir.to_path_buf(), db, nodes, engine, replays: Default::default(), config, head: record, durable, outbox: OutboxTree::new() })
    }

    /// Opens the state in `dir`, or creates it from `kernel` if there is none.
    pub fn open_or_create(dir: &Path, kernel: &[u8], config: PvmConfig) -> Result<Self, PvmError> {
        if dir.join("CURRENT").exists() {
            Self::open(dir, config)
        } else {
            Self::create(dir, kernel, config)
        }
    }

    /// The latest state.
    pub fn head(&self) -> LevelRecord {
        self.head
    }

    /// The configuration.
    pub fn config(&self) -> &PvmConfig {
        &self.config
    }

    /// The state after `level`, if this directory has it.
    pub fn record(&self, level: u32) -> Result<Option<LevelRecord>, PvmError> {
        if level > self.head.level {
            return Ok(None);
        }
        Ok(self.db.record(level)?)
    }

    /// A read-only view of the durable storage after `level`.
    pub fn view(&self, level: u32) -> Result<StateView, PvmError> {
        let r = self.record(level)?.ok_or(PvmError::UnknownLevel(level))?;
        Ok(StateView { record: r, tree: Tree::open(self.nodes.clone(), r.durable_root.0) })
    }

    /// Goes back to the state after `level`, forgetting every later level (to recompute them,
    /// for instance after an L1 reorganisation).
    pub fn revert_to(&mut self, level: u32) -> Result<(), PvmError> {
        let r = self.record(level)?.ok_or(PvmError::UnknownLevel(level))?;
        self.db.truncate_after(level, self.head.level)?;
        self.head = r;
        self.durable = Tree::open(self.nodes.clone(), r.durable_root.0);
        tracing::info!(level, state_hash = %r.state_hash, "PVM reverted");
        Ok(())
    }

    /// The outbox messages `level` wrote.
    pub fn outbox(&self, level: u32) -> Result<Vec<Vec<u8>>, PvmError> {
        if level > self.head.level {
            return Err(PvmError::UnknownLevel(level));
        }
        Ok(self.db.outbox_messages(level)?)
    }

    /// The message at (`level`, `index`) and its proof against the state after level `at`
    /// (for instance the last cemented commitment's).
    pub fn outbox_proof(&self, at: u32, level: u32, index: u32) -> Result<(Vec<u8>, OutboxProof), PvmError> {
        let state = self.record(at)?.ok_or(PvmError::UnknownLevel(at))?;
        if level > at {
            return Err(PvmError::UnknownLevel(level));
        }
        let messages = self.db.outbox_messages(level)?;
        let message = messages.get(index as usize).cloned().ok_or(PvmError::NoOutboxMessage { level, index })?;
        let (leaf, slot_path) = self.outbox.slot_path(&self.db, &state.outbox_root.0, level)?;
        if leaf != slot_leaf(level, messages.len() as u32, &level_messages_root(&messages)) {
            return Err(PvmError::OutboxExpired { level, at });
        }
        let leaves: Vec<[u8; 32]> = messages.iter().map(|m| message_leaf(m)).collect();
        let message_path = protocol::merkle::proof(&leaves, index as usize).ok_or(PvmError::NoOutboxMessage { level, index })?;
        let proof = OutboxProof { pvm_root: state.pvm_root, level, index, count: messages.len() as u32, message_path, slot_path };
        Ok((message, proof))
    }

    /// Runs one level: feeds its inbox to the kernel (rebooting as it asks, at most 1,000
    /// times), commits the new state and returns it. On error nothing is committed.
    pub fn run_level(&mut self, input: LevelInput) -> Result<LevelOutcome, PvmError> {
        let expected = self.head.level + 1;
        if input.level != expected {
            return Err(PvmError::UnexpectedLevel { expected, got: input.level });
        }
        input.check_sizes()?;
        let committed = Tree::open(self.nodes.clone(), self.head.durable_root.0);
        let durable = std::mem::replace(&mut self.durable, committed);
        let level = input.level;
        let host = HostState {
            durable,
            inbox: LevelInbox { level, messages: input.messages, next: 0 },
            outbox: Vec::new(),
            debug: Default::default(),
            preimages: self.config.preimages.clone(),
            metadata: self.config.metadata,
        };
        let Driven::Level { mut host, runs, changes } = self.drive(host, level, None)? else {
            unreachable!("a drive without a stop runs the whole level")
        };
        let ticks = runs.len() as u64 * self.config.tick_budget;
        let (durable_root, durable_nodes) = host.durable.commit();
        let (outbox_root, outbox_nodes) = self.outbox.set_level(&self.db, &self.head.outbox_root.0, level, &host.outbox)?;
        let machine = MachineState { level, ticks: self.head.ticks.saturating_add(ticks), durable_root: Hash32(durable_root) };
        let record = record_for(machine, outbox_root);
        self.db.commit(Commit { record, durable_nodes: &durable_nodes, outbox_nodes: &outbox_nodes, outbox: &host.outbox, params: None })?;
        self.head = record;
        self.durable = host.durable;
        tracing::debug!(level, runs = runs.len(), outbox = host.outbox.len(), state_hash = %record.state_hash, "level done");
        Ok(LevelOutcome {
            record,
            ticks,
            outbox: host.outbox,
            debug: host.debug.entries,
            debug_truncated: host.debug.truncated,
            runs,
            kernel_changes: changes,
        })
    }

    /// The state at each of `ticks` (increasing, below the tick budget) of run `run` of the level
    /// `input` (which this state has processed): what a dissection of that run needs. Tick 0 is
    /// the state before the run's first tick (the previous level's state for run 0). The level
    /// driver replays the runs before it with this PVM's engine, from the committed state
    /// before the level; the run itself is replayed on the reference machine, which hashes its
    /// whole state only at the ticks asked for.
    pub fn run_states(&mut self, input: LevelInput, run: usize, ticks: &[u64]) -> Result<Vec<pvm_reference::TickState>, PvmError> {
        let (mut before, mut host, kernel, start) = self.run_start(input, run)?;
        let level = start.level;
        pvm_reference::replay(&kernel, &mut before, &mut host, &start, ticks).map_err(|error| PvmError::Replay { level, run, error })
    }

    /// The state after run `run` of the level `input`: the next run's start, or the level's
    /// state after its last run.
    pub fn run_end_state(&mut self, input: LevelInput, run: usize) -> Result<pvm_reference::TickState, PvmError> {
        let (mut before, mut host, kernel, start) = self.run_start(input, run)?;
        let level = start.level;
        pvm_reference::run_end_state(&kernel, &mut before, &mut host, &start).map_err(|error| PvmError::Replay { level, run, error })
    }

    /// The proof of tick `tick` of run `run` of the level `input`, with the states before and
    /// after it (docs/pvm.md section 9.5; `pvm_reference::verify_step` checks it). A
    /// `read_input` step and the last tick of a failed run need `l1`, where the level was
    /// posted on the L1.
    pub fn prove_tick(&mut self, input: LevelInput, run: usize, tick: u64, l1: Option<&pvm_reference::LevelOnL1>) -> Result<pvm_reference::StepProof, PvmError> {
        let (mut before, mut host, kernel, start) = self.run_start(input, run)?;
        let level = start.level;
        pvm_reference::prove(&kernel, &mut before, &mut host, &start, tick, l1).map_err(|error| PvmError::Replay { level, run, error })
    }

    /// The ticks `[from, to)` of run `run` of the level `input`, executed on the reference
    /// machine: instruction, stack top, call depth and memory written at each.
    pub fn trace_run(&mut self, input: LevelInput, run: usize, from: u64, to: u64) -> Result<Vec<pvm_reference::TraceLine>, PvmError> {
        let (_, mut host, kernel, start) = self.run_start(input, run)?;
        pvm_reference::trace(&kernel, &mut host, start.budget, from, to).map_err(|error| PvmError::Replay { level: start.level, run, error })
    }

    /// The module roots of the kernels levels up to `level` can run (the one at the state
    /// before it): what the L1's kernel registry holds for a rollup that never upgraded.
    pub fn module_roots(&self, level: u32) -> Result<pvm_reference::ModuleRoots, PvmError> {
        let mut view = self.view(level.saturating_sub(1))?;
        let bytes = view.read(&key(keys::FALLBACK))?.unwrap_or_default();
        let mut roots = pvm_reference::ModuleRoots::default();
        roots.register(&bytes)?;
        Ok(roots)
    }

    /// Run `run` of the level `input`: the durable storage before its first tick, the host
    /// state after it (reboot counter written, kernel selected), the kernel on the reference
    /// machine, and where the run starts.
    pub fn run_start(&mut self, input: LevelInput, run: usize) -> Result<(Tree, HostState, Arc<pvm_reference::Kernel>, pvm_reference::RunStart), PvmError> {
        let level = input.level;
        if level == 0 || level > self.head.level {
            return Err(PvmError::UnknownLevel(level));
        }
        input.check_sizes()?;
        let before = self.record(level - 1)?.ok_or(PvmError::UnknownLevel(level - 1))?;
        let host = HostState {
            durable: Tree::open(self.nodes.clone(), before.durable_root.0),
            inbox: LevelInbox { level, messages: input.messages, next: 0 },
            outbox: Vec::new(),
            debug: Default::default(),
            preimages: self.config.preimages.clone(),
            metadata: self.config.metadata,
        };
        let Driven::Stopped { mut host, reboots } = self.drive(host, level, Some(run))? else {
            return Err(PvmError::NoSuchRun { level, run, runs: 0 });
        };
        let before_start = host.durable.fork();
        let kernel = self.select_kernel(&mut host.durable, &mut Vec::new(), level, reboots)?;
        let hash = kernel.hash();
        let reference = match (kernel, self.replays.cached(&hash)) {
            // This PVM runs on the reference machine already: the kernel is lowered.
            (LoadedKernel::Reference(k), _) | (_, Some(k)) => k,
            _ => {
                let bytes = host.durable.read_value(&key(keys::FALLBACK))?.unwrap_or_default();
                self.replays.load(hash, &bytes).map_err(|e| PvmError::Engine { level, reason: format!("reference machine: {e}") })?
            }
        };
        let outbox_slot = self.outbox.slot_path(&self.db, &before.outbox_root.0, level)?;
        let start = pvm_reference::RunStart {
            level,
            ticks_before: before.ticks.saturating_add(run as u64 * self.config.tick_budget),
            reboots,
            outbox_root: before.outbox_root.0,
            budget: self.config.tick_budget,
            outbox_slot,
        };
        Ok((before_start, host, reference, start))
    }

    /// The level driver: `kernel_run` after `kernel_run` until the kernel yields, the reboot
    /// limit is reached, or (after a failure) no input is left.
    fn drive(&mut self, mut host: HostState, level: u32, stop_before: Option<usize>) -> Result<Driven, PvmError> {
        let mut runs = Vec::new();
        let mut changes = Vec::new();
        let mut reboots = 0u32;
        let instructions = pvm_reference::instruction_budget(self.config.tick_budget);
        loop {
            if stop_before == Some(runs.len()) {
                return Ok(Driven::Stopped { host, reboots });
            }
            let kernel = self.select_kernel(&mut host.durable, &mut changes, level, reboots)?;
            let snapshot = host.durable.snapshot();
            let outbox_len = host.outbox.len();
            let first_input = host.inbox.next;
            let report = self.engine.run(&kernel, host, instructions);
            host = report.host;
            let inputs_read = host.inbox.next - first_input;
            let end = match report.outcome {
                RunOutcome::Completed => {
                    let reboot = host.durable.has(&key(keys::REBOOT))? != NodeKind::Missing;
                    runs.push(RunReport { end: RunEnd::Completed { reboot }, metered_ticks: report.ticks, inputs_read });
                    driver::RunEnd::Returned
                }
                RunOutcome::Failed(failure) => {
                    // Atomic: nothing the run wrote survives. The inputs it read stay read, and
                    // a run that read none loses the next one, so failures always progress.
                    host.durable.restore(snapshot);
                    host.outbox.truncate(outbox_len);
                    host.inbox.next = driver::after_failure(host.inbox.next as u64, first_input as u64, host.inbox.messages.len() as u64) as usize;
                    tracing::debug!(level, %failure, "kernel_run failed and was rolled back");
                    runs.push(RunReport { end: RunEnd::Failed(failure.to_string()), metered_ticks: report.ticks, inputs_read });
                    driver::RunEnd::Failed { inputs_remain: host.inbox.has_unread() }
                }
                RunOutcome::Aborted(abort) => return Err(PvmError::Aborted { level, abort }),
                RunOutcome::EngineError(reason) => return Err(PvmError::Engine { level, reason }),
            };
            if !driver::end_run(&mut host.durable, end, reboots)? {
                if let Some(run) = stop_before {
                    return Err(PvmError::NoSuchRun { level, run, runs: runs.len() });
                }
                return Ok(Driven::Level { host, runs, changes });
            }
            reboots += 1;
        }
    }

    /// The start of run `reboots` (its first tick): writes the reboot counter and returns the
    /// kernel to run: `/kernel/boot.wasm` if it is the last kernel that loaded or loads now
    /// (then it becomes the fallback), else the fallback, put back at `/kernel/boot.wasm`.
    fn select_kernel(&self, tree: &mut Tree, changes: &mut Vec<KernelChange>, level: u32, reboots: u32) -> Result<LoadedKernel, PvmError> {
        let current = match driver::start_run(tree, reboots)? {
            driver::Selection::Current(h) => h,
            driver::Selection::Restored(h) => {
                let reason = "/kernel/boot.wasm was deleted".to_string();
                tracing::warn!(level, %reason, "kernel upgrade rejected; the previous kernel stays");
                changes.push(KernelChange::Rejected { reason });
                h
            }
            driver::Selection::Upgrade { boot, fallback } => {
                let bytes = tree.read_value(&key(keys::BOOT))?.unwrap_or_default();
                match self.engine.load(boot, &bytes) {
                    Ok(kernel) => {
                        driver::accept_upgrade(tree)?;
                        tracing::info!(level, kernel = %Hash32(kernel.hash()), "kernel upgraded");
                        changes.push(KernelChange::Upgraded { hash: Hash32(kernel.hash()) });
                        return Ok(kernel);
                    }
                    Err(e) if e.is_kernel_fault() => {
                        let reason = e.to_string();
                        tracing::warn!(level, %reason, "kernel upgrade rejected; the previous kernel stays");
                        driver::reject_upgrade(tree)?;
                        changes.push(KernelChange::Rejected { reason });
                        fallback
                    }
                    // Not the kernel's fault: rejecting it here would diverge from nodes whose
                    // compiler handles it. Stop instead, saying what to change.
                    Err(e) => return Err(PvmError::Engine { level, reason: format!("{e}; run this node with the cranelift compiler") }),
                }
            }
        };
        if let Some(k) = self.engine.cached(&current) {
            return Ok(k);
        }
        let bytes = tree.read_value(&key(keys::FALLBACK))?.unwrap_or_default();
        self.engine
            .load(current, &bytes)
            .map_err(|e| PvmError::Engine { level, reason: format!("the current kernel no longer loads: {e}") })
    }
}

/// The durable storage after one level, read-only.
pub struct StateView {
    record: LevelRecord,
    tree: Tree,
}

impl StateView {
    /// The state this view shows.
    pub fn record(&self) -> LevelRecord {
        self.record
    }

    /// The value under `key`.
    pub fn read(&mut self, key: &Key) -> Result<Option<Vec<u8>>, PvmError> {
        Ok(self.tree.read_value(key)?)
    }

    /// What `key` holds.
    pub fn has(&mut self, key: &Key) -> Result<NodeKind, PvmError> {
        Ok(self.tree.has(key)?)
    }

    /// The step names under `key`, in order.
    pub fn subkeys(&mut self, key: &Key) -> Result<Vec<String>, PvmError> {
        Ok(self.tree.subkeys(key)?)
    }

    /// Every value at or under `key`, with its key.
    pub fn values_under(&mut self, key: &Key) -> Result<Vec<(Key, Vec<u8>)>, PvmError> {
        Ok(self.tree.values_under(key)?)
    }
}
