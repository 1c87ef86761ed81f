//! Lowering: a validated WebAssembly module, once, at load, to a flat list of instructions.
//!
//! Structured control flow is compiled to absolute jumps with explicit stack adjustment (the
//! wasm validator's own control frames say how high the stack is at every label), so the machine
//! needs no control stack; constant expressions (global initialisers, segment offsets) are
//! evaluated here, since kernels import no globals.

use std::collections::HashMap;

use wasmparser::{
    BlockType, CompositeInnerType, ConstExpr, DataKind, ElementItems, ElementKind, ExternalKind, FuncType,
    FuncValidatorAllocations, Operator, Parser, Payload, TableInit, TypeRef, ValidPayload, Validator,
};

use crate::code::{pack_pair, Branch, CallTarget, HostTarget, Instr, Op};

/// The null reference, as a stack value. A reference to function `f` is `f + 1` (an external
/// reference `n`, in the spec tests, `n + 1`), so zeroed locals and table slots are null.
pub const NULL_REF: u64 = 0;

/// The stack value of a reference to function `f`.
pub fn func_ref(f: u32) -> u64 {
    u64::from(f) + 1
}

/// Why a module cannot be lowered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// Not valid WebAssembly for the accepted features.
    #[error("invalid WebAssembly: {0}")]
    Invalid(String),
    /// Valid WebAssembly the reference machine does not run (floating point, imported
    /// memories, tables or globals, a start function...). Kernels that pass validation never
    /// hit this.
    #[error("unsupported by the reference machine: {0}")]
    Unsupported(String),
}

fn invalid(e: wasmparser::BinaryReaderError) -> LowerError {
    LowerError::Invalid(e.to_string())
}

fn unsupported(what: impl Into<String>) -> LowerError {
    LowerError::Unsupported(what.into())
}

/// A function of the module: imported (a host function) or defined (lowered code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuncBody {
    /// An import: a host function.
    Import(HostTarget),
    /// Lowered code.
    Code(CallTarget),
}

/// A function and its canonical type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    /// What calling it does.
    pub body: FuncBody,
    /// Index into [`Module::types`] of its (canonical) type.
    pub type_id: u32,
}

/// A function signature, integer and reference types only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sig {
    /// Parameter count.
    pub params: u32,
    /// Result count.
    pub results: u32,
    /// The type as bytes, for structural comparison (`call_indirect`) and hashing:
    /// `u32 params ‖ param type codes ‖ u32 results ‖ result type codes`, with the wasm codes
    /// (`7f` i32, `7e` i64, `70` funcref, `6f` externref).
    pub encoding: Vec<u8>,
}

/// An import of the module (a function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// Canonical type.
    pub type_id: u32,
}

/// The memory declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryDecl {
    /// Pages at instantiation.
    pub min: u32,
    /// Declared maximum.
    pub max: Option<u32>,
}

/// A table declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDecl {
    /// Elements at instantiation.
    pub min: u32,
    /// Declared maximum.
    pub max: Option<u32>,
    /// Initial value of every element.
    pub init: u64,
}

/// How a segment is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentMode {
    /// Copied at instantiation at this offset (of this table, for element segments), then
    /// dropped.
    Active {
        /// Table index (element segments; 0 for data).
        table: u32,
        /// Offset.
        offset: u32,
    },
    /// Used by `memory.init` / `table.init`.
    Passive,
    /// Declared only (element segments): dropped at instantiation.
    Declared,
}

/// An element segment, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElemSegment {
    /// The references.
    pub items: Vec<u64>,
    /// Its use.
    pub mode: SegmentMode,
}

/// A data segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSegment {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its use.
    pub mode: SegmentMode,
}

/// What a module exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// A function (index into [`Module::funcs`]).
    Func(u32),
    /// The memory.
    Memory,
    /// A table.
    Table(u32),
    /// A global.
    Global(u32),
}

/// A lowered module: everything the machine needs, nothing of the wasm encoding left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Every instruction of every defined function, function after function.
    pub code: Vec<Instr>,
    /// Imports first, then defined functions (wasm function index order).
    pub funcs: Vec<Func>,
    /// Canonical function types (structurally equal types share one id).
    pub types: Vec<Sig>,
    /// The imported functions.
    pub imports: Vec<Import>,
    /// The memory, if any.
    pub memory: Option<MemoryDecl>,
    /// The tables.
    pub tables: Vec<TableDecl>,
    /// Initial values of the globals.
    pub globals: Vec<u64>,
    /// The element segments.
    pub elems: Vec<ElemSegment>,
    /// The data segments.
    pub datas: Vec<DataSegment>,
    /// The exports by name.
    pub exports: HashMap<String, Export>,
    /// The start function, if declared.
    pub start: Option<u32>,
}

