//! Random kernels shared by the differential tests: wasm-smith modules that import the host
//! functions and export `kernel_run` and their memory.

const HOST_IMPORTS: &str = r#"(module
  (import "smart_rollup_core" "read_input" (func (param i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "write_output" (func (param i32 i32) (result i32)))
  (import "smart_rollup_core" "write_debug" (func (param i32 i32)))
  (import "smart_rollup_core" "store_has" (func (param i32 i32) (result i32)))
  (import "smart_rollup_core" "store_delete" (func (param i32 i32) (result i32)))
  (import "smart_rollup_core" "store_copy" (func (param i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_move" (func (param i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_read" (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_write" (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_value_size" (func (param i32 i32) (result i32)))
  (import "smart_rollup_core" "store_list_size" (func (param i32 i32) (result i64)))
  (import "smart_rollup_core" "store_get_nth_key" (func (param i32 i32 i64 i32 i32) (result i32)))
  (import "smart_rollup_core" "reveal_metadata" (func (param i32 i32) (result i32))))"#;

pub fn smith_config() -> wasm_smith::Config {
    let mut c = wasm_smith::Config {
        available_imports: Some(wat::parse_str(HOST_IMPORTS).unwrap()),
        exports: Some(wat::parse_str(r#"(module (func (export "kernel_run")))"#).unwrap()),
        ..Default::default()
    };
    c.min_memories = 1;
    c.max_memories = 1;
    c.max_memory32_bytes = 4 * 65536;
    c.allow_floats = false;
    c.simd_enabled = false;
    c.relaxed_simd_enabled = false;
    c.threads_enabled = false;
    c.tail_call_enabled = false;
    c.exceptions_enabled = false;
    c.gc_enabled = false;
    c.memory64_enabled = false;
    c.extended_const_enabled = false;
    c.allow_start_export = false;
    // Singlepass cannot compile multi-value (tested separately in driver.rs): keep both
    // compilers comparable.
    c.multi_value_enabled = false;
    c.max_funcs = 8;
    c.max_instructions = 300;
    c.max_tables = 1;
    c.max_table_elements = 100;
    c
}

/// wasm-smith cannot be asked for a memory export: add one to the export section.
pub fn export_memory(wasm: &[u8]) -> Vec<u8> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::ExportSection(reader)) = payload {
            let range = reader.range();
            let mut section = wasm_encoder::ExportSection::new();
            for e in reader.into_iter().flatten() {
                let kind = match e.kind {
                    wasmparser::ExternalKind::Func => wasm_encoder::ExportKind::Func,
                    wasmparser::ExternalKind::Table => wasm_encoder::ExportKind::Table,
                    wasmparser::ExternalKind::Memory => wasm_encoder::ExportKind::Memory,
                    wasmparser::ExternalKind::Global => wasm_encoder::ExportKind::Global,
                    wasmparser::ExternalKind::Tag => wasm_encoder::ExportKind::Tag,
                };
                section.export(e.name, kind, e.index);
            }
            section.export("memory", wasm_encoder::ExportKind::Memory, 0);
            let mut encoded = Vec::new();
            wasm_encoder::Encode::encode(&wasm_encoder::SectionId::Export, &mut encoded);
            wasm_encoder::Encode::encode(&section, &mut encoded);
            // The old section: its id byte and minimal LEB128 size precede its contents.
            let leb_len = {
                let (mut n, mut len) = (range.len(), 1);
                while n >= 0x80 {
                    n >>= 7;
                    len += 1;
                }
                len
            };
            let start = range.start - 1 - leb_len;
            return [&wasm[..start], &encoded, &wasm[range.end..]].concat();
        }
    }
    wasm.to_vec()
}

/// A deterministic byte stream (xorshift), so failures reproduce from the seed.
pub fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}


/// Seeds a fuzz test runs: `PVM_FUZZ_SEEDS`, or CI's `default`.
pub fn seeds(default: u64) -> u64 {
    std::env::var("PVM_FUZZ_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}
