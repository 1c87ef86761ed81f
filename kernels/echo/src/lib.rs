//! The echo kernel of the seeds: it reads every input of the level and writes the payload of
//! each external message, unchanged, to the outbox. Sending it a valid outbox encoding (an
//! ABI-encoded batch of L1 calls) therefore makes the rollup perform that call on the L1.
#![no_std]

#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use kernel_sdk::{entrypoint, Runtime};
use protocol::inbox::TAG_EXTERNAL;

/// Echoes every non-empty external payload of the current level to the outbox.
pub fn run<R: Runtime>(host: &mut R) {
    while let Ok(Some(input)) = host.read_input() {
        if let Some((&TAG_EXTERNAL, payload)) = input.bytes.split_first() {
            if !payload.is_empty() {
                // A full outbox (-8) or an oversized payload is not fatal: the message is
                // simply not echoed.
                let _ = host.write_output(payload);
            }
        }
    }
}

entrypoint!(run);

#[cfg(test)]
mod tests {
    use super::*;
    use kernel_sdk::mock::MockHost;
    use std::vec;

    #[test]
    fn echoes_external_payloads_only() {
        let mut host = MockHost::new();
        host.push_level(
            &[protocol::Transfer { sender: protocol::Address::ZERO, value: protocol::Wei::ZERO, payload: vec![1, 2] }],
            &[vec![0xaa, 0xbb], vec![], vec![0xcc]],
        );
        let report = host.run_level(run);
        assert_eq!(report.outbox, vec![vec![0xaa, 0xbb], vec![0xcc]]);
    }
}
