//! Kernel validation: the checks every kernel passes before the PVM compiles or runs it, shared
//! by fast execution and the reference machine so both accept exactly the same modules.
//!
//! A kernel is a WebAssembly module that (the seeds' rules)
//! - exports a function `kernel_run` with no parameters and no results;
//! - declares and exports exactly one memory (not imported);
//! - imports only host functions from `smart_rollup_core`, each with a documented signature
//!   ([`pvm_host::HostFn::signatures`]);
//! - uses no floating-point type or instruction anywhere;
//!
//! and, so that every node can run it identically within bounded resources,
//! - uses only the integer features current Rust emits for wasm32 (mutable globals, sign
//!   extension, non-trapping conversions, multi-value, bulk memory, reference types; not SIMD,
//!   threads, tail calls, multiple memories, memory64, exceptions or GC);
//! - declares no start function (instantiation has no side effects and cannot trap);
//! - stays within [`Limits`]: module size, memory and table sizes, locals and operand-stack
//!   height per function (which bound a call frame, so 300 frames always fit the stack).
//!
//! Every rejection names what is wrong: the import, the export, the instruction and where.

mod cache;
pub mod ticks;

pub use cache::{KernelCache, KERNEL_CACHE_ENTRIES};

use std::fmt;

use pvm_host::abi::MODULE;
use pvm_host::{HostFn, Signature, ValType};
use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, ValidPayload, Validator,
    WasmFeatures,
};

/// Resource bounds every node enforces identically (they are part of the PVM's semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest module, in bytes.
    pub max_module_size: usize,
    /// The largest memory, in 64 KiB pages; `memory.grow` past it returns -1.
    pub max_memory_pages: u32,
    /// The largest table, in elements; `table.grow` past it returns -1.
    pub max_table_elements: u32,
    /// Parameters plus locals of one function.
    pub max_locals_per_function: u32,
    /// Operand stack height inside one function.
    pub max_operand_stack: u32,
}

/// The PVM's limits.
pub const LIMITS: Limits = Limits {
    max_module_size: 16 << 20,
    max_memory_pages: 4096, // 256 MiB
    max_table_elements: 1 << 16,
    max_locals_per_function: 4096,
    max_operand_stack: 1024,
};

/// The wasm features the PVM accepts: every integer feature current Rust emits for wasm32.
/// Floats are enabled in the parser only so the PVM's own scan can name the offending
/// instruction; it then rejects them.
pub fn accepted_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::GC_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS
}

/// A host function a kernel imports, and which of its accepted signatures it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostImport {
    /// The function.
    pub func: HostFn,
    /// Index into [`HostFn::signatures`].
    pub signature: usize,
}

/// What the PVM needs to know about a valid kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInfo {
    /// The imports, in import order.
    pub imports: Vec<HostImport>,
    /// The name the memory is exported under.
    pub memory_export: String,
    /// The memory's declared minimum, in pages.
    pub memory_min_pages: u32,
    /// The memory's declared maximum, if any.
    pub memory_max_pages: Option<u32>,
}

/// Why a kernel cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// It is not a valid kernel.
    #[error("invalid kernel: {0}")]
    Invalid(ValidationError),
    /// This engine could not compile a valid kernel (singlepass does not support multi-value,
    /// for instance). A property of the node, not of the kernel: other nodes may compile it.
    #[error("this node's compiler cannot compile the kernel: {0}")]
    Compile(String),
    /// It does not instantiate (a data or element segment out of bounds).
    #[error("kernel does not initialise: {0}")]
    Initialise(String),
}

// Not `#[from]`: that would make the validation error the source too, and a `{:#}` chain would
// print it twice.
impl From<ValidationError> for LoadError {
    fn from(e: ValidationError) -> Self {
        LoadError::Invalid(e)
    }
}

impl LoadError {
    /// Whether every node reaches the same verdict (validation, initialisation), so the PVM may
    /// act on it (reject an upgrade); otherwise it is this node's limitation and the node must
    /// stop rather than compute a state other nodes would not.
    pub fn is_kernel_fault(&self) -> bool {
        !matches!(self, LoadError::Compile(_))
    }
}

