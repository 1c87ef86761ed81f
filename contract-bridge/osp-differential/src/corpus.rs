//! Steps from real traces, each with what the Rust verifier answers: the honest proof and
//! mutations of it (bits flipped, truncated, extended, against another pre-state).

use std::sync::Arc;

use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata};
use pvm::{verify_step, LevelInput, PreimageMap, ProofError, Pvm, PvmConfig, PvmError, ReplayError, StepContext, SyntheticL1};
use pvm_reference::code::{HostTarget, Op, ALL_OPS};
use pvm_reference::proof::HEADER_SIZE;

use crate::Verdict;

/// Random kernels: the wasm-smith configuration the PVM's own differential tests use.
#[allow(dead_code)]
#[path = "../../../pvm/core/tests/common/mod.rs"]
pub mod smith;

/// The rollup metadata every corpus PVM runs with (`reveal_metadata` answers it).
pub const METADATA: RollupMetadata = RollupMetadata { address: Address([7; 20]), origination_level: 1 };

/// One proof and the Rust verifier's verdict on it.
#[derive(Debug, Clone)]
pub struct Case {
    pub kernel: String,
    pub tick: u64,
    /// The step's class: the instruction (a host call with its function), padding, or a driver
    /// tick.
    pub class: String,
    pub pre: [u8; 32],
    pub proof: Vec<u8>,
    pub rust: Verdict,
    /// `None` for the honest proof, else how it was changed.
    pub mutation: Option<String>,
    /// What the L1 holds of the kernel's inbox (a `read_input` step is checked against it).
    pub inbox: Arc<InboxFacts>,
}

/// The inbox accumulators (batch 0, 1, …) and delayed-message hashes (index 0, 1, …) an L1 holds:
/// a kernel's `SyntheticL1`, as the rollup contract would store it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct InboxFacts {
    pub accumulators: Vec<[u8; 32]>,
    pub delayed: Vec<[u8; 32]>,
}

impl InboxFacts {
    /// Everything `l1` holds.
    pub fn of(l1: &impl pvm::L1Inbox) -> Self {
        let collect = |f: &dyn Fn(u64) -> Option<[u8; 32]>| (0..).map_while(f).collect::<Vec<_>>();
        InboxFacts { accumulators: collect(&|i| l1.accumulator(i)), delayed: collect(&|i| l1.delayed_message_hash(i)) }
    }
}

impl Case {
    /// How a failure names the case (enough to replay it).
    pub fn name(&self) -> String {
        let m = self.mutation.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
        format!("{}: tick {}: {}{m}", self.kernel, self.tick, self.class)
    }
}

/// Two delayed transfers for a level's inbox: a deposit of 5 wei and a plain message.
pub fn sample_transfers() -> Vec<protocol::Transfer> {
    vec![
        protocol::Transfer { sender: Address([9; 20]), value: protocol::Wei::from_u128(5), payload: b"deposit".to_vec() },
        protocol::Transfer { sender: Address([10; 20]), value: protocol::Wei::from_u128(0), payload: vec![0xab; 70] },
    ]
}

/// The corpus's reveal pages: 3,000 bytes and a full 4,096-byte page (what `reveal_kernels`
/// reveal).
pub fn sample_pages() -> PreimageMap {
    let mut pages = PreimageMap::default();
    pages.add((0..3000u32).map(|i| (i * 7 % 251) as u8).collect());
    pages.add(vec![0x5a; 4096]);
    pages
}

