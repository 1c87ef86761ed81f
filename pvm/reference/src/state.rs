//! The machine's state, hashed: the record a one-step proof starts from (docs/pvm.md section 9.4).
//!
//! Everything is hashed with keccak-256 in one place, [`machine_root`], over a fixed-layout
//! record. Lists (code, functions, globals, tables, locals) are Merkle trees of 32-byte leaves
//! under the protocol's one Merkle rule (`protocol::merkle`, count committed beside the root);
//! the memory is a tree of fixed depth [`MEMORY_DEPTH`] over its raw 32-byte leaves, with the
//! zero subtrees precomputed so growing is free, kept incrementally: only the leaves written
//! since the last hash are rehashed ([`MemoryTree`]). The value and frame stacks are hash
//! chains.

use protocol::hash::{keccak256, keccak256_concat};
use protocol::merkle;

use crate::code::Op;
use crate::lower::{FuncBody, Module};
use crate::machine::{Machine, Memory, LEAF_SIZE};

/// Depth of the memory tree: 2^23 leaves of 32 bytes is the 256 MiB limit (4,096 pages).
pub const MEMORY_DEPTH: usize = 23;

/// A 64-bit value as a 32-byte leaf (`bytes32(uint256(v))` on the EVM).
pub fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// `root(word(v)...)`.
pub fn words_root(values: &[u64]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = values.iter().map(|v| word(*v)).collect();
    merkle::root(&leaves)
}

/// The fields the module root commits to (docs/pvm.md section 9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModuleFields {
    /// Merkle root of the code leaves.
    pub code_root: [u8; 32],
    /// Number of instructions.
    pub code_len: u32,
    /// Merkle root of the function leaves.
    pub funcs_root: [u8; 32],
    /// Number of functions (imports included).
    pub funcs: u32,
    /// Merkle root of the canonical type leaves.
    pub types_root: [u8; 32],
    /// Number of canonical types.
    pub types: u32,
    /// Merkle root of the import leaves.
    pub imports_root: [u8; 32],
    /// Merkle root of the data segment leaves.
    pub data_root: [u8; 32],
    /// Number of data segments.
    pub datas: u32,
    /// Merkle root of the element segment leaves.
    pub elems_root: [u8; 32],
    /// Number of element segments.
    pub elems: u32,
    /// Number of globals.
    pub globals: u32,
    /// Number of tables.
    pub tables: u32,
    /// [`Instance::hash`] of a fresh instance at the start of `kernel_run`: what the run's first
    /// tick builds.
    pub instance_root: [u8; 32],
}

impl ModuleFields {
    /// `H(H("rollup.pvm.module.v1") ‖ code_root ‖ u32 code_len ‖ funcs_root ‖ u32 funcs ‖
    /// types_root ‖ u32 types ‖ imports_root ‖ data_root ‖ u32 datas ‖ elems_root ‖ u32 elems ‖
    /// u32 globals ‖ u32 tables ‖ instance_root)`.
    pub fn hash(&self) -> [u8; 32] {
        keccak256_concat(&[
            &keccak256(b"rollup.pvm.module.v1"),
            &self.code_root,
            &self.code_len.to_be_bytes(),
            &self.funcs_root,
            &self.funcs.to_be_bytes(),
            &self.types_root,
            &self.types.to_be_bytes(),
            &self.imports_root,
            &self.data_root,
            &self.datas.to_be_bytes(),
            &self.elems_root,
            &self.elems.to_be_bytes(),
            &self.globals.to_be_bytes(),
            &self.tables.to_be_bytes(),
            &self.instance_root,
        ])
    }
}

/// A function's leaf: kind (0 defined, 1 import), the call immediate or import index, the
/// canonical type.
pub fn func_leaf(f: &crate::lower::Func) -> [u8; 32] {
    let mut leaf = [0u8; 32];
    match f.body {
        FuncBody::Import(h) => {
            leaf[0] = 1;
            leaf[1..9].copy_from_slice(&h.pack().to_be_bytes());
        }
        FuncBody::Code(t) => leaf[1..9].copy_from_slice(&t.pack().to_be_bytes()),
    }
    leaf[9..13].copy_from_slice(&f.type_id.to_be_bytes());
    leaf
}

