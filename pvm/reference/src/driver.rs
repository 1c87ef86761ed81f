//! The level driver's two ticks of every run, proven (docs/pvm.md sections 9.3 and 9.7).
//!
//! A run's first tick writes the reboot counter, selects the kernel and builds a fresh
//! instance; its last tick ends the run (a run still running has run out of ticks), rolls a
//! failed run back, writes the reboot and stuck flags, and either leaves the level between two
//! runs or ends it, writing the level's outbox into the outbox tree. Both run the driver's own
//! code (`pvm_host::driver`) over the durable nodes the proof carries, as host calls do.

use std::collections::HashMap;

use protocol::merkle;
use protocol::outbox::{level_messages_root, slot_leaf, OUTBOX_TREE_DEPTH};
use pvm_durable::{DurableError, Snapshot, Tree};
use pvm_host::driver::{after_failure, end_run, start_run, RunEnd, Selection};
use pvm_host::HostState;

use crate::engine::RunStart;
use crate::hostcall::{read_level_record, read_nodes, recording_tree, witnessed_tree, write_level_record, write_loaded, LevelOnL1, StepContext};
use crate::proof::{bad, Header, ProofError, Reader, Writer};
use crate::state::{
    outbox_level_root_of, zeros, ModuleTrees, Record, RunContext, OUTBOX_LEVEL_DEPTH, STATUS_NEXT_RUN,
    STATUS_RETURNED, STATUS_RUNNING,
};

/// Which kernels the L1 knows the lowered module of: the module root (docs/pvm.md 9.4) of a
/// kernel by its durable value hash (section 5.1). The origination kernel's is an origination
/// parameter; a run's first tick is only provable for a kernel listed here.
pub trait KernelRegistry {
    /// The module root of the kernel whose `/kernel/boot.wasm` value hash is `kernel`.
    fn module_root(&self, kernel: &[u8; 32]) -> Option<[u8; 32]>;
}

/// No kernel known: every run's first tick is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKernels;

impl KernelRegistry for NoKernels {
    fn module_root(&self, _: &[u8; 32]) -> Option<[u8; 32]> {
        None
    }
}

/// Module roots by kernel value hash.
#[derive(Debug, Clone, Default)]
pub struct ModuleRoots(pub HashMap<[u8; 32], [u8; 32]>);

impl ModuleRoots {
    /// Validates and lowers `kernel` and lists its module root; returns (value hash, module root).
    pub fn register(&mut self, kernel: &[u8]) -> Result<([u8; 32], [u8; 32]), pvm_validate::LoadError> {
        let hash = kernel_value_hash(kernel);
        let root = crate::engine::ReferenceEngine::new().load(hash, kernel)?.trees().root;
        self.0.insert(hash, root);
        Ok((hash, root))
    }
}

impl KernelRegistry for ModuleRoots {
    fn module_root(&self, kernel: &[u8; 32]) -> Option<[u8; 32]> {
        self.0.get(kernel).copied()
    }
}

/// The durable value hash of `bytes` (section 5.1): what names a kernel.
pub fn kernel_value_hash(bytes: &[u8]) -> [u8; 32] {
    pvm_durable::value_hash(bytes)
}

fn witness_error(_: DurableError) -> ProofError {
    bad("durable nodes (one the level driver needs is missing)")
}

/// The header of the state before a run's first tick: the predecessor level's (status 0) for
/// the level's first run, else the state between runs (status 4) with `ctx`'s context.
fn start_header(start: &RunStart, durable_root: [u8; 32], ctx: &RunContext) -> Header {
    let first = start.reboots == 0;
    let record = if first { Record::default() } else { RunContext { status: STATUS_NEXT_RUN, run_tick: 0, ..*ctx }.record() };
    Header {
        level: if first { start.level.saturating_sub(1) } else { start.level },
        tick: start.ticks_before,
        durable_root,
        outbox_root: start.outbox_root,
        record,
        module: Default::default(),
    }
}

