//! `devnet`: the whole system on this machine, with a demo. `scripts/devnet.sh` builds
//! everything and runs it; Ctrl-C stops every process it started.

use std::path::PathBuf;

use clap::Parser;
use devnet::network::{Devnet, Options, SequencerMode};

/// Starts anvil, the contracts, the sequencer, the bridge, the poster, the proposer and the
/// challenger, then runs a deposit / transfer / withdrawal demo.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Where every process keeps its data and logs (wiped at start).
    #[arg(long, default_value = "devnet-data")]
    data_dir: PathBuf,
    /// committee (4 nodes, BLS certificates), permissioned (1 node, one key) or none.
    #[arg(long, default_value = "committee")]
    sequencer: SequencerMode,
    /// L1 block time, seconds.
    #[arg(long, default_value_t = 1)]
    block_time: u64,
    /// Levels per commitment.
    #[arg(long, default_value_t = 4)]
    commitment_period: u32,
    /// Challenge window, L1 blocks.
    #[arg(long, default_value_t = 8)]
    challenge_window: u64,
    /// Do not run the demo.
    #[arg(long)]
    no_demo: bool,
    /// Stop after the demo instead of running until Ctrl-C.
    #[arg(long)]
    exit_after_demo: bool,
    /// Make the proposer publish a wrong state hash for the commitment covering this level.
    #[arg(long)]
    faulty_proposer_at_level: Option<u32>,
}

#[tokio::main]
async fn main() {
    service_kit::init_tracing("warn");
    if let Err(e) = run().await {
        eprintln!("devnet: error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut options = Options::new(std::path::absolute(&cli.data_dir)?);
    options.sequencer = cli.sequencer;
    options.block_time = cli.block_time;
    options.commitment_period = cli.commitment_period;
    options.challenge_window = cli.challenge_window;
    options.faulty_proposer_at_level = cli.faulty_proposer_at_level;
    let say = |m: &str| println!("devnet: {m}");
    let shutdown = service_kit::shutdown_token();
    let mut devnet = tokio::select! {
        d = Devnet::start(options, say) => d?,
        _ = shutdown.cancelled() => { say("interrupted"); return Ok(()) }
    };
    println!();
    say(&format!("L1 (anvil)          {}", devnet.l1_rpc));
    say(&format!("rollup contract     {}", devnet.deployment.rollup));
    for (i, u) in devnet.sequencer_urls.iter().enumerate() {
        say(&format!("sequencer node {i}    {u}"));
    }
    say(&format!("bridge              {}", devnet.bridge_url));
    say(&format!("poster              {}", devnet.poster_url));
    say(&format!("proposer RPC        {}", devnet.proposer_url));
    if let Some((_, u)) = &devnet.challenger {
        say(&format!("challenger RPC      {u}"));
    }
    say(&format!("logs                {}/logs", devnet.options.data_dir.display()));
    println!();
    if !cli.no_demo {
        say("demo: deposit, transfer, withdraw, cement, execute on the L1");
        let demo = tokio::select! {
            r = devnet::demo::run(&devnet, |m| println!("  demo: {m}")) => r,
            _ = shutdown.cancelled() => { say("interrupted"); return devnet.stop().await }
        };
        match demo {
            Ok(r) => say(&format!(
                "demo passed: deposit credited in {:.1}s, transfer in {:.1}s, withdrawal cemented after {:.1}s and paid {} wei on the L1",
                r.deposit_seconds,
                r.transfer_seconds,
                r.cement_seconds,
                r.l1_after - r.l1_before
            )),
            Err(e) => {
                eprintln!("devnet: demo failed: {e:#}\n{}", devnet.log_tails(15));
                devnet.stop().await?;
                std::process::exit(1);
            }
        }
    }
    if cli.exit_after_demo {
        return devnet.stop().await;
    }
    println!();
    say(&format!(
        "running. Try: target/debug/rollup --bridge {} --sequencer {} --node {} keygen",
        devnet.bridge_url,
        devnet.submit_url(),
        devnet.proposer_url
    ));
    say("press Ctrl-C to stop every process");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {
                if let Err(e) = devnet.check_alive() {
                    eprintln!("devnet: {e:#}");
                    break;
                }
            }
        }
    }
    say("stopping");
    devnet.stop().await
}
