//! The level driver with hand-written kernels: atomic failed runs and the stuck flag, the reboot
//! limit, infinite loops, kernel upgrades and their fallback, missing preimages, restarts,
//! reverts, determinism across compilers, and the genesis state.

use std::path::Path;
use std::sync::Arc;

use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata};
use pvm::state::stuck;
use pvm::{Compiler, EngineKind, KernelChange, Key, LevelInput, Pvm, PvmConfig, PvmError, RunEnd};

const IMPORTS: &str = r#"
  (import "smart_rollup_core" "read_input" (func $read_input (param i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_read" (func $store_read (param i32 i32 i32 i32 i32) (result i32)))
  (import "smart_rollup_core" "store_delete" (func $store_delete (param i32 i32) (result i32)))
  (import "smart_rollup_core" "write_output" (func $write_output (param i32 i32) (result i32)))
  (import "smart_rollup_core" "write_debug" (func $write_debug (param i32 i32)))
  (import "smart_rollup_core" "reveal_preimage" (func $reveal_preimage (param i32 i32 i32) (result i32)))
  (memory 1) (export "memory" (memory 0))"#;

fn kernel(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {IMPORTS} {body})")).unwrap()
}

thread_local! {
    /// The engine the current test runs on (every scenario runs on both).
    static ENGINE: std::cell::Cell<EngineKind> = const { std::cell::Cell::new(EngineKind::Fast) };
}

fn config(budget: u64) -> PvmConfig {
    let mut c = PvmConfig::new(RollupMetadata { address: Address([0xaa; 20]), origination_level: 7 });
    c.tick_budget = budget;
    c.engine = ENGINE.with(|e| e.get());
    c
}

fn with_engine(engine: EngineKind, scenario: fn()) {
    ENGINE.with(|e| e.set(engine));
    scenario();
}

/// Every scenario, once with fast execution and once on the reference machine.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod fast {
            $(#[test] fn $name() { super::with_engine(pvm::EngineKind::Fast, super::$name) })*
        }
        mod reference {
            $(#[test] fn $name() { super::with_engine(pvm::EngineKind::Reference, super::$name) })*
        }
    };
}

on_both_engines!(a_failed_run_is_rolled_back_and_the_machine_goes_on, a_trap_as_the_last_input_leaves_the_flag_for_the_next_level, at_most_1000_reboots_per_level, kernels_upgrade_themselves_and_bad_upgrades_fall_back, a_missing_preimage_abandons_the_level_until_the_page_arrives, restarts_reverts_and_compilers_agree, the_outbox_holds_100_messages_a_level_and_proves_each);

fn level(n: u32, externals: &[&[u8]]) -> LevelInput {
    let ext: Vec<Vec<u8>> = externals.iter().map(|e| e.to_vec()).collect();
    LevelInput::new(n, InfoPerLevel { timestamp_ms: u64::from(n), block_hash: Hash32([n as u8; 32]) }, &[], &ext)
}

fn read(pvm: &Pvm, key: &str) -> Option<Vec<u8>> {
    pvm.view(pvm.head().level).unwrap().read(&Key::new(key).unwrap()).unwrap()
}

/// Reports the stuck flag, then for each external message: `t` writes /poison and traps, any
/// other payload is stored at /last.
fn poison_kernel() -> Vec<u8> {
    kernel(
        r#"
  (data (i32.const 0) "/kernel/env/stuck")
  (data (i32.const 32) "/poison")
  (data (i32.const 48) "/last")
  (data (i32.const 64) "stuck:")
  (func (export "kernel_run") (local $n i32)
    (if (i32.eq (call $store_read (i32.const 0) (i32.const 17) (i32.const 0) (i32.const 70) (i32.const 1)) (i32.const 1))
      (then (call $write_debug (i32.const 64) (i32.const 7))))
    (block $done (loop $next
      (local.set $n (call $read_input (i32.const 100) (i32.const 104) (i32.const 200) (i32.const 4096)))
      (br_if $done (i32.eqz (local.get $n)))
      (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 1))
        (then
          (if (i32.eq (i32.load8_u (i32.const 201)) (i32.const 116))
            (then (drop (call $store_write (i32.const 32) (i32.const 7) (i32.const 0) (i32.const 201) (i32.const 1))) unreachable))
          (drop (call $store_write (i32.const 48) (i32.const 5) (i32.const 0) (i32.const 201) (i32.sub (local.get $n) (i32.const 1))))
          (drop (call $write_output (i32.const 201) (i32.sub (local.get $n) (i32.const 1))))))
      (br $next))))"#,
    )
}

