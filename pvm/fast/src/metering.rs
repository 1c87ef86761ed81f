//! The tick-metering middleware: charges every instruction its cost from the tick cost table
//! (`pvm_validate::ticks`) against a per-run budget, and enforces the call-stack limit.
//!
//! Static costs are summed per straight-line run of instructions and charged before the
//! instruction that ends it (a branch, call, `end`, `else`, `loop`...), so a run that completes
//! has been charged exactly its total. A run that fails (out of ticks, too deep, any trap)
//! is rolled back whole by the PVM, so *where* inside a straight-line run a budget is noticed
//! to be short cannot change the resulting state. Bulk instructions are charged dynamically
//! from their count operand, and calls keep a depth counter that traps past
//! [`MAX_CALL_DEPTH`] frames.

use std::sync::{Arc, Mutex};

use pvm_validate::ticks::{tick_cost, TickCost, MAX_CALL_DEPTH};
use wasmer::sys::{FunctionMiddleware, MiddlewareReaderState, ModuleMiddleware};
use wasmer::sys::wasmparser::{BlockType, Operator};
use wasmer::sys::MiddlewareError;
use wasmer::{ExportIndex, GlobalInit, GlobalType, LocalFunctionIndex, Mutability, Type};
use wasmer_types::{GlobalIndex, ModuleInfo};

/// Why metering stopped a run, as recorded in the `stop` global.
pub(crate) const STOP_OUT_OF_TICKS: i32 = 1;
pub(crate) const STOP_CALL_DEPTH: i32 = 2;

/// The export names of the globals the middleware adds to one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MeterGlobals {
    pub remaining: String,
    pub stop: String,
    pub depth: String,
}

#[derive(Debug, Clone, Copy)]
struct Indexes {
    remaining: GlobalIndex,
    stop: GlobalIndex,
    depth: GlobalIndex,
    scratch: GlobalIndex,
}

/// The module middleware. One instance serves one engine; modules are compiled one at a time
/// (the engine holds a lock), so the indexes of the module being compiled are unambiguous.
#[derive(Debug, Default)]
pub(crate) struct Metering {
    current: Mutex<Option<(Indexes, MeterGlobals)>>,
}

impl Metering {
    /// The globals of the module compiled last.
    pub fn last_globals(&self) -> Option<MeterGlobals> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(_, g)| g.clone())
    }
}

fn unique_name(info: &ModuleInfo, base: &str) -> String {
    let mut name = base.to_string();
    while info.exports.contains_key(&name) {
        name.push('_');
    }
    name
}

fn add_global(info: &mut ModuleInfo, ty: Type, init: GlobalInit, export: Option<&str>) -> (GlobalIndex, Option<String>) {
    let index = info.globals.push(GlobalType::new(ty, Mutability::Var));
    info.global_initializers.push(init);
    let name = export.map(|base| {
        let name = unique_name(info, base);
        info.exports.insert(name.clone(), ExportIndex::Global(index));
        name
    });
    (index, name)
}

impl ModuleMiddleware for Metering {
    fn generate_function_middleware(&self, _: LocalFunctionIndex) -> Box<dyn FunctionMiddleware> {
        let indexes = self.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(i, _)| *i);
        Box::new(FunctionMetering { indexes, accumulated: 0, blocks: 0 })
    }

    fn transform_module_info(&self, info: &mut ModuleInfo) -> Result<(), MiddlewareError> {
        let (remaining, rn) = add_global(info, Type::I64, GlobalInit::I64Const(0), Some("__pvm_ticks_remaining"));
        let (stop, sn) = add_global(info, Type::I32, GlobalInit::I32Const(0), Some("__pvm_stop"));
        let (depth, dn) = add_global(info, Type::I32, GlobalInit::I32Const(1), Some("__pvm_call_depth"));
        let (scratch, _) = add_global(info, Type::I32, GlobalInit::I32Const(0), None);
        let names = MeterGlobals {
            remaining: rn.unwrap_or_default(),
            stop: sn.unwrap_or_default(),
            depth: dn.unwrap_or_default(),
        };
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((Indexes { remaining, stop, depth, scratch }, names));
        Ok(())
    }
}

#[derive(Debug)]
struct FunctionMetering {
    indexes: Option<Indexes>,
    /// Static ticks of the instructions since the last charge.
    accumulated: u64,
    /// Open blocks (`block`, `loop`, `if`) in the function body.
    blocks: u32,
}

fn global(index: GlobalIndex) -> u32 {
    index.as_u32()
}

