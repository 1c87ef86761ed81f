//! Blocks: the protocol's 104-byte header plus a payload of namespaced transactions.
//!
//! A block is valid by construction: [`Block::new`] and [`Block::decode`] check that the
//! header's `payload_root` is the hash of the payload's namespace table and that the payload is
//! within [`Limits`], so every `Block` value in the node has a consistent commitment.

use std::sync::Arc;

use protocol::sequencer::{tx_root, BlockHeader, NsEntry, NsTable, MAX_NAMESPACES_PER_BLOCK};
use protocol::Hash32;

use crate::codec::{CodecError, Reader, Writer};

/// The largest transaction: an external inbox message is `01 || payload` and at most 4,096
/// bytes (`docs/protocol.md` section 2).
pub const MAX_TX_BYTES: usize = protocol::MAX_MESSAGE_SIZE - 1;

/// Size limits every block must respect; part of the consensus configuration (all nodes must
/// agree on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total transaction bytes in one block.
    pub max_block_bytes: usize,
    /// Transactions in one block.
    pub max_block_txs: usize,
    /// Bytes of one transaction (at most [`MAX_TX_BYTES`]).
    pub max_tx_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_block_bytes: 4 << 20, max_block_txs: 65_536, max_tx_bytes: MAX_TX_BYTES }
    }
}

/// Why a payload or block is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Namespaces out of order, repeated, or with no transactions.
    #[error("payload namespaces must be strictly ascending and non-empty")]
    Namespaces,
    /// A limit of [`Limits`] is exceeded.
    #[error("payload exceeds a limit: {0}")]
    TooLarge(&'static str),
    /// A transaction is empty.
    #[error("empty transaction")]
    EmptyTransaction,
    /// The header does not commit to this payload.
    #[error("header payload_root does not match the payload")]
    PayloadRoot,
}

/// The transactions of one namespace in a block, in block order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceTxs {
    /// The namespace.
    pub namespace: u64,
    /// Its transactions.
    pub txs: Vec<Vec<u8>>,
}

/// A block's transactions grouped by namespace (ascending), which is how the namespace table
/// commits to them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payload {
    namespaces: Vec<NamespaceTxs>,
}

impl Payload {
    /// A payload from groups that are already strictly ascending and non-empty.
    pub fn new(namespaces: Vec<NamespaceTxs>) -> Result<Self, BlockError> {
        for w in namespaces.windows(2) {
            if w[0].namespace >= w[1].namespace {
                return Err(BlockError::Namespaces);
            }
        }
        if namespaces.iter().any(|n| n.txs.is_empty()) {
            return Err(BlockError::Namespaces);
        }
        Ok(Payload { namespaces })
    }

