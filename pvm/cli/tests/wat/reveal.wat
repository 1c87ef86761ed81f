;; Reveals the page whose 33-byte hash is each external message's payload, prints it, and
;; stores it at /page.
(module
  (import "smart_rollup_core" "read_input" (func $read_input (param i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "reveal_preimage" (func $reveal_preimage (param i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "write_debug" (func $write_debug (param i32 i32)))
  (memory 1)
  (export "memory" (memory 0))
  (data (i32.const 0) "/page")
  (func (export "kernel_run") (local $n i32)
    (block $done (loop $next
      (local.set $n (call $read_input (i32.const 100) (i32.const 104) (i32.const 200) (i32.const 4096)))
      (br_if $done (i32.eqz (local.get $n)))
      (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 1))
        (then
          (local.set $n (call $reveal_preimage (i32.const 201) (i32.const 8192) (i32.const 4096)))
          (call $write_debug (i32.const 8192) (local.get $n))
          (drop (call $store_write (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 8192) (local.get $n)))))
      (br $next)))))
