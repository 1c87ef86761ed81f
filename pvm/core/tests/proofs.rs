//! One-step proofs round trip: for ticks spread over runs of real kernels (the example
//! kernels, kernels at the machine's edges, random kernels), `verify_step(pre, prove(t))` is
//! the state the reference machine reaches after tick `t`, and a proof changed in any byte is
//! rejected or gives another state. Host calls are proven against a synthetic L1 holding the
//! level (its accumulator and delayed-message hashes) and the preimage pages the kernel reveals.
//! The level driver's ticks (a run's first and last) are proven too and chain the runs of a
//! level into the committed level state. Steps this version does not prove (a kernel upgrade's
//! first tick) are counted, not hidden.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata, Transfer};
use pvm::{verify_step, LevelInput, PreimageMap, ProofError, Pvm, PvmConfig, PvmError, ReplayError, StepContext, SyntheticL1};

fn info(level: u32) -> InfoPerLevel {
    InfoPerLevel { timestamp_ms: u64::from(level), block_hash: Hash32([level as u8; 32]) }
}

/// A deterministic stream (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Default)]
struct Tally {
    proven: usize,
    not_provable: BTreeMap<String, usize>,
    tampered: usize,
    bytes: BTreeMap<String, (usize, usize)>,
}

/// Flips each byte of a proof in turn: none may give the honest post-state.
fn tamper_every_byte(name: &str, t: u64, p: &pvm::StepProof, ctx: &StepContext<'_>) -> usize {
    for i in 0..p.proof.len() {
        let mut bad = p.proof.clone();
        bad[i] ^= 0x41;
        assert_ne!(verify_step(&p.pre.state_hash, &bad, ctx).ok(), Some(p.post.state_hash), "{name}: tick {t}: byte {i} changed");
    }
    p.proof.len()
}

/// Proves `samples` ticks of run 0 of level 1 of `kernel`, spread over the ticks it really
/// executed (every one when it executed no more), plus the first and a padding tick.
fn round_trip(name: &str, kernel: &[u8], externals: &[Vec<u8>], samples: usize, tally: &mut Tally, rng: &mut Rng) -> bool {
    round_trip_with(name, kernel, &[], externals, PreimageMap::default(), samples, tally, rng)
}