/// A table's leaf: `H(u32 size ‖ u32 max ‖ root(word(e)...))`.
pub fn table_leaf(t: &crate::machine::Table) -> [u8; 32] {
    table_leaf_of(t.elems.len() as u32, t.max, &words_root(&t.elems))
}

/// A table's leaf from its fields.
pub fn table_leaf_of(size: u32, max: u32, elems_root: &[u8; 32]) -> [u8; 32] {
    keccak256_concat(&[&size.to_be_bytes(), &max.to_be_bytes(), elems_root])
}

/// A data segment's 32-byte chunks, the last zero-padded.
pub fn data_chunks(bytes: &[u8]) -> Vec<[u8; 32]> {
    bytes
        .chunks(LEAF_SIZE as usize)
        .map(|c| {
            let mut leaf = [0u8; 32];
            leaf[..c.len()].copy_from_slice(c);
            leaf
        })
        .collect()
}

/// A data segment's leaf: `H(u32 len ‖ root(chunks))`.
pub fn data_leaf(bytes: &[u8]) -> [u8; 32] {
    keccak256_concat(&[&(bytes.len() as u32).to_be_bytes(), &merkle::root(&data_chunks(bytes))])
}

/// An element segment's leaf: `H(u32 len ‖ root(word(item)...))`.
pub fn elem_leaf(items: &[u64]) -> [u8; 32] {
    keccak256_concat(&[&(items.len() as u32).to_be_bytes(), &words_root(items)])
}

/// The code leaves of a module.
pub fn code_leaves(m: &Module) -> Vec<[u8; 32]> {
    m.code.iter().map(|i| i.leaf()).collect()
}

/// The leaves of every list a lowered module commits to, and the commitment's fields: computed
/// once per kernel, read by every state hash and proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleTrees {
    /// Code leaves.
    pub code: Vec<[u8; 32]>,
    /// Function leaves.
    pub funcs: Vec<[u8; 32]>,
    /// Data segment leaves.
    pub datas: Vec<[u8; 32]>,
    /// Element segment leaves.
    pub elems: Vec<[u8; 32]>,
    /// The module root's fields.
    pub fields: ModuleFields,
    /// The module root.
    pub root: [u8; 32],
    /// A fresh instance at the start of `kernel_run` (`fields.instance_root` is its hash).
    pub instance: Instance,
}

impl ModuleTrees {
    /// The trees of `fresh`'s module; `fresh` is a fresh instance at the start of `kernel_run`.
    pub fn new(fresh: &Machine) -> Self {
        let m = &*fresh.module;
        let instance = fresh.clone().record(&mut MemoryTree::new(), &RunContext::default()).instance();
        let code = code_leaves(m);
        let funcs: Vec<[u8; 32]> = m.funcs.iter().map(func_leaf).collect();
        let types: Vec<[u8; 32]> = m.types.iter().map(|t| keccak256(&t.encoding)).collect();
        let imports: Vec<[u8; 32]> = m.imports.iter().map(|i| keccak256_concat(&[i.module.as_bytes(), b"\0", i.name.as_bytes()])).collect();
        let datas: Vec<[u8; 32]> = m.datas.iter().map(|d| data_leaf(&d.bytes)).collect();
        let elems: Vec<[u8; 32]> = m.elems.iter().map(|e| elem_leaf(&e.items)).collect();
        let fields = ModuleFields {
            code_root: merkle::root(&code),
            code_len: code.len() as u32,
            funcs_root: merkle::root(&funcs),
            funcs: funcs.len() as u32,
            types_root: merkle::root(&types),
            types: types.len() as u32,
            imports_root: merkle::root(&imports),
            data_root: merkle::root(&datas),
            datas: datas.len() as u32,
            elems_root: merkle::root(&elems),
            elems: elems.len() as u32,
            globals: m.globals.len() as u32,
            tables: m.tables.len() as u32,
            instance_root: instance.hash(),
        };
        ModuleTrees {
            instance, root: fields.hash(), code, funcs, datas, elems, fields }
    }
}

