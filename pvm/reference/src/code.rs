//! The lowered instruction set: what one code leaf holds.
//!
//! Every wasm instruction that costs ticks becomes exactly one [`Instr`] (an opcode and one
//! 64-bit immediate); structure that costs nothing (`block`, `loop`, `nop`, the `end` of a block)
//! emits none. Jump targets are absolute code indices; branches carry how many values they keep
//! and drop, so a step needs no control stack. `br_table` is one instruction followed by its
//! entries (each a [`Op::Br`], read by the table step, never executed on its own). Bulk
//! instructions are a check instruction and a step instruction that repeats once per 32-byte
//! memory leaf or table element, so every tick touches a bounded amount of state.

/// The opcodes. The numbering is part of the code leaf encoding (docs/pvm.md section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum Op {
    // control
    Unreachable = 0x00,
    Jump = 0x01,
    Br = 0x02,
    BrIf = 0x03,
    BrIfZero = 0x04,
    BrTable = 0x05,
    Return = 0x06,
    Call = 0x07,
    CallIndirect = 0x08,
    HostCall = 0x09,
    ReturnIf = 0x0a,
    // parametric, variables
    Drop = 0x10,
    Select = 0x11,
    LocalGet = 0x12,
    LocalSet = 0x13,
    LocalTee = 0x14,
    GlobalGet = 0x15,
    GlobalSet = 0x16,
    // constants
    I32Const = 0x18,
    I64Const = 0x19,
    // memory
    I32Load = 0x20,
    I64Load = 0x21,
    I32Load8S = 0x22,
    I32Load8U = 0x23,
    I32Load16S = 0x24,
    I32Load16U = 0x25,
    I64Load8S = 0x26,
    I64Load8U = 0x27,
    I64Load16S = 0x28,
    I64Load16U = 0x29,
    I64Load32S = 0x2a,
    I64Load32U = 0x2b,
    I32Store = 0x2c,
    I64Store = 0x2d,
    I32Store8 = 0x2e,
    I32Store16 = 0x2f,
    I64Store8 = 0x30,
    I64Store16 = 0x31,
    I64Store32 = 0x32,
    MemorySize = 0x33,
    MemoryGrow = 0x34,
    MemoryFill = 0x35,
    MemoryFillStep = 0x36,
    MemoryCopy = 0x37,
    MemoryCopyStep = 0x38,
    MemoryInit = 0x39,
    MemoryInitStep = 0x3a,
    DataDrop = 0x3b,
    // tables and references
    TableGet = 0x40,
    TableSet = 0x41,
    TableSize = 0x42,
    TableGrow = 0x43,
    TableGrowStep = 0x44,
    TableFill = 0x45,
    TableFillStep = 0x46,
    TableCopy = 0x47,
    TableCopyStep = 0x48,
    TableInit = 0x49,
    TableInitStep = 0x4a,
    ElemDrop = 0x4b,
    RefNull = 0x4c,
    RefIsNull = 0x4d,
    RefFunc = 0x4e,
    // i32
    I32Eqz = 0x50,
    I32Eq,
    I32Ne,
    I32LtS,
    I32LtU,
    I32GtS,
    I32GtU,
    I32LeS,
    I32LeU,
    I32GeS,
    I32GeU,
    I32Clz,
    I32Ctz,
    I32Popcnt,
    I32Add,
    I32Sub,
    I32Mul,
    I32DivS,
    I32DivU,
    I32RemS,
    I32RemU,
    I32And,
    I32Or,
    I32Xor,
    I32Shl,
    I32ShrS,
    I32ShrU,
    I32Rotl,
    I32Rotr,
    // i64
    I64Eqz = 0x70,
    I64Eq,
    I64Ne,
    I64LtS,
    I64LtU,
    I64GtS,
    I64GtU,
    I64LeS,
    I64LeU,
    I64GeS,
    I64GeU,
    I64Clz,
    I64Ctz,
    I64Popcnt,
    I64Add,
    I64Sub,
    I64Mul,
    I64DivS,
    I64DivU,
    I64RemS,
    I64RemU,
    I64And,
    I64Or,
    I64Xor,
    I64Shl,
    I64ShrS,
    I64ShrU,
    I64Rotl,
    I64Rotr,
    // conversions
    I32WrapI64 = 0x90,
    I64ExtendI32S,
    I64ExtendI32U,
    I32Extend8S,
    I32Extend16S,
    I64Extend8S,
    I64Extend16S,
    I64Extend32S,
}