/// Why a module is not a valid kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The module is larger than [`Limits::max_module_size`].
    #[error("kernel is {size} bytes, more than the {max}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid WebAssembly, or uses a feature the PVM does not accept (SIMD, threads...).
    #[error("invalid or unsupported WebAssembly: {0}")]
    Malformed(String),
    /// An import from a module other than `smart_rollup_core`.
    #[error("import \"{module}\".\"{name}\": kernels may only import from \"smart_rollup_core\"")]
    ForeignImport {
        /// Its module.
        module: String,
        /// Its name.
        name: String,
    },
    /// An import that is not a function.
    #[error("import \"{module}\".\"{name}\" is a {kind}: kernels may only import host functions")]
    NonFunctionImport {
        /// Its module.
        module: String,
        /// Its name.
        name: String,
        /// What it is.
        kind: &'static str,
    },
    /// A `smart_rollup_core` import with a name that is not a host function.
    #[error("import \"smart_rollup_core\".\"{name}\" is not a host function of the PVM")]
    UnknownHostFunction {
        /// Its name.
        name: String,
    },
    /// A host function imported with the wrong type.
    #[error("import \"smart_rollup_core\".\"{name}\" has type {got}; expected {expected}")]
    ImportSignature {
        /// Its name.
        name: String,
        /// The type declared.
        got: String,
        /// The accepted types.
        expected: String,
    },
    /// No export `kernel_run`.
    #[error("no function exported as \"kernel_run\"")]
    NoKernelRun,
    /// `kernel_run` is not a function with no parameters and no results.
    #[error("export \"kernel_run\" {0}; it must be a function with no parameters and no results")]
    KernelRunType(String),
    /// Not exactly one memory declared, or it is imported.
    #[error("kernel declares {0} memories; it must declare exactly one (not imported)")]
    MemoryCount(usize),
    /// The memory is not exported.
    #[error("kernel does not export its memory")]
    MemoryNotExported,
    /// The memory's minimum size exceeds [`Limits::max_memory_pages`].
    #[error("memory needs {min} pages at start; the PVM allows at most {max}")]
    MemoryTooLarge {
        /// Declared minimum.
        min: u64,
        /// The limit.
        max: u32,
    },
    /// A table's minimum size exceeds [`Limits::max_table_elements`].
    #[error("table {index} needs {min} elements at start; the PVM allows at most {max}")]
    TableTooLarge {
        /// The table.
        index: u32,
        /// Declared minimum.
        min: u64,
        /// The limit.
        max: u32,
    },
    /// A start function.
    #[error("kernel declares a start function (function {0}); kernels may not have one")]
    StartFunction(u32),
    /// A floating-point type somewhere.
    #[error("floating-point type in {0}: kernels may not use floating point")]
    FloatType(String),
    /// A floating-point instruction.
    #[error("floating-point instruction `{instruction}` in function {function} at offset {offset:#x}: kernels may not use floating point")]
    FloatInstruction {
        /// The instruction, in text format.
        instruction: String,
        /// Function index (imports included).
        function: u32,
        /// Byte offset in the module.
        offset: usize,
    },
    /// Too many locals in one function.
    #[error("function {function} has {locals} parameters and locals; the PVM allows at most {max}")]
    TooManyLocals {
        /// Function index.
        function: u32,
        /// Its count.
        locals: u64,
        /// The limit.
        max: u32,
    },
    /// The operand stack grows too high in one function.
    #[error("function {function} stacks {height} operands at offset {offset:#x}; the PVM allows at most {max}")]
    OperandStack {
        /// Function index.
        function: u32,
        /// The height reached.
        height: u32,
        /// Where.
        offset: usize,
        /// The limit.
        max: u32,
    },
}

fn malformed(e: wasmparser::BinaryReaderError) -> ValidationError {
    ValidationError::Malformed(e.to_string())
}

fn is_float(t: wasmparser::ValType) -> bool {
    matches!(t, wasmparser::ValType::F32 | wasmparser::ValType::F64)
}

fn val_type(t: wasmparser::ValType) -> Option<ValType> {
    match t {
        wasmparser::ValType::I32 => Some(ValType::I32),
        wasmparser::ValType::I64 => Some(ValType::I64),
        _ => None,
    }
}

fn type_text(ty: &FuncType) -> String {
    let list = |v: &[wasmparser::ValType]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
    format!("(param {}) (result {})", list(ty.params()), list(ty.results()))
}

fn matches(ty: &FuncType, sig: &Signature) -> bool {
    let same = |a: &[wasmparser::ValType], b: &[ValType]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| val_type(*x) == Some(*y))
    };
    same(ty.params(), sig.params) && same(ty.results(), sig.results)
}