/// The memory's Merkle tree, kept between hashes so only written leaves are rehashed.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `layers[k][i]` is the node at height `k + 1` covering leaves `[i 2^(k+1), (i+1) 2^(k+1))`.
    layers: Vec<Vec<[u8; 32]>>,
    /// Leaves the layers were built for (0: not built).
    leaves: usize,
}

/// The roots of all-zero subtrees, `zeros()[h]` of height `h`.
pub fn zeros() -> &'static [[u8; 32]; MEMORY_DEPTH + 1] {
    static ZEROS: std::sync::OnceLock<[[u8; 32]; MEMORY_DEPTH + 1]> = std::sync::OnceLock::new();
    ZEROS.get_or_init(|| {
        let mut z = [[0u8; 32]; MEMORY_DEPTH + 1];
        for h in 1..=MEMORY_DEPTH {
            z[h] = merkle::node(&z[h - 1], &z[h - 1]);
        }
        z
    })
}

/// Memory leaf `i` (zero past the end).
pub fn leaf_at(bytes: &[u8], i: usize) -> [u8; 32] {
    let mut l = [0u8; 32];
    let start = i * LEAF_SIZE as usize;
    if start < bytes.len() {
        let end = (start + 32).min(bytes.len());
        l[..end - start].copy_from_slice(&bytes[start..end]);
    }
    l
}

impl MemoryTree {
    /// A tree to be built at the first hash.
    pub fn new() -> Self {
        Self::default()
    }

    fn child(&self, height: usize, bytes: &[u8], i: usize) -> [u8; 32] {
        // The node at `height` with index `i` (height 0: a leaf).
        let z = zeros();
        if height == 0 {
            return if i < self.leaves { leaf_at(bytes, i) } else { z[0] };
        }
        self.layers[height - 1].get(i).copied().unwrap_or(z[height])
    }

    /// The nodes at height `h` (1 up), as of the last [`MemoryTree::root`].
    pub(crate) fn layer(&self, h: usize) -> Option<&Vec<[u8; 32]>> {
        h.checked_sub(1).and_then(|i| self.layers.get(i))
    }

    /// The memory root, rehashing only what changed since the last call.
    pub fn root(&mut self, memory: &mut Memory) -> [u8; 32] {
        let bytes_len = memory.bytes().len();
        let leaves = bytes_len / LEAF_SIZE as usize;
        let dirty = memory.take_dirty();
        let z = zeros();
        if leaves == 0 {
            self.layers.clear();
            self.leaves = 0;
            return z[MEMORY_DEPTH];
        }
        if leaves != self.leaves {
            // Built anew (first hash of the run, or the memory grew).
            self.leaves = leaves;
            self.layers.clear();
            let mut width = leaves;
            for h in 1..=MEMORY_DEPTH {
                width = width.div_ceil(2);
                let mut layer = Vec::with_capacity(width);
                for i in 0..width {
                    let (l, r) = (self.child(h - 1, memory.bytes(), 2 * i), self.child(h - 1, memory.bytes(), 2 * i + 1));
                    layer.push(merkle::node(&l, &r));
                }
                self.layers.push(layer);
                if width == 1 {
                    break;
                }
            }
        } else {
            let mut touched: Vec<usize> = Vec::new();
            for (w, bits) in dirty.iter().enumerate() {
                let mut b = *bits;
                while b != 0 {
                    let leaf = w * 64 + b.trailing_zeros() as usize;
                    b &= b - 1;
                    if leaf < leaves {
                        touched.push(leaf / 2);
                    }
                }
            }
            touched.dedup();
            for h in 1..=self.layers.len() {
                for &i in &touched {
                    let (l, r) = (self.child(h - 1, memory.bytes(), 2 * i), self.child(h - 1, memory.bytes(), 2 * i + 1));
                    self.layers[h - 1][i] = merkle::node(&l, &r);
                }
                touched = touched.iter().map(|i| i / 2).collect();
                touched.dedup();
            }
        }
        let mut root = self.layers.last().map(|l| l[0]).unwrap_or(z[0]);
        for h in self.layers.len()..MEMORY_DEPTH {
            root = merkle::node(&root, &z[h]);
        }
        root
    }
}

