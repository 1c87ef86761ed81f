//! Checking a namespace's transactions against a block header, as a rollup node does when it
//! reads its namespace from any sequencer node without trusting it.

use protocol::sequencer::{tx_root, BlockHeader, NsTable};

use crate::types::{from_hex, NamespaceJson};

/// Why a namespace answer does not match the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Bytes that do not decode.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The table is not the one the header commits to.
    #[error("the namespace table does not hash to the header's payload_root")]
    Table,
    /// The transactions are not the ones the table commits to.
    #[error("the transactions do not match the namespace's entry (count or Merkle root)")]
    Transactions,
    /// The answer is for another block.
    #[error("the answer is for block {got}, not {expected}")]
    WrongBlock {
        /// Hash expected.
        expected: String,
        /// Hash in the answer.
        got: String,
    },
}

/// Checks `answer` against a trusted `header` (for instance one from the L1 inbox) and returns
/// the namespace's transactions.
pub fn verify_namespace(header: &BlockHeader, answer: &NamespaceJson) -> Result<Vec<Vec<u8>>, ProofError> {
    let got = answer.header.header().map_err(ProofError::Malformed)?;
    if got.hash() != header.hash() {
        return Err(ProofError::WrongBlock { expected: header.hash().to_string(), got: got.hash().to_string() });
    }
    let table_bytes = from_hex(&answer.proof.ns_table).map_err(ProofError::Malformed)?;
    if protocol::keccak256(&table_bytes) != header.payload_root.0 {
        return Err(ProofError::Table);
    }
    let table = NsTable::decode(&table_bytes).map_err(|e| ProofError::Malformed(e.to_string()))?;
    let txs: Vec<Vec<u8>> = answer.transactions.iter().map(|t| from_hex(t)).collect::<Result<_, _>>().map_err(ProofError::Malformed)?;
    match table.get(answer.namespace) {
        None if txs.is_empty() => Ok(txs),
        None => Err(ProofError::Transactions),
        Some(e) if e.tx_count as usize == txs.len() && tx_root(&txs) == e.tx_root => Ok(txs),
        Some(_) => Err(ProofError::Transactions),
    }
}
