//! The semantics of every host call.

use std::sync::Arc;

use protocol::outbox::MAX_OUTBOX_MESSAGES_PER_LEVEL;
use protocol::reveal::RevealHash;
use protocol::RollupMetadata;
use pvm_durable::{AccessError, DurableError, Key, KeyError, Tree};

use crate::abi::{HostError, HostFn, MAX_IO_SIZE, REVEAL_HASH_SIZE};
use crate::memory::GuestMemory;
use crate::reveal::PreimageSource;

/// Why the node, not the kernel, cannot complete a host call. The PVM abandons the level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Abort {
    /// The durable storage backend failed.
    #[error(transparent)]
    Storage(#[from] DurableError),
    /// The kernel asked for a page this node does not have. Provide the file named by the hash
    /// in the preimage directory and run the level again.
    #[error("missing preimage {0}: put the page in a file of that name in the preimage directory and retry the level")]
    MissingPreimage(RevealHash),
    /// The preimage source failed or served a page that is not the preimage.
    #[error("preimage source: {0}")]
    Preimage(String),
}

/// The inbox of the level being processed and how far the kernel has read it.
#[derive(Debug, Clone, Default)]
pub struct LevelInbox {
    /// The level number `read_input` reports.
    pub level: u32,
    /// The level's messages, in order (message id = index).
    pub messages: Vec<Vec<u8>>,
    /// The id of the next message `read_input` returns.
    pub next: usize,
}

impl LevelInbox {
    /// Whether unread messages remain.
    pub fn has_unread(&self) -> bool {
        self.next < self.messages.len()
    }
}

/// The most debug bytes kept per level; later `write_debug` calls are dropped (debug output is
/// not part of the state, so this only bounds the node's memory).
pub const MAX_DEBUG_BYTES_PER_LEVEL: usize = 16 << 20;

/// What kernels printed with `write_debug` during a level.
#[derive(Debug, Clone, Default)]
pub struct DebugLog {
    /// The messages, in order.
    pub entries: Vec<Vec<u8>>,
    /// Total bytes in `entries`.
    pub bytes: usize,
    /// Whether messages were dropped for exceeding [`MAX_DEBUG_BYTES_PER_LEVEL`].
    pub truncated: bool,
}

impl DebugLog {
    fn push(&mut self, msg: Vec<u8>) {
        if self.bytes + msg.len() > MAX_DEBUG_BYTES_PER_LEVEL {
            self.truncated = true;
            return;
        }
        self.bytes += msg.len();
        self.entries.push(msg);
    }
}

/// Everything a host call can touch: the persistent state (durable storage, outbox of the
/// level), the inbox, the reveal channel and the debug log.
pub struct HostState {
    /// The durable storage.
    pub durable: Tree,
    /// The level's inbox.
    pub inbox: LevelInbox,
    /// The outbox messages written so far in this level.
    pub outbox: Vec<Vec<u8>>,
    /// Debug output of this level.
    pub debug: DebugLog,
    /// Answers `reveal_preimage`.
    pub preimages: Arc<dyn PreimageSource>,
    /// Answers `reveal_metadata`.
    pub metadata: RollupMetadata,
}

/// The return value of a host call, or an abort.
pub type HostResult<T = i32> = Result<T, Abort>;

fn err(e: HostError) -> HostResult {
    Ok(e.code())
}

/// The prefix kernels cannot modify.
fn readonly_root() -> Key {
    Key::new(crate::abi::keys::READONLY).unwrap_or_else(|_| Key::root())
}

fn is_readonly(k: &Key) -> bool {
    k.starts_with(&readonly_root())
}

/// Reads and parses a key argument: -1 if over 250 bytes (checked before touching memory),
/// -6 if outside memory, -2 if malformed.
fn read_key(mem: &impl GuestMemory, ptr: u32, len: u32) -> Result<Key, HostError> {
    if len as usize > pvm_durable::MAX_KEY_LENGTH {
        return Err(HostError::KeyTooLarge);
    }
    let bytes = mem.read_vec(ptr, len).map_err(|_| HostError::MemoryInvalidAccess)?;
    Key::parse(&bytes).map_err(|e| match e {
        KeyError::TooLong => HostError::KeyTooLarge,
        KeyError::Invalid => HostError::InvalidKey,
    })
}

macro_rules! key_or_return {
    ($mem:expr, $ptr:expr, $len:expr) => {
        match read_key($mem, $ptr, $len) {
            Ok(k) => k,
            Err(e) => return err(e),
        }
    };
}

fn access(e: AccessError) -> Result<HostError, Abort> {
    Ok(match e {
        AccessError::NotFound => HostError::NotFound,
        AccessError::OutOfRange => HostError::InvalidAccess,
        AccessError::TooLarge => HostError::ValueSizeExceeded,
        AccessError::Backend(b) => return Err(Abort::Storage(b)),
    })
}

