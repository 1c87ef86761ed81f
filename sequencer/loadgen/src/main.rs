//! `sequencer-bench`: starts a local network of `sequencer-node` processes, measures an idle
//! node's CPU, then loads the network with fixed-size transactions and measures the sustained
//! ordered throughput (transactions and bytes per second that reach a finality certificate) and
//! the finality latency (submission accepted → certified block seen on the stream), with every
//! node up and then with one node killed. Prints the figures and writes them as JSON.
//!
//! ```sh
//! cargo build --release -p sequencer-node -p sequencer-loadgen
//! target/release/sequencer-bench --duration 30 --rate 25000 --out target/bench/sequencer.json
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use protocol::Hash32;
use sequencer_api::types::{to_hex, SubmitRequest};
use sequencer_api::Client;
use serde_json::json;

#[derive(Parser, Debug, Clone)]
#[command(about = "Benchmark a local sequencer network")]
struct Args {
    /// Committee size.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Seconds of measurement per phase (after the warm-up).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Offered load, transactions per second.
    #[arg(long, default_value_t = 25_000)]
    rate: u64,
    /// Transaction size in bytes.
    #[arg(long, default_value_t = 200)]
    tx_size: usize,
    /// Transactions per HTTP batch.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Namespaces the load is spread over.
    #[arg(long, default_value_t = 4)]
    namespaces: u64,
    /// Seconds over which idle CPU is measured.
    #[arg(long, default_value_t = 10)]
    idle: u64,
    /// The node binary (default: `sequencer-node` next to this binary).
    #[arg(long)]
    node_binary: Option<PathBuf>,
    /// Extra `--set` overrides for every node.
    #[arg(long = "set")]
    overrides: Vec<String>,
    /// Where to write the JSON figures.
    #[arg(long, default_value = "target/bench/sequencer.json")]
    out: PathBuf,
    /// Keep the network directory (logs, data) for inspection.
    #[arg(long)]
    keep: bool,
    /// `RUST_LOG` of the nodes.
    #[arg(long, default_value = "warn")]
    node_log: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

struct Net {
    dir: tempfile::TempDir,
    children: Vec<Option<Child>>,
    clients: Vec<Client>,
}

impl Net {
    fn start(args: &Args, bin: &Path) -> anyhow::Result<Net> {
        let dir = tempfile::tempdir()?;
        let p2p: Vec<String> = (0..args.nodes).map(|_| free_port().to_string()).collect();
        let api: Vec<u16> = (0..args.nodes).map(|_| free_port()).collect();
        let out = Command::new(bin)
            .args(["keygen", "--nodes", &args.nodes.to_string(), "--out"])
            .arg(dir.path())
            .arg("--p2p-ports")
            .arg(p2p.join(","))
            .arg("--api-ports")
            .arg(api.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","))
            .output()?;
        anyhow::ensure!(out.status.success(), "keygen: {}", String::from_utf8_lossy(&out.stderr));
        let mut children = Vec::new();
        for i in 0..args.nodes {
            let log = std::fs::File::create(dir.path().join(format!("node{i}.log")))?;
            let mut cmd = Command::new(bin);
            cmd.arg("run").arg("--config").arg(dir.path().join(format!("node{i}.toml")));
            for o in &args.overrides {
                cmd.arg("--set").arg(o);
            }
            cmd.env("RUST_LOG", &args.node_log).stdout(Stdio::from(log.try_clone()?)).stderr(Stdio::from(log));
            children.push(Some(cmd.spawn()?));
        }
        let clients = api.iter().map(|p| Client::new(&format!("http://127.0.0.1:{p}"))).collect();
        Ok(Net { dir, children, clients })
    }

    fn pid(&self, i: usize) -> Option<u32> {
        self.children[i].as_ref().map(|c| c.id())
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0) // USER_HZ is 100 on Linux
}

#[derive(Default)]
struct Phase {
    submitted: AtomicU64,
    rejected: AtomicU64,
    sent_at: Mutex<HashMap<Hash32, Instant>>,
}