/// Kernels revealing the sample pages through both forms of `reveal_preimage`, with the edge
/// cases: a short limit, a destination outside the memory, a hash outside the memory, a hash
/// with an unknown tag, and (second form) a hash length other than 33.
pub fn reveal_kernels() -> Vec<(String, Vec<u8>)> {
    let pages = sample_pages();
    let mut hashes: Vec<String> = pages.0.keys().map(|h| h.0.iter().map(|b| format!("\\{b:02x}")).collect()).collect();
    hashes.sort();
    let data = format!(r#"(data (i32.const 40) "{}") (data (i32.const 80) "{}") (data (i32.const 120) "\01{}")"#, hashes[0], hashes[1], &hashes[0][3..]);
    let form0 = format!(
        r#"(module
          (import "smart_rollup_core" "reveal_preimage" (func $reveal (param i32 i32 i32) (result i32)))
          (memory 1) (export "memory" (memory 0)) {data}
          (func (export "kernel_run")
            (drop (call $reveal (i32.const 40) (i32.const 1000) (i32.const 4096)))
            (drop (call $reveal (i32.const 80) (i32.const 5000) (i32.const 4096)))
            (drop (call $reveal (i32.const 80) (i32.const 233) (i32.const 50)))
            (drop (call $reveal (i32.const 40) (i32.const 65000) (i32.const 4096)))
            (drop (call $reveal (i32.const 65520) (i32.const 0) (i32.const 10)))
            (drop (call $reveal (i32.const 120) (i32.const 0) (i32.const 10)))))"#
    );
    let form1 = format!(
        r#"(module
          (import "smart_rollup_core" "reveal_preimage" (func $reveal (param i32 i32 i32 i32) (result i32)))
          (memory 1) (export "memory" (memory 0)) {data}
          (func (export "kernel_run")
            (drop (call $reveal (i32.const 40) (i32.const 33) (i32.const 1000) (i32.const 4096)))
            (drop (call $reveal (i32.const 80) (i32.const 32) (i32.const 1000) (i32.const 4096)))
            (drop (call $reveal (i32.const 80) (i32.const 33) (i32.const 7) (i32.const 0)))))"#
    );
    [("reveal (hash, dst, max)", form0), ("reveal (hash, len, dst, max)", form1)]
        .into_iter()
        .map(|(name, wat)| (name.to_string(), wat::parse_str(&wat).expect("the reveal kernels are valid wat")))
        .collect()
}

/// A deterministic stream (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The cases drawn so far.
pub struct Corpus {
    /// Ticks per run of every kernel's PVM (the L1's step context must say the same).
    pub budget: u64,
    pub cases: Vec<Case>,
    /// Kernels that ran (random ones the PVM refuses are skipped).
    pub kernels: usize,
    /// Ticks the Rust prover cannot prove yet (a kernel upgrade's first tick).
    pub not_provable: usize,
    /// The delayed transfers of each kernel's level, before its externals.
    pub transfers: Vec<protocol::Transfer>,
    /// The reveal pages every kernel's PVM can reveal (the L1's oracle must hold them too).
    pub pages: Arc<PreimageMap>,
    rng: Rng,
}

impl Corpus {
    pub fn new(budget: u64, seed: u64) -> Self {
        Corpus { budget, cases: Vec::new(), kernels: 0, not_provable: 0, transfers: Vec::new(), pages: Arc::new(sample_pages()), rng: Rng(seed | 1) }
    }

