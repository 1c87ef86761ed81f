//! A bounded cache of decoded nodes, so reads through stored links do not decode every time.
//!
//! Two generations: lookups hit the young one, or promote from the old one; when the young one
//! is full it becomes the old one. Simple, O(1), and bounded by twice the capacity.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::node::{Dir, Hash, TrieNode, Value};

/// Node hashes are uniformly random already: the first 8 bytes are a perfect hash.
#[derive(Default)]
pub(crate) struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 |= u64::from(*b) << (8 * i);
        }
    }
}

type Map = HashMap<Hash, Cached, BuildHasherDefault<PrefixHasher>>;

#[derive(Debug, Clone)]
pub(crate) enum Cached {
    Dir(Arc<Dir>),
    Trie(Arc<TrieNode>),
    Value(Arc<Value>),
}

pub(crate) struct NodeCache {
    young: Map,
    old: Map,
    capacity: usize,
}

impl NodeCache {
    pub fn new(capacity: usize) -> Self {
        NodeCache { young: Map::default(), old: Map::default(), capacity: capacity.max(16) }
    }

    pub fn get(&mut self, h: &Hash) -> Option<Cached> {
        if let Some(c) = self.young.get(h) {
            return Some(c.clone());
        }
        let c = self.old.remove(h)?;
        self.insert(*h, c.clone());
        Some(c)
    }

    pub fn insert(&mut self, h: Hash, c: Cached) {
        if self.young.len() >= self.capacity {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(h, c);
    }
}