fn a_failed_run_is_rolled_back_and_the_machine_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &poison_kernel(), config(1_000_000)).unwrap();
    let o = pvm.run_level(level(1, &[b"a", b"t", b"b"])).unwrap();
    // Run 1 read start, info, "a" (stored) and "t" (stored /poison, trapped): all undone.
    // Run 2 saw the stuck flag, read "b" and end of level.
    assert_eq!(o.runs.len(), 2);
    assert!(matches!(&o.runs[0].end, RunEnd::Failed(why) if why.contains("trap")), "{:?}", o.runs[0]);
    assert_eq!(o.runs[0].inputs_read, 4);
    assert_eq!(o.runs[1].end, RunEnd::Completed { reboot: false });
    assert_eq!(o.debug, vec![b"stuck:\x01".to_vec()]);
    assert_eq!(o.outbox, vec![b"b".to_vec()], "the failed run's outbox message is gone");
    assert_eq!(read(&pvm, "/poison"), None);
    assert_eq!(read(&pvm, "/last"), Some(b"b".to_vec()));
    assert_eq!(read(&pvm, "/kernel/env/stuck"), None, "a run that returns clears the flag");
    assert_eq!(o.ticks, 2 * 1_000_000, "every run counts the whole budget");
    assert_eq!(pvm.head().ticks, 2 * 1_000_000);
}

fn a_trap_as_the_last_input_leaves_the_flag_for_the_next_level() {
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &poison_kernel(), config(1_000_000)).unwrap();
    // The external message is the last but one input: after the failed run only the end of
    // level remains, which run 2 reads.
    let o = pvm.run_level(level(1, &[b"t"])).unwrap();
    assert_eq!(o.runs.len(), 2);
    // A kernel that traps before reading anything loses one input per failed run.
    let looping = kernel(r#"(func (export "kernel_run") (loop $l (br $l)))"#);
    let dir2 = tempfile::tempdir().unwrap();
    let mut looper = Pvm::create(dir2.path(), &looping, config(100_000)).unwrap();
    let o = looper.run_level(level(1, &[b"x"])).unwrap();
    assert_eq!(o.runs.len(), 4, "start, info, x, end: one input dropped per failed run");
    assert!(o.runs.iter().all(|r| matches!(&r.end, RunEnd::Failed(w) if w.contains("tick budget"))), "{:?}", o.runs);
    assert_eq!(read(&looper, "/kernel/env/stuck"), Some(vec![stuck::RUN_FAILED]));
    let again = looper.run_level(level(2, &[])).unwrap();
    assert_eq!(again.runs.len(), 3);
}

fn at_most_1000_reboots_per_level() {
    let always_reboot = kernel(
        r#"(data (i32.const 0) "/kernel/env/reboot")
           (func (export "kernel_run") (drop (call $store_write (i32.const 0) (i32.const 18) (i32.const 0) (i32.const 0) (i32.const 0))))"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &always_reboot, config(1000)).unwrap();
    let o = pvm.run_level(level(1, &[])).unwrap();
    assert_eq!(o.runs.len(), 1001);
    assert_eq!(o.ticks, 1001 * 1000);
    assert_eq!(read(&pvm, "/kernel/env/stuck"), Some(vec![stuck::TOO_MANY_REBOOTS]));
    assert_eq!(read(&pvm, "/readonly/kernel/env/reboot_counter"), Some(1000u32.to_be_bytes().to_vec()));
    assert_eq!(read(&pvm, "/kernel/env/reboot"), None);
}

fn upgrading_kernel(tag: &str) -> Vec<u8> {
    kernel(&format!(
        r#"(data (i32.const 0) "/kernel/boot.wasm")
           (data (i32.const 32) "/kernel/env/reboot")
           (data (i32.const 64) "{tag}")
           (func (export "kernel_run") (local $n i32)
             (call $write_debug (i32.const 64) (i32.const 2))
             (block $done (loop $next
               (local.set $n (call $read_input (i32.const 100) (i32.const 104) (i32.const 200) (i32.const 4096)))
               (br_if $done (i32.eqz (local.get $n)))
               (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 1))
                 (then
                   (drop (call $store_delete (i32.const 0) (i32.const 17)))
                   (drop (call $store_write (i32.const 0) (i32.const 17) (i32.const 0) (i32.const 201) (i32.sub (local.get $n) (i32.const 1))))
                   (drop (call $store_write (i32.const 32) (i32.const 18) (i32.const 0) (i32.const 0) (i32.const 0)))
                   (return)))
               (br $next))))"#
    ))
}