    /// Runs level 1 of `kernel` with the corpus's transfers and `externals` and adds `samples` ticks of its first run,
    /// spread over the instructions it executed (every one when it executed no more), plus the
    /// driver's ticks and padding; each proof with `mutants` bit flips, a truncation, an
    /// extension and a wrong pre-state. `false` if the PVM refuses the kernel.
    pub fn add_kernel(&mut self, name: &str, kernel: &[u8], externals: &[Vec<u8>], samples: usize, mutants: usize) -> bool {
        let budget = self.budget;
        let pages = self.pages.clone();
        let mut config = PvmConfig::new(METADATA);
        config.tick_budget = budget;
        config.preimages = pages.clone();
        let metadata = config.metadata;
        let Ok(dir) = tempfile::tempdir() else { return false };
        let Ok(mut pvm) = Pvm::create(dir.path(), kernel, config) else { return false };
        let info = InfoPerLevel { timestamp_ms: 1, block_hash: Hash32([1; 32]) };
        let input = LevelInput::new(1, info, &self.transfers, externals);
        let mut l1 = SyntheticL1::new();
        if l1.post_level(1, &input.messages).is_err() {
            return false;
        }
        let inbox = Arc::new(InboxFacts::of(&l1));
        let Ok(outcome) = pvm.run_level(input.clone()) else { return false };
        let Ok(kernels) = pvm.module_roots(1) else { return false };
        self.kernels += 1;
        let used = outcome.runs[0].metered_ticks.max(1);
        let mut ticks: Vec<u64> =
            if used as usize <= samples { (1..=used).collect() } else { (0..samples).map(|_| 1 + self.rng.next() % used).collect() };
        ticks.extend([0, 1, used, used + 1, budget - 2, budget - 1]);
        ticks.retain(|t| *t < budget);
        ticks.sort_unstable();
        ticks.dedup();
        let ctx = StepContext { tick_budget: budget, metadata, inbox: &l1, preimages: pages.as_ref(), kernels: &kernels };
        for t in ticks {
            let p = match pvm.prove_tick(input.clone(), 0, t, l1.level(1)) {
                Ok(p) => p,
                Err(PvmError::Replay { error: ReplayError::Proof(ProofError::NotProvable(_)), .. }) => {
                    self.not_provable += 1;
                    continue;
                }
                Err(e) => panic!("{name}: tick {t}: the prover failed: {e}"),
            };
            let class = class_of(&p.proof, budget);
            let pre = p.pre.state_hash;
            let honest = Verdict::of_rust(verify_step(&pre, &p.proof, &ctx));
            assert_eq!(honest, Verdict::Post(p.post.state_hash), "{name}: tick {t}: the Rust verifier disagrees with the machine");
            let case = |proof: Vec<u8>, pre: [u8; 32], mutation: Option<String>| Case {
                kernel: name.to_string(),
                tick: t,
                class: class.clone(),
                pre,
                rust: Verdict::of_rust(verify_step(&pre, &proof, &ctx)),
                proof,
                mutation,
                inbox: inbox.clone(),
            };
            self.cases.push(case(p.proof.clone(), pre, None));
            for _ in 0..mutants {
                let mut bad = p.proof.clone();
                let i = (self.rng.next() % bad.len() as u64) as usize;
                let bit = self.rng.next() % 8;
                bad[i] ^= 1 << bit;
                self.cases.push(case(bad, pre, Some(format!("byte {i} bit {bit} flipped"))));
            }
            if mutants > 0 {
                self.cases.push(case(p.proof[..p.proof.len() - 1].to_vec(), pre, Some("last byte cut".into())));
                self.cases.push(case([&p.proof[..], &[0]].concat(), pre, Some("a byte appended".into())));
                self.cases.push(case(p.proof.clone(), p.post.state_hash, Some("against the post-state".into())));
            }
        }
        true
    }
}

/// The class of a step from its proof's header: a driver tick, padding, or the instruction.
pub fn class_of(proof: &[u8], budget: u64) -> String {
    let status = proof.get(76).copied().unwrap_or(0);
    if status == 0 || status == 4 {
        return "driver: run start".into();
    }
    let run_tick = proof.get(77..85).map(|b| u64::from_be_bytes(b.try_into().unwrap_or_default())).unwrap_or(0);
    if run_tick + 1 == budget {
        return "driver: run end".into();
    }
    if status != 1 {
        return "padding".into();
    }
    let Some(code) = proof.get(HEADER_SIZE..HEADER_SIZE + 2).map(|b| u16::from_be_bytes([b[0], b[1]])) else { return "?".into() };
    let op = ALL_OPS.iter().find(|o| **o as u16 == code);
    if op == Some(&Op::HostCall) {
        let imm = u64::from_be_bytes(proof[HEADER_SIZE + 2..HEADER_SIZE + 10].try_into().unwrap_or_default());
        if let Some(t) = HostTarget::unpack(imm) {
            return format!("HostCall {}", t.func.map_or("?", |f| f.name()));
        }
    }
    op.map_or(format!("{code:#x}"), |o| format!("{o:?}"))
}

/// A random kernel from `seed` (wasm-smith), or `None` if the PVM would refuse it.
pub fn random_kernel(seed: u64) -> Option<Vec<u8>> {
    let data = smith::bytes(seed, 16 * 1024);
    let mut u = arbitrary::Unstructured::new(&data);
    let mut config = smith::smith_config();
    config.multi_value_enabled = true;
    let module = wasm_smith::Module::new(config, &mut u).ok()?;
    let wasm = smith::export_memory(&module.to_bytes());
    pvm_validate::validate(&wasm).ok()?;
    Some(wasm)
}

/// The binary integer instructions, by their wat names (without the `i32.`/`i64.` prefix).
const BINARY: &[&str] = &[
    "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u", "add", "sub", "mul", "div_s", "div_u", "rem_s",
    "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
];
const UNARY: &[&str] = &["eqz", "clz", "ctz", "popcnt"];

