//! A local network of real `sequencer-node` processes for the multi-process tests: keys and
//! configurations from `sequencer-node keygen`, free loopback ports from the OS, logs in the
//! test's temporary directory (printed when a test fails).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sequencer_api::{Client, FinalizedBlock};

/// A free TCP port on loopback (asked from the OS, then released for the node to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("local addr").port()
}

/// One network of node processes.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub configs: Vec<PathBuf>,
    pub api_ports: Vec<u16>,
    pub children: Vec<Option<Child>>,
    pub extra: Vec<Vec<String>>,
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sequencer-node"))
}

impl Cluster {
    /// Generates an `n`-member network (not started).
    pub fn generate(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let p2p: Vec<String> = (0..n).map(|_| free_port().to_string()).collect();
        let api_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let api: Vec<String> = api_ports.iter().map(|p| p.to_string()).collect();
        let out = Command::new(binary())
            .args(["keygen", "--nodes", &n.to_string(), "--chain-id", "77"])
            .arg("--out")
            .arg(dir.path())
            .arg("--p2p-ports")
            .arg(p2p.join(","))
            .arg("--api-ports")
            .arg(api.join(","))
            .output()
            .expect("run keygen");
        assert!(out.status.success(), "keygen failed: {}", String::from_utf8_lossy(&out.stderr));
        let configs = (0..n).map(|i| dir.path().join(format!("node{i}.toml"))).collect();
        Cluster { dir, configs, api_ports, children: (0..n).map(|_| None).collect(), extra: vec![Vec::new(); n] }
    }

    /// Generates and starts `n` nodes with the same `--set` overrides, and waits until each
    /// API answers.
    pub fn start(n: usize, overrides: &[&str]) -> Self {
        let mut c = Self::generate(n);
        for i in 0..n {
            c.extra[i] = overrides.iter().map(|s| s.to_string()).collect();
        }
        for i in 0..n {
            c.spawn(i);
        }
        for i in 0..n {
            c.wait_ready(i);
        }
        c
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{i}.log"))
    }

    /// Starts node `i` (again).
    pub fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path(i)).expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("run").arg("--config").arg(&self.configs[i]);
        // Test timing: quick view changes so leader failures are short.
        for s in ["consensus.base_timeout_ms=1000", "consensus.idle_block_interval_ms=250", "consensus.min_block_interval_ms=50"] {
            cmd.arg("--set").arg(s);
        }
        for s in &self.extra[i] {
            cmd.arg("--set").arg(s);
        }
        cmd.env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sequencer_node::sink=warn".into()));
        cmd.stdout(Stdio::from(log.try_clone().expect("log"))).stderr(Stdio::from(log));
        self.children[i] = Some(cmd.spawn().expect("spawn sequencer-node"));
    }

    pub fn client(&self, i: usize) -> Client {
        Client::new(&format!("http://127.0.0.1:{}", self.api_ports[i]))
    }

    pub fn wait_ready(&self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("http://127.0.0.1:{}/v1/status", self.api_ports[i]);
        while Instant::now() < deadline {
            if let Ok(r) = blocking_get(&url) {
                if r.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.dump_logs();
        panic!("node {i} did not start");
    }

    /// SIGKILL (a crash: no chance to flush anything not already synced).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then the exit status (a clean shutdown exits 0).
    pub fn terminate(&mut self, i: usize) -> std::process::ExitStatus {
        let mut c = self.children[i].take().expect("running");
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = c.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("node {i} did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn dump_logs(&self) {
        for i in 0..self.configs.len() {
            if let Ok(text) = std::fs::read_to_string(self.log_path(i)) {
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(60)..];
                eprintln!("----- node {i} log (last {} lines) -----\n{}", tail.len(), tail.join("\n"));
            }
        }
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The committee as the L1 verifier holds it (from node 0's configuration).
    pub fn committee(&self) -> committee::Committee {
        let cfg: sequencer_node::NodeConfig = toml::from_str(&std::fs::read_to_string(&self.configs[0]).unwrap()).unwrap();
        let r = sequencer_node::config::resolve(cfg, self.dir.path()).unwrap();
        r.committee()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// A minimal HTTP GET over a raw socket (readiness probe without an async runtime).
fn blocking_get(url: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut s = std::net::TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Polls `f` every 100 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The decided height of node `c`, or None if it does not answer.
pub async fn decided(c: &Client) -> Option<u64> {
    c.status().await.ok().map(|s| s.decided_height)
}

/// The certified block at `height` from `c`, checked for consistency.
pub async fn certified_block(c: &Client, height: u64) -> Option<FinalizedBlock> {
    let b = c.block(height).await.ok()?;
    b.certificate.as_ref()?;
    Some(FinalizedBlock::from_json(&b).expect("consistent block"))
}
