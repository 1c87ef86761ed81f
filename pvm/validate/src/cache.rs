//! The loaded kernels an engine keeps, by kernel hash: both engines load through one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Kernels kept per engine; past this the cache starts over (kernels change rarely).
pub const KERNEL_CACHE_ENTRIES: usize = 16;

/// Loaded kernels by the hash they were loaded under.
#[derive(Debug)]
pub struct KernelCache<K> {
    entries: Mutex<HashMap<[u8; 32], Arc<K>>>,
}

impl<K> Default for KernelCache<K> {
    fn default() -> Self {
        KernelCache { entries: Mutex::new(HashMap::new()) }
    }
}

impl<K> KernelCache<K> {
    /// The kernel loaded under `hash`, if kept.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<K>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(hash).cloned()
    }

    /// Keeps `kernel` under `hash` and returns it.
    pub fn insert(&self, hash: [u8; 32], kernel: K) -> Arc<K> {
        let kernel = Arc::new(kernel);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= KERNEL_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, kernel.clone());
        kernel
    }
}
