//! The key grammar of the durable storage (the seeds' path-like keys).
//!
//! ```text
//! key  = 1*( "/" step )          at most 250 bytes in total
//! step = 1*( ALPHA / DIGIT / "." / "-" / "_" )
//! ```
//!
//! So `/a`, `/kernel/boot.wasm` and `/x/.../y` are keys; the empty string, `/`, `//a`, `/a/` and
//! `/a b` are not. The host functions map a key over 250 bytes to error -1 and any other
//! malformed key to error -2.

use core::fmt;

/// The longest key, in bytes (the seeds' limit).
pub const MAX_KEY_LENGTH: usize = 250;

/// Why bytes are not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// More than [`MAX_KEY_LENGTH`] bytes (host error -1).
    #[error("key longer than {MAX_KEY_LENGTH} bytes")]
    TooLong,
    /// Not of the form `/step/step...` with steps of `[A-Za-z0-9._-]+` (host error -2).
    #[error("key is not of the form /step/step... with steps of [A-Za-z0-9._-]")]
    Invalid,
}

/// A valid key, or the root (no steps), which only the PVM itself can name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// `/`-prefixed steps, or empty for the root.
    bytes: Box<[u8]>,
}

fn is_step_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_'
}

impl Key {
    /// The root of the tree: not a key a kernel can write, but the PVM lists and walks it.
    pub fn root() -> Self {
        Key { bytes: Box::new([]) }
    }

    /// Parses a key as a kernel passes it.
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() > MAX_KEY_LENGTH {
            return Err(KeyError::TooLong);
        }
        Self::check(bytes)?;
        Ok(Key { bytes: bytes.into() })
    }

    /// [`Key::parse`] for keys the PVM writes itself (`/kernel/boot.wasm`...).
    pub fn new(s: &str) -> Result<Self, KeyError> {
        Self::parse(s.as_bytes())
    }

    fn check(bytes: &[u8]) -> Result<(), KeyError> {
        if bytes.first() != Some(&b'/') {
            return Err(KeyError::Invalid);
        }
        for step in bytes[1..].split(|&b| b == b'/') {
            if step.is_empty() || !step.iter().all(|&b| is_step_byte(b)) {
                return Err(KeyError::Invalid);
            }
        }
        Ok(())
    }

    /// The key's steps, root first (none for the root).
    pub fn steps(&self) -> impl Iterator<Item = &[u8]> {
        let rest = if self.bytes.is_empty() { &self.bytes[..] } else { &self.bytes[1..] };
        rest.split(|&b| b == b'/').filter(|s| !s.is_empty())
    }

    /// The key's bytes, as a kernel writes it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key as text (keys are ASCII by construction).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// The key of `step` under this one.
    pub fn child(&self, step: &[u8]) -> Result<Self, KeyError> {
        let mut bytes = Vec::with_capacity(self.bytes.len() + 1 + step.len());
        bytes.extend_from_slice(&self.bytes);
        bytes.push(b'/');
        bytes.extend_from_slice(step);
        Self::parse(&bytes)
    }

    /// Whether the key is `prefix` itself or lies under it.
    pub fn starts_with(&self, prefix: &Key) -> bool {
        self.bytes.starts_with(&prefix.bytes)
            && (self.bytes.len() == prefix.bytes.len() || self.bytes.get(prefix.bytes.len()) == Some(&b'/'))
    }

    /// Whether the root is meant.
    pub fn is_root(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_root() { "/" } else { self.as_str() })
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

impl core::str::FromStr for Key {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "/" {
            return Ok(Key::root());
        }
        Key::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in ["/a", "/kernel/boot.wasm", "/A-z_0.9/x", "/./..", "/a/b/c"] {
            assert!(Key::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/", "a", "//a", "/a/", "/a b", "/a//b", "/é", "/a\0"] {
            assert_eq!(Key::new(bad), Err(KeyError::Invalid), "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(249));
        assert!(Key::new(&long).is_ok());
        let too_long = format!("/{}", "a".repeat(250));
        assert_eq!(Key::new(&too_long), Err(KeyError::TooLong));
        // Length is checked first, as the host does: an over-long invalid key is -1.
        assert_eq!(Key::parse(&[b' '; 251]), Err(KeyError::TooLong));
    }

    #[test]
    fn steps_and_prefixes() {
        let k = Key::new("/readonly/kernel").unwrap();
        assert_eq!(k.steps().collect::<Vec<_>>(), vec![&b"readonly"[..], b"kernel"]);
        assert!(k.starts_with(&Key::new("/readonly").unwrap()));
        assert!(!Key::new("/readonlyx").unwrap().starts_with(&Key::new("/readonly").unwrap()));
        assert!(k.starts_with(&Key::root()));
        assert_eq!(Key::root().steps().count(), 0);
    }
}
