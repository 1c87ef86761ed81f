;; Writes /x, then loops forever: every run runs out of ticks and is rolled back.
(module
  (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
  (memory 1)
  (export "memory" (memory 0))
  (data (i32.const 0) "/x")
  (func (export "kernel_run")
    (drop (call $store_write (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 2)))
    (loop $forever (br $forever))))
