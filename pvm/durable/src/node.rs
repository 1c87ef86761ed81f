//! Nodes of the durable tree, their hashes and their storage encodings.
//!
//! Four kinds of node, each hashed with keccak-256 over a tagged preimage:
//!
//! | node | hash preimage |
//! |---|---|
//! | value | `01 ‖ u32 len ‖ chunks_root` |
//! | directory | `02 ‖ value_hash ‖ children_root` (zero for an absent part) |
//! | trie leaf | `03 ‖ u8 step_len ‖ step ‖ dir_hash(child)` |
//! | trie inner | `04 ‖ u16 bit ‖ u32 count ‖ left ‖ right` |
//! | chunk | `05 ‖ bytes` (1 to 512 bytes) |
//!
//! A value is cut into chunks of [`CHUNK_SIZE`] bytes (the last one shorter); `chunks_root` is the
//! protocol's Merkle root (`protocol::merkle`) of the chunk hashes, zero for an empty value. The
//! children of a directory form a crit-bit trie over their step names (ordered like the names,
//! byte-wise), whose inner nodes carry the number of leaves below them so the n-th child has a
//! short proof. Directory and trie nodes are stored as their preimage; a value is stored as
//! `01 ‖ u32 len ‖ (the bytes if len ≤ 512, else the chunk hashes)`, its chunks separately.

use std::sync::{Arc, OnceLock};

use protocol::hash::keccak256_concat;

/// A keccak-256 node hash; also the node's key in the store.
pub type Hash = [u8; 32];

/// Bytes per value chunk: a read or write of up to 4 KiB touches at most 9 chunks.
pub const CHUNK_SIZE: usize = 512;

pub(crate) const TAG_VALUE: u8 = 0x01;
pub(crate) const TAG_DIR: u8 = 0x02;
pub(crate) const TAG_LEAF: u8 = 0x03;
pub(crate) const TAG_INNER: u8 = 0x04;
pub(crate) const TAG_CHUNK: u8 = 0x05;

pub(crate) const ZERO: Hash = [0u8; 32];

/// A reference to a child node: in memory (possibly not yet hashed or stored), or stored and
/// known only by its hash until it is loaded.
#[derive(Debug)]
pub(crate) enum Link<T> {
    Mem(Arc<T>),
    Stored(Hash),
}

impl<T> Clone for Link<T> {
    fn clone(&self) -> Self {
        match self {
            Link::Mem(a) => Link::Mem(a.clone()),
            Link::Stored(h) => Link::Stored(*h),
        }
    }
}

/// A directory: an optional value and a trie of named children. Never empty in a tree (an empty
/// directory is pruned), so the encoding of a tree is canonical.
#[derive(Debug, Default)]
pub(crate) struct Dir {
    pub value: Option<Link<Value>>,
    pub children: Option<Link<TrieNode>>,
    pub hash: OnceLock<Hash>,
}

impl Clone for Dir {
    fn clone(&self) -> Self {
        Dir { value: self.value.clone(), children: self.children.clone(), hash: OnceLock::new() }
    }
}

impl Dir {
    pub fn is_empty(&self) -> bool {
        self.value.is_none() && self.children.is_none()
    }
}

/// A node of a directory's children trie.
#[derive(Debug)]
pub(crate) enum Trie {
    Leaf { step: Box<[u8]>, child: Link<Dir> },
    Inner { bit: u16, count: u32, left: Link<TrieNode>, right: Link<TrieNode> },
}

#[derive(Debug)]
pub(crate) struct TrieNode {
    pub kind: Trie,
    pub hash: OnceLock<Hash>,
}

impl Clone for TrieNode {
    fn clone(&self) -> Self {
        let kind = match &self.kind {
            Trie::Leaf { step, child } => Trie::Leaf { step: step.clone(), child: child.clone() },
            Trie::Inner { bit, count, left, right } => {
                Trie::Inner { bit: *bit, count: *count, left: left.clone(), right: right.clone() }
            }
        };
        TrieNode { kind, hash: OnceLock::new() }
    }
}

impl TrieNode {
    pub fn new(kind: Trie) -> Self {
        TrieNode { kind, hash: OnceLock::new() }
    }

    /// How many leaves (children of the directory) are below this node.
    pub fn count(&self) -> u32 {
        match &self.kind {
            Trie::Leaf { .. } => 1,
            Trie::Inner { count, .. } => *count,
        }
    }
}

/// A value's bytes, cut into chunks.
#[derive(Debug, Default)]
pub(crate) struct Value {
    pub len: u32,
    pub chunks: Vec<Arc<Chunk>>,
    pub hash: OnceLock<Hash>,
}

impl Clone for Value {
    fn clone(&self) -> Self {
        Value { len: self.len, chunks: self.chunks.clone(), hash: OnceLock::new() }
    }
}

#[derive(Debug)]
pub(crate) struct Chunk {
    pub data: Vec<u8>,
    /// Already in the store (loaded from it), so a commit need not write it again.
    pub stored: bool,
    pub hash: OnceLock<Hash>,
}

impl Clone for Chunk {
    fn clone(&self) -> Self {
        Chunk { data: self.data.clone(), stored: false, hash: OnceLock::new() }
    }
}

impl Chunk {
    pub fn new(data: Vec<u8>) -> Self {
        Chunk { data, stored: false, hash: OnceLock::new() }
    }

    pub fn hash(&self) -> Hash {
        *self.hash.get_or_init(|| keccak256_concat(&[&[TAG_CHUNK], &self.data]))
    }
}