/// The text-format name of an operator (`F32Add` → `f32.add`, `I32TruncSatF64U` →
/// `i32.trunc_sat_f64_u`).
pub fn instruction_name(op: &Operator<'_>) -> String {
    if let Operator::TypedSelect { ty } = op {
        return format!("select (result {ty})");
    }
    let debug = format!("{op:?}");
    let camel: &str = debug.split([' ', '{', '(']).next().unwrap_or(&debug);
    let mut words: Vec<String> = Vec::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(w) = words.last_mut() {
            w.push(c.to_ascii_lowercase());
        }
    }
    match words.split_first() {
        Some((first, rest)) if !rest.is_empty() && first.len() > 1 && first[1..].chars().all(|c| c.is_ascii_digit() || c == 'x') => {
            format!("{first}.{}", rest.join("_"))
        }
        _ => words.join("_"),
    }
}

fn is_float_op(op: &Operator<'_>) -> bool {
    if let Operator::TypedSelect { ty } = op {
        return is_float(*ty);
    }
    let debug = format!("{op:?}");
    let name = debug.split([' ', '{', '(']).next().unwrap_or("");
    name.contains("F32") || name.contains("F64")
}

/// Validates a kernel (binary WebAssembly) against the PVM's rules and [`LIMITS`].
pub fn validate(bytes: &[u8]) -> Result<KernelInfo, ValidationError> {
    validate_with(bytes, &LIMITS)
}

