//! The echo kernel of the seeds: it reads every input of the level and writes the payload of
//! each external message, unchanged, to the outbox. Sending it a valid outbox encoding (an
//! ABI-encoded batch of L1 calls) therefore makes the rollup perform that call on the L1.
#![no_std]

// Natively (tests, tools) the kernel links std, which brings the panic handler and allocator;
// on wasm32 the `wasm` module provides both, so the kernel logic itself stays no_std.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use protocol::inbox::TAG_EXTERNAL;
use protocol::MAX_MESSAGE_SIZE;

#[cfg(target_arch = "wasm32")]
mod wasm {
    #[global_allocator]
    static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }

    #[link(wasm_import_module = "smart_rollup_core")]
    extern "C" {
        fn read_input(level: *mut i32, id: *mut i32, dst: *mut u8, max_bytes: usize) -> i32;
        fn write_output(src: *const u8, num_bytes: usize) -> i32;
    }

    /// The host, through the `smart_rollup_core` imports.
    pub struct Host;

    impl super::Host for Host {
        fn read_input(&mut self, buf: &mut [u8]) -> Option<usize> {
            let (mut level, mut id) = (0i32, 0i32);
            let n = unsafe { read_input(&mut level, &mut id, buf.as_mut_ptr(), buf.len()) };
            // 0 means the inbox of this level is exhausted; negative values are errors.
            (n > 0).then_some(n as usize)
        }

        fn write_output(&mut self, bytes: &[u8]) -> i32 {
            unsafe { write_output(bytes.as_ptr(), bytes.len()) }
        }
    }

    #[no_mangle]
    pub extern "C" fn kernel_run() {
        super::run(&mut Host);
    }
}

/// The two host functions the echo kernel needs, so its logic is testable natively.
pub trait Host {
    /// Reads the next input into `buf`; `None` once the level's inbox is empty.
    fn read_input(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Appends to the outbox; returns the host's status code.
    fn write_output(&mut self, bytes: &[u8]) -> i32;
}

/// Echoes every external payload of the current level to the outbox.
pub fn run<H: Host>(host: &mut H) {
    let mut buf = [0u8; MAX_MESSAGE_SIZE];
    while let Some(n) = host.read_input(&mut buf) {
        if buf[0] == TAG_EXTERNAL && n > 1 {
            // A full outbox (-7 or similar) is not fatal: the message is simply not echoed.
            let _ = host.write_output(&buf[1..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::{vec, vec::Vec};

    struct Mock {
        inputs: Vec<Vec<u8>>,
        outbox: Vec<Vec<u8>>,
    }

    impl Host for Mock {
        fn read_input(&mut self, buf: &mut [u8]) -> Option<usize> {
            if self.inputs.is_empty() {
                return None;
            }
            let m = self.inputs.remove(0);
            buf[..m.len()].copy_from_slice(&m);
            Some(m.len())
        }
        fn write_output(&mut self, bytes: &[u8]) -> i32 {
            self.outbox.push(bytes.to_vec());
            0
        }
    }

    #[test]
    fn echoes_external_payloads_only() {
        let mut host = Mock {
            inputs: vec![vec![0, 1], vec![1, 0xaa, 0xbb], vec![0, 0, 1, 2, 3], vec![1], vec![1, 0xcc], vec![0, 2]],
            outbox: vec![],
        };
        run(&mut host);
        assert_eq!(host.outbox, vec![vec![0xaa, 0xbb], vec![0xcc]]);
    }
}