impl Module {
    /// The exported function `name`.
    pub fn export_func(&self, name: &str) -> Option<u32> {
        match self.exports.get(name) {
            Some(Export::Func(f)) => Some(*f),
            _ => None,
        }
    }

    /// The name of the exported memory.
    pub fn memory_export(&self) -> Option<&str> {
        self.exports.iter().find(|(_, e)| matches!(e, Export::Memory)).map(|(n, _)| n.as_str())
    }
}

fn type_code(t: &wasmparser::ValType) -> u8 {
    match t {
        wasmparser::ValType::I32 => 0x7f,
        wasmparser::ValType::I64 => 0x7e,
        wasmparser::ValType::F32 => 0x7d,
        wasmparser::ValType::F64 => 0x7c,
        wasmparser::ValType::V128 => 0x7b,
        wasmparser::ValType::Ref(r) if r.is_func_ref() => 0x70,
        wasmparser::ValType::Ref(_) => 0x6f,
    }
}

fn type_encoding(t: &FuncType) -> Vec<u8> {
    let mut e = (t.params().len() as u32).to_be_bytes().to_vec();
    e.extend(t.params().iter().map(type_code));
    e.extend((t.results().len() as u32).to_be_bytes());
    e.extend(t.results().iter().map(type_code));
    e
}

fn is_float(t: wasmparser::ValType) -> bool {
    matches!(t, wasmparser::ValType::F32 | wasmparser::ValType::F64 | wasmparser::ValType::V128)
}

/// Evaluates a constant expression (`i32.const`, `i64.const`, `ref.null`, `ref.func`,
/// `global.get` of an earlier global).
fn eval_const(expr: &ConstExpr<'_>, globals: &[u64]) -> Result<u64, LowerError> {
    let mut value = None;
    for op in expr.get_operators_reader() {
        match op.map_err(invalid)? {
            Operator::I32Const { value: v } => value = Some(u64::from(v as u32)),
            Operator::I64Const { value: v } => value = Some(v as u64),
            Operator::RefNull { .. } => value = Some(NULL_REF),
            Operator::RefFunc { function_index } => value = Some(func_ref(function_index)),
            Operator::GlobalGet { global_index } => {
                value = Some(*globals.get(global_index as usize).ok_or_else(|| unsupported("global.get of an imported global"))?)
            }
            Operator::End => break,
            other => return Err(unsupported(format!("constant expression {other:?}"))),
        }
    }
    value.ok_or_else(|| LowerError::Invalid("empty constant expression".into()))
}

