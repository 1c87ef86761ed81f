//! One-step proofs: what the L1 needs to execute one tick of the reference machine, and
//! [`verify_step`], which executes it from the proof alone (docs/pvm.md section 9.5).
//!
//! A proof is the pre-state's fields (so the verifier rebuilds the pre-state hash and checks it),
//! then the code leaf at the program counter with its Merkle path, the top values of the stack
//! with the hash below them, and the few leaves the instruction reads or writes (a local, a
//! global, one or two memory leaves), each with its path. The verifier recomputes the post-state
//! and hashes it once. Every byte is checked: a proof changed anywhere is rejected or gives
//! another post-state.

use protocol::hash::keccak256_concat;
use protocol::merkle;

use crate::code::{Branch, CallTarget, HostTarget, Instr, Op};
use crate::machine::{Machine, LEAF_SIZE, PAGE_SIZE};
use crate::state::{
    pvm_root, state_hash, word, zeros, MemoryTree, ModuleFields, ModuleTrees, Record, RunContext, MEMORY_DEPTH, STATUS_FAILED,
    STATUS_RETURNED, STATUS_RUNNING,
};

pub use crate::hostcall::StepContext;

/// Why a proof is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof ends early.
    #[error("proof truncated at byte {0}")]
    Truncated(usize),
    /// Bytes after the proof.
    #[error("{0} bytes after the end of the proof")]
    Trailing(usize),
    /// The proof's pre-state is not the state it claims to start from.
    #[error("the proof's pre-state does not hash to the given state")]
    PreState,
    /// A witness does not match its root.
    #[error("invalid witness: {0}")]
    Witness(&'static str),
    /// A step this version cannot prove yet (it names the instruction or transition).
    #[error("not provable yet: {0}")]
    NotProvable(String),
    /// A `read_input` step needs to know where its level was posted on the L1.
    #[error("no inbox evidence: {0}")]
    NoInboxEvidence(String),
    /// A `reveal_preimage` step needs a page the preimage oracle does not hold: upload it first.
    #[error("the preimage oracle has no page {0}: upload it, then verify again")]
    MissingPreimage(String),
    /// A run's first tick needs the L1 to know its kernel's module root (the registry of
    /// `StepContext::kernels`).
    #[error("the L1 knows no module root for kernel {0}: register it (origination does for the first kernel)")]
    UnknownKernel(String),
    /// The preimage oracle failed or served a wrong page.
    #[error("preimage oracle: {0}")]
    Aborted(String),
}

pub(crate) fn bad(what: &'static str) -> ProofError {
    ProofError::Witness(what)
}

/// Bytes of the header of a proof inside a run (the pre-state's fields); between levels it is
/// [`HEADER_BASE`] + 1 (status 0), between runs [`HEADER_BASE`] + [`RECORD_SIZE`] (status 4).
pub const HEADER_SIZE: usize = HEADER_BASE + RECORD_SIZE + MODULE_FIELDS_SIZE;
/// `u32 level ‖ u64 tick ‖ durable_root ‖ outbox_root`.
pub const HEADER_BASE: usize = 76;
/// The machine record without the module root (status first).
pub const RECORD_SIZE: usize = 337;
/// The module root's fields.
pub const MODULE_FIELDS_SIZE: usize = 252;

/// The pre-state header: the PVM fields of section 6 and the machine record of 9.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) level: u32,
    pub(crate) tick: u64,
    pub(crate) durable_root: [u8; 32],
    pub(crate) outbox_root: [u8; 32],
    pub(crate) record: Record,
    pub(crate) module: ModuleFields,
}

impl Header {
    pub(crate) fn state_hash(&self) -> [u8; 32] {
        let machine_root = match self.record.status {
            0 => [0; 32],
            crate::state::STATUS_NEXT_RUN => self.record.hash(&[0; 32]),
            _ => self.record.hash(&self.module.hash()),
        };
        state_hash(&pvm_root(self.record.status, self.level, self.tick, &self.durable_root, &machine_root), &self.outbox_root)
    }
}

#[derive(Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn h(&mut self, v: &[u8; 32]) {
        self.0.extend_from_slice(v);
    }
    pub(crate) fn path(&mut self, p: &[[u8; 32]]) {
        for h in p {
            self.h(h);
        }
    }
    /// The instance fields, in the record's (and `instance_root`'s) order.
    pub(crate) fn instance(&mut self, i: &crate::state::Instance) {
        self.u32(i.pc);
        self.u32(i.stack_height);
        self.h(&i.stack_hash);
        self.u32(i.frame_depth);
        self.h(&i.frames_hash);
        self.u32(i.memory_pages);
        self.u32(i.memory_max_pages);
        self.h(&i.memory_root);
        self.h(&i.globals_root);
        self.h(&i.tables_root);
        self.h(&i.dropped_root);
    }
    pub(crate) fn header(&mut self, h: &Header) {
        let r = &h.record;
        self.u32(h.level);
        self.u64(h.tick);
        self.h(&h.durable_root);
        self.h(&h.outbox_root);
        self.u8(r.status);
        if r.status == 0 {
            return;
        }
        self.u64(r.run_tick);
        self.instance(&r.instance());
        self.h(&r.run_start_durable_root);
        self.u32(r.reboots);
        self.u32(r.inbox_next);
        self.u32(r.inbox_next_at_start);
        self.u32(r.outbox_count);
        self.h(&r.outbox_root);
        self.u32(r.outbox_count_at_start);
        self.h(&r.outbox_root_at_start);
        if r.status == crate::state::STATUS_NEXT_RUN {
            return;
        }
        self.module(&h.module);
    }
    pub(crate) fn module(&mut self, m: &ModuleFields) {
        self.h(&m.code_root);
        self.u32(m.code_len);
        self.h(&m.funcs_root);
        self.u32(m.funcs);
        self.h(&m.types_root);
        self.u32(m.types);
        self.h(&m.imports_root);
        self.h(&m.data_root);
        self.u32(m.datas);
        self.h(&m.elems_root);
        self.u32(m.elems);
        self.u32(m.globals);
        self.u32(m.tables);
        self.h(&m.instance_root);
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) at: usize,
}

