//! Where reveal pages come from: a directory of files named by their hash, as the seeds'
//! rollup node serves them, or a map in memory.

use std::collections::HashMap;
use std::path::PathBuf;

use protocol::reveal::{RevealHash, MAX_PAGE_SIZE};

/// Answers `reveal_preimage`. `Ok(None)` means "not available here": the PVM cannot compute the
/// level until someone provides the page (the state is still well defined: it is whatever the
/// page makes it), so the level is aborted, not answered with an error code.
pub trait PreimageSource: Send + Sync {
    /// The page whose reveal hash is `hash`, checked against it.
    fn preimage(&self, hash: &RevealHash) -> Result<Option<Vec<u8>>, String>;
}

/// No preimages at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPreimages;

impl PreimageSource for NoPreimages {
    fn preimage(&self, _: &RevealHash) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

/// Pages in memory, keyed by their hash.
#[derive(Debug, Clone, Default)]
pub struct PreimageMap(pub HashMap<RevealHash, Vec<u8>>);

impl PreimageMap {
    /// Adds a page under its hash and returns the hash.
    pub fn add(&mut self, page: Vec<u8>) -> RevealHash {
        let h = RevealHash::of(&page);
        self.0.insert(h, page);
        h
    }
}

impl PreimageSource for PreimageMap {
    fn preimage(&self, hash: &RevealHash) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.get(hash).cloned())
    }
}

/// Pages in a directory, each in a file named by the 66 lower-case hex digits of its hash
/// (`protocol::reveal::RevealHash::to_hex`).
#[derive(Debug, Clone)]
pub struct PreimageDir {
    dir: PathBuf,
}

impl PreimageDir {
    /// Pages under `dir` (which need not exist yet: pages may arrive while the node runs).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PreimageDir { dir: dir.into() }
    }
}

impl PreimageSource for PreimageDir {
    fn preimage(&self, hash: &RevealHash) -> Result<Option<Vec<u8>>, String> {
        let path = self.dir.join(hash.to_hex());
        let page = match std::fs::read(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("reading preimage {}: {e}", path.display())),
        };
        // A wrong page is the operator's mistake; serving it would compute a wrong state.
        if page.len() > MAX_PAGE_SIZE {
            return Err(format!("preimage file {} is larger than {MAX_PAGE_SIZE} bytes", path.display()));
        }
        if RevealHash::of(&page) != *hash {
            return Err(format!("preimage file {} does not hash to its name", path.display()));
        }
        Ok(Some(page))
    }
}
