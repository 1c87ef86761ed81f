//! `pvm-bench`: how fast the PVM runs, measured, printed and written to a file.
//!
//! ```text
//! kernels/build.sh
//! cargo run --release -p pvm-bench -- --out target/bench/pvm.json
//! ```
//!
//! For each compiler it measures, on a real state directory (RocksDB, commits every level):
//! - empty levels per second (start, info, end of level only) with the echo kernel;
//! - signed transfers per second with the transfer kernel (levels of `--per-level` transfers
//!   between funded accounts, every signature checked in wasm);
//! - the same number of external messages of the same size that the kernel rejects before any
//!   signature check (unknown operation tag): the cost of everything except ed25519;
//! and, natively, ed25519 verifications per second, to say what limits the transfer rate; then
//! the reference machine's ticks per second on the same signed transfers.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata, Transfer, Wei};
use pvm::{Compiler, EngineKind, LevelInput, Pvm, PvmConfig};
use serde_json::json;
use transfer_tx::{AccountId, Operation, SignedOperation};

#[derive(Parser)]
#[command(about = "Benchmark the PVM under fast execution")]
struct Args {
    /// Where to write the figures (JSON).
    #[arg(long, default_value = "target/bench/pvm.json")]
    out: PathBuf,
    /// Directory holding echo.wasm and transfer.wasm (from kernels/build.sh).
    #[arg(long, default_value = "target/kernels")]
    kernels: PathBuf,
    /// Empty levels to run per compiler.
    #[arg(long, default_value_t = 2000)]
    empty_levels: u32,
    /// Signed transfers to run per compiler.
    #[arg(long, default_value_t = 20_000)]
    transfers: usize,
    /// Transfers per level.
    #[arg(long, default_value_t = 2_000)]
    per_level: usize,
    /// Funded sender accounts.
    #[arg(long, default_value_t = 500)]
    senders: usize,
    /// Signed transfers to run on the reference machine (0 to skip it), in levels of 100.
    #[arg(long, default_value_t = 1000)]
    reference_transfers: usize,
    /// Tick budget of the dissection benchmark: the 32 state hashes of one run that uses its
    /// whole budget (0 to skip it).
    #[arg(long, default_value_t = 1_000_000_000)]
    dissection_ticks: u64,
    /// Compilers to measure.
    #[arg(long, value_delimiter = ',', default_value = "cranelift,singlepass")]
    compilers: Vec<Compiler>,
}

const ROLLUP: Address = Address([0x5e; 20]);

fn info(level: u32) -> InfoPerLevel {
    InfoPerLevel { timestamp_ms: u64::from(level) * 1000, block_hash: Hash32([level as u8; 32]) }
}

fn config(compiler: Compiler) -> PvmConfig {
    let mut c = PvmConfig::new(RollupMetadata { address: ROLLUP, origination_level: 0 });
    c.compiler = compiler;
    c
}

fn secret(i: usize) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    s
}

/// Levels of signed transfers: sender `i` sends to sender `i + 1`, nonces in order.
fn signed_levels(args: &Args) -> Vec<Vec<Vec<u8>>> {
    let ids: Vec<AccountId> = (0..args.senders).map(|i| AccountId::from_secret(&secret(i))).collect();
    let mut nonces = vec![0u64; args.senders];
    let txs: Vec<Vec<u8>> = (0..args.transfers)
        .map(|n| {
            let from = n % args.senders;
            let to = ids[(from + 1) % args.senders];
            let op = SignedOperation::sign(&secret(from), Operation::Transfer { to, amount: 1 }, nonces[from], &ROLLUP);
            nonces[from] += 1;
            op.encode()
        })
        .collect();
    txs.chunks(args.per_level).map(|c| c.to_vec()).collect()
}

struct Measured {
    seconds: f64,
    metered_ticks: u64,
    runs: usize,
    skipped: usize,
}

fn run_levels(pvm: &mut Pvm, levels: &[Vec<Vec<u8>>]) -> Result<Measured> {
    let start = Instant::now();
    let (mut metered_ticks, mut runs, mut skipped) = (0, 0, 0);
    for ext in levels {
        let level = pvm.head().level + 1;
        let o = pvm.run_level(LevelInput::new(level, info(level), &[], ext))?;
        metered_ticks += o.runs.iter().map(|r| r.metered_ticks).sum::<u64>();
        runs += o.runs.len();
        skipped += o.debug.len();
        if std::env::var_os("PVM_BENCH_VERBOSE").is_some() {
            for r in &o.runs {
                eprintln!("level {level}: run {:?} read {} ticks {}", r.end, r.inputs_read, r.metered_ticks);
            }
            for d in o.debug.iter().take(3) {
                eprintln!("level {level}: {}", String::from_utf8_lossy(d));
            }
        }
    }
    Ok(Measured { seconds: start.elapsed().as_secs_f64(), metered_ticks, runs, skipped })
}