/// A kernel that executes every instruction the L1 verifier knows, each on values near the
/// edges (signs, zero, all ones, shift counts past the width), loads and stores of every width
/// at addresses that straddle two memory leaves, and every control and variable instruction.
pub fn every_instruction_kernel() -> Vec<u8> {
    let mut ops = String::new();
    let pairs32 = [(7i64, 3i64), (-2147483648, -1), (-9, 4), (0x7fffffff, 33), (0, -1)];
    let pairs64 = [(7i64, 3i64), (i64::MIN, -1), (-9, 4), (i64::MAX, 65), (0, -1)];
    for (w, pairs) in [("i32", &pairs32), ("i64", &pairs64)] {
        for (a, b) in pairs.iter() {
            for op in BINARY {
                let traps = op.starts_with("div") || op.starts_with("rem");
                if traps && (*b == 0 || (*op == "div_s" && *b == -1)) {
                    continue;
                }
                ops.push_str(&format!("(drop ({w}.{op} ({w}.const {a}) ({w}.const {b})))\n"));
            }
            for op in UNARY {
                ops.push_str(&format!("(drop ({w}.{op} ({w}.const {a})))\n"));
            }
        }
    }
    for v in ["-1", "128", "-32769", "0x7fffffff"] {
        ops.push_str(&format!(
            "(drop (i32.wrap_i64 (i64.const {v}))) (drop (i64.extend_i32_s (i32.const {v}))) (drop (i64.extend_i32_u (i32.const {v})))
             (drop (i32.extend8_s (i32.const {v}))) (drop (i32.extend16_s (i32.const {v})))
             (drop (i64.extend8_s (i64.const {v}))) (drop (i64.extend16_s (i64.const {v}))) (drop (i64.extend32_s (i64.const {v})))\n"
        ));
    }
    // Loads and stores of every width, at a leaf boundary (addresses 27..37 straddle 32).
    for (store, loads) in [
        ("i32.store8", vec!["i32.load8_s", "i32.load8_u"]),
        ("i32.store16", vec!["i32.load16_s", "i32.load16_u"]),
        ("i32.store", vec!["i32.load"]),
        ("i64.store8", vec!["i64.load8_s", "i64.load8_u"]),
        ("i64.store16", vec!["i64.load16_s", "i64.load16_u"]),
        ("i64.store32", vec!["i64.load32_s", "i64.load32_u"]),
        ("i64.store", vec!["i64.load"]),
    ] {
        let t = if store.starts_with("i32") { "i32" } else { "i64" };
        for at in [27, 29, 31, 64] {
            ops.push_str(&format!("({store} offset={at} (local.get $base) ({t}.const -2))\n"));
            for l in &loads {
                ops.push_str(&format!("(drop ({l} offset={at} (local.get $base)))\n"));
            }
        }
    }
    let wat = format!(
        r#"(module
          (memory 1 3) (export "memory" (memory 0))
          (global $g (mut i64) (i64.const 5))
          (data $d "some data")
          (table 1 funcref) (elem $e func $f)
          (elem declare func $t)
          (func $f (param $x i64) (result i64) (local $y i32)
            (local.set $y (i32.wrap_i64 (local.get $x)))
            (global.set $g (i64.add (global.get $g) (local.get $x)))
            (local.tee $y (i32.add (local.get $y) (i32.const 1)))
            (drop)
            (drop (br_if 0 (local.get $x) (i32.eqz (local.get $y))))
            (i64.extend_i32_s (local.get $y)))
          (func $t (param i32) (result i32)
            (block $a (block $b (block $c (br_table $a $b $c (local.get 0))) (return (i32.const 3))) (br $a))
            (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))
          (func $u (param i32)
            (block $a (br_table $a 1 (local.get 0)))
            (nop))
          (func (export "kernel_run") (local $base i32) (local $i i32)
            (drop (memory.size))
            (drop (memory.grow (i32.const 1)))
            (drop (memory.grow (i32.const 5)))
            (drop (ref.is_null (ref.func $t)))
            (drop (ref.is_null (ref.null func)))
            (drop (select (i32.const 1) (i32.const 2) (local.get $i)))
            (drop (select (i32.const 1) (i32.const 2) (i32.const 1)))
            {ops}
            (loop $l
              (drop (call $f (i64.extend_i32_u (local.get $i))))
              (drop (call $t (local.get $i)))
              (call $u (i32.and (local.get $i) (i32.const 1)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
            (memory.fill (i32.const 100) (i32.const 7) (i32.const 0))
            (memory.copy (i32.const 100) (i32.const 0) (i32.const 0))
            (data.drop $d)
            (elem.drop $e)))"#
    );
    wat::parse_str(wat).expect("the every-instruction kernel is valid wat")
}

/// Tables and `call_indirect`: every table instruction and its steps, calls through the table
/// of the right and the wrong type, null and out-of-range elements, growth that fails.
pub fn tables_kernel() -> Vec<u8> {
    wat::parse_str(
        r#"(module (memory 1) (export "memory" (memory 0))
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
              (br_if $l (i32.lt_u (local.get $i) (i32.const 12))))
            (drop (table.grow $u (ref.null func) (i32.const 1000)))
            (elem.drop $e)
            (table.init $u $e (i32.const 0) (i32.const 0) (i32.const 0))
            (drop (call_indirect (type $ii) (i32.const 1) (i32.const 2)))))"#,
    )
    .expect("the tables kernel is valid wat")
}