fn kernels_upgrade_themselves_and_bad_upgrades_fall_back() {
    let v1 = upgrading_kernel("v1");
    let v2 = kernel(r#"(data (i32.const 0) "v2") (func (export "kernel_run") (call $write_debug (i32.const 0) (i32.const 2)))"#);
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &v1, config(1_000_000)).unwrap();

    let o = pvm.run_level(level(1, &[b"\0asm garbage"])).unwrap();
    assert_eq!(o.debug, vec![b"v1".to_vec(), b"v1".to_vec()]);
    assert!(matches!(&o.kernel_changes[..], [KernelChange::Rejected { reason }] if reason.contains("invalid kernel")), "{:?}", o.kernel_changes);
    assert_eq!(read(&pvm, "/kernel/boot.wasm"), Some(v1.clone()));

    let o = pvm.run_level(level(2, &[&v2])).unwrap();
    assert_eq!(o.debug, vec![b"v1".to_vec(), b"v2".to_vec()]);
    assert!(matches!(o.kernel_changes[..], [KernelChange::Upgraded { .. }]));
    assert_eq!(read(&pvm, "/readonly/kernel/fallback.wasm"), Some(v2.clone()));
    let o = pvm.run_level(level(3, &[])).unwrap();
    assert_eq!(o.debug, vec![b"v2".to_vec()]);
}

fn a_missing_preimage_abandons_the_level_until_the_page_arrives() {
    let k = kernel(
        r#"(data (i32.const 0) "/page")
           (func (export "kernel_run") (local $n i32)
             (block $done (loop $next
               (local.set $n (call $read_input (i32.const 100) (i32.const 104) (i32.const 200) (i32.const 4096)))
               (br_if $done (i32.eqz (local.get $n)))
               (if (i32.eq (i32.load8_u (i32.const 200)) (i32.const 1))
                 (then
                   (local.set $n (call $reveal_preimage (i32.const 201) (i32.const 1000) (i32.const 4096)))
                   (drop (call $store_write (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 1000) (local.get $n)))))
               (br $next))))"#,
    );
    let pages = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(1_000_000);
    c.preimages = Arc::new(pvm::PreimageDir::new(pages.path()));
    let mut pvm = Pvm::create(dir.path(), &k, c).unwrap();
    let page = protocol::RevealPage::Contents(b"revealed".to_vec()).encode();
    let hash = protocol::RevealHash::of(&page);
    let before = pvm.head();
    let err = pvm.run_level(level(1, &[&hash.0])).unwrap_err();
    assert!(matches!(&err, PvmError::Aborted { level: 1, abort: pvm::Abort::MissingPreimage(h) } if *h == hash), "{err}");
    assert!(err.to_string().contains(&hash.to_hex()));
    assert_eq!(pvm.head(), before, "nothing committed");
    std::fs::write(pages.path().join(hash.to_hex()), &page).unwrap();
    pvm.run_level(level(1, &[&hash.0])).unwrap();
    assert_eq!(read(&pvm, "/page"), Some(page));
}

fn run_levels(dir: &Path, k: &[u8], c: PvmConfig, n: u32) -> Vec<Hash32> {
    let mut pvm = Pvm::open_or_create(dir, k, c).unwrap();
    let start = pvm.head().level + 1;
    (start..start + n).map(|l| pvm.run_level(level(l, &[b"a", b"t", format!("m{l}").as_bytes()])).unwrap().record.state_hash).collect()
}

fn restarts_reverts_and_compilers_agree() {
    let k = poison_kernel();
    let whole = tempfile::tempdir().unwrap();
    let expected = run_levels(whole.path(), &k, config(1_000_000), 6);
    // Stop after three levels, reopen, continue: the same hashes.
    let split = tempfile::tempdir().unwrap();
    let mut got = run_levels(split.path(), &k, config(1_000_000), 3);
    got.extend(run_levels(split.path(), &k, config(1_000_000), 3));
    assert_eq!(got, expected);
    // Singlepass computes the same states.
    let mut sp = config(1_000_000);
    sp.compiler = Compiler::Singlepass;
    let other = tempfile::tempdir().unwrap();
    assert_eq!(run_levels(other.path(), &k, sp, 6), expected);
    // Going back to level 2 and recomputing gives the same states again.
    let mut pvm = Pvm::open(whole.path(), config(1_000_000)).unwrap();
    pvm.revert_to(2).unwrap();
    assert_eq!(pvm.head().state_hash, expected[1]);
    assert!(pvm.record(3).unwrap().is_none());
    drop(pvm);
    assert_eq!(run_levels(whole.path(), &k, config(1_000_000), 4), expected[2..].to_vec());
}

