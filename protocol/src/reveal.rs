//! The reveal channel: preimage hashes and the page format for data larger than one page.
//!
//! A reveal hash is 33 bytes, tag `0x00` then blake2b-256 of the page. Pages are at most 4,096
//! bytes and come in two kinds (the seeds' DAC format): a contents page (`0x00`, 4-byte big-endian
//! length, data) and a hashes page (`0x01`, 4-byte big-endian length in bytes, concatenated
//! 33-byte hashes). A payload of any size becomes a tree of pages whose root hash names it.

use alloc::vec::Vec;
use core::fmt;

use crate::error::{DecodeError, Reader};
use crate::hash::blake2b_256;
use crate::MAX_MESSAGE_SIZE;

/// Tag of the only reveal hash scheme (blake2b-256).
pub const REVEAL_HASH_TAG_BLAKE2B: u8 = 0x00;
/// The largest page, in bytes.
pub const MAX_PAGE_SIZE: usize = MAX_MESSAGE_SIZE;
/// Bytes of a page before its body: tag and length.
pub const PAGE_HEADER_SIZE: usize = 5;
/// The most data one contents page carries.
pub const MAX_CONTENTS_PER_PAGE: usize = MAX_PAGE_SIZE - PAGE_HEADER_SIZE;
/// The most hashes one hashes page carries.
pub const MAX_HASHES_PER_PAGE: usize = MAX_CONTENTS_PER_PAGE / RevealHash::SIZE;
/// Tag of a contents page.
pub const PAGE_TAG_CONTENTS: u8 = 0x00;
/// Tag of a hashes page.
pub const PAGE_TAG_HASHES: u8 = 0x01;

/// The name of a reveal page: tag `0x00` then blake2b-256 of the page bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RevealHash(pub [u8; 33]);

impl RevealHash {
    /// Encoded size.
    pub const SIZE: usize = 33;

    /// The hash of a page's bytes.
    pub fn of(page: &[u8]) -> Self {
        let mut out = [0u8; 33];
        out[0] = REVEAL_HASH_TAG_BLAKE2B;
        out[1..].copy_from_slice(&blake2b_256(page));
        Self(out)
    }

    /// Parses 33 bytes, checking the tag.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("reveal hash", bytes);
        let raw: [u8; 33] = r.array()?;
        r.finish()?;
        if raw[0] != REVEAL_HASH_TAG_BLAKE2B {
            return Err(DecodeError::UnknownTag { what: "reveal hash", tag: raw[0] });
        }
        Ok(Self(raw))
    }

    /// The 32-byte blake2b digest, without the tag.
    pub fn digest(&self) -> [u8; 32] {
        let mut d = [0u8; 32];
        d.copy_from_slice(&self.0[1..]);
        d
    }

    /// Lower-case hex of the 33 bytes, no prefix: the file name of the page in a preimage
    /// directory (the seeds' `${ROLLUP_NODE_DIR}/wasm_2_0_0/<hash>`).
    pub fn to_hex(&self) -> alloc::string::String {
        hex::encode(self.0)
    }
}

impl fmt::Display for RevealHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RevealHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RevealHash({})", self.to_hex())
    }
}

impl core::str::FromStr for RevealHash {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = crate::primitives::parse_hex(s)
            .map_err(|_| DecodeError::Invalid { what: "reveal hash", reason: "not hex" })?;
        Self::decode(&bytes)
    }
}

/// One page of the reveal channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevealPage {
    /// A leaf: payload bytes.
    Contents(Vec<u8>),
    /// An inner page: the hashes of its children, in order.
    Hashes(Vec<RevealHash>),
}

impl RevealPage {
    /// The page bytes (what is hashed and what `reveal_preimage` returns).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            RevealPage::Contents(data) => {
                out.push(PAGE_TAG_CONTENTS);
                out.extend_from_slice(&(data.len() as u32).to_be_bytes());
                out.extend_from_slice(data);
            }
            RevealPage::Hashes(hashes) => {
                out.push(PAGE_TAG_HASHES);
                out.extend_from_slice(&((hashes.len() * RevealHash::SIZE) as u32).to_be_bytes());
                for h in hashes {
                    out.extend_from_slice(&h.0);
                }
            }
        }
        out
    }

    /// Parses a page, enforcing the 4,096-byte limit and the declared length.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "reveal page";
        if bytes.len() > MAX_PAGE_SIZE {
            return Err(DecodeError::TooLarge { what: WHAT, max: MAX_PAGE_SIZE, got: bytes.len() });
        }
        let mut r = Reader::new(WHAT, bytes);
        let tag = *bytes.first().ok_or(DecodeError::Empty { what: WHAT })?;
        r.take(1)?;
        let len = r.u32()? as usize;
        let body = r.take(len)?;
        r.finish()?;
        match tag {
            PAGE_TAG_CONTENTS => Ok(RevealPage::Contents(body.to_vec())),
            PAGE_TAG_HASHES => {
                if len % RevealHash::SIZE != 0 {
                    return Err(DecodeError::Invalid { what: WHAT, reason: "hashes page length is not a multiple of 33" });
                }
                body.chunks_exact(RevealHash::SIZE).map(RevealHash::decode).collect::<Result<_, _>>().map(RevealPage::Hashes)
            }
            tag => Err(DecodeError::UnknownTag { what: WHAT, tag }),
        }
    }
}

