//! The machine: a lowered module's instance, executed one tick at a time.
//!
//! Every step executes one code leaf and costs one tick; bulk instructions repeat their step
//! instruction once per 32-byte memory leaf or table element, keeping their progress in their
//! operands on the stack. When nobody asks for a state in between, a bulk run is done at once
//! and charged the same ticks, and nothing is hashed: the state is hashed only where a caller
//! pauses the machine ([`crate::state`]).

use std::sync::Arc;

use pvm_host::{GuestMemory, OutOfBounds};
use pvm_validate::ticks::MAX_CALL_DEPTH;
use pvm_validate::LIMITS;

use crate::code::{pair, Branch, CallTarget, Op};
use crate::lower::{FuncBody, Module, SegmentMode, NULL_REF};

/// Bytes in a wasm page.
pub const PAGE_SIZE: u64 = 65536;
/// Bytes per memory leaf (and per tick of a bulk memory instruction).
pub const LEAF_SIZE: u64 = 32;
/// The return address of the outermost frame: returning there ends the run.
pub const RETURN_TO_HOST: u32 = u32::MAX;

/// Why a run failed. The PVM treats all alike (docs/pvm.md section 4.3); the machine tells them
/// apart for logs and for the spec tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Trap {
    /// `unreachable`.
    #[error("unreachable")]
    Unreachable,
    /// A load, store or bulk memory access outside the memory.
    #[error("out of bounds memory access")]
    MemoryOutOfBounds,
    /// A table access outside the table.
    #[error("out of bounds table access")]
    TableOutOfBounds,
    /// `call_indirect` past the table's end.
    #[error("undefined element")]
    UndefinedElement,
    /// `call_indirect` of a null element.
    #[error("uninitialized element")]
    UninitializedElement,
    /// `call_indirect` of a function of another type.
    #[error("indirect call type mismatch")]
    IndirectCallType,
    /// Division or remainder by zero.
    #[error("integer divide by zero")]
    DivideByZero,
    /// Signed division overflow.
    #[error("integer overflow")]
    IntegerOverflow,
    /// A call would make more than 300 frames.
    #[error("call stack exhausted")]
    CallStackExhausted,
    /// The tick budget ran out.
    #[error("tick budget exhausted")]
    OutOfTicks,
    /// A host function refused (not the kernel's ABI: only the spec tests' hosts do this).
    #[error("host: {0}")]
    Host(String),
}

/// How a call to [`Machine::run`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The outermost function returned; its results are on the stack.
    Returned,
    /// The machine reached the tick it was asked to stop at.
    Paused,
    /// The run failed.
    Trapped(Trap),
    /// A host call could not be answered by this node (the level is abandoned).
    Aborted(pvm_host::Abort),
}

/// What a host call returns to the machine.
pub enum HostReturn {
    /// The result (or none for a function without one).
    Value(Option<u64>),
    /// The node cannot answer.
    Abort(pvm_host::Abort),
    /// The call traps (spec-test hosts only).
    Trap(String),
}

/// The imported functions, as the machine calls them.
pub trait Host {
    /// Calls import `index` with its arguments (stack values, first argument first).
    fn call(&mut self, index: u32, args: &[u64], memory: &mut Memory) -> HostReturn;
}

/// A call frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Where the caller continues.
    pub return_pc: u32,
    /// Where this frame's locals start in [`Machine::locals`].
    pub locals_base: u32,
}

/// The linear memory, with the leaves written since the last hash marked dirty.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    bytes: Vec<u8>,
    pages: u32,
    max_pages: u32,
    /// One bit per 32-byte leaf written since [`Memory::take_dirty`].
    dirty: Vec<u64>,
}

impl Memory {
    fn new(pages: u32, max_pages: u32) -> Self {
        let len = u64::from(pages) * PAGE_SIZE;
        Memory { bytes: vec![0; len as usize], pages, max_pages, dirty: Vec::new() }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The size in pages.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The most pages `memory.grow` can reach.
    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    #[inline(always)]
    fn mark(&mut self, addr: u64, len: u64) {
        if len == 0 {
            return;
        }
        let (first, last) = (addr / LEAF_SIZE, (addr + len - 1) / LEAF_SIZE);
        for leaf in first..=last {
            let word = (leaf / 64) as usize;
            if word >= self.dirty.len() {
                self.dirty.resize(word + 1, 0);
            }
            self.dirty[word] |= 1 << (leaf % 64);
        }
    }

    /// The leaves written since the last call, and forgets them.
    pub fn take_dirty(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dirty)
    }

    /// Marks every leaf clean (after hashing from scratch).
    pub fn clear_dirty(&mut self) {
        self.dirty.clear();
    }