/// `read_input(level_ptr, id_ptr, dst, max_bytes)` given the message it would return (`None`
/// once the level is exhausted) and that message's id: the result, and whether the message was
/// consumed. [`HostState::read_input`] and the one-step verifier, which knows only the one
/// message its proof shows, both call it.
pub fn read_message(mem: &mut impl GuestMemory, level: u32, id: u32, msg: Option<&[u8]>, args: [u32; 4]) -> (i32, bool) {
    let [level_ptr, id_ptr, dst, max_bytes] = args;
    let Some(msg) = msg else { return (0, false) };
    let n = msg.len().min(max_bytes as usize);
    if !mem.contains(dst, n as u64) || !mem.contains(level_ptr, 4) || !mem.contains(id_ptr, 4) {
        return (HostError::MemoryInvalidAccess.code(), false);
    }
    let wrote = mem
        .write(dst, &msg[..n])
        .and_then(|_| mem.write(level_ptr, &level.to_le_bytes()))
        .and_then(|_| mem.write(id_ptr, &id.to_le_bytes()));
    if wrote.is_err() {
        return (HostError::MemoryInvalidAccess.code(), false);
    }
    (n as i32, true)
}

impl HostState {
    /// Calls host function `func`, imported in its `variant`-th form of
    /// [`HostFn::signatures`], with the wasm arguments `args` (first argument first; `i32`s
    /// zero-extended). Returns the wasm result, if the form has one (an `i32` zero-extended).
    /// Every engine, and the one-step verifier, dispatches through here.
    pub fn call(&mut self, func: HostFn, variant: usize, args: &[u64], mem: &mut impl GuestMemory) -> HostResult<Option<u64>> {
        let a = |i: usize| args.get(i).copied().unwrap_or(0) as u32;
        let r32 = |r: HostResult| r.map(|v| Some(u64::from(v as u32)));
        match (func, variant) {
            (HostFn::ReadInput, _) => r32(self.read_input(mem, a(0), a(1), a(2), a(3))),
            (HostFn::WriteOutput, _) => r32(self.write_output(mem, a(0), a(1))),
            (HostFn::WriteDebug, 0) => self.write_debug(mem, a(0), a(1)).map(|_| None),
            (HostFn::WriteDebug, _) => r32(self.write_debug(mem, a(0), a(1))),
            (HostFn::StoreHas, _) => r32(self.store_has(mem, a(0), a(1))),
            (HostFn::StoreDelete, _) => r32(self.store_delete(mem, a(0), a(1))),
            (HostFn::StoreCopy, _) => r32(self.store_copy(mem, a(0), a(1), a(2), a(3))),
            (HostFn::StoreMove, _) => r32(self.store_move(mem, a(0), a(1), a(2), a(3))),
            (HostFn::StoreRead, _) => r32(self.store_read(mem, a(0), a(1), a(2), a(3), a(4))),
            (HostFn::StoreWrite, _) => r32(self.store_write(mem, a(0), a(1), a(2), a(3), a(4))),
            (HostFn::StoreValueSize, _) => r32(self.store_value_size(mem, a(0), a(1))),
            (HostFn::StoreListSize, _) => self.store_list_size(mem, a(0), a(1)).map(|v| Some(v as u64)),
            (HostFn::StoreGetNthKey, _) => r32(self.store_get_nth_key(mem, a(0), a(1), args.get(2).copied().unwrap_or(0) as i64, a(3), a(4))),
            (HostFn::RevealPreimage, 0) => r32(self.reveal_preimage(mem, a(0), a(1), a(2))),
            (HostFn::RevealPreimage, _) => r32(self.reveal_preimage_sized(mem, a(0), a(1), a(2), a(3))),
            (HostFn::RevealMetadata, _) => r32(self.reveal_metadata(mem, a(0), a(1))),
        }
    }

    /// `read_input(level_ptr, id_ptr, dst, max_bytes) -> i32`: moves the next message of the
    /// level to `dst` (at most `max_bytes` of it: a longer message is truncated, and consumed all
    /// the same), its level to `level_ptr` and its id to `id_ptr` (i32, little-endian). Returns
    /// the bytes written, or 0 once the level's inbox is exhausted. If any of the three ranges is
    /// outside memory it returns -6 and the message stays unread.
    pub fn read_input(&mut self, mem: &mut impl GuestMemory, level_ptr: u32, id_ptr: u32, dst: u32, max_bytes: u32) -> HostResult {
        let msg = self.inbox.messages.get(self.inbox.next).map(Vec::as_slice);
        let (ret, consumed) = read_message(mem, self.inbox.level, self.inbox.next as u32, msg, [level_ptr, id_ptr, dst, max_bytes]);
        if consumed {
            self.inbox.next += 1;
        }
        Ok(ret)
    }

