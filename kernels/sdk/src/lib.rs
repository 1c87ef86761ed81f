//! The kernel SDK: write a PVM kernel in Rust (`no_std` + `alloc`).
//!
//! - [`Runtime`] is a safe interface to the fourteen host functions of `smart_rollup_core`,
//!   with the seeds' error codes as [`HostError`] and helpers for whole values, reboots and the
//!   stuck flag. The catalogue itself (error codes, limits, the keys the PVM uses) is the
//!   PVM's own, crate `pvm-abi`, re-exported here.
//! - [`Input::message`] parses what `read_input` returns with the `protocol` crate.
//! - [`entrypoint!`] exports `kernel_run` and calls your function with the real host; on wasm32
//!   the SDK also installs an allocator and a panic handler that logs the panic and traps.
//! - [`mock::MockHost`] (native only) runs the same host-function semantics as the PVM (it is
//!   built on `pvm-host`), so kernel logic is unit-tested with `cargo test`.
//!
//! ```ignore
//! use kernel_sdk::{entrypoint, Runtime};
//!
//! fn run<R: Runtime>(host: &mut R) {
//!     while let Ok(Some(input)) = host.read_input() {
//!         host.write_debug(&input.bytes);
//!     }
//! }
//! entrypoint!(run);
//! ```
//!
//! Build kernels with `kernels/build.sh` (see docs/kernels.md).
#![no_std]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

mod runtime;
#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(not(target_arch = "wasm32"))]
pub mod mock;

pub use protocol;
pub use pvm_abi::{keys, stuck, HostError, MAX_IO_SIZE};
pub use runtime::{Input, NodeKind, Runtime};
#[cfg(target_arch = "wasm32")]
pub use wasm::WasmHost;

/// Exports `kernel_run`, calling `$run` (a function taking `&mut impl Runtime`) with the real
/// host. On other targets it expands to nothing, so kernel crates build natively for tests.
#[macro_export]
macro_rules! entrypoint {
    ($run:path) => {
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn kernel_run() {
            let mut host = $crate::WasmHost::new();
            $run(&mut host);
        }
    };
}