    #[inline(always)]
    fn range(&self, addr: u64, len: u64) -> Result<std::ops::Range<usize>, Trap> {
        match addr.checked_add(len) {
            Some(end) if end <= self.bytes.len() as u64 => Ok(addr as usize..end as usize),
            _ => Err(Trap::MemoryOutOfBounds),
        }
    }

    #[inline(always)]
    fn load<const N: usize>(&self, addr: u64) -> Result<[u8; N], Trap> {
        let r = self.range(addr, N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[r]);
        Ok(out)
    }

    #[inline(always)]
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        let r = self.range(addr, data.len() as u64)?;
        self.bytes[r].copy_from_slice(data);
        self.mark(addr, data.len() as u64);
        Ok(())
    }

    fn grow(&mut self, delta: u32) -> Option<u32> {
        let old = self.pages;
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        self.pages = new;
        self.bytes.resize((u64::from(new) * PAGE_SIZE) as usize, 0);
        Some(old)
    }
}

#[cfg(test)]
impl Memory {
    pub(crate) fn grow_for_test(&mut self, delta: u32) -> Option<u32> {
        self.grow(delta)
    }
}

impl GuestMemory for Memory {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        let r = self.range(u64::from(addr), buf.len() as u64).map_err(|_| OutOfBounds)?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), OutOfBounds> {
        self.store(u64::from(addr), data).map_err(|_| OutOfBounds)
    }
}

/// A table: references (function index + 1, or [`NULL_REF`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The elements.
    pub elems: Vec<u64>,
    /// The most elements `table.grow` can reach.
    pub max: u32,
}

/// A running instance of a lowered module.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The code and constants.
    pub module: Arc<Module>,
    /// The next instruction.
    pub pc: u32,
    /// The value stack (every value 64 bits; an `i32` is zero-extended; a reference is a
    /// function index + 1, null 0).
    pub stack: Vec<u64>,
    /// The call frames, outermost first.
    pub frames: Vec<Frame>,
    /// The locals of every frame, outermost first.
    pub locals: Vec<u64>,
    /// The memory.
    pub memory: Memory,
    /// The globals.
    pub globals: Vec<u64>,
    /// The tables.
    pub tables: Vec<Table>,
    /// Whether each data segment was dropped.
    pub data_dropped: Vec<bool>,
    /// Whether each element segment was dropped.
    pub elem_dropped: Vec<bool>,
    /// Ticks executed since the run began.
    pub ticks: u64,
}

#[inline(always)]
fn b32(x: bool) -> u64 {
    u64::from(x)
}

#[inline(always)]
fn i32v(x: u32) -> u64 {
    u64::from(x)
}

impl Machine {
    /// A fresh instance: memory from the data segments over zeroes, globals and tables at their
    /// initial values, active segments applied (elements, then data, as in wasm) and dropped.
    /// A segment out of bounds fails the instantiation.
    pub fn instantiate(module: Arc<Module>) -> Result<Self, Trap> {
        let (pages, max) = match module.memory {
            Some(d) => (d.min, d.max.unwrap_or(u32::MAX).min(LIMITS.max_memory_pages)),
            None => (0, 0),
        };
        let memory = Memory::new(pages, max.max(pages));
        let tables = module
            .tables
            .iter()
            .map(|t| Table { elems: vec![t.init; t.min as usize], max: t.max.unwrap_or(u32::MAX).min(LIMITS.max_table_elements).max(t.min) })
            .collect();
        let mut m = Machine {
            pc: 0,
            stack: Vec::with_capacity(1024),
            frames: Vec::with_capacity(MAX_CALL_DEPTH as usize),
            locals: Vec::with_capacity(4096),
            memory,
            globals: module.globals.clone(),
            tables,
            data_dropped: vec![false; module.datas.len()],
            elem_dropped: vec![false; module.elems.len()],
            ticks: 0,
            module: module.clone(),
        };
        for (i, seg) in module.elems.iter().enumerate() {
            match seg.mode {
                SegmentMode::Active { table, offset } => {
                    let t = m.tables.get_mut(table as usize).ok_or(Trap::TableOutOfBounds)?;
                    let end = (offset as usize).checked_add(seg.items.len()).ok_or(Trap::TableOutOfBounds)?;
                    if end > t.elems.len() {
                        return Err(Trap::TableOutOfBounds);
                    }
                    t.elems[offset as usize..end].copy_from_slice(&seg.items);
                    m.elem_dropped[i] = true;
                }
                SegmentMode::Declared => m.elem_dropped[i] = true,
                SegmentMode::Passive => {}
            }
        }
        for (i, seg) in module.datas.iter().enumerate() {
            if let SegmentMode::Active { offset, .. } = seg.mode {
                m.memory.store(u64::from(offset), &seg.bytes)?;
                m.data_dropped[i] = true;
            }
        }
        m.memory.clear_dirty();
        Ok(m)
    }