impl Reader<'_> {
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&[u8], ProofError> {
        let end = self.at.checked_add(n).ok_or(ProofError::Truncated(self.at))?;
        let s = self.b.get(self.at..end).ok_or(ProofError::Truncated(self.at))?;
        self.at = end;
        Ok(s)
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], ProofError> {
        let s = self.b.get(self.at..self.at + N).ok_or(ProofError::Truncated(self.at))?;
        self.at += N;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, ProofError> {
        Ok(self.take::<1>()?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, ProofError> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, ProofError> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, ProofError> {
        Ok(u64::from_be_bytes(self.take()?))
    }
    pub(crate) fn h(&mut self) -> Result<[u8; 32], ProofError> {
        self.take()
    }
    pub(crate) fn path(&mut self, n: usize) -> Result<Vec<[u8; 32]>, ProofError> {
        (0..n).map(|_| self.h()).collect()
    }
    /// The instance fields, as [`Writer::instance`] writes them.
    pub(crate) fn instance(&mut self) -> Result<crate::state::Instance, ProofError> {
        Ok(crate::state::Instance {
            pc: self.u32()?,
            stack_height: self.u32()?,
            stack_hash: self.h()?,
            frame_depth: self.u32()?,
            frames_hash: self.h()?,
            memory_pages: self.u32()?,
            memory_max_pages: self.u32()?,
            memory_root: self.h()?,
            globals_root: self.h()?,
            tables_root: self.h()?,
            dropped_root: self.h()?,
        })
    }
    pub(crate) fn header(&mut self) -> Result<Header, ProofError> {
        let level = self.u32()?;
        let tick = self.u64()?;
        let durable_root = self.h()?;
        let outbox_root = self.h()?;
        let status = self.u8()?;
        if status == 0 {
            let record = Record { status, ..Record::default() };
            return Ok(Header { level, tick, durable_root, outbox_root, record, module: ModuleFields::default() });
        }
        let run_tick = self.u64()?;
        let instance = self.instance()?;
        let record = Record {
            status,
            run_tick,
            run_start_durable_root: self.h()?,
            reboots: self.u32()?,
            inbox_next: self.u32()?,
            inbox_next_at_start: self.u32()?,
            outbox_count: self.u32()?,
            outbox_root: self.h()?,
            outbox_count_at_start: self.u32()?,
            outbox_root_at_start: self.h()?,
            ..Record::default()
        }
        .with_instance(instance);
        if status == crate::state::STATUS_NEXT_RUN {
            return Ok(Header { level, tick, durable_root, outbox_root, record, module: ModuleFields::default() });
        }
        let module = self.module()?;
        Ok(Header { level, tick, durable_root, outbox_root, record, module })
    }
    pub(crate) fn module(&mut self) -> Result<ModuleFields, ProofError> {
        Ok(ModuleFields {
            code_root: self.h()?,
            code_len: self.u32()?,
            funcs_root: self.h()?,
            funcs: self.u32()?,
            types_root: self.h()?,
            types: self.u32()?,
            imports_root: self.h()?,
            data_root: self.h()?,
            datas: self.u32()?,
            elems_root: self.h()?,
            elems: self.u32()?,
            globals: self.u32()?,
            tables: self.u32()?,
            instance_root: self.h()?,
        })
    }
}

fn op_from(code: u16) -> Option<Op> {
    // The opcode numbering is the enum's; a table built once maps them back.
    static TABLE: std::sync::OnceLock<std::collections::HashMap<u16, Op>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| crate::code::ALL_OPS.iter().map(|o| (*o as u16, *o)).collect()).get(&code).copied()
}

/// `H(prev ‖ u64 v)` for each value.
fn push_all(mut h: [u8; 32], values: &[u64]) -> [u8; 32] {
    for v in values {
        h = keccak256_concat(&[&h, &v.to_be_bytes()]);
    }
    h
}

/// The frame chain link.
fn frame_link(prev: &[u8; 32], return_pc: u32, locals: u32, locals_root: &[u8; 32]) -> [u8; 32] {
    keccak256_concat(&[prev, &return_pc.to_be_bytes(), &locals.to_be_bytes(), locals_root])
}

/// `root(words ‖ zeros)` over `count` leaves, in O(words + log count).
fn root_with_zero_tail(words: &[u64], count: usize) -> [u8; 32] {
    if count == 0 {
        return [0; 32];
    }
    let z = zeros();
    let depth = merkle::depth(count);
    let mut layer: Vec<[u8; 32]> = words.iter().map(|v| word(*v)).collect();
    for h in 0..depth {
        if layer.is_empty() {
            return z[depth];
        }
        if layer.len() % 2 == 1 {
            layer.push(z[h]);
        }
        layer = layer.chunks_exact(2).map(|p| merkle::node(&p[0], &p[1])).collect();
    }
    layer.first().copied().unwrap_or(z[depth])
}

/// How many stack values the step reads (from the top), given the instruction and, for
/// conditional ones, the top value (the condition or index) and the `br_table` entry taken.
fn stack_needs(instr: Instr, top: Option<u64>, entry: Option<Instr>) -> usize {
    let branch = |imm: u64| {
        let b = Branch::unpack(imm);
        usize::from(b.keep) + usize::from(b.drop)
    };
    match instr.op {
        Op::DataDrop | Op::ElemDrop | Op::TableSize => 0,
        Op::TableGet => 1,
        Op::TableGrow => 2,
        Op::TableFill | Op::TableFillStep | Op::TableCopy | Op::TableCopyStep | Op::TableInit | Op::TableInitStep | Op::TableGrowStep => 3,
        Op::TableSet => 2,
        // The index, and the callee's parameters when the call happens (checked later).
        Op::CallIndirect => 1,
        Op::Unreachable | Op::Jump | Op::I32Const | Op::I64Const | Op::LocalGet | Op::GlobalGet | Op::MemorySize | Op::RefNull | Op::RefFunc => 0,
        Op::Br | Op::Return => branch(instr.imm),
        Op::BrIf | Op::ReturnIf => 1 + if top.is_some_and(|c| c as u32 != 0) { branch(instr.imm) } else { 0 },
        Op::BrIfZero => 1,
        Op::BrTable => 1 + entry.map_or(0, |e| branch(e.imm)),
        Op::Call => usize::from(CallTarget::unpack(instr.imm).params),
        Op::HostCall => host_params(instr.imm).unwrap_or(0),
        Op::Drop | Op::LocalSet | Op::LocalTee | Op::GlobalSet | Op::MemoryGrow | Op::RefIsNull => 1,
        Op::Select | Op::MemoryFill | Op::MemoryFillStep | Op::MemoryCopy | Op::MemoryCopyStep | Op::MemoryInit | Op::MemoryInitStep => 3,
        op if is_load(op) => 1,
        op if is_store(op) => 2,
        op if is_unary(op) => 1,
        _ => 2,
    }
}

/// The parameters of the host function a host-call immediate names.
fn host_params(imm: u64) -> Option<usize> {
    let t = HostTarget::unpack(imm)?;
    Some(t.func?.signatures()[usize::from(t.form)].params.len())
}

fn is_load(op: Op) -> bool {
    (Op::I32Load as u16..=Op::I64Load32U as u16).contains(&(op as u16))
}

fn is_store(op: Op) -> bool {
    (Op::I32Store as u16..=Op::I64Store32 as u16).contains(&(op as u16))
}

fn is_unary(op: Op) -> bool {
    matches!(
        op,
        Op::I32Eqz
            | Op::I64Eqz
            | Op::I32Clz
            | Op::I32Ctz
            | Op::I32Popcnt
            | Op::I64Clz
            | Op::I64Ctz
            | Op::I64Popcnt
            | Op::I32WrapI64
            | Op::I64ExtendI32S
            | Op::I64ExtendI32U
            | Op::I32Extend8S
            | Op::I32Extend16S
            | Op::I64Extend8S
            | Op::I64Extend16S
            | Op::I64Extend32S
    )
}

fn is_numeric(op: Op) -> bool {
    (Op::I32Eqz as u16..=Op::I64Extend32S as u16).contains(&(op as u16))
}

/// Bytes a load or store accesses.
fn access_size(op: Op) -> u64 {
    match op {
        Op::I32Load8S | Op::I32Load8U | Op::I64Load8S | Op::I64Load8U | Op::I32Store8 | Op::I64Store8 => 1,
        Op::I32Load16S | Op::I32Load16U | Op::I64Load16S | Op::I64Load16U | Op::I32Store16 | Op::I64Store16 => 2,
        Op::I32Load | Op::I64Load32S | Op::I64Load32U | Op::I32Store | Op::I64Store32 => 4,
        _ => 8,
    }
}

/// The numeric instructions: the verifier's own implementation (the machine has another,
/// inlined in its loop; round trips compare them).
fn numeric(op: Op, a: u64, b: u64) -> Result<u64, ()> {
    let (x, y) = (a as u32, b as u32);
    let w = |v: u32| u64::from(v);
    let t = |c: bool| u64::from(c);
    Ok(match op {
        Op::I32Eqz => t(x == 0),
        Op::I64Eqz => t(a == 0),
        Op::I32Clz => w(x.leading_zeros()),
        Op::I32Ctz => w(x.trailing_zeros()),
        Op::I32Popcnt => w(x.count_ones()),
        Op::I64Clz => u64::from(a.leading_zeros()),
        Op::I64Ctz => u64::from(a.trailing_zeros()),
        Op::I64Popcnt => u64::from(a.count_ones()),
        Op::I32WrapI64 | Op::I64ExtendI32U => a & 0xffff_ffff,
        Op::I64ExtendI32S => x as i32 as i64 as u64,
        Op::I32Extend8S => w(x as i8 as i32 as u32),
        Op::I32Extend16S => w(x as i16 as i32 as u32),
        Op::I64Extend8S => a as i8 as i64 as u64,
        Op::I64Extend16S => a as i16 as i64 as u64,
        Op::I64Extend32S => a as i32 as i64 as u64,
        Op::I32Eq => t(x == y),
        Op::I32Ne => t(x != y),
        Op::I32LtS => t((x as i32) < (y as i32)),
        Op::I32LtU => t(x < y),
        Op::I32GtS => t((x as i32) > (y as i32)),
        Op::I32GtU => t(x > y),
        Op::I32LeS => t((x as i32) <= (y as i32)),
        Op::I32LeU => t(x <= y),
        Op::I32GeS => t((x as i32) >= (y as i32)),
        Op::I32GeU => t(x >= y),
        Op::I32Add => w(x.wrapping_add(y)),
        Op::I32Sub => w(x.wrapping_sub(y)),
        Op::I32Mul => w(x.wrapping_mul(y)),
        Op::I32DivS => {
            if y == 0 || (x as i32 == i32::MIN && y as i32 == -1) {
                return Err(());
            }
            w(((x as i32) / (y as i32)) as u32)
        }
        Op::I32DivU => w(x.checked_div(y).ok_or(())?),
        Op::I32RemS => {
            if y == 0 {
                return Err(());
            }
            w((x as i32).wrapping_rem(y as i32) as u32)
        }
        Op::I32RemU => w(x.checked_rem(y).ok_or(())?),
        Op::I32And => w(x & y),
        Op::I32Or => w(x | y),
        Op::I32Xor => w(x ^ y),
        Op::I32Shl => w(x << (y % 32)),
        Op::I32ShrS => w(((x as i32) >> (y % 32)) as u32),
        Op::I32ShrU => w(x >> (y % 32)),
        Op::I32Rotl => w(x.rotate_left(y % 32)),
        Op::I32Rotr => w(x.rotate_right(y % 32)),
        Op::I64Eq => t(a == b),
        Op::I64Ne => t(a != b),
        Op::I64LtS => t((a as i64) < (b as i64)),
        Op::I64LtU => t(a < b),
        Op::I64GtS => t((a as i64) > (b as i64)),
        Op::I64GtU => t(a > b),
        Op::I64LeS => t((a as i64) <= (b as i64)),
        Op::I64LeU => t(a <= b),
        Op::I64GeS => t((a as i64) >= (b as i64)),
        Op::I64GeU => t(a >= b),
        Op::I64Add => a.wrapping_add(b),
        Op::I64Sub => a.wrapping_sub(b),
        Op::I64Mul => a.wrapping_mul(b),
        Op::I64DivS => {
            if b == 0 || (a as i64 == i64::MIN && b as i64 == -1) {
                return Err(());
            }
            ((a as i64) / (b as i64)) as u64
        }
        Op::I64DivU => a.checked_div(b).ok_or(())?,
        Op::I64RemS => {
            if b == 0 {
                return Err(());
            }
            (a as i64).wrapping_rem(b as i64) as u64
        }
        Op::I64RemU => a.checked_rem(b).ok_or(())?,
        Op::I64And => a & b,
        Op::I64Or => a | b,
        Op::I64Xor => a ^ b,
        Op::I64Shl => a << (b % 64),
        Op::I64ShrS => ((a as i64) >> (b % 64)) as u64,
        Op::I64ShrU => a >> (b % 64),
        Op::I64Rotl => a.rotate_left((b % 64) as u32),
        Op::I64Rotr => a.rotate_right((b % 64) as u32),
        _ => return Err(()),
    })
}

/// The memory leaves `[ea, ea + n)` touches (one or two).
fn leaves_of(ea: u64, n: u64) -> Vec<u64> {
    let (first, last) = (ea / LEAF_SIZE, (ea + n - 1) / LEAF_SIZE);
    (first..=last).collect()
}

/// What a `call_indirect` about to execute calls (defined code or a host function), when the
/// call happens (not when it traps).
fn indirect_call(machine: &Machine, instr: Instr) -> Option<crate::lower::FuncBody> {
    let (ty, t) = crate::code::pair(instr.imm);
    let i = *machine.stack.last()? as u32 as usize;
    let e = *machine.tables.get(t as usize)?.elems.get(i)?;
    let f = machine.module.funcs.get(e.checked_sub(1)? as usize)?;
    (f.type_id == ty && machine.frames.len() < pvm_validate::ticks::MAX_CALL_DEPTH as usize).then_some(f.body)
}

/// The (destination, source) elements a `table.copy` step moves: the first ones forwards, the
/// last ones when copying to a higher index.
fn copy_indices(d: u64, s: u64, n: u64) -> (u64, u64) {
    if d <= s {
        (d, s)
    } else {
        // n ≥ 1 in any real step; saturating keeps a made-up n = 0 from underflowing.
        ((d + n).saturating_sub(1), (s + n).saturating_sub(1))
    }
}

/// A table witness, checked against the tables root.
struct TableWitness {
    size: u32,
    max: u32,
    elems_root: [u8; 32],
    path: Vec<[u8; 32]>,
}

fn read_table(r: &mut Reader<'_>, m: &ModuleFields, tables_root: &[u8; 32], t: u32) -> Result<TableWitness, ProofError> {
    let (size, max, elems_root) = (r.u32()?, r.u32()?, r.h()?);
    let path = r.path(merkle::depth(m.tables as usize))?;
    let leaf = crate::state::table_leaf_of(size, max, &elems_root);
    if t >= m.tables || merkle::root_from_path(&leaf, u64::from(t), &path) != *tables_root {
        return Err(bad("table"));
    }
    Ok(TableWitness { size, max, elems_root, path })
}

/// An element of a checked table, checked; with its path.
fn read_elem(r: &mut Reader<'_>, t: &TableWitness, i: u64) -> Result<(u64, Vec<[u8; 32]>), ProofError> {
    let e = r.u64()?;
    let path = r.path(merkle::depth(t.size as usize))?;
    if i >= u64::from(t.size) || merkle::root_from_path(&word(e), i, &path) != t.elems_root {
        return Err(bad("table element"));
    }
    Ok((e, path))
}

/// A segment's `u32 len ‖ root` at `seg` of a module list of `count`, checked.
fn read_segment(r: &mut Reader<'_>, list_root: &[u8; 32], count: u32, seg: u64) -> Result<(u32, [u8; 32]), ProofError> {
    let (len, root) = (r.u32()?, r.h()?);
    let path = r.path(merkle::depth(count as usize))?;
    let leaf = keccak256_concat(&[&len.to_be_bytes(), &root]);
    if seg >= u64::from(count) || merkle::root_from_path(&leaf, seg, &path) != *list_root {
        return Err(bad("segment"));
    }
    Ok((len, root))
}

/// Segment flag `at` of the dropped list (data segments, then element segments), checked.
fn read_dropped(r: &mut Reader<'_>, pre: &Header, at: u64) -> Result<(u64, Vec<[u8; 32]>), ProofError> {
    let count = segments(&pre.module);
    let flag = r.u64()?;
    let path = r.path(merkle::depth(count))?;
    if at >= count as u64 || merkle::root_from_path(&word(flag), at, &path) != pre.record.dropped_root {
        return Err(bad("dropped flag"));
    }
    Ok((flag, path))
}

/// Enters a defined function: its parameters (the stack values read, in order) and zeroed
/// locals make the new top frame, which returns after the calling instruction.
fn enter(rec: &mut Record, pre: &Header, params: Vec<u64>, target: CallTarget) {
    let count = usize::from(target.params) + usize::from(target.locals);
    let root = root_with_zero_tail(&params, count);
    rec.frames_hash = frame_link(&pre.record.frames_hash, pre.record.pc + 1, count as u32, &root);
    rec.frame_depth += 1;
    rec.pc = target.entry;
}

/// The tables root after table `t` (checked as `tw`) gets `elems_root` and `size`.
fn set_table(tw: &TableWitness, t: u32, size: u32, elems_root: &[u8; 32]) -> [u8; 32] {
    merkle::root_from_path(&crate::state::table_leaf_of(size, tw.max, elems_root), u64::from(t), &tw.path)
}

/// The witnesses of a proof, written from the machine paused before the step.
struct Witnesses<'a> {
    w: Writer,
    machine: &'a Machine,
    tree: &'a MemoryTree,
}

