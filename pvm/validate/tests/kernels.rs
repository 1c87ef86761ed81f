//! Which modules are kernels, and what the error says when one is not.

use pvm_validate::{validate, ValidationError};

fn check(wat: &str) -> Result<pvm_validate::KernelInfo, ValidationError> {
    validate(&wat::parse_str(wat).expect("test WAT parses"))
}

fn err(wat: &str) -> String {
    check(wat).expect_err("must be rejected").to_string()
}

const OK_TAIL: &str = r#"(memory 1) (export "mem" (memory 0)) (func (export "kernel_run"))"#;

#[test]
fn the_seeds_hello_world_kernel_is_valid() {
    let info = check(
        r#"(module
          (import "smart_rollup_core" "write_debug" (func $write_debug (param i32 i32) (result i32)))
          (memory 1)
          (export "mem" (memory 0))
          (data (i32.const 100) "hello, world!")
          (func (export "kernel_run")
            (local $hello_address i32)
            (local $hello_length i32)
            (local.set $hello_address (i32.const 100))
            (local.set $hello_length (i32.const 13))
            (drop (call $write_debug (local.get $hello_address) (local.get $hello_length)))))"#,
    )
    .unwrap();
    assert_eq!(info.memory_export, "mem");
    assert_eq!(info.imports.len(), 1);
    assert_eq!(info.imports[0].signature, 1);
}

#[test]
fn the_rust_signatures_are_valid() {
    let info = check(&format!(
        r#"(module
          (import "smart_rollup_core" "write_debug" (func (param i32 i32)))
          (import "smart_rollup_core" "read_input" (func (param i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_list_size" (func (param i32 i32) (result i64)))
          (import "smart_rollup_core" "store_get_nth_key" (func (param i32 i32 i64 i32 i32) (result i32)))
          (import "smart_rollup_core" "reveal_preimage" (func (param i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "reveal_preimage" (func (param i32 i32 i32 i32) (result i32)))
          {OK_TAIL})"#
    ))
    .unwrap();
    assert_eq!(info.imports.iter().map(|i| i.signature).collect::<Vec<_>>(), vec![0, 0, 0, 0, 0, 1]);
}

#[test]
fn integer_features_rust_emits_are_accepted() {
    check(
        r#"(module
          (memory 1) (export "memory" (memory 0))
          (table 2 funcref) (elem declare func $f)
          (global $g (mut i32) (i32.const 0))
          (func $f (param i32 i64) (result i32 i64) (local.get 0) (local.get 1))
          (func (export "kernel_run")
            (memory.copy (i32.const 0) (i32.const 10) (i32.const 5))
            (memory.fill (i32.const 0) (i32.const 1) (i32.const 5))
            (global.set $g (i32.extend8_s (i32.const 255)))
            (drop (ref.func $f))
            (drop (drop (call $f (i32.const 1) (i64.const 2))))))"#,
    )
    .unwrap();
}

#[test]
fn floats_are_rejected_naming_the_instruction() {
    let e = err(&format!(r#"(module {OK_TAIL} (func (result i32) (i32.trunc_sat_f32_s (f32.const 1))))"#));
    assert!(e.contains("`f32.const`") && e.contains("function 1"), "{e}");
    let e = err(&format!(r#"(module {OK_TAIL} (func (param i32) (result i32) (i32.reinterpret_f32 (f32.reinterpret_i32 (local.get 0)))))"#));
    assert!(e.contains("`f32.reinterpret_i32`"), "{e}");
    let e = err(&format!(r#"(module {OK_TAIL} (func (param f64)))"#));
    assert!(e.contains("floating-point type in type") && e.contains("f64"), "{e}");
    let e = err(&format!(r#"(module {OK_TAIL} (func (local f32)))"#));
    assert!(e.contains("a local of function 1"), "{e}");
    let e = err(&format!(r#"(module {OK_TAIL} (global f32 (f32.const 0)))"#));
    assert!(e.contains("global 0"), "{e}");
}

#[test]
fn simd_threads_and_tail_calls_are_rejected() {
    assert!(err(&format!(r#"(module {OK_TAIL} (func (drop (v128.const i64x2 0 0))))"#)).contains("SIMD"));
    assert!(err(&format!(r#"(module {OK_TAIL} (func $f (return_call $f)))"#)).contains("tail"));
    assert!(matches!(check(r#"(module (memory 1 1 shared) (export "m" (memory 0)) (func (export "kernel_run")))"#), Err(ValidationError::Malformed(_))));
}

#[test]
fn imports_are_checked_by_module_name_and_type() {
    let e = err(&format!(r#"(module (import "env" "write_debug" (func (param i32 i32))) {OK_TAIL})"#));
    assert!(e.contains(r#""env"."write_debug""#), "{e}");
    let e = err(&format!(r#"(module (import "smart_rollup_core" "store_exists" (func (param i32 i32) (result i32))) {OK_TAIL})"#));
    assert!(e.contains("store_exists") && e.contains("not a host function"), "{e}");
    let e = err(&format!(r#"(module (import "smart_rollup_core" "store_list_size" (func (param i32 i32) (result i32))) {OK_TAIL})"#));
    assert!(e.contains("store_list_size") && e.contains("(result i64)"), "{e}");
    let e = err(r#"(module (import "smart_rollup_core" "mem" (memory 1)) (export "mem" (memory 0)) (func (export "kernel_run")))"#);
    assert!(e.contains("is a memory"), "{e}");
}

#[test]
fn kernel_run_and_memory_are_required() {
    assert!(matches!(check(r#"(module (memory 1) (export "mem" (memory 0)))"#), Err(ValidationError::NoKernelRun)));
    let e = err(r#"(module (memory 1) (export "mem" (memory 0)) (func (export "kernel_run") (param i32)))"#);
    assert!(e.contains("kernel_run") && e.contains("(param i32)"), "{e}");
    let e = err(r#"(module (memory 1) (export "mem" (memory 0)) (func (export "kernel_run") (result i32) (i32.const 0)))"#);
    assert!(e.contains("(result i32)"), "{e}");
    assert!(matches!(check(r#"(module (memory 1) (export "kernel_run" (memory 0)))"#), Err(ValidationError::KernelRunType(_))));
    assert!(matches!(check(r#"(module (func (export "kernel_run")))"#), Err(ValidationError::MemoryCount(0))));
    assert!(matches!(check(r#"(module (memory 1) (func (export "kernel_run")))"#), Err(ValidationError::MemoryNotExported)));
    assert!(matches!(check(r#"(module (memory 5000) (export "m" (memory 0)) (func (export "kernel_run")))"#), Err(ValidationError::MemoryTooLarge { .. })));
}

#[test]
fn start_functions_and_oversized_functions_are_rejected() {
    assert!(matches!(check(&format!(r#"(module {OK_TAIL} (func $s) (start $s))"#)), Err(ValidationError::StartFunction(1))));
    let e = err(&format!(r#"(module {OK_TAIL} (func (local i32 i64) (local {})))"#, "i32 ".repeat(4095)));
    assert!(e.contains("4097 parameters and locals"), "{e}");
    let deep = "(i32.const 0)".repeat(1025) + &"(drop)".repeat(1025);
    let e = err(&format!(r#"(module {OK_TAIL} (func {deep}))"#));
    assert!(e.contains("stacks 1025 operands"), "{e}");
    assert!(matches!(validate(b"\0asm\x01\0\0\0\x01"), Err(ValidationError::Malformed(_))));
    assert!(matches!(validate(b"not wasm"), Err(ValidationError::Malformed(_))));
}
