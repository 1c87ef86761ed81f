//! The one error type of every decoder in this crate.

use core::fmt;

/// Why a byte string is not a valid encoding. Every decoder returns this instead of panicking,
/// whatever the input, so hostile bytes from the network, the L1 or a kernel are always safe to
/// hand to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input was empty where a tag byte was expected.
    Empty {
        /// What was being decoded.
        what: &'static str,
    },
    /// The leading tag is not one this format defines.
    UnknownTag {
        /// What was being decoded.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// The input ended before a fixed-size field.
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Bytes were left after a complete value.
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// The value exceeds a protocol limit.
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// The limit in bytes (or items).
        max: usize,
        /// The size found.
        got: usize,
    },
    /// The input is structurally invalid (non-canonical ABI, bad offset, bad padding...).
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty { what } => write!(f, "{what}: empty input"),
            DecodeError::UnknownTag { what, tag } => write!(f, "{what}: unknown tag 0x{tag:02x}"),
            DecodeError::Truncated { what, needed, available } => {
                write!(f, "{what}: truncated (needs {needed} bytes, {available} available)")
            }
            DecodeError::TrailingBytes { what, extra } => {
                write!(f, "{what}: {extra} unexpected trailing bytes")
            }
            DecodeError::TooLarge { what, max, got } => {
                write!(f, "{what}: too large ({got} > limit {max})")
            }
            DecodeError::Invalid { what, reason } => write!(f, "{what}: {reason}"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// A cursor over input bytes that turns every short read into [`DecodeError::Truncated`].
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self { what, bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated { what: self.what, needed: n, available: self.bytes.len() });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { what: self.what, extra: self.bytes.len() })
        }
    }
}
