//! The real host: the `smart_rollup_core` imports, plus the allocator and panic handler a
//! wasm32 kernel needs.

use alloc::string::String;
use alloc::vec;

use protocol::reveal::RevealHash;
use protocol::RollupMetadata;

use pvm_abi::HostError;
use crate::runtime::{Input, NodeKind, Runtime};
use pvm_abi::MAX_IO_SIZE;

#[cfg(feature = "allocator")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(feature = "panic-handler")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let msg = alloc::format!("kernel panicked: {info}");
    unsafe { raw::write_debug(msg.as_ptr(), msg.len()) };
    core::arch::wasm32::unreachable()
}

mod raw {
    #[link(wasm_import_module = "smart_rollup_core")]
    extern "C" {
        pub fn read_input(level: *mut i32, id: *mut i32, dst: *mut u8, max_bytes: usize) -> i32;
        pub fn write_output(src: *const u8, num_bytes: usize) -> i32;
        pub fn write_debug(src: *const u8, num_bytes: usize);
        pub fn store_has(path: *const u8, path_len: usize) -> i32;
        pub fn store_delete(path: *const u8, path_len: usize) -> i32;
        pub fn store_list_size(path: *const u8, path_len: usize) -> i64;
        pub fn store_get_nth_key(path: *const u8, path_len: usize, index: i64, dst: *mut u8, max_size: usize) -> i32;
        pub fn store_copy(src: *const u8, src_len: usize, dst: *const u8, dst_len: usize) -> i32;
        pub fn store_move(src: *const u8, src_len: usize, dst: *const u8, dst_len: usize) -> i32;
        pub fn store_read(path: *const u8, path_len: usize, offset: usize, dst: *mut u8, num_bytes: usize) -> i32;
        pub fn store_write(path: *const u8, path_len: usize, offset: usize, src: *const u8, num_bytes: usize) -> i32;
        pub fn store_value_size(path: *const u8, path_len: usize) -> i32;
        pub fn reveal_metadata(dst: *mut u8, max_bytes: usize) -> i32;
        pub fn reveal_preimage(hash_addr: *const u8, dst: *mut u8, max_bytes: usize) -> i32;
    }
}

/// The host of a kernel running on the PVM.
pub struct WasmHost {
    /// Scratch space for `read_input`, reused across calls.
    buf: alloc::vec::Vec<u8>,
}

impl WasmHost {
    /// The host. Create one per `kernel_run` ([`crate::entrypoint!`] does).
    pub fn new() -> Self {
        WasmHost { buf: vec![0u8; MAX_IO_SIZE] }
    }
}

impl Default for WasmHost {
    fn default() -> Self {
        Self::new()
    }
}

fn unit(ret: i32) -> Result<(), HostError> {
    HostError::check(i64::from(ret)).map(|_| ())
}

impl Runtime for WasmHost {
    fn read_input(&mut self) -> Result<Option<Input>, HostError> {
        let (mut level, mut id) = (0i32, 0i32);
        let n = unsafe { raw::read_input(&mut level, &mut id, self.buf.as_mut_ptr(), self.buf.len()) };
        // Messages are never empty: 0 means the level's inbox is exhausted.
        match HostError::check(i64::from(n))? {
            0 => Ok(None),
            n => Ok(Some(Input { level: level as u32, id: id as u32, bytes: self.buf[..n as usize].to_vec() })),
        }
    }

    fn write_output(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        unit(unsafe { raw::write_output(bytes.as_ptr(), bytes.len()) })
    }

    fn write_debug(&mut self, bytes: &[u8]) {
        unsafe { raw::write_debug(bytes.as_ptr(), bytes.len()) }
    }

    fn store_has(&mut self, path: &str) -> Result<NodeKind, HostError> {
        Ok(match HostError::check(i64::from(unsafe { raw::store_has(path.as_ptr(), path.len()) }))? {
            0 => NodeKind::Missing,
            1 => NodeKind::Value,
            2 => NodeKind::Subtree,
            _ => NodeKind::ValueAndSubtree,
        })
    }

    fn store_read_into(&mut self, path: &str, offset: u32, buf: &mut [u8]) -> Result<usize, HostError> {
        let n = unsafe { raw::store_read(path.as_ptr(), path.len(), offset as usize, buf.as_mut_ptr(), buf.len()) };
        HostError::check(i64::from(n)).map(|n| n as usize)
    }

    fn store_write(&mut self, path: &str, offset: u32, bytes: &[u8]) -> Result<(), HostError> {
        unit(unsafe { raw::store_write(path.as_ptr(), path.len(), offset as usize, bytes.as_ptr(), bytes.len()) })
    }

    fn store_delete(&mut self, path: &str) -> Result<(), HostError> {
        unit(unsafe { raw::store_delete(path.as_ptr(), path.len()) })
    }

    fn store_copy(&mut self, from: &str, to: &str) -> Result<(), HostError> {
        unit(unsafe { raw::store_copy(from.as_ptr(), from.len(), to.as_ptr(), to.len()) })
    }

    fn store_move(&mut self, from: &str, to: &str) -> Result<(), HostError> {
        unit(unsafe { raw::store_move(from.as_ptr(), from.len(), to.as_ptr(), to.len()) })
    }

    fn store_value_size(&mut self, path: &str) -> Result<u32, HostError> {
        HostError::check(i64::from(unsafe { raw::store_value_size(path.as_ptr(), path.len()) })).map(|n| n as u32)
    }

    fn store_list_size(&mut self, path: &str) -> Result<u64, HostError> {
        HostError::check(unsafe { raw::store_list_size(path.as_ptr(), path.len()) })
    }

    fn store_get_nth_key(&mut self, path: &str, index: u64) -> Result<String, HostError> {
        let mut buf = [0u8; 256];
        let n = unsafe { raw::store_get_nth_key(path.as_ptr(), path.len(), index as i64, buf.as_mut_ptr(), buf.len()) };
        let n = HostError::check(i64::from(n))? as usize;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn reveal_preimage(&mut self, hash: &RevealHash, buf: &mut [u8]) -> Result<usize, HostError> {
        let n = unsafe { raw::reveal_preimage(hash.0.as_ptr(), buf.as_mut_ptr(), buf.len()) };
        HostError::check(i64::from(n)).map(|n| n as usize)
    }

    fn reveal_metadata(&mut self) -> RollupMetadata {
        let mut b = [0u8; RollupMetadata::SIZE];
        unsafe { raw::reveal_metadata(b.as_mut_ptr(), b.len()) };
        RollupMetadata::decode(&b).unwrap_or(RollupMetadata { address: protocol::Address::ZERO, origination_level: 0 })
    }
}
