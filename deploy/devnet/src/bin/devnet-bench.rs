//! `devnet-bench`: end-to-end throughput of the whole devnet. Signed transfers are offered to the
//! sequencer at a target rate; the benchmark measures how many per second become visible in the
//! proposer's state, the latency from submission to visibility (p50, p99, on probe transactions),
//! and the L1 gas spent per transfer. Prints the figures and writes them as JSON.
//!
//! `cargo build --release --workspace --bins && kernels/build.sh &&
//!  target/release/devnet-bench --rate 5000 --seconds 30 --out target/bench/e2e.json`

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use clap::Parser;
use devnet::network::{Devnet, Options, SequencerMode};
use rollup_client::{Client, Endpoints, KeyFile};
use sequencer_api::SubmitRequest;
use transfer_tx::{AccountId, Operation, SignedOperation};

#[derive(Parser, Debug)]
#[command(about = "End-to-end throughput and latency of the whole devnet")]
struct Cli {
    /// Offered load, transfers per second.
    #[arg(long, default_value_t = 5000)]
    rate: u64,
    /// Load duration, seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Sending accounts.
    #[arg(long, default_value_t = 400)]
    accounts: usize,
    /// Where to write the figures.
    #[arg(long, default_value = "target/bench/e2e.json")]
    out: PathBuf,
    /// Devnet data directory.
    #[arg(long, default_value = "target/bench/devnet-data")]
    data_dir: PathBuf,
    /// Run without the challenger (one fewer PVM on the machine).
    #[arg(long)]
    no_challenger: bool,
}

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::main]
async fn main() -> Result<()> {
    service_kit::init_tracing("warn");
    let cli = Cli::parse();
    let mut options = Options::new(std::path::absolute(&cli.data_dir)?);
    options.sequencer = SequencerMode::Committee(4);
    options.challenger = !cli.no_challenger;
    let mut d = Devnet::start(options, |m| eprintln!("bench: {m}")).await?;
    let result = run(&cli, &d).await;
    if let Err(e) = &result {
        eprintln!("bench failed: {e:#}\n{}", d.log_tails(20));
    }
    d.stop().await?;
    result
}

