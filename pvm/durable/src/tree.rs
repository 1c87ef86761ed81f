//! The tree: path operations over directories, values and children tries.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use protocol::hash::keccak256;

use crate::cache::{Cached, NodeCache};
use crate::key::Key;
use crate::node::{
    chunk_encoding, dir_preimage, inner_preimage, leaf_preimage, Chunk, Decoded, Dir, Hash, Link, Trie, TrieNode,
    Value, CHUNK_SIZE, ZERO,
};
use crate::store::{NodeStore, StoreError};
use crate::trie;

/// The largest value, in bytes: 2^31 - 1 (the seeds' limit).
pub const MAX_VALUE_SIZE: u32 = i32::MAX as u32;

/// Decoded nodes kept in memory between accesses.
const CACHE_CAPACITY: usize = 1 << 18;

/// The store failed or holds something that is not the node it should: the tree cannot go on.
/// The caller discards the tree and reopens the last committed root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurableError {
    /// The backing store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A node is missing from the store or malformed.
    #[error("durable storage node {hash} is {reason}")]
    Corrupt {
        /// Hex of the node's hash.
        hash: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl DurableError {
    pub(crate) fn corrupt(hash: &Hash, reason: &'static str) -> Self {
        DurableError::Corrupt { hash: hex_of(hash), reason }
    }
}

fn hex_of(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a read or write of a value was refused (the host turns these into error codes), or the
/// store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// There is no value (or, for copy and move, nothing at all) under the key (host error -3).
    #[error("no value under the key")]
    NotFound,
    /// The offset lies past the end of the value (host error -4).
    #[error("offset past the end of the value")]
    OutOfRange,
    /// The value would exceed [`MAX_VALUE_SIZE`] (host error -5).
    #[error("value would exceed {MAX_VALUE_SIZE} bytes")]
    TooLarge,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] DurableError),
}

/// What a key holds, as `store_has` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum NodeKind {
    /// Nothing.
    Missing = 0,
    /// A value and no subkeys.
    Value = 1,
    /// Subkeys and no value.
    Subtree = 2,
    /// Both a value and subkeys.
    ValueAndSubtree = 3,
}

/// A whole tree as it was at one moment; restoring it costs O(1).
#[derive(Debug, Clone)]
pub struct Snapshot(Option<Link<Dir>>);

/// Loads nodes behind stored links, through a cache of decoded nodes.
pub(crate) struct Loader {
    store: Arc<dyn NodeStore>,
    cache: NodeCache,
}

impl Loader {
    fn fetch(&mut self, h: &Hash) -> Result<Decoded, DurableError> {
        let bytes = self.store.get(h)?.ok_or_else(|| DurableError::corrupt(h, "missing from the store"))?;
        Decoded::parse(&bytes).ok_or_else(|| DurableError::corrupt(h, "not a valid node encoding"))
    }

    fn build(&mut self, h: &Hash, decoded: Decoded) -> Result<Cached, DurableError> {
        let known = |h: &Hash| {
            let l = OnceLock::new();
            let _ = l.set(*h);
            l
        };
        Ok(match decoded {
            Decoded::Dir { value, children } => Cached::Dir(Arc::new(Dir {
                value: value.map(Link::Stored),
                children: children.map(Link::Stored),
                hash: known(h),
            })),
            Decoded::Leaf { step, child } => {
                Cached::Trie(Arc::new(TrieNode { kind: Trie::Leaf { step, child: Link::Stored(child) }, hash: known(h) }))
            }
            Decoded::Inner { bit, count, left, right } => Cached::Trie(Arc::new(TrieNode {
                kind: Trie::Inner { bit, count, left: Link::Stored(left), right: Link::Stored(right) },
                hash: known(h),
            })),
            Decoded::Value { len, inline, chunks } => {
                let chunks = match inline {
                    Some(bytes) if bytes.is_empty() => vec![],
                    // An inline chunk has no node of its own in the store.
                    Some(bytes) => vec![Arc::new(Chunk::new(bytes))],
                    None => {
                        let mut out = Vec::with_capacity(chunks.len());
                        for c in &chunks {
                            match self.fetch(c)? {
                                Decoded::Chunk(data) => {
                                    let hash = known(c);
                                    out.push(Arc::new(Chunk { data, stored: true, hash }));
                                }
                                _ => return Err(DurableError::corrupt(c, "not a chunk")),
                            }
                        }
                        out
                    }
                };
                Cached::Value(Arc::new(Value { len, chunks, hash: known(h) }))
            }
            Decoded::Chunk(_) => return Err(DurableError::corrupt(h, "a chunk where a node was expected")),
        })
    }