impl Witnesses<'_> {
    /// An element of a list of 32-byte leaves, and its path.
    fn listed(&mut self, value: u64, leaves: &[[u8; 32]], at: usize) {
        self.w.u64(value);
        self.w.path(&merkle::proof(leaves, at).unwrap_or_default());
    }

    /// `values[at]` and its path in `root(word(v)...)`.
    fn word_in(&mut self, values: &[u64], at: usize) {
        let leaves: Vec<[u8; 32]> = values.iter().map(|v| word(*v)).collect();
        self.listed(values[at], &leaves, at);
    }

    /// The top frame: the chain below it and its fields.
    fn frame(&mut self) {
        let m = self.machine;
        let n = m.frames.len();
        let f = m.frames[n - 1];
        let locals = &m.locals[f.locals_base as usize..];
        self.w.h(&m.frames_hash_of(n - 1));
        self.w.u32(f.return_pc);
        self.w.u32(locals.len() as u32);
        self.w.h(&crate::state::words_root(locals));
    }

    /// A table's leaf fields and its path in the tables list.
    fn table(&mut self, t: u32) {
        let tables: Vec<[u8; 32]> = self.machine.tables.iter().map(crate::state::table_leaf).collect();
        let table = &self.machine.tables[t as usize];
        self.w.u32(table.elems.len() as u32);
        self.w.u32(table.max);
        self.w.h(&crate::state::words_root(&table.elems));
        self.w.path(&merkle::proof(&tables, t as usize).unwrap_or_default());
    }

    /// Element `i` of table `t`.
    fn element(&mut self, t: u32, i: u64) {
        let machine = self.machine;
        self.word_in(&machine.tables[t as usize].elems, i as usize);
    }

    /// Segment flag `at` (data segments, then element segments).
    fn dropped(&mut self, at: usize) {
        let m = self.machine;
        let flags: Vec<u64> = m.data_dropped.iter().chain(&m.elem_dropped).map(|d| u64::from(*d)).collect();
        self.word_in(&flags, at);
    }

    /// A segment's `u32 len ‖ root` and its path in the module's list.
    fn segment(&mut self, len: usize, root: &[u8; 32], leaves: &[[u8; 32]], at: usize) {
        self.w.u32(len as u32);
        self.w.h(root);
        self.w.path(&merkle::proof(leaves, at).unwrap_or_default());
    }

    /// The memory leaves covering `[at, at + len)` with their paths, when inside the memory.
    fn memory(&mut self, at: u64, len: u64) {
        let bytes = self.machine.memory.bytes();
        if len == 0 || at + len > bytes.len() as u64 {
            return;
        }
        for leaf in leaves_of(at, len) {
            self.w.h(&crate::state::leaf_at(bytes, leaf as usize));
            self.w.path(&self.tree.path(bytes, leaf));
        }
    }
}

