//! Runs many seeds of the consensus simulator and reports figures and failures.
//!
//! `cargo run --release -p consensus-sim --bin simulate -- --seeds 5000` runs 5,000 seeds of
//! every scenario; a failure prints the command that replays it.

use std::time::Instant;

use clap::Parser;
use consensus_sim::{run_seeds, Ed25519, Scenario, SimScheme, Summary};

#[derive(Parser, Debug)]
#[command(about = "Deterministic simulation of the sequencer's HotStuff-2 consensus")]
struct Args {
    /// Scenario to run (`all`, or one of normal, lossy, partition, crash, equivocation,
    /// byzantine, weighted, mixed).
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Seeds per scenario.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Signature scheme: ed25519 (fast) or bls (what the node runs).
    #[arg(long, default_value = "ed25519")]
    scheme: String,
    /// Worker threads (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

fn main() {
    let args = Args::parse();
    let scenarios: Vec<Scenario> = if args.scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        match Scenario::from_name(&args.scenario) {
            Some(s) => vec![s],
            None => {
                eprintln!("unknown scenario {:?}", args.scenario);
                std::process::exit(2);
            }
        }
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let run = |s: Scenario| -> Summary {
        match args.scheme.as_str() {
            "bls" => go::<consensus::Bls>(s, &args, threads),
            "ed25519" => go::<Ed25519>(s, &args, threads),
            other => {
                eprintln!("unknown scheme {other:?} (bls or ed25519)");
                std::process::exit(2);
            }
        }
    };
    let mut failed = false;
    let mut report = Vec::new();
    for s in scenarios {
        let start = Instant::now();
        let sum = run(s);
        let secs = start.elapsed().as_secs_f64();
        let runs = sum.passed + sum.failures.len() as u64;
        println!(
            "{:<13} {:>6} seeds  {:>6} failed  avg decided {:>6.1}  avg views {:>6.1}  equivocations {:>6}  penalties {:>7}  crashes {:>5}  {:>7.1} s",
            s.name(),
            runs,
            sum.failures.len(),
            sum.decided as f64 / sum.passed.max(1) as f64,
            sum.views as f64 / sum.passed.max(1) as f64,
            sum.evidence,
            sum.penalties,
            sum.crashes,
            secs
        );
        for f in sum.failures.iter().take(10) {
            println!("  FAIL {f}");
        }
        failed |= !sum.failures.is_empty();
        report.push(serde_json::json!({
            "scenario": s.name(), "scheme": args.scheme, "seeds": runs, "first_seed": args.first_seed,
            "failed": sum.failures.len(), "failed_seeds": sum.failures.iter().map(|f| f.seed).collect::<Vec<_>>(),
            "avg_decided": sum.decided as f64 / sum.passed.max(1) as f64, "seconds": secs,
        }));
    }
    if let Some(out) = args.out {
        if let Some(dir) = out.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(&out, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
        println!("figures written to {}", out.display());
    }
    if failed {
        std::process::exit(1);
    }
}

fn go<S: SimScheme>(s: Scenario, args: &Args, threads: usize) -> Summary {
    run_seeds::<S>(s, args.first_seed, args.seeds, threads)
}