/// Lowers `bytes`, validating them with the PVM's accepted features (floating point is then
/// refused by the lowering itself).
pub fn lower(bytes: &[u8]) -> Result<Module, LowerError> {
    let mut validator = Validator::new_with_features(pvm_validate::accepted_features());
    let mut m = Module {
        code: Vec::new(),
        funcs: Vec::new(),
        types: Vec::new(),
        imports: Vec::new(),
        memory: None,
        tables: Vec::new(),
        globals: Vec::new(),
        elems: Vec::new(),
        datas: Vec::new(),
        exports: HashMap::new(),
        start: None,
    };
    // Module type index → canonical id.
    let mut type_ids: Vec<u32> = Vec::new();
    let mut type_arity: Vec<(u32, u32)> = Vec::new();
    let mut type_float: Vec<bool> = Vec::new();
    let mut canonical: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut defined_types: Vec<u32> = Vec::new();
    let mut next_body = 0usize;
    let mut allocs = FuncValidatorAllocations::default();
    // Fix-ups of direct calls to functions not yet lowered: (code index, function index).
    let mut call_fixups: Vec<(usize, u32)> = Vec::new();

    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        let valid = validator.payload(&payload).map_err(invalid)?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    let group = group.map_err(invalid)?;
                    for sub in group.types() {
                        let CompositeInnerType::Func(ft) = &sub.composite_type.inner else {
                            return Err(unsupported("non-function types"));
                        };
                        type_float.push(ft.params().iter().chain(ft.results()).any(|t| is_float(*t)));
                        let encoding = type_encoding(ft);
                        let next = m.types.len() as u32;
                        let id = *canonical.entry(encoding.clone()).or_insert_with(|| {
                            m.types.push(Sig { params: ft.params().len() as u32, results: ft.results().len() as u32, encoding });
                            next
                        });
                        type_ids.push(id);
                        type_arity.push((ft.params().len() as u32, ft.results().len() as u32));
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone() {
                    let import = import.map_err(invalid)?;
                    let TypeRef::Func(t) = import.ty else {
                        return Err(unsupported(format!("import {}.{} is not a function", import.module, import.name)));
                    };
                    if type_float[t as usize] {
                        return Err(unsupported(format!("import {}.{} has a floating-point type", import.module, import.name)));
                    }
                    let type_id = type_ids[t as usize];
                    let arity = type_arity.get(t as usize).copied().ok_or_else(|| LowerError::Invalid("import type".into()))?;
                    let host = host_target(m.imports.len() as u32, import.name, arity);
                    m.funcs.push(Func { body: FuncBody::Import(host), type_id });
                    m.imports.push(Import { module: import.module.to_string(), name: import.name.to_string(), type_id });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader.clone() {
                    let t = t.map_err(invalid)?;
                    if type_float[t as usize] {
                        return Err(unsupported(format!("function {} has a floating-point type", m.funcs.len())));
                    }
                    defined_types.push(t);
                    // Filled when the body is lowered.
                    m.funcs.push(Func { body: FuncBody::Code(CallTarget { entry: 0, params: 0, locals: 0 }), type_id: type_ids[t as usize] });
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.clone() {
                    let table = table.map_err(invalid)?;
                    let init = match &table.init {
                        TableInit::RefNull => NULL_REF,
                        TableInit::Expr(e) => eval_const(e, &m.globals)?,
                    };
                    let min = u32::try_from(table.ty.initial).map_err(|_| unsupported("table64"))?;
                    if min > pvm_validate::LIMITS.max_table_elements {
                        return Err(unsupported(format!("a table of {min} elements (the PVM allows {})", pvm_validate::LIMITS.max_table_elements)));
                    }
                    m.tables.push(TableDecl { min, max: table.ty.maximum.map(|x| x.min(u64::from(u32::MAX)) as u32), init });
                }
            }
            Payload::MemorySection(reader) => {
                for mem in reader.clone() {
                    let mem = mem.map_err(invalid)?;
                    if mem.memory64 || mem.shared {
                        return Err(unsupported("memory64 or shared memory"));
                    }
                    if mem.initial > u64::from(pvm_validate::LIMITS.max_memory_pages) {
                        return Err(unsupported(format!("a memory of {} pages (the PVM allows {})", mem.initial, pvm_validate::LIMITS.max_memory_pages)));
                    }
                    m.memory = Some(MemoryDecl {
                        min: mem.initial.min(u64::from(u32::MAX)) as u32,
                        max: mem.maximum.map(|x| x.min(u64::from(u32::MAX)) as u32),
                    });
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader.clone() {
                    let g = g.map_err(invalid)?;
                    if is_float(g.ty.content_type) {
                        return Err(unsupported("floating-point global"));
                    }
                    let v = eval_const(&g.init_expr, &m.globals)?;
                    m.globals.push(v);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader.clone() {
                    let e = e.map_err(invalid)?;
                    let export = match e.kind {
                        ExternalKind::Func => Export::Func(e.index),
                        ExternalKind::Memory => Export::Memory,
                        ExternalKind::Table => Export::Table(e.index),
                        ExternalKind::Global => Export::Global(e.index),
                        ExternalKind::Tag => return Err(unsupported("tags")),
                    };
                    m.exports.insert(e.name.to_string(), export);
                }
            }
            Payload::StartSection { func, .. } => m.start = Some(*func),
            Payload::ElementSection(reader) => {
                for e in reader.clone() {
                    let e = e.map_err(invalid)?;
                    let mut items = Vec::new();
                    match e.items {
                        ElementItems::Functions(r) => {
                            for f in r {
                                items.push(func_ref(f.map_err(invalid)?));
                            }
                        }
                        ElementItems::Expressions(_, r) => {
                            for x in r {
                                items.push(eval_const(&x.map_err(invalid)?, &m.globals)?);
                            }
                        }
                    }
                    let mode = match e.kind {
                        ElementKind::Passive => SegmentMode::Passive,
                        ElementKind::Declared => SegmentMode::Declared,
                        ElementKind::Active { table_index, offset_expr } => {
                            SegmentMode::Active { table: table_index.unwrap_or(0), offset: eval_const(&offset_expr, &m.globals)? as u32 }
                        }
                    };
                    m.elems.push(ElemSegment { items, mode });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader.clone() {
                    let d = d.map_err(invalid)?;
                    let mode = match d.kind {
                        DataKind::Passive => SegmentMode::Passive,
                        DataKind::Active { memory_index, offset_expr } => {
                            if memory_index != 0 {
                                return Err(unsupported("multiple memories"));
                            }
                            SegmentMode::Active { table: 0, offset: eval_const(&offset_expr, &m.globals)? as u32 }
                        }
                    };
                    m.datas.push(DataSegment { bytes: d.data.to_vec(), mode });
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(to_validate, body) = valid {
            let func_index = m.imports.len() + next_body;
            let module_type = defined_types[next_body] as usize;
            next_body += 1;
            let mut v = to_validate.into_validator(std::mem::take(&mut allocs));
            let (params, results) = type_arity[module_type];
            let entry = m.code.len() as u32;
            let mut locals: u32 = 0;
            let mut reader = body.get_binary_reader();
            for _ in 0..reader.read_var_u32().map_err(invalid)? {
                let offset = reader.original_position();
                let count = reader.read_var_u32().map_err(invalid)?;
                let ty = reader.read().map_err(invalid)?;
                if is_float(ty) {
                    return Err(unsupported(format!("floating-point local in function {func_index}")));
                }
                v.define_locals(offset, count, ty).map_err(invalid)?;
                locals = locals.saturating_add(count);
            }
            if params > u32::from(u16::MAX) || locals > u32::from(u16::MAX) {
                return Err(unsupported(format!("function {func_index} has too many locals")));
            }
            let target = CallTarget { entry, params: params as u16, locals: locals as u16 };
            m.funcs[func_index].body = FuncBody::Code(target);
            let mut f = FuncLowering { m: &mut m, ctl: vec![Ctl::new()], call_fixups: &mut call_fixups, results, type_arity: &type_arity, type_ids: &type_ids };
            while !reader.eof() {
                let offset = reader.original_position();
                let op = reader.read_operator().map_err(invalid)?;
                f.lower_op(&v, &op, func_index)?;
                v.op(offset, &op).map_err(invalid)?;
            }
            v.finish(reader.original_position()).map_err(invalid)?;
            allocs = v.into_allocations();
        }
    }
    for (at, func) in call_fixups {
        let FuncBody::Code(t) = m.funcs[func as usize].body else { continue };
        m.code[at].imm = t.pack();
    }
    if m.code.len() > u32::MAX as usize / 2 {
        return Err(unsupported("module too large"));
    }
    Ok(m)
}

/// A control frame of the function being lowered (parallel to the validator's).
struct Ctl {
    /// Code indices of branches to this frame's end, to patch when the end is reached.
    fixups: Vec<usize>,
    /// Loop: its first instruction.
    loop_start: Option<u32>,
    /// If: the `BrIfZero` to patch at `else` or `end`.
    if_branch: Option<usize>,
}

impl Ctl {
    fn new() -> Self {
        Ctl { fixups: Vec::new(), loop_start: None, if_branch: None }
    }
}

struct FuncLowering<'a> {
    m: &'a mut Module,
    ctl: Vec<Ctl>,
    call_fixups: &'a mut Vec<(usize, u32)>,
    results: u32,
    type_arity: &'a [(u32, u32)],
    type_ids: &'a [u32],
}

impl FuncLowering<'_> {
    fn emit(&mut self, op: Op, imm: u64) -> usize {
        self.m.code.push(Instr::new(op, imm));
        self.m.code.len() - 1
    }

    fn pc(&self) -> u32 {
        self.m.code.len() as u32
    }

    fn block_arity(&self, bt: BlockType) -> (u32, u32) {
        match bt {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(t) => self.type_arity[t as usize],
        }
    }

    /// The branch to relative label `depth` from the current stack height, with its target
    /// (patched later for forward branches; the returned flag says whether it needs it).
    fn branch(&self, v: &wasmparser::FuncValidator<wasmparser::ValidatorResources>, depth: u32) -> Result<(Branch, Option<usize>), LowerError> {
        let frame = v.get_control_frame(depth as usize).ok_or_else(|| LowerError::Invalid("branch depth".into()))?;
        let ctl_index = self.ctl.len() - 1 - depth as usize;
        let height = v.operand_stack_height();
        let is_loop = matches!(frame.kind, wasmparser::FrameKind::Loop);
        let is_func = ctl_index == 0;
        let (params, results) = if is_func { (0, self.results) } else { self.block_arity(frame.block_type) };
        let keep = if is_loop { params } else { results };
        // Checked: the operator is validated after it is lowered, so invalid code gets here.
        let drop = height
            .checked_sub(frame.height as u32 + keep)
            .ok_or_else(|| LowerError::Invalid("stack height at branch".into()))?;
        let target = if is_loop { self.ctl[ctl_index].loop_start.unwrap_or(0) } else { 0 };
        let (Ok(keep), Ok(drop)) = (u16::try_from(keep), u16::try_from(drop)) else {
            return Err(unsupported("a branch over more than 65,535 stack values"));
        };
        let b = Branch { target, keep, drop };
        Ok((b, if is_loop { None } else { Some(ctl_index) }))
    }

    /// Emits a branch (`op` is `Br` or `BrIf`) to the label `fix` names, patched when the
    /// label's end is reached; a branch to the function's own label is its return form
    /// (`Return`, `ReturnIf`), a loop label needs no patch.
    fn emit_branch(&mut self, op: Op, (branch, fix): (Branch, Option<usize>)) {
        let op = match (fix, op) {
            (Some(0), Op::BrIf) => Op::ReturnIf,
            (Some(0), _) => Op::Return,
            _ => op,
        };
        let at = self.emit(op, branch.pack());
        if let Some(ctl) = fix.filter(|c| *c != 0) {
            self.ctl[ctl].fixups.push(at);
        }
    }

    fn lower_op(&mut self, v: &wasmparser::FuncValidator<wasmparser::ValidatorResources>, op: &Operator<'_>, func: usize) -> Result<(), LowerError> {
        use Operator as O;
        let reachable = !v.get_control_frame(0).map(|f| f.unreachable).unwrap_or(true);
        if let O::Block { blockty } | O::Loop { blockty } | O::If { blockty } = op {
            if matches!(blockty, BlockType::Type(t) if is_float(*t)) {
                return Err(unsupported(format!("floating-point block type in function {func}")));
            }
        }
        if let O::TypedSelect { ty } = op {
            if is_float(*ty) {
                return Err(unsupported(format!("floating-point select in function {func}")));
            }
        }
        // Structure is tracked in dead code too; nothing else is emitted there.
        match op {
            O::Block { .. } => {
                self.ctl.push(Ctl::new());
                return Ok(());
            }
            O::Loop { .. } => {
                let mut c = Ctl::new();
                c.loop_start = Some(self.pc());
                self.ctl.push(c);
                return Ok(());
            }
            O::If { .. } => {
                let mut c = Ctl::new();
                if reachable {
                    c.if_branch = Some(self.emit(Op::BrIfZero, 0));
                }
                self.ctl.push(c);
                return Ok(());
            }
            O::Else => {
                let pending = self.ctl.last_mut().and_then(|c| c.if_branch.take());
                if reachable {
                    let at = self.emit(Op::Jump, 0);
                    if let Some(c) = self.ctl.last_mut() {
                        c.fixups.push(at);
                    }
                }
                if let Some(at) = pending {
                    self.patch(at, self.pc());
                }
                return Ok(());
            }
            O::End => {
                if self.ctl.len() == 1 {
                    // The function's end: it returns.
                    if reachable {
                        let drop = self.return_drop(v)?;
                        self.emit(Op::Return, Branch { target: 0, keep: self.results as u16, drop }.pack());
                    }
                    let c = self.ctl.pop().unwrap_or_else(Ctl::new);
                    // Branches to the function label were lowered to returns; none to patch.
                    debug_assert!(c.fixups.is_empty());
                    return Ok(());
                }
                let c = self.ctl.pop().unwrap_or_else(Ctl::new);
                let end = self.pc();
                if let Some(at) = c.if_branch {
                    self.patch(at, end);
                }
                for at in c.fixups {
                    self.patch(at, end);
                }
                return Ok(());
            }
            _ => {}
        }
        if !reachable {
            return Ok(());
        }
        let i32c = |x: i32| u64::from(x as u32);
        let (lop, imm): (Op, u64) = match *op {
            O::Unreachable => (Op::Unreachable, 0),
            O::Nop => return Ok(()),
            O::Br { relative_depth } => {
                let b = self.branch(v, relative_depth)?;
                self.emit_branch(Op::Br, b);
                return Ok(());
            }
            O::BrIf { relative_depth } => {
                let b = self.branch_after_pop(v, relative_depth, 1)?;
                self.emit_branch(Op::BrIf, b);
                return Ok(());
            }
            O::BrTable { ref targets } => {
                let n = targets.len();
                self.emit(Op::BrTable, u64::from(n));
                let mut all: Vec<u32> = Vec::with_capacity(n as usize + 1);
                for t in targets.targets() {
                    all.push(t.map_err(invalid)?);
                }
                all.push(targets.default());
                for d in all {
                    let b = self.branch_after_pop(v, d, 1)?;
                    self.emit_branch(Op::Br, b);
                }
                return Ok(());
            }
            O::Return => {
                let drop = self.return_drop(v)?;
                (Op::Return, Branch { target: 0, keep: self.results as u16, drop }.pack())
            }
            // Checked: the operator is validated after it is lowered.
            O::Call { function_index } => match self.m.funcs.get(function_index as usize).ok_or_else(|| LowerError::Invalid("function index".into()))?.body {
                FuncBody::Import(h) => (Op::HostCall, h.pack()),
                FuncBody::Code(t) => {
                    if function_index as usize >= func {
                        // Not lowered yet (or itself: its entry is already known, but keep one path).
                        let at = self.emit(Op::Call, 0);
                        self.call_fixups.push((at, function_index));
                        return Ok(());
                    }
                    (Op::Call, t.pack())
                }
            },
            O::CallIndirect { type_index, table_index } => {
                let canon = self.type_id(type_index)?;
                (Op::CallIndirect, pack_pair(canon, table_index))
            }
            O::Drop => (Op::Drop, 0),
            O::Select | O::TypedSelect { .. } => (Op::Select, 0),
            O::LocalGet { local_index } => (Op::LocalGet, u64::from(local_index)),
            O::LocalSet { local_index } => (Op::LocalSet, u64::from(local_index)),
            O::LocalTee { local_index } => (Op::LocalTee, u64::from(local_index)),
            O::GlobalGet { global_index } => (Op::GlobalGet, u64::from(global_index)),
            O::GlobalSet { global_index } => (Op::GlobalSet, u64::from(global_index)),
            O::I32Load { memarg } => (Op::I32Load, memarg.offset),
            O::I64Load { memarg } => (Op::I64Load, memarg.offset),
            O::I32Load8S { memarg } => (Op::I32Load8S, memarg.offset),
            O::I32Load8U { memarg } => (Op::I32Load8U, memarg.offset),
            O::I32Load16S { memarg } => (Op::I32Load16S, memarg.offset),
            O::I32Load16U { memarg } => (Op::I32Load16U, memarg.offset),
            O::I64Load8S { memarg } => (Op::I64Load8S, memarg.offset),
            O::I64Load8U { memarg } => (Op::I64Load8U, memarg.offset),
            O::I64Load16S { memarg } => (Op::I64Load16S, memarg.offset),
            O::I64Load16U { memarg } => (Op::I64Load16U, memarg.offset),
            O::I64Load32S { memarg } => (Op::I64Load32S, memarg.offset),
            O::I64Load32U { memarg } => (Op::I64Load32U, memarg.offset),
            O::I32Store { memarg } => (Op::I32Store, memarg.offset),
            O::I64Store { memarg } => (Op::I64Store, memarg.offset),
            O::I32Store8 { memarg } => (Op::I32Store8, memarg.offset),
            O::I32Store16 { memarg } => (Op::I32Store16, memarg.offset),
            O::I64Store8 { memarg } => (Op::I64Store8, memarg.offset),
            O::I64Store16 { memarg } => (Op::I64Store16, memarg.offset),
            O::I64Store32 { memarg } => (Op::I64Store32, memarg.offset),
            O::MemorySize { .. } => (Op::MemorySize, 0),
            O::MemoryGrow { .. } => (Op::MemoryGrow, 0),
            O::MemoryFill { .. } => {
                self.emit(Op::MemoryFill, 0);
                (Op::MemoryFillStep, 0)
            }
            O::MemoryCopy { .. } => {
                self.emit(Op::MemoryCopy, 0);
                (Op::MemoryCopyStep, 0)
            }
            O::MemoryInit { data_index, .. } => {
                self.emit(Op::MemoryInit, u64::from(data_index));
                (Op::MemoryInitStep, u64::from(data_index))
            }
            O::DataDrop { data_index } => (Op::DataDrop, u64::from(data_index)),
            O::TableGet { table } => (Op::TableGet, u64::from(table)),
            O::TableSet { table } => (Op::TableSet, u64::from(table)),
            O::TableSize { table } => (Op::TableSize, u64::from(table)),
            O::TableGrow { table } => {
                self.emit(Op::TableGrow, u64::from(table));
                (Op::TableGrowStep, u64::from(table))
            }
            O::TableFill { table } => {
                self.emit(Op::TableFill, u64::from(table));
                (Op::TableFillStep, u64::from(table))
            }
            O::TableCopy { dst_table, src_table } => {
                self.emit(Op::TableCopy, pack_pair(dst_table, src_table));
                (Op::TableCopyStep, pack_pair(dst_table, src_table))
            }
            O::TableInit { elem_index, table } => {
                self.emit(Op::TableInit, pack_pair(elem_index, table));
                (Op::TableInitStep, pack_pair(elem_index, table))
            }
            O::ElemDrop { elem_index } => (Op::ElemDrop, u64::from(elem_index)),
            O::RefNull { .. } => (Op::RefNull, 0),
            O::RefIsNull => (Op::RefIsNull, 0),
            O::RefFunc { function_index } => (Op::RefFunc, func_ref(function_index)),
            O::I32Const { value } => (Op::I32Const, i32c(value)),
            O::I64Const { value } => (Op::I64Const, value as u64),
            O::I32Eqz => (Op::I32Eqz, 0),
            O::I32Eq => (Op::I32Eq, 0),
            O::I32Ne => (Op::I32Ne, 0),
            O::I32LtS => (Op::I32LtS, 0),
            O::I32LtU => (Op::I32LtU, 0),
            O::I32GtS => (Op::I32GtS, 0),
            O::I32GtU => (Op::I32GtU, 0),
            O::I32LeS => (Op::I32LeS, 0),
            O::I32LeU => (Op::I32LeU, 0),
            O::I32GeS => (Op::I32GeS, 0),
            O::I32GeU => (Op::I32GeU, 0),
            O::I32Clz => (Op::I32Clz, 0),
            O::I32Ctz => (Op::I32Ctz, 0),
            O::I32Popcnt => (Op::I32Popcnt, 0),
            O::I32Add => (Op::I32Add, 0),
            O::I32Sub => (Op::I32Sub, 0),
            O::I32Mul => (Op::I32Mul, 0),
            O::I32DivS => (Op::I32DivS, 0),
            O::I32DivU => (Op::I32DivU, 0),
            O::I32RemS => (Op::I32RemS, 0),
            O::I32RemU => (Op::I32RemU, 0),
            O::I32And => (Op::I32And, 0),
            O::I32Or => (Op::I32Or, 0),
            O::I32Xor => (Op::I32Xor, 0),
            O::I32Shl => (Op::I32Shl, 0),
            O::I32ShrS => (Op::I32ShrS, 0),
            O::I32ShrU => (Op::I32ShrU, 0),
            O::I32Rotl => (Op::I32Rotl, 0),
            O::I32Rotr => (Op::I32Rotr, 0),
            O::I64Eqz => (Op::I64Eqz, 0),
            O::I64Eq => (Op::I64Eq, 0),
            O::I64Ne => (Op::I64Ne, 0),
            O::I64LtS => (Op::I64LtS, 0),
            O::I64LtU => (Op::I64LtU, 0),
            O::I64GtS => (Op::I64GtS, 0),
            O::I64GtU => (Op::I64GtU, 0),
            O::I64LeS => (Op::I64LeS, 0),
            O::I64LeU => (Op::I64LeU, 0),
            O::I64GeS => (Op::I64GeS, 0),
            O::I64GeU => (Op::I64GeU, 0),
            O::I64Clz => (Op::I64Clz, 0),
            O::I64Ctz => (Op::I64Ctz, 0),
            O::I64Popcnt => (Op::I64Popcnt, 0),
            O::I64Add => (Op::I64Add, 0),
            O::I64Sub => (Op::I64Sub, 0),
            O::I64Mul => (Op::I64Mul, 0),
            O::I64DivS => (Op::I64DivS, 0),
            O::I64DivU => (Op::I64DivU, 0),
            O::I64RemS => (Op::I64RemS, 0),
            O::I64RemU => (Op::I64RemU, 0),
            O::I64And => (Op::I64And, 0),
            O::I64Or => (Op::I64Or, 0),
            O::I64Xor => (Op::I64Xor, 0),
            O::I64Shl => (Op::I64Shl, 0),
            O::I64ShrS => (Op::I64ShrS, 0),
            O::I64ShrU => (Op::I64ShrU, 0),
            O::I64Rotl => (Op::I64Rotl, 0),
            O::I64Rotr => (Op::I64Rotr, 0),
            O::I32WrapI64 => (Op::I32WrapI64, 0),
            O::I64ExtendI32S => (Op::I64ExtendI32S, 0),
            O::I64ExtendI32U => (Op::I64ExtendI32U, 0),
            O::I32Extend8S => (Op::I32Extend8S, 0),
            O::I32Extend16S => (Op::I32Extend16S, 0),
            O::I64Extend8S => (Op::I64Extend8S, 0),
            O::I64Extend16S => (Op::I64Extend16S, 0),
            O::I64Extend32S => (Op::I64Extend32S, 0),
            ref other => {
                return Err(unsupported(format!(
                    "instruction `{}` in function {func}",
                    pvm_validate::instruction_name(other)
                )))
            }
        };
        self.emit(lop, imm);
        Ok(())
    }

    /// Like [`Self::branch`], with `popped` operands (the condition, the table index) removed
    /// from the stack before the branch is taken.
    fn branch_after_pop(
        &self,
        v: &wasmparser::FuncValidator<wasmparser::ValidatorResources>,
        depth: u32,
        popped: u32,
    ) -> Result<(Branch, Option<usize>), LowerError> {
        let (mut b, fix) = self.branch(v, depth)?;
        b.drop = b.drop.checked_sub(popped as u16).ok_or_else(|| LowerError::Invalid("stack height at branch".into()))?;
        Ok((b, fix))
    }

    /// The values a return drops under the results. Checked: the operator is validated after
    /// it is lowered, so invalid code (too few values for the results) gets here.
    fn return_drop(&self, v: &wasmparser::FuncValidator<wasmparser::ValidatorResources>) -> Result<u16, LowerError> {
        let drop = v.operand_stack_height().checked_sub(self.results);
        let drop = drop.ok_or_else(|| LowerError::Invalid("stack height at return".into()))?;
        u16::try_from(drop).map_err(|_| unsupported("a return over more than 65,535 stack values"))
    }

    fn patch(&mut self, at: usize, target: u32) {
        let i = &mut self.m.code[at];
        match i.op {
            Op::Jump | Op::BrIfZero => i.imm = u64::from(target),
            _ => {
                let b = Branch::unpack(i.imm);
                i.imm = Branch { target, ..b }.pack();
            }
        }
    }

    fn type_id(&self, module_type: u32) -> Result<u32, LowerError> {
        self.type_ids.get(module_type as usize).copied().ok_or_else(|| LowerError::Invalid("type index".into()))
    }
}

/// The host function an import names, in the form its type selects (validation has checked
/// that there is one for every kernel).
fn host_target(import: u32, name: &str, (params, results): (u32, u32)) -> HostTarget {
    let resolved = pvm_host::HostFn::from_name(name).and_then(|func| {
        let form = func.signatures().iter().position(|s| s.params.len() as u32 == params && s.results.len() as u32 == results)?;
        Some((func, form as u16))
    });
    match resolved {
        Some((func, form)) => HostTarget { import, func: Some(func), form },
        None => HostTarget { import, func: None, form: 0 },
    }
}