/// `memory.fill`, `memory.copy` both ways (overlapping, across leaves) and `memory.init` with
/// their steps, then a fill that runs off the end.
pub fn bulk_memory_kernel() -> Vec<u8> {
    wat::parse_str(
        r#"(module (memory 1) (export "memory" (memory 0))
          (data $p "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz")
          (func (export "kernel_run") (local $i i32)
            (loop $l
              (memory.init $p (i32.add (i32.const 2000) (i32.mul (local.get $i) (i32.const 3))) (local.get $i) (i32.sub (i32.const 70) (local.get $i)))
              (memory.fill (i32.add (i32.const 1000) (i32.mul (local.get $i) (i32.const 7))) (local.get $i) (i32.add (i32.const 1) (i32.mul (local.get $i) (i32.const 5))))
              (memory.copy (i32.add (i32.const 1003) (local.get $i)) (i32.const 1000) (i32.const 97))
              (memory.copy (i32.const 990) (i32.add (i32.const 1001) (local.get $i)) (i32.const 70))
              (memory.copy (i32.const 65500) (i32.const 900) (i32.const 36))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
            (data.drop $p)
            (memory.init $p (i32.const 0) (i32.const 0) (i32.const 0))
            (memory.fill (i32.const 65535) (i32.const 1) (i32.const 2))))"#,
    )
    .expect("the bulk memory kernel is valid wat")
}

/// The host functions the L1 executes, directly and through `call_indirect`, with good and
/// bad arguments: `write_output` up to the level's 101st message, ranges outside the memory,
/// messages over 4,096 bytes, `write_debug`, `reveal_metadata` whole and cut short.
pub fn host_kernel() -> Vec<u8> {
    wat::parse_str(
        r#"(module
          (import "smart_rollup_core" "write_output" (func $write_output (param i32 i32) (result i32)))
          (import "smart_rollup_core" "write_debug" (func $write_debug (param i32 i32)))
          (import "smart_rollup_core" "reveal_metadata" (func $reveal_metadata (param i32 i32) (result i32)))
          (type $ptrlen (func (param i32 i32) (result i32)))
          (table 2 funcref) (elem (i32.const 0) $write_output $reveal_metadata)
          (memory 1) (export "memory" (memory 0))
          (data (i32.const 30) "a message across two leaves")
          (func (export "kernel_run") (local $i i32)
            (drop (call $reveal_metadata (i32.const 100) (i32.const 24)))
            (drop (call $reveal_metadata (i32.const 130) (i32.const 5)))
            (drop (call $reveal_metadata (i32.const 65530) (i32.const 24)))
            (call $write_debug (i32.const 30) (i32.const 27))
            (call $write_debug (i32.const 65530) (i32.const 100))
            (drop (call $write_output (i32.const 30) (i32.const 4097)))
            (drop (call $write_output (i32.const 65500) (i32.const 100)))
            (drop (call_indirect (type $ptrlen) (i32.const 200) (i32.const 24) (i32.const 1)))
            (loop $l
              (drop (call $write_output (i32.const 30) (local.get $i)))
              (drop (call_indirect (type $ptrlen) (i32.const 30) (i32.const 27) (i32.const 0)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 51))))))"#,
    )
    .expect("the host kernel is valid wat")
}

