//! Shared helpers of the end-to-end tests: start a devnet in a per-test directory, report every
//! process's log on failure.

use std::path::PathBuf;

use devnet::network::{Devnet, Options, SequencerMode};

/// A devnet for one test, under `target/e2e/<name>`.
pub async fn devnet(name: &str, configure: impl FnOnce(&mut Options)) -> Devnet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e").join(name);
    let mut options = Options::new(dir);
    options.sequencer = SequencerMode::Committee(4);
    configure(&mut options);
    match Devnet::start(options, |m| eprintln!("[{name}] {m}")).await {
        Ok(d) => d,
        Err(e) => panic!("[{name}] the devnet did not start: {e:#}\n(logs under target/e2e/{name}/logs)"),
    }
}

/// Unwraps `r`, or fails the test with the tail of every process's log.
pub fn check<T>(devnet: &mut Devnet, r: anyhow::Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e:#}\n{}", devnet.log_tails(25)),
    }
}

/// A user client wired to the devnet's operator side.
pub fn client(d: &Devnet) -> rollup_client::Client {
    rollup_client::Client::new(rollup_client::Endpoints {
        bridge: d.bridge_url.clone(),
        sequencer: d.submit_url().to_string(),
        node: d.proposer_url.clone(),
    })
}

/// One ETH in wei.
pub const ETH: u128 = 1_000_000_000_000_000_000;