#[allow(clippy::too_many_arguments)]
fn round_trip_with(
    name: &str,
    kernel: &[u8],
    transfers: &[Transfer],
    externals: &[Vec<u8>],
    pages: PreimageMap,
    samples: usize,
    tally: &mut Tally,
    rng: &mut Rng,
) -> bool {
    let budget = 50_000_000;
    let pages = Arc::new(pages);
    let mut config = PvmConfig::new(RollupMetadata { address: Address([7; 20]), origination_level: 1 });
    config.tick_budget = budget;
    config.preimages = pages.clone();
    let metadata = config.metadata;
    let dir = tempfile::tempdir().unwrap();
    let Ok(mut pvm) = Pvm::create(dir.path(), kernel, config) else { return false };
    let input = LevelInput::new(1, info(1), transfers, externals);
    let mut l1 = SyntheticL1::new();
    l1.post_level(1, &input.messages).unwrap();
    let o = pvm.run_level(input.clone()).unwrap();
    // Tick t (from 1) executes instruction t - 1: the run's instructions are ticks 1..=used.
    let used = o.runs[0].metered_ticks.max(1);
    let mut ticks: Vec<u64> = if used as usize <= samples { (1..=used).collect() } else { (0..samples).map(|_| 1 + rng.next() % used).collect() };
    // The driver's first tick, the first instruction, the last one (the return, or the trap),
    // the first and the last padding tick, the driver's last tick.
    ticks.extend([0, 1, used, used + 1, budget - 2, budget - 1]);
    ticks.sort_unstable();
    ticks.dedup();
    let kernels = pvm.module_roots(1).unwrap();
    let ctx = StepContext { tick_budget: budget, metadata, inbox: &l1, preimages: pages.as_ref(), kernels: &kernels };
    for t in ticks {
        let p = match pvm.prove_tick(input.clone(), 0, t, l1.level(1)) {
            Ok(p) => p,
            Err(PvmError::Replay { error: ReplayError::Proof(ProofError::NotProvable(what)), .. }) => {
                *tally.not_provable.entry(what).or_default() += 1;
                continue;
            }
            Err(e) => panic!("{name}: tick {t}: {e}"),
        };
        assert_eq!(p.pre.run_tick, t);
        let got = verify_step(&p.pre.state_hash, &p.proof, &ctx).unwrap_or_else(|e| panic!("{name}: tick {t}: {e}"));
        assert_eq!(got, p.post.state_hash, "{name}: tick {t}: the verifier's post-state is not the machine's");
        tally.proven += 1;
        let class = match t {
            0 => "driver: run start".into(),
            t if t + 1 == budget => "driver: run end".into(),
            _ if p.pre.status == 1 => op_at(&p.proof),
            _ => "padding".into(),
        };
        if (class.starts_with("HostCall") || class.starts_with("driver")) && !tally.bytes.contains_key(&class) {
            // The first proof of each host function: every byte changed in turn.
            tally.tampered += tamper_every_byte(name, t, &p, &ctx);
        }
        let e = tally.bytes.entry(class).or_default();
        e.0 += 1;
        e.1 = e.1.max(p.proof.len());
        // Tampering: a flipped bit anywhere never yields the honest post-state of this step.
        for _ in 0..4 {
            let mut bad = p.proof.clone();
            let i = (rng.next() % bad.len() as u64) as usize;
            bad[i] ^= 1 << (rng.next() % 8);
            assert_ne!(verify_step(&p.pre.state_hash, &bad, &ctx).ok(), Some(p.post.state_hash), "{name}: tick {t}: byte {i} flipped");
            tally.tampered += 1;
        }
        // Truncated or extended proofs are errors.
        assert!(verify_step(&p.pre.state_hash, &p.proof[..p.proof.len() - 1], &ctx).is_err());
        assert!(verify_step(&p.pre.state_hash, &[&p.proof[..], &[0]].concat(), &ctx).is_err());
        // A proof against another pre-state is refused.
        assert_eq!(verify_step(&p.post.state_hash, &p.proof, &ctx), Err(ProofError::PreState));
    }
    true
}

/// The instruction of a running step's proof (right after the fixed header); for a host call,
/// the host function.
fn op_at(proof: &[u8]) -> String {
    let h = pvm_reference::proof::HEADER_SIZE;
    let code = u16::from_be_bytes([proof[h], proof[h + 1]]);
    let op = pvm_reference::code::ALL_OPS.iter().find(|o| **o as u16 == code);
    if op == Some(&pvm_reference::code::Op::HostCall) {
        let imm = u64::from_be_bytes(proof[h + 2..h + 10].try_into().unwrap());
        if let Some(t) = pvm_reference::code::HostTarget::unpack(imm) {
            return format!("HostCall {}", t.func.map_or("?", |f| f.name()));
        }
    }
    op.map_or(format!("{code:#x}"), |o| format!("{o:?}"))
}

fn built(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run kernels/build.sh", path.display()))
}

