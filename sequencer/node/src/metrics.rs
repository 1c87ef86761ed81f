//! The node's Prometheus metrics (rendered at `/metrics` with the `sequencer_` prefix).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

/// A label with one string value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    /// The value.
    pub kind: String,
}

impl Kind {
    /// The label `kind="k"`.
    pub fn of(k: &str) -> Self {
        Kind { kind: k.to_string() }
    }
}

/// Every metric the node exports.
#[derive(Clone)]
pub struct NodeMetrics {
    /// Highest decided height.
    pub decided_height: Gauge,
    /// Highest height certified together with all below it.
    pub certified_height: Gauge,
    /// Current view.
    pub view: Gauge,
    /// Decided blocks.
    pub decided_blocks: Counter,
    /// Decided transactions.
    pub decided_txs: Counter,
    /// Decided transaction bytes.
    pub decided_bytes: Counter,
    /// Blocks this node proposed.
    pub proposed_blocks: Counter,
    /// Timeouts this node signed (view changes it took part in).
    pub timeouts: Counter,
    /// Seconds from a block's timestamp to its decision here.
    pub decide_latency: Histogram,
    /// Seconds from a block's timestamp to its finality certificate here.
    pub certify_latency: Histogram,
    /// Submissions by outcome.
    pub submissions: Family<Kind, Counter>,
    /// Penalties given to peers, by offence.
    pub penalties: Family<Kind, Counter>,
    /// Equivocations detected, by kind.
    pub equivocations: Family<Kind, Counter>,
    /// Messages that did not decode, by channel.
    pub malformed: Family<Kind, Counter>,
    /// Mempool transactions waiting.
    pub mempool_txs: Gauge,
    /// Mempool bytes waiting.
    pub mempool_bytes: Gauge,
    /// Connected committee peers.
    pub peers: Gauge,
    /// Peers banned.
    pub bans: Counter,
}

impl NodeMetrics {
    /// Creates and registers the metrics.
    pub fn register(m: &service_kit::Metrics) -> Self {
        let buckets = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];
        let me = NodeMetrics {
            decided_height: Gauge::default(),
            certified_height: Gauge::default(),
            view: Gauge::default(),
            decided_blocks: Counter::default(),
            decided_txs: Counter::default(),
            decided_bytes: Counter::default(),
            proposed_blocks: Counter::default(),
            timeouts: Counter::default(),
            decide_latency: Histogram::new(buckets),
            certify_latency: Histogram::new(buckets),
            submissions: Family::default(),
            penalties: Family::default(),
            equivocations: Family::default(),
            malformed: Family::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
            bans: Counter::default(),
        };
        m.register("decided_height", "Highest decided block height", me.decided_height.clone());
        m.register("certified_height", "Highest height certified together with every block below it", me.certified_height.clone());
        m.register("view", "Current consensus view", me.view.clone());
        m.register("decided_blocks", "Blocks decided", me.decided_blocks.clone());
        m.register("decided_transactions", "Transactions decided", me.decided_txs.clone());
        m.register("decided_bytes", "Transaction bytes decided", me.decided_bytes.clone());
        m.register("proposed_blocks", "Blocks proposed by this node", me.proposed_blocks.clone());
        m.register("timeouts", "View timeouts signed by this node", me.timeouts.clone());
        m.register("decide_latency_seconds", "From block timestamp to decision", me.decide_latency.clone());
        m.register("certify_latency_seconds", "From block timestamp to finality certificate", me.certify_latency.clone());
        m.register("submissions", "Transaction submissions by outcome", me.submissions.clone());
        m.register("penalties", "Penalties given to peers by offence", me.penalties.clone());
        m.register("equivocations", "Equivocations detected", me.equivocations.clone());
        m.register("malformed_messages", "Peer messages that did not decode", me.malformed.clone());
        m.register("mempool_transactions", "Transactions waiting in the mempool", me.mempool_txs.clone());
        m.register("mempool_bytes", "Bytes waiting in the mempool", me.mempool_bytes.clone());
        m.register("peers", "Connected committee peers", me.peers.clone());
        m.register("bans", "Peers banned", me.bans.clone());
        me
    }
}