impl MemoryTree {
    /// The node at height `h` (0: a leaf) and index `i`, as of the last [`MemoryTree::root`].
    pub fn node(&self, bytes: &[u8], h: usize, i: u64) -> [u8; 32] {
        if h == 0 {
            return leaf_at(bytes, i as usize);
        }
        self.layer(h).and_then(|l| l.get(i as usize)).copied().unwrap_or(zeros()[h])
    }

    /// The sibling path (bottom-up, [`MEMORY_DEPTH`] nodes) of leaf `index`, as of the last
    /// [`MemoryTree::root`].
    pub fn path(&self, bytes: &[u8], index: u64) -> Vec<[u8; 32]> {
        let z = zeros();
        (0..MEMORY_DEPTH)
            .map(|h| {
                let sib = ((index >> h) ^ 1) as usize;
                if h == 0 {
                    leaf_at(bytes, sib)
                } else {
                    self.layer(h).and_then(|l| l.get(sib)).copied().unwrap_or(z[h])
                }
            })
            .collect()
    }
}

/// How far the run is: the parts of the state outside the wasm instance, kept by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunContext {
    /// 1 running, 2 returned (padding), 3 failed (padding), 4 between two runs.
    pub status: u8,
    /// Ticks of this run so far (real and padding).
    pub run_tick: u64,
    /// Runs of this level before this one (the reboot counter).
    pub reboots: u32,
    /// The durable root when the run started: what a failure restores.
    pub run_start_durable_root: [u8; 32],
    /// The next inbox message id.
    pub inbox_next: u32,
    /// The next inbox message id when the run started.
    pub inbox_next_at_start: u32,
    /// Outbox messages of the level so far.
    pub outbox_count: u32,
    /// Their root: [`outbox_level_root`].
    pub outbox_root: [u8; 32],
    /// Outbox messages of the level when the run started.
    pub outbox_count_at_start: u32,
    /// Their root when the run started: what a failure restores.
    pub outbox_root_at_start: [u8; 32],
}

impl RunContext {
    /// The record when there is no instance (status 2, 3 and 4).
    pub fn record(&self) -> Record {
        Record {
            status: self.status,
            run_tick: self.run_tick,
            run_start_durable_root: self.run_start_durable_root,
            reboots: self.reboots,
            inbox_next: self.inbox_next,
            inbox_next_at_start: self.inbox_next_at_start,
            outbox_count: self.outbox_count,
            outbox_root: self.outbox_root,
            outbox_count_at_start: self.outbox_count_at_start,
            outbox_root_at_start: self.outbox_root_at_start,
            ..Record::default()
        }
        .with_instance(Instance::none())
    }
}

/// The machine record inside a run: everything `machine_root` hashes but the module root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Record {
    pub status: u8,
    pub run_tick: u64,
    pub pc: u32,
    pub stack_height: u32,
    pub stack_hash: [u8; 32],
    pub frame_depth: u32,
    pub frames_hash: [u8; 32],
    pub memory_pages: u32,
    pub memory_max_pages: u32,
    pub memory_root: [u8; 32],
    pub globals_root: [u8; 32],
    pub tables_root: [u8; 32],
    pub dropped_root: [u8; 32],
    pub run_start_durable_root: [u8; 32],
    pub reboots: u32,
    pub inbox_next: u32,
    pub inbox_next_at_start: u32,
    pub outbox_count: u32,
    pub outbox_root: [u8; 32],
    pub outbox_count_at_start: u32,
    pub outbox_root_at_start: [u8; 32],
}

