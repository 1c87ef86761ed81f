//! The wasmer engine against hand-written kernels: exact tick counts, the budget, the call-stack
//! limit, memory limits, traps and aborts, for both compilers.

use std::sync::Arc;

use protocol::{Address, RollupMetadata};
use pvm_durable::{MemStore, Tree};
use pvm_fast::{Compiler, FastEngine, Failure, LoadError, RunOutcome};
use pvm_host::{Abort, HostState, LevelInbox, PreimageMap};

const COMPILERS: [Compiler; 2] = [Compiler::Cranelift, Compiler::Singlepass];

fn host() -> HostState {
    HostState {
        durable: Tree::empty(Arc::new(MemStore::new())),
        inbox: LevelInbox { level: 1, messages: vec![vec![0, 1], vec![1, 42], vec![0, 2]], next: 0 },
        outbox: vec![],
        debug: Default::default(),
        preimages: Arc::new(PreimageMap::default()),
        metadata: RollupMetadata { address: Address([1; 20]), origination_level: 0 },
    }
}

fn run(engine: &FastEngine, wat: &str, budget: u64) -> (RunOutcome, u64, HostState) {
    let bytes = wat::parse_str(wat).unwrap();
    let hash = protocol::keccak256(&bytes);
    let kernel = engine.load(hash, &bytes).unwrap();
    let r = engine.run(&kernel, host(), budget);
    (r.outcome, r.ticks, r.host)
}

fn kernel(body: &str) -> String {
    format!(
        r#"(module
          (import "smart_rollup_core" "write_debug" (func $debug (param i32 i32)))
          (import "smart_rollup_core" "reveal_preimage" (func $reveal (param i32 i32 i32) (result i32)))
          (memory 1) (export "memory" (memory 0))
          (data (i32.const 0) "hello, world!")
          {body})"#
    )
}

#[test]
fn hello_world_prints() {
    for c in COMPILERS {
        let e = FastEngine::new(c);
        let (outcome, _, host) = run(&e, &kernel(r#"(func (export "kernel_run") (call $debug (i32.const 0) (i32.const 13)))"#), 1000);
        assert_eq!(outcome, RunOutcome::Completed);
        assert_eq!(host.debug.entries, vec![b"hello, world!".to_vec()]);
    }
}

#[test]
fn ticks_follow_the_cost_table_exactly() {
    // 10 iterations of 8 one-tick instructions; `loop` and its `end` are free; the function's
    // `end` costs 1 (it returns).
    let counted = kernel(
        r#"(func (export "kernel_run") (local $i i32)
             (loop $l
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 10)))))"#,
    );
    // Three constants, then memory.copy of 64 bytes: 1 + 64/32; then the `end`.
    let bulk = kernel(r#"(func (export "kernel_run") (memory.copy (i32.const 0) (i32.const 100) (i32.const 65)))"#);
    // A host call is one tick (the call), plus its two arguments and the `end`.
    let host_call = kernel(r#"(func (export "kernel_run") (call $debug (i32.const 0) (i32.const 1)))"#);
    for c in COMPILERS {
        let e = FastEngine::new(c);
        for (wat, expected) in [(&counted, 81), (&bulk, 3 + 1 + 3 + 1), (&host_call, 4)] {
            let (outcome, ticks, _) = run(&e, wat, expected);
            assert_eq!((outcome, ticks), (RunOutcome::Completed, expected), "{c}: {wat}");
            let (outcome, _, _) = run(&e, wat, expected - 1);
            assert_eq!(outcome, RunOutcome::Failed(Failure::OutOfTicks), "{c}: one tick short");
        }
    }
}

#[test]
fn infinite_loops_run_out_of_ticks() {
    for c in COMPILERS {
        let e = FastEngine::new(c);
        let (outcome, ticks, _) = run(&e, &kernel(r#"(func (export "kernel_run") (loop $l (br $l)))"#), 1_000_000);
        assert_eq!(outcome, RunOutcome::Failed(Failure::OutOfTicks));
        assert!(ticks <= 1_000_000);
    }
}

fn recursion(frames: u32, locals: u32) -> String {
    // kernel_run is frame 1; $down(n) calls itself until n = 0, so $down(k) makes k+1 frames.
    kernel(&format!(
        r#"(func $down (param $n i32) (local {})
             (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1))))))
           (func (export "kernel_run") (call $down (i32.const {})))"#,
        "i64 ".repeat(locals as usize),
        frames - 2
    ))
}