/// Produces the proof of the step the machine is about to execute. `machine` is paused before
/// it, `trees` are its module's, `tree` is its memory tree (brought up to date here), and the
/// header's other fields come from the run's context.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prove(
    machine: &mut Machine,
    trees: &ModuleTrees,
    tree: &mut MemoryTree,
    ctx: &RunContext,
    level: u32,
    tick: u64,
    outbox_root: [u8; 32],
    host: &mut pvm_host::HostState,
    l1: Option<&crate::hostcall::LevelOnL1>,
) -> Result<Vec<u8>, ProofError> {
    let record = machine.record(tree, ctx);
    let header = Header { level, tick, durable_root: host.durable.root_hash(), outbox_root, record, module: trees.fields };
    let mut w = Writer::default();
    w.header(&header);
    if ctx.status != STATUS_RUNNING {
        // Padding: nothing but the header.
        return Ok(w.0);
    }
    let machine = &*machine;
    let pc = machine.pc as usize;
    let instr = machine.module.code[pc];
    let indirect = if instr.op == Op::CallIndirect { indirect_call(machine, instr) } else { None };
    let indirect_host = match indirect {
        Some(crate::lower::FuncBody::Import(h)) => Some(h),
        _ => None,
    };
    w.u16(instr.op as u16);
    w.u64(instr.imm);
    w.path(&merkle::proof(&trees.code, pc).unwrap_or_default());
    let top = machine.stack.last().copied();
    let entry = if instr.op == Op::BrTable {
        let at = pc + 1 + (top.unwrap_or(0) as u32).min(instr.imm as u32) as usize;
        let e = machine.module.code[at];
        w.u16(e.op as u16);
        w.u64(e.imm);
        w.path(&merkle::proof(&trees.code, at).unwrap_or_default());
        Some(e)
    } else {
        None
    };
    let k = if instr.op == Op::CallIndirect {
        1 + match indirect {
            Some(crate::lower::FuncBody::Code(t)) => usize::from(t.params),
            Some(crate::lower::FuncBody::Import(h)) => host_params(h.pack()).unwrap_or(0),
            None => 0,
        }
    } else {
        stack_needs(instr, top, entry)
    };
    let len = machine.stack.len();
    w.u16(k as u16);
    for v in &machine.stack[len - k..] {
        w.u64(*v);
    }
    w.h(&crate::state::stack_hash(&machine.stack[..len - k]));
    let st = |i: usize| machine.stack[len - 3 + i];
    let mut x = Witnesses { w, machine, tree };
    match instr.op {
        Op::LocalGet | Op::LocalSet | Op::LocalTee => {
            x.frame();
            let f = machine.frames[machine.frames.len() - 1];
            x.word_in(&machine.locals[f.locals_base as usize..], instr.imm as usize);
        }
        Op::Return => x.frame(),
        Op::ReturnIf if top.is_some_and(|c| c as u32 != 0) => x.frame(),
        Op::BrTable if entry.is_some_and(|e| e.op == Op::Return) => x.frame(),
        Op::GlobalGet | Op::GlobalSet => x.word_in(&machine.globals, instr.imm as usize),
        Op::TableSize => x.table(instr.imm as u32),
        Op::TableGet | Op::TableSet | Op::CallIndirect => {
            let t = if instr.op == Op::CallIndirect { crate::code::pair(instr.imm).1 } else { instr.imm as u32 };
            x.table(t);
            let i = machine.stack[if instr.op == Op::TableSet { len - 2 } else { len - 1 }] as u32 as u64;
            if let Some(&e) = machine.tables[t as usize].elems.get(i as usize) {
                x.element(t, i);
                if instr.op == Op::CallIndirect && e != crate::lower::NULL_REF {
                    let f = (e - 1) as usize;
                    x.w.h(&trees.funcs[f]);
                    x.w.path(&merkle::proof(&trees.funcs, f).unwrap_or_default());
                }
            }
            if let Some(h) = indirect_host {
                let args = &machine.stack[len - k..len - 1];
                crate::hostcall::prove(&mut x.w, machine.memory.bytes(), x.tree, host, h, args, level, l1)?;
            }
        }
        Op::HostCall if machine.frames.len() < pvm_validate::ticks::MAX_CALL_DEPTH as usize => {
            let h = HostTarget::unpack(instr.imm).ok_or_else(|| ProofError::NotProvable("a call of an import the PVM does not define".into()))?;
            crate::hostcall::prove(&mut x.w, machine.memory.bytes(), x.tree, host, h, &machine.stack[len - k..], level, l1)?;
        }
        Op::TableGrow | Op::TableFill => x.table(instr.imm as u32),
        Op::TableGrowStep => {
            x.table(instr.imm as u32);
            if st(2) != u64::from(u32::MAX) {
                let size = machine.tables[instr.imm as usize].elems.len() as u64;
                x.element(instr.imm as u32, size - st(1));
            }
        }
        Op::TableFillStep => {
            x.table(instr.imm as u32);
            x.element(instr.imm as u32, st(0) as u32 as u64);
        }
        Op::TableCopy => {
            let (dt, srct) = crate::code::pair(instr.imm);
            x.table(dt);
            x.table(srct);
        }
        Op::TableCopyStep => {
            let (dt, srct) = crate::code::pair(instr.imm);
            let (di, si) = copy_indices(st(0) as u32 as u64, st(1) as u32 as u64, st(2));
            x.table(srct);
            x.element(srct, si);
            x.table(dt);
            x.element(dt, di);
        }
        Op::TableInit | Op::TableInitStep => {
            let (seg, t) = crate::code::pair(instr.imm);
            let items = &machine.module.elems[seg as usize].items;
            x.segment(items.len(), &crate::state::words_root(items), &trees.elems, seg as usize);
            if instr.op == Op::TableInit {
                x.dropped(machine.data_dropped.len() + seg as usize);
                x.table(t);
            } else {
                x.word_in(items, st(1) as u32 as usize);
                x.table(t);
                x.element(t, st(0) as u32 as u64);
            }
        }
        Op::DataDrop | Op::ElemDrop => x.dropped(drop_index(instr, machine.data_dropped.len() as u32).unwrap_or(0) as usize),
        Op::MemoryInit | Op::MemoryInitStep => {
            let seg = instr.imm as usize;
            let chunks = crate::state::data_chunks(&machine.module.datas[seg].bytes);
            x.segment(machine.module.datas[seg].bytes.len(), &merkle::root(&chunks), &trees.datas, seg);
            if instr.op == Op::MemoryInit {
                x.dropped(seg);
            } else {
                let (d, src, c) = (st(0) as u32 as u64, st(1) as u32 as u64, st(2).min(LEAF_SIZE));
                for leaf in leaves_of(src, c) {
                    x.w.h(&chunks[leaf as usize]);
                    x.w.path(&merkle::proof(&chunks, leaf as usize).unwrap_or_default());
                }
                x.memory(d, c);
            }
        }
        Op::MemoryFillStep | Op::MemoryCopyStep => {
            for (at, chunk) in bulk_windows(instr.op, st(0) as u32 as u64, st(1) as u32 as u64, st(2) as u32 as u64) {
                x.memory(at, chunk);
            }
        }
        op if is_load(op) || is_store(op) => x.memory((machine.stack[len - k] as u32 as u64) + instr.imm, access_size(op)),
        _ => {}
    }
    Ok(x.w.0)
}