    fn load(&mut self, h: &Hash) -> Result<Cached, DurableError> {
        if let Some(c) = self.cache.get(h) {
            return Ok(c);
        }
        let decoded = self.fetch(h)?;
        let node = self.build(h, decoded)?;
        self.cache.insert(*h, node.clone());
        Ok(node)
    }

    pub(crate) fn dir(&mut self, link: &Link<Dir>) -> Result<Arc<Dir>, DurableError> {
        match link {
            Link::Mem(a) => Ok(a.clone()),
            Link::Stored(h) => match self.load(h)? {
                Cached::Dir(d) => Ok(d),
                _ => Err(DurableError::corrupt(h, "not a directory")),
            },
        }
    }

    pub(crate) fn trie_by_hash(&mut self, h: &Hash) -> Result<Arc<TrieNode>, DurableError> {
        match self.load(h)? {
            Cached::Trie(t) => Ok(t),
            _ => Err(DurableError::corrupt(h, "not a trie node")),
        }
    }

    pub(crate) fn trie(&mut self, link: &Link<TrieNode>) -> Result<Arc<TrieNode>, DurableError> {
        match link {
            Link::Mem(a) => Ok(a.clone()),
            Link::Stored(h) => self.trie_by_hash(h),
        }
    }

    pub(crate) fn value(&mut self, link: &Link<Value>) -> Result<Arc<Value>, DurableError> {
        match link {
            Link::Mem(a) => Ok(a.clone()),
            Link::Stored(h) => match self.load(h)? {
                Cached::Value(v) => Ok(v),
                _ => Err(DurableError::corrupt(h, "not a value")),
            },
        }
    }

    /// The directory behind `slot`, owned: moved out if nobody else holds it, else copied.
    fn take_dir(&mut self, slot: Option<Link<Dir>>) -> Result<Dir, DurableError> {
        let mut dir = match slot {
            None => Dir::default(),
            Some(Link::Mem(arc)) => Arc::try_unwrap(arc).unwrap_or_else(|a| (*a).clone()),
            Some(link @ Link::Stored(_)) => (*self.dir(&link)?).clone(),
        };
        dir.hash.take();
        Ok(dir)
    }

    fn take_value(&mut self, slot: Option<Link<Value>>) -> Result<Value, DurableError> {
        let mut v = match slot {
            None => Value::default(),
            Some(Link::Mem(arc)) => Arc::try_unwrap(arc).unwrap_or_else(|a| (*a).clone()),
            Some(link @ Link::Stored(_)) => (*self.value(&link)?).clone(),
        };
        v.hash.take();
        Ok(v)
    }
}

/// The durable storage of one PVM state. See the crate documentation.
pub struct Tree {
    root: Option<Link<Dir>>,
    loader: Loader,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("root", &self.root.as_ref().map(|_| "..")).finish()
    }
}

type Update<R> = Result<(Option<Link<Dir>>, R), AccessError>;

impl Tree {
    /// An empty tree whose nodes will be loaded from (and committed for) `store`.
    pub fn empty(store: Arc<dyn NodeStore>) -> Self {
        Tree { root: None, loader: Loader { store, cache: NodeCache::new(CACHE_CAPACITY) } }
    }

    /// The tree whose root hash is `root` (zero for the empty tree), loaded lazily from `store`.
    pub fn open(store: Arc<dyn NodeStore>, root: Hash) -> Self {
        let mut t = Self::empty(store);
        t.root = (root != ZERO).then_some(Link::Stored(root));
        t
    }