impl Value {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Value {
            len: bytes.len() as u32,
            chunks: bytes.chunks(CHUNK_SIZE).map(|c| Arc::new(Chunk::new(c.to_vec()))).collect(),
            hash: OnceLock::new(),
        }
    }

    pub fn hash(&self) -> Hash {
        *self.hash.get_or_init(|| {
            let leaves: Vec<Hash> = self.chunks.iter().map(|c| c.hash()).collect();
            let root = protocol::merkle::root(&leaves);
            keccak256_concat(&[&[TAG_VALUE], &self.len.to_be_bytes(), &root])
        })
    }

    /// Storage encoding: small values inline, large ones by chunk hashes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.len.min(CHUNK_SIZE as u32) as usize);
        out.push(TAG_VALUE);
        out.extend_from_slice(&self.len.to_be_bytes());
        if self.chunks.len() <= 1 {
            if let Some(c) = self.chunks.first() {
                out.extend_from_slice(&c.data);
            }
        } else {
            for c in &self.chunks {
                out.extend_from_slice(&c.hash());
            }
        }
        out
    }
}

pub(crate) fn dir_preimage(value: &Hash, children: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(65);
    out.push(TAG_DIR);
    out.extend_from_slice(value);
    out.extend_from_slice(children);
    out
}

pub(crate) fn leaf_preimage(step: &[u8], child: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + step.len() + 32);
    out.push(TAG_LEAF);
    out.push(step.len() as u8);
    out.extend_from_slice(step);
    out.extend_from_slice(child);
    out
}

pub(crate) fn inner_preimage(bit: u16, count: u32, left: &Hash, right: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(71);
    out.push(TAG_INNER);
    out.extend_from_slice(&bit.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(left);
    out.extend_from_slice(right);
    out
}

pub(crate) fn chunk_encoding(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(TAG_CHUNK);
    out.extend_from_slice(data);
    out
}

/// A node as decoded from the store: children by hash.
#[derive(Debug)]
pub(crate) enum Decoded {
    Dir { value: Option<Hash>, children: Option<Hash> },
    Leaf { step: Box<[u8]>, child: Hash },
    Inner { bit: u16, count: u32, left: Hash, right: Hash },
    /// A value: its length and either its bytes (one chunk or none) or its chunk hashes.
    Value { len: u32, inline: Option<Vec<u8>>, chunks: Vec<Hash> },
    Chunk(Vec<u8>),
}

fn hash_at(bytes: &[u8], at: usize) -> Option<Hash> {
    bytes.get(at..at + 32).map(|s| s.try_into().unwrap_or(ZERO))
}

fn non_zero(h: Hash) -> Option<Hash> {
    (h != ZERO).then_some(h)
}

impl Decoded {
    /// Parses a stored node; `None` if the bytes are not a node encoding.
    pub fn parse(bytes: &[u8]) -> Option<Decoded> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            TAG_DIR if rest.len() == 64 => {
                Some(Decoded::Dir { value: non_zero(hash_at(rest, 0)?), children: non_zero(hash_at(rest, 32)?) })
            }
            TAG_LEAF => {
                let (&len, rest) = rest.split_first()?;
                let len = len as usize;
                if rest.len() != len + 32 || len == 0 {
                    return None;
                }
                Some(Decoded::Leaf { step: rest[..len].into(), child: hash_at(rest, len)? })
            }
            TAG_INNER if rest.len() == 70 => Some(Decoded::Inner {
                bit: u16::from_be_bytes([rest[0], rest[1]]),
                count: u32::from_be_bytes([rest[2], rest[3], rest[4], rest[5]]),
                left: hash_at(rest, 6)?,
                right: hash_at(rest, 38)?,
            }),
            TAG_VALUE if rest.len() >= 4 => {
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let body = &rest[4..];
                let n_chunks = (len as usize).div_ceil(CHUNK_SIZE);
                if n_chunks <= 1 {
                    (body.len() == len as usize).then(|| Decoded::Value { len, inline: Some(body.to_vec()), chunks: vec![] })
                } else if body.len() == n_chunks * 32 {
                    let chunks = body.chunks_exact(32).map(|c| c.try_into().unwrap_or(ZERO)).collect();
                    Some(Decoded::Value { len, inline: None, chunks })
                } else {
                    None
                }
            }
            TAG_CHUNK if !rest.is_empty() && rest.len() <= CHUNK_SIZE => Some(Decoded::Chunk(rest.to_vec())),
            _ => None,
        }
    }
}

/// The hash of the node whose stored encoding is `bytes` (docs/pvm.md section 5.1: directory,
/// trie and chunk nodes are stored as their preimage; a value as its length and either its one
/// chunk or its chunk hashes), or `None` if the bytes are not a node encoding. With it, a set of
/// stored nodes that arrives from elsewhere (a one-step proof) is its own content-addressed store.
/// The hash a value of these bytes has in the tree (section 5.1 of docs/pvm.md), without
/// building a tree: what names a kernel by its `/kernel/boot.wasm` value.
pub fn value_hash(bytes: &[u8]) -> Hash {
    Value::from_bytes(bytes).hash()
}

pub fn stored_node_hash(bytes: &[u8]) -> Option<Hash> {
    Some(match Decoded::parse(bytes)? {
        Decoded::Value { len, inline, chunks } => {
            let root = match inline {
                Some(b) if b.is_empty() => ZERO,
                Some(b) => keccak256_concat(&[&[TAG_CHUNK], &b]),
                None => protocol::merkle::root(&chunks),
            };
            keccak256_concat(&[&[TAG_VALUE], &len.to_be_bytes(), &root])
        }
        _ => protocol::hash::keccak256(bytes),
    })
}
