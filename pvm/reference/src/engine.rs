//! The reference machine as a kernel engine: the same `load` and `run` as fast execution, the
//! same host semantics (`pvm_host::HostState`), so the PVM's level driver runs either.

use std::sync::Arc;

use pvm_host::{Failure, HostState, RunOutcome, RunReport};
use pvm_validate::{HostImport, KernelCache, KernelInfo, LoadError};

use crate::lower::{lower, Module};
use crate::machine::{Exit, Host, HostReturn, Machine, Memory, Trap};

/// A validated, lowered kernel.
#[derive(Debug)]
pub struct Kernel {
    hash: [u8; 32],
    info: KernelInfo,
    entry: u32,
    /// A fresh instance at the start of `kernel_run`: instantiation is a property of the
    /// module, so it is done once, at load, and every run starts from a copy.
    template: Machine,
    /// The module's commitments, built the first time a state is hashed.
    trees: std::sync::OnceLock<crate::state::ModuleTrees>,
}

impl Kernel {
    /// The hash it was loaded under.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// What validation learned about it.
    pub fn info(&self) -> &KernelInfo {
        &self.info
    }

    /// The lowered module.
    pub fn module(&self) -> &Arc<Module> {
        &self.template.module
    }

    /// The function index of `kernel_run`.
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// A fresh instance, positioned at the start of `kernel_run`.
    pub fn fresh(&self) -> Machine {
        self.template.clone()
    }

    /// The module's leaves and root.
    pub fn trees(&self) -> &crate::state::ModuleTrees {
        self.trees.get_or_init(|| crate::state::ModuleTrees::new(&self.template))
    }
}

/// Loads and runs kernels on the reference machine.
#[derive(Debug, Default)]
pub struct ReferenceEngine {
    cache: KernelCache<Kernel>,
}

impl ReferenceEngine {
    /// An engine with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The kernel loaded under `hash`, if cached.
    pub fn cached(&self, hash: &[u8; 32]) -> Option<Arc<Kernel>> {
        self.cache.get(hash)
    }

    /// Validates, lowers and instantiates `bytes`, caching the result under `hash`.
    pub fn load(&self, hash: [u8; 32], bytes: &[u8]) -> Result<Arc<Kernel>, LoadError> {
        if let Some(k) = self.cached(&hash) {
            return Ok(k);
        }
        let info = pvm_validate::validate(bytes)?;
        // Validation accepted it, so lowering can only fail on a reference-machine bug; that is
        // this node's problem, not the kernel's (like a compiler failure in fast execution).
        let module = Arc::new(lower(bytes).map_err(|e| LoadError::Compile(e.to_string()))?);
        let entry = module.export_func("kernel_run").ok_or_else(|| LoadError::Compile("no kernel_run after lowering".into()))?;
        let mut template = Machine::instantiate(module).map_err(|t| LoadError::Initialise(t.to_string()))?;
        template.enter(entry, &[]).map_err(|t| LoadError::Compile(t.to_string()))?;
        Ok(self.cache.insert(hash, Kernel { hash, info, entry, template, trees: Default::default() }))
    }

    /// Runs `kernel_run` once on a fresh instance, executing at most `budget` instructions (the
    /// run's instruction budget: [`instruction_budget`] of the tick budget).
    pub fn run(&self, kernel: &Kernel, mut host: HostState, budget: u64) -> RunReport {
        let mut machine = kernel.fresh();
        let exit = machine.run(&mut KernelHost { state: &mut host, imports: &kernel.info.imports }, budget, u64::MAX);
        RunReport { host, outcome: outcome(exit), ticks: machine.ticks }
    }
}

/// The engine-neutral outcome of a run that ended.
pub fn outcome(exit: Exit) -> RunOutcome {
    match exit {
        Exit::Returned => RunOutcome::Completed,
        Exit::Trapped(Trap::OutOfTicks) => RunOutcome::Failed(Failure::OutOfTicks),
        Exit::Trapped(Trap::CallStackExhausted) => RunOutcome::Failed(Failure::CallStackExhausted),
        Exit::Trapped(t) => RunOutcome::Failed(Failure::Trap(t.to_string())),
        Exit::Aborted(a) => RunOutcome::Aborted(a),
        Exit::Paused => RunOutcome::EngineError("the run was paused".into()),
    }
}

