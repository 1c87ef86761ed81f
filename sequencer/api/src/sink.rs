//! Where finalized blocks go.
//!
//! A [`FinalizedSink`] receives every certified block in height order, starting where it says
//! it stopped: an L1 poster answers [`FinalizedSink::resume_height`] from the L1 inbox (the
//! height after the last posted block) and posts in [`FinalizedSink::deliver`]. [`follow`]
//! drives a sink from a node's block stream and reconnects (to the same or another node) after
//! failures, always resuming from the sink's own answer, so a restart of either side loses and
//! repeats nothing.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::types::FinalizedBlock;

/// Why a sink could not take a block.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Try again later (L1 unreachable, transaction underpriced...): [`follow`] retries the
    /// same block after a pause.
    #[error("temporary failure: {0}")]
    Retry(String),
    /// Cannot go on (misconfiguration): [`follow`] stops and returns it.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// A consumer of certified blocks (the L1 poster in the devnet).
pub trait FinalizedSink: Send {
    /// The height of the next block the sink needs (e.g. from the L1 inbox).
    fn resume_height(&mut self) -> impl Future<Output = Result<u64, SinkError>> + Send;
    /// Takes the next block; called in strictly increasing height order from `resume_height`.
    fn deliver(&mut self, block: FinalizedBlock) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// Feeds `sink` from the nodes in `clients` (tried in turn) until `shutdown`, resuming from
/// `sink.resume_height()` after every reconnection. Returns only on shutdown or a fatal sink
/// error.
pub async fn follow<S: FinalizedSink>(clients: &[Client], sink: &mut S, shutdown: CancellationToken) -> Result<(), SinkError> {
    if clients.is_empty() {
        return Err(SinkError::Fatal("no sequencer node to follow".into()));
    }
    let mut attempt = 0usize;
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let client = &clients[attempt % clients.len()];
        attempt += 1;
        let mut next = match sink.resume_height().await {
            Ok(h) => h,
            Err(SinkError::Fatal(e)) => return Err(SinkError::Fatal(e)),
            Err(SinkError::Retry(e)) => {
                tracing::warn!("sink cannot say where to resume: {e}");
                pause(&shutdown).await;
                continue;
            }
        };
        let mut stream = match client.stream_blocks(next).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(node = client.base(), "cannot open the block stream: {e}");
                pause(&shutdown).await;
                continue;
            }
        };
        loop {
            let item = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                item = stream.next() => item,
            };
            let block = match item {
                Some(Ok(b)) => b,
                Some(Err(e)) => {
                    tracing::warn!(node = client.base(), "block stream failed: {e}");
                    break;
                }
                None => break,
            };
            let fb = match FinalizedBlock::from_json(&block) {
                Ok(fb) if fb.header.height == next => fb,
                Ok(fb) => {
                    tracing::warn!(node = client.base(), "stream sent height {} when {next} was due", fb.header.height);
                    break;
                }
                Err(e) => {
                    tracing::warn!(node = client.base(), "stream sent an inconsistent block: {e}");
                    break;
                }
            };
            match sink.deliver(fb).await {
                Ok(()) => next += 1,
                Err(SinkError::Fatal(e)) => return Err(SinkError::Fatal(e)),
                Err(SinkError::Retry(e)) => {
                    tracing::warn!("sink failed, will resume: {e}");
                    break;
                }
            }
        }
        pause(&shutdown).await;
    }
}

async fn pause(shutdown: &CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
}