    /// The record of a finished run: no instance (no memory, tables, globals, stacks).
    pub fn empty(module: Arc<Module>) -> Self {
        Machine {
            module,
            pc: 0,
            stack: Vec::new(),
            frames: Vec::new(),
            locals: Vec::new(),
            memory: Memory::new(0, 0),
            globals: Vec::new(),
            tables: Vec::new(),
            data_dropped: Vec::new(),
            elem_dropped: Vec::new(),
            ticks: 0,
        }
    }

    /// Prepares a call of function `func` with `args` (the spec tests' `invoke`, and
    /// `kernel_run`): the machine then runs from its first instruction with one frame.
    pub fn enter(&mut self, func: u32, args: &[u64]) -> Result<(), Trap> {
        let Some(f) = self.module.funcs.get(func as usize) else { return Err(Trap::Host(format!("no function {func}"))) };
        let FuncBody::Code(t) = f.body else { return Err(Trap::Host("cannot enter an imported function".into())) };
        self.stack.clear();
        self.frames.clear();
        self.locals.clear();
        self.stack.extend_from_slice(args);
        self.push_frame(t, RETURN_TO_HOST);
        Ok(())
    }

    #[inline(always)]
    fn push_frame(&mut self, t: CallTarget, return_pc: u32) {
        let base = self.locals.len();
        let params = t.params as usize;
        let from = self.stack.len() - params;
        self.locals.extend_from_slice(&self.stack[from..]);
        self.stack.truncate(from);
        self.locals.resize(base + params + t.locals as usize, 0);
        self.frames.push(Frame { return_pc, locals_base: base as u32 });
        self.pc = t.entry;
    }

    /// Keeps the top `keep` values and drops `drop` values under them.
    #[inline(always)]
    fn adjust(&mut self, keep: u16, drop: u16) {
        if drop == 0 {
            return;
        }
        let len = self.stack.len();
        let (keep, drop) = (keep as usize, drop as usize);
        self.stack.copy_within(len - keep.., len - keep - drop);
        self.stack.truncate(len - drop);
    }

    #[inline(always)]
    fn do_return(&mut self, imm: u64) -> bool {
        let b = Branch::unpack(imm);
        self.adjust(b.keep, b.drop);
        let frame = self.frames.pop().unwrap_or(Frame { return_pc: RETURN_TO_HOST, locals_base: 0 });
        self.locals.truncate(frame.locals_base as usize);
        self.pc = frame.return_pc;
        self.frames.is_empty()
    }

    /// Runs until the outermost function returns, the run fails, or `ticks` reaches `pause_at`
    /// (then [`Exit::Paused`], and the machine can go on). A step at `budget` ticks fails with
    /// [`Trap::OutOfTicks`].
    pub fn run(&mut self, host: &mut dyn Host, budget: u64, pause_at: u64) -> Exit {
        match self.run_inner(host, budget, pause_at) {
            Ok(e) => e,
            Err(t) => Exit::Trapped(t),
        }
    }