/// The host functions of a kernel, bound to the shared semantics.
pub struct KernelHost<'a> {
    /// What host calls act on.
    pub state: &'a mut HostState,
    /// The kernel's imports, in import order.
    pub imports: &'a [HostImport],
}

impl Host for KernelHost<'_> {
    fn call(&mut self, index: u32, args: &[u64], m: &mut Memory) -> HostReturn {
        let Some(import) = self.imports.get(index as usize) else { return HostReturn::Trap(format!("no import {index}")) };
        let result = self.state.call(import.func, import.signature, args, m);
        match result {
            Ok(v) => HostReturn::Value(v),
            Err(abort) => HostReturn::Abort(abort),
        }
    }
}

/// Where a run starts, as the level driver knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStart {
    /// The level being processed.
    pub level: u32,
    /// Ticks since origination when the run starts.
    pub ticks_before: u64,
    /// Runs of this level before this one.
    pub reboots: u32,
    /// The outbox tree root of the state before the level (the state hash covers it).
    pub outbox_root: [u8; 32],
    /// The tick budget of every run (docs/pvm.md section 4.1): the run's two driver ticks and
    /// at most `budget - 2` instructions.
    pub budget: u64,
    /// The level's slot in that outbox tree (`level mod 2^20`) and its path: what the end of
    /// the level rewrites.
    pub outbox_slot: ([u8; 32], Vec<[u8; 32]>),
}

impl RunStart {
    /// The most instructions a run executes: the budget less the driver's two ticks.
    pub fn instruction_budget(&self) -> u64 {
        instruction_budget(self.budget)
    }
}

/// Ticks of every run that are the level driver's: its first (start) and its last (end).
pub const DRIVER_TICKS: u64 = 2;

/// The most instructions a run of tick budget `budget` executes.
pub fn instruction_budget(budget: u64) -> u64 {
    budget.saturating_sub(DRIVER_TICKS)
}

/// The state at one tick of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickState {
    /// The tick within the run (the state before it executes); the state after a run's last
    /// tick has the run tick 0 of the next run, or the budget when the level ended.
    pub run_tick: u64,
    /// Ticks since origination.
    pub tick: u64,
    /// `H(pvm_root ‖ outbox_root)`, as a commitment's state hash.
    pub state_hash: [u8; 32],
    /// The PVM root (docs/pvm.md section 6, with the in-run status and machine root).
    pub pvm_root: [u8; 32],
    /// The machine root (section 9.4).
    pub machine_root: [u8; 32],
    /// 0 between levels, 1 running, 2 returned, 3 failed, 4 between two runs.
    pub status: u8,
}

/// Why a replay could not produce the states asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A tick at or past the budget (the state there is the next run's start, or the level's
    /// end: the level driver's).
    #[error("tick {tick} is past the run's budget of {budget} ticks")]
    PastBudget {
        /// The tick asked for.
        tick: u64,
        /// The budget.
        budget: u64,
    },
    /// A trace of more ticks than one is allowed to show.
    #[error("a trace of {ticks} ticks; ask for at most {max} at a time")]
    TraceTooLong {
        /// Ticks asked for.
        ticks: u64,
        /// The most.
        max: u64,
    },
    /// The ticks must be given in increasing order.
    #[error("ticks must be increasing")]
    Unordered,
    /// The node cannot answer a host call (a missing preimage).
    #[error("replay abandoned: {0}")]
    Aborted(pvm_host::Abort),
    /// The durable storage failed during the driver's ticks.
    #[error("durable storage: {0}")]
    Storage(pvm_durable::DurableError),
    /// The step cannot be proven.
    #[error(transparent)]
    Proof(crate::proof::ProofError),
}

/// A long replay logs its progress every this many ticks.
const PROGRESS_TICKS: u64 = 1 << 28;

