//! Child processes of the devnet: started with their output in a log file, waited on until
//! ready, stopped gracefully (SIGTERM, then SIGKILL after a grace period), killed abruptly for
//! crash tests, and restarted with the same command. A [`Process`] stops its child when dropped,
//! so a failing test or a Ctrl-C never leaves processes behind.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

/// How to start a process (kept so it can be restarted).
#[derive(Debug, Clone)]
pub struct Spec {
    /// Short name for logs and errors.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr go (appended, so restarts keep the history).
    pub log: PathBuf,
}

impl Spec {
    /// A spec logging to `<log_dir>/<name>.log`.
    pub fn new(name: &str, program: impl Into<PathBuf>, log_dir: &Path) -> Self {
        Spec { name: name.into(), program: program.into(), args: vec![], env: vec![], log: log_dir.join(format!("{name}.log")) }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// A running (or stopped) child process.
pub struct Process {
    spec: Spec,
    child: Option<Child>,
}

impl Process {
    /// Starts the process.
    pub fn start(spec: Spec) -> Result<Self> {
        let mut p = Process { spec, child: None };
        p.spawn()?;
        Ok(p)
    }

    fn spawn(&mut self) -> Result<()> {
        if let Some(dir) = self.spec.log.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log)
            .with_context(|| format!("opening {}", self.spec.log.display()))?;
        let mut cmd = Command::new(&self.spec.program);
        cmd.args(&self.spec.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        for (k, v) in &self.spec.env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} ({})", self.spec.name, self.spec.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Its log file.
    pub fn log(&self) -> &Path {
        &self.spec.log
    }

    /// The OS process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Fails if the process has exited, with the tail of its log.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("{} exited ({status}); last log lines:\n{}", self.spec.name, tail(&self.spec.log, 30));
            }
        }
        Ok(())
    }

    /// Waits until `ready` returns true, polling every 100 ms; fails if the process exits or
    /// `timeout` passes.
    pub async fn wait_until<F, Fut>(&mut self, timeout: Duration, mut ready: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive()?;
            if ready().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} not ready after {timeout:?}; last log lines:\n{}", self.spec.name, tail(&self.spec.log, 30));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `GET url` answers 200.
    pub async fn wait_healthy(&mut self, url: &str, timeout: Duration) -> Result<()> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        self.wait_until(timeout, || {
            let req = client.get(url).send();
            async move { matches!(req.await, Ok(r) if r.status().is_success()) }
        })
        .await
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub async fn stop(&mut self, grace: Duration) -> Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        if let Some(pid) = child.id() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        match tokio::time::timeout(grace, child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                tracing::warn!("{} ignored SIGTERM for {grace:?}; killing it", self.spec.name);
                child.kill().await.with_context(|| format!("killing {}", self.spec.name))
            }
        }
    }

    /// SIGKILL: an abrupt crash, for restart tests.
    pub async fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.with_context(|| format!("killing {}", self.spec.name))?;
        }
        Ok(())
    }

    /// Starts the same command again (after [`Process::stop`] or [`Process::kill`]).
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            bail!("{} is still running", self.spec.name);
        }
        self.spawn()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Some(pid) = child.id() {
                // Best effort graceful stop; kill_on_drop sends SIGKILL right after.
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// The last `n` lines of a log file (for error messages).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A free TCP port on 127.0.0.1 (bound then released; good enough for a devnet on one machine).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
