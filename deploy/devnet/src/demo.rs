//! The devnet's demo, which is also the happy-path end-to-end test: deposit on the L1, transfer
//! on the rollup, withdraw, wait for cementing, execute the withdrawal on the L1, and check every
//! balance on both layers exactly.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use anyhow::{bail, ensure, Result};
use rollup_client::{Client, Endpoints, KeyFile};
use transfer_tx::Operation;

use crate::network::{l1_balance, Devnet};

const ETH: u128 = 1_000_000_000_000_000_000;

/// What the demo measured.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Seconds from the deposit's L1 inclusion to its credit on the rollup.
    pub deposit_seconds: f64,
    /// Seconds from submitting the transfer to seeing it executed.
    pub transfer_seconds: f64,
    /// Seconds from the withdrawal's execution on the rollup to its level being cemented.
    pub cement_seconds: f64,
    /// The withdrawal's outbox level.
    pub withdrawal_level: u32,
    /// L1 balance of the recipient before and after executing the withdrawal.
    pub l1_before: U256,
    /// After.
    pub l1_after: U256,
}

/// Runs the demo against a running devnet, telling `progress` each step.
pub async fn run(devnet: &Devnet, progress: impl Fn(&str)) -> Result<DemoReport> {
    let client = Client::new(Endpoints {
        bridge: devnet.bridge_url.clone(),
        sequencer: devnet.submit_url().to_string(),
        node: devnet.proposer_url.clone(),
    });
    let alice = KeyFile::generate()?;
    let bob = KeyFile::generate()?;
    let (alice_id, bob_id) = (alice.account()?, bob.account()?);
    let user = devnet.dev_keys[9].clone();
    progress(&format!("L2 accounts: alice {}…, bob {}…", &alice.account[..12], &bob.account[..12]));

    // 1. Deposit 10 ETH from the user's L1 account to alice.
    let t = Instant::now();
    let index = client.deposit(&user, &alice_id, 10 * ETH).await?;
    progress(&format!("deposited 10 ETH from L1 {} to alice (delayed message {index}); waiting for the rollup to credit it", user.address()));
    let credited = wait(Duration::from_secs(120), || async {
        Ok(client.balance(&alice_id).await?.balance == 10 * ETH)
    })
    .await?;
    ensure!(credited, "alice was not credited 10 ETH");
    let deposit_seconds = t.elapsed().as_secs_f64();
    progress(&format!("alice has 10 ETH on the rollup ({deposit_seconds:.1}s)"));

    // 2. alice sends 3 ETH to bob.
    let t = Instant::now();
    let (hash, nonce) = client.send(&alice, Operation::Transfer { to: bob_id, amount: 3 * ETH }).await?;
    progress(&format!("alice sends 3 ETH to bob (transaction {hash})"));
    client.wait_nonce(&alice_id, nonce, Duration::from_secs(60)).await?;
    let transfer_seconds = t.elapsed().as_secs_f64();
    let (a, b) = (client.balance(&alice_id).await?, client.balance(&bob_id).await?);
    ensure!(a.balance == 7 * ETH && b.balance == 3 * ETH, "after the transfer alice has {} and bob {} wei", a.balance, b.balance);
    progress(&format!("transfer executed at level {} ({transfer_seconds:.1}s): alice 7 ETH, bob 3 ETH", a.level));

    // 3. bob withdraws 1 ETH to a fresh L1 address.
    let recipient = Address::from_slice(&protocol::keccak256(bob.account.as_bytes())[12..]);
    let l1_before = l1_balance(&devnet.l1_rpc, recipient).await?;
    let (hash, nonce) = client
        .send(&bob, Operation::Withdrawal { recipient: protocol::Address(recipient.0 .0), amount: ETH })
        .await?;
    progress(&format!("bob withdraws 1 ETH to L1 {recipient} (transaction {hash})"));
    let b = client.wait_nonce(&bob_id, nonce, Duration::from_secs(60)).await?;
    ensure!(b.balance == 2 * ETH, "bob has {} wei after withdrawing", b.balance);
    let executed_at = Instant::now();
    let dest = recipient.to_string().to_lowercase();
    let find = || async {
        let list = client.outbox(Some(b.level.saturating_sub(2).max(1)), None).await?;
        Ok::<_, anyhow::Error>(list.into_iter().find(|m| {
            m.entry.calls.as_ref().is_some_and(|c| c.len() == 1 && c[0].destination.to_lowercase() == dest && c[0].value == ETH.to_string())
        }))
    };
    let Some(msg) = find().await? else { bail!("the withdrawal's outbox message is not on the rollup node") };
    progress(&format!(
        "withdrawal is outbox message {} of level {}; waiting for the commitment covering it to be cemented (challenge window {} L1 blocks)",
        msg.entry.index, msg.level, devnet.options.challenge_window
    ));

    // 4. Wait for cementing, then execute on the L1.
    let cemented = wait(Duration::from_secs(300), || async { Ok(find().await?.is_some_and(|m| m.status == "executable")) }).await?;
    ensure!(cemented, "level {} was not cemented in 5 minutes", msg.level);
    let cement_seconds = executed_at.elapsed().as_secs_f64();
    progress(&format!("level {} is cemented ({cement_seconds:.1}s); executing the withdrawal on the L1", msg.level));
    let mined = client.execute(msg.level, msg.entry.index, None).await?;
    let l1_after = l1_balance(&devnet.l1_rpc, recipient).await?;
    progress(&format!(
        "executed in L1 block {}: {recipient} went from {l1_before} to {l1_after} wei",
        mined.l1_block
    ));
    ensure!(l1_after == l1_before + U256::from(ETH), "the L1 recipient did not receive exactly 1 ETH");
    // Executing twice is refused.
    ensure!(client.execute(msg.level, msg.entry.index, None).await.is_err(), "a second execution was accepted");
    Ok(DemoReport { deposit_seconds, transfer_seconds, cement_seconds, withdrawal_level: msg.level, l1_before, l1_after })
}

/// Polls `check` every 250 ms until it is true or `timeout` passes.
pub async fn wait<F, Fut>(timeout: Duration, mut check: F) -> Result<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(e) => tracing::debug!("waiting: {e}"),
        }
        if start.elapsed() > timeout {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
