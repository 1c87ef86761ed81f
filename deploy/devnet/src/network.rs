//! The whole system on one machine: anvil, the sequencer network (or none), the contracts, two
//! bridges (the operator's and the challenger's: each staker has its own keys), the poster, the
//! proposer and the challenger. Every process is a real binary with its own data directory and
//! log file under `data_dir`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use protocol::{Hash32, RollupMetadata};
use rollup_deploy::{DeployConfig, Deployment, VerifierKind};

use crate::process::{free_port, tail, Process, Spec};

/// Which sequencer the rollup runs with (one switch each, DESIGN.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequencerMode {
    /// The decentralized sequencer: `n` nodes, BLS committee certificates on the L1.
    Committee(usize),
    /// One sequencer node whose operator key signs batches (the permissioned verifier).
    Permissioned,
    /// No sequencer: the poster takes submissions and anyone may post (permissionless verifier).
    None,
}

impl std::str::FromStr for SequencerMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "committee" => Ok(SequencerMode::Committee(4)),
            "permissioned" => Ok(SequencerMode::Permissioned),
            "none" => Ok(SequencerMode::None),
            other => Err(format!("unknown sequencer mode {other:?}: use committee, permissioned or none")),
        }
    }
}

/// How to start a devnet.
#[derive(Debug, Clone)]
pub struct Options {
    /// Everything goes here (wiped at start).
    pub data_dir: PathBuf,
    /// Where the project's binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// The anvil binary.
    pub anvil: PathBuf,
    /// The kernel to originate.
    pub kernel: PathBuf,
    /// Which sequencer.
    pub sequencer: SequencerMode,
    /// L1 block time in seconds.
    pub block_time: u64,
    /// Levels per commitment.
    pub commitment_period: u32,
    /// L1 blocks a commitment stays refutable.
    pub challenge_window: u64,
    /// Start a challenger.
    pub challenger: bool,
    /// Make the proposer publish a corrupted state hash for the commitment covering this level.
    pub faulty_proposer_at_level: Option<u32>,
    /// The poster's batch size limit.
    pub max_batch_bytes: usize,
}

impl Options {
    /// Devnet defaults with `data_dir` and the binaries next to the running executable.
    pub fn new(data_dir: PathBuf) -> Self {
        let root = l1_bindings::toolchain::repo_root();
        Options {
            data_dir,
            bin_dir: bin_dir(),
            anvil: l1_bindings::toolchain::anvil(),
            kernel: root.join("target/kernels/transfer.wasm"),
            sequencer: SequencerMode::Committee(4),
            block_time: 1,
            commitment_period: 4,
            challenge_window: 8,
            challenger: true,
            faulty_proposer_at_level: None,
            max_batch_bytes: 4_000_000,
        }
    }
}

/// The directory of the running executable (for tests: the one above `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    }
}

/// A running devnet. Dropping it stops every process.
pub struct Devnet {
    /// How it was started.
    pub options: Options,
    /// The L1.
    pub anvil: Process,
    /// L1 JSON-RPC URL.
    pub l1_rpc: String,
    /// anvil's development keys (0 deploys; 1-5 the operator's bridge; 6 the permissioned
    /// sequencer; 7-8 the challenger's bridge; 9 is left for users).
    pub dev_keys: Vec<PrivateKeySigner>,
    /// Sequencer nodes (empty with no sequencer).
    pub sequencers: Vec<Process>,
    /// Their API URLs.
    pub sequencer_urls: Vec<String>,
    /// The deployment record.
    pub deployment: Deployment,
    /// The operator's bridge (poster and proposer).
    pub bridge: Process,
    /// Its URL.
    pub bridge_url: String,
    /// The challenger's bridge.
    pub challenger_bridge: Option<(Process, String)>,
    /// The poster.
    pub poster: Process,
    /// Its URL (the submit API in `none` mode).
    pub poster_url: String,
    /// The proposer.
    pub proposer: Process,
    /// Its RPC URL.
    pub proposer_url: String,
    /// The challenger and its RPC URL.
    pub challenger: Option<(Process, String)>,
}

const READY: Duration = Duration::from_secs(120);

impl Devnet {
    /// Where users submit transactions: a sequencer node, or the poster with no sequencer.
    pub fn submit_url(&self) -> &str {
        self.sequencer_urls.first().map(String::as_str).unwrap_or(&self.poster_url)
    }