/// Every opcode (to decode code leaves).
pub const ALL_OPS: &[Op] = &[
    Op::Unreachable,
    Op::Jump,
    Op::Br,
    Op::BrIf,
    Op::BrIfZero,
    Op::BrTable,
    Op::Return,
    Op::Call,
    Op::CallIndirect,
    Op::HostCall,
    Op::ReturnIf,
    Op::Drop,
    Op::Select,
    Op::LocalGet,
    Op::LocalSet,
    Op::LocalTee,
    Op::GlobalGet,
    Op::GlobalSet,
    Op::I32Const,
    Op::I64Const,
    Op::I32Load,
    Op::I64Load,
    Op::I32Load8S,
    Op::I32Load8U,
    Op::I32Load16S,
    Op::I32Load16U,
    Op::I64Load8S,
    Op::I64Load8U,
    Op::I64Load16S,
    Op::I64Load16U,
    Op::I64Load32S,
    Op::I64Load32U,
    Op::I32Store,
    Op::I64Store,
    Op::I32Store8,
    Op::I32Store16,
    Op::I64Store8,
    Op::I64Store16,
    Op::I64Store32,
    Op::MemorySize,
    Op::MemoryGrow,
    Op::MemoryFill,
    Op::MemoryFillStep,
    Op::MemoryCopy,
    Op::MemoryCopyStep,
    Op::MemoryInit,
    Op::MemoryInitStep,
    Op::DataDrop,
    Op::TableGet,
    Op::TableSet,
    Op::TableSize,
    Op::TableGrow,
    Op::TableGrowStep,
    Op::TableFill,
    Op::TableFillStep,
    Op::TableCopy,
    Op::TableCopyStep,
    Op::TableInit,
    Op::TableInitStep,
    Op::ElemDrop,
    Op::RefNull,
    Op::RefIsNull,
    Op::RefFunc,
    Op::I32Eqz,
    Op::I32Eq,
    Op::I32Ne,
    Op::I32LtS,
    Op::I32LtU,
    Op::I32GtS,
    Op::I32GtU,
    Op::I32LeS,
    Op::I32LeU,
    Op::I32GeS,
    Op::I32GeU,
    Op::I32Clz,
    Op::I32Ctz,
    Op::I32Popcnt,
    Op::I32Add,
    Op::I32Sub,
    Op::I32Mul,
    Op::I32DivS,
    Op::I32DivU,
    Op::I32RemS,
    Op::I32RemU,
    Op::I32And,
    Op::I32Or,
    Op::I32Xor,
    Op::I32Shl,
    Op::I32ShrS,
    Op::I32ShrU,
    Op::I32Rotl,
    Op::I32Rotr,
    Op::I64Eqz,
    Op::I64Eq,
    Op::I64Ne,
    Op::I64LtS,
    Op::I64LtU,
    Op::I64GtS,
    Op::I64GtU,
    Op::I64LeS,
    Op::I64LeU,
    Op::I64GeS,
    Op::I64GeU,
    Op::I64Clz,
    Op::I64Ctz,
    Op::I64Popcnt,
    Op::I64Add,
    Op::I64Sub,
    Op::I64Mul,
    Op::I64DivS,
    Op::I64DivU,
    Op::I64RemS,
    Op::I64RemU,
    Op::I64And,
    Op::I64Or,
    Op::I64Xor,
    Op::I64Shl,
    Op::I64ShrS,
    Op::I64ShrU,
    Op::I64Rotl,
    Op::I64Rotr,
    Op::I32WrapI64,
    Op::I64ExtendI32S,
    Op::I64ExtendI32U,
    Op::I32Extend8S,
    Op::I32Extend16S,
    Op::I64Extend8S,
    Op::I64Extend16S,
    Op::I64Extend32S,
];

/// One code leaf: an opcode and its immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instr {
    /// What it does.
    pub op: Op,
    /// Its operand: a constant, an index, an offset, or a packed branch (see [`Branch`]).
    pub imm: u64,
}

