//! JSON shapes of the HTTP API. Byte strings are `0x`-prefixed hex; heights, views and
//! namespaces are JSON numbers.

use protocol::sequencer::{BlockHeader, NsTable};
use protocol::Hash32;
use serde::{Deserialize, Serialize};

/// Hex with a `0x` prefix.
pub fn to_hex(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// Parses `0x`-prefixed hex.
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    let body = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).ok_or_else(|| "hex must start with 0x".to_string())?;
    hex::decode(body).map_err(|e| format!("invalid hex: {e}"))
}

/// Decodes a submitted payload: `0x`-prefixed hex, otherwise standard base64.
pub fn decode_payload(s: &str) -> Result<Vec<u8>, String> {
    if s.starts_with("0x") || s.starts_with("0X") {
        from_hex(s)
    } else {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| format!("payload is neither 0x-hex nor base64: {e}"))
    }
}

/// `POST /v1/submit` body (also the items of `POST /v1/submit/batch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The rollup's namespace.
    pub namespace: u64,
    /// The transaction: `0x`-hex or base64.
    pub payload: String,
}

/// One result of `POST /v1/submit/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResult {
    /// The transaction hash when admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Hash32>,
    /// Why not, otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A block header, field by field and as the 104 bytes the L1 hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderJson {
    /// Sequencer chain.
    pub chain_id: u64,
    /// Height.
    pub height: u64,
    /// Consensus view it was proposed in.
    pub view: u64,
    /// Proposer's time, Unix milliseconds.
    pub timestamp_ms: u64,
    /// L1 block referenced for delayed-inbox inclusion.
    pub l1_block: u64,
    /// Parent header hash.
    pub parent: Hash32,
    /// keccak of the namespace table.
    pub payload_root: Hash32,
    /// The block hash (keccak of `encoded`).
    pub hash: Hash32,
    /// The 104-byte header encoding.
    pub encoded: String,
}

impl HeaderJson {
    /// From a header.
    pub fn new(h: &BlockHeader) -> Self {
        HeaderJson {
            chain_id: h.chain_id,
            height: h.height,
            view: h.view,
            timestamp_ms: h.timestamp_ms,
            l1_block: h.l1_block,
            parent: h.parent,
            payload_root: h.payload_root,
            hash: h.hash(),
            encoded: to_hex(&h.encode()),
        }
    }

    /// Back to a header, checking that the fields, the encoding and the hash agree.
    pub fn header(&self) -> Result<BlockHeader, String> {
        let bytes = from_hex(&self.encoded)?;
        let h = BlockHeader::decode(&bytes).map_err(|e| e.to_string())?;
        if h != (BlockHeader {
            chain_id: self.chain_id,
            height: self.height,
            view: self.view,
            timestamp_ms: self.timestamp_ms,
            l1_block: self.l1_block,
            parent: self.parent,
            payload_root: self.payload_root,
        }) || h.hash() != self.hash
        {
            return Err("header fields, encoding and hash disagree".into());
        }
        Ok(h)
    }
}

/// One transaction of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxJson {
    /// Its namespace.
    pub namespace: u64,
    /// Its bytes, hex.
    pub payload: String,
    /// `keccak256(u64 namespace || payload)`.
    pub hash: Hash32,
}

/// A decided block: header, namespace table, transactions, and its finality certificate in the
/// L1 encoding (`null` until a quorum's signatures are in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    /// The header.
    pub header: HeaderJson,
    /// The namespace table encoding (`docs/protocol.md` 5.2).
    pub ns_table: String,
    /// Every transaction, ascending namespace then block order.
    pub transactions: Vec<TxJson>,
    /// `signature_g2[256] || bitmap` (`docs/protocol.md` 5.3), or null.
    pub certificate: Option<String>,
}