    /// `write_output(src, num_bytes) -> i32`: appends the bytes to the level's outbox. -7 over
    /// 4,096 bytes, -6 outside memory, -8 when the level already has 100 messages; 0 on success.
    pub fn write_output(&mut self, mem: &mut impl GuestMemory, src: u32, num_bytes: u32) -> HostResult {
        if num_bytes as usize > MAX_IO_SIZE {
            return err(HostError::InputOutputTooLarge);
        }
        let Ok(bytes) = mem.read_vec(src, num_bytes) else { return err(HostError::MemoryInvalidAccess) };
        if self.outbox.len() >= MAX_OUTBOX_MESSAGES_PER_LEVEL {
            return err(HostError::GenericInvalidAccess);
        }
        self.outbox.push(bytes);
        Ok(0)
    }

    /// `write_debug(src, num_bytes)`: records the bytes in the node's debug log. Checks nothing:
    /// a range outside memory is silently ignored. Returns 0 to kernels that declare a result.
    pub fn write_debug(&mut self, mem: &mut impl GuestMemory, src: u32, num_bytes: u32) -> HostResult {
        if let Ok(bytes) = mem.read_vec(src, num_bytes) {
            self.debug.push(bytes);
        }
        Ok(0)
    }

    /// `store_has(path, len) -> i32`: 0 nothing, 1 a value only, 2 subkeys only, 3 both.
    pub fn store_has(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32) -> HostResult {
        let key = key_or_return!(mem, path, len);
        Ok(self.durable.has(&key)? as i32)
    }

    /// `store_delete(path, len) -> i32`: removes the key's value and all its subkeys (0 even if
    /// there was nothing). -9 under `/readonly`.
    pub fn store_delete(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32) -> HostResult {
        let key = key_or_return!(mem, path, len);
        if is_readonly(&key) {
            return err(HostError::ReadOnly);
        }
        self.durable.delete(&key)?;
        Ok(0)
    }

    /// `store_copy(src, src_len, dst, dst_len) -> i32`: `dst` becomes a copy of the whole
    /// subtree at `src` (what `dst` held is replaced). -3 if `src` holds nothing, -9 if `dst` is
    /// under `/readonly` (copying *from* it is allowed).
    pub fn store_copy(&mut self, mem: &mut impl GuestMemory, src: u32, src_len: u32, dst: u32, dst_len: u32) -> HostResult {
        let from = key_or_return!(mem, src, src_len);
        let to = key_or_return!(mem, dst, dst_len);
        if is_readonly(&to) {
            return err(HostError::ReadOnly);
        }
        match self.durable.copy(&from, &to) {
            Ok(()) => Ok(0),
            Err(e) => err(access(e)?),
        }
    }

    /// `store_move(src, src_len, dst, dst_len) -> i32`: cuts the subtree at `src` out and puts
    /// it at `dst` (replacing what `dst` held). -3 if `src` holds nothing, -9 if either key is
    /// under `/readonly`.
    pub fn store_move(&mut self, mem: &mut impl GuestMemory, src: u32, src_len: u32, dst: u32, dst_len: u32) -> HostResult {
        let from = key_or_return!(mem, src, src_len);
        let to = key_or_return!(mem, dst, dst_len);
        if is_readonly(&from) || is_readonly(&to) {
            return err(HostError::ReadOnly);
        }
        match self.durable.rename(&from, &to) {
            Ok(()) => Ok(0),
            Err(e) => err(access(e)?),
        }
    }

    /// `store_read(path, len, offset, dst, num_bytes) -> i32`: copies up to `min(num_bytes,
    /// 4096)` bytes of the value from `offset` (fewer at its end) to `dst`; returns how many.
    /// -3 no value, -4 `offset` past the end of the value, -6 `dst` range outside memory.
    pub fn store_read(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32, offset: u32, dst: u32, num_bytes: u32) -> HostResult {
        let key = key_or_return!(mem, path, len);
        let bytes = match self.durable.read(&key, offset, (num_bytes as usize).min(MAX_IO_SIZE)) {
            Ok(b) => b,
            Err(e) => return err(access(e)?),
        };
        if mem.write(dst, &bytes).is_err() {
            return err(HostError::MemoryInvalidAccess);
        }
        Ok(bytes.len() as i32)
    }

