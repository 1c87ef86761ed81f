//! Four `sequencer-node` processes on loopback: ordering, agreement, certificates the L1 can
//! check, namespace proofs, the block stream; crashes, restarts from disk and leader failures.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{certified_block, decided, eventually, Cluster};
use futures::StreamExt;
use sequencer_api::{verify_namespace, Client, FinalizedBlock};
use sequencer_mempool::tx_hash;

async fn wait_decided(c: &Client, at_least: u64, within: Duration) -> u64 {
    eventually(within, &format!("decided height {at_least} at {}", c.base()), || async move {
        decided(c).await.filter(|h| *h >= at_least)
    })
    .await
}

/// Waits until every transaction of `wanted` is in a certified block of `c`; returns the height
/// that covers them all.
async fn wait_included(c: &Client, wanted: &HashSet<protocol::Hash32>, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    let mut seen = HashSet::new();
    let mut next = 1;
    loop {
        let certified = c.status().await.map(|s| s.certified_height).unwrap_or(0);
        while next <= certified {
            let b = c.block(next).await.expect("certified block");
            for t in &b.transactions {
                assert!(seen.insert(t.hash), "transaction {} ordered twice", t.hash);
            }
            next += 1;
        }
        if wanted.iter().all(|h| seen.contains(h)) {
            return next - 1;
        }
        assert!(Instant::now() < deadline, "only {} of {} transactions certified in {within:?}", wanted.iter().filter(|h| seen.contains(h)).count(), wanted.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_order_every_submission_identically() {
    let mut c = Cluster::start(4, &[]);
    let clients: Vec<Client> = (0..4).map(|i| c.client(i)).collect();
    wait_decided(&clients[0], 2, Duration::from_secs(30)).await;

    // Submissions to every node, three namespaces.
    let mut wanted = HashSet::new();
    for i in 0..60u64 {
        let ns = 1 + i % 3;
        let payload = format!("transaction {i}").into_bytes();
        let hash = clients[(i % 4) as usize].submit(ns, &payload).await.expect("accepted");
        assert_eq!(hash, tx_hash(ns, &payload));
        wanted.insert(hash);
    }
    let top = wait_included(&clients[0], &wanted, Duration::from_secs(30)).await;
    for cl in &clients[1..] {
        wait_included(cl, &wanted, Duration::from_secs(30)).await;
    }

    // Every node has the same certified chain, and every certificate is what the L1 accepts.
    let committee = c.committee();
    let mut parent = clients[0].header(0).await.unwrap().hash;
    for h in 1..=top {
        let mine = certified_block(&clients[0], h).await.expect("certified");
        assert_eq!(mine.header.parent, parent, "chain broken at {h}");
        parent = mine.hash();
        mine.verify_certificate(&committee).expect("finality certificate verifies against the committee");
        for cl in &clients[1..] {
            let theirs = cl.block(h).await.unwrap();
            assert_eq!(theirs.header.hash, mine.hash(), "nodes disagree at height {h}");
        }
        // Namespace answers check out against the header, present or absent.
        for ns in [1u64, 2, 3, 999] {
            let answer = clients[(h % 4) as usize].namespace(h, ns).await.unwrap();
            let txs = verify_namespace(&mine.header, &answer).expect("namespace proof");
            assert_eq!(txs, mine.namespace(ns).into_iter().map(|t| t.to_vec()).collect::<Vec<_>>());
        }
    }
    // A tampered answer does not.
    let mut h = 0;
    for k in 1..=top {
        if clients[0].block(k).await.unwrap().transactions.len() > 1 {
            h = k;
            break;
        }
    }
    assert!(h > 0, "a block with two transactions");
    let header = certified_block(&clients[0], h).await.unwrap().header;
    let ns = clients[0].block(h).await.unwrap().transactions[0].namespace;
    let mut answer = clients[0].namespace(h, ns).await.unwrap();
    answer.transactions.pop();
    assert!(verify_namespace(&header, &answer).is_err());

    // The stream delivers the same certified blocks in order, from any height.
    let mut stream = clients[2].stream_blocks(1).await.unwrap();
    for h in 1..=top {
        let b = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("stream item").expect("open").unwrap();
        let b = FinalizedBlock::from_json(&b).unwrap();
        assert_eq!(b.header.height, h);
        assert_eq!(b.hash(), certified_block(&clients[0], h).await.unwrap().hash());
    }

    // Health and metrics.
    let health = reqwest::get(format!("{}/health", clients[1].base())).await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = reqwest::get(format!("{}/metrics", clients[1].base())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sequencer_decided_blocks_total"), "{metrics}");
    assert!(metrics.contains("sequencer_certify_latency_seconds_bucket"));

    // SIGTERM stops a node cleanly.
    assert!(c.terminate(0).success(), "graceful shutdown exits 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_restarts_and_leader_failures() {
    let mut c = Cluster::start(4, &[]);
    let clients: Vec<Client> = (0..4).map(|i| c.client(i)).collect();
    wait_decided(&clients[0], 2, Duration::from_secs(30)).await;

    // One node crashes: the other three keep finalizing what is submitted.
    c.kill(3);
    let down_from = decided(&clients[0]).await.unwrap();
    let mut wanted = HashSet::new();
    for i in 0..30u64 {
        let payload = format!("while 3 is down {i}").into_bytes();
        wanted.insert(clients[(i % 3) as usize].submit(7, &payload).await.expect("accepted"));
    }
    let top = wait_included(&clients[1], &wanted, Duration::from_secs(60)).await;
    assert!(top > down_from);
    // Stay down long enough that catching up takes several requests and certificate batches.
    let top = wait_decided(&clients[1], top.max(down_from + 40), Duration::from_secs(60)).await;

    // It restarts from its disk and catches up from its peers, certificates included.
    c.spawn(3);
    c.wait_ready(3);
    wait_decided(&clients[3], top, Duration::from_secs(60)).await;
    let committee = c.committee();
    for h in down_from.max(1)..=top {
        let b = eventually(Duration::from_secs(30), "certificates fetched by the restarted node", || {
            let cl = &clients[3];
            async move { certified_block(cl, h).await }
        })
        .await;
        b.verify_certificate(&committee).unwrap();
        assert_eq!(b.hash(), clients[0].block(h).await.unwrap().header.hash);
    }
    let rejoined = wait_included(&clients[3], &wanted, Duration::from_secs(30)).await;
    assert!(rejoined >= top);

    // The leader of the current view dies: the others time out and a new view decides blocks.
    let s = clients[0].status().await.unwrap();
    let leader = usize::from(s.leader);
    let survivors: Vec<usize> = (0..4).filter(|i| *i != leader).collect();
    let timeouts_before = timeouts(&clients[survivors[0]]).await;
    let before = decided(&clients[survivors[0]]).await.unwrap();
    let killed_at = Instant::now();
    c.kill(leader);
    // Base timeout is 1 s (see common::Cluster::spawn); allow for backoff and loaded machines.
    wait_decided(&clients[survivors[0]], before + 3, Duration::from_secs(20)).await;
    eprintln!("decisions resumed {:?} after killing the leader of view {}", killed_at.elapsed(), s.view);
    let after = clients[survivors[0]].status().await.unwrap();
    assert!(after.view > s.view);
    // The dead leader's views end by timeout certificates, not by silence.
    eventually(Duration::from_secs(20), "a timeout-driven view change", || {
        let cl = &clients[survivors[0]];
        async move { (timeouts(cl).await > timeouts_before).then_some(()) }
    })
    .await;
    for &i in &survivors[1..] {
        let h = wait_decided(&clients[i], before + 3, Duration::from_secs(20)).await;
        let a = clients[i].block(before + 1).await.unwrap().header.hash;
        let b = clients[survivors[0]].block(before + 1).await.unwrap().header.hash;
        assert_eq!(a, b, "survivors disagree (height {h})");
    }
}

async fn timeouts(c: &Client) -> u64 {
    let text = reqwest::get(format!("{}/metrics", c.base())).await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix("sequencer_timeouts_total ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}
