//! Every service restarts in the middle of the flow with nothing lost or duplicated: transfers
//! keep flowing while the bridge, the poster, the proposer and a sequencer node are killed
//! (SIGKILL) and restarted one after the other; at the end every balance and nonce is exact and
//! the restarted proposer agrees with the challenger, which never stopped.

use std::time::Duration;

use e2e::{check, client, devnet, ETH};
use transfer_tx::Operation;

#[tokio::test(flavor = "multi_thread")]
async fn services_restart_without_losing_or_duplicating() {
    let mut d = devnet("restarts", |_| {}).await;
    let c = client(&d);
    let alice = rollup_client::KeyFile::generate().unwrap();
    let bob = rollup_client::KeyFile::generate().unwrap();
    let (a, b) = (alice.account().unwrap(), bob.account().unwrap());
    let r = c.deposit(&d.dev_keys[9], &a, 10 * ETH).await;
    check(&mut d, r);
    let ok = devnet::demo::wait(Duration::from_secs(90), || async { Ok(c.balance(&a).await?.balance == 10 * ETH) }).await;
    assert!(check(&mut d, ok));

    // One transfer of 0.1 ETH per step; each step kills and restarts one service.
    let mut sent = 0u128;
    for step in 0..5 {
        let (_, nonce) = check(&mut d, c.send(&alice, Operation::Transfer { to: b, amount: ETH / 10 }).await);
        sent += ETH / 10;
        let victim = match step {
            0 => &mut d.bridge,
            1 => &mut d.poster,
            2 => &mut d.proposer,
            3 => &mut d.sequencers[1],
            _ => &mut d.sequencers[0],
        };
        eprintln!("[restarts] step {step}: killing {}", victim.name());
        victim.kill().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        victim.restart().unwrap();
        let r = c.wait_nonce(&a, nonce, Duration::from_secs(120)).await;
        check(&mut d, r);
    }
    // Exact balances, exact nonce: nothing lost, nothing applied twice.
    let (ba, bb) = (c.balance(&a).await.unwrap(), c.balance(&b).await.unwrap());
    assert_eq!(ba.nonce, 5);
    assert_eq!(bb.balance, sent);
    assert_eq!(ba.balance, 10 * ETH - sent);

    // The restarted proposer and the uninterrupted challenger agree on the state.
    let challenger_url = d.challenger.as_ref().unwrap().1.clone();
    let level = ba.level;
    let agree = devnet::demo::wait(Duration::from_secs(60), || async {
        let p: serde_json::Value = reqwest::get(format!("{}/v1/levels/{level}", d.proposer_url)).await?.json().await?;
        let q: serde_json::Value = reqwest::get(format!("{challenger_url}/v1/levels/{level}")).await?.json().await?;
        Ok(p["state_hash"].is_string() && p["state_hash"] == q["state_hash"])
    })
    .await;
    assert!(check(&mut d, agree), "proposer and challenger disagree at level {level}");
    let alive = d.check_alive();
    check(&mut d, alive);
    d.stop().await.unwrap();
}