/// Executes one tick from its proof alone: checks that the proof's pre-state hashes to
/// `pre_state_hash`, applies the step and returns the post-state hash.
pub fn verify_step(pre_state_hash: &[u8; 32], proof: &[u8], ctx: &StepContext<'_>) -> Result<[u8; 32], ProofError> {
    let mut r = Reader { b: proof, at: 0 };
    let pre = r.header()?;
    if pre.state_hash() != *pre_state_hash {
        return Err(ProofError::PreState);
    }
    let mut post = pre;
    post.tick = pre.tick.checked_add(1).ok_or(bad("tick counter"))?;
    match pre.record.status {
        0 | crate::state::STATUS_NEXT_RUN => {
            if pre.record.run_tick != 0 {
                return Err(bad("run tick between runs"));
            }
            let post = crate::driver::verify_start(&mut r, &pre, post, ctx)?;
            return finish(&r, post);
        }
        STATUS_RUNNING | STATUS_RETURNED | STATUS_FAILED => {}
        _ => return Err(bad("status")),
    }
    if pre.record.run_tick == 0 || pre.record.run_tick >= ctx.tick_budget {
        return Err(bad("run tick"));
    }
    if pre.record.run_tick + 1 == ctx.tick_budget {
        let post = crate::driver::verify_end(&mut r, &pre, post, ctx)?;
        return finish(&r, post);
    }
    post.record.run_tick = pre.record.run_tick + 1;
    if pre.record.status != STATUS_RUNNING {
        return finish(&r, post);
    }
    let outcome = step(&mut r, &pre, post.record, &mut post.durable_root, ctx)?;
    post.record = match outcome {
        Outcome::Running(rec) => rec,
        Outcome::Returned(rec) => rec.without_instance(STATUS_RETURNED),
        Outcome::Trapped(rec) => rec.without_instance(STATUS_FAILED),
    };
    finish(&r, post)
}

/// How a step leaves the machine.
enum Outcome {
    Running(Record),
    Returned(Record),
    Trapped(Record),
}

/// The frame witness: the chain below the top frame and the top frame's fields.
struct FrameWitness {
    prev: [u8; 32],
    return_pc: u32,
    locals: u32,
    locals_root: [u8; 32],
}

fn read_frame(r: &mut Reader<'_>, frames_hash: &[u8; 32]) -> Result<FrameWitness, ProofError> {
    let f = FrameWitness { prev: r.h()?, return_pc: r.u32()?, locals: r.u32()?, locals_root: r.h()? };
    if frame_link(&f.prev, f.return_pc, f.locals, &f.locals_root) != *frames_hash {
        return Err(bad("frame"));
    }
    Ok(f)
}

fn read_instr(r: &mut Reader<'_>, m: &ModuleFields) -> Result<(Instr, Vec<[u8; 32]>), ProofError> {
    let op = op_from(r.u16()?).ok_or(bad("opcode"))?;
    let instr = Instr::new(op, r.u64()?);
    let path = r.path(merkle::depth(m.code_len as usize))?;
    Ok((instr, path))
}

fn check_code(m: &ModuleFields, instr: &Instr, at: u32, path: &[[u8; 32]]) -> Result<(), ProofError> {
    if at >= m.code_len || merkle::root_from_path(&instr.leaf(), u64::from(at), path) != m.code_root {
        return Err(bad("code leaf"));
    }
    Ok(())
}

/// Keeps the top `keep` values and drops `drop` below them.
fn adjust(stack: &mut Vec<u64>, imm: u64) {
    let b = Branch::unpack(imm);
    let kept = stack.split_off(stack.len() - usize::from(b.keep));
    stack.truncate(stack.len() - usize::from(b.drop));
    stack.extend(kept);
}