/// The reference machine on the transfer kernel: ticks per second per level (each level 100
/// signed transfers, about 10^8 ticks), so the spread across levels shows.
fn reference_machine(args: &Args, transfer: &[u8], levels: &[Vec<Vec<u8>>]) -> Result<serde_json::Value> {
    let txs: Vec<Vec<u8>> = levels.iter().flatten().take(args.reference_transfers).cloned().collect();
    let per_level: Vec<Vec<Vec<u8>>> = txs.chunks(100).map(|c| c.to_vec()).collect();
    eprintln!("reference: {} signed transfers in {} levels of 100...", txs.len(), per_level.len());
    let dir = tempfile::tempdir()?;
    let mut c = config(Compiler::Cranelift);
    c.engine = EngineKind::Reference;
    let mut pvm = Pvm::create(dir.path(), transfer, c)?;
    let deposits: Vec<Transfer> = (0..args.senders)
        .map(|i| Transfer { sender: Address([1; 20]), value: Wei::from_u128(1 << 64), payload: AccountId::from_secret(&secret(i)).0.to_vec() })
        .collect();
    pvm.run_level(LevelInput::new(1, info(1), &deposits, &[]))?;
    let (mut rates, mut ticks, mut seconds) = (Vec::new(), 0u64, 0.0);
    for ext in &per_level {
        let m = run_levels(&mut pvm, std::slice::from_ref(ext))?;
        anyhow::ensure!(m.skipped == 0, "{} transfers were skipped", m.skipped);
        rates.push(m.metered_ticks as f64 / m.seconds);
        ticks += m.metered_ticks;
        seconds += m.seconds;
    }
    rates.sort_by(f64::total_cmp);
    let (min, median, max) = (rates[0], rates[rates.len() / 2], rates[rates.len() - 1]);
    let ticks_per_s = ticks as f64 / seconds;
    println!(
        " reference: {:>6.1} M ticks/s (per level of 100 transfers: min {:.1}, median {:.1}, max {:.1} over {} levels) | {:>5.0} transfers/s",
        ticks_per_s / 1e6,
        min / 1e6,
        median / 1e6,
        max / 1e6,
        rates.len(),
        txs.len() as f64 / seconds
    );
    Ok(json!({
        "transfers": txs.len(),
        "levels": rates.len(),
        "ticks": ticks,
        "seconds": seconds,
        "ticks_per_s": ticks_per_s,
        "ticks_per_s_min": min,
        "ticks_per_s_median": median,
        "ticks_per_s_max": max,
        "transfers_per_s": txs.len() as f64 / seconds,
    }))
}