#[test]
fn genesis_and_parameters() {
    let k = poison_kernel();
    let g = Pvm::genesis(&k, &config(1_000_000)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pvm = Pvm::create(dir.path(), &k, config(1_000_000)).unwrap();
    assert_eq!(pvm.head(), g);
    assert_eq!(g.level, 0);
    assert_eq!(g.state_hash, protocol::commitment::state_hash(&g.pvm_root, &g.outbox_root));
    drop(pvm);
    // Another tick budget, another rollup: refused, saying why.
    let err = Pvm::open(dir.path(), config(5)).unwrap_err();
    assert!(err.to_string().contains("tick budget 1000000"), "{err}");
    assert!(matches!(Pvm::create(dir.path(), &k, config(1_000_000)), Err(PvmError::AlreadyExists(_))));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(Pvm::open(empty.path(), config(1)), Err(PvmError::NoState(_))));
    // An invalid origination kernel is refused with the validator's reason.
    let bad = wat::parse_str(r#"(module (func (export "kernel_run")))"#).unwrap();
    assert!(Pvm::genesis(&bad, &config(1)).unwrap_err().to_string().contains("memor"));
    // Levels come in order; oversized messages are refused.
    let mut pvm = Pvm::open(dir.path(), config(1_000_000)).unwrap();
    assert!(matches!(pvm.run_level(level(2, &[])), Err(PvmError::UnexpectedLevel { expected: 1, got: 2 })));
    let big = vec![0u8; 4096];
    assert!(matches!(pvm.run_level(level(1, &[&big])), Err(PvmError::MessageTooLarge { .. })));
}

fn the_outbox_holds_100_messages_a_level_and_proves_each() {
    let k = kernel(
        r#"(func (export "kernel_run") (local $i i32)
             (loop $l
               (i32.store (i32.const 0) (local.get $i))
               (drop (call $write_output (i32.const 0) (i32.const 4)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 150)))))"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &k, config(1_000_000)).unwrap();
    let o1 = pvm.run_level(level(1, &[])).unwrap();
    assert_eq!(o1.outbox.len(), 100);
    let o2 = pvm.run_level(level(2, &[])).unwrap();
    for (at, state) in [(1, o1.record.state_hash), (2, o2.record.state_hash)] {
        for index in [0, 37, 99] {
            let (m, proof) = pvm.outbox_proof(at, 1, index).unwrap();
            assert_eq!(m, index.to_le_bytes());
            assert_eq!(proof.state_hash_for(&m), Some(state));
        }
    }
    assert!(matches!(pvm.outbox_proof(2, 1, 100), Err(PvmError::NoOutboxMessage { .. })));
    assert_eq!(pvm.outbox(2).unwrap().len(), 100);
}

#[test]
fn a_compiler_that_cannot_compile_a_valid_kernel_stops_instead_of_diverging() {
    // Multi-value is valid (Rust may emit it) but wasmer's singlepass cannot compile it.
    let multi = kernel(
        r#"(func $pair (result i32 i32) (i32.const 1) (i32.const 2))
           (func (export "kernel_run") (drop (drop (call $pair))))"#,
    );
    let mut sp = config(1_000_000);
    sp.compiler = Compiler::Singlepass;
    let dir = tempfile::tempdir().unwrap();
    let err = Pvm::create(dir.path(), &multi, sp.clone()).unwrap_err();
    assert!(matches!(err, PvmError::Kernel(pvm_fast::LoadError::Compile(_))), "{err}");
    // As an upgrade: cranelift upgrades, singlepass stops with an engine error (no state).
    let v1 = upgrading_kernel("v1");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cl = Pvm::create(a.path(), &v1, config(1_000_000)).unwrap();
    let o = cl.run_level(level(1, &[&multi])).unwrap();
    assert!(matches!(o.kernel_changes[..], [KernelChange::Upgraded { .. }]));
    let mut single = Pvm::create(b.path(), &v1, sp).unwrap();
    let err = single.run_level(level(1, &[&multi])).unwrap_err();
    assert!(matches!(&err, PvmError::Engine { level: 1, reason } if reason.contains("cranelift")), "{err}");
    assert_eq!(single.head().level, 0);
}