/// One running step: `rec` is the post-record so far (counters advanced).
fn step(r: &mut Reader<'_>, pre: &Header, mut rec: Record, durable: &mut [u8; 32], ctx: &StepContext<'_>) -> Result<Outcome, ProofError> {
    let m = &pre.module;
    let (instr, path) = read_instr(r, m)?;
    check_code(m, &instr, pre.record.pc, &path)?;
    // `br_table`'s entry comes next; which entry is checked once the index is known.
    let entry = if instr.op == Op::BrTable { Some(read_instr(r, m)?) } else { None };
    let k = r.u16()? as usize;
    if k as u32 > pre.record.stack_height {
        return Err(bad("stack depth"));
    }
    let mut stack: Vec<u64> = (0..k).map(|_| r.u64()).collect::<Result<_, _>>()?;
    let rest = r.h()?;
    if push_all(rest, &stack) != pre.record.stack_hash {
        return Err(bad("stack"));
    }
    let top = stack.last().copied();
    let entry = match entry {
        Some((e, path)) => {
            let i = (top.ok_or(bad("br_table index"))? as u32).min(instr.imm as u32);
            let at = pre.record.pc.checked_add(1).and_then(|a| a.checked_add(i)).ok_or(bad("br_table entry"))?;
            check_code(m, &e, at, &path)?;
            Some(e)
        }
        None => None,
    };
    if instr.op != Op::CallIndirect && k != stack_needs(instr, top, entry) {
        return Err(bad("stack values"));
    }
    let below = pre.record.stack_height - k as u32;
    rec.pc = pre.record.pc + 1;
    // Pops the top frame; whether it was the outermost.
    let do_return = |r: &mut Reader<'_>, rec: &mut Record, stack: &mut Vec<u64>, imm: u64| -> Result<bool, ProofError> {
        let f = read_frame(r, &pre.record.frames_hash)?;
        adjust(stack, imm);
        rec.frames_hash = f.prev;
        rec.frame_depth = pre.record.frame_depth.checked_sub(1).ok_or(bad("frame depth"))?;
        rec.pc = f.return_pc;
        Ok(rec.frame_depth == 0)
    };
    match instr.op {
        Op::Unreachable => return Ok(Outcome::Trapped(rec)),
        Op::Jump => rec.pc = instr.imm as u32,
        Op::Br => {
            adjust(&mut stack, instr.imm);
            rec.pc = Branch::unpack(instr.imm).target;
        }
        Op::BrIf => {
            if stack.pop().unwrap_or(0) as u32 != 0 {
                adjust(&mut stack, instr.imm);
                rec.pc = Branch::unpack(instr.imm).target;
            }
        }
        Op::BrIfZero => {
            if stack.pop().unwrap_or(0) as u32 == 0 {
                rec.pc = instr.imm as u32;
            }
        }
        Op::BrTable => {
            stack.pop();
            let e = entry.ok_or(bad("br_table entry"))?;
            match e.op {
                Op::Br => {
                    adjust(&mut stack, e.imm);
                    rec.pc = Branch::unpack(e.imm).target;
                }
                Op::Return => {
                    if do_return(r, &mut rec, &mut stack, e.imm)? {
                        return Ok(Outcome::Returned(rec));
                    }
                }
                _ => return Err(bad("br_table entry")),
            }
        }
        Op::Return | Op::ReturnIf => {
            let taken = instr.op == Op::Return || stack.pop().is_some_and(|c| c as u32 != 0);
            if taken && do_return(r, &mut rec, &mut stack, instr.imm)? {
                return Ok(Outcome::Returned(rec));
            }
        }
        Op::Call => {
            if pre.record.frame_depth >= pvm_validate::ticks::MAX_CALL_DEPTH {
                return Ok(Outcome::Trapped(rec));
            }
            enter(&mut rec, pre, std::mem::take(&mut stack), CallTarget::unpack(instr.imm));
        }
        Op::Drop => {
            stack.pop();
        }
        Op::Select => {
            let c = stack.pop().unwrap_or(0);
            let b = stack.pop().unwrap_or(0);
            if c as u32 == 0 {
                stack[0] = b;
            }
        }
        Op::LocalGet | Op::LocalSet | Op::LocalTee => {
            let f = read_frame(r, &pre.record.frames_hash)?;
            let value = r.u64()?;
            let path = r.path(merkle::depth(f.locals as usize))?;
            if instr.imm >= u64::from(f.locals) || merkle::root_from_path(&word(value), instr.imm, &path) != f.locals_root {
                return Err(bad("local"));
            }
            let new = match instr.op {
                Op::LocalGet => {
                    stack.push(value);
                    value
                }
                Op::LocalSet => stack.pop().unwrap_or(0),
                _ => stack[0],
            };
            let root = merkle::root_from_path(&word(new), instr.imm, &path);
            rec.frames_hash = frame_link(&f.prev, f.return_pc, f.locals, &root);
        }
        Op::GlobalGet | Op::GlobalSet => {
            let value = r.u64()?;
            let path = r.path(merkle::depth(m.globals as usize))?;
            if instr.imm >= u64::from(m.globals) || merkle::root_from_path(&word(value), instr.imm, &path) != pre.record.globals_root {
                return Err(bad("global"));
            }
            if instr.op == Op::GlobalGet {
                stack.push(value);
            } else {
                let v = stack.pop().unwrap_or(0);
                rec.globals_root = merkle::root_from_path(&word(v), instr.imm, &path);
            }
        }
        Op::I32Const | Op::I64Const | Op::RefFunc => stack.push(instr.imm),
        Op::RefNull => stack.push(crate::lower::NULL_REF),
        Op::RefIsNull => stack[0] = u64::from(stack[0] == crate::lower::NULL_REF),
        Op::MemorySize => stack.push(u64::from(pre.record.memory_pages)),
        Op::MemoryGrow => {
            // New pages are zero leaves of the fixed-depth tree: the root does not change.
            let delta = stack[0] as u32;
            let old = pre.record.memory_pages;
            stack[0] = match old.checked_add(delta) {
                Some(new) if new <= pre.record.memory_max_pages => {
                    rec.memory_pages = new;
                    u64::from(old)
                }
                _ => u64::from(u32::MAX),
            };
        }
        Op::TableGet | Op::TableSet | Op::TableSize | Op::CallIndirect => {
            if instr.op == Op::CallIndirect && k == 0 {
                return Err(bad("stack values"));
            }
            let t = if instr.op == Op::CallIndirect { crate::code::pair(instr.imm).1 } else { instr.imm as u32 };
            let (size, max, elems_root) = (r.u32()?, r.u32()?, r.h()?);
            let tpath = r.path(merkle::depth(m.tables as usize))?;
            let leaf = crate::state::table_leaf_of(size, max, &elems_root);
            if t >= m.tables || merkle::root_from_path(&leaf, u64::from(t), &tpath) != pre.record.tables_root {
                return Err(bad("table"));
            }
            if instr.op == Op::TableSize {
                stack.push(u64::from(size));
            } else {
                let at = if instr.op == Op::TableSet { 0 } else { stack.len() - 1 };
                let i = stack[at] as u32;
                if i >= size {
                    return if instr.op == Op::CallIndirect && k != 1 { Err(bad("stack values")) } else { Ok(Outcome::Trapped(rec)) };
                }
                let e = r.u64()?;
                let epath = r.path(merkle::depth(size as usize))?;
                if merkle::root_from_path(&word(e), u64::from(i), &epath) != elems_root {
                    return Err(bad("table element"));
                }
                match instr.op {
                    Op::TableGet => stack[0] = e,
                    Op::TableSet => {
                        let v = stack[1];
                        stack.clear();
                        let elems_root = merkle::root_from_path(&word(v), u64::from(i), &epath);
                        let leaf = crate::state::table_leaf_of(size, max, &elems_root);
                        rec.tables_root = merkle::root_from_path(&leaf, u64::from(t), &tpath);
                    }
                    _ => {
                        // call_indirect: a null element, another type or 300 frames trap.
                        let trap = |rec: Record| if k == 1 { Ok(Outcome::Trapped(rec)) } else { Err(bad("stack values")) };
                        if e == crate::lower::NULL_REF {
                            return trap(rec);
                        }
                        let f = e - 1;
                        let fleaf = r.h()?;
                        let fpath = r.path(merkle::depth(m.funcs as usize))?;
                        if f >= u64::from(m.funcs) || merkle::root_from_path(&fleaf, f, &fpath) != m.funcs_root {
                            return Err(bad("function"));
                        }
                        let ty = u32::from_be_bytes(fleaf[9..13].try_into().unwrap_or_default());
                        if ty != crate::code::pair(instr.imm).0 || pre.record.frame_depth >= pvm_validate::ticks::MAX_CALL_DEPTH {
                            return trap(rec);
                        }
                        let callee = u64::from_be_bytes(fleaf[1..9].try_into().unwrap_or_default());
                        if fleaf[0] != 0 {
                            let h = HostTarget::unpack(callee).ok_or(bad("host function"))?;
                            if k != 1 + host_params(callee).unwrap_or(0) {
                                return Err(bad("stack values"));
                            }
                            stack.pop();
                            let result = crate::hostcall::verify(r, pre, &mut rec, durable, h, &stack, ctx)?;
                            stack.clear();
                            stack.extend(result);
                        } else {
                            let target = CallTarget::unpack(callee);
                            if k != 1 + usize::from(target.params) {
                                return Err(bad("stack values"));
                            }
                            stack.pop();
                            enter(&mut rec, pre, std::mem::take(&mut stack), target);
                        }
                    }
                }
            }
        }
        Op::TableGrow => {
            let t = instr.imm as u32;
            let tw = read_table(r, m, &pre.record.tables_root, t)?;
            let n = stack[1] as u32;
            let result = match tw.size.checked_add(n) {
                Some(new) if new <= tw.max => {
                    // New elements are null, zero leaves: the root only deepens.
                    let mut root = tw.elems_root;
                    for h in merkle::depth(tw.size as usize)..merkle::depth(new as usize) {
                        root = merkle::node(&root, &zeros()[h]);
                    }
                    if tw.size == 0 {
                        root = if new == 0 { [0; 32] } else { zeros()[merkle::depth(new as usize)] };
                    }
                    rec.tables_root = set_table(&tw, t, new, &root);
                    u64::from(tw.size)
                }
                _ => u64::from(u32::MAX),
            };
            stack.push(result);
            if n == 0 {
                stack.clear();
                stack.push(result);
                rec.pc = skip_step(rec.pc)?;
            }
        }
        Op::TableGrowStep => {
            let t = instr.imm as u32;
            let tw = read_table(r, m, &pre.record.tables_root, t)?;
            let (v, n, result) = (stack[0], stack[1] as u32 as u64, stack[2]);
            if result != u64::from(u32::MAX) {
                let at = u64::from(tw.size).checked_sub(n).ok_or(bad("table grow step"))?;
                let (_, path) = read_elem(r, &tw, at)?;
                let root = merkle::root_from_path(&word(v), at, &path);
                rec.tables_root = set_table(&tw, t, tw.size, &root);
            }
            if n <= 1 {
                stack.clear();
                stack.push(result);
            } else {
                stack[1] = n - 1;
                rec.pc = pre.record.pc;
            }
        }
        Op::TableFill | Op::TableCopy | Op::TableInit => {
            let (d, src, n) = (stack[0] as u32 as u64, stack[1] as u32 as u64, stack[2] as u32 as u64);
            let in_bounds = match instr.op {
                Op::TableFill => {
                    let tw = read_table(r, m, &pre.record.tables_root, instr.imm as u32)?;
                    d + n <= u64::from(tw.size)
                }
                Op::TableCopy => {
                    let (dt, srct) = crate::code::pair(instr.imm);
                    let dw = read_table(r, m, &pre.record.tables_root, dt)?;
                    let sw = read_table(r, m, &pre.record.tables_root, srct)?;
                    d + n <= u64::from(dw.size) && src + n <= u64::from(sw.size)
                }
                _ => {
                    let (seg, t) = crate::code::pair(instr.imm);
                    let (len, _) = read_segment(r, &m.elems_root, m.elems, u64::from(seg))?;
                    let (flag, _) = read_dropped(r, pre, u64::from(m.datas) + u64::from(seg))?;
                    let tw = read_table(r, m, &pre.record.tables_root, t)?;
                    let available = if flag != 0 { 0 } else { u64::from(len) };
                    src + n <= available && d + n <= u64::from(tw.size)
                }
            };
            if !in_bounds {
                return Ok(Outcome::Trapped(rec));
            }
            if n == 0 {
                stack.clear();
                rec.pc = skip_step(rec.pc)?;
            }
        }
        Op::TableFillStep | Op::TableCopyStep | Op::TableInitStep => {
            let (d, src, n) = (stack[0] as u32 as u64, stack[1], stack[2] as u32 as u64);
            let (t, value, di) = match instr.op {
                Op::TableFillStep => (instr.imm as u32, src, d),
                Op::TableCopyStep => {
                    let (dt, srct) = crate::code::pair(instr.imm);
                    let (di, si) = copy_indices(d, src as u32 as u64, n);
                    let sw = read_table(r, m, &pre.record.tables_root, srct)?;
                    let (v, _) = read_elem(r, &sw, si)?;
                    (dt, v, di)
                }
                _ => {
                    let (seg, t) = crate::code::pair(instr.imm);
                    let (len, items_root) = read_segment(r, &m.elems_root, m.elems, u64::from(seg))?;
                    let item = r.u64()?;
                    let si = src as u32 as u64;
                    let path = r.path(merkle::depth(len as usize))?;
                    if si >= u64::from(len) || merkle::root_from_path(&word(item), si, &path) != items_root {
                        return Err(bad("element segment item"));
                    }
                    (t, item, d)
                }
            };
            let tw = read_table(r, m, &pre.record.tables_root, t)?;
            let (_, path) = read_elem(r, &tw, di)?;
            let root = merkle::root_from_path(&word(value), di, &path);
            rec.tables_root = set_table(&tw, t, tw.size, &root);
            let forward = instr.op != Op::TableCopyStep || d <= src as u32 as u64;
            if forward {
                stack[0] = d + 1;
                if instr.op != Op::TableFillStep {
                    stack[1] = (src as u32 as u64) + 1;
                }
            }
            if n <= 1 {
                stack.clear();
            } else {
                stack[2] = n - 1;
                rec.pc = pre.record.pc;
            }
        }
        Op::DataDrop | Op::ElemDrop => {
            let at = drop_index(instr, m.datas).ok_or(bad("segment"))?;
            let (_, path) = read_dropped(r, pre, at)?;
            rec.dropped_root = merkle::root_from_path(&word(1), at, &path);
        }
        Op::MemoryInit | Op::MemoryInitStep => {
            let seg = instr.imm;
            let (seg_len, chunks_root) = read_segment(r, &m.data_root, m.datas, seg)?;
            let size = u64::from(pre.record.memory_pages) * PAGE_SIZE;
            let (d, src, n) = (stack[0] as u32 as u64, stack[1] as u32 as u64, stack[2] as u32 as u64);
            if instr.op == Op::MemoryInit {
                let (flag, _) = read_dropped(r, pre, seg)?;
                let available = if flag != 0 { 0 } else { u64::from(seg_len) };
                if src + n > available || d + n > size {
                    return Ok(Outcome::Trapped(rec));
                }
                if n == 0 {
                    stack.clear();
                    rec.pc = skip_step(rec.pc)?;
                }
            } else {
                let c = n.min(LEAF_SIZE);
                if c == 0 || src + c > u64::from(seg_len) || d + c > size {
                    return Ok(Outcome::Trapped(rec));
                }
                let depth = merkle::depth((seg_len as usize).div_ceil(LEAF_SIZE as usize));
                let sources = leaves_of(src, c);
                let mut from = Vec::with_capacity(64);
                for &i in &sources {
                    let chunk = r.h()?;
                    let path = r.path(depth)?;
                    if merkle::root_from_path(&chunk, i, &path) != chunks_root {
                        return Err(bad("data chunk"));
                    }
                    from.extend_from_slice(&chunk);
                }
                let so = (src - sources[0] * LEAF_SIZE) as usize;
                let (indices, mut bytes, paths) = read_window(r, &pre.record.memory_root, d, c)?;
                let off = (d - indices[0] * LEAF_SIZE) as usize;
                bytes[off..off + c as usize].copy_from_slice(&from[so..so + c as usize]);
                rec.memory_root = write_window(&indices, &paths, &bytes);
                stack[0] = d + c;
                stack[1] = src + c;
                stack[2] = n - c;
                if stack[2] == 0 {
                    stack.clear();
                } else {
                    rec.pc = pre.record.pc;
                }
            }
        }
        Op::MemoryFill | Op::MemoryCopy => {
            // The check: bounds (trap before any write), and a count of 0 completes at once.
            let size = u64::from(pre.record.memory_pages) * PAGE_SIZE;
            let (d, src, n) = (stack[0] as u32 as u64, stack[1] as u32 as u64, stack[2] as u32 as u64);
            if d + n > size || (instr.op == Op::MemoryCopy && src + n > size) {
                return Ok(Outcome::Trapped(rec));
            }
            if n == 0 {
                stack.clear();
                rec.pc = skip_step(rec.pc)?;
            }
        }
        Op::MemoryFillStep | Op::MemoryCopyStep => {
            let (d, src, n) = (stack[0] as u32 as u64, stack[1] as u32 as u64, stack[2] as u32 as u64);
            let size = u64::from(pre.record.memory_pages) * PAGE_SIZE;
            let windows = bulk_windows(instr.op, d, src, n);
            let mut read = Vec::new();
            for (at, chunk) in &windows {
                if *chunk == 0 {
                    continue;
                }
                if at + chunk > size {
                    return Ok(Outcome::Trapped(rec));
                }
                let (indices, bytes, paths) = read_window(r, &pre.record.memory_root, *at, *chunk)?;
                read.push((indices, bytes, paths));
            }
            let chunk = n.min(LEAF_SIZE);
            if chunk > 0 {
                let (dst_at, _) = windows[windows.len() - 1];
                let (indices, mut bytes, paths) = read.pop().ok_or(bad("bulk window"))?;
                let off = (dst_at - indices[0] * LEAF_SIZE) as usize;
                let new: Vec<u8> = match instr.op {
                    Op::MemoryFillStep => vec![src as u8; chunk as usize],
                    _ => {
                        let (si, sb, _) = read.pop().ok_or(bad("bulk window"))?;
                        let (src_at, _) = windows[0];
                        let so = (src_at - si[0] * LEAF_SIZE) as usize;
                        sb[so..so + chunk as usize].to_vec()
                    }
                };
                bytes[off..off + chunk as usize].copy_from_slice(&new);
                rec.memory_root = write_window(&indices, &paths, &bytes);
            }
            let forward = instr.op == Op::MemoryFillStep || d <= src;
            if forward {
                stack[0] = d + chunk;
                if instr.op == Op::MemoryCopyStep {
                    stack[1] = src + chunk;
                }
            }
            stack[2] = n - chunk;
            if stack[2] == 0 {
                stack.clear();
            } else {
                rec.pc = pre.record.pc;
            }
        }
        op if is_load(op) || is_store(op) => {
            if !memory_access(r, pre, &mut rec, &mut stack, instr)? {
                return Ok(Outcome::Trapped(rec));
            }
        }
        op if is_numeric(op) => {
            let result = if is_unary(op) { numeric(op, stack[0], 0) } else { numeric(op, stack[0], stack[1]) };
            match result {
                Ok(v) => {
                    stack.truncate(1);
                    stack[0] = v;
                }
                Err(()) => return Ok(Outcome::Trapped(rec)),
            }
        }
        Op::HostCall => {
            let h = HostTarget::unpack(instr.imm).ok_or(bad("host function"))?;
            if pre.record.frame_depth >= pvm_validate::ticks::MAX_CALL_DEPTH {
                return Ok(Outcome::Trapped(rec));
            }
            let result = crate::hostcall::verify(r, pre, &mut rec, durable, h, &stack, ctx)?;
            stack.clear();
            stack.extend(result);
        }
        other => return Err(ProofError::NotProvable(format!("{other:?}"))),
    }
    rec.stack_height = below.checked_add(stack.len() as u32).ok_or(bad("stack height"))?;
    rec.stack_hash = push_all(rest, &stack);
    Ok(Outcome::Running(rec))
}

