//! What the anvil tests of this crate share: a deterministic generator and a funded provider.

#![allow(dead_code)]

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::providers::Provider;
use l1_bindings::toolchain;

/// splitmix64: a small deterministic generator, so a failure reproduces from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    pub fn hash(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for c in out.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_be_bytes());
        }
        out
    }
}

/// A fresh anvil (the pinned binary) and a provider signing with its first account. Keep the
/// instance alive as long as the provider is used.
pub fn anvil() -> (AnvilInstance, impl Provider + Clone) {
    let anvil = Anvil::at(toolchain::anvil()).spawn();
    let provider = l1_bindings::connect(anvil.endpoint_url(), anvil.keys()[0].clone().into());
    (anvil, provider)
}
