//! Where committed nodes live: the PVM's RocksDB, or memory for tests and the mock host.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::node::Hash;

/// A failure of the backing store (I/O, corruption). Never the kernel's fault: the PVM aborts the
/// level it was computing and keeps the last committed state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("durable storage backend: {0}")]
pub struct StoreError(pub String);

/// Content-addressed node storage: encoded nodes by their hash.
pub trait NodeStore: Send + Sync {
    /// The encoded node with this hash, `None` if the store does not have it.
    fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError>;
}

/// A [`NodeStore`] in memory.
#[derive(Debug, Default)]
pub struct MemStore {
    nodes: RwLock<HashMap<Hash, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the nodes a [`crate::Tree::commit`] produced.
    pub fn insert_all(&self, nodes: impl IntoIterator<Item = (Hash, Vec<u8>)>) {
        let mut map = self.nodes.write().unwrap_or_else(|e| e.into_inner());
        map.extend(nodes);
    }

    /// How many nodes are stored.
    pub fn len(&self) -> usize {
        self.nodes.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no node is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NodeStore for MemStore {
    fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.nodes.read().unwrap_or_else(|e| e.into_inner()).get(hash).cloned())
    }
}
