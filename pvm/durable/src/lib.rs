//! The durable storage of the PVM: the seeds' path-keyed tree, Merkleized with keccak-256.
//!
//! A key such as `/accounts/alice/balance` names a node of a tree; every node can hold a value
//! (bytes, up to 2^31-1) and children. The tree is *persistent*: every node is immutable and
//! shared, edits copy only the path from the root to the edited node. That gives the three
//! properties the PVM needs:
//!
//! - copying or moving a subtree costs O(path length): the subtree is shared, not copied;
//! - a snapshot is one pointer, so a failed `kernel_run` rolls back in O(1);
//! - every node is content-addressed by its keccak-256 hash, so a state hash commits to the
//!   whole storage and a later one-step proof can show any read or write with a Merkle path.
//!
//! Hashes are computed lazily ([`Tree::root_hash`]), once per commit, not per write. Nodes are
//! persisted through the [`NodeStore`] trait ([`Tree::commit`] hands back the new nodes); the
//! PVM keeps them in RocksDB, tests and the kernel SDK's mock host in [`MemStore`].
//!
//! The exact hashing and node encodings are specified in `docs/pvm.md` ("Durable storage").

mod cache;
mod key;
mod node;
mod store;
mod tree;
mod trie;

pub use key::{Key, KeyError, MAX_KEY_LENGTH};
pub use node::{stored_node_hash, value_hash, Hash, CHUNK_SIZE};
pub use store::{MemStore, NodeStore, StoreError};
pub use tree::{AccessError, DurableError, NodeKind, Snapshot, Tree, MAX_VALUE_SIZE};