/// The index of a segment's flag in the dropped list: data segments, then element segments.
fn drop_index(instr: Instr, datas: u32) -> Option<u64> {
    if instr.op == Op::DataDrop {
        Some(instr.imm)
    } else {
        u64::from(datas).checked_add(instr.imm)
    }
}

/// Data plus element segments: the length of the dropped list.
fn segments(m: &ModuleFields) -> usize {
    m.datas as usize + m.elems as usize
}

/// The memory windows a bulk step touches, as `(address, bytes)`: the source (copies) then the
/// destination. A step moves `min(n, 32)` bytes: forwards from the start, or for a copy to a
/// higher address, backwards from the end.
fn bulk_windows(op: Op, d: u64, src: u64, n: u64) -> Vec<(u64, u64)> {
    let chunk = n.min(LEAF_SIZE);
    match op {
        Op::MemoryFillStep => vec![(d, chunk)],
        _ if d <= src => vec![(src, chunk), (d, chunk)],
        _ => {
            let off = n - chunk;
            vec![(src + off, chunk), (d + off, chunk)]
        }
    }
}

/// Reads the leaves covering `[at, at + len)` (1 ≤ len ≤ 32) with their paths, checked against
/// `root`.
fn read_window(r: &mut Reader<'_>, root: &[u8; 32], at: u64, len: u64) -> Result<(Vec<u64>, Vec<u8>, Vec<Vec<[u8; 32]>>), ProofError> {
    let indices = leaves_of(at, len);
    let mut bytes = Vec::with_capacity(64);
    let mut paths = Vec::new();
    for &i in &indices {
        let leaf = r.h()?;
        let path = r.path(MEMORY_DEPTH)?;
        if merkle::root_from_path(&leaf, i, &path) != *root {
            return Err(bad("memory leaf"));
        }
        bytes.extend_from_slice(&leaf);
        paths.push(path);
    }
    Ok((indices, bytes, paths))
}