/// The wasm instance's part of the record: what a fresh instance sets and a run's end clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Instance {
    pub pc: u32,
    pub stack_height: u32,
    pub stack_hash: [u8; 32],
    pub frame_depth: u32,
    pub frames_hash: [u8; 32],
    pub memory_pages: u32,
    pub memory_max_pages: u32,
    pub memory_root: [u8; 32],
    pub globals_root: [u8; 32],
    pub tables_root: [u8; 32],
    pub dropped_root: [u8; 32],
}

impl Instance {
    /// `H(u32 pc ‖ u32 stack_height ‖ stack_hash ‖ u32 frame_depth ‖ frames_hash ‖
    /// u32 memory_pages ‖ u32 memory_max_pages ‖ memory_root ‖ globals_root ‖ tables_root ‖
    /// dropped_root)`: a module commits to its fresh instance by this hash.
    pub fn hash(&self) -> [u8; 32] {
        keccak256_concat(&[
            &self.pc.to_be_bytes(),
            &self.stack_height.to_be_bytes(),
            &self.stack_hash,
            &self.frame_depth.to_be_bytes(),
            &self.frames_hash,
            &self.memory_pages.to_be_bytes(),
            &self.memory_max_pages.to_be_bytes(),
            &self.memory_root,
            &self.globals_root,
            &self.tables_root,
            &self.dropped_root,
        ])
    }

    /// The instance fields of an empty machine (no instance: before or after a run).
    pub fn none() -> Instance {
        Instance { memory_root: zeros()[MEMORY_DEPTH], ..Instance::default() }
    }
}

impl Record {
    /// The instance fields.
    pub fn instance(&self) -> Instance {
        Instance {
            pc: self.pc,
            stack_height: self.stack_height,
            stack_hash: self.stack_hash,
            frame_depth: self.frame_depth,
            frames_hash: self.frames_hash,
            memory_pages: self.memory_pages,
            memory_max_pages: self.memory_max_pages,
            memory_root: self.memory_root,
            globals_root: self.globals_root,
            tables_root: self.tables_root,
            dropped_root: self.dropped_root,
        }
    }

    /// This record with the instance `i`.
    pub fn with_instance(&self, i: Instance) -> Record {
        Record {
            pc: i.pc,
            stack_height: i.stack_height,
            stack_hash: i.stack_hash,
            frame_depth: i.frame_depth,
            frames_hash: i.frames_hash,
            memory_pages: i.memory_pages,
            memory_max_pages: i.memory_max_pages,
            memory_root: i.memory_root,
            globals_root: i.globals_root,
            tables_root: i.tables_root,
            dropped_root: i.dropped_root,
            ..*self
        }
    }

    /// The machine root: the one place the in-run state is hashed.
    pub fn hash(&self, module_root: &[u8; 32]) -> [u8; 32] {
        let u32b = |x: u32| x.to_be_bytes();
        keccak256_concat(&[
            &keccak256(b"rollup.pvm.machine.v1"),
            module_root,
            &[self.status],
            &self.run_tick.to_be_bytes(),
            &u32b(self.pc),
            &u32b(self.stack_height),
            &self.stack_hash,
            &u32b(self.frame_depth),
            &self.frames_hash,
            &u32b(self.memory_pages),
            &u32b(self.memory_max_pages),
            &self.memory_root,
            &self.globals_root,
            &self.tables_root,
            &self.dropped_root,
            &self.run_start_durable_root,
            &u32b(self.reboots),
            &u32b(self.inbox_next),
            &u32b(self.inbox_next_at_start),
            &u32b(self.outbox_count),
            &self.outbox_root,
            &u32b(self.outbox_count_at_start),
            &self.outbox_root_at_start,
        ])
    }