    /// Groups `(namespace, tx)` pairs by namespace, keeping their relative order within each.
    pub fn from_transactions(txs: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Self {
        let mut map: std::collections::BTreeMap<u64, Vec<Vec<u8>>> = Default::default();
        for (ns, tx) in txs {
            map.entry(ns).or_default().push(tx);
        }
        Payload { namespaces: map.into_iter().map(|(namespace, txs)| NamespaceTxs { namespace, txs }).collect() }
    }

    /// The groups, ascending by namespace.
    pub fn namespaces(&self) -> &[NamespaceTxs] {
        &self.namespaces
    }

    /// The transactions of `namespace` (empty if it has none in this block).
    pub fn namespace(&self, namespace: u64) -> &[Vec<u8>] {
        match self.namespaces.binary_search_by_key(&namespace, |n| n.namespace) {
            Ok(i) => &self.namespaces[i].txs,
            Err(_) => &[],
        }
    }

    /// Every `(namespace, tx)` in block order (ascending namespace, then position).
    pub fn transactions(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.namespaces.iter().flat_map(|n| n.txs.iter().map(move |t| (n.namespace, t.as_slice())))
    }

    /// Number of transactions.
    pub fn tx_count(&self) -> usize {
        self.namespaces.iter().map(|n| n.txs.len()).sum()
    }

    /// Total transaction bytes.
    pub fn byte_len(&self) -> usize {
        self.namespaces.iter().flat_map(|n| n.txs.iter()).map(Vec::len).sum()
    }

    /// Whether the block carries no transactions.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }

    /// Checks the payload against the limits.
    pub fn check(&self, limits: &Limits) -> Result<(), BlockError> {
        if self.namespaces.len() > MAX_NAMESPACES_PER_BLOCK {
            return Err(BlockError::TooLarge("namespaces per block"));
        }
        if self.tx_count() > limits.max_block_txs {
            return Err(BlockError::TooLarge("transactions per block"));
        }
        let mut bytes = 0usize;
        for tx in self.namespaces.iter().flat_map(|n| n.txs.iter()) {
            if tx.is_empty() {
                return Err(BlockError::EmptyTransaction);
            }
            if tx.len() > limits.max_tx_bytes {
                return Err(BlockError::TooLarge("transaction size"));
            }
            bytes += tx.len();
        }
        if bytes > limits.max_block_bytes {
            return Err(BlockError::TooLarge("block bytes"));
        }
        Ok(())
    }

    /// The namespace table committing to this payload (`docs/protocol.md` section 5.2).
    pub fn ns_table(&self) -> NsTable {
        NsTable {
            entries: self
                .namespaces
                .iter()
                .map(|n| NsEntry { namespace: n.namespace, tx_count: n.txs.len() as u32, tx_root: tx_root(&n.txs) })
                .collect(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.namespaces.len() as u32);
        for n in &self.namespaces {
            out.put_u64(n.namespace);
            out.put_u32(n.txs.len() as u32);
            for tx in &n.txs {
                out.put_bytes(tx);
            }
        }
    }

    fn decode(r: &mut Reader<'_>, limits: &Limits) -> Result<Self, CodecError> {
        let count = r.count(MAX_NAMESPACES_PER_BLOCK, "payload namespaces")?;
        let mut namespaces = Vec::with_capacity(count);
        let (mut total_txs, mut total_bytes) = (0usize, 0usize);
        for _ in 0..count {
            let namespace = r.u64("namespace")?;
            let n = r.count(limits.max_block_txs - total_txs, "transactions per block")?;
            total_txs += n;
            let mut txs = Vec::with_capacity(n.min(r.remaining() / 4));
            for _ in 0..n {
                let tx = r.bytes(limits.max_tx_bytes, "transaction")?;
                total_bytes += tx.len();
                if total_bytes > limits.max_block_bytes {
                    return Err(CodecError::TooLarge { what: "block bytes", max: limits.max_block_bytes, got: total_bytes });
                }
                txs.push(tx.to_vec());
            }
            namespaces.push(NamespaceTxs { namespace, txs });
        }
        let payload = Payload::new(namespaces).map_err(|e| CodecError::Invalid { what: "payload", reason: e.to_string() })?;
        payload.check(limits).map_err(|e| CodecError::Invalid { what: "payload", reason: e.to_string() })?;
        Ok(payload)
    }
}

/// A header with the payload it commits to. Cheap to share (`Arc<Block>` everywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    header: BlockHeader,
    payload: Payload,
    ns_table: NsTable,
    hash: Hash32,
}

impl Block {
    /// Pairs a header with its payload, checking the commitment.
    pub fn new(header: BlockHeader, payload: Payload) -> Result<Self, BlockError> {
        let ns_table = payload.ns_table();
        if ns_table.payload_root() != header.payload_root {
            return Err(BlockError::PayloadRoot);
        }
        Ok(Block { hash: header.hash(), header, payload, ns_table })
    }

    /// Builds a block, filling in `payload_root` from the payload.
    pub fn assemble(mut header: BlockHeader, payload: Payload) -> Self {
        let ns_table = payload.ns_table();
        header.payload_root = ns_table.payload_root();
        Block { hash: header.hash(), header, payload, ns_table }
    }

    /// The genesis block of a chain: height 0, view 0, empty payload, zero parent.
    pub fn genesis(chain_id: u64, timestamp_ms: u64) -> Arc<Self> {
        let header =
            BlockHeader { chain_id, height: 0, view: 0, timestamp_ms, l1_block: 0, parent: Hash32::ZERO, payload_root: Hash32::ZERO };
        Arc::new(Block::assemble(header, Payload::default()))
    }

    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The transactions.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The namespace table the header commits to.
    pub fn ns_table(&self) -> &NsTable {
        &self.ns_table
    }

    /// keccak-256 of the header: the block's name.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// Height shortcut.
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// View shortcut.
    pub fn view(&self) -> u64 {
        self.header.view
    }

    /// Appends `header || payload`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header.encode());
        self.payload.encode(out);
    }

    /// Reads [`Block::encode`]'s output, enforcing `limits`, the payload commitment and the
    /// bounds on view and height ([`crate::MAX_VIEW`], [`crate::MAX_HEIGHT`]).
    pub fn decode(r: &mut Reader<'_>, limits: &Limits) -> Result<Self, CodecError> {
        let header = BlockHeader::decode(r.take(BlockHeader::SIZE, "block header")?)
            .map_err(|e| CodecError::Invalid { what: "block header", reason: e.to_string() })?;
        if header.view > crate::MAX_VIEW || header.height > crate::MAX_HEIGHT {
            let reason = format!("view {} or height {} exceeds the bound {}", header.view, header.height, crate::MAX_VIEW);
            return Err(CodecError::Invalid { what: "block header", reason });
        }
        let payload = Payload::decode(r, limits)?;
        Block::new(header, payload).map_err(|e| CodecError::Invalid { what: "block", reason: e.to_string() })
    }

    /// Encoded size (for response size caps).
    pub fn encoded_len(&self) -> usize {
        BlockHeader::SIZE + 4 + self.payload.namespaces.iter().map(|n| 12 + n.txs.iter().map(|t| 4 + t.len()).sum::<usize>()).sum::<usize>()
    }
}
