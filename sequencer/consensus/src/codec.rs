//! The byte reader and writer behind every consensus wire format (`docs/consensus.md` section 6).
//!
//! Everything a peer sends is decoded through [`Reader`], which turns every short read, oversized
//! length or unknown tag into a [`CodecError`]: hostile bytes never panic the node and never make
//! it allocate more than the declared limits.

use protocol::Hash32;

/// Why bytes received from a peer are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ended early.
    #[error("{what}: truncated")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// A tag byte this version does not define.
    #[error("{what}: unknown tag {tag}")]
    UnknownTag {
        /// What was being read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A count or length above its limit.
    #[error("{what}: {got} exceeds the limit of {max}")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// The limit.
        max: usize,
        /// The value found.
        got: usize,
    },
    /// Bytes left over after a complete message.
    #[error("{extra} trailing bytes after a complete {what}")]
    Trailing {
        /// What was read.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// Well-formed bytes whose content breaks a rule of the format.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// The rule broken.
        reason: String,
    },
}

/// A bounds-checked cursor over received bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        if self.bytes.len() < n {
            return Err(CodecError::Truncated { what });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u64 at most `max` (views and heights peers send).
    pub fn u64_at_most(&mut self, max: u64, what: &'static str) -> Result<u64, CodecError> {
        let v = self.u64(what)?;
        if v > max {
            return Err(CodecError::Invalid { what, reason: format!("{v} exceeds the bound {max}") });
        }
        Ok(v)
    }

    /// A 32-byte hash.
    pub fn hash(&mut self, what: &'static str) -> Result<Hash32, CodecError> {
        Ok(Hash32(self.array(what)?))
    }

    /// A u32 count checked against `max` before anything is allocated for it.
    pub fn count(&mut self, max: usize, what: &'static str) -> Result<usize, CodecError> {
        let n = self.u32(what)? as usize;
        if n > max {
            return Err(CodecError::TooLarge { what, max, got: n });
        }
        Ok(n)
    }

    /// `u32 len || bytes` with `len <= max`.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        let n = self.count(max, what)?;
        self.take(n, what)
    }

    /// Fails if anything is left.
    pub fn finish(self, what: &'static str) -> Result<(), CodecError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(CodecError::Trailing { what, extra: self.bytes.len() })
        }
    }
}

/// Appends big-endian fields to a buffer (the encoding side of [`Reader`]).
pub trait Writer {
    /// Appends a u16.
    fn put_u16(&mut self, v: u16);
    /// Appends a u32.
    fn put_u32(&mut self, v: u32);
    /// Appends a u64.
    fn put_u64(&mut self, v: u64);
    /// Appends `u32 len || bytes`.
    fn put_bytes(&mut self, b: &[u8]);
}

impl Writer for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bytes(&mut self, b: &[u8]) {
        self.put_u32(b.len() as u32);
        self.extend_from_slice(b);
    }
}