/// A kernel that reads its whole inbox through `read_input`, with the edge cases: a
/// destination or either pointer outside the memory (-6, nothing consumed), a zero-byte limit
/// (consumed, 0 returned), a short limit, messages written across leaves, and reads past the
/// end of the inbox.
pub fn input_kernel() -> Vec<u8> {
    wat::parse_str(
        r#"(module
          (import "smart_rollup_core" "read_input" (func $read_input (param i32 i32 i32 i32) (result i32)))
          (memory 1) (export "memory" (memory 0))
          (func (export "kernel_run") (local $n i32)
            (drop (call $read_input (i32.const 0) (i32.const 4) (i32.const 65530) (i32.const 100)))
            (drop (call $read_input (i32.const 65533) (i32.const 4) (i32.const 100) (i32.const 10)))
            (drop (call $read_input (i32.const 0) (i32.const 65534) (i32.const 100) (i32.const 10)))
            (drop (call $read_input (i32.const 0) (i32.const 4) (i32.const 100) (i32.const 0)))
            (drop (call $read_input (i32.const 0) (i32.const 4) (i32.const 45) (i32.const 20)))
            (loop $l
              (local.set $n (call $read_input (i32.const 30) (i32.const 62) (i32.const 45) (i32.const 4096)))
              (br_if $l (i32.ne (local.get $n) (i32.const 0))))
            (drop (call $read_input (i32.const 0) (i32.const 4) (i32.const 100) (i32.const 10)))))"#,
    )
    .expect("the input kernel is valid wat")
}

/// Small kernels that end their run in each way a step can: a trap of every kind the L1
/// verifier executes, and the outermost return.
pub fn trap_kernels() -> Vec<(String, Vec<u8>)> {
    let body = |name: &str, code: &str| {
        let wat = format!(r#"(module (memory 1) (export "memory" (memory 0)) {code})"#);
        (name.to_string(), wat::parse_str(wat).expect("trap kernels are valid wat"))
    };
    vec![
        body("unreachable", r#"(func (export "kernel_run") unreachable)"#),
        body("i32 division by zero", r#"(func (export "kernel_run") (drop (i32.div_u (i32.const 1) (i32.const 0))))"#),
        body("i64 signed overflow", r#"(func (export "kernel_run") (drop (i64.div_s (i64.const -9223372036854775808) (i64.const -1))))"#),
        body("i32 remainder by zero", r#"(func (export "kernel_run") (drop (i32.rem_s (i32.const 1) (i32.const 0))))"#),
        body("load out of bounds", r#"(func (export "kernel_run") (drop (i64.load offset=65530 (i32.const 0))))"#),
        body("store straddling the end", r#"(func (export "kernel_run") (i32.store (i32.const 65534) (i32.const 1)))"#),
        body("memory.fill out of bounds", r#"(func (export "kernel_run") (memory.fill (i32.const 65530) (i32.const 1) (i32.const 7)))"#),
        body("memory.init past the segment", r#"(data $d "abc") (func (export "kernel_run") (memory.init $d (i32.const 0) (i32.const 1) (i32.const 3)))"#),
        body("table.get past the table", r#"(table 2 funcref) (func (export "kernel_run") (drop (table.get (i32.const 2))))"#),
        body("call_indirect of null", r#"(type $v (func)) (table 2 funcref) (func (export "kernel_run") (call_indirect (type $v) (i32.const 1)))"#),
        body("call_indirect of another type", r#"(type $v (func)) (table 1 funcref) (elem (i32.const 0) $f) (func $f (param i32)) (func (export "kernel_run") (call_indirect (type $v) (i32.const 0)))"#),
        body("300 frames", r#"(func $r (param i32) (call $r (i32.add (local.get 0) (i32.const 1)))) (func (export "kernel_run") (call $r (i32.const 0)))"#),
        body("return", r#"(func (export "kernel_run") (return))"#),
    ]
}