/// The memory root after the one or two adjacent leaves `indices` (whose paths were checked
/// against the old root) become `bytes`: the first leaf's path, then the second's with the
/// sibling where the two paths meet replaced by the first leaf's updated ancestor.
fn write_window(indices: &[u64], paths: &[Vec<[u8; 32]>], bytes: &[u8]) -> [u8; 32] {
    let mut node: [u8; 32] = bytes[..32].try_into().unwrap_or([0; 32]);
    let mut ancestors = vec![node];
    for (h, sib) in paths[0].iter().enumerate() {
        node = if (indices[0] >> h) & 1 == 0 { merkle::node(&node, sib) } else { merkle::node(sib, &node) };
        ancestors.push(node);
    }
    if let [a, b] = indices[..] {
        let mut path = paths[1].clone();
        let meet = (0..MEMORY_DEPTH).find(|h| (a >> (h + 1)) == (b >> (h + 1))).unwrap_or(0);
        path[meet] = ancestors[meet];
        let leaf: [u8; 32] = bytes[32..64].try_into().unwrap_or([0; 32]);
        return merkle::root_from_path(&leaf, b, &path);
    }
    node
}

/// The instruction after a bulk instruction's step: a check with nothing to do skips it.
fn skip_step(next: u32) -> Result<u32, ProofError> {
    next.checked_add(1).ok_or(bad("program counter"))
}

/// A load or store: `false` if it traps (out of bounds).
fn memory_access(r: &mut Reader<'_>, pre: &Header, rec: &mut Record, stack: &mut Vec<u64>, instr: Instr) -> Result<bool, ProofError> {
    let op = instr.op;
    let n = access_size(op);
    // Offsets of honest code are 32-bit; a made-up one past 64 bits is out of bounds too.
    let end = (stack[0] as u32 as u64).checked_add(instr.imm).and_then(|ea| ea.checked_add(n));
    let Some(ea) = end.filter(|e| *e <= u64::from(pre.record.memory_pages) * PAGE_SIZE).map(|e| e - n) else {
        return Ok(false);
    };
    let (indices, mut bytes, paths) = read_window(r, &pre.record.memory_root, ea, n)?;
    let off = (ea - indices[0] * LEAF_SIZE) as usize;
    let len = n as usize;
    if is_load(op) {
        let mut b = [0u8; 8];
        b[..len].copy_from_slice(&bytes[off..off + len]);
        let raw = u64::from_le_bytes(b);
        stack[0] = match op {
            Op::I32Load8S => u64::from(raw as i8 as i32 as u32),
            Op::I32Load16S => u64::from(raw as i16 as i32 as u32),
            Op::I64Load8S => raw as i8 as i64 as u64,
            Op::I64Load16S => raw as i16 as i64 as u64,
            Op::I64Load32S => raw as i32 as i64 as u64,
            _ => raw,
        };
        return Ok(true);
    }
    let v = stack.pop().unwrap_or(0);
    stack.pop();
    bytes[off..off + len].copy_from_slice(&v.to_le_bytes()[..len]);
    rec.memory_root = write_window(&indices, &paths, &bytes);
    Ok(true)
}

pub(crate) fn finish(r: &Reader<'_>, post: Header) -> Result<[u8; 32], ProofError> {
    if r.at != r.b.len() {
        return Err(ProofError::Trailing(r.b.len() - r.at));
    }
    Ok(post.state_hash())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_has_its_documented_size() {
        let running = Record { status: STATUS_RUNNING, run_tick: 5, pc: 6, reboots: 7, outbox_root: [8; 32], ..Record::default() };
        let between = Record { status: crate::state::STATUS_NEXT_RUN, run_tick: 0, ..running.without_instance(0) };
        let module = ModuleFields { code_len: 9, instance_root: [10; 32], ..ModuleFields::default() };
        for (record, module, size) in [
            (Record::default(), ModuleFields::default(), HEADER_BASE + 1),
            (between, ModuleFields::default(), HEADER_BASE + RECORD_SIZE),
            (running, module, HEADER_SIZE),
        ] {
            let h = Header { level: 1, tick: 2, durable_root: [3; 32], outbox_root: [4; 32], record, module };
            let mut w = Writer::default();
            w.header(&h);
            assert_eq!(w.0.len(), size, "status {}", record.status);
            let back = Reader { b: &w.0, at: 0 }.header().unwrap();
            assert_eq!(back, h);
        }
    }

    #[test]
    fn roots_with_a_zero_tail_equal_the_merkle_rule() {
        for count in 0..40usize {
            for p in 0..=count.min(9) {
                let params: Vec<u64> = (1..=p as u64).collect();
                let mut all = params.clone();
                all.resize(count, 0);
                assert_eq!(root_with_zero_tail(&params, count), crate::state::words_root(&all), "{p} of {count}");
            }
        }
    }

    /// A deterministic stream (xorshift).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    /// Proofs about states nobody honest reaches (a pre-state is just a hash the caller
    /// supplies, so anyone can make one up): every instruction, with extreme program counters,
    /// stack heights, immediates and operands, any stack witness size and any tail. The
    /// verifier answers each with a post-state or an error; it never panics (overflow checks
    /// are on in tests, as in the debug builds nodes run). `PVM_FUZZ_ROUNDS=N` runs N rounds
    /// instead of CI's 20,000.
    #[test]
    fn made_up_states_and_proofs_never_panic() {
        let rounds: usize = std::env::var("PVM_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let extremes = [0u64, 1, 2, 31, 32, 33, 0xffff, 0x7fff_ffff, 0xffff_ffff, 0x1_0000_0000, u64::MAX - 1, u64::MAX];
        let imms = [0u64, 1, 3, u64::from(u32::MAX), u64::MAX, Branch { target: u32::MAX, keep: 3, drop: 2 }.pack(), Branch { target: 0, keep: u16::MAX, drop: u16::MAX }.pack()];
        let ctx = StepContext::without_l1(u64::MAX, protocol::RollupMetadata { address: Default::default(), origination_level: 0 });
        let mut answered = 0;
        for round in 0..rounds {
            let op = crate::code::ALL_OPS[round % crate::code::ALL_OPS.len()];
            let instr = Instr::new(op, rng.pick(&imms));
            // The code: one leaf at `pc` in a list of `code_len`, the other leaves anything.
            let code_len = rng.pick(&[1u32, 2, 7, 1 << 20, u32::MAX]);
            let pc = rng.pick(&[0, code_len - 1, code_len.saturating_sub(2), code_len / 2]);
            let code_path: Vec<[u8; 32]> = (0..merkle::depth(code_len as usize)).map(|i| [i as u8; 32]).collect();
            let code_root = merkle::root_from_path(&instr.leaf(), u64::from(pc), &code_path);
            let k = rng.pick(&[0usize, 1, 2, 3, 4, 7]);
            let values: Vec<u64> = (0..k).map(|_| rng.pick(&extremes)).collect();
            let rest = [rng.next() as u8; 32];
            let record = Record {
                status: STATUS_RUNNING,
                run_tick: rng.pick(&[0, 5, u64::MAX - 2]),
                pc,
                stack_height: rng.pick(&[k as u32, k as u32 + 1, u32::MAX]),
                stack_hash: push_all(rest, &values),
                frame_depth: rng.pick(&[0, 1, 299, 300, u32::MAX]),
                memory_pages: rng.pick(&[0, 1, 4096, u32::MAX]),
                memory_max_pages: rng.pick(&[0, 4096, u32::MAX]),
                ..Record::default()
            };
            let module = ModuleFields {
                code_root,
                code_len,
                funcs: rng.pick(&[0, 1, u32::MAX]),
                globals: rng.pick(&[0, 1, u32::MAX]),
                tables: rng.pick(&[0, 1, u32::MAX]),
                datas: rng.pick(&[0, 1, u32::MAX]),
                elems: rng.pick(&[0, 1, u32::MAX]),
                ..ModuleFields::default()
            };
            let header = Header { level: 1, tick: rng.pick(&[0, u64::MAX - 1]), durable_root: [1; 32], outbox_root: [2; 32], record, module };
            let mut w = Writer::default();
            w.header(&header);
            w.u16(instr.op as u16);
            w.u64(instr.imm);
            w.path(&code_path);
            if op == Op::BrTable && rng.next() % 2 == 0 {
                // A made-up entry at some index, its path anything.
                w.u16(rng.pick(&[Op::Br, Op::Return]) as u16);
                w.u64(rng.pick(&imms));
                w.path(&code_path);
            }
            w.u16(k as u16);
            for v in &values {
                w.u64(*v);
            }
            w.h(&rest);
            let tail: Vec<u8> = (0..rng.next() % 1200).map(|_| rng.next() as u8).collect();
            w.0.extend_from_slice(&tail);
            let _ = verify_step(&header.state_hash(), &w.0, &ctx);
            answered += 1;
        }
        assert_eq!(answered, rounds);
    }

    #[test]
    fn every_opcode_decodes() {
        for op in crate::code::ALL_OPS {
            assert_eq!(op_from(*op as u16), Some(*op));
        }
        assert_eq!(op_from(0xffff), None);
    }
}