    /// Another tree over the same store and root, sharing this one's nodes but not its cache.
    pub fn fork(&self) -> Self {
        Tree { root: self.root.clone(), loader: Loader { store: self.loader.store.clone(), cache: NodeCache::new(1024) } }
    }

    /// The store its committed nodes are loaded from.
    pub fn store(&self) -> Arc<dyn NodeStore> {
        self.loader.store.clone()
    }

    /// The tree as it is now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.root.clone())
    }

    /// Puts the tree back as it was at `snapshot`.
    pub fn restore(&mut self, snapshot: Snapshot) {
        self.root = snapshot.0;
    }

    /// The directory at `key`, if anything is there.
    fn subtree(&mut self, key: &Key) -> Result<Option<Link<Dir>>, DurableError> {
        let mut cur = match &self.root {
            Some(r) => r.clone(),
            None => return Ok(None),
        };
        for step in key.steps() {
            let dir = self.loader.dir(&cur)?;
            let Some(children) = &dir.children else { return Ok(None) };
            match trie::get(&mut self.loader, children, step)? {
                Some(c) => cur = c,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    fn value_at(&mut self, key: &Key) -> Result<Option<Arc<Value>>, DurableError> {
        let Some(d) = self.subtree(key)? else { return Ok(None) };
        let dir = self.loader.dir(&d)?;
        match &dir.value {
            Some(v) => Ok(Some(self.loader.value(v)?)),
            None => Ok(None),
        }
    }

    /// Replaces the directory at `key` by what `f` makes of it, creating missing directories on
    /// the way and pruning the ones left empty. `f` must not fail after changing anything:
    /// callers check their preconditions first, so only the store can fail midway.
    fn update<R>(
        &mut self,
        key: &Key,
        f: impl FnOnce(&mut Loader, Option<Link<Dir>>) -> Update<R>,
    ) -> Result<R, AccessError> {
        let steps: Vec<&[u8]> = key.steps().collect();
        let root = self.root.take();
        let (root, r) = Self::update_rec(&mut self.loader, root, &steps, f)?;
        self.root = root;
        Ok(r)
    }

    fn update_rec<R>(
        loader: &mut Loader,
        slot: Option<Link<Dir>>,
        steps: &[&[u8]],
        f: impl FnOnce(&mut Loader, Option<Link<Dir>>) -> Update<R>,
    ) -> Update<R> {
        let Some((step, rest)) = steps.split_first() else { return f(loader, slot) };
        let mut dir = loader.take_dir(slot)?;
        let child = trie::take(loader, &mut dir.children, step)?;
        let existed = child.is_some();
        let (child, r) = Self::update_rec(loader, child, rest, f)?;
        match child {
            Some(c) => trie::put(loader, &mut dir.children, step, c)?,
            None if existed => {
                trie::remove(loader, &mut dir.children, step)?;
            }
            None => {}
        }
        Ok((if dir.is_empty() { None } else { Some(Link::Mem(Arc::new(dir))) }, r))
    }

    /// What `key` holds: nothing, a value, subkeys, or both.
    pub fn has(&mut self, key: &Key) -> Result<NodeKind, DurableError> {
        let Some(d) = self.subtree(key)? else { return Ok(NodeKind::Missing) };
        let dir = self.loader.dir(&d)?;
        Ok(match (dir.value.is_some(), dir.children.is_some()) {
            (false, false) => NodeKind::Missing,
            (true, false) => NodeKind::Value,
            (false, true) => NodeKind::Subtree,
            (true, true) => NodeKind::ValueAndSubtree,
        })
    }

    /// The size of the value under `key`, if there is one.
    pub fn value_size(&mut self, key: &Key) -> Result<Option<u32>, DurableError> {
        Ok(self.value_at(key)?.map(|v| v.len))
    }

    /// Up to `max` bytes of the value under `key` from `offset` (fewer at its end).
    pub fn read(&mut self, key: &Key, offset: u32, max: usize) -> Result<Vec<u8>, AccessError> {
        let v = self.value_at(key)?.ok_or(AccessError::NotFound)?;
        if offset > v.len {
            return Err(AccessError::OutOfRange);
        }
        let end = (offset as usize).saturating_add(max).min(v.len as usize);
        let mut out = Vec::with_capacity(end - offset as usize);
        let mut pos = offset as usize;
        while pos < end {
            let chunk = &v.chunks[pos / CHUNK_SIZE].data;
            let from = pos % CHUNK_SIZE;
            let take = (chunk.len() - from).min(end - pos);
            out.extend_from_slice(&chunk[from..from + take]);
            pos += take;
        }
        Ok(out)
    }

    /// The whole value under `key`.
    pub fn read_value(&mut self, key: &Key) -> Result<Option<Vec<u8>>, DurableError> {
        let Some(v) = self.value_at(key)? else { return Ok(None) };
        let mut out = Vec::with_capacity(v.len as usize);
        for c in &v.chunks {
            out.extend_from_slice(&c.data);
        }
        Ok(Some(out))
    }

    /// Writes `data` into the value under `key` at `offset`, growing it if needed; a missing
    /// value is created (then `offset` must be 0). Holes are refused: `offset` at most the size.
    pub fn write(&mut self, key: &Key, offset: u32, data: &[u8]) -> Result<(), AccessError> {
        let len = self.value_size(key)?.unwrap_or(0);
        if offset > len {
            return Err(AccessError::OutOfRange);
        }
        let end = u64::from(offset) + data.len() as u64;
        if end > u64::from(MAX_VALUE_SIZE) {
            return Err(AccessError::TooLarge);
        }
        self.update(key, |loader, slot| {
            let mut dir = loader.take_dir(slot)?;
            let mut value = loader.take_value(dir.value.take())?;
            write_into(&mut value, offset as usize, data);
            dir.value = Some(Link::Mem(Arc::new(value)));
            Ok((Some(Link::Mem(Arc::new(dir))), ()))
        })
    }

    /// Replaces the value under `key` with `data` (subkeys are kept).
    pub fn set_value(&mut self, key: &Key, data: &[u8]) -> Result<(), AccessError> {
        if data.len() as u64 > u64::from(MAX_VALUE_SIZE) {
            return Err(AccessError::TooLarge);
        }
        self.update(key, |loader, slot| {
            let mut dir = loader.take_dir(slot)?;
            dir.value = Some(Link::Mem(Arc::new(Value::from_bytes(data))));
            Ok((Some(Link::Mem(Arc::new(dir))), ()))
        })
    }

    /// Removes `key` with its value and every subkey. Removing nothing is not an error.
    pub fn delete(&mut self, key: &Key) -> Result<(), DurableError> {
        if self.subtree(key)?.is_none() {
            return Ok(());
        }
        self.update(key, |_, _| Ok((None, ()))).map_err(backend_only)
    }

    /// Makes `to` a copy of the whole subtree at `from` (value and subkeys), replacing what `to`
    /// held. Costs O(path length): the subtree is shared, not copied.
    pub fn copy(&mut self, from: &Key, to: &Key) -> Result<(), AccessError> {
        let src = self.subtree(from)?.ok_or(AccessError::NotFound)?;
        self.update(to, |_, _| Ok((Some(src), ())))
    }

    /// Moves the subtree at `from` to `to`: it is cut out of `from` first, then put at `to`
    /// (replacing what `to` held). Costs O(path length).
    pub fn rename(&mut self, from: &Key, to: &Key) -> Result<(), AccessError> {
        if self.subtree(from)?.is_none() {
            return Err(AccessError::NotFound);
        }
        let src = self.update(from, |_, slot| Ok((None, slot)))?;
        self.update(to, |_, _| Ok((src, ())))
    }

    /// The number of entries `store_get_nth_key` enumerates under `key`: its subkeys, plus one
    /// for its value if it has one.
    pub fn list_size(&mut self, key: &Key) -> Result<u64, DurableError> {
        let Some(d) = self.subtree(key)? else { return Ok(0) };
        let dir = self.loader.dir(&d)?;
        let children = match &dir.children {
            Some(t) => trie::count(&mut self.loader, t)?,
            None => 0,
        };
        Ok(u64::from(children) + u64::from(dir.value.is_some()))
    }

    /// Entry `n` under `key`: the empty name for the value (always first, when there is one),
    /// then the subkeys' step names in byte-wise order.
    pub fn nth_key(&mut self, key: &Key, n: u64) -> Result<Option<Vec<u8>>, DurableError> {
        let Some(d) = self.subtree(key)? else { return Ok(None) };
        let dir = self.loader.dir(&d)?;
        let mut n = n;
        if dir.value.is_some() {
            if n == 0 {
                return Ok(Some(Vec::new()));
            }
            n -= 1;
        }
        let (Some(t), Ok(n)) = (&dir.children, u32::try_from(n)) else { return Ok(None) };
        Ok(trie::nth(&mut self.loader, t, n)?.map(|s| s.into_vec()))
    }

    /// The step names of the subkeys of `key`, in byte-wise order.
    pub fn subkeys(&mut self, key: &Key) -> Result<Vec<String>, DurableError> {
        let Some(d) = self.subtree(key)? else { return Ok(vec![]) };
        let dir = self.loader.dir(&d)?;
        let Some(t) = &dir.children else { return Ok(vec![]) };
        Ok(trie::entries(&mut self.loader, t)?
            .into_iter()
            .map(|(s, _)| String::from_utf8_lossy(&s).into_owned())
            .collect())
    }

    /// Every value at or under `key`, with its key, in key order (for tools and tests).
    pub fn values_under(&mut self, key: &Key) -> Result<Vec<(Key, Vec<u8>)>, DurableError> {
        let mut out = Vec::new();
        let Some(d) = self.subtree(key)? else { return Ok(out) };
        let mut stack = vec![(key.clone(), d)];
        while let Some((k, link)) = stack.pop() {
            let dir = self.loader.dir(&link)?;
            if let Some(v) = &dir.value {
                let v = self.loader.value(v)?;
                out.push((k.clone(), v.chunks.iter().flat_map(|c| c.data.iter().copied()).collect()));
            }
            if let Some(t) = &dir.children {
                let entries = trie::entries(&mut self.loader, t)?;
                for (step, child) in entries.into_iter().rev() {
                    let ck = k.child(&step).map_err(|_| DurableError::corrupt(&ZERO, "a stored step name is not a valid key"))?;
                    stack.push((ck, child));
                }
            }
        }
        Ok(out)
    }

    /// The hash of the value under `key` (what the PVM uses as a kernel's identity).
    pub fn value_hash(&mut self, key: &Key) -> Result<Option<Hash>, DurableError> {
        Ok(self.value_at(key)?.map(|v| v.hash()))
    }

    /// The root hash, committing to every key and value (zero for the empty tree). Computed
    /// lazily: only nodes changed since the last call are hashed.
    pub fn root_hash(&mut self) -> Hash {
        match &self.root {
            None => ZERO,
            Some(l) => walk_dir(l, &mut None),
        }
    }

    /// Hashes the tree and hands back every node not yet in the store, for the caller to write
    /// (children before parents). Afterwards the tree refers to its root by hash, so it must only
    /// be used once the caller has stored the nodes.
    pub fn commit(&mut self) -> (Hash, Vec<(Hash, Vec<u8>)>) {
        let mut out = Vec::new();
        let root = match &self.root {
            None => ZERO,
            Some(l) => walk_dir(l, &mut Some(Collect { out: &mut out, seen: HashSet::new() })),
        };
        for (h, bytes) in &out {
            if let Some(decoded @ (Decoded::Dir { .. } | Decoded::Leaf { .. } | Decoded::Inner { .. })) = Decoded::parse(bytes) {
                if let Ok(node) = self.loader.build(h, decoded) {
                    self.loader.cache.insert(*h, node);
                }
            }
        }
        self.root = (root != ZERO).then_some(Link::Stored(root));
        (root, out)
    }
}

/// The error of an update whose closure cannot refuse: only the store can have failed.
fn backend_only(e: AccessError) -> DurableError {
    match e {
        AccessError::Backend(b) => b,
        other => DurableError::Corrupt { hash: String::new(), reason: match other {
            AccessError::NotFound => "unexpectedly missing",
            AccessError::OutOfRange => "unexpectedly out of range",
            _ => "unexpectedly too large",
        } },
    }
}

fn write_into(value: &mut Value, offset: usize, data: &[u8]) {
    let end = offset + data.len();
    let mut pos = offset;
    while pos < end {
        let idx = pos / CHUNK_SIZE;
        let from = pos % CHUNK_SIZE;
        if idx == value.chunks.len() {
            value.chunks.push(Arc::new(Chunk::new(Vec::with_capacity(CHUNK_SIZE.min(end - pos + from)))));
        }
        let chunk = Arc::make_mut(&mut value.chunks[idx]);
        chunk.hash.take();
        chunk.stored = false;
        let take = (CHUNK_SIZE - from).min(end - pos);
        let src = &data[pos - offset..pos - offset + take];
        if chunk.data.len() < from + take {
            chunk.data.resize(from + take, 0);
        }
        chunk.data[from..from + take].copy_from_slice(src);
        pos += take;
    }
    value.len = value.len.max(end as u32);
}

/// Nodes a commit collects: encodings not yet in the store, and the hashes already visited (a
/// subtree copied many times is shared, and is walked once).
struct Collect<'a> {
    out: &'a mut Vec<(Hash, Vec<u8>)>,
    seen: HashSet<Hash>,
}

impl Collect<'_> {
    /// Whether a node hashed `h` still needs collecting (marks it collected).
    fn first_visit(&mut self, h: Option<&Hash>) -> bool {
        h.is_none_or(|h| self.seen.insert(*h))
    }
}

