//! Where a node learns the L1 head: the `l1_block` a leader puts in its blocks and the bound a
//! replica checks them against.

use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The L1 block number deep enough to be final, as this node sees it.
pub trait L1HeadSource: Send + Sync + 'static {
    /// The head, or `None` while unknown (blocks then keep their parent's `l1_block`).
    fn head(&self) -> Option<u64>;
}

/// A fixed head (no L1, or tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedHead(pub Option<u64>);

impl L1HeadSource for FixedHead {
    fn head(&self) -> Option<u64> {
        self.0
    }
}

/// Polls an Ethereum JSON-RPC endpoint (`eth_blockNumber`) and reports `latest - confirmations`.
/// Never goes backwards, so a node's proposals keep `l1_block` non-decreasing even if the RPC
/// briefly reports an older block.
pub struct RpcHead {
    head: watch::Receiver<Option<u64>>,
}

impl RpcHead {
    /// Starts polling `url` every `interval` until `shutdown`.
    pub fn spawn(url: &str, confirmations: u64, interval: Duration, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let url: alloy::transports::http::reqwest::Url = url.parse().map_err(|e| anyhow::anyhow!("l1.rpc_url {url:?}: {e}"))?;
        let provider = ProviderBuilder::new().connect_http(url.clone());
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut warned = false;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match provider.get_block_number().await {
                    Ok(n) => {
                        warned = false;
                        let head = n.saturating_sub(confirmations);
                        tx.send_if_modified(|cur| {
                            if cur.is_none_or(|c| head > c) {
                                *cur = Some(head);
                                true
                            } else {
                                false
                            }
                        });
                    }
                    Err(e) if !warned => {
                        warned = true;
                        tracing::warn!(%url, "cannot read the L1 head (blocks keep their parent's l1_block): {e}");
                    }
                    Err(_) => {}
                }
            }
        });
        Ok(RpcHead { head: rx })
    }
}

impl L1HeadSource for RpcHead {
    fn head(&self) -> Option<u64> {
        *self.head.borrow()
    }
}
