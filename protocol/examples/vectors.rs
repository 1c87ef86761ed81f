//! Prints the fixed vectors the Solidity tests (contract-bridge/test/ProtocolCodec.t.sol) check,
//! so the two sides can be re-synchronised after a deliberate format change.
use protocol::hash::keccak256;
use protocol::inbox::{InboxMessage, InternalMessage, Transfer};
use protocol::outbox::OutboxTree;
use protocol::sequencer::{finality_digest, tx_root, BlockHeader, NsEntry, NsTable};
use protocol::{Address, Commitment, Hash32, Wei};

fn main() {
    let c = Commitment { predecessor: Hash32([1; 32]), state_hash: Hash32([2; 32]), inbox_level: 7, number_of_ticks: 1000 };
    println!("commitment_hash {}", c.hash());
    let txs = vec![b"tx1".to_vec(), b"tx2".to_vec(), b"tx3".to_vec()];
    println!("tx_root(tx1,tx2,tx3) {}", tx_root(&txs));
    let table = NsTable { entries: vec![NsEntry { namespace: 42, tx_count: 3, tx_root: tx_root(&txs) }] };
    println!("ns_table {}", hex::encode(table.encode()));
    let header = BlockHeader { chain_id: 1, height: 10, view: 12, timestamp_ms: 1_700_000_000_000, l1_block: 100, parent: Hash32([3; 32]), payload_root: table.payload_root() };
    println!("header {}", hex::encode(header.encode()));
    println!("header_hash {}", header.hash());
    println!("finality_digest {}", hex::encode(finality_digest(1, 10, &header.hash())));
    let t = InboxMessage::Internal(InternalMessage::Transfer(Transfer { sender: Address([0x22; 20]), value: Wei::from_u128(5), payload: b"hi".to_vec() }));
    println!("transfer {}", hex::encode(t.encode()));
    let mut tree = OutboxTree::new();
    println!("empty_outbox_root {}", hex::encode(tree.root()));
    tree.set_level(3, &[vec![0xaa; 40], vec![0xbb; 40], vec![0xcc; 40]]);
    println!("outbox_root_level3 {}", hex::encode(tree.root()));
    println!("keccak_domain {}", hex::encode(keccak256(b"rollup.sequencer.finality.v1")));
}