/// A kernel that never stops: it writes a counter over 1 MiB of memory in a loop, so its run
/// lasts the whole budget and touches memory all along.
const LOOP_KERNEL: &str = r#"(module
  (memory 17) (export "memory" (memory 0))
  (func (export "kernel_run") (local $i i32)
    (loop $l
      (i32.store (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 0xfffff)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))"#;

/// The 32 state hashes a dissection of a whole run asks for, on a run of `budget` ticks: the
/// replay from the run's start (its snapshot) to the last point, hashing only at the points.
fn dissection(budget: u64) -> Result<serde_json::Value> {
    let kernel = wat::parse_str(LOOP_KERNEL)?;
    let dir = tempfile::tempdir()?;
    let mut c = config(Compiler::Cranelift);
    c.tick_budget = budget;
    let mut pvm = Pvm::create(dir.path(), &kernel, c)?;
    let input = LevelInput::new(1, info(1), &[], &[]);
    eprintln!("dissection: a {budget}-tick run with fast execution...");
    let t = Instant::now();
    pvm.run_level(input.clone())?;
    let fast_seconds = t.elapsed().as_secs_f64();
    // From tick 1: tick 0 is the driver's start, before which the state is the previous level's.
    let points: Vec<u64> = (0..32u64).map(|k| (k * budget / 32).max(1)).collect::<Vec<_>>();
    eprintln!("dissection: 32 state hashes of run 0 on the reference machine...");
    let t = Instant::now();
    let states = pvm.run_states(input, 0, &points)?;
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(states.len() == 32 && states.iter().all(|s| s.status == 1), "the loop must run the whole budget");
    println!(
        "dissection: 32 state hashes of a {budget}-tick run in {seconds:.1} s on the reference machine ({:.1} M ticks/s, memory tree incremental); the level took {fast_seconds:.1} s with fast execution",
        budget as f64 / seconds / 1e6
    );
    // The proof of a tick deep in the run: replay to it, prove, check with the Rust verifier.
    let deep = budget - budget / 7;
    let t = Instant::now();
    let p = pvm.prove_tick(LevelInput::new(1, info(1), &[], &[]), 0, deep, None)?;
    let prove_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let post = pvm::verify_step(&p.pre.state_hash, &p.proof, &pvm::StepContext::without_l1(budget, pvm.config().metadata))?;
    let verify_micros = t.elapsed().as_secs_f64() * 1e6;
    anyhow::ensure!(post == p.post.state_hash, "the verifier disagrees with the machine");
    println!("dissection: the proof of tick {deep} in {prove_seconds:.1} s ({} bytes), verified in {verify_micros:.0} µs", p.proof.len());
    Ok(json!({
        "budget": budget,
        "points": 32,
        "seconds": seconds,
        "ticks_per_s": budget as f64 / seconds,
        "fast_execution_level_seconds": fast_seconds,
        "deep_tick": deep,
        "prove_seconds": prove_seconds,
        "proof_bytes": p.proof.len(),
        "verify_micros": verify_micros,
    }))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let read = |name: &str| {
        let p = args.kernels.join(name);
        std::fs::read(&p).with_context(|| format!("{}: build the kernels first with kernels/build.sh", p.display()))
    };
    let (echo, transfer) = (read("echo.wasm")?, read("transfer.wasm")?);

    eprintln!("signing {} transfers...", args.transfers);
    let levels = signed_levels(&args);
    let total: usize = levels.iter().map(|l| l.len()).sum();
    // The same messages with an unknown operation tag: rejected before any signature check.
    let unverified: Vec<Vec<Vec<u8>>> =
        levels.iter().map(|l| l.iter().map(|m| [&[0x7f][..], &m[1..]].concat()).collect()).collect();

    // Native ed25519 verification, the same code the kernel runs, for comparison.
    let sample: Vec<SignedOperation> = levels[0].iter().take(2000).filter_map(|m| SignedOperation::decode(m).ok()).collect();
    let t = Instant::now();
    let ok = sample.iter().filter(|s| s.verify(&ROLLUP)).count();
    let native_verify_per_s = sample.len() as f64 / t.elapsed().as_secs_f64();
    assert_eq!(ok, sample.len());

    let mut results = Vec::new();
    for &compiler in &args.compilers {
        eprintln!("{compiler}: {} empty levels...", args.empty_levels);
        let dir = tempfile::tempdir()?;
        let mut pvm = Pvm::create(dir.path(), &echo, config(compiler))?;
        let empty: Vec<Vec<Vec<u8>>> = vec![vec![]; args.empty_levels as usize];
        let e = run_levels(&mut pvm, &empty)?;
        let empty_levels_per_s = f64::from(args.empty_levels) / e.seconds;

        eprintln!("{compiler}: {total} signed transfers in levels of {}...", args.per_level);
        let dir = tempfile::tempdir()?;
        let mut pvm = Pvm::create(dir.path(), &transfer, config(compiler))?;
        let deposits: Vec<Transfer> = (0..args.senders)
            .map(|i| Transfer { sender: Address([1; 20]), value: Wei::from_u128(1 << 64), payload: AccountId::from_secret(&secret(i)).0.to_vec() })
            .collect();
        pvm.run_level(LevelInput::new(1, info(1), &deposits, &[]))?;
        let m = run_levels(&mut pvm, &levels)?;
        anyhow::ensure!(m.skipped == 0, "{} transfers were skipped", m.skipped);
        let transfers_per_s = total as f64 / m.seconds;
        let u = run_levels(&mut pvm, &unverified)?;
        anyhow::ensure!(u.skipped == total, "the unverified messages must all be skipped");
        let without_signature_per_s = total as f64 / u.seconds;

        let r = json!({
            "compiler": compiler.to_string(),
            "empty_levels": args.empty_levels,
            "empty_levels_per_s": empty_levels_per_s,
            "transfers": total,
            "transfers_per_level": args.per_level,
            "transfers_per_s": transfers_per_s,
            "metered_ticks_per_transfer": m.metered_ticks / total as u64,
            "kernel_runs": m.runs,
            "rejected_before_signature_per_s": without_signature_per_s,
            "metered_ticks_per_rejected_message": u.metered_ticks / total as u64,
            "share_of_time_in_signature_checks": (m.seconds - u.seconds).max(0.0) / m.seconds,
        });
        println!(
            "{compiler:>10}: {empty_levels_per_s:>9.0} empty levels/s | {transfers_per_s:>7.0} transfers/s ({} ticks each, {} runs) | {without_signature_per_s:>8.0} msgs/s without signature check",
            m.metered_ticks / total as u64,
            m.runs
        );
        results.push(r);
    }
    println!("    native: {native_verify_per_s:>7.0} ed25519 verifications/s (same code, compiled natively)");

    let reference = if args.reference_transfers > 0 { Some(reference_machine(&args, &transfer, &levels)?) } else { None };
    let dissection = if args.dissection_ticks > 0 { Some(dissection(args.dissection_ticks)?) } else { None };

    let report = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "loadavg": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "native_ed25519_verify_per_s": native_verify_per_s,
        "results": results,
        "reference_machine": reference,
        "dissection": dissection,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("figures written to {}", args.out.display());
    Ok(())
}
