//! The one binary Merkle rule of the protocol (keccak-256), used for transaction roots, level
//! records, outbox messages and the outbox tree, so the L1 verifies every proof with one routine.
//!
//! Leaves are 32-byte hashes chosen by the caller. A list of `count` leaves is padded with zero
//! leaves to the next power of two; an internal node is `keccak256(left || right)`; the root of an
//! empty list is zero and the root of one leaf is that leaf. The count is always committed next to
//! the root, so the depth of a proof is `ceil(log2(count))`.

use alloc::vec::Vec;

use crate::hash::keccak256_concat;

/// The parent of two nodes.
pub fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    keccak256_concat(&[left, right])
}

/// The root of an all-zero subtree of the given height (`zero_subtree(0)` is the zero leaf).
pub fn zero_subtree(height: usize) -> [u8; 32] {
    let mut z = [0u8; 32];
    for _ in 0..height {
        z = node(&z, &z);
    }
    z
}

/// Proof length for a list of `count` leaves: `ceil(log2(count))`, 0 for 0 or 1 leaf.
pub fn depth(count: usize) -> usize {
    if count <= 1 {
        0
    } else {
        (usize::BITS - (count - 1).leading_zeros()) as usize
    }
}

/// The Merkle root of `leaves`.
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.is_empty() {
        return [0u8; 32];
    }
    let mut layer: Vec<[u8; 32]> = leaves.to_vec();
    let mut zero = [0u8; 32];
    while layer.len() > 1 {
        if layer.len() % 2 == 1 {
            layer.push(zero);
        }
        layer = layer.chunks_exact(2).map(|p| node(&p[0], &p[1])).collect();
        zero = node(&zero, &zero);
    }
    layer[0]
}

/// The sibling path of leaf `index`, bottom-up, or `None` if `index` is out of range.
pub fn proof(leaves: &[[u8; 32]], index: usize) -> Option<Vec<[u8; 32]>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::with_capacity(depth(leaves.len()));
    let mut layer: Vec<[u8; 32]> = leaves.to_vec();
    let mut zero = [0u8; 32];
    let mut i = index;
    while layer.len() > 1 {
        if layer.len() % 2 == 1 {
            layer.push(zero);
        }
        path.push(layer[i ^ 1]);
        layer = layer.chunks_exact(2).map(|p| node(&p[0], &p[1])).collect();
        zero = node(&zero, &zero);
        i /= 2;
    }
    Some(path)
}

/// The root implied by `leaf` at `index` and its sibling `path` (bottom-up).
pub fn root_from_path(leaf: &[u8; 32], index: u64, path: &[[u8; 32]]) -> [u8; 32] {
    let mut acc = *leaf;
    for (h, sib) in path.iter().enumerate() {
        acc = if (index >> h) & 1 == 0 { node(&acc, sib) } else { node(sib, &acc) };
    }
    acc
}

/// Checks that `leaf` is leaf `index` of a list of `count` leaves with root `root`.
pub fn verify(leaf: &[u8; 32], index: usize, count: usize, path: &[[u8; 32]], root: &[u8; 32]) -> bool {
    index < count && path.len() == depth(count) && root_from_path(leaf, index as u64, path) == *root
}