/// [`validate`] with explicit limits.
pub fn validate_with(bytes: &[u8], limits: &Limits) -> Result<KernelInfo, ValidationError> {
    if bytes.len() > limits.max_module_size {
        return Err(ValidationError::TooLarge { size: bytes.len(), max: limits.max_module_size });
    }
    let mut validator = Validator::new_with_features(accepted_features());
    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imports = Vec::new();
    let mut memories: Vec<wasmparser::MemoryType> = Vec::new();
    let mut memory_exports = Vec::new();
    let mut kernel_run = None;
    let mut imported_funcs = 0u32;
    let mut next_body = 0u32;
    let mut allocs = wasmparser::FuncValidatorAllocations::default();

    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(malformed)?;
        let valid = validator.payload(&payload).map_err(malformed)?;
        match &payload {
            Payload::TypeSection(s) => {
                for (i, group) in s.clone().into_iter().enumerate() {
                    let group = group.map_err(malformed)?;
                    for sub in group.into_types() {
                        match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                if f.params().iter().chain(f.results()).any(|t| is_float(*t)) {
                                    return Err(ValidationError::FloatType(format!("type {i} {}", type_text(f))));
                                }
                                types.push(Some(f.clone()));
                            }
                            _ => types.push(None),
                        }
                    }
                }
            }
            Payload::ImportSection(s) => {
                for imp in s.clone() {
                    let imp = imp.map_err(malformed)?;
                    if imp.module != MODULE {
                        return Err(ValidationError::ForeignImport { module: imp.module.into(), name: imp.name.into() });
                    }
                    let TypeRef::Func(t) = imp.ty else {
                        let kind = match imp.ty {
                            TypeRef::Memory(_) => "memory",
                            TypeRef::Table(_) => "table",
                            TypeRef::Global(_) => "global",
                            _ => "tag",
                        };
                        return Err(ValidationError::NonFunctionImport { module: imp.module.into(), name: imp.name.into(), kind });
                    };
                    let func = HostFn::from_name(imp.name)
                        .ok_or_else(|| ValidationError::UnknownHostFunction { name: imp.name.into() })?;
                    let ty = types.get(t as usize).cloned().flatten().ok_or_else(|| ValidationError::Malformed(format!("import {} has no function type", imp.name)))?;
                    let signature = func.signatures().iter().position(|s| matches(&ty, s)).ok_or_else(|| {
                        ValidationError::ImportSignature {
                            name: imp.name.into(),
                            got: type_text(&ty),
                            expected: func.signatures().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" or "),
                        }
                    })?;
                    imports.push(HostImport { func, signature });
                    func_types.push(t);
                    imported_funcs += 1;
                }
            }
            Payload::FunctionSection(s) => {
                for f in s.clone() {
                    func_types.push(f.map_err(malformed)?);
                }
            }
            Payload::TableSection(s) => {
                for (i, t) in s.clone().into_iter().enumerate() {
                    let t = t.map_err(malformed)?;
                    if t.ty.initial > u64::from(limits.max_table_elements) {
                        return Err(ValidationError::TableTooLarge { index: i as u32, min: t.ty.initial, max: limits.max_table_elements });
                    }
                }
            }
            Payload::MemorySection(s) => {
                for m in s.clone() {
                    memories.push(m.map_err(malformed)?);
                }
            }
            Payload::GlobalSection(s) => {
                for (i, g) in s.clone().into_iter().enumerate() {
                    let g = g.map_err(malformed)?;
                    if is_float(g.ty.content_type) {
                        return Err(ValidationError::FloatType(format!("global {i}")));
                    }
                }
            }
            Payload::ExportSection(s) => {
                for e in s.clone() {
                    let e = e.map_err(malformed)?;
                    if e.kind == ExternalKind::Memory {
                        memory_exports.push(e.name.to_string());
                    }
                    if e.name == "kernel_run" {
                        kernel_run = Some((e.kind, e.index));
                    }
                }
            }
            Payload::StartSection { func, .. } => return Err(ValidationError::StartFunction(*func)),
            Payload::CodeSectionEntry(body) => {
                let function = imported_funcs + next_body;
                next_body += 1;
                let ValidPayload::Func(to_validate, _) = valid else {
                    return Err(ValidationError::Malformed("function body out of place".into()));
                };
                let mut fv = to_validate.into_validator(std::mem::take(&mut allocs));
                let mut reader = body.get_binary_reader();
                let mut locals = func_types
                    .get(function as usize)
                    .and_then(|t| types.get(*t as usize).cloned().flatten())
                    .map_or(0, |t| t.params().len() as u64);
                let local_groups = body.get_locals_reader().map_err(malformed)?;
                for l in local_groups {
                    let (count, ty) = l.map_err(malformed)?;
                    if is_float(ty) {
                        return Err(ValidationError::FloatType(format!("a local of function {function}")));
                    }
                    locals += u64::from(count);
                }
                if locals > u64::from(limits.max_locals_per_function) {
                    return Err(ValidationError::TooManyLocals { function, locals, max: limits.max_locals_per_function });
                }
                fv.read_locals(&mut reader).map_err(malformed)?;
                while !reader.eof() {
                    let offset = reader.original_position();
                    let op = reader.read_operator().map_err(malformed)?;
                    if is_float_op(&op) {
                        return Err(ValidationError::FloatInstruction { instruction: instruction_name(&op), function, offset });
                    }
                    if let Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } = &op {
                        if let wasmparser::BlockType::Type(t) = blockty {
                            if is_float(*t) {
                                return Err(ValidationError::FloatType(format!("a block type in function {function} at offset {offset:#x}")));
                            }
                        }
                    }
                    fv.op(offset, &op).map_err(malformed)?;
                    let height = fv.operand_stack_height();
                    if height > limits.max_operand_stack {
                        return Err(ValidationError::OperandStack { function, height, offset, max: limits.max_operand_stack });
                    }
                }
                fv.finish(reader.original_position()).map_err(malformed)?;
                allocs = fv.into_allocations();
            }
            _ => {}
        }
    }

    if memories.len() != 1 {
        return Err(ValidationError::MemoryCount(memories.len()));
    }
    if memory_exports.is_empty() {
        return Err(ValidationError::MemoryNotExported);
    }
    let memory = memories[0];
    if memory.initial > u64::from(limits.max_memory_pages) {
        return Err(ValidationError::MemoryTooLarge { min: memory.initial, max: limits.max_memory_pages });
    }
    match kernel_run {
        None => return Err(ValidationError::NoKernelRun),
        Some((ExternalKind::Func, index)) => {
            let ty = func_types
                .get(index as usize)
                .and_then(|t| types.get(*t as usize).cloned().flatten())
                .ok_or(ValidationError::NoKernelRun)?;
            if !ty.params().is_empty() || !ty.results().is_empty() {
                return Err(ValidationError::KernelRunType(format!("has type {}", type_text(&ty))));
            }
        }
        Some((kind, _)) => return Err(ValidationError::KernelRunType(format!("is a {}", kind_name(kind)))),
    }
    Ok(KernelInfo {
        imports,
        memory_export: memory_exports.remove(0),
        memory_min_pages: memory.initial as u32,
        memory_max_pages: memory.maximum.map(|m| m.min(u64::from(u32::MAX)) as u32),
    })
}

fn kind_name(k: ExternalKind) -> &'static str {
    match k {
        ExternalKind::Func => "function",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

impl fmt::Display for HostImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.func, self.func.signatures()[self.signature])
    }
}