#[test]
fn the_call_stack_holds_300_frames_and_no_more() {
    for c in COMPILERS {
        let e = FastEngine::new(c);
        assert_eq!(run(&e, &recursion(300, 0), u64::MAX).0, RunOutcome::Completed, "{c}");
        assert_eq!(run(&e, &recursion(301, 0), u64::MAX).0, RunOutcome::Failed(Failure::CallStackExhausted), "{c}");
        // The largest frames validation allows still fit 300 deep on the native stack.
        assert_eq!(run(&e, &recursion(300, 4095), u64::MAX).0, RunOutcome::Completed, "{c}: large frames");
    }
}

#[test]
fn memory_grows_to_the_limit_and_no_further() {
    let wat = kernel(
        r#"(func (export "kernel_run") (local $pages i32)
             (block $done (loop $l
               (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
               (br $l)))
             (i32.store (i32.const 100) (memory.size))
             (call $debug (i32.const 100) (i32.const 4)))"#,
    );
    for c in COMPILERS {
        let e = FastEngine::new(c);
        let (outcome, _, host) = run(&e, &wat, u64::MAX);
        assert_eq!(outcome, RunOutcome::Completed);
        assert_eq!(host.debug.entries, vec![4096u32.to_le_bytes().to_vec()], "{c}");
    }
}

#[test]
fn traps_and_aborts_are_reported() {
    for c in COMPILERS {
        let e = FastEngine::new(c);
        let (o, _, _) = run(&e, &kernel(r#"(func (export "kernel_run") unreachable)"#), 100);
        assert!(matches!(o, RunOutcome::Failed(Failure::Trap(_))), "{o:?}");
        let (o, _, _) = run(&e, &kernel(r#"(func (export "kernel_run") (drop (i32.load (i32.const 65535))))"#), 100);
        assert!(matches!(o, RunOutcome::Failed(Failure::Trap(_))), "{o:?}");
        let (o, _, _) = run(&e, &kernel(r#"(func (export "kernel_run") (drop (i32.div_u (i32.const 1) (i32.const 0))))"#), 100);
        assert!(matches!(o, RunOutcome::Failed(Failure::Trap(_))), "{o:?}");
        // Asking for a page this node does not have aborts the run (the node's problem).
        let (o, _, _) = run(&e, &kernel(r#"(func (export "kernel_run") (drop (call $reveal (i32.const 200) (i32.const 300) (i32.const 4096))))"#), 100);
        assert!(matches!(o, RunOutcome::Aborted(Abort::MissingPreimage(_))), "{o:?}");
    }
}

#[test]
fn kernels_that_do_not_load_say_why() {
    let e = FastEngine::new(Compiler::Cranelift);
    let bad = wat::parse_str(r#"(module (memory 1) (export "m" (memory 0)) (func (export "kernel_run") (drop (f32.const 1))))"#).unwrap();
    assert!(matches!(e.load([1; 32], &bad), Err(LoadError::Invalid(_))));
    // An active data segment past the end of memory fails to initialise.
    let oob = wat::parse_str(r#"(module (memory 1) (export "m" (memory 0)) (data (i32.const 65535) "ab") (func (export "kernel_run")))"#).unwrap();
    assert!(matches!(e.load([2; 32], &oob), Err(LoadError::Initialise(_))), "{:?}", e.load([2; 32], &oob));
}

#[test]
fn each_run_starts_from_fresh_memory() {
    // The first run writes a marker to memory; a second run must not see it.
    let wat = kernel(
        r#"(func (export "kernel_run")
             (if (i32.load8_u (i32.const 500)) (then (call $debug (i32.const 0) (i32.const 5))))
             (i32.store8 (i32.const 500) (i32.const 1)))"#,
    );
    let e = FastEngine::new(Compiler::Cranelift);
    let bytes = wat::parse_str(&wat).unwrap();
    let k = e.load([3; 32], &bytes).unwrap();
    let r1 = e.run(&k, host(), 1000);
    let r2 = e.run(&k, r1.host, 1000);
    assert_eq!(r2.outcome, RunOutcome::Completed);
    assert!(r2.host.debug.entries.is_empty());
}
