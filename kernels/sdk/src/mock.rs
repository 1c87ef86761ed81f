//! A host for native tests with the PVM's exact semantics: it stages every call's arguments in
//! a scratch "memory" and runs the same host-function code the PVM runs (`pvm-host`), over an
//! in-memory durable storage.

use std::collections::VecDeque;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use protocol::inbox::{level_messages, TAG_EXTERNAL};
use protocol::reveal::RevealHash;
use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata, Transfer};
use pvm_durable::{Key, MemStore, Tree};
use pvm_host::{GuestMemory, HostState, LevelInbox, PreimageMap, VecMemory};

use pvm_abi::HostError;
use crate::runtime::{Input, NodeKind, Runtime};
use pvm_abi::keys::{REBOOT, REBOOT_COUNTER, STUCK};

const KEY_A: u32 = 0;
const KEY_B: u32 = 512;
const DATA: u32 = 1024;
const SLOTS: u32 = 1024 - 8;

/// The PVM's host, in memory, for `cargo test`.
pub struct MockHost {
    state: HostState,
    mem: VecMemory,
    preimages: PreimageMap,
    levels: VecDeque<Vec<Vec<u8>>>,
}

/// What one level of [`MockHost::run_level`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelReport {
    /// Outbox messages written.
    pub outbox: Vec<Vec<u8>>,
    /// Debug output.
    pub debug: Vec<Vec<u8>>,
    /// How many times `kernel_run` was called.
    pub runs: u32,
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

fn key(s: &str) -> Key {
    Key::new(s).unwrap_or_else(|_| Key::root())
}

impl MockHost {
    /// A host for a rollup at the zero address.
    pub fn new() -> Self {
        Self::with_metadata(RollupMetadata { address: Address::ZERO, origination_level: 0 })
    }

    /// A host answering `reveal_metadata` with `metadata`.
    pub fn with_metadata(metadata: RollupMetadata) -> Self {
        MockHost {
            state: HostState {
                durable: Tree::empty(Arc::new(MemStore::new())),
                inbox: LevelInbox::default(),
                outbox: Vec::new(),
                debug: Default::default(),
                preimages: Arc::new(PreimageMap::default()),
                metadata,
            },
            mem: VecMemory(std::vec![0u8; (DATA as usize) + 4096 + 64]),
            preimages: PreimageMap::default(),
            levels: VecDeque::new(),
        }
    }

    /// Makes `page` available to `reveal_preimage`; returns its hash.
    pub fn add_preimage(&mut self, page: Vec<u8>) -> RevealHash {
        let h = self.preimages.add(page);
        self.state.preimages = Arc::new(self.preimages.clone());
        h
    }

    /// The level the inbox currently holds.
    pub fn level(&self) -> u32 {
        self.state.inbox.level
    }

    /// Queues a level of external messages (payloads, without the external tag).
    pub fn push_level_externals(&mut self, externals: &[Vec<u8>]) {
        self.push_level(&[], externals)
    }

    /// Queues a level: its delayed transfers then its externals, framed like the PVM frames
    /// them (start of level, info per level, ..., end of level).
    pub fn push_level(&mut self, transfers: &[Transfer], externals: &[Vec<u8>]) {
        let info = InfoPerLevel { timestamp_ms: 0, block_hash: Hash32::ZERO };
        self.levels.push_back(level_messages(info, transfers, externals));
    }

    /// Runs the next queued level (an empty one if none is queued) like the PVM's level
    /// driver: `kernel_run` again while it asks for a reboot (at most 1,000 times). A panic in
    /// the kernel propagates to the test.
    pub fn run_level(&mut self, mut kernel_run: impl FnMut(&mut MockHost)) -> LevelReport {
        let messages = self.levels.pop_front().unwrap_or_else(|| {
            level_messages(InfoPerLevel { timestamp_ms: 0, block_hash: Hash32::ZERO }, &[], &[])
        });
        self.state.inbox = LevelInbox { level: self.state.inbox.level + 1, messages, next: 0 };
        self.state.outbox.clear();
        self.state.debug = Default::default();
        let mut runs = 0u32;
        loop {
            let _ = self.state.durable.set_value(&key(REBOOT_COUNTER), &runs.to_be_bytes());
            kernel_run(self);
            runs += 1;
            let reboot = self.state.durable.has(&key(REBOOT)).map(|k| k as i32 != 0).unwrap_or(false);
            let _ = self.state.durable.delete(&key(REBOOT));
            let _ = self.state.durable.delete(&key(STUCK));
            if !reboot || runs > 1000 {
                break;
            }
        }
        LevelReport { outbox: self.state.outbox.clone(), debug: self.state.debug.entries.clone(), runs }
    }

    /// The value under `path`, read directly.
    pub fn value(&mut self, path: &str) -> Option<Vec<u8>> {
        Key::new(path).ok().and_then(|k| self.state.durable.read_value(&k).ok().flatten())
    }