async fn run(cli: &Cli, d: &Devnet) -> Result<()> {
    let client = Client::new(Endpoints { bridge: d.bridge_url.clone(), sequencer: d.submit_url().into(), node: d.proposer_url.clone() });
    let rollup = client.rollup().await?;
    let rollup_addr = protocol::Address(rollup.address.0 .0);
    let http = reqwest::Client::new();
    let sequencers: Vec<sequencer_api::Client> = d.sequencer_urls.iter().map(|u| sequencer_api::Client::new(u)).collect();

    // Fund: one deposit to a faucet account, then one L2 transfer to each sender.
    let faucet = KeyFile::generate()?;
    let faucet_id = faucet.account()?;
    client.deposit(&d.dev_keys[9], &faucet_id, 1000 * ETH).await?;
    ensure!(devnet::demo::wait(Duration::from_secs(120), || async { Ok(client.balance(&faucet_id).await?.balance > 0) }).await?, "faucet not funded");
    let senders: Vec<([u8; 32], AccountId)> = (0..cli.accounts)
        .map(|i| {
            let secret = protocol::keccak256(format!("bench-sender-{i}").as_bytes());
            (secret, AccountId::from_secret(&secret))
        })
        .collect();
    let faucet_secret = faucet.secret()?;
    let funding: Vec<SubmitRequest> = senders
        .iter()
        .enumerate()
        .map(|(i, (_, id))| {
            let op = SignedOperation::sign(&faucet_secret, Operation::Transfer { to: *id, amount: ETH }, i as u64, &rollup_addr);
            SubmitRequest { namespace: rollup.namespace, payload: sequencer_api::types::to_hex(&op.encode()) }
        })
        .collect();
    for chunk in funding.chunks(500) {
        sequencers[0].submit_batch(chunk).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let n = cli.accounts as u64;
    ensure!(
        devnet::demo::wait(Duration::from_secs(120), || async { Ok(client.balance(&faucet_id).await?.nonce >= n) }).await?,
        "senders not funded"
    );
    eprintln!("bench: {} senders funded; offering {} transfers/s for {}s", cli.accounts, cli.rate, cli.seconds);

    // Probes: the first 10 senders send one timed transfer at a time.
    let probes: Vec<usize> = (0..10.min(cli.accounts)).collect();
    let submitted = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let load_end = start + Duration::from_secs(cli.seconds);
    let mut nonces: Vec<u64> = vec![0; cli.accounts];

    // Latency probes run beside the load.
    let probe_task = {
        let probes = probes.clone();
        let senders = senders.clone();
        let seq = sequencers.clone();
        let node = d.proposer_url.clone();
        let http = http.clone();
        let ns = rollup.namespace;
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut next_nonce: HashMap<usize, u64> = HashMap::new();
            let mut k = 0usize;
            while Instant::now() < load_end {
                let i = probes[k % probes.len()];
                k += 1;
                let nonce = *next_nonce.get(&i).unwrap_or(&0);
                let (secret, id) = senders[i];
                let op = SignedOperation::sign(&secret, Operation::Transfer { to: senders[(i + 1) % senders.len()].1, amount: 1 }, nonce, &rollup_addr);
                let t = Instant::now();
                if seq[k % seq.len()].submit(ns, &op.encode()).await.is_err() {
                    continue;
                }
                // Visible in the proposer's state when the nonce moves.
                loop {
                    if let Ok(r) = http.get(format!("{node}/v1/durable/value?key={}", id.storage_key())).send().await {
                        if let Ok(v) = r.json::<rollup_node::rpc::DurableValue>().await {
                            if transfer_tx::Account::decode(&v.value).is_some_and(|a| a.nonce > nonce) {
                                latencies.push(t.elapsed().as_secs_f64());
                                break;
                            }
                        }
                    }
                    if t.elapsed() > Duration::from_secs(30) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                next_nonce.insert(i, nonce + 1);
            }
            latencies
        })
    };

    // The load: every 20 ms, rate/50 transfers, to the sequencer nodes in turn. Each sender is
    // pinned to one node and each node gets its batches one at a time, in order: the kernel
    // takes a sender's transfers only in nonce order, and two nodes (or two concurrent requests
    // to one node) could order a sender's consecutive transfers the other way round.
    let load_senders: Vec<usize> = (probes.len()..cli.accounts).collect();
    let groups: Vec<Vec<usize>> =
        (0..sequencers.len()).map(|j| load_senders.iter().copied().filter(|i| i % sequencers.len() == j).collect()).collect();
    let mut cursors = vec![0usize; groups.len()];
    let per_tick = (cli.rate / 50).max(1) as usize;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut workers = tokio::task::JoinSet::new();
    let queues: Vec<tokio::sync::mpsc::Sender<Vec<SubmitRequest>>> = sequencers
        .iter()
        .map(|seq| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<SubmitRequest>>(256);
            let (seq, counter) = (seq.clone(), submitted.clone());
            workers.spawn(async move {
                while let Some(batch) = rx.recv().await {
                    if let Ok(results) = seq.submit_batch(&batch).await {
                        counter.fetch_add(results.iter().filter(|r| r.hash.is_some()).count() as u64, Ordering::Relaxed);
                    }
                }
            });
            tx
        })
        .collect();
    let mut round = 0usize;
    while Instant::now() < load_end {
        tick.tick().await;
        let j = round % groups.len();
        round += 1;
        if groups[j].is_empty() {
            continue;
        }
        let mut batch = Vec::with_capacity(per_tick);
        for _ in 0..per_tick {
            let i = groups[j][cursors[j] % groups[j].len()];
            cursors[j] += 1;
            let (secret, _) = senders[i];
            let to = senders[(i + 7) % senders.len()].1;
            let op = SignedOperation::sign(&secret, Operation::Transfer { to, amount: 1 }, nonces[i], &rollup_addr);
            nonces[i] += 1;
            batch.push(SubmitRequest { namespace: rollup.namespace, payload: sequencer_api::types::to_hex(&op.encode()) });
        }
        if queues[j].send(batch).await.is_err() {
            break;
        }
    }
    drop(queues);
    while workers.join_next().await.is_some() {}
    let offered_seconds = start.elapsed().as_secs_f64();
    let offered = submitted.load(Ordering::Relaxed);

    // Drain: wait until the proposer executed everything admitted (or stops progressing).
    let ids: Vec<AccountId> = load_senders.iter().map(|i| senders[*i].1).collect();
    let mut done = executed(&client, &ids).await;
    let mut last_change = Instant::now();
    while done < offered && last_change.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = executed(&client, &ids).await;
        if now > done {
            last_change = Instant::now();
        }
        done = now;
    }
    let total_seconds = start.elapsed().as_secs_f64();
    let mut latencies = probe_task.await?;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);

    // L1 gas and batches from the poster's metrics.
    let metrics = http.get(format!("{}/metrics", d.poster_url)).send().await?.text().await?;
    let metric = |name: &str| {
        metrics.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    let gas = metric("poster_l1_gas_total");
    let posted_txs = metric("poster_transactions_total");
    let report = serde_json::json!({
        "offered_rate": cli.rate,
        "load_seconds": cli.seconds,
        "admitted": offered,
        "executed": done,
        "throughput_tps": done as f64 / total_seconds,
        "admitted_tps": offered as f64 / offered_seconds,
        "latency_p50_s": pct(0.5),
        "latency_p99_s": pct(0.99),
        "latency_samples": latencies.len(),
        "l1_gas_total": gas,
        "l1_gas_per_transfer": if posted_txs > 0.0 { gas / posted_txs } else { f64::NAN },
        "batches": metric("poster_batches_total"),
        "senders": cli.accounts,
        "challenger": !cli.no_challenger,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(dir) = cli.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.out, serde_json::to_string_pretty(&report)?)?;
    eprintln!("bench: written to {}", cli.out.display());
    Ok(())
}

/// Transfers executed: the sum of the senders' nonces on the proposer (a nonce moves only when a
/// transfer applies, so skipped or lost transactions do not count).
async fn executed(client: &Client, ids: &[AccountId]) -> u64 {
    let mut sum = 0u64;
    for id in ids {
        sum += client.balance(id).await.map(|b| b.nonce).unwrap_or(0);
    }
    sum
}
