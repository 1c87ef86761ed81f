//! The ten-step flow end to end with exact balances on both layers: deposit on the L1, transfer
//! on the rollup, withdraw, cement, execute on the L1 (the devnet demo, asserted), and the
//! challenger agreeing with the proposer throughout.

use e2e::{check, devnet};

#[tokio::test(flavor = "multi_thread")]
async fn deposit_transfer_withdraw_cement_execute() {
    let mut d = devnet("happy_path", |_| {}).await;
    let report = devnet::demo::run(&d, |m| eprintln!("[happy_path] {m}")).await;
    let report = check(&mut d, report);
    assert_eq!(report.l1_after - report.l1_before, alloy::primitives::U256::from(e2e::ETH));

    // The challenger computed the same states and never had to publish.
    let proposer: serde_json::Value = reqwest::get(format!("{}/v1/commitments", d.proposer_url)).await.unwrap().json().await.unwrap();
    let challenger_url = d.challenger.as_ref().unwrap().1.clone();
    let challenger: serde_json::Value = reqwest::get(format!("{challenger_url}/v1/commitments")).await.unwrap().json().await.unwrap();
    assert!(proposer["conflicts"].as_array().unwrap().is_empty(), "{proposer}");
    assert!(challenger["last_published"].is_null(), "the challenger published without a conflict: {challenger}");
    let level = report.withdrawal_level;
    let p: serde_json::Value = reqwest::get(format!("{}/v1/levels/{level}", d.proposer_url)).await.unwrap().json().await.unwrap();
    let c: serde_json::Value = reqwest::get(format!("{challenger_url}/v1/levels/{level}")).await.unwrap().json().await.unwrap();
    assert_eq!(p["state_hash"], c["state_hash"], "proposer and challenger disagree at level {level}");
    let alive = d.check_alive();
    check(&mut d, alive);
    d.stop().await.unwrap();
}