impl FunctionMetering {
    /// `if (remaining < cost) { stop = OUT_OF_TICKS; unreachable }; remaining -= cost`, with the
    /// cost computed by `cost` (which pushes one i64).
    fn charge<'a>(ix: &Indexes, state: &mut MiddlewareReaderState<'a>, cost: &[Operator<'a>]) {
        let remaining = global(ix.remaining);
        state.extend([Operator::GlobalGet { global_index: remaining }]);
        state.extend(cost.iter().cloned());
        state.extend([
            Operator::I64LtU,
            Operator::If { blockty: BlockType::Empty },
            Operator::I32Const { value: STOP_OUT_OF_TICKS },
            Operator::GlobalSet { global_index: global(ix.stop) },
            Operator::Unreachable,
            Operator::End,
            Operator::GlobalGet { global_index: remaining },
        ]);
        state.extend(cost.iter().cloned());
        state.extend([Operator::I64Sub, Operator::GlobalSet { global_index: remaining }]);
    }

    fn flush(&mut self, ix: &Indexes, state: &mut MiddlewareReaderState<'_>) {
        if self.accumulated > 0 {
            Self::charge(ix, state, &[Operator::I64Const { value: self.accumulated as i64 }]);
            self.accumulated = 0;
        }
    }
}

impl FunctionMiddleware for FunctionMetering {
    fn feed<'a>(&mut self, op: Operator<'a>, state: &mut MiddlewareReaderState<'a>) -> Result<(), MiddlewareError> {
        let Some(ix) = self.indexes else {
            return Err(MiddlewareError::new("pvm metering", "module info was not transformed before its functions"));
        };
        let function_end = matches!(op, Operator::End) && self.blocks == 0;
        match &op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => self.blocks += 1,
            Operator::End if self.blocks > 0 => self.blocks -= 1,
            _ => {}
        }
        let cost = tick_cost(&op, function_end);
        match cost {
            TickCost::Fixed(c) => self.accumulated += c,
            // The instruction's base tick now, the rest from its count operand below.
            TickCost::PerMemoryWord | TickCost::PerTableElement => self.accumulated += 1,
        }
        let ends_straight_line = matches!(
            op,
            Operator::Loop { .. }
                | Operator::End
                | Operator::If { .. }
                | Operator::Else
                | Operator::Br { .. }
                | Operator::BrIf { .. }
                | Operator::BrTable { .. }
                | Operator::Unreachable
                | Operator::Return
                | Operator::Call { .. }
                | Operator::CallIndirect { .. }
        ) || !matches!(cost, TickCost::Fixed(_));
        if ends_straight_line {
            self.flush(&ix, state);
        }
        let scratch = global(ix.scratch);
        match cost {
            TickCost::Fixed(_) => {}
            dynamic => {
                // The count is the operand on top of the stack: set it aside, put it back, and
                // charge for it.
                state.extend([Operator::GlobalSet { global_index: scratch }, Operator::GlobalGet { global_index: scratch }]);
                let mut c = vec![Operator::GlobalGet { global_index: scratch }, Operator::I64ExtendI32U];
                if dynamic == TickCost::PerMemoryWord {
                    c.extend([Operator::I64Const { value: 31 }, Operator::I64Add, Operator::I64Const { value: 5 }, Operator::I64ShrU]);
                }
                Self::charge(&ix, state, &c);
            }
        }
        if let Operator::Call { .. } | Operator::CallIndirect { .. } = op {
            let depth = global(ix.depth);
            state.extend([
                Operator::GlobalGet { global_index: depth },
                Operator::I32Const { value: 1 },
                Operator::I32Add,
                Operator::GlobalSet { global_index: depth },
                Operator::GlobalGet { global_index: depth },
                Operator::I32Const { value: MAX_CALL_DEPTH as i32 },
                Operator::I32GtU,
                Operator::If { blockty: BlockType::Empty },
                Operator::I32Const { value: STOP_CALL_DEPTH },
                Operator::GlobalSet { global_index: global(ix.stop) },
                Operator::Unreachable,
                Operator::End,
            ]);
            state.push_operator(op);
            state.extend([
                Operator::GlobalGet { global_index: depth },
                Operator::I32Const { value: 1 },
                Operator::I32Sub,
                Operator::GlobalSet { global_index: depth },
            ]);
            return Ok(());
        }
        state.push_operator(op);
        Ok(())
    }
}

/// A shared middleware handle.
pub(crate) fn new() -> Arc<Metering> {
    Arc::new(Metering::default())
}