/// A run being replayed on the reference machine: advanced to the ticks asked for, hashed
/// there (the memory tree kept between them), and able to prove the next step.
struct Replayer<'a> {
    kernel: &'a Kernel,
    host: &'a mut HostState,
    start: &'a RunStart,
    /// The durable root before the run's first tick.
    before_root: [u8; 32],
    module_root: [u8; 32],
    machine: Machine,
    tree: crate::state::MemoryTree,
    run_start_durable_root: [u8; 32],
    run_start_durable: pvm_durable::Snapshot,
    inbox_next_at_start: u32,
    outbox_count_at_start: u32,
    outbox_root_at_start: [u8; 32],
    status: u8,
    ended: bool,
}

impl<'a> Replayer<'a> {
    /// `host` as the run's first tick left it; `before_root` the durable root before that tick.
    fn new(kernel: &'a Kernel, before_root: [u8; 32], host: &'a mut HostState, start: &'a RunStart) -> Self {
        let run_start_durable_root = host.durable.root_hash();
        let (inbox_next_at_start, outbox_count_at_start) = (host.inbox.next as u32, host.outbox.len() as u32);
        Replayer {
            kernel,
            start,
            before_root,
            module_root: kernel.trees().root,
            machine: kernel.fresh(),
            tree: crate::state::MemoryTree::new(),
            run_start_durable_root,
            run_start_durable: host.durable.snapshot(),
            inbox_next_at_start,
            outbox_count_at_start,
            outbox_root_at_start: crate::state::outbox_level_root(&host.outbox),
            host,
            status: crate::state::STATUS_RUNNING,
            ended: false,
        }
    }

    /// Runs to run tick `t` (at least 1: the fresh instance after the first tick; not before
    /// where it is). Tick `t` executes instruction `t - 1`.
    fn advance(&mut self, t: u64) -> Result<(), ReplayError> {
        use crate::state::{STATUS_FAILED, STATUS_RETURNED, STATUS_RUNNING};
        let target = t.saturating_sub(1);
        let budget = self.start.instruction_budget();
        while self.status == STATUS_RUNNING && self.machine.ticks < target {
            // In slices, so a long replay reports progress.
            let stop = target.min(self.machine.ticks.saturating_add(PROGRESS_TICKS));
            let exit = self.machine.run(&mut KernelHost { state: self.host, imports: &self.kernel.info.imports }, budget, stop);
            match exit {
                Exit::Paused => {}
                Exit::Returned => self.status = STATUS_RETURNED,
                Exit::Trapped(_) => self.status = STATUS_FAILED,
                Exit::Aborted(a) => return Err(ReplayError::Aborted(a)),
            }
            if self.status == STATUS_RUNNING && self.machine.ticks % PROGRESS_TICKS == 0 && self.machine.ticks < target {
                tracing::info!(level = self.start.level, run = self.start.reboots, tick = self.machine.ticks, target = t, "replaying");
            }
        }
        if self.status != STATUS_RUNNING && !self.ended {
            // The instance is gone: a finished run's record keeps only the run's context.
            self.machine = Machine::empty(self.machine.module.clone());
            self.tree = crate::state::MemoryTree::new();
            self.ended = true;
        }
        Ok(())
    }

    fn context(&self, t: u64) -> crate::state::RunContext {
        crate::state::RunContext {
            status: self.status,
            run_tick: t,
            reboots: self.start.reboots,
            run_start_durable_root: self.run_start_durable_root,
            inbox_next: self.host.inbox.next as u32,
            inbox_next_at_start: self.inbox_next_at_start,
            outbox_count: self.host.outbox.len() as u32,
            outbox_root: crate::state::outbox_level_root(&self.host.outbox),
            outbox_count_at_start: self.outbox_count_at_start,
            outbox_root_at_start: self.outbox_root_at_start,
        }
    }

    /// The state at run tick `t` (`1 ≤ t < budget`), where the machine now is.
    fn state(&mut self, t: u64) -> TickState {
        let ctx = self.context(t);
        let machine_root = self.machine.machine_root(&self.module_root, &mut self.tree, &ctx);
        let tick = self.start.ticks_before.saturating_add(t);
        let pvm_root = crate::state::pvm_root(self.status, self.start.level, tick, &self.host.durable.root_hash(), &machine_root);
        let state_hash = crate::state::state_hash(&pvm_root, &self.start.outbox_root);
        TickState { run_tick: t, tick, state_hash, pvm_root, machine_root, status: self.status }
    }