impl Instr {
    /// An instruction.
    pub const fn new(op: Op, imm: u64) -> Self {
        Instr { op, imm }
    }

    /// The 32-byte code leaf: `u16 opcode ‖ u64 immediate ‖ 22 zero bytes`, big-endian.
    pub fn leaf(&self) -> [u8; 32] {
        let mut leaf = [0u8; 32];
        leaf[..2].copy_from_slice(&(self.op as u16).to_be_bytes());
        leaf[2..10].copy_from_slice(&self.imm.to_be_bytes());
        leaf
    }
}

/// A branch immediate: the target, then how many values the branch keeps from the top of the
/// stack and how many it drops below them. `target (u32) ‖ keep (u16) ‖ drop (u16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    /// Absolute code index.
    pub target: u32,
    /// Values kept (the label's arity).
    pub keep: u16,
    /// Values dropped under them.
    pub drop: u16,
}

impl Branch {
    /// Packs it into an immediate.
    pub fn pack(self) -> u64 {
        (u64::from(self.target) << 32) | (u64::from(self.keep) << 16) | u64::from(self.drop)
    }

    /// Unpacks an immediate.
    #[inline(always)]
    pub fn unpack(imm: u64) -> Self {
        Branch { target: (imm >> 32) as u32, keep: (imm >> 16) as u16, drop: imm as u16 }
    }
}

/// A direct call immediate: `entry (u32) ‖ params (u16) ‖ locals (u16)` (locals excluding the
/// parameters), so a call step needs no other leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTarget {
    /// Code index of the callee's first instruction.
    pub entry: u32,
    /// Its parameters.
    pub params: u16,
    /// Its declared locals, parameters excluded.
    pub locals: u16,
}

impl CallTarget {
    /// Packs it into an immediate.
    pub fn pack(self) -> u64 {
        (u64::from(self.entry) << 32) | (u64::from(self.params) << 16) | u64::from(self.locals)
    }

    /// Unpacks an immediate.
    #[inline(always)]
    pub fn unpack(imm: u64) -> Self {
        CallTarget { entry: (imm >> 32) as u32, params: (imm >> 16) as u16, locals: imm as u16 }
    }
}

/// A host call immediate: `import (u32) ‖ function (u16) ‖ form (u16)`, where `function` is the
/// host function's code (its position in `pvm_host::HostFn::ALL`, docs/pvm.md section 3.2 order)
/// and `form` the index of the signature it was imported with in `HostFn::signatures`. Lowering
/// resolves the import's name once, so a step (and the L1) reads what to call from the code leaf.
/// An import that names no host function (possible only outside the PVM's validation, as in the
/// spec testsuite's harness) has function code `0xffff` and cannot be proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTarget {
    /// The import's index.
    pub import: u32,
    /// The host function (`None`: an import the PVM does not define).
    pub func: Option<pvm_host::HostFn>,
    /// Which of its signatures.
    pub form: u16,
}

impl HostTarget {
    /// Packs it into an immediate.
    pub fn pack(self) -> u64 {
        let code = self.func.and_then(|func| pvm_host::HostFn::ALL.iter().position(|f| *f == func)).unwrap_or(0xffff) as u64;
        (u64::from(self.import) << 32) | (code << 16) | u64::from(self.form)
    }

    /// Unpacks an immediate; `None` if it names no host function or no signature of it.
    pub fn unpack(imm: u64) -> Option<Self> {
        let func = *pvm_host::HostFn::ALL.get(((imm >> 16) as u16) as usize)?;
        let form = imm as u16;
        func.signatures().get(usize::from(form))?;
        Some(HostTarget { import: (imm >> 32) as u32, func: Some(func), form })
    }
}

/// Two 32-bit indices in one immediate (`hi ‖ lo`): `call_indirect` (type, table),
/// `table.copy` (destination, source), `table.init` (segment, table).
#[inline(always)]
pub fn pair(imm: u64) -> (u32, u32) {
    ((imm >> 32) as u32, imm as u32)
}

/// Packs two indices.
pub fn pack_pair(hi: u32, lo: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}
