//! The `Runtime` trait: the host functions, safely.

use alloc::string::String;
use alloc::vec::Vec;

use protocol::inbox::InboxMessage;
use protocol::reveal::RevealHash;
use protocol::{DecodeError, RollupMetadata};

use pvm_abi::{keys, HostError, MAX_IO_SIZE};

/// One inbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The level it belongs to.
    pub level: u32,
    /// Its position in the level (0 is start of level).
    pub id: u32,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Input {
    /// The message, parsed.
    pub fn message(&self) -> Result<InboxMessage, DecodeError> {
        InboxMessage::decode(&self.bytes)
    }
}

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Nothing.
    Missing,
    /// A value only.
    Value,
    /// Subkeys only.
    Subtree,
    /// A value and subkeys.
    ValueAndSubtree,
}

/// The host functions. Paths are durable-storage keys such as `/accounts/alice`; the host
/// checks them (over 250 bytes: [`HostError::KeyTooLarge`], malformed:
/// [`HostError::InvalidKey`]).
pub trait Runtime {
    /// The next inbox message of the level, `None` once all have been read.
    fn read_input(&mut self) -> Result<Option<Input>, HostError>;
    /// Appends a message (at most 4,096 bytes; at most 100 per level) to the outbox.
    fn write_output(&mut self, bytes: &[u8]) -> Result<(), HostError>;
    /// Logs bytes for whoever runs the node (not part of the state).
    fn write_debug(&mut self, bytes: &[u8]);
    /// What `path` holds.
    fn store_has(&mut self, path: &str) -> Result<NodeKind, HostError>;
    /// Reads up to `buf.len()` (at most 4,096) bytes of the value from `offset`.
    fn store_read_into(&mut self, path: &str, offset: u32, buf: &mut [u8]) -> Result<usize, HostError>;
    /// Writes `bytes` (at most 4,096) into the value at `offset` (at most its size).
    fn store_write(&mut self, path: &str, offset: u32, bytes: &[u8]) -> Result<(), HostError>;
    /// Removes the value and every subkey.
    fn store_delete(&mut self, path: &str) -> Result<(), HostError>;
    /// Copies a whole subtree (cheap: nothing is duplicated).
    fn store_copy(&mut self, from: &str, to: &str) -> Result<(), HostError>;
    /// Moves a whole subtree.
    fn store_move(&mut self, from: &str, to: &str) -> Result<(), HostError>;
    /// The size of the value.
    fn store_value_size(&mut self, path: &str) -> Result<u32, HostError>;
    /// Subkeys of `path`, plus one if it holds a value.
    fn store_list_size(&mut self, path: &str) -> Result<u64, HostError>;
    /// Entry `index` under `path`: `""` for its own value (first, when present), then subkey
    /// names in byte order.
    fn store_get_nth_key(&mut self, path: &str, index: u64) -> Result<String, HostError>;
    /// Copies the page named `hash` into `buf`; returns its length. (A page the node does not
    /// have stops the node until it gets it; the kernel never sees an error for it.)
    fn reveal_preimage(&mut self, hash: &RevealHash, buf: &mut [u8]) -> Result<usize, HostError>;
    /// The rollup's address and origination level.
    fn reveal_metadata(&mut self) -> RollupMetadata;

    /// Reads up to `max` bytes (at most 4,096) of the value from `offset`.
    fn store_read(&mut self, path: &str, offset: u32, max: usize) -> Result<Vec<u8>, HostError> {
        let mut buf = alloc::vec![0u8; max.min(MAX_IO_SIZE)];
        let n = self.store_read_into(path, offset, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// The whole value, however large.
    fn store_read_all(&mut self, path: &str) -> Result<Vec<u8>, HostError> {
        let size = self.store_value_size(path)? as usize;
        let mut out = alloc::vec![0u8; size];
        let mut at = 0;
        while at < size {
            let n = self.store_read_into(path, at as u32, &mut out[at..(at + MAX_IO_SIZE).min(size)])?;
            if n == 0 {
                break;
            }
            at += n;
        }
        Ok(out)
    }

    /// Replaces the value with `bytes`, however large. Values only grow in place, so a value
    /// that would shrink is deleted first, and with it any subkeys of `path`.
    fn store_write_all(&mut self, path: &str, bytes: &[u8]) -> Result<(), HostError> {
        if matches!(self.store_value_size(path), Ok(old) if old as usize > bytes.len()) {
            self.store_delete(path)?;
        }
        if bytes.is_empty() {
            return self.store_write(path, 0, &[]);
        }
        for (i, chunk) in bytes.chunks(MAX_IO_SIZE).enumerate() {
            self.store_write(path, (i * MAX_IO_SIZE) as u32, chunk)?;
        }
        Ok(())
    }

    /// Asks to be called again in this level (unread inputs are kept) instead of yielding.
    fn mark_for_reboot(&mut self) -> Result<(), HostError> {
        self.store_write(keys::REBOOT, 0, &[])
    }

    /// Why the previous `kernel_run` did not end normally, if it did not (see
    /// [`pvm_abi::stuck`]).
    fn stuck_reason(&mut self) -> Option<u8> {
        let mut b = [0u8; 1];
        match self.store_read_into(keys::STUCK, 0, &mut b) {
            Ok(1) => Some(b[0]),
            Ok(_) => Some(0),
            Err(_) => None,
        }
    }

    /// Reboots so far in this level.
    fn reboot_counter(&mut self) -> u32 {
        let mut b = [0u8; 4];
        match self.store_read_into(keys::REBOOT_COUNTER, 0, &mut b) {
            Ok(4) => u32::from_be_bytes(b),
            _ => 0,
        }
    }
}