    /// Every value in the durable storage with its key (for assertions).
    pub fn values(&mut self) -> Vec<(String, Vec<u8>)> {
        self.state.durable.values_under(&Key::root()).unwrap_or_default().into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The durable storage's root hash (the PVM commits to the same value).
    pub fn durable_root(&mut self) -> [u8; 32] {
        self.state.durable.root_hash()
    }

    fn stage(&mut self, at: u32, bytes: &[u8], room: usize) {
        let n = bytes.len().min(room);
        let _ = self.mem.write(at, &bytes[..n]);
    }

    fn stage_data(&mut self, bytes: &[u8]) {
        let need = DATA as usize + bytes.len();
        if self.mem.0.len() < need {
            self.mem.0.resize(need, 0);
        }
        let _ = self.mem.write(DATA, bytes);
    }

    /// Runs a host call; this host never aborts (its storage is in memory and a missing
    /// preimage is a test bug), so an abort panics with the reason.
    fn call<T>(&mut self, f: impl FnOnce(&mut HostState, &mut VecMemory) -> Result<T, pvm_host::Abort>) -> T {
        match f(&mut self.state, &mut self.mem) {
            Ok(v) => v,
            Err(abort) => panic!("mock host: {abort}"),
        }
    }

    fn with_key(&mut self, path: &str) -> (u32, u32) {
        self.stage(KEY_A, path.as_bytes(), (KEY_B - KEY_A) as usize);
        (KEY_A, path.len() as u32)
    }
}

fn unit(r: i32) -> Result<(), HostError> {
    HostError::check(i64::from(r)).map(|_| ())
}

impl Runtime for MockHost {
    fn read_input(&mut self) -> Result<Option<Input>, HostError> {
        let n = self.call(|h, m| h.read_input(m, SLOTS, SLOTS + 4, DATA, 4096));
        match HostError::check(i64::from(n))? {
            0 => Ok(None),
            n => {
                let read = |m: &VecMemory, at: u32, len: u32| m.read_vec(at, len).unwrap_or_default();
                let level = u32::from_le_bytes(read(&self.mem, SLOTS, 4).try_into().unwrap_or([0; 4]));
                let id = u32::from_le_bytes(read(&self.mem, SLOTS + 4, 4).try_into().unwrap_or([0; 4]));
                Ok(Some(Input { level, id, bytes: read(&self.mem, DATA, n as u32) }))
            }
        }
    }

    fn write_output(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        self.stage_data(bytes);
        unit(self.call(|h, m| h.write_output(m, DATA, bytes.len() as u32)))
    }

    fn write_debug(&mut self, bytes: &[u8]) {
        self.stage_data(bytes);
        self.call(|h, m| h.write_debug(m, DATA, bytes.len() as u32));
    }

    fn store_has(&mut self, path: &str) -> Result<NodeKind, HostError> {
        let (p, l) = self.with_key(path);
        Ok(match HostError::check(i64::from(self.call(|h, m| h.store_has(m, p, l))))? {
            0 => NodeKind::Missing,
            1 => NodeKind::Value,
            2 => NodeKind::Subtree,
            _ => NodeKind::ValueAndSubtree,
        })
    }

    fn store_read_into(&mut self, path: &str, offset: u32, buf: &mut [u8]) -> Result<usize, HostError> {
        let (p, l) = self.with_key(path);
        let max = buf.len().min(4096) as u32;
        let n = HostError::check(i64::from(self.call(|h, m| h.store_read(m, p, l, offset, DATA, max))))? as usize;
        buf[..n].copy_from_slice(&self.mem.0[DATA as usize..DATA as usize + n]);
        Ok(n)
    }

    fn store_write(&mut self, path: &str, offset: u32, bytes: &[u8]) -> Result<(), HostError> {
        let (p, l) = self.with_key(path);
        self.stage_data(bytes);
        unit(self.call(|h, m| h.store_write(m, p, l, offset, DATA, bytes.len() as u32)))
    }

    fn store_delete(&mut self, path: &str) -> Result<(), HostError> {
        let (p, l) = self.with_key(path);
        unit(self.call(|h, m| h.store_delete(m, p, l)))
    }

    fn store_copy(&mut self, from: &str, to: &str) -> Result<(), HostError> {
        let (p, l) = self.with_key(from);
        self.stage(KEY_B, to.as_bytes(), (DATA - KEY_B) as usize);
        let tl = to.len() as u32;
        unit(self.call(|h, m| h.store_copy(m, p, l, KEY_B, tl)))
    }

    fn store_move(&mut self, from: &str, to: &str) -> Result<(), HostError> {
        let (p, l) = self.with_key(from);
        self.stage(KEY_B, to.as_bytes(), (DATA - KEY_B) as usize);
        let tl = to.len() as u32;
        unit(self.call(|h, m| h.store_move(m, p, l, KEY_B, tl)))
    }

    fn store_value_size(&mut self, path: &str) -> Result<u32, HostError> {
        let (p, l) = self.with_key(path);
        HostError::check(i64::from(self.call(|h, m| h.store_value_size(m, p, l)))).map(|n| n as u32)
    }

    fn store_list_size(&mut self, path: &str) -> Result<u64, HostError> {
        let (p, l) = self.with_key(path);
        HostError::check(self.call(|h, m| h.store_list_size(m, p, l)))
    }

    fn store_get_nth_key(&mut self, path: &str, index: u64) -> Result<String, HostError> {
        let (p, l) = self.with_key(path);
        let n = HostError::check(i64::from(self.call(|h, m| h.store_get_nth_key(m, p, l, index as i64, DATA, 256))))? as usize;
        Ok(String::from_utf8_lossy(&self.mem.0[DATA as usize..DATA as usize + n]).into_owned())
    }

    fn reveal_preimage(&mut self, hash: &RevealHash, buf: &mut [u8]) -> Result<usize, HostError> {
        self.stage(KEY_B, &hash.0, 33);
        let max = buf.len().min(4096) as u32;
        let n = HostError::check(i64::from(self.call(|h, m| h.reveal_preimage(m, KEY_B, DATA, max))))? as usize;
        buf[..n].copy_from_slice(&self.mem.0[DATA as usize..DATA as usize + n]);
        Ok(n)
    }

    fn reveal_metadata(&mut self) -> RollupMetadata {
        self.state.metadata
    }
}

/// Whether `bytes` is an external message (as `read_input` returns it), and its payload.
pub fn external_payload(bytes: &[u8]) -> Option<&[u8]> {
    (bytes.first() == Some(&TAG_EXTERNAL)).then(|| &bytes[1..])
}
