//! The L1 head source against a real anvil, and a node whose blocks follow the L1.

mod common;

use std::time::Duration;

use alloy::node_bindings::Anvil;
use alloy::providers::{ext::AnvilApi, Provider, ProviderBuilder};
use common::{eventually, Cluster};
use sequencer_node::{L1HeadSource, RpcHead};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_head_follows_anvil_with_a_confirmation_depth() {
    let anvil = Anvil::at(l1_bindings::toolchain::anvil()).port(common::free_port()).spawn();
    let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let head = RpcHead::spawn(anvil.endpoint_url().as_str(), 3, Duration::from_millis(50), shutdown.clone()).unwrap();
    provider.anvil_mine(Some(10), None).await.unwrap();
    let n = provider.get_block_number().await.unwrap();
    eventually(Duration::from_secs(10), "the head to reach latest - 3", || async { (head.head() == Some(n - 3)).then_some(()) }).await;
    // An unreachable RPC leaves the head unknown instead of failing.
    let dead = RpcHead::spawn(&format!("http://127.0.0.1:{}", common::free_port()), 1, Duration::from_millis(50), shutdown.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dead.head(), None);
    assert!(RpcHead::spawn("not a url", 1, Duration::from_millis(50), shutdown.clone()).is_err());
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_reference_the_l1_head_and_never_go_back() {
    let anvil = Anvil::at(l1_bindings::toolchain::anvil()).port(common::free_port()).spawn();
    let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let url = format!("l1.rpc_url={}", anvil.endpoint_url());
    let c = Cluster::start(1, &[&url, "l1.confirmations=2", "l1.poll_interval_ms=100"]);
    let cl = c.client(0);
    provider.anvil_mine(Some(20), None).await.unwrap();
    let target = provider.get_block_number().await.unwrap() - 2;
    let top = eventually(Duration::from_secs(30), "a block referencing the mined L1 head", || {
        let cl = &cl;
        async move {
            let s = cl.status().await.ok()?;
            let h = cl.header(s.decided_height).await.ok()?;
            (h.l1_block == target).then_some(s.decided_height)
        }
    })
    .await;
    let mut prev = 0;
    for h in 1..=top {
        let l1 = cl.header(h).await.unwrap().l1_block;
        assert!(l1 >= prev, "l1_block went back at height {h}");
        prev = l1;
    }
}
