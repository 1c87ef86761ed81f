//! Fixed-size values of the protocol: L1 addresses, 32-byte hashes and wei amounts.
//!
//! They print and parse as `0x`-prefixed hex so configs, JSON APIs and logs all agree.

use core::fmt;
use core::str::FromStr;

/// Why a hex string is not a valid fixed-size value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseHexError {
    /// Not hex digits (after an optional `0x`).
    NotHex,
    /// Wrong number of bytes.
    WrongLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
}

impl fmt::Display for ParseHexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseHexError::NotHex => write!(f, "not a hex string"),
            ParseHexError::WrongLength { expected, got } => {
                write!(f, "expected {expected} bytes of hex, got {got}")
            }
        }
    }
}

impl core::error::Error for ParseHexError {}

/// Decodes `0x`-prefixed (or bare) hex of any length.
pub fn parse_hex(s: &str) -> Result<alloc::vec::Vec<u8>, ParseHexError> {
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    hex::decode(s).map_err(|_| ParseHexError::NotHex)
}

fn parse_fixed<const N: usize>(s: &str) -> Result<[u8; N], ParseHexError> {
    let bytes = parse_hex(s)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| ParseHexError::WrongLength { expected: N, got: bytes.len() })
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str("0x")?;
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $n:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// The number of bytes.
            pub const LEN: usize = $n;
            /// All zeroes.
            pub const ZERO: Self = Self([0u8; $n]);

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }

        impl From<[u8; $n]> for $name {
            fn from(b: [u8; $n]) -> Self {
                Self(b)
            }
        }

        impl From<$name> for [u8; $n] {
            fn from(v: $name) -> Self {
                v.0
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseHexError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_fixed::<$n>(s).map(Self)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <alloc::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

fixed_bytes!(
    /// A 20-byte L1 (Ethereum) address: the sender of an internal transfer, the destination of
    /// an outbox call, the rollup address itself.
    Address,
    20
);

fixed_bytes!(
    /// A 32-byte hash: state hashes, commitment hashes, block hashes, Merkle roots.
    Hash32,
    32
);

/// An amount of wei as the EVM holds it: a 256-bit unsigned integer, stored big-endian.
///
/// The protocol only moves these bytes around; arithmetic belongs to the kernel, which may
/// accept only the amounts it can represent (see [`Wei::to_u128`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Wei(pub [u8; 32]);

impl Wei {
    /// Zero wei.
    pub const ZERO: Self = Self([0u8; 32]);

    /// A wei amount from a `u128`.
    pub fn from_u128(v: u128) -> Self {
        let mut b = [0u8; 32];
        b[16..].copy_from_slice(&v.to_be_bytes());
        Self(b)
    }

    /// The amount as a `u128`, or `None` if it does not fit.
    pub fn to_u128(&self) -> Option<u128> {
        if self.0[..16].iter().any(|&b| b != 0) {
            return None;
        }
        let mut lo = [0u8; 16];
        lo.copy_from_slice(&self.0[16..]);
        Some(u128::from_be_bytes(lo))
    }

    /// Parses a decimal string of at most 78 digits (the largest u256 has 78).
    pub fn from_dec_str(s: &str) -> Result<Self, ParseWeiError> {
        if s.is_empty() || s.len() > 78 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseWeiError);
        }
        let mut out = [0u8; 32];
        for c in s.bytes() {
            // out = out * 10 + digit, with overflow detection.
            let mut carry = u32::from(c - b'0');
            for byte in out.iter_mut().rev() {
                let v = u32::from(*byte) * 10 + carry;
                *byte = (v & 0xff) as u8;
                carry = v >> 8;
            }
            if carry != 0 {
                return Err(ParseWeiError);
            }
        }
        Ok(Self(out))
    }

    /// The decimal representation.
    pub fn to_dec_string(&self) -> alloc::string::String {
        let mut digits = alloc::vec::Vec::new();
        let mut n = self.0;
        while n.iter().any(|&b| b != 0) {
            // n, r = divmod(n, 10)
            let mut rem = 0u32;
            for byte in n.iter_mut() {
                let cur = (rem << 8) | u32::from(*byte);
                *byte = (cur / 10) as u8;
                rem = cur % 10;
            }
            digits.push(b'0' + rem as u8);
        }
        if digits.is_empty() {
            digits.push(b'0');
        }
        digits.reverse();
        alloc::string::String::from_utf8(digits).unwrap_or_default()
    }
}

/// A wei amount that is not a decimal number below 2^256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWeiError;

impl fmt::Display for ParseWeiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a decimal amount of wei below 2^256")
    }
}

impl core::error::Error for ParseWeiError {}

impl fmt::Display for Wei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dec_string())
    }
}

impl fmt::Debug for Wei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} wei", self.to_dec_string())
    }
}

impl FromStr for Wei {
    type Err = ParseWeiError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_dec_str(s)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Wei {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Wei {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