    #[allow(clippy::cognitive_complexity)]
    fn run_inner(&mut self, host: &mut dyn Host, budget: u64, pause_at: u64) -> Result<Exit, Trap> {
        if self.frames.is_empty() {
            // Returned already (or never entered): nothing to run.
            return Ok(Exit::Returned);
        }
        let module = self.module.clone();
        let code = &module.code[..];
        macro_rules! pop {
            () => {
                self.stack.pop().unwrap_or(0)
            };
        }
        macro_rules! top {
            () => {
                *self.stack.last_mut().expect("validated: operand present")
            };
        }
        macro_rules! bin32 {
            ($f:expr) => {{
                let b = pop!() as u32;
                let a = top!() as u32;
                top!() = $f(a, b);
            }};
        }
        macro_rules! bin64 {
            ($f:expr) => {{
                let b = pop!();
                let a = top!();
                top!() = $f(a, b);
            }};
        }
        macro_rules! un32 {
            ($f:expr) => {{
                let a = top!() as u32;
                top!() = $f(a);
            }};
        }
        macro_rules! un64 {
            ($f:expr) => {{
                let a = top!();
                top!() = $f(a);
            }};
        }
        macro_rules! load {
            ($n:literal, $imm:expr, $conv:expr) => {{
                let ea = (top!() as u32 as u64) + $imm;
                let bytes = self.memory.load::<$n>(ea)?;
                top!() = $conv(bytes);
            }};
        }
        macro_rules! store {
            ($imm:expr, $bytes:expr) => {{
                let v = pop!();
                let ea = (pop!() as u32 as u64) + $imm;
                #[allow(clippy::redundant_closure_call)]
                self.memory.store(ea, &$bytes(v))?;
            }};
        }
        loop {
            if self.ticks >= pause_at {
                return Ok(Exit::Paused);
            }
            if self.ticks >= budget {
                return Err(Trap::OutOfTicks);
            }
            let pc = self.pc;
            let instr = code[pc as usize];
            self.ticks += 1;
            self.pc = pc + 1;
            let imm = instr.imm;
            match instr.op {
                Op::Unreachable => return Err(Trap::Unreachable),
                Op::Jump => self.pc = imm as u32,
                Op::Br => {
                    let b = Branch::unpack(imm);
                    self.adjust(b.keep, b.drop);
                    self.pc = b.target;
                }
                Op::BrIf => {
                    if pop!() as u32 != 0 {
                        let b = Branch::unpack(imm);
                        self.adjust(b.keep, b.drop);
                        self.pc = b.target;
                    }
                }
                Op::ReturnIf => {
                    if pop!() as u32 != 0 && self.do_return(imm) {
                        return Ok(Exit::Returned);
                    }
                }
                Op::BrIfZero => {
                    if pop!() as u32 == 0 {
                        self.pc = imm as u32;
                    }
                }
                Op::BrTable => {
                    let i = (pop!() as u32).min(imm as u32);
                    let entry = code[(pc + 1 + i) as usize];
                    if entry.op == Op::Return {
                        if self.do_return(entry.imm) {
                            return Ok(Exit::Returned);
                        }
                    } else {
                        let b = Branch::unpack(entry.imm);
                        self.adjust(b.keep, b.drop);
                        self.pc = b.target;
                    }
                }
                Op::Return => {
                    if self.do_return(imm) {
                        return Ok(Exit::Returned);
                    }
                }
                Op::Call => {
                    if self.frames.len() >= MAX_CALL_DEPTH as usize {
                        return Err(Trap::CallStackExhausted);
                    }
                    self.push_frame(CallTarget::unpack(imm), pc + 1);
                }
                Op::CallIndirect => {
                    let (ty, table) = pair(imm);
                    let i = pop!() as u32;
                    let elems = &self.tables[table as usize].elems;
                    let r = *elems.get(i as usize).ok_or(Trap::UndefinedElement)?;
                    if r == NULL_REF {
                        return Err(Trap::UninitializedElement);
                    }
                    let f = module.funcs[(r - 1) as usize];
                    if f.type_id != ty {
                        return Err(Trap::IndirectCallType);
                    }
                    if self.frames.len() >= MAX_CALL_DEPTH as usize {
                        return Err(Trap::CallStackExhausted);
                    }
                    match f.body {
                        FuncBody::Code(t) => self.push_frame(t, pc + 1),
                        FuncBody::Import(h) => {
                            if let Some(exit) = self.host_call(host, h.import)? {
                                return Ok(exit);
                            }
                        }
                    }
                }
                Op::HostCall => {
                    if self.frames.len() >= MAX_CALL_DEPTH as usize {
                        return Err(Trap::CallStackExhausted);
                    }
                    if let Some(exit) = self.host_call(host, (imm >> 32) as u32)? {
                        return Ok(exit);
                    }
                }
                Op::Drop => {
                    self.stack.pop();
                }
                Op::Select => {
                    let c = pop!() as u32;
                    let b = pop!();
                    if c == 0 {
                        top!() = b;
                    }
                }
                Op::LocalGet => {
                    let base = self.frames.last().map_or(0, |f| f.locals_base) as usize;
                    let v = self.locals[base + imm as usize];
                    self.stack.push(v);
                }
                Op::LocalSet => {
                    let base = self.frames.last().map_or(0, |f| f.locals_base) as usize;
                    self.locals[base + imm as usize] = pop!();
                }
                Op::LocalTee => {
                    let base = self.frames.last().map_or(0, |f| f.locals_base) as usize;
                    self.locals[base + imm as usize] = top!();
                }
                Op::GlobalGet => self.stack.push(self.globals[imm as usize]),
                Op::GlobalSet => self.globals[imm as usize] = pop!(),
                Op::I32Const | Op::I64Const => self.stack.push(imm),
                Op::I32Load => load!(4, imm, |b| i32v(u32::from_le_bytes(b))),
                Op::I64Load => load!(8, imm, u64::from_le_bytes),
                Op::I32Load8S => load!(1, imm, |b: [u8; 1]| i32v(b[0] as i8 as i32 as u32)),
                Op::I32Load8U => load!(1, imm, |b: [u8; 1]| u64::from(b[0])),
                Op::I32Load16S => load!(2, imm, |b| i32v(i16::from_le_bytes(b) as i32 as u32)),
                Op::I32Load16U => load!(2, imm, |b| u64::from(u16::from_le_bytes(b))),
                Op::I64Load8S => load!(1, imm, |b: [u8; 1]| b[0] as i8 as i64 as u64),
                Op::I64Load8U => load!(1, imm, |b: [u8; 1]| u64::from(b[0])),
                Op::I64Load16S => load!(2, imm, |b| i16::from_le_bytes(b) as i64 as u64),
                Op::I64Load16U => load!(2, imm, |b| u64::from(u16::from_le_bytes(b))),
                Op::I64Load32S => load!(4, imm, |b| i32::from_le_bytes(b) as i64 as u64),
                Op::I64Load32U => load!(4, imm, |b| u64::from(u32::from_le_bytes(b))),
                Op::I32Store => store!(imm, |v: u64| (v as u32).to_le_bytes()),
                Op::I64Store => store!(imm, |v: u64| v.to_le_bytes()),
                Op::I32Store8 | Op::I64Store8 => store!(imm, |v: u64| [v as u8]),
                Op::I32Store16 | Op::I64Store16 => store!(imm, |v: u64| (v as u16).to_le_bytes()),
                Op::I64Store32 => store!(imm, |v: u64| (v as u32).to_le_bytes()),
                Op::MemorySize => self.stack.push(i32v(self.memory.pages)),
                Op::MemoryGrow => {
                    let delta = top!() as u32;
                    top!() = i32v(self.memory.grow(delta).unwrap_or(u32::MAX));
                }
                Op::MemoryFill => {
                    let n = self.peek(0);
                    let d = self.peek(2);
                    self.memory.range(d, n)?;
                    self.bulk_check(n);
                }
                Op::MemoryCopy => {
                    let n = self.peek(0);
                    let (d, s) = (self.peek(2), self.peek(1));
                    self.memory.range(d, n)?;
                    self.memory.range(s, n)?;
                    self.bulk_check(n);
                }
                Op::MemoryInit => {
                    let n = self.peek(0);
                    let (d, s) = (self.peek(2), self.peek(1));
                    let len = self.data_len(imm as usize);
                    if s.checked_add(n).is_none_or(|e| e > len) {
                        return Err(Trap::MemoryOutOfBounds);
                    }
                    self.memory.range(d, n)?;
                    self.bulk_check(n);
                }
                Op::MemoryFillStep | Op::MemoryCopyStep | Op::MemoryInitStep => {
                    // Ticks already charged one chunk; do as many as allowed at once.
                    let n = self.peek(0);
                    let chunks = n.div_ceil(LEAF_SIZE);
                    let allowed = 1 + (budget.min(pause_at) - self.ticks).min(chunks - 1);
                    self.ticks += allowed - 1;
                    let bytes = (allowed * LEAF_SIZE).min(n);
                    let len = self.stack.len();
                    let (d, s) = (self.stack[len - 3] as u32 as u64, self.stack[len - 2]);
                    match instr.op {
                        Op::MemoryFillStep => {
                            let r = self.memory.range(d, bytes)?;
                            self.memory.bytes[r].fill(s as u8);
                            self.memory.mark(d, bytes);
                            self.stack[len - 3] = d + bytes;
                        }
                        Op::MemoryCopyStep => {
                            let s = s as u32 as u64;
                            if d <= s {
                                let r = self.memory.range(s, bytes)?;
                                self.memory.bytes.copy_within(r, d as usize);
                                self.memory.mark(d, bytes);
                                self.stack[len - 3] = d + bytes;
                                self.stack[len - 2] = s + bytes;
                            } else {
                                // Backwards, from the end: overlapping copies stay correct.
                                let off = n - bytes;
                                let r = self.memory.range(s + off, bytes)?;
                                self.memory.bytes.copy_within(r, (d + off) as usize);
                                self.memory.mark(d + off, bytes);
                            }
                        }
                        _ => {
                            let s = s as u32 as u64;
                            let seg = &module.datas[imm as usize].bytes;
                            let src = &seg[s as usize..(s + bytes) as usize];
                            self.memory.store(d, src)?;
                            self.stack[len - 3] = d + bytes;
                            self.stack[len - 2] = s + bytes;
                        }
                    }
                    self.stack[len - 1] = n - bytes;
                    if n == bytes {
                        self.stack.truncate(len - 3);
                    } else {
                        self.pc = pc;
                    }
                }
                Op::DataDrop => self.data_dropped[imm as usize] = true,
                Op::TableGet => {
                    let i = top!() as u32;
                    top!() = *self.tables[imm as usize].elems.get(i as usize).ok_or(Trap::TableOutOfBounds)?;
                }
                Op::TableSet => {
                    let v = pop!();
                    let i = pop!() as u32;
                    *self.tables[imm as usize].elems.get_mut(i as usize).ok_or(Trap::TableOutOfBounds)? = v;
                }
                Op::TableSize => self.stack.push(self.tables[imm as usize].elems.len() as u64),
                Op::TableGrow => {
                    let n = self.peek(0);
                    let t = &mut self.tables[imm as usize];
                    let old = t.elems.len() as u64;
                    let result = match old.checked_add(n) {
                        Some(new) if new <= u64::from(t.max) => {
                            t.elems.resize(new as usize, NULL_REF);
                            old
                        }
                        _ => u64::from(u32::MAX),
                    };
                    self.stack.push(result);
                    if n == 0 {
                        let len = self.stack.len();
                        self.stack.truncate(len - 3);
                        self.stack.push(result);
                        self.pc = pc + 2;
                    }
                }
                Op::TableGrowStep => {
                    // Stack: value, remaining, result. Writes the next new element.
                    let len = self.stack.len();
                    let (v, n, result) = (self.stack[len - 3], self.stack[len - 2], self.stack[len - 1]);
                    if result != u64::from(u32::MAX) {
                        let t = &mut self.tables[imm as usize];
                        let at = t.elems.len() - n as usize;
                        t.elems[at] = v;
                    }
                    if n == 1 {
                        self.stack.truncate(len - 3);
                        self.stack.push(result);
                    } else {
                        self.stack[len - 2] = n - 1;
                        self.pc = pc;
                    }
                }
                Op::TableFill => {
                    let (i, n) = (self.peek(2), self.peek(0));
                    if i.checked_add(n).is_none_or(|e| e > self.tables[imm as usize].elems.len() as u64) {
                        return Err(Trap::TableOutOfBounds);
                    }
                    self.bulk_check(n);
                }
                Op::TableCopy => {
                    let (dt, st) = pair(imm);
                    let (d, s, n) = (self.peek(2), self.peek(1), self.peek(0));
                    if s.checked_add(n).is_none_or(|e| e > self.tables[st as usize].elems.len() as u64)
                        || d.checked_add(n).is_none_or(|e| e > self.tables[dt as usize].elems.len() as u64)
                    {
                        return Err(Trap::TableOutOfBounds);
                    }
                    self.bulk_check(n);
                }
                Op::TableInit => {
                    let (seg, t) = pair(imm);
                    let (d, s, n) = (self.peek(2), self.peek(1), self.peek(0));
                    let seg_len = if self.elem_dropped[seg as usize] { 0 } else { module.elems[seg as usize].items.len() as u64 };
                    if s.checked_add(n).is_none_or(|e| e > seg_len)
                        || d.checked_add(n).is_none_or(|e| e > self.tables[t as usize].elems.len() as u64)
                    {
                        return Err(Trap::TableOutOfBounds);
                    }
                    self.bulk_check(n);
                }
                Op::TableFillStep | Op::TableCopyStep | Op::TableInitStep => {
                    let len = self.stack.len();
                    let (a, b, n) = (self.stack[len - 3] as u32 as usize, self.stack[len - 2], self.stack[len - 1]);
                    match instr.op {
                        Op::TableFillStep => self.tables[imm as usize].elems[a] = b,
                        Op::TableCopyStep => {
                            let (dt, st) = pair(imm);
                            let b = b as u32 as usize;
                            if a <= b {
                                let v = self.tables[st as usize].elems[b];
                                self.tables[dt as usize].elems[a] = v;
                                self.stack[len - 2] = (b + 1) as u64;
                            } else {
                                let off = n as usize - 1;
                                let v = self.tables[st as usize].elems[b + off];
                                self.tables[dt as usize].elems[a + off] = v;
                            }
                        }
                        _ => {
                            let (seg, t) = pair(imm);
                            let b = b as u32 as usize;
                            self.tables[t as usize].elems[a] = module.elems[seg as usize].items[b];
                            self.stack[len - 2] = (b + 1) as u64;
                        }
                    }
                    let forward = !(instr.op == Op::TableCopyStep && a > self.stack[len - 2] as u32 as usize);
                    if forward {
                        self.stack[len - 3] = (a + 1) as u64;
                    }
                    if n == 1 {
                        self.stack.truncate(len - 3);
                    } else {
                        self.stack[len - 1] = n - 1;
                        self.pc = pc;
                    }
                }
                Op::ElemDrop => self.elem_dropped[imm as usize] = true,
                Op::RefNull => self.stack.push(NULL_REF),
                Op::RefIsNull => un64!(|a| b32(a == NULL_REF)),
                Op::RefFunc => self.stack.push(imm),
                Op::I32Eqz => un32!(|a: u32| b32(a == 0)),
                Op::I32Eq => bin32!(|a: u32, b: u32| b32(a == b)),
                Op::I32Ne => bin32!(|a: u32, b: u32| b32(a != b)),
                Op::I32LtS => bin32!(|a: u32, b: u32| b32((a as i32) < (b as i32))),
                Op::I32LtU => bin32!(|a: u32, b: u32| b32(a < b)),
                Op::I32GtS => bin32!(|a: u32, b: u32| b32((a as i32) > (b as i32))),
                Op::I32GtU => bin32!(|a: u32, b: u32| b32(a > b)),
                Op::I32LeS => bin32!(|a: u32, b: u32| b32((a as i32) <= (b as i32))),
                Op::I32LeU => bin32!(|a: u32, b: u32| b32(a <= b)),
                Op::I32GeS => bin32!(|a: u32, b: u32| b32((a as i32) >= (b as i32))),
                Op::I32GeU => bin32!(|a: u32, b: u32| b32(a >= b)),
                Op::I32Clz => un32!(|a: u32| i32v(a.leading_zeros())),
                Op::I32Ctz => un32!(|a: u32| i32v(a.trailing_zeros())),
                Op::I32Popcnt => un32!(|a: u32| i32v(a.count_ones())),
                Op::I32Add => bin32!(|a: u32, b: u32| i32v(a.wrapping_add(b))),
                Op::I32Sub => bin32!(|a: u32, b: u32| i32v(a.wrapping_sub(b))),
                Op::I32Mul => bin32!(|a: u32, b: u32| i32v(a.wrapping_mul(b))),
                Op::I32DivS => {
                    let b = pop!() as u32 as i32;
                    let a = top!() as u32 as i32;
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    if a == i32::MIN && b == -1 {
                        return Err(Trap::IntegerOverflow);
                    }
                    top!() = i32v((a / b) as u32);
                }
                Op::I32DivU => {
                    let b = pop!() as u32;
                    let a = top!() as u32;
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    top!() = i32v(a / b);
                }
                Op::I32RemS => {
                    let b = pop!() as u32 as i32;
                    let a = top!() as u32 as i32;
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    top!() = i32v(a.wrapping_rem(b) as u32);
                }
                Op::I32RemU => {
                    let b = pop!() as u32;
                    let a = top!() as u32;
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    top!() = i32v(a % b);
                }
                Op::I32And => bin32!(|a: u32, b: u32| i32v(a & b)),
                Op::I32Or => bin32!(|a: u32, b: u32| i32v(a | b)),
                Op::I32Xor => bin32!(|a: u32, b: u32| i32v(a ^ b)),
                Op::I32Shl => bin32!(|a: u32, b: u32| i32v(a.wrapping_shl(b))),
                Op::I32ShrS => bin32!(|a: u32, b: u32| i32v((a as i32).wrapping_shr(b) as u32)),
                Op::I32ShrU => bin32!(|a: u32, b: u32| i32v(a.wrapping_shr(b))),
                Op::I32Rotl => bin32!(|a: u32, b: u32| i32v(a.rotate_left(b % 32))),
                Op::I32Rotr => bin32!(|a: u32, b: u32| i32v(a.rotate_right(b % 32))),
                Op::I64Eqz => un64!(|a: u64| b32(a == 0)),
                Op::I64Eq => bin64!(|a: u64, b: u64| b32(a == b)),
                Op::I64Ne => bin64!(|a: u64, b: u64| b32(a != b)),
                Op::I64LtS => bin64!(|a: u64, b: u64| b32((a as i64) < (b as i64))),
                Op::I64LtU => bin64!(|a: u64, b: u64| b32(a < b)),
                Op::I64GtS => bin64!(|a: u64, b: u64| b32((a as i64) > (b as i64))),
                Op::I64GtU => bin64!(|a: u64, b: u64| b32(a > b)),
                Op::I64LeS => bin64!(|a: u64, b: u64| b32((a as i64) <= (b as i64))),
                Op::I64LeU => bin64!(|a: u64, b: u64| b32(a <= b)),
                Op::I64GeS => bin64!(|a: u64, b: u64| b32((a as i64) >= (b as i64))),
                Op::I64GeU => bin64!(|a: u64, b: u64| b32(a >= b)),
                Op::I64Clz => un64!(|a: u64| u64::from(a.leading_zeros())),
                Op::I64Ctz => un64!(|a: u64| u64::from(a.trailing_zeros())),
                Op::I64Popcnt => un64!(|a: u64| u64::from(a.count_ones())),
                Op::I64Add => bin64!(|a: u64, b: u64| a.wrapping_add(b)),
                Op::I64Sub => bin64!(|a: u64, b: u64| a.wrapping_sub(b)),
                Op::I64Mul => bin64!(|a: u64, b: u64| a.wrapping_mul(b)),
                Op::I64DivS => {
                    let b = pop!() as i64;
                    let a = top!() as i64;
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    if a == i64::MIN && b == -1 {
                        return Err(Trap::IntegerOverflow);
                    }
                    top!() = (a / b) as u64;
                }
                Op::I64DivU => {
                    let b = pop!();
                    let a = top!();
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    top!() = a / b;
                }
                Op::I64RemS => {
                    let b = pop!() as i64;
                    let a = top!() as i64;
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    top!() = a.wrapping_rem(b) as u64;
                }
                Op::I64RemU => {
                    let b = pop!();
                    let a = top!();
                    if b == 0 {
                        return Err(Trap::DivideByZero);
                    }
                    top!() = a % b;
                }
                Op::I64And => bin64!(|a: u64, b: u64| a & b),
                Op::I64Or => bin64!(|a: u64, b: u64| a | b),
                Op::I64Xor => bin64!(|a: u64, b: u64| a ^ b),
                Op::I64Shl => bin64!(|a: u64, b: u64| a.wrapping_shl(b as u32)),
                Op::I64ShrS => bin64!(|a: u64, b: u64| (a as i64).wrapping_shr(b as u32) as u64),
                Op::I64ShrU => bin64!(|a: u64, b: u64| a.wrapping_shr(b as u32)),
                Op::I64Rotl => bin64!(|a: u64, b: u64| a.rotate_left((b % 64) as u32)),
                Op::I64Rotr => bin64!(|a: u64, b: u64| a.rotate_right((b % 64) as u32)),
                Op::I32WrapI64 => un64!(|a: u64| a & 0xffff_ffff),
                Op::I64ExtendI32S => un64!(|a: u64| a as u32 as i32 as i64 as u64),
                Op::I64ExtendI32U => un64!(|a: u64| a & 0xffff_ffff),
                Op::I32Extend8S => un32!(|a: u32| i32v(a as u8 as i8 as i32 as u32)),
                Op::I32Extend16S => un32!(|a: u32| i32v(a as u16 as i16 as i32 as u32)),
                Op::I64Extend8S => un64!(|a: u64| a as u8 as i8 as i64 as u64),
                Op::I64Extend16S => un64!(|a: u64| a as u16 as i16 as i64 as u64),
                Op::I64Extend32S => un64!(|a: u64| a as u32 as i32 as i64 as u64),
            }
        }
    }

