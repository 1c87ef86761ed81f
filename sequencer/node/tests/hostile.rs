//! Bad input at both doors: malformed, oversized and excess submissions get clear 4xx/503
//! answers; a hostile committee peer's malformed, forged, replayed and equivocating messages are
//! dropped and penalised until it is banned, while the honest members keep finalizing.

mod common;

use std::time::Duration;

use common::{decided, eventually, Cluster};
use consensus::message::vote_digest;
use consensus::{Bls, Message, Scheme, Vote};
use protocol::Hash32;
use sequencer_api::Client;
use sequencer_p2p::{Network, NetworkConfig};

async fn post(c: &Client, path: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", c.base()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_get_clear_errors_and_a_full_pool_answers_503() {
    // One member (it is its own quorum) that takes its time before ordering anything, so the
    // mempool fills: blocks wait 15 s when there is something to order.
    let c = Cluster::start(
        1,
        &[
            "consensus.base_timeout_ms=60000",
            "consensus.idle_block_interval_ms=15000",
            "consensus.min_block_interval_ms=15000",
            "mempool.max_bytes=3000",
            "mempool.max_namespace_bytes=2000",
            "api.max_body_bytes=65536",
        ],
    );
    let cl = c.client(0);
    let cases: &[(&str, u16, &str)] = &[
        ("not json", 400, "malformed submission"),
        (r#"{"namespace": 1}"#, 400, "malformed submission"),
        (r#"{"namespace": -1, "payload": "0x00"}"#, 400, "malformed submission"),
        (r#"{"namespace": 1, "payload": "0x00", "extra": 1}"#, 400, "malformed submission"),
        (r#"{"namespace": 1, "payload": "0xzz"}"#, 400, "invalid hex"),
        (r#"{"namespace": 1, "payload": "!!!"}"#, 400, "neither 0x-hex nor base64"),
        (r#"{"namespace": 1, "payload": "0x"}"#, 400, "empty"),
        (r#"{"namespace": 1, "payload": ""}"#, 400, "empty"),
    ];
    for (body, status, needle) in cases {
        let (s, text) = post(&cl, "/v1/submit", body.to_string()).await;
        assert_eq!(s, *status, "{body} -> {text}");
        assert!(text.contains(needle), "{body} -> {text}");
    }
    // A transaction over 4,095 bytes: 413, with the limit in the message.
    let big = format!(r#"{{"namespace": 1, "payload": "0x{}"}}"#, "ab".repeat(4096));
    let (s, text) = post(&cl, "/v1/submit", big).await;
    assert_eq!(s, 413, "{text}");
    assert!(text.contains("4095"), "{text}");
    // A body over the API's limit: 413 before it is even parsed.
    let (s, _) = post(&cl, "/v1/submit", vec![b'x'; 70_000]).await;
    assert_eq!(s, 413);
    // Base64 works; the same transaction again is a duplicate (409) with its hash.
    let (s, text) = post(&cl, "/v1/submit", r#"{"namespace": 5, "payload": "aGVsbG8="}"#.to_string()).await;
    assert_eq!(s, 200, "{text}");
    let hash: Hash32 = serde_json::from_str(&text).unwrap();
    assert_eq!(hash, sequencer_mempool::tx_hash(5, b"hello"));
    let (s, text) = post(&cl, "/v1/submit", r#"{"namespace": 5, "payload": "0x68656c6c6f"}"#.to_string()).await;
    assert_eq!(s, 409, "{text}");
    assert!(text.contains(&hash.to_string()));
    // Unknown heights and garbage paths are 4xx too.
    assert_eq!(cl.block(1_000_000).await.unwrap_err().status(), Some(404));
    assert_eq!(reqwest::get(format!("{}/v1/availability/block/abc", cl.base())).await.unwrap().status(), 400);

    // Fill namespace 1's share (2,000 bytes): further submissions to it get 503...
    let mut full = None;
    for i in 0..100u32 {
        match cl.submit(1, &[i as u8; 400]).await {
            Ok(_) => {}
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let e = full.expect("the pool filled");
    assert_eq!(e.status(), Some(503), "{e}");
    assert!(e.to_string().contains("retry later"), "{e}");
    // ...while another namespace still gets in, until the whole pool (3,000 bytes) is full.
    cl.submit(2, &[7; 400]).await.expect("fair share for another namespace");
    let mut last = None;
    for i in 0..10u8 {
        if let Err(e) = cl.submit(3, &[i; 400]).await {
            last = Some(e);
            break;
        }
    }
    assert_eq!(last.expect("pool full").status(), Some(503));
    let metrics = reqwest::get(format!("{}/metrics", cl.base())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"sequencer_submissions_total{kind="full"}"#), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_is_penalised_and_banned_while_the_others_keep_going() {
    let mut c = Cluster::generate(4);
    for i in 0..3 {
        c.extra[i] = vec!["p2p.ban_threshold=100".into(), "p2p.ban_seconds=600".into()];
        c.spawn(i);
    }
    for i in 0..3 {
        c.wait_ready(i);
    }
    let clients: Vec<Client> = (0..3).map(|i| c.client(i)).collect();
    eventually(Duration::from_secs(30), "progress with three of four members", || {
        let cl = &clients[0];
        async move { decided(cl).await.filter(|h| *h >= 2) }
    })
    .await;

    // Member 3's keys in the hands of an attacker speaking the real protocol.
    let cfg: sequencer_node::NodeConfig = toml::from_str(&std::fs::read_to_string(&c.configs[3]).unwrap()).unwrap();
    let r = sequencer_node::config::resolve(cfg, c.config_dir()).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let net_cfg = NetworkConfig::new(77, r.p2p_key.clone(), 3, "/ip4/127.0.0.1/tcp/0".parse().unwrap(), r.peers.clone());
    let (net, mut events, _task) = Network::start(net_cfg, shutdown.clone()).await.unwrap();
    let mut connected = 0;
    while connected < 3 {
        if let sequencer_p2p::Event::Connected(_) = tokio::time::timeout(Duration::from_secs(20), events.recv()).await.expect("connects").unwrap() {
            connected += 1;
        }
    }
    let view = clients[0].status().await.unwrap().view;
    let height = decided(&clients[0]).await.unwrap() + 1;
    let sign = |view: u64, block: Hash32| {
        Message::<Bls>::Vote(Vote { view, height, block, signer: 3, signature: Bls::sign(&r.bls_key, &vote_digest(77, view, height, &block)) })
    };
    // 1. Garbage: does not decode.
    net.send(0, b"\x02garbage".to_vec());
    // 2. A vote with a forged signature (signed over another digest).
    let forged = Message::<Bls>::Vote(Vote { view, height, block: Hash32([1; 32]), signer: 3, signature: Bls::sign(&r.bls_key, &[9; 32]) });
    net.send(0, forged.encode());
    // 3. A real vote, then the same bytes again (a replay), then a vote for another block in the
    //    same view (equivocation).
    let real = sign(view + 2, Hash32([2; 32]));
    net.send(0, real.encode());
    net.send(0, real.encode());
    net.send(0, sign(view + 2, Hash32([3; 32])).encode());
    // 4. A direct message over the size limit (1 MiB).
    net.send(1, vec![0u8; (1 << 20) + 1]);

    let metrics = |i: usize| {
        let url = format!("{}/metrics", clients[i].base());
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let m0 = eventually(Duration::from_secs(20), "penalties at node 0", || async {
        let m = metrics(0).await;
        (m.contains(r#"sequencer_malformed_messages_total{kind="direct"}"#)
            && m.contains(r#"sequencer_penalties_total{kind="bad_signature"}"#)
            && m.contains(r#"sequencer_equivocations_total{kind="votes"}"#)
            && m.contains(r#"sequencer_penalties_total{kind="replay"}"#))
        .then_some(m)
    })
    .await;
    assert!(m0.contains(r#"sequencer_penalties_total{kind="equivocation"}"#), "{m0}");
    // Over 100 penalty points: node 0 bans the peer (and closes its connections).
    eventually(Duration::from_secs(20), "a ban at node 0", || async { metrics(0).await.contains("sequencer_bans_total 1").then_some(()) }).await;

    // Keep hammering the others until they ban it too; they never stop finalizing.
    let before = decided(&clients[1]).await.unwrap();
    for _ in 0..5 {
        for to in [1u16, 2] {
            net.send(to, b"\xffnot a message".to_vec());
        }
    }
    for i in [1usize, 2] {
        eventually(Duration::from_secs(20), "a ban at nodes 1 and 2", || async move {
            metrics(i).await.lines().any(|l| l.starts_with("sequencer_bans_total ") && !l.ends_with(" 0")).then_some(())
        })
        .await;
    }
    eventually(Duration::from_secs(30), "progress after the attack", || {
        let cl = &clients[1];
        async move { decided(cl).await.filter(|h| *h >= before + 3) }
    })
    .await;
    shutdown.cancel();
}
