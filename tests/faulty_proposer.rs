//! A proposer that publishes a wrong state hash is caught: the challenger publishes the right
//! commitment, the conflict is on the L1 and in both nodes' RPC, and the wrong commitment is
//! never cemented.

use std::time::Duration;

use bridge::client::BridgeClient;
use e2e::{check, client, devnet, ETH};

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_commitment_is_disputed_and_never_cemented() {
    // Commitments every 4 levels; the one covering level 6 (level 8) is corrupted.
    let mut d = devnet("faulty_proposer", |o| {
        o.faulty_proposer_at_level = Some(6);
        o.challenge_window = 6;
    })
    .await;
    // Some activity so the levels carry state.
    let c = client(&d);
    let alice = rollup_client::KeyFile::generate().unwrap();
    let r = c.deposit(&d.dev_keys[9], &alice.account().unwrap(), ETH).await;
    check(&mut d, r);

    let challenger_url = d.challenger.as_ref().unwrap().1.clone();
    let conflict = devnet::demo::wait(Duration::from_secs(180), || shows_a_conflict(&challenger_url)).await;
    if !check(&mut d, conflict) {
        panic!("no conflict appeared on the L1\n{}", d.log_tails(30));
    }

    // Both nodes' RPC show it (each follows the L1 at its own pace, so wait for the proposer
    // too); the challenger staked on its own (correct) commitment.
    let proposer_url = d.proposer_url.clone();
    let seen = devnet::demo::wait(Duration::from_secs(60), || shows_a_conflict(&proposer_url)).await;
    if !check(&mut d, seen) {
        panic!("the proposer never saw the conflict\n{}", d.log_tails(30));
    }
    let p: serde_json::Value = reqwest::get(format!("{}/v1/commitments", d.proposer_url)).await.unwrap().json().await.unwrap();
    let ch: serde_json::Value = reqwest::get(format!("{challenger_url}/v1/commitments")).await.unwrap().json().await.unwrap();
    assert_eq!(p["conflicts"], ch["conflicts"]);
    let disputed = ch["conflicts"][0]["inbox_level"].as_u64().unwrap() as u32;
    assert_eq!(disputed, 8, "the dispute is at the corrupted commitment's level");
    assert_eq!(ch["last_published"]["commitment"]["inbox_level"].as_u64(), Some(8));

    // Long after both challenge windows, the fork is still not cemented: cementing stopped at
    // the last agreed commitment.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let status = BridgeClient::new(&d.bridge_url).rollup().await.unwrap();
    assert!(status.last_cemented.1 < disputed, "level {} was cemented despite the dispute", status.last_cemented.1);
    let wrong = p["last_published"]["hash"].clone();
    assert_ne!(serde_json::to_value(status.last_cemented.0).unwrap(), wrong);
    let alive = d.check_alive();
    check(&mut d, alive);
    d.stop().await.unwrap();
}

/// Whether the node RPC at `url` lists a conflict.
async fn shows_a_conflict(url: &str) -> anyhow::Result<bool> {
    let v: serde_json::Value = reqwest::get(format!("{url}/v1/commitments")).await?.json().await?;
    Ok(v["conflicts"].as_array().is_some_and(|a| !a.is_empty()))
}