/// A payload cut into pages: the root hash that names it and every page with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDag {
    /// The hash to give a kernel (or put in a kernel upgrade) for this payload.
    pub root: RevealHash,
    /// Every page, leaves first, root last. Each is at most [`MAX_PAGE_SIZE`] bytes.
    pub pages: Vec<(RevealHash, Vec<u8>)>,
}

/// Cuts `payload` (any size, empty included) into contents pages, then hashes pages of at most
/// [`MAX_HASHES_PER_PAGE`] children, level by level, until one root page remains.
pub fn split_into_pages(payload: &[u8]) -> PageDag {
    let mut pages = Vec::new();
    let mut layer: Vec<RevealHash> = Vec::new();
    let chunks: Vec<&[u8]> =
        if payload.is_empty() { alloc::vec![&payload[..0]] } else { payload.chunks(MAX_CONTENTS_PER_PAGE).collect() };
    for chunk in chunks {
        let bytes = RevealPage::Contents(chunk.to_vec()).encode();
        let h = RevealHash::of(&bytes);
        pages.push((h, bytes));
        layer.push(h);
    }
    while layer.len() > 1 {
        let mut next = Vec::with_capacity(layer.len().div_ceil(MAX_HASHES_PER_PAGE));
        for group in layer.chunks(MAX_HASHES_PER_PAGE) {
            let bytes = RevealPage::Hashes(group.to_vec()).encode();
            let h = RevealHash::of(&bytes);
            pages.push((h, bytes));
            next.push(h);
        }
        layer = next;
    }
    PageDag { root: layer[0], pages }
}

/// Why a payload could not be rebuilt from its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevealError {
    /// No page is known for this hash.
    Missing(RevealHash),
    /// The page served for this hash does not hash to it.
    HashMismatch(RevealHash),
    /// A page is malformed.
    Decode(DecodeError),
    /// The payload would exceed the caller's size limit.
    TooLarge {
        /// The limit given.
        max: usize,
    },
    /// The tree is deeper than the caller's limit.
    TooDeep {
        /// The limit given.
        max_depth: usize,
    },
}

impl fmt::Display for RevealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevealError::Missing(h) => write!(f, "no preimage known for {h}"),
            RevealError::HashMismatch(h) => write!(f, "preimage served for {h} does not hash to it"),
            RevealError::Decode(e) => write!(f, "{e}"),
            RevealError::TooLarge { max } => write!(f, "revealed payload exceeds {max} bytes"),
            RevealError::TooDeep { max_depth } => write!(f, "page tree deeper than {max_depth}"),
        }
    }
}

impl core::error::Error for RevealError {}

/// Rebuilds a payload from its root hash, asking `lookup` for each page and checking every page
/// against its hash. `max_size` and `max_depth` bound the work a hostile tree can cause (a page
/// may repeat a child hash, so output can grow exponentially with depth otherwise).
pub fn reassemble<F>(root: &RevealHash, mut lookup: F, max_size: usize, max_depth: usize) -> Result<Vec<u8>, RevealError>
where
    F: FnMut(&RevealHash) -> Option<Vec<u8>>,
{
    let mut out = Vec::new();
    // Depth-first, children in order: a stack of (hash, depth), pushed in reverse.
    let mut stack = alloc::vec![(*root, 0usize)];
    while let Some((h, depth)) = stack.pop() {
        if depth > max_depth {
            return Err(RevealError::TooDeep { max_depth });
        }
        let bytes = lookup(&h).ok_or(RevealError::Missing(h))?;
        if RevealHash::of(&bytes) != h {
            return Err(RevealError::HashMismatch(h));
        }
        match RevealPage::decode(&bytes).map_err(RevealError::Decode)? {
            RevealPage::Contents(data) => {
                if out.len() + data.len() > max_size {
                    return Err(RevealError::TooLarge { max: max_size });
                }
                out.extend_from_slice(&data);
            }
            RevealPage::Hashes(children) => {
                for c in children.into_iter().rev() {
                    stack.push((c, depth + 1));
                }
            }
        }
    }
    Ok(out)
}
