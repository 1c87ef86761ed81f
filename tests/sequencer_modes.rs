//! Alternative sequencers plug in with one switch each: a single permissioned sequencer node,
//! or no sequencer at all (the poster takes submissions, anyone posts). The proposer follows
//! either without change.

use std::time::Duration;

use devnet::network::SequencerMode;
use e2e::{check, client, devnet, ETH};
use transfer_tx::Operation;

async fn deposit_and_transfer(name: &str, mode: SequencerMode) {
    let mut d = devnet(name, |o| {
        o.sequencer = mode;
        o.challenger = false;
    })
    .await;
    let c = client(&d);
    let (alice, bob) = (rollup_client::KeyFile::generate().unwrap(), rollup_client::KeyFile::generate().unwrap());
    let (a, b) = (alice.account().unwrap(), bob.account().unwrap());
    let r = c.deposit(&d.dev_keys[9], &a, 2 * ETH).await;
    check(&mut d, r);
    let credited = devnet::demo::wait(Duration::from_secs(90), || async { Ok(c.balance(&a).await?.balance == 2 * ETH) }).await;
    if !check(&mut d, credited) {
        panic!("[{name}] deposit not credited\n{}", d.log_tails(25));
    }
    let sent = c.send(&alice, Operation::Transfer { to: b, amount: ETH / 2 }).await;
    let (_, nonce) = check(&mut d, sent);
    let done = c.wait_nonce(&a, nonce, Duration::from_secs(60)).await;
    check(&mut d, done);
    assert_eq!(c.balance(&b).await.unwrap().balance, ETH / 2);
    let alive = d.check_alive();
    check(&mut d, alive);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn permissioned_sequencer() {
    deposit_and_transfer("permissioned", SequencerMode::Permissioned).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_sequencer() {
    deposit_and_transfer("no_sequencer", SequencerMode::None).await;
}