    /// The record once the instance is gone (the run returned or failed): the instance fields
    /// of an empty machine, the run's context kept.
    pub fn without_instance(&self, status: u8) -> Record {
        Record { status, ..self.with_instance(Instance::none()) }
    }
}

/// `pvm_root = H(H("rollup.pvm.state.v1") ‖ u8 status ‖ u32 level ‖ u64 ticks ‖ durable_root ‖
/// machine_root)` (section 6).
pub fn pvm_root(status: u8, level: u32, ticks: u64, durable_root: &[u8; 32], machine_root: &[u8; 32]) -> [u8; 32] {
    keccak256_concat(&[&keccak256(b"rollup.pvm.state.v1"), &[status], &level.to_be_bytes(), &ticks.to_be_bytes(), durable_root, machine_root])
}

/// The state hash: `H(pvm_root ‖ outbox_root)`.
pub fn state_hash(pvm_root: &[u8; 32], outbox_root: &[u8; 32]) -> [u8; 32] {
    keccak256_concat(&[pvm_root, outbox_root])
}

/// Running a machine.
pub const STATUS_RUNNING: u8 = 1;
/// `kernel_run` returned; the run pads to its budget.
pub const STATUS_RETURNED: u8 = 2;
/// The run failed; it pads to its budget, then is rolled back.
pub const STATUS_FAILED: u8 = 3;
/// A run ended and the level goes on: the next run's first tick starts it.
pub const STATUS_NEXT_RUN: u8 = 4;

/// Depth of the tree of a level's outbox messages inside a run: 2^7 slots hold the 100 a level
/// may write.
pub const OUTBOX_LEVEL_DEPTH: usize = 7;

/// The leaves of a level's outbox tree: `H(message)`, then zero leaves.
fn outbox_level_leaves(messages: &[Vec<u8>]) -> Vec<[u8; 32]> {
    let mut leaves: Vec<[u8; 32]> = messages.iter().map(|m| keccak256(m)).collect();
    leaves.resize(1 << OUTBOX_LEVEL_DEPTH, [0; 32]);
    leaves
}

/// The root of the fixed-depth tree of the level's outbox messages so far. Its node at height
/// `depth(count)` on the left edge is the level's `messages_root` (protocol.md 3.1), which is
/// what the end of the level puts in the outbox tree.
pub fn outbox_level_root(messages: &[Vec<u8>]) -> [u8; 32] {
    merkle::root(&outbox_level_leaves(messages))
}

/// The path of slot `index` in that tree ([`OUTBOX_LEVEL_DEPTH`] siblings).
pub fn outbox_level_path(messages: &[Vec<u8>], index: usize) -> Vec<[u8; 32]> {
    merkle::proof(&outbox_level_leaves(messages), index).unwrap_or_default()
}

/// The level-tree root of `count` messages whose `messages_root` is `root` (zero subtrees on the
/// right of it).
pub fn outbox_level_root_of(count: u32, messages_root: &[u8; 32]) -> [u8; 32] {
    if count == 0 {
        return zeros()[OUTBOX_LEVEL_DEPTH];
    }
    let mut r = *messages_root;
    for z in &zeros()[merkle::depth(count as usize)..OUTBOX_LEVEL_DEPTH] {
        r = merkle::node(&r, z);
    }
    r
}

/// The value-stack chain: `H(prev ‖ u64 value)` from 32 zero bytes, bottom first.
pub fn stack_hash(values: &[u64]) -> [u8; 32] {
    values.iter().fold([0u8; 32], |h, v| keccak256_concat(&[&h, &v.to_be_bytes()]))
}

impl Machine {
    /// The frame chain: `H(prev ‖ u32 return_pc ‖ u32 locals ‖ locals_root)` per frame,
    /// outermost first, from 32 zero bytes.
    pub fn frames_hash(&self) -> [u8; 32] {
        self.frames_hash_of(self.frames.len())
    }