#[test]
fn proofs_round_trip_and_tampering_is_caught() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let wat = |body: &str| wat::parse_str(body).unwrap();
    round_trip("counter", &built("counter.wasm"), &[vec![1], vec![2]], 150, &mut tally, &mut rng);
    round_trip("echo", &built("echo.wasm"), &[b"hello".to_vec()], 100, &mut tally, &mut rng);
    let junk = vec![0x01, 0x02, 0x03];
    round_trip("transfer", &built("transfer.wasm"), &[junk], 60, &mut tally, &mut rng);
    round_trip(
        "arithmetic, memory, calls",
        &wat(r#"(module (memory 2) (export "memory" (memory 0)) (global $g (mut i64) (i64.const 5))
            (func $f (param $x i64) (result i64) (local $y i32)
              (local.set $y (i32.wrap_i64 (local.get $x)))
              (i64.store offset=65530 (i32.const 0) (i64.mul (local.get $x) (global.get $g)))
              (i32.store16 offset=31 (i32.const 0) (local.get $y))
              (global.set $g (i64.add (global.get $g) (i64.load offset=65530 (i32.const 0))))
              (i64.extend_i32_s (i32.load8_s offset=31 (i32.const 0))))
            (func $t (param i32) (result i32)
              (block $a (block $b (block $c (br_table $a $b $c (local.get 0))) (return (i32.const 3))) (return (i32.const 2)))
              (i32.const 1))
            (func (export "kernel_run") (local $i i32)
              (drop (memory.grow (i32.const 1)))
              (loop $l
                (drop (call $f (i64.extend_i32_u (local.get $i))))
                (drop (call $t (i32.rem_u (local.get $i) (i32.const 4))))
                (drop (select (i32.const 1) (i32.const 2) (local.get $i)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
              (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#),
        &[],
        300,
        &mut tally,
        &mut rng,
    );
    // Random kernels (wasm-smith): the verifier against the machine on code nobody wrote.
    let mut random = 0;
    let n = common::seeds(40);
    for seed in 0..n {
        let data = common::bytes(seed, 16 * 1024);
        let mut u = arbitrary::Unstructured::new(&data);
        let mut config = common::smith_config();
        config.multi_value_enabled = true;
        let Ok(module) = wasm_smith::Module::new(config, &mut u) else { continue };
        let wasm = common::export_memory(&module.to_bytes());
        if pvm_validate::validate(&wasm).is_ok() && round_trip(&format!("random kernel {seed}"), &wasm, &[b"/key".to_vec(), vec![1; 40]], 12, &mut tally, &mut rng) {
            random += 1;
        }
    }
    round_trip(
        "tables",
        &wat(r#"(module (memory 1) (export "memory" (memory 0))
            (type $ii (func (param i32) (result i32)))
            (table $t 8 funcref) (elem (table $t) (i32.const 0) func $inc $dbl $other)
            (table $u 10 100 funcref) (elem $e func $dbl $inc $inc $dbl)
            (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
            (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
            (func $other (result i64) (i64.const 1))
            (func (export "kernel_run") (local $i i32) (local $acc i32)
              (loop $l
                (local.set $acc (call_indirect (type $ii) (local.get $acc) (i32.and (local.get $i) (i32.const 1))))
                (table.set $t (i32.add (i32.const 3) (i32.rem_u (local.get $i) (i32.const 5))) (table.get $t (i32.and (local.get $i) (i32.const 1))))
                (drop (table.size $t))
                (drop (table.grow $u (ref.func $inc) (i32.and (local.get $i) (i32.const 3))))
                (table.fill $u (i32.const 1) (ref.func $dbl) (i32.rem_u (local.get $i) (i32.const 3)))
                (table.copy $u $u (i32.const 2) (i32.const 0) (i32.const 3))
                (table.copy $u $u (i32.const 0) (i32.const 1) (i32.const 2))
                (table.copy $t $u (i32.const 4) (i32.const 1) (i32.const 2))
                (table.init $u $e (i32.const 0) (i32.const 1) (i32.const 3))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
              (drop (table.grow $u (ref.null func) (i32.const 1000)))
              (elem.drop $e)
              (table.init $u $e (i32.const 0) (i32.const 0) (i32.const 0))
              (drop (call_indirect (type $ii) (i32.const 1) (i32.const 2)))))"#),
        &[],
        400,
        &mut tally,
        &mut rng,
    );
    round_trip(
        "bulk memory",
        &wat(r#"(module (memory 1) (export "memory" (memory 0))
            (data $p "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz")
            (func (export "kernel_run") (local $i i32)
              (loop $l
                (memory.init $p (i32.add (i32.const 2000) (i32.mul (local.get $i) (i32.const 3))) (local.get $i) (i32.sub (i32.const 70) (local.get $i)))
                (memory.fill (i32.add (i32.const 1000) (i32.mul (local.get $i) (i32.const 7))) (local.get $i) (i32.add (i32.const 1) (i32.mul (local.get $i) (i32.const 5))))
                (memory.copy (i32.add (i32.const 1003) (local.get $i)) (i32.const 1000) (i32.const 97))
                (memory.copy (i32.const 990) (i32.add (i32.const 1001) (local.get $i)) (i32.const 70))
                (memory.copy (i32.const 65500) (i32.const 900) (i32.const 36))
                (memory.copy (i32.const 10) (i32.const 20) (i32.const 0))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 30))))
              (data.drop $p)
              (memory.init $p (i32.const 0) (i32.const 0) (i32.const 0))
              (memory.fill (i32.const 65535) (i32.const 1) (i32.const 2))))"#),
        &[],
        300,
        &mut tally,
        &mut rng,
    );
    host_calls(&mut tally, &mut rng);
    eprintln!("{} steps proven ({random} random kernels), {} tampered proofs rejected", tally.proven, tally.tampered);
    for (class, (n, max)) in &tally.bytes {
        eprintln!("  {class:>20}: {n:>4} proofs, at most {max} bytes");
    }
    for (what, n) in &tally.not_provable {
        eprintln!("  not provable yet: {what} ({n})");
    }
    assert!(tally.proven >= 600, "{} steps proven", tally.proven);
    for f in pvm_host::HostFn::ALL {
        assert!(tally.bytes.contains_key(&format!("HostCall {}", f.name())), "no proof of a {} step", f.name());
    }
    assert!(random >= n / 2, "{random} of {n} random kernels");
    assert!(tally.bytes.contains_key("driver: run start") && tally.bytes.contains_key("driver: run end"));
}

/// A kernel calling every host function, through `call_indirect` too, with good and bad
/// arguments: reads of every message kind (delayed transfers and transactions), values over
/// one chunk, copies and moves of subtrees, enumeration, read-only keys, reveals, the outbox.
fn host_calls(tally: &mut Tally, rng: &mut Rng) {
    let mut pages = PreimageMap::default();
    let page: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let hash = pages.add(page);
    let hash_data: String = hash.0.iter().map(|b| format!("\\{b:02x}")).collect();
    let kernel = wat::parse_str(format!(
        r#"(module
          (import "smart_rollup_core" "read_input" (func $read_input (param i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "write_output" (func $write_output (param i32 i32) (result i32)))
          (import "smart_rollup_core" "write_debug" (func $write_debug (param i32 i32)))
          (import "smart_rollup_core" "store_has" (func $store_has (param i32 i32) (result i32)))
          (import "smart_rollup_core" "store_delete" (func $store_delete (param i32 i32) (result i32)))
          (import "smart_rollup_core" "store_copy" (func $store_copy (param i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_move" (func $store_move (param i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_read" (func $store_read (param i32 i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_value_size" (func $store_value_size (param i32 i32) (result i32)))
          (import "smart_rollup_core" "store_list_size" (func $store_list_size (param i32 i32) (result i64)))
          (import "smart_rollup_core" "store_get_nth_key" (func $store_get_nth_key (param i32 i32 i64 i32 i32) (result i32)))
          (import "smart_rollup_core" "reveal_preimage" (func $reveal_preimage (param i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "reveal_metadata" (func $reveal_metadata (param i32 i32) (result i32)))
          (type $ptrlen (func (param i32 i32) (result i32)))
          (table 2 funcref) (elem (i32.const 0) $store_has $write_output)
          (memory 2) (export "memory" (memory 0))
          (data (i32.const 0) "/a/b") (data (i32.const 16) "/a/c") (data (i32.const 32) "/x")
          (data (i32.const 48) "/readonly/kernel/env/reboot_counter") (data (i32.const 100) "/bad key")
          (data (i32.const 120) "/a") (data (i32.const 130) "/x/y") (data (i32.const 140) "/nothing")
          (data (i32.const 200) "{hash_data}") (data (i32.const 240) "\01")
          (func (export "kernel_run") (local $n i32)
            ;; a destination past the end of memory: -6, the message stays unread
            (drop (call $read_input (i32.const 300) (i32.const 304) (i32.const 131070) (i32.const 4096)))
            (loop $in
              (local.set $n (call $read_input (i32.const 301) (i32.const 306) (i32.const 1030) (i32.const 4096)))
              (if (i32.gt_s (local.get $n) (i32.const 0)) (then
                (drop (call $store_write (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 1030) (local.get $n)))
                (drop (call $write_output (i32.const 1030) (local.get $n)))
                (br $in))))
            (drop (call $store_write (i32.const 32) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 4096)))
            (drop (call $store_write (i32.const 32) (i32.const 2) (i32.const 4096) (i32.const 5) (i32.const 4096)))
            (drop (call $store_write (i32.const 32) (i32.const 2) (i32.const 100000) (i32.const 5) (i32.const 1)))
            (drop (call $store_write (i32.const 32) (i32.const 2) (i32.const 0) (i32.const 5) (i32.const 5000)))
            (drop (call $store_read (i32.const 32) (i32.const 2) (i32.const 1000) (i32.const 5000) (i32.const 3000)))
            (drop (call $store_read (i32.const 48) (i32.const 35) (i32.const 0) (i32.const 5000) (i32.const 4)))
            (drop (call $store_read (i32.const 140) (i32.const 8) (i32.const 0) (i32.const 5000) (i32.const 4)))
            (drop (call $store_has (i32.const 120) (i32.const 2)))
            (drop (call $store_has (i32.const 140) (i32.const 8)))
            (drop (call $store_has (i32.const 100) (i32.const 8)))
            (drop (call $store_has (i32.const 0) (i32.const 300)))
            (drop (call $store_has (i32.const 131070) (i32.const 10)))
            (drop (call $store_copy (i32.const 120) (i32.const 2) (i32.const 130) (i32.const 4)))
            (drop (call $store_copy (i32.const 140) (i32.const 8) (i32.const 130) (i32.const 4)))
            (drop (call $store_copy (i32.const 120) (i32.const 2) (i32.const 48) (i32.const 35)))
            (drop (call $store_move (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 4)))
            (drop (call $store_move (i32.const 48) (i32.const 35) (i32.const 16) (i32.const 4)))
            (drop (call $store_value_size (i32.const 32) (i32.const 2)))
            (drop (call $store_value_size (i32.const 140) (i32.const 8)))
            (drop (call $store_list_size (i32.const 32) (i32.const 2)))
            (drop (call $store_get_nth_key (i32.const 32) (i32.const 2) (i64.const 0) (i32.const 7000) (i32.const 10)))
            (drop (call $store_get_nth_key (i32.const 32) (i32.const 2) (i64.const 1) (i32.const 7000) (i32.const 10)))
            (drop (call $store_get_nth_key (i32.const 32) (i32.const 2) (i64.const -1) (i32.const 7000) (i32.const 10)))
            (drop (call $store_get_nth_key (i32.const 32) (i32.const 2) (i64.const 9) (i32.const 7000) (i32.const 10)))
            (drop (call $store_delete (i32.const 48) (i32.const 35)))
            (drop (call $store_delete (i32.const 16) (i32.const 4)))
            (drop (call $reveal_preimage (i32.const 200) (i32.const 33) (i32.const 8000) (i32.const 4096)))
            (drop (call $reveal_preimage (i32.const 200) (i32.const 32) (i32.const 8000) (i32.const 4096)))
            (drop (call $reveal_preimage (i32.const 240) (i32.const 33) (i32.const 8000) (i32.const 4096)))
            (drop (call $reveal_preimage (i32.const 200) (i32.const 33) (i32.const 131000) (i32.const 4096)))
            (drop (call $reveal_metadata (i32.const 400) (i32.const 24)))
            (drop (call $reveal_metadata (i32.const 131060) (i32.const 24)))
            (call $write_debug (i32.const 0) (i32.const 10))
            (call $write_debug (i32.const 131000) (i32.const 1000))
            (drop (call $write_output (i32.const 0) (i32.const 5000)))
            (drop (call $write_output (i32.const 131000) (i32.const 100)))
            (drop (call_indirect (type $ptrlen) (i32.const 120) (i32.const 2) (i32.const 0)))
            (drop (call_indirect (type $ptrlen) (i32.const 0) (i32.const 4) (i32.const 1)))))"#
    ))
    .unwrap();
    let transfers = [
        Transfer { sender: Address([3; 20]), value: protocol::Wei([5; 32]), payload: vec![9; 100] },
        Transfer { sender: Address([4; 20]), value: protocol::Wei([0; 32]), payload: vec![] },
    ];
    let externals = [vec![1; 700], vec![2; 3], vec![]];
    assert!(round_trip_with("host calls", &kernel, &transfers, &externals, pages, 2000, tally, rng));
}


/// The driver's ticks chain the runs of a level: a kernel that reboots, deletes its own module
/// (the driver restores the fallback), traps (rolled back), loops until out of ticks (fails at
/// the driver's end tick) and finally returns. Both driver ticks of every run are proven and
/// tampered with, and the states they give chain from the previous level's committed state to
/// this level's.
#[test]
fn driver_ticks_chain_every_run_of_a_level() {
    let kernel = wat::parse_str(
        r#"(module
          (import "smart_rollup_core" "store_read" (func $store_read (param i32 i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_delete" (func $store_delete (param i32 i32) (result i32)))
          (import "smart_rollup_core" "write_output" (func $write_output (param i32 i32) (result i32)))
          (memory 1) (export "memory" (memory 0))
          (data (i32.const 0) "/readonly/kernel/env/reboot_counter")
          (data (i32.const 64) "/kernel/env/reboot")
          (data (i32.const 96) "/kernel/boot.wasm")
          (func (export "kernel_run") (local $r i32)
            (drop (call $store_read (i32.const 0) (i32.const 35) (i32.const 0) (i32.const 200) (i32.const 4)))
            (local.set $r (i32.load8_u (i32.const 203)))
            (drop (call $write_output (i32.const 200) (i32.const 4)))
            (if (i32.eq (local.get $r) (i32.const 1)) (then (drop (call $store_delete (i32.const 96) (i32.const 17)))))
            (if (i32.lt_u (local.get $r) (i32.const 3)) (then
              (drop (call $store_write (i32.const 64) (i32.const 18) (i32.const 0) (i32.const 0) (i32.const 0)))))
            (if (i32.eq (local.get $r) (i32.const 2)) (then unreachable))
            (if (i32.eq (local.get $r) (i32.const 3)) (then (loop $forever (br $forever))))))"#,
    )
    .unwrap();
    let budget = 3_000;
    let mut config = PvmConfig::new(RollupMetadata { address: Address([7; 20]), origination_level: 1 });
    config.tick_budget = budget;
    let metadata = config.metadata;
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &kernel, config).unwrap();
    let before = pvm.head().state_hash.0;
    let input = LevelInput::new(1, info(1), &[], &[b"a".to_vec(), b"b".to_vec()]);
    let mut l1 = SyntheticL1::new();
    l1.post_level(1, &input.messages).unwrap();
    let o = pvm.run_level(input.clone()).unwrap();
    // Runs 0 and 1 reboot, run 2 traps, run 3 runs out of ticks, run 4 returns.
    assert_eq!(o.runs.len(), 5, "{:?}", o.runs);
    assert!(matches!(o.runs[2].end, pvm::RunEnd::Failed(_)) && matches!(o.runs[3].end, pvm::RunEnd::Failed(_)));
    assert_eq!(o.outbox.len(), 3, "the failed runs' messages are rolled back");
    let kernels = pvm.module_roots(1).unwrap();
    let preimages = PreimageMap::default();
    let ctx = StepContext { tick_budget: budget, metadata, inbox: &l1, preimages: &preimages, kernels: &kernels };
    let mut state = before;
    let mut tampered = 0;
    for run in 0..o.runs.len() {
        for t in [0, 1, budget - 2, budget - 1] {
            let p = pvm.prove_tick(input.clone(), run, t, l1.level(1)).unwrap_or_else(|e| panic!("run {run} tick {t}: {e}"));
            let got = verify_step(&p.pre.state_hash, &p.proof, &ctx).unwrap_or_else(|e| panic!("run {run} tick {t}: {e}"));
            assert_eq!(got, p.post.state_hash, "run {run} tick {t}");
            if t == 0 {
                assert_eq!(p.pre.state_hash, state, "run {run}: its start is where the previous run ended");
                assert_eq!(p.pre.status, if run == 0 { 0 } else { 4 });
                assert_eq!(p.post.status, 1);
            }
            if t == budget - 1 {
                state = p.post.state_hash;
                assert_eq!(p.pre.status, if run == 3 { 1 } else if run == 2 { 3 } else { 2 }, "run {run}");
                assert_eq!(p.post.status, if run + 1 == o.runs.len() { 0 } else { 4 }, "run {run}");
            }
            if t == 0 || t == budget - 1 {
                tampered += tamper_every_byte("driver", t, &p, &ctx);
            }
        }
    }
    assert_eq!(state, o.record.state_hash.0, "the last run's end is the level's committed state");
    assert!(tampered > 0);
    // Without the kernel in the registry a run's start is refused.
    let p = pvm.prove_tick(input.clone(), 0, 0, l1.level(1)).unwrap();
    let none = pvm::ModuleRoots::default();
    let unknown = StepContext { kernels: &none, ..ctx };
    assert!(matches!(verify_step(&p.pre.state_hash, &p.proof, &unknown), Err(ProofError::UnknownKernel(_))));
}

/// A run whose first tick would load a kernel upgrade is refused by name, not proven wrongly.
#[test]
fn a_run_start_loading_an_upgrade_is_not_provable_yet() {
    let kernel = wat::parse_str(
        r#"(module
          (import "smart_rollup_core" "store_write" (func $store_write (param i32 i32 i32 i32 i32) (result i32)))
          (import "smart_rollup_core" "store_has" (func $store_has (param i32 i32) (result i32)))
          (memory 1) (export "memory" (memory 0))
          (data (i32.const 0) "/kernel/env/reboot") (data (i32.const 32) "/kernel/boot.wasm") (data (i32.const 64) "/done")
          (func (export "kernel_run")
            (if (i32.eqz (call $store_has (i32.const 64) (i32.const 5))) (then
              (drop (call $store_write (i32.const 64) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 1)))
              (drop (call $store_write (i32.const 32) (i32.const 17) (i32.const 0) (i32.const 0) (i32.const 8)))
              (drop (call $store_write (i32.const 0) (i32.const 18) (i32.const 0) (i32.const 0) (i32.const 0)))))))"#,
    )
    .unwrap();
    let mut config = PvmConfig::new(RollupMetadata { address: Address([7; 20]), origination_level: 1 });
    config.tick_budget = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &kernel, config).unwrap();
    let input = LevelInput::new(1, info(1), &[], &[]);
    let mut l1 = SyntheticL1::new();
    l1.post_level(1, &input.messages).unwrap();
    let o = pvm.run_level(input.clone()).unwrap();
    assert_eq!(o.runs.len(), 2);
    match pvm.prove_tick(input, 1, 0, l1.level(1)) {
        Err(PvmError::Replay { error: ReplayError::Proof(ProofError::NotProvable(what)), .. }) => assert!(what.contains("upgrade"), "{what}"),
        other => panic!("an upgrade's first tick: {:?}", other.map(|p| p.post.state_hash)),
    }
}
