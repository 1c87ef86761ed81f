//! `sequencer-node`: run a node, or generate the keys and configurations of a network.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sequencer_node::keys::{generate, NetworkPlan};
use sequencer_node::{config, NodeConfig};

#[derive(Parser)]
#[command(version, about = "A node of the rollup's decentralized sequencer (HotStuff-2 over libp2p)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a node until SIGTERM or Ctrl-C.
    Run {
        /// The node's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
        /// Overrides, `dotted.key=value` (e.g. `--set consensus.base_timeout_ms=2000`).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Generates keys, proofs of possession and one configuration per node (plus
    /// `committee.json` for the L1) for a local network.
    Keygen {
        /// Number of nodes.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Output directory.
        #[arg(long, default_value = "sequencer-network")]
        out: PathBuf,
        /// Sequencer chain id.
        #[arg(long, default_value_t = 42)]
        chain_id: u64,
        /// Host to listen on and dial.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// First libp2p port (node i gets port + i) unless `--p2p-ports` is given.
        #[arg(long, default_value_t = 9000)]
        p2p_port: u16,
        /// First API port (node i gets port + i) unless `--api-ports` is given.
        #[arg(long, default_value_t = 8000)]
        api_port: u16,
        /// Explicit libp2p ports, comma separated.
        #[arg(long, value_delimiter = ',')]
        p2p_ports: Vec<u16>,
        /// Explicit API ports, comma separated.
        #[arg(long, value_delimiter = ',')]
        api_ports: Vec<u16>,
        /// Stake of each member.
        #[arg(long, default_value_t = 1)]
        stake: u64,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Keygen { nodes, out, chain_id, host, p2p_port, api_port, p2p_ports, api_ports, stake } => {
            let p2p_ports = if p2p_ports.is_empty() { (0..nodes).map(|i| p2p_port + i as u16).collect() } else { p2p_ports };
            let api_ports = if api_ports.is_empty() { (0..nodes).map(|i| api_port + i as u16).collect() } else { api_ports };
            let plan = NetworkPlan { chain_id, p2p_ports, api_ports, host, stake, genesis_timestamp_ms: sequencer_node::driver::now_ms() };
            match generate(&plan, &out) {
                Ok(paths) => {
                    for p in paths {
                        println!("{}", p.display());
                    }
                    println!("{}", out.join("committee.json").display());
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("keygen failed: {e:#}");
                    std::process::ExitCode::from(1)
                }
            }
        }
        Command::Run { config, overrides } => {
            service_kit::init_tracing("info");
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the async runtime: {e}");
                    return std::process::ExitCode::from(1);
                }
            };
            runtime.block_on(async move {
                let cfg: NodeConfig = match service_kit::load_config(Some(&config), &overrides) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!("{e}");
                        return std::process::ExitCode::from(2);
                    }
                };
                let base = config.parent().map(PathBuf::from).unwrap_or_default();
                let resolved = match config::resolve(cfg, &base) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!("configuration {}: {e}", config.display());
                        return std::process::ExitCode::from(2);
                    }
                };
                let shutdown = service_kit::shutdown_token();
                match sequencer_node::run(resolved, shutdown, |r| tracing::info!(api = %r.api, "ready")).await {
                    Ok(()) => std::process::ExitCode::SUCCESS,
                    Err(e) => {
                        tracing::error!("node failed: {e:#}");
                        std::process::ExitCode::from(1)
                    }
                }
            })
        }
    }
}