/// The node's hash if the walk can stop at it: it is hashed and either nothing is being
/// collected or it was collected already.
fn done(hash: &OnceLock<Hash>, c: &mut Option<Collect<'_>>) -> Option<Hash> {
    let h = hash.get()?;
    match c {
        None => Some(*h),
        Some(c) => (!c.first_visit(Some(h))).then_some(*h),
    }
}

/// Hashes a directory (using and filling the cached hashes); with `c`, also collects the
/// encodings of every node that is not in the store yet.
fn walk_dir(link: &Link<Dir>, c: &mut Option<Collect<'_>>) -> Hash {
    let d = match link {
        Link::Stored(h) => return *h,
        Link::Mem(d) => d,
    };
    if let Some(h) = done(&d.hash, c) {
        return h;
    }
    let v = d.value.as_ref().map_or(ZERO, |v| walk_value(v, c));
    let ch = d.children.as_ref().map_or(ZERO, |t| walk_trie(t, c));
    let pre = dir_preimage(&v, &ch);
    let h = *d.hash.get_or_init(|| keccak256(&pre));
    if let Some(c) = c {
        c.seen.insert(h);
        c.out.push((h, pre));
    }
    h
}

fn walk_trie(link: &Link<TrieNode>, c: &mut Option<Collect<'_>>) -> Hash {
    let t = match link {
        Link::Stored(h) => return *h,
        Link::Mem(t) => t,
    };
    if let Some(h) = done(&t.hash, c) {
        return h;
    }
    let pre = match &t.kind {
        Trie::Leaf { step, child } => leaf_preimage(step, &walk_dir(child, c)),
        Trie::Inner { bit, count, left, right } => {
            let l = walk_trie(left, c);
            let r = walk_trie(right, c);
            inner_preimage(*bit, *count, &l, &r)
        }
    };
    let h = *t.hash.get_or_init(|| keccak256(&pre));
    if let Some(c) = c {
        c.seen.insert(h);
        c.out.push((h, pre));
    }
    h
}

fn walk_value(link: &Link<Value>, c: &mut Option<Collect<'_>>) -> Hash {
    let v = match link {
        Link::Stored(h) => return *h,
        Link::Mem(v) => v,
    };
    let h = v.hash();
    if let Some(c) = c {
        if c.seen.insert(h) {
            if v.chunks.len() > 1 {
                for ch in v.chunks.iter().filter(|ch| !ch.stored) {
                    if c.seen.insert(ch.hash()) {
                        c.out.push((ch.hash(), chunk_encoding(&ch.data)));
                    }
                }
            }
            c.out.push((h, v.encode()));
        }
    }
    h
}