    #[inline(always)]
    fn peek(&self, depth: usize) -> u64 {
        // Addresses, offsets and counts are i32: zero-extended already.
        self.stack[self.stack.len() - 1 - depth]
    }

    /// After a bulk instruction's bounds check: with nothing to do it completes now (popping
    /// its three operands and skipping its step); otherwise its step runs next.
    #[inline(always)]
    fn bulk_check(&mut self, n: u64) {
        if n == 0 {
            let len = self.stack.len();
            self.stack.truncate(len - 3);
            self.pc += 1;
        }
    }

    fn data_len(&self, seg: usize) -> u64 {
        if self.data_dropped[seg] {
            0
        } else {
            self.module.datas[seg].bytes.len() as u64
        }
    }

    fn host_call(&mut self, host: &mut dyn Host, index: u32) -> Result<Option<Exit>, Trap> {
        let module = self.module.clone();
        let import = &module.imports[index as usize];
        let sig = &module.types[import.type_id as usize];
        let from = self.stack.len() - sig.params as usize;
        let ret = host.call(index, &self.stack[from..], &mut self.memory);
        self.stack.truncate(from);
        match ret {
            HostReturn::Value(v) => {
                if let Some(v) = v {
                    self.stack.push(v);
                }
                Ok(None)
            }
            HostReturn::Abort(a) => Ok(Some(Exit::Aborted(a))),
            HostReturn::Trap(t) => Err(Trap::Host(t)),
        }
    }
}