    /// The frame chain of the outermost `n` frames.
    pub fn frames_hash_of(&self, n: usize) -> [u8; 32] {
        let mut h = [0u8; 32];
        for (i, f) in self.frames.iter().enumerate().take(n) {
            let end = self.frames.get(i + 1).map_or(self.locals.len(), |n| n.locals_base as usize);
            let locals = &self.locals[f.locals_base as usize..end];
            h = keccak256_concat(&[&h, &f.return_pc.to_be_bytes(), &(locals.len() as u32).to_be_bytes(), &words_root(locals)]);
        }
        h
    }

    /// The tables: a Merkle list of `H(u32 size ‖ u32 max ‖ elements_root)`.
    pub fn tables_root(&self) -> [u8; 32] {
        let leaves: Vec<[u8; 32]> = self.tables.iter().map(table_leaf).collect();
        merkle::root(&leaves)
    }

    /// Which segments were dropped: a Merkle list of words (1 dropped), data then elements.
    pub fn dropped_root(&self) -> [u8; 32] {
        let flags: Vec<u64> = self.data_dropped.iter().chain(&self.elem_dropped).map(|d| u64::from(*d)).collect();
        words_root(&flags)
    }

    /// The record of this instance at the given point of the run (section 9.4).
    pub fn record(&mut self, memory_tree: &mut MemoryTree, ctx: &RunContext) -> Record {
        Record {
            status: ctx.status,
            run_tick: ctx.run_tick,
            pc: self.pc,
            stack_height: self.stack.len() as u32,
            stack_hash: stack_hash(&self.stack),
            frame_depth: self.frames.len() as u32,
            frames_hash: self.frames_hash(),
            memory_pages: self.memory.pages(),
            memory_max_pages: self.memory.max_pages(),
            memory_root: memory_tree.root(&mut self.memory),
            globals_root: words_root(&self.globals),
            tables_root: self.tables_root(),
            dropped_root: self.dropped_root(),
            run_start_durable_root: ctx.run_start_durable_root,
            reboots: ctx.reboots,
            inbox_next: ctx.inbox_next,
            inbox_next_at_start: ctx.inbox_next_at_start,
            outbox_count: ctx.outbox_count,
            outbox_root: ctx.outbox_root,
            outbox_count_at_start: ctx.outbox_count_at_start,
            outbox_root_at_start: ctx.outbox_root_at_start,
        }
    }

    /// The machine root of docs/pvm.md section 9.4: the instance (`module_root` commits the
    /// kernel) and the run's context.
    pub fn machine_root(&mut self, module_root: &[u8; 32], memory_tree: &mut MemoryTree, ctx: &RunContext) -> [u8; 32] {
        self.record(memory_tree, ctx).hash(module_root)
    }

    /// The instruction at the program counter, if any (for traces).
    pub fn current_op(&self) -> Option<Op> {
        self.module.code.get(self.pc as usize).map(|i| i.op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pvm_host::GuestMemory;

    /// The incremental tree equals one built from scratch after random writes and growth.
    #[test]
    fn incremental_memory_root_equals_a_fresh_one() {
        let module = std::sync::Arc::new(crate::lower::lower(&wat::parse_str("(module (memory 1 8))").unwrap()).unwrap());
        let mut m = Machine::instantiate(module).unwrap();
        let mut tree = MemoryTree::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let empty = tree.root(&mut m.memory);
        assert_eq!(empty, zeros()[MEMORY_DEPTH], "zero memory has the zero root");
        for round in 0..40 {
            for _ in 0..(next() % 20) {
                let size = m.memory.bytes().len() as u64;
                let len = 1 + next() % 70;
                let addr = next() % (size - len);
                let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                m.memory.write(addr as u32, &data).unwrap();
            }
            if round % 13 == 12 {
                m.memory.pages();
                let _ = m.memory.grow_for_test(1);
            }
            let incremental = tree.root(&mut m.memory);
            let fresh = MemoryTree::new().root(&mut m.memory.clone());
            assert_eq!(incremental, fresh, "round {round}");
        }
        assert_ne!(tree.root(&mut m.memory), empty);
    }
}
