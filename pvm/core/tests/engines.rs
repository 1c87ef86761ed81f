//! The reference machine against fast execution, level by level: the example kernels on their
//! workloads and hand-written kernels at the edges of the machine (300 frames, the memory and
//! table limits, bulk copies that overlap, `br_table`, `call_indirect` and its traps,
//! multi-value, budget exhaustion). Every level must give the same state hash and, for every
//! run that completed, exactly the same tick count; a divergence names the level and the run.

use std::path::PathBuf;

use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata, Transfer, Wei};
use pvm::{EngineKind, LevelInput, Pvm, PvmConfig, RunEnd};
use transfer_tx::{deposit_payload, AccountId, Operation, SignedOperation};

const ROLLUP: Address = Address([0x42; 20]);

fn config(engine: EngineKind, budget: u64) -> PvmConfig {
    let mut c = PvmConfig::new(RollupMetadata { address: ROLLUP, origination_level: 3 });
    c.engine = engine;
    c.tick_budget = budget;
    c
}

fn info(level: u32) -> InfoPerLevel {
    InfoPerLevel { timestamp_ms: u64::from(level) * 1000, block_hash: Hash32([level as u8; 32]) }
}

/// Runs `levels` on both engines and compares them level by level.
fn compare(name: &str, kernel: &[u8], budget: u64, levels: &[(Vec<Transfer>, Vec<Vec<u8>>)]) {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut fast = Pvm::create(a.path(), kernel, config(EngineKind::Fast, budget)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut reference = Pvm::create(b.path(), kernel, config(EngineKind::Reference, budget)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(fast.head().state_hash, reference.head().state_hash, "{name}: genesis");
    for (i, (transfers, externals)) in levels.iter().enumerate() {
        let level = i as u32 + 1;
        let input = LevelInput::new(level, info(level), transfers, externals);
        let f = fast.run_level(input.clone()).unwrap_or_else(|e| panic!("{name}: fast, level {level}: {e}"));
        let r = reference.run_level(input).unwrap_or_else(|e| panic!("{name}: reference, level {level}: {e}"));
        assert_eq!(f.runs.len(), r.runs.len(), "{name}: level {level}: runs {:?} vs {:?}", f.runs, r.runs);
        for (run, (x, y)) in f.runs.iter().zip(&r.runs).enumerate() {
            let completed = |e: &RunEnd| matches!(e, RunEnd::Completed { .. });
            assert_eq!(completed(&x.end), completed(&y.end), "{name}: level {level} run {run}: {:?} vs {:?}", x.end, y.end);
            assert_eq!(x.inputs_read, y.inputs_read, "{name}: level {level} run {run}: inputs read");
            if completed(&x.end) {
                assert_eq!(x.metered_ticks, y.metered_ticks, "{name}: level {level} run {run}: ticks (fast, reference)");
            }
        }
        assert_eq!(f.record, r.record, "{name}: level {level}: state");
        assert_eq!(f.debug, r.debug, "{name}: level {level}: debug output");
    }
}

fn built(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run kernels/build.sh", path.display()))
}

fn externals(items: &[&[u8]]) -> (Vec<Transfer>, Vec<Vec<u8>>) {
    (Vec::new(), items.iter().map(|x| x.to_vec()).collect())
}

#[test]
fn the_example_kernels_agree_on_their_workloads() {
    compare("echo", &built("echo.wasm"), 1_000_000_000, &[externals(&[b"hello", b"world"]), externals(&[]), externals(&[&[7u8; 4095]])]);
    compare("counter", &built("counter.wasm"), 1_000_000_000, &[externals(&[&[1], &[2]]), externals(&[&[3]]), externals(&[b"junk"])]);

    let secret = |i: u8| [i + 1; 32];
    let ids: Vec<AccountId> = (0..3).map(|i| AccountId::from_secret(&secret(i))).collect();
    let deposits: Vec<Transfer> =
        ids.iter().map(|id| Transfer { sender: Address([9; 20]), value: Wei::from_u128(1000), payload: deposit_payload(id).to_vec() }).collect();
    let mut txs = Vec::new();
    for n in 0..4u64 {
        let from = (n % 3) as u8;
        let op = Operation::Transfer { to: ids[((from + 1) % 3) as usize], amount: 10 };
        txs.push(SignedOperation::sign(&secret(from), op, n / 3, &ROLLUP).encode());
    }
    let withdraw = SignedOperation::sign(&secret(0), Operation::Withdrawal { recipient: Address([5; 20]), amount: 7 }, 2, &ROLLUP).encode();
    let bad_signature = {
        let mut t = txs[0].clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        t
    };
    compare(
        "transfer",
        &built("transfer.wasm"),
        1_000_000_000,
        &[(deposits, txs), (Vec::new(), vec![withdraw, bad_signature, b"garbage".to_vec()])],
    );
}

const IMPORTS: &str = r#"
  (import "smart_rollup_core" "read_input" (func $read_input (param i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "write_output" (func $write_output (param i32 i32) (result i32)))
  (import "smart_rollup_core" "write_debug" (func $write_debug (param i32 i32)))"#;

fn wat_kernel(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {IMPORTS} {body})")).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

/// Saves `len` bytes of memory from `at` under `/m` and as an outbox message: the state then
/// shows what the instructions computed.
const SAVE: &str = r#"
  (func $save (param $at i32) (param $len i32)
    (drop (call $store_write (i32.const 0) (i32.const 2) (i32.const 0) (local.get $at) (local.get $len)))
    (drop (call $write_output (local.get $at) (local.get $len))))"#;

#[test]
fn kernels_at_the_edges_of_the_machine_agree() {
    let one = [externals(&[b"x"]), externals(&[])];
    // Recursion to exactly 300 frames completes; one more frame fails the run.
    for (depth, name) in [(299, "299 calls deep"), (300, "300 calls deep")] {
        let k = wat_kernel(&format!(
            r#"(memory 1) (export "memory" (memory 0)) (data (i32.const 0) "/m")
               {SAVE}
               (func $down (param $n i32) (result i32)
                 (if (result i32) (local.get $n)
                   (then (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
                   (else (i32.const 0))))
               (func (export "kernel_run")
                 (i32.store (i32.const 64) (call $down (i32.const {depth})))
                 (call $save (i32.const 64) (i32.const 4)))"#
        ));
        compare(name, &k, 10_000_000, &one);
    }
    // Memory: grow to the 4,096-page limit and past it, write at the very end, fill and
    // overlapping copies in both directions, memory.init and data.drop.
    let k = wat_kernel(&format!(
        r#"(memory 1) (export "memory" (memory 0)) (data (i32.const 0) "/m")
           (data $p "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
           {SAVE}
           (func (export "kernel_run") (local $old i32)
             (local.set $old (memory.grow (i32.const 4095)))
             (i32.store (i32.const 100) (local.get $old))
             (i32.store (i32.const 104) (memory.grow (i32.const 1)))
             (i32.store (i32.const 108) (memory.size))
             (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)) (i32.const 0xdeadbeef))
             (i32.store (i32.const 112) (i32.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))))
             (memory.init $p (i32.const 200) (i32.const 3) (i32.const 50))
             (memory.copy (i32.const 205) (i32.const 200) (i32.const 40))
             (memory.copy (i32.const 300) (i32.const 200) (i32.const 77))
             (memory.copy (i32.const 290) (i32.const 300) (i32.const 77))
             (memory.fill (i32.const 400) (i32.const 0x5a) (i32.const 1000))
             (memory.fill (i32.const 1400) (i32.const 1) (i32.const 0))
             (data.drop $p)
             (call $save (i32.const 100) (i32.const 1400)))"#
    ));
    compare("memory", &k, 10_000_000, &one);
    // The same memory.init after data.drop traps: the run fails and is rolled back.
    let k = wat_kernel(&format!(
        r#"(memory 1) (export "memory" (memory 0)) (data (i32.const 0) "/m") (data $p "abc")
           {SAVE}
           (func (export "kernel_run")
             (call $save (i32.const 0) (i32.const 2))
             (data.drop $p)
             (memory.init $p (i32.const 200) (i32.const 0) (i32.const 1)))"#
    ));
    compare("memory.init after data.drop", &k, 10_000_000, &one);
    // Tables: 65,536 elements, growth to the limit and past it, fill, copy both ways, init,
    // call_indirect through every kind of element, and its traps.
    let k = wat_kernel(&format!(
        r#"(memory 1) (export "memory" (memory 0)) (data (i32.const 0) "/m")
           (type $ii (func (param i32) (result i32)))
           (table $t 65000 funcref)
           (elem $e func $inc $dbl $inc)
           (elem (table $t) (i32.const 10) func $dbl $inc)
           {SAVE}
           (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
           (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
           (func (export "kernel_run")
             (i32.store (i32.const 100) (table.grow $t (ref.null func) (i32.const 536)))
             (i32.store (i32.const 104) (table.grow $t (ref.null func) (i32.const 1)))
             (i32.store (i32.const 108) (table.size $t))
             (table.fill $t (i32.const 100) (ref.func $inc) (i32.const 50))
             (table.init $t $e (i32.const 200) (i32.const 0) (i32.const 3))
             (table.copy $t $t (i32.const 201) (i32.const 200) (i32.const 3))
             (table.copy $t $t (i32.const 99) (i32.const 100) (i32.const 5))
             (i32.store (i32.const 112) (call_indirect (type $ii) (i32.const 5) (i32.const 10)))
             (i32.store (i32.const 116) (call_indirect (type $ii) (i32.const 5) (i32.const 202)))
             (i32.store (i32.const 120) (call_indirect (type $ii) (i32.const 5) (i32.const 120)))
             (i32.store (i32.const 124) (ref.is_null (table.get $t (i32.const 65535))))
             (call $save (i32.const 100) (i32.const 28)))"#
    ));
    compare("tables", &k, 10_000_000, &one);
    // call_indirect's traps: past the table, a null element, a function of another type.
    for (index, name) in [(3, "undefined element"), (1, "null element"), (0, "type mismatch")] {
        let k = wat_kernel(&format!(
            r#"(memory 1) (export "memory" (memory 0))
               (type $ii (func (param i32) (result i32)))
               (table 3 funcref) (elem (i32.const 0) func $other)
               (func $other (result i64) (i64.const 1))
               (func (export "kernel_run") (drop (call_indirect (type $ii) (i32.const 5) (i32.const {index}))))"#
        ));
        compare(name, &k, 100_000, &one);
    }
    // Control: br_table over blocks with results, loops with parameters, multi-value returns,
    // select, early returns from nested blocks.
    let k = wat_kernel(&format!(
        r#"(memory 1) (export "memory" (memory 0)) (data (i32.const 0) "/m")
           {SAVE}
           (func $pair (param i32) (result i32 i32) (local.get 0) (i32.mul (local.get 0) (i32.const 3)))
           (func $classify (param $x i32) (result i32)
             (block $c (result i32)
               (block $b (result i32)
                 (block $a (result i32)
                   (i32.const 100) (local.get $x)
                   (br_table $a $b $c)) 
                 (return (i32.add (i32.const 1))))
               (i32.add (i32.const 2)))
             (i32.add (i32.const 3)))
           (func $sum (param $n i32) (result i32)
             (i32.const 0) (local.get $n)
             (loop $l (param i32 i32) (result i32)
               (local.set $n)
               (i32.add (local.get $n))
               (local.get $n) (i32.const 1) (i32.sub)
               (local.tee $n) (local.get $n) (br_if $l)
               (drop)))
           (func (export "kernel_run") (local $i i32)
             (block $done (loop $next
               (i32.store (i32.add (i32.const 100) (i32.shl (local.get $i) (i32.const 2))) (call $classify (local.get $i)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $next (i32.lt_u (local.get $i) (i32.const 5)))))
             (i32.store (i32.const 120) (call $sum (i32.const 100)))
             (call $pair (i32.const 7)) (i32.sub) (local.set $i)
             (i32.store (i32.const 124) (local.get $i))
             (i32.store (i32.const 128) (select (i32.const 11) (i32.const 22) (i32.load (i32.const 100))))
             (i64.store (i32.const 132) (i64.extend_i32_s (i32.const -9)))
             (i64.store (i32.const 140) (i64.rotl (i64.const 0x0123456789abcdef) (i64.const 68)))
             (i32.store (i32.const 148) (i32.div_s (i32.const -7) (i32.const 2)))
             (i32.store (i32.const 152) (i32.rem_s (i32.const -2147483648) (i32.const -1)))
             (call $save (i32.const 100) (i32.const 60)))"#
    ));
    compare("control", &k, 10_000_000, &one);
    // Out of ticks: a tight loop fails every run; the failure is rolled back identically.
    let k = wat_kernel(r#"(memory 1) (export "memory" (memory 0)) (func (export "kernel_run") (loop $l (br $l)))"#);
    compare("infinite loop", &k, 100_000, &one);
    // Division by zero and overflow trap.
    let k = wat_kernel(
        r#"(memory 1) (export "memory" (memory 0))
           (func (export "kernel_run") (drop (i32.div_s (i32.const -2147483648) (i32.const -1))))"#,
    );
    compare("overflow", &k, 100_000, &one);
}

/// The states of a run at chosen ticks: the same whether asked for together (the memory tree
/// kept incrementally between them) or one at a time (built from scratch), different from one
/// tick to the next, running then padding; and bad requests are clear errors.
#[test]
fn run_states_are_consistent_and_bad_requests_are_errors() {
    let k = wat_kernel(&format!(
        r#"(memory 2) (export "memory" (memory 0)) (data (i32.const 0) "/m")
           {SAVE}
           (func (export "kernel_run") (local $i i32)
             (loop $l
               (i32.store (i32.mul (local.get $i) (i32.const 4)) (local.get $i))
               (memory.fill (i32.add (i32.const 4000) (local.get $i)) (local.get $i) (i32.const 100))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 300))))
             (call $save (i32.const 0) (i32.const 64)))"#
    ));
    let budget = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &k, config(EngineKind::Fast, budget)).unwrap();
    let input = LevelInput::new(1, info(1), &[], &[b"x".to_vec()]);
    let o = pvm.run_level(input.clone()).unwrap();
    assert_eq!(o.runs.len(), 1);
    let used = o.runs[0].metered_ticks;
    let ticks = [0, 1, 2, 7, 100, 555, 4000, used - 1, used, used + 1, budget - 1];
    let together = pvm.run_states(input.clone(), 0, &ticks).unwrap();
    for (t, s) in ticks.iter().zip(&together) {
        let alone = pvm.run_states(input.clone(), 0, &[*t]).unwrap();
        assert_eq!(alone[0], *s, "tick {t}");
        assert_eq!(s.run_tick, *t);
        // Tick 0 is the driver's start (before it: the previous level's state), tick t from 1
        // executes instruction t - 1, then padding until the driver's end at budget - 1.
        let status = if *t == 0 { 0 } else if *t <= used { 1 } else { 2 };
        assert_eq!(s.status, status, "tick {t}: between levels, running until the return, then padding");
    }
    let mut hashes: Vec<_> = together.iter().map(|s| s.state_hash).collect();
    hashes.dedup();
    assert_eq!(hashes.len(), ticks.len(), "every tick has its own state");
    assert_eq!(together[0].tick, 0, "the first run of level 1 starts at tick 0");

    // A failing run pads as failed.
    let trap = wat_kernel(r#"(memory 1) (export "memory" (memory 0)) (func (export "kernel_run") (nop) (unreachable))"#);
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pvm::create(dir.path(), &trap, config(EngineKind::Fast, 1000)).unwrap();
    p.run_level(input.clone()).unwrap();
    let s = p.run_states(input.clone(), 1, &[0, 1, 999]).unwrap();
    assert_eq!(s.iter().map(|s| s.status).collect::<Vec<_>>(), vec![4, 1, 3], "between runs, at the trap, failed");
    assert_eq!(s[0].tick, 1000, "run 1 starts one budget later");

    // Bad requests.
    let err = |r: Result<Vec<pvm::TickState>, pvm::PvmError>| r.unwrap_err().to_string();
    assert!(err(pvm.run_states(input.clone(), 0, &[budget])).contains("past the run's budget"));
    assert!(err(pvm.run_states(input.clone(), 0, &[5, 3])).contains("increasing"));
    assert!(err(pvm.run_states(input.clone(), 1, &[0])).contains("there is no run 1"));
    let oversized = LevelInput { level: 1, messages: vec![vec![1; 4097]] };
    assert!(err(pvm.run_states(oversized, 0, &[0])).contains("messages are at most 4096"), "a level no run could have had is not replayed");
    let later = LevelInput::new(2, info(2), &[], &[]);
    assert!(err(pvm.run_states(later, 0, &[0])).contains("no state for level 2"));
}