/// One namespace of a block with what proves it against the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceJson {
    /// The header.
    pub header: HeaderJson,
    /// The namespace asked for.
    pub namespace: u64,
    /// Its transactions in block order, hex (empty when the block has none for it).
    pub transactions: Vec<String>,
    /// The proof: the namespace table (`keccak(ns_table) == header.payload_root`; the entry's
    /// `tx_root` is the Merkle root of the transactions; absence shows as no entry).
    pub proof: NamespaceProof,
    /// The block's finality certificate, L1 encoding, or null.
    pub certificate: Option<String>,
}

/// See [`NamespaceJson::proof`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceProof {
    /// The namespace table encoding.
    pub ns_table: String,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Sequencer chain.
    pub chain_id: u64,
    /// This node's member index.
    pub member: u16,
    /// Highest decided height.
    pub decided_height: u64,
    /// Highest height such that it and every block below it have a finality certificate here.
    pub certified_height: u64,
    /// Current consensus view.
    pub view: u64,
    /// Leader of the current view.
    pub leader: u16,
    /// Connected committee peers.
    pub peers: usize,
    /// Transactions waiting in the mempool.
    pub mempool_txs: usize,
    /// Bytes waiting in the mempool.
    pub mempool_bytes: usize,
}

/// An error answer: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorJson {
    /// What went wrong and what to do about it.
    pub error: String,
}

/// A certified block, decoded and checked for internal consistency: what an L1 poster needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedBlock {
    /// The header.
    pub header: BlockHeader,
    /// The namespace table (its hash is `header.payload_root`).
    pub ns_table: NsTable,
    /// `(namespace, transaction)` in block order.
    pub transactions: Vec<(u64, Vec<u8>)>,
    /// The finality certificate, L1 encoding (`Certificate::to_l1_bytes`).
    pub certificate: Vec<u8>,
}

impl FinalizedBlock {
    /// The transactions of one namespace.
    pub fn namespace(&self, ns: u64) -> Vec<&[u8]> {
        self.transactions.iter().filter(|(n, _)| *n == ns).map(|(_, t)| t.as_slice()).collect()
    }

    /// The block hash.
    pub fn hash(&self) -> Hash32 {
        self.header.hash()
    }

    /// Decodes a [`BlockJson`] and checks that the header commits to the namespace table and the
    /// table to the transactions. Blocks without a certificate are refused.
    pub fn from_json(b: &BlockJson) -> Result<Self, String> {
        let header = b.header.header()?;
        let table_bytes = from_hex(&b.ns_table)?;
        let ns_table = NsTable::decode(&table_bytes).map_err(|e| e.to_string())?;
        if ns_table.payload_root() != header.payload_root {
            return Err("ns_table does not hash to the header's payload_root".into());
        }
        let mut transactions = Vec::with_capacity(b.transactions.len());
        for t in &b.transactions {
            transactions.push((t.namespace, from_hex(&t.payload)?));
        }
        for e in &ns_table.entries {
            let txs: Vec<&[u8]> = transactions.iter().filter(|(n, _)| *n == e.namespace).map(|(_, t)| t.as_slice()).collect();
            if txs.len() != e.tx_count as usize || protocol::sequencer::tx_root(&txs) != e.tx_root {
                return Err(format!("transactions of namespace {} do not match the table", e.namespace));
            }
        }
        if transactions.iter().any(|(n, _)| ns_table.get(*n).is_none()) {
            return Err("a transaction's namespace is not in the table".into());
        }
        let certificate = from_hex(b.certificate.as_deref().ok_or("the block has no finality certificate yet")?)?;
        Ok(FinalizedBlock { header, ns_table, transactions, certificate })
    }

    /// Checks the certificate against the committee (what the L1 verifier will do).
    pub fn verify_certificate(&self, committee: &committee::Committee) -> Result<(), committee::CryptoError> {
        let cert = committee::Certificate::from_l1_bytes(&self.certificate)?;
        let digest = protocol::sequencer::finality_digest(self.header.chain_id, self.header.height, &self.header.hash());
        cert.verify(committee, &digest)
    }
}
