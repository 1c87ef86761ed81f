//! Memory and table limits, and the native stack wasm runs on.

use std::ptr::NonNull;

use pvm_validate::LIMITS;
use wasmer::sys::vm::{VMConfig, VMMemory, VMMemoryDefinition, VMTable, VMTableDefinition};
use wasmer::sys::{BaseTunables, Tunables};
use wasmer::{MemoryError, MemoryStyle, MemoryType, Pages, TableStyle, TableType};

/// The native stack for wasm execution. 300 frames of the largest function validation allows
/// (4,096 locals, 1,024 operands: at most ~50 KiB of frame) need about 15 MiB; this leaves a
/// wide margin so a kernel never overflows the native stack before the 300-frame limit.
pub(crate) const WASM_STACK_SIZE: usize = 64 << 20;

static VM_CONFIG: VMConfig = VMConfig { wasm_stack_size: Some(WASM_STACK_SIZE) };

/// Wasmer's defaults with the PVM's maximum memory and table sizes imposed on every instance,
/// whatever maximum the kernel declares: `memory.grow` and `table.grow` past them return -1.
pub(crate) struct PvmTunables {
    base: BaseTunables,
}

impl PvmTunables {
    pub fn new(base: BaseTunables) -> Self {
        PvmTunables { base }
    }

    fn memory(&self, ty: &MemoryType) -> MemoryType {
        let limit = Pages(LIMITS.max_memory_pages);
        let mut ty = *ty;
        ty.maximum = Some(ty.maximum.map_or(limit, |m| m.min(limit)));
        ty
    }

    fn table(&self, ty: &TableType) -> TableType {
        let limit = LIMITS.max_table_elements;
        let mut ty = *ty;
        ty.maximum = Some(ty.maximum.map_or(limit, |m| m.min(limit)));
        ty
    }
}

impl Tunables for PvmTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        self.base.memory_style(&self.memory(memory))
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        self.base.table_style(&self.table(table))
    }

    fn create_host_memory(&self, ty: &MemoryType, style: &MemoryStyle) -> Result<VMMemory, MemoryError> {
        self.base.create_host_memory(&self.memory(ty), style)
    }

    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        // SAFETY: forwarded unchanged from wasmer, which upholds the contract.
        unsafe { self.base.create_vm_memory(&self.memory(ty), style, vm_definition_location) }
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        self.base.create_host_table(&self.table(ty), style)
    }

    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        // SAFETY: forwarded unchanged from wasmer, which upholds the contract.
        unsafe { self.base.create_vm_table(&self.table(ty), style, vm_definition_location) }
    }

    fn vmconfig(&self) -> &VMConfig {
        &VM_CONFIG
    }
}