    /// `store_write(path, len, offset, src, num_bytes) -> i32`: writes the bytes into the value
    /// at `offset`, growing it if they go past its end; creates the value if there is none (then
    /// `offset` must be 0). -9 under `/readonly`, -7 over 4,096 bytes, -6 source outside
    /// memory, -4 `offset` past the end of the value, -5 if the value would exceed 2^31-1 bytes.
    pub fn store_write(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32, offset: u32, src: u32, num_bytes: u32) -> HostResult {
        let key = key_or_return!(mem, path, len);
        if is_readonly(&key) {
            return err(HostError::ReadOnly);
        }
        if num_bytes as usize > MAX_IO_SIZE {
            return err(HostError::InputOutputTooLarge);
        }
        let Ok(bytes) = mem.read_vec(src, num_bytes) else { return err(HostError::MemoryInvalidAccess) };
        match self.durable.write(&key, offset, &bytes) {
            Ok(()) => Ok(0),
            Err(e) => err(access(e)?),
        }
    }

    /// `store_value_size(path, len) -> i32`: the value's size, or -3 if there is no value.
    pub fn store_value_size(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32) -> HostResult {
        let key = key_or_return!(mem, path, len);
        match self.durable.value_size(&key)? {
            Some(n) => Ok(n as i32),
            None => err(HostError::NotFound),
        }
    }

    /// `store_list_size(path, len) -> i64`: the number of entries `store_get_nth_key` walks:
    /// one per subkey, plus one if the key holds a value; 0 for a missing key.
    pub fn store_list_size(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32) -> HostResult<i64> {
        let key = match read_key(mem, path, len) {
            Ok(k) => k,
            Err(e) => return Ok(i64::from(e.code())),
        };
        Ok(self.durable.list_size(&key)? as i64)
    }

    /// `store_get_nth_key(path, len, index, dst, max_size) -> i32`: writes the name of entry
    /// `index` to `dst` (at most `max_size` bytes of it) and returns the bytes written. Entry 0
    /// is the key's own value when it has one, with an empty name (so 0 is returned); the
    /// subkeys follow, by step name in byte order, each as its last step (no slash). -3 when
    /// `index` is negative or not below `store_list_size`, -6 `dst` outside memory.
    pub fn store_get_nth_key(&mut self, mem: &mut impl GuestMemory, path: u32, len: u32, index: i64, dst: u32, max_size: u32) -> HostResult {
        let key = key_or_return!(mem, path, len);
        let Ok(index) = u64::try_from(index) else { return err(HostError::NotFound) };
        let Some(name) = self.durable.nth_key(&key, index)? else { return err(HostError::NotFound) };
        let n = name.len().min(max_size as usize);
        if mem.write(dst, &name[..n]).is_err() {
            return err(HostError::MemoryInvalidAccess);
        }
        Ok(n as i32)
    }

    /// `reveal_metadata(dst, max_bytes) -> i32`: writes the 24-byte metadata (rollup address,
    /// then origination level, big-endian), at most `max_bytes` of it; returns the bytes written.
    pub fn reveal_metadata(&mut self, mem: &mut impl GuestMemory, dst: u32, max_bytes: u32) -> HostResult {
        let meta = self.metadata.encode();
        let n = meta.len().min(max_bytes as usize);
        if mem.write(dst, &meta[..n]).is_err() {
            return err(HostError::MemoryInvalidAccess);
        }
        Ok(n as i32)
    }

    /// `reveal_preimage(hash_addr, dst, max_bytes) -> i32`: writes the page whose 33-byte reveal
    /// hash is at `hash_addr` (at most `max_bytes` of it) and returns the bytes written. -6 if the
    /// hash or the destination is outside memory, -8 if the hash's tag is not `0x00`. If this
    /// node does not have the page, the call aborts the level (see [`Abort::MissingPreimage`]).
    pub fn reveal_preimage(&mut self, mem: &mut impl GuestMemory, hash_addr: u32, dst: u32, max_bytes: u32) -> HostResult {
        let Ok(raw) = mem.read_vec(hash_addr, REVEAL_HASH_SIZE as u32) else { return err(HostError::MemoryInvalidAccess) };
        let Ok(hash) = RevealHash::decode(&raw) else { return err(HostError::GenericInvalidAccess) };
        let page = self.preimages.preimage(&hash).map_err(Abort::Preimage)?.ok_or(Abort::MissingPreimage(hash))?;
        let n = page.len().min(max_bytes as usize);
        if mem.write(dst, &page[..n]).is_err() {
            return err(HostError::MemoryInvalidAccess);
        }
        Ok(n as i32)
    }

    /// `reveal_preimage(hash_addr, hash_len, dst, max_bytes) -> i32`, the form with an explicit
    /// hash length: -8 unless `hash_len` is 33, then as [`HostState::reveal_preimage`].
    pub fn reveal_preimage_sized(&mut self, mem: &mut impl GuestMemory, hash_addr: u32, hash_len: u32, dst: u32, max_bytes: u32) -> HostResult {
        if hash_len as usize != REVEAL_HASH_SIZE {
            return err(HostError::GenericInvalidAccess);
        }
        self.reveal_preimage(mem, hash_addr, dst, max_bytes)
    }
}