    /// The state before the run's first tick: the level's predecessor state (status 0) for the
    /// level's first run, else the state the previous run's last tick left (status 4).
    fn start_state(&self) -> TickState {
        let s = self.start;
        let ctx = crate::state::RunContext {
            status: crate::state::STATUS_NEXT_RUN,
            run_start_durable_root: self.before_root,
            inbox_next: self.inbox_next_at_start,
            outbox_count: self.outbox_count_at_start,
            outbox_root: self.outbox_root_at_start,
            ..self.context(0)
        };
        between_runs_state(s.level, s.ticks_before, s.reboots, &self.before_root, &ctx.record(), &s.outbox_root)
    }

    /// Makes the run's last tick (the machine at tick `budget - 1`) and returns the state after
    /// it: the next run's start (status 4) or, when the level ends, the level's state.
    fn end(&mut self) -> Result<TickState, ReplayError> {
        use pvm_host::driver::{after_failure, end_run, RunEnd};
        let s = self.start;
        let end = if self.status == crate::state::STATUS_RETURNED {
            RunEnd::Returned
        } else {
            self.host.durable.restore(self.run_start_durable.clone());
            self.host.outbox.truncate(self.outbox_count_at_start as usize);
            let messages = self.host.inbox.messages.len() as u64;
            self.host.inbox.next = after_failure(self.host.inbox.next as u64, u64::from(self.inbox_next_at_start), messages) as usize;
            RunEnd::Failed { inputs_remain: self.host.inbox.has_unread() }
        };
        let again = end_run(&mut self.host.durable, end, s.reboots).map_err(ReplayError::Storage)?;
        let tick = s.ticks_before.saturating_add(s.budget);
        let durable_root = self.host.durable.root_hash();
        if again {
            let reboots = s.reboots.saturating_add(1);
            let ctx = crate::state::RunContext {
                status: crate::state::STATUS_NEXT_RUN,
                reboots,
                run_start_durable_root: durable_root,
                inbox_next: self.host.inbox.next as u32,
                inbox_next_at_start: self.host.inbox.next as u32,
                outbox_count: self.host.outbox.len() as u32,
                outbox_root: crate::state::outbox_level_root(&self.host.outbox),
                outbox_count_at_start: self.host.outbox.len() as u32,
                outbox_root_at_start: crate::state::outbox_level_root(&self.host.outbox),
                run_tick: 0,
            };
            return Ok(between_runs_state(s.level, tick, reboots, &durable_root, &ctx.record(), &s.outbox_root));
        }
        let outbox_root = level_end_outbox_root(s.level, &self.host.outbox, &s.outbox_slot.1);
        let pvm_root = crate::state::pvm_root(0, s.level, tick, &durable_root, &[0; 32]);
        let state_hash = crate::state::state_hash(&pvm_root, &outbox_root);
        Ok(TickState { run_tick: s.budget, tick, state_hash, pvm_root, machine_root: [0; 32], status: 0 })
    }
}

/// The outbox tree root once `level` wrote `messages`: its slot rewritten over `slot_path`.
pub(crate) fn level_end_outbox_root(level: u32, messages: &[Vec<u8>], slot_path: &[[u8; 32]]) -> [u8; 32] {
    use protocol::outbox::{level_messages_root, slot_leaf, OUTBOX_TREE_DEPTH};
    let leaf = if messages.is_empty() { [0; 32] } else { slot_leaf(level, messages.len() as u32, &level_messages_root(messages)) };
    protocol::merkle::root_from_path(&leaf, u64::from(level) & ((1u64 << OUTBOX_TREE_DEPTH) - 1), slot_path)
}