    /// Starts everything and waits until every service is healthy. `progress` is told each step.
    pub async fn start(options: Options, progress: impl Fn(&str)) -> Result<Self> {
        let dir = &options.data_dir;
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        for bin in ["sequencer-node", "bridge", "poster", "proposer", "challenger"] {
            let p = options.bin_dir.join(bin);
            if !p.exists() {
                bail!("{} is missing: build the workspace first (`cargo build --workspace --bins`)", p.display());
            }
        }
        if !options.kernel.exists() {
            bail!("{} is missing: build the kernels first (`kernels/build.sh`)", options.kernel.display());
        }

        // --- L1 ----------------------------------------------------------------------------
        let port = free_port()?;
        let l1_rpc = format!("http://127.0.0.1:{port}");
        progress(&format!("starting anvil (L1) on {l1_rpc}, {}s blocks", options.block_time));
        let mut anvil = Process::start(Spec::new("anvil", &options.anvil, &logs).args([
            "--host".to_string(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--hardfork".into(),
            "prague".into(),
            "--block-time".into(),
            options.block_time.to_string(),
            "--gas-limit".into(),
            "1000000000".into(),
            "--disable-code-size-limit".into(),
        ]))?;
        let log = anvil.log().to_path_buf();
        anvil
            .wait_until(READY, || {
                let log = log.clone();
                async move { std::fs::read_to_string(&log).unwrap_or_default().contains("Listening on") }
            })
            .await?;
        let dev_keys = anvil_keys(&std::fs::read_to_string(anvil.log())?)?;

        // --- sequencer ---------------------------------------------------------------------
        let chain_id = 42u64;
        let seq_dir = dir.join("sequencer");
        let (mut sequencers, mut sequencer_urls) = (Vec::new(), Vec::new());
        let nodes = match options.sequencer {
            SequencerMode::Committee(n) => n,
            SequencerMode::Permissioned => 1,
            SequencerMode::None => 0,
        };
        let mut start_block = (Hash32::ZERO, 0u64);
        if nodes > 0 {
            progress(&format!("starting {nodes} sequencer node(s)"));
            let p2p: Vec<String> = (0..nodes).map(|_| free_port().map(|p| p.to_string())).collect::<Result<_>>()?;
            let api: Vec<u16> = (0..nodes).map(|_| free_port()).collect::<Result<_>>()?;
            let api_list: Vec<String> = api.iter().map(u16::to_string).collect();
            let out = std::process::Command::new(options.bin_dir.join("sequencer-node"))
                .args(["keygen", "--nodes", &nodes.to_string(), "--chain-id", &chain_id.to_string()])
                .arg("--out")
                .arg(&seq_dir)
                .args(["--p2p-ports", &p2p.join(","), "--api-ports", &api_list.join(",")])
                .output()?;
            if !out.status.success() {
                bail!("sequencer keygen failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            for i in 0..nodes {
                let cfg = seq_dir.join(format!("node{i}.toml"));
                let p = Process::start(Spec::new(&format!("sequencer-{i}"), options.bin_dir.join("sequencer-node"), &logs).args([
                    "run".to_string(),
                    "--config".into(),
                    cfg.display().to_string(),
                    "--set".into(),
                    format!("l1.rpc_url=\"{l1_rpc}\""),
                ]))?;
                sequencers.push(p);
                sequencer_urls.push(format!("http://127.0.0.1:{}", api[i]));
            }
            // A node is healthy once it reaches its peers, so start them all before waiting.
            for (p, url) in sequencers.iter_mut().zip(&sequencer_urls) {
                p.wait_healthy(&format!("{url}/health"), READY).await?;
            }
            // The rollup starts after the sequencer's genesis block.
            let client = sequencer_api::Client::new(&sequencer_urls[0]);
            let genesis = client.header(0).await.map_err(|e| anyhow::anyhow!("reading the sequencer genesis: {e}"))?;
            start_block = (genesis.header().map_err(|e| anyhow::anyhow!(e))?.hash(), 0);
        }

        // --- contracts ---------------------------------------------------------------------
        progress("deploying the contracts and originating the rollup");
        let kernel = std::fs::read(&options.kernel)?;
        let placeholder = RollupMetadata { address: protocol::Address::ZERO, origination_level: 0 };
        let genesis = pvm::Pvm::genesis(&kernel, &pvm::PvmConfig::new(placeholder))?;
        let mut cfg = DeployConfig::default();
        cfg.l1.rpc_url = l1_rpc.clone();
        cfg.verifier.kind = match options.sequencer {
            SequencerMode::Committee(_) => VerifierKind::Committee,
            SequencerMode::Permissioned => VerifierKind::Permissioned,
            SequencerMode::None => VerifierKind::Permissionless,
        };
        match options.sequencer {
            SequencerMode::Committee(_) => cfg.verifier.committee_file = Some(seq_dir.join("committee.json")),
            SequencerMode::Permissioned => cfg.verifier.signer = Some(protocol::Address(dev_keys[6].address().0 .0)),
            SequencerMode::None => {}
        }
        cfg.rollup.kernel = Some(options.kernel.clone());
        cfg.rollup.genesis_state_hash = Some(genesis.state_hash);
        cfg.rollup.commitment_period = options.commitment_period;
        cfg.rollup.challenge_window_blocks = options.challenge_window;
        cfg.rollup.sequencer_chain_id = chain_id;
        cfg.rollup.sequencer_start_block_hash = start_block.0;
        cfg.rollup.sequencer_start_height = start_block.1;
        cfg.rollup.namespace = 1;
        cfg.output.deployment_json = dir.join("deployment.json");
        cfg.output.preimage_dir = Some(dir.join("preimages"));
        let deployer_key = format!("0x{}", alloy::hex::encode(dev_keys[0].to_bytes()));
        let deployment = rollup_deploy::deploy(&cfg, &deployer_key).await?;
        deployment.save(&cfg.output.deployment_json)?;
        progress(&format!(
            "rollup {} originated at L1 block {} ({:?} verifier)",
            deployment.rollup, deployment.origination_block, cfg.verifier.kind
        ));

        // --- bridges -----------------------------------------------------------------------
        let key = |i: usize| format!("0x{}", alloy::hex::encode(dev_keys[i].to_bytes()));
        let rollup = format!("{}", deployment.rollup);
        let start_bridge = |name: &str, keys: Vec<(&str, String)>| -> Result<(Process, String)> {
            let port = free_port()?;
            let mut args = vec![
                "--listen".to_string(),
                format!("127.0.0.1:{port}"),
                "--l1-rpc".into(),
                l1_rpc.clone(),
                "--rollup".into(),
                rollup.clone(),
            ];
            for (purpose, k) in keys {
                args.push("--set".into());
                args.push(format!("keys.{purpose}=\"{k}\""));
            }
            let p = Process::start(Spec::new(name, options.bin_dir.join("bridge"), &logs).args(args))?;
            Ok((p, format!("http://127.0.0.1:{port}")))
        };
        progress("starting the bridges");
        let (mut bridge, bridge_url) = start_bridge(
            "bridge",
            vec![("post", key(1)), ("publish", key(2)), ("cement", key(3)), ("execute", key(4)), ("refute", key(5))],
        )?;
        bridge.wait_healthy(&format!("{bridge_url}/health"), READY).await?;
        let mut challenger_bridge = None;
        if options.challenger {
            let (mut b, url) = start_bridge("bridge-challenger", vec![("publish", key(7)), ("refute", key(8)), ("cement", key(8))])?;
            b.wait_healthy(&format!("{url}/health"), READY).await?;
            challenger_bridge = Some((b, url));
        }

        // --- poster ------------------------------------------------------------------------
        progress("starting the poster");
        let poster_port = free_port()?;
        let poster_url = format!("http://127.0.0.1:{poster_port}");
        let mut poster_args = vec![
            "--set".to_string(),
            format!("listen=\"127.0.0.1:{poster_port}\""),
            "--set".into(),
            format!("bridge_url=\"{bridge_url}\""),
            "--set".into(),
            format!("max_batch_bytes={}", options.max_batch_bytes),
        ];
        let certify = match options.sequencer {
            SequencerMode::Committee(_) => "committee",
            SequencerMode::Permissioned => "permissioned",
            SequencerMode::None => "direct",
        };
        poster_args.extend(["--set".into(), format!("certify=\"{certify}\"")]);
        if !sequencer_urls.is_empty() {
            let list: Vec<String> = sequencer_urls.iter().map(|u| format!("\"{u}\"")).collect();
            poster_args.extend(["--set".into(), format!("sequencer_urls=[{}]", list.join(","))]);
        }
        if options.sequencer == SequencerMode::Permissioned {
            poster_args.extend(["--set".into(), format!("operator_key=\"{}\"", key(6))]);
        }
        let mut poster = Process::start(Spec::new("poster", options.bin_dir.join("poster"), &logs).args(poster_args))?;
        poster.wait_healthy(&format!("{poster_url}/health"), READY).await?;

        // --- rollup nodes ------------------------------------------------------------------
        let deployment_json = cfg.output.deployment_json.clone();
        let start_node = |name: &str, bin: &str, bridge_url: &str, sequencer: Option<&String>, extra: Vec<String>| -> Result<(Process, String)> {
            let port = free_port()?;
            let mut args = vec![
                "--listen".to_string(),
                format!("127.0.0.1:{port}"),
                "--bridge-url".into(),
                bridge_url.to_string(),
                "--data-dir".into(),
                dir.join(name).display().to_string(),
                "--kernel".into(),
                options.kernel.display().to_string(),
                "--set".into(),
                format!("preimages_dir=\"{}\"", dir.join("preimages").display()),
                "--set".into(),
                "poll_wait_ms=500".into(),
            ];
            if let Some(url) = sequencer {
                // Execute certified sequencer blocks ahead of the L1 (low latency).
                args.extend([
                    "--set".into(),
                    format!("sequencer_url=\"{url}\""),
                    "--set".into(),
                    format!("deployment=\"{}\"", deployment_json.display()),
                ]);
            }
            args.extend(extra);
            let p = Process::start(Spec::new(name, options.bin_dir.join(bin), &logs).args(args))?;
            Ok((p, format!("http://127.0.0.1:{port}")))
        };
        progress("starting the proposer and the challenger");
        let fault = options
            .faulty_proposer_at_level
            .map(|l| vec!["--fault-corrupt-state-at-level".to_string(), l.to_string()])
            .unwrap_or_default();
        let committee_feed = |i: usize| match options.sequencer {
            SequencerMode::Committee(_) => sequencer_urls.get(i % sequencer_urls.len().max(1)),
            _ => None,
        };
        let (mut proposer, proposer_url) = start_node("proposer", "proposer", &bridge_url, committee_feed(0), fault)?;
        proposer.wait_healthy(&format!("{proposer_url}/health"), READY).await?;
        let mut challenger = None;
        if let Some((_, url)) = &challenger_bridge {
            let (mut c, curl) = start_node("challenger", "challenger", url, committee_feed(1), vec![])?;
            c.wait_healthy(&format!("{curl}/health"), READY).await?;
            challenger = Some((c, curl));
        }
        progress("all services are up");
        Ok(Devnet {
            options,
            anvil,
            l1_rpc,
            dev_keys,
            sequencers,
            sequencer_urls,
            deployment,
            bridge,
            bridge_url,
            challenger_bridge,
            poster,
            poster_url,
            proposer,
            proposer_url,
            challenger,
        })
    }

    /// Every process, for checks and shutdown.
    pub fn processes(&mut self) -> Vec<&mut Process> {
        let mut v: Vec<&mut Process> = vec![&mut self.anvil];
        v.extend(self.sequencers.iter_mut());
        v.push(&mut self.bridge);
        if let Some((b, _)) = self.challenger_bridge.as_mut() {
            v.push(b);
        }
        v.push(&mut self.poster);
        v.push(&mut self.proposer);
        if let Some((c, _)) = self.challenger.as_mut() {
            v.push(c);
        }
        v
    }

    /// Fails with the process's log if any process died.
    pub fn check_alive(&mut self) -> Result<()> {
        for p in self.processes() {
            p.check_alive()?;
        }
        Ok(())
    }

    /// Stops everything gracefully, services first, the L1 last.
    pub async fn stop(mut self) -> Result<()> {
        let mut all = self.processes();
        all.reverse();
        for p in all {
            p.stop(Duration::from_secs(10)).await?;
        }
        Ok(())
    }

    /// The log tails of every process, for a failing test's report.
    pub fn log_tails(&mut self, lines: usize) -> String {
        self.processes().into_iter().map(|p| format!("--- {} ---\n{}\n", p.name(), tail(p.log(), lines))).collect()
    }
}

/// anvil prints its development accounts' private keys at start.
fn anvil_keys(log: &str) -> Result<Vec<PrivateKeySigner>> {
    let section = log.split("Private Keys").nth(1).ok_or_else(|| anyhow::anyhow!("anvil printed no private keys"))?;
    let keys: Vec<PrivateKeySigner> = section
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("0x") && w.len() == 66))
        .take(10)
        .map(|k| k.parse::<PrivateKeySigner>())
        .collect::<Result<_, _>>()?;
    if keys.len() < 10 {
        bail!("anvil printed {} keys, 10 are needed", keys.len());
    }
    Ok(keys)
}

/// The hash of the latest L1 block (handy in tests).
pub async fn l1_block_hash(rpc: &str) -> Result<B256> {
    use alloy::providers::{Provider, ProviderBuilder};
    let p = ProviderBuilder::new().connect_http(rpc.parse()?);
    let b = p.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await?.ok_or_else(|| anyhow::anyhow!("no block"))?;
    Ok(b.header.hash)
}

/// An L1 address's balance (handy in the demo and tests).
pub async fn l1_balance(rpc: &str, who: Address) -> Result<alloy::primitives::U256> {
    use alloy::providers::{Provider, ProviderBuilder};
    let p = ProviderBuilder::new().connect_http(rpc.parse()?);
    Ok(p.get_balance(who).await?)
}