/// The proof of a run's first tick: `before` is the durable storage before it, `ctx` the
/// run's context at its start.
pub(crate) fn prove_start(before: &mut Tree, trees: &ModuleTrees, ctx: &RunContext, start: &RunStart) -> Result<Vec<u8>, ProofError> {
    let ctx = RunContext { run_start_durable_root: before.root_hash(), ..*ctx };
    let mut w = Writer::default();
    w.header(&start_header(start, before.root_hash(), &ctx));
    let (mut tree, store) = recording_tree(before);
    match start_run(&mut tree, start.reboots).map_err(|e| ProofError::NotProvable(format!("the level driver's storage: {e}")))? {
        Selection::Current(_) | Selection::Restored(_) => {}
        Selection::Upgrade { .. } => return Err(ProofError::NotProvable("a run's first tick that loads a kernel upgrade".into())),
    }
    write_loaded(&mut w, &store);
    w.module(&trees.fields);
    w.instance(&trees.instance);
    Ok(w.0)
}

/// A run's first tick from its proof: the post-state's header.
pub(crate) fn verify_start(r: &mut Reader<'_>, pre: &Header, mut post: Header, ctx: &StepContext<'_>) -> Result<Header, ProofError> {
    let between = pre.record.status == STATUS_NEXT_RUN;
    let level = if between { pre.level } else { pre.level.checked_add(1).ok_or(bad("level"))? };
    let (reboots, inbox_next, outbox_count, outbox_root) = if between {
        (pre.record.reboots, pre.record.inbox_next, pre.record.outbox_count, pre.record.outbox_root)
    } else {
        (0, 0, 0, zeros()[OUTBOX_LEVEL_DEPTH])
    };
    let (order, nodes) = read_nodes(r)?;
    let (mut tree, store) = witnessed_tree(nodes, pre.durable_root);
    let kernel = match start_run(&mut tree, reboots).map_err(witness_error)? {
        Selection::Current(h) | Selection::Restored(h) => h,
        Selection::Upgrade { .. } => return Err(ProofError::NotProvable("a run's first tick that loads a kernel upgrade".into())),
    };
    if store.loaded() != order {
        return Err(bad("durable nodes (not the ones the level driver loads, in its order)"));
    }
    let module = r.module()?;
    let instance = r.instance()?;
    if ctx.kernels.module_root(&kernel) != Some(module.hash()) {
        return Err(ProofError::UnknownKernel(kernel.iter().map(|b| format!("{b:02x}")).collect()));
    }
    if instance.hash() != module.instance_root {
        return Err(bad("fresh instance"));
    }
    let durable_root = tree.root_hash();
    post.level = level;
    post.durable_root = durable_root;
    post.module = module;
    post.record = RunContext {
        status: STATUS_RUNNING,
        run_tick: 1,
        reboots,
        run_start_durable_root: durable_root,
        inbox_next,
        inbox_next_at_start: inbox_next,
        outbox_count,
        outbox_root,
        outbox_count_at_start: outbox_count,
        outbox_root_at_start: outbox_root,
    }
    .record()
    .with_instance(instance);
    Ok(post)
}

/// The proof of a run's last tick. `record` is the machine record before it, `host` the run's
/// host state, `run_start` the durable storage at the run's start (what a failure restores).
pub(crate) fn prove_end(
    record: &Record,
    trees: &ModuleTrees,
    host: &HostState,
    run_start: &Snapshot,
    start: &RunStart,
    tick: u64,
    l1: Option<&LevelOnL1>,
) -> Result<Vec<u8>, ProofError> {
    let mut w = Writer::default();
    let mut durable = host.durable.fork();
    w.header(&Header { level: start.level, tick, durable_root: durable.root_hash(), outbox_root: start.outbox_root, record: *record, module: trees.fields });
    let failed = record.status != STATUS_RETURNED;
    let mut count = record.outbox_count as usize;
    let end = if failed {
        durable.restore(run_start.clone());
        count = record.outbox_count_at_start as usize;
        let messages = host.inbox.messages.len() as u64;
        let next = after_failure(u64::from(record.inbox_next), u64::from(record.inbox_next_at_start), messages);
        RunEnd::Failed { inputs_remain: next < messages }
    } else {
        RunEnd::Returned
    };
    let (mut tree, store) = recording_tree(&mut durable);
    let again = end_run(&mut tree, end, record.reboots).map_err(|e| ProofError::NotProvable(format!("the level driver's storage: {e}")))?;
    write_loaded(&mut w, &store);
    if failed {
        let l1 = l1.ok_or_else(|| ProofError::NoInboxEvidence(format!("level {}: where it was posted on the L1 was not given", start.level)))?;
        write_level_record(&mut w, start.level, l1)?;
    }
    if !again {
        let messages = host.outbox.get(..count).unwrap_or_default();
        if !messages.is_empty() {
            w.h(&level_messages_root(messages));
        }
        w.h(&start.outbox_slot.0);
        w.path(&start.outbox_slot.1);
    }
    Ok(w.0)
}

