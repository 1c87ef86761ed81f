//! A counter kept in durable storage at `/counter` (u64, big-endian): every external message
//! adds one, and the kernel logs the new value. State survives across `kernel_run`s and
//! levels only through the durable storage, which is what this kernel shows.
#![no_std]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use kernel_sdk::{entrypoint, Runtime};
use protocol::inbox::TAG_EXTERNAL;

/// Where the count lives.
pub const COUNTER: &str = "/counter";

/// The count in `host`'s durable storage (0 before the first message).
pub fn count<R: Runtime>(host: &mut R) -> u64 {
    let mut b = [0u8; 8];
    match host.store_read_into(COUNTER, 0, &mut b) {
        Ok(8) => u64::from_be_bytes(b),
        _ => 0,
    }
}

/// Adds one per external message of the level.
pub fn run<R: Runtime>(host: &mut R) {
    let mut n = count(host);
    let mut changed = false;
    while let Ok(Some(input)) = host.read_input() {
        if input.bytes.first() == Some(&TAG_EXTERNAL) {
            n += 1;
            changed = true;
        }
    }
    if changed && host.store_write(COUNTER, 0, &n.to_be_bytes()).is_ok() {
        host.write_debug(alloc::format!("counter = {n}").as_bytes());
    }
}

entrypoint!(run);

#[cfg(test)]
mod tests {
    use super::*;
    use kernel_sdk::mock::MockHost;
    use std::vec;

    #[test]
    fn counts_external_messages_across_levels() {
        let mut host = MockHost::new();
        host.push_level_externals(&[vec![1], vec![2]]);
        host.push_level_externals(&[]);
        host.push_level_externals(&[vec![3]]);
        let r = host.run_level(run);
        assert_eq!(r.debug, vec![b"counter = 2".to_vec()]);
        assert!(host.run_level(run).debug.is_empty());
        assert_eq!(host.run_level(run).debug, vec![b"counter = 3".to_vec()]);
        assert_eq!(host.value(COUNTER), Some(3u64.to_be_bytes().to_vec()));
    }
}
