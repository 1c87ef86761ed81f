//! The built-in consumer of finalized blocks, fed from the node's own disk.
//!
//! [`run_local`] drives any [`FinalizedSink`] with the certified blocks of this node, in height
//! order from the sink's resume height, waiting for new certificates as they come. The same trait
//! is driven over the network by `sequencer_api::follow` (what the L1 poster of the bridge
//! uses); [`LogSink`] is the node's default.

use std::sync::Arc;

use consensus::{BlockRecord, Bls, FinalityCert};
use sequencer_api::{FinalizedBlock, FinalizedSink, SinkError};
use tokio_util::sync::CancellationToken;

use crate::node::Shared;

/// Logs each finalized block (height, hash, transactions) at info level.
pub struct LogSink;

impl FinalizedSink for LogSink {
    async fn resume_height(&mut self) -> Result<u64, SinkError> {
        Ok(1)
    }

    async fn deliver(&mut self, block: FinalizedBlock) -> Result<(), SinkError> {
        tracing::info!(
            height = block.header.height,
            hash = %block.hash(),
            view = block.header.view,
            l1_block = block.header.l1_block,
            txs = block.transactions.len(),
            namespaces = block.ns_table.entries.len(),
            "finalized"
        );
        Ok(())
    }
}

/// Feeds `sink` from this node's certified blocks until `shutdown`.
pub async fn run_local<S: FinalizedSink>(shared: Arc<Shared>, mut sink: S, shutdown: CancellationToken) {
    let mut certified = shared.certified.subscribe();
    let mut next = loop {
        match sink.resume_height().await {
            Ok(h) => break h.max(1),
            Err(SinkError::Fatal(e)) => {
                tracing::error!("finalized-block sink cannot start: {e}");
                return;
            }
            Err(SinkError::Retry(e)) => {
                tracing::warn!("finalized-block sink not ready: {e}");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
        }
    };
    loop {
        let through = *certified.borrow_and_update();
        while next <= through {
            let block = match (shared.store.block(next), shared.store.certificate(next)) {
                (Ok(Some(rec)), Ok(Some(cert))) => Ok(finalized(&rec, &cert)),
                (a, b) => Err(format!("block or certificate {next} unreadable: {:?} {:?}", a.err(), b.err())),
            };
            let block = match block {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!("finalized-block sink stopped: {e}");
                    return;
                }
            };
            match sink.deliver(block).await {
                Ok(()) => next += 1,
                Err(SinkError::Fatal(e)) => {
                    tracing::error!("finalized-block sink failed: {e}");
                    return;
                }
                Err(SinkError::Retry(e)) => {
                    tracing::warn!("finalized-block sink will retry block {next}: {e}");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = certified.changed() => if r.is_err() { return },
        }
    }
}

/// A decided block and its certificate as a sink receives them.
pub fn finalized(rec: &BlockRecord<Bls>, cert: &FinalityCert<Bls>) -> FinalizedBlock {
    FinalizedBlock {
        header: *rec.block.header(),
        ns_table: rec.block.ns_table().clone(),
        transactions: rec.block.payload().transactions().map(|(ns, t)| (ns, t.to_vec())).collect(),
        certificate: cert.cert.to_l1_bytes(),
    }
}
