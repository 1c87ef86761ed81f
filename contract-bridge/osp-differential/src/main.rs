//! The full-size differential run and the gas table: `osp-differential --seeds 2000` draws steps
//! from the example kernels, the every-instruction and trap kernels and `--seeds` random
//! kernels, compares the Rust and Solidity verifiers on every proof and its mutants, prints the
//! gas of each step class and writes it all to `target/bench/osp-differential.json`.

use std::time::Instant;

use clap::Parser;
use osp_differential::corpus::{bulk_memory_kernel, every_instruction_kernel, host_kernel, random_kernel, tables_kernel, trap_kernels};
use osp_differential::{compare, median_max, start_l1, Corpus};

#[derive(Parser)]
#[command(about = "Rust against Solidity one-step proof verifiers, with the gas table")]
struct Cli {
    /// Random (wasm-smith) kernels.
    #[arg(long, default_value_t = 200)]
    seeds: u64,
    /// Ticks proven per random or example kernel.
    #[arg(long, default_value_t = 40)]
    samples: usize,
    /// Bit-flip mutants per proof.
    #[arg(long, default_value_t = 2)]
    mutants: usize,
    /// Honest steps whose gas is measured, per class.
    #[arg(long, default_value_t = 200)]
    gas_samples: usize,
    /// Ticks per run.
    #[arg(long, default_value_t = 50_000_000)]
    budget: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let started = Instant::now();
    let mut corpus = Corpus::new(cli.budget, 0x9e37_79b9_7f4a_7c15);
    corpus.add_kernel("every instruction", &every_instruction_kernel(), &[], 100_000, cli.mutants);
    corpus.add_kernel("tables", &tables_kernel(), &[], 100_000, cli.mutants);
    corpus.add_kernel("bulk memory", &bulk_memory_kernel(), &[], 100_000, cli.mutants);
    corpus.add_kernel("host calls", &host_kernel(), &[], 100_000, cli.mutants);
    for (name, wasm) in trap_kernels() {
        corpus.add_kernel(&name, &wasm, &[], 1_000, cli.mutants);
    }
    // The kernels that read their inbox get delayed messages too: a deposit and a plain one.
    corpus.transfers = osp_differential::corpus::sample_transfers();
    for (name, wasm) in osp_differential::corpus::reveal_kernels() {
        assert!(corpus.add_kernel(&name, &wasm, &[], 1_000, cli.mutants), "{name}");
    }
    corpus.add_kernel("inputs", &osp_differential::corpus::input_kernel(), &[b"hello".to_vec(), vec![7; 300]], 100_000, cli.mutants);
    let root = l1_bindings::toolchain::repo_root();
    for (name, externals) in [("counter", vec![vec![1], vec![2]]), ("echo", vec![b"hello".to_vec()]), ("transfer", vec![vec![1, 2, 3]])] {
        let path = root.join("target/kernels").join(format!("{name}.wasm"));
        let wasm = std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}; run kernels/build.sh", path.display()))?;
        corpus.add_kernel(name, &wasm, &externals, cli.samples * 4, cli.mutants);
    }
    for seed in 0..cli.seeds {
        if let Some(wasm) = random_kernel(seed) {
            corpus.add_kernel(&format!("random kernel {seed}"), &wasm, &[b"/key".to_vec(), vec![1; 40]], cli.samples, cli.mutants);
        }
        if seed % 50 == 49 {
            eprintln!("{} kernels, {} cases ({:.0?})", corpus.kernels, corpus.cases.len(), started.elapsed());
        }
    }
    eprintln!("{} cases from {} kernels; comparing on anvil", corpus.cases.len(), corpus.kernels);
    let l1 = start_l1(cli.budget, &corpus.pages).await?;
    let report = compare(&l1, &corpus.cases, cli.gas_samples).await?;

    println!("| step class | steps compared | gas median | gas max |");
    println!("|---|---:|---:|---:|");
    let mut classes = serde_json::Map::new();
    for (class, n) in &report.agreed {
        let (median, max) = median_max(&report.gas[class]);
        println!("| {class} | {n} | {median} | {max} |");
        classes.insert(class.clone(), serde_json::json!({ "steps": n, "gas_median": median, "gas_max": max, "gas_samples": report.gas[class].len() }));
    }
    for (class, n) in &report.not_yet {
        println!("| {class} | not on the L1 yet ({n}) | | |");
    }
    let all: Vec<u64> = report.gas.values().flatten().copied().collect();
    let (median, max) = median_max(&all);
    println!(
        "\n{} honest steps and {} mutants agree, {} mismatches; gas over all measured steps: median {median}, max {max}; {:.0?}",
        report.steps(),
        report.mutants_agreed,
        report.mismatches.len(),
        started.elapsed()
    );
    for (case, rust, l1) in report.mismatches.iter().take(50) {
        println!("MISMATCH {case}: Rust {rust:?}, L1 {l1:?}");
    }
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let json = serde_json::json!({
        "kernels": corpus.kernels,
        "cases": corpus.cases.len(),
        "steps_agreed": report.steps(),
        "mutants_agreed": report.mutants_agreed,
        "mismatches": report.mismatches.len(),
        "not_on_l1_yet": report.not_yet,
        "gas_median": median,
        "gas_max": max,
        "classes": classes,
    });
    std::fs::write(out.join("osp-differential.json"), serde_json::to_string_pretty(&json)?)?;
    eprintln!("wrote {}", out.join("osp-differential.json").display());
    anyhow::ensure!(report.mismatches.is_empty(), "{} mismatches", report.mismatches.len());
    Ok(())
}