/// A run's last tick from its proof: the post-state's header.
pub(crate) fn verify_end(r: &mut Reader<'_>, pre: &Header, mut post: Header, ctx: &StepContext<'_>) -> Result<Header, ProofError> {
    let rec = &pre.record;
    let failed = rec.status != STATUS_RETURNED;
    let (order, nodes) = read_nodes(r)?;
    let (mut tree, store) = witnessed_tree(nodes, if failed { rec.run_start_durable_root } else { pre.durable_root });
    let (mut next, mut count, mut level_root) = (rec.inbox_next, rec.outbox_count, rec.outbox_root);
    let end = if failed {
        let record = read_level_record(r, pre, ctx.inbox)?;
        let messages = record
            .delayed_end
            .checked_sub(record.delayed_start)
            .and_then(|d| d.checked_add(3 + u64::from(record.tx_count)))
            .ok_or(bad("delayed range"))?;
        next = u32::try_from(after_failure(u64::from(rec.inbox_next), u64::from(rec.inbox_next_at_start), messages)).map_err(|_| bad("inbox position"))?;
        (count, level_root) = (rec.outbox_count_at_start, rec.outbox_root_at_start);
        RunEnd::Failed { inputs_remain: u64::from(next) < messages }
    } else {
        RunEnd::Returned
    };
    let again = end_run(&mut tree, end, rec.reboots).map_err(witness_error)?;
    if store.loaded() != order {
        return Err(bad("durable nodes (not the ones the level driver loads, in its order)"));
    }
    let durable_root = tree.root_hash();
    post.durable_root = durable_root;
    if again {
        post.record = RunContext {
            status: STATUS_NEXT_RUN,
            run_tick: 0,
            reboots: rec.reboots.checked_add(1).ok_or(bad("reboots"))?,
            run_start_durable_root: durable_root,
            inbox_next: next,
            inbox_next_at_start: next,
            outbox_count: count,
            outbox_root: level_root,
            outbox_count_at_start: count,
            outbox_root_at_start: level_root,
        }
        .record();
        post.module = Default::default();
        return Ok(post);
    }
    // The end of the level: its messages go into their slot of the outbox tree.
    if count as usize > 1 << OUTBOX_LEVEL_DEPTH {
        return Err(bad("outbox count"));
    }
    let messages_root = if count > 0 { r.h()? } else { [0; 32] };
    if outbox_level_root_of(count, &messages_root) != level_root {
        return Err(bad("the level's outbox root"));
    }
    let (old_leaf, path) = (r.h()?, r.path(OUTBOX_TREE_DEPTH)?);
    let slot = u64::from(pre.level) & ((1u64 << OUTBOX_TREE_DEPTH) - 1);
    if merkle::root_from_path(&old_leaf, slot, &path) != pre.outbox_root {
        return Err(bad("outbox slot"));
    }
    let leaf = if count > 0 { slot_leaf(pre.level, count, &messages_root) } else { [0; 32] };
    post.outbox_root = merkle::root_from_path(&leaf, slot, &path);
    post.record = Record::default();
    post.module = Default::default();
    Ok(post)
}