/// The state between two runs (status 4), or before the level's first run (`reboots` 0: the
/// predecessor level's state, status 0).
fn between_runs_state(level: u32, tick: u64, reboots: u32, durable_root: &[u8; 32], record: &crate::state::Record, outbox_root: &[u8; 32]) -> TickState {
    let (status, level, machine_root) = if reboots == 0 {
        (0, level.saturating_sub(1), [0; 32])
    } else {
        (crate::state::STATUS_NEXT_RUN, level, record.hash(&[0; 32]))
    };
    let pvm_root = crate::state::pvm_root(status, level, tick, durable_root, &machine_root);
    TickState { run_tick: 0, tick, state_hash: crate::state::state_hash(&pvm_root, outbox_root), pvm_root, machine_root, status }
}

fn check_ticks(start: &RunStart, ticks: &[u64]) -> Result<(), ReplayError> {
    if let Some(&t) = ticks.iter().find(|t| **t >= start.budget) {
        return Err(ReplayError::PastBudget { tick: t, budget: start.budget });
    }
    if ticks.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ReplayError::Unordered);
    }
    Ok(())
}

/// Replays one run on the reference machine and returns the state at each of `ticks`
/// (increasing, below the budget). `before` is the durable storage before the run's first tick,
/// `host` the host state after it (the level driver wrote the reboot counter and selected the
/// kernel). Nothing is hashed between the ticks asked for; the memory tree is kept
/// incrementally.
pub fn replay(kernel: &Kernel, before: &mut pvm_durable::Tree, host: &mut HostState, start: &RunStart, ticks: &[u64]) -> Result<Vec<TickState>, ReplayError> {
    check_ticks(start, ticks)?;
    let mut r = Replayer::new(kernel, before.root_hash(), host, start);
    let mut out = Vec::with_capacity(ticks.len());
    for &t in ticks {
        if t == 0 {
            out.push(r.start_state());
            continue;
        }
        r.advance(t)?;
        out.push(r.state(t));
    }
    Ok(out)
}

/// The proof of tick `tick` of a run, with the states before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProof {
    /// The state before the tick.
    pub pre: TickState,
    /// The state after it.
    pub post: TickState,
    /// The proof (docs/pvm.md section 9.5), for `crate::proof::verify_step`.
    pub proof: Vec<u8>,
}

/// Replays a run to `tick` and proves that tick (`before` and `host` as for [`replay`]). A
/// `read_input` step, and the last tick of a run that failed, need `l1`, where the level was
/// posted.
pub fn prove(
    kernel: &Kernel,
    before: &mut pvm_durable::Tree,
    host: &mut HostState,
    start: &RunStart,
    tick: u64,
    l1: Option<&crate::hostcall::LevelOnL1>,
) -> Result<StepProof, ReplayError> {
    check_ticks(start, &[tick])?;
    let mut r = Replayer::new(kernel, before.root_hash(), host, start);
    if tick == 0 {
        let pre = r.start_state();
        let ctx = r.context(0);
        let proof = crate::driver::prove_start(before, kernel.trees(), &ctx, start).map_err(ReplayError::Proof)?;
        r.advance(1)?;
        let post = r.state(1);
        return Ok(StepProof { pre, post, proof });
    }
    r.advance(tick)?;
    let pre = r.state(tick);
    let ctx = r.context(tick);
    if tick + 1 == start.budget {
        let record = r.machine.record(&mut r.tree, &ctx);
        let proof = crate::driver::prove_end(&record, kernel.trees(), r.host, &r.run_start_durable, start, pre.tick, l1).map_err(ReplayError::Proof)?;
        let post = r.end()?;
        return Ok(StepProof { pre, post, proof });
    }
    let proof = crate::proof::prove(&mut r.machine, kernel.trees(), &mut r.tree, &ctx, start.level, pre.tick, start.outbox_root, r.host, l1)
        .map_err(ReplayError::Proof)?;
    r.advance(tick + 1)?;
    let post = r.state(tick + 1);
    Ok(StepProof { pre, post, proof })
}