struct Measured {
    txs: u64,
    bytes: u64,
    blocks: u64,
    latencies_ms: Vec<f64>,
    seconds: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Offers `rate` tx/s to `targets` until `stop`, recording when each transaction was accepted.
async fn generate(args: Args, targets: Vec<Client>, phase: Arc<Phase>, stop: Arc<AtomicBool>, run_tag: u64) {
    let senders = (targets.len() * 2).max(2);
    let per_sender = args.rate as f64 / senders as f64;
    let mut tasks = Vec::new();
    for s in 0..senders {
        let client = targets[s % targets.len()].clone();
        let phase = phase.clone();
        let stop = stop.clone();
        let args = args.clone();
        tasks.push(tokio::spawn(async move {
            let interval = Duration::from_secs_f64(args.batch as f64 / per_sender);
            let mut next = Instant::now();
            let mut counter = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut batch = Vec::with_capacity(args.batch);
                let mut hashes = Vec::with_capacity(args.batch);
                for _ in 0..args.batch {
                    counter += 1;
                    let mut payload = vec![0u8; args.tx_size.max(24)];
                    payload[..8].copy_from_slice(&run_tag.to_be_bytes());
                    payload[8..16].copy_from_slice(&(s as u64).to_be_bytes());
                    payload[16..24].copy_from_slice(&counter.to_be_bytes());
                    for (k, b) in payload[24..].iter_mut().enumerate() {
                        *b = (counter as u8).wrapping_mul(31).wrapping_add(k as u8);
                    }
                    let ns = 1 + counter % args.namespaces;
                    hashes.push(sequencer_mempool::tx_hash(ns, &payload));
                    batch.push(SubmitRequest { namespace: ns, payload: to_hex(&payload) });
                }
                let sent = Instant::now();
                match client.submit_batch(&batch).await {
                    Ok(results) => record(&phase, &hashes, &results, sent),
                    Err(e) if e.status() == Some(503) => {
                        // Backpressure: the body still says which made it in; re-read it.
                        phase.rejected.fetch_add(args.batch as u64, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => {
                        eprintln!("submit to {} failed: {e}", client.base());
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                next += interval;
                let now = Instant::now();
                if next > now {
                    tokio::time::sleep(next - now).await;
                } else if now - next > Duration::from_secs(1) {
                    next = now; // we are behind: do not burst to catch up
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn record(phase: &Phase, hashes: &[Hash32], results: &[sequencer_api::types::SubmitResult], sent: Instant) {
    let mut map = phase.sent_at.lock().expect("lock");
    let mut ok = 0;
    for (h, r) in hashes.iter().zip(results) {
        if r.hash.is_some() {
            map.insert(*h, sent);
            ok += 1;
        } else {
            phase.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
    phase.submitted.fetch_add(ok, Ordering::Relaxed);
}

/// Runs one load phase: warm-up, then `duration` seconds of measurement on the certified-block
/// stream of `observer`.
async fn phase(args: &Args, targets: Vec<Client>, observer: &Client, name: &str, run_tag: u64) -> anyhow::Result<Measured> {
    let phase = Arc::new(Phase::default());
    let stop = Arc::new(AtomicBool::new(false));
    let start_height = observer.status().await?.certified_height + 1;
    let mut stream = observer.stream_blocks(start_height).await?;
    let gen = tokio::spawn(generate(args.clone(), targets, phase.clone(), stop.clone(), run_tag));
    let began = Instant::now();
    let warm_end = began + Duration::from_secs(args.warmup);
    let end = warm_end + Duration::from_secs(args.duration);
    let mut m = Measured { txs: 0, bytes: 0, blocks: 0, latencies_ms: Vec::new(), seconds: args.duration as f64 };
    let mut last_report = Instant::now();
    while Instant::now() < end {
        let item = tokio::time::timeout(end.saturating_duration_since(Instant::now()), stream.next()).await;
        let block = match item {
            Err(_) => break,
            Ok(Some(Ok(b))) => b,
            Ok(Some(Err(e))) => anyhow::bail!("block stream: {e}"),
            Ok(None) => anyhow::bail!("block stream closed"),
        };
        let seen = Instant::now();
        if seen < warm_end {
            continue;
        }
        m.blocks += 1;
        let map = phase.sent_at.lock().expect("lock");
        for t in &block.transactions {
            m.txs += 1;
            m.bytes += (t.payload.len() as u64 - 2) / 2;
            if let Some(sent) = map.get(&t.hash) {
                m.latencies_ms.push(seen.duration_since(*sent).as_secs_f64() * 1e3);
            }
        }
        drop(map);
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            let secs = seen.duration_since(warm_end).as_secs_f64().max(0.001);
            eprintln!(
                "  [{name}] {:>5.0} s: {:>8.0} tx/s certified, {} submitted, {} refused, height {}",
                secs,
                m.txs as f64 / secs,
                phase.submitted.load(Ordering::Relaxed),
                phase.rejected.load(Ordering::Relaxed),
                block.header.height
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = gen.await;
    m.latencies_ms.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    Ok(m)
}

fn summary(args: &Args, m: &Measured) -> serde_json::Value {
    json!({
        "offered_tx_per_s": args.rate,
        "throughput_tx_per_s": m.txs as f64 / m.seconds,
        "throughput_mb_per_s": m.bytes as f64 / m.seconds / 1e6,
        "blocks_per_s": m.blocks as f64 / m.seconds,
        "avg_txs_per_block": m.txs as f64 / (m.blocks.max(1)) as f64,
        "finality_latency_ms": {
            "p50": percentile(&m.latencies_ms, 0.50),
            "p90": percentile(&m.latencies_ms, 0.90),
            "p99": percentile(&m.latencies_ms, 0.99),
            "samples": m.latencies_ms.len(),
        },
    })
}

fn print(name: &str, v: &serde_json::Value) {
    let l = &v["finality_latency_ms"];
    println!(
        "{name:<10} {:>9.0} tx/s  {:>6.2} MB/s  {:>5.1} blocks/s  p50 {:>6.0} ms  p99 {:>6.0} ms  (offered {} tx/s)",
        v["throughput_tx_per_s"].as_f64().unwrap_or(0.0),
        v["throughput_mb_per_s"].as_f64().unwrap_or(0.0),
        v["blocks_per_s"].as_f64().unwrap_or(0.0),
        l["p50"].as_f64().unwrap_or(f64::NAN),
        l["p99"].as_f64().unwrap_or(f64::NAN),
        v["offered_tx_per_s"]
    );
}

async fn wait_progress(c: &Client, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(s) = c.status().await {
            if s.certified_height >= 2 {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the network made no progress in {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match &args.node_binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("sequencer-node"),
    };
    anyhow::ensure!(bin.exists(), "{} not found: build it with `cargo build --release -p sequencer-node`", bin.display());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("sequencer benchmark: {} nodes, {}-byte transactions, {} s per phase on {cores} cores ({})", args.nodes, args.tx_size, args.duration, bin.display());
    let mut net = Net::start(&args, &bin)?;
    let dir = net.dir.path().to_path_buf();
    let result = async {
        for c in &net.clients {
            wait_progress(c, Duration::from_secs(60)).await?;
        }
        // Idle CPU: no load, blocks only on the idle interval.
        let pids: Vec<u32> = (0..args.nodes).filter_map(|i| net.pid(i)).collect();
        let before: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p).unwrap_or(0.0)).collect();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.idle)).await;
        let secs = t0.elapsed().as_secs_f64();
        let idle: Vec<f64> = pids.iter().zip(&before).map(|(p, b)| (cpu_seconds(*p).unwrap_or(0.0) - b) / secs * 100.0).collect();
        let idle_max = idle.iter().cloned().fold(0.0, f64::max);
        println!("idle       CPU per node: {} % of a core (max {idle_max:.1} %)", idle.iter().map(|c| format!("{c:.1}")).collect::<Vec<_>>().join(", "));

        let all = net.clients.clone();
        let all_up = phase(&args, all.clone(), &all[0], "all up", 1).await?;
        let all_up = summary(&args, &all_up);
        print("all up", &all_up);

        let down = args.nodes - 1;
        net.kill(down);
        let survivors: Vec<Client> = all[..down].to_vec();
        let one_down = phase(&args, survivors, &all[0], "one down", 2).await?;
        let one_down = summary(&args, &one_down);
        print("one down", &one_down);

        Ok::<_, anyhow::Error>(json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "nodes": args.nodes,
            "cores": cores,
            "tx_size_bytes": args.tx_size,
            "namespaces": args.namespaces,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "overrides": args.overrides,
            "idle_cpu_percent_of_a_core": { "per_node": idle, "max": idle_max, "seconds": secs },
            "all_up": all_up,
            "one_down": one_down,
            "targets": { "throughput_tx_per_s": 20000, "p50_ms": 1000, "idle_cpu_percent": 5 },
        }))
    }
    .await;
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}; node logs in {}", dir.display());
            if let Ok(fresh) = tempfile::tempdir() {
                let _ = std::mem::replace(&mut net.dir, fresh).keep();
            }
            drop(net);
            std::process::exit(1);
        }
    };
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("figures written to {}", args.out.display());
    if args.keep {
        let kept = std::mem::replace(&mut net.dir, tempfile::tempdir()?).keep();
        println!("network directory kept at {}", kept.display());
    }
    Ok(())
}
