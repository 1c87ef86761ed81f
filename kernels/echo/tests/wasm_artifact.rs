//! The kernel build produces a valid kernel: `kernel_run` exported with no params and no
//! results, exactly one memory, declared and exported, and imports only from
//! `smart_rollup_core`. Needs `kernels/build.sh` to have run (the test command does it first).

use std::path::PathBuf;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

fn artifact() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels/echo.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; build the kernels first with `kernels/build.sh`", path.display())
    })
}

#[test]
fn echo_wasm_is_a_valid_kernel() {
    let bytes = artifact();
    wasmparser::Validator::new().validate_all(&bytes).expect("valid wasm");
    let mut func_types = Vec::new();
    let mut imported_funcs = Vec::new();
    let mut local_funcs = Vec::new();
    let mut memories = 0;
    let mut exported_memories = 0;
    let mut kernel_run = None;
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            Payload::TypeSection(s) => {
                for ty in s.into_iter_err_on_gc_types() {
                    func_types.push(ty.unwrap());
                }
            }
            Payload::ImportSection(s) => {
                for imp in s {
                    let imp = imp.unwrap();
                    assert_eq!(imp.module, "smart_rollup_core", "import {} from a foreign module", imp.name);
                    match imp.ty {
                        TypeRef::Func(t) => imported_funcs.push(t),
                        other => panic!("non-function import {}: {other:?}", imp.name),
                    }
                }
            }
            Payload::FunctionSection(s) => {
                for f in s {
                    local_funcs.push(f.unwrap());
                }
            }
            Payload::MemorySection(s) => memories += s.count(),
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.unwrap();
                    match e.kind {
                        ExternalKind::Memory => exported_memories += 1,
                        ExternalKind::Func if e.name == "kernel_run" => kernel_run = Some(e.index),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(memories, 1, "exactly one memory declared");
    assert_eq!(exported_memories, 1, "exactly one memory exported");
    let idx = kernel_run.expect("kernel_run exported") as usize;
    let type_idx = if idx < imported_funcs.len() { imported_funcs[idx] } else { local_funcs[idx - imported_funcs.len()] };
    let ty = &func_types[type_idx as usize];
    assert!(ty.params().is_empty() && ty.results().is_empty(), "kernel_run must be () -> (), got {ty:?}");
}