/// The state after a run's last tick (the next run's start or the level's end), replaying the
/// run (`before` and `host` as for [`replay`]).
pub fn run_end_state(kernel: &Kernel, before: &mut pvm_durable::Tree, host: &mut HostState, start: &RunStart) -> Result<TickState, ReplayError> {
    let mut r = Replayer::new(kernel, before.root_hash(), host, start);
    r.advance(start.budget.saturating_sub(1))?;
    r.end()
}

/// One executed tick, for `pvm trace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// The tick within the run.
    pub run_tick: u64,
    /// The program counter before it.
    pub pc: u32,
    /// The instruction (`None` once the run has ended: a padding tick).
    pub instr: Option<crate::code::Instr>,
    /// The top of the value stack before it (at most three values, top last).
    pub stack_top: Vec<u64>,
    /// Call depth before it.
    pub depth: usize,
    /// The 32-byte memory leaves it wrote (byte offsets).
    pub memory_written: Vec<u64>,
    /// How the run ended at this tick, if it did.
    pub ended: Option<String>,
    /// The level driver's tick (the run's first or last), if it is one.
    pub driver: Option<&'static str>,
}

/// What the run's first tick does, for traces.
pub const START_TICK: &str = "start of the run: reboot counter, kernel selection, fresh instance";
/// What the run's last tick does, for traces.
pub const END_TICK: &str = "end of the run: rollback if it failed, reboot and stuck flags, next run or end of the level";

/// The most ticks one trace shows (each is a line of output and memory).
pub const MAX_TRACE_TICKS: u64 = 100_000;

/// The ticks `[from, to)` of a run (`host` as the level driver left it before the run).
pub fn trace(kernel: &Kernel, host: &mut HostState, budget: u64, from: u64, to: u64) -> Result<Vec<TraceLine>, ReplayError> {
    if from >= budget {
        return Err(ReplayError::PastBudget { tick: from, budget });
    }
    let to = to.min(budget);
    if to.saturating_sub(from) > MAX_TRACE_TICKS {
        return Err(ReplayError::TraceTooLong { ticks: to - from, max: MAX_TRACE_TICKS });
    }
    let instructions = instruction_budget(budget);
    let mut machine = kernel.fresh();
    let mut out = Vec::new();
    let mut ended: Option<String> = None;
    let mut hostcalls = KernelHost { state: host, imports: &kernel.info.imports };
    // Tick `t` (from 1) executes instruction `t - 1`.
    let before = from.saturating_sub(1);
    if before > 0 {
        match machine.run(&mut hostcalls, instructions, before) {
            Exit::Paused => {}
            Exit::Aborted(a) => return Err(ReplayError::Aborted(a)),
            other => ended = Some(format!("{other:?}")),
        }
    }
    let quiet = |t: u64, driver| TraceLine { run_tick: t, pc: 0, instr: None, stack_top: Vec::new(), depth: 0, memory_written: Vec::new(), ended: None, driver };
    for t in from..to {
        if t == 0 || t + 1 == budget {
            out.push(quiet(t, Some(if t == 0 { START_TICK } else { END_TICK })));
            continue;
        }
        if ended.is_some() {
            out.push(quiet(t, None));
            continue;
        }
        let pc = machine.pc;
        let instr = machine.module.code.get(pc as usize).copied();
        let stack_top = machine.stack[machine.stack.len().saturating_sub(3)..].to_vec();
        let depth = machine.frames.len();
        machine.memory.take_dirty();
        let exit = machine.run(&mut hostcalls, instructions, t);
        let mut written = Vec::new();
        for (w, bits) in machine.memory.take_dirty().iter().enumerate() {
            let mut b = *bits;
            while b != 0 {
                written.push((w as u64 * 64 + u64::from(b.trailing_zeros())) * crate::machine::LEAF_SIZE);
                b &= b - 1;
            }
        }
        let end = match exit {
            Exit::Paused => None,
            Exit::Returned => Some("returned".to_string()),
            Exit::Trapped(trap) => Some(format!("failed: {trap}")),
            Exit::Aborted(a) => return Err(ReplayError::Aborted(a)),
        };
        ended.clone_from(&end);
        out.push(TraceLine { run_tick: t, pc, instr, stack_top, depth, memory_written: written, ended: end, driver: None });
    }
    Ok(out)
}
