//! Spreading submitted transactions: every node's mempool should hold every transaction, so
//! whichever member leads next can order it. Transactions are gossiped in batches (one gossip
//! message per few milliseconds, not per transaction).
//!
//! Batch encoding: `u32 count || count × (u64 namespace || u32 len || bytes)`.

use std::time::Duration;

use consensus::codec::{Reader, Writer};
use sequencer_mempool::RejectReason;
use sequencer_p2p::{Network, Topic, Verdict};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::node::Shared;

/// Most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 65_536;
/// A batch is sent when it reaches this size...
pub const BATCH_BYTES: usize = 512 << 10;
/// ...or this age.
pub const BATCH_DELAY: Duration = Duration::from_millis(10);

/// Encodes a batch.
pub fn encode(txs: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + txs.iter().map(|(_, t)| 12 + t.len()).sum::<usize>());
    out.put_u32(txs.len() as u32);
    for (ns, tx) in txs {
        out.put_u64(*ns);
        out.put_bytes(tx);
    }
    out
}

/// Decodes a batch (each transaction within `max_tx` bytes).
pub fn decode(bytes: &[u8], max_tx: usize) -> Result<Vec<(u64, Vec<u8>)>, consensus::CodecError> {
    let mut r = Reader::new(bytes);
    let n = r.count(MAX_BATCH_TXS, "transactions in batch")?;
    let mut out = Vec::with_capacity(n.min(r.remaining() / 12));
    for _ in 0..n {
        let ns = r.u64("namespace")?;
        out.push((ns, r.bytes(max_tx, "transaction")?.to_vec()));
    }
    r.finish("transaction batch")?;
    Ok(out)
}

/// Puts a gossiped batch into the mempool. Malformed batches (or empty or oversized
/// transactions, which no honest node forwards) are rejected; duplicates and a full pool are not
/// the sender's fault.
pub fn ingest(shared: &Shared, data: &[u8]) -> Verdict {
    let Ok(txs) = decode(data, consensus::MAX_TX_BYTES) else { return Verdict::Reject };
    let mut pool = shared.mempool.lock().expect("mempool lock");
    let mut added = false;
    for (ns, tx) in &txs {
        match pool.insert(*ns, tx) {
            Ok(_) => added = true,
            Err(RejectReason::Empty | RejectReason::TooLarge { .. }) => return Verdict::Reject,
            Err(_) => {}
        }
    }
    drop(pool);
    if added {
        shared.mempool_notify.notify_one();
    }
    Verdict::Accept
}

/// Collects locally submitted transactions and gossips them in batches until `shutdown`.
pub async fn batcher(mut rx: mpsc::Receiver<(u64, Vec<u8>)>, net: Network, shutdown: CancellationToken) {
    let mut batch: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut bytes = 0usize;
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            tx = rx.recv() => match tx { Some(t) => t, None => break },
        };
        bytes += first.1.len();
        batch.push(first);
        let deadline = tokio::time::Instant::now() + BATCH_DELAY;
        while bytes < BATCH_BYTES && batch.len() < MAX_BATCH_TXS {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                tx = rx.recv() => match tx {
                    Some(t) => { bytes += t.1.len(); batch.push(t); }
                    None => break,
                },
            }
        }
        net.publish(Topic::Transactions, encode(&batch));
        batch.clear();
        bytes = 0;
    }
}

/// The sending side handed to the API.
pub type Outbox = mpsc::Sender<(u64, Vec<u8>)>;

/// Helper so callers need not import the channel type.
pub fn channel() -> (Outbox, mpsc::Receiver<(u64, Vec<u8>)>) {
    mpsc::channel(1 << 18)
}

