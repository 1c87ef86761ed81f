//! The children of a directory: a crit-bit trie over step names.
//!
//! Names are compared as if padded with zero bytes (steps never contain one), so the trie's
//! left-to-right order is byte-wise order of the names and its shape depends only on the set of
//! names, never on the order they were added: the same directory always hashes the same.
//! Every inner node records how many leaves lie below it, which makes "the n-th child" a walk
//! from the root.

use std::sync::Arc;

use crate::node::{Dir, Link, Trie, TrieNode};
use crate::tree::{DurableError, Loader};

/// Bit `bit` of `key` (bit 0 is the most significant bit of byte 0), zero past the end.
pub(crate) fn bit_at(key: &[u8], bit: u16) -> bool {
    let byte = usize::from(bit / 8);
    key.get(byte).is_some_and(|b| b & (0x80 >> (bit % 8)) != 0)
}

/// The first bit at which two names differ, `None` if they are equal.
pub(crate) fn crit_bit(a: &[u8], b: &[u8]) -> Option<u16> {
    let n = a.len().max(b.len());
    (0..n).find_map(|i| {
        let x = a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
        (x != 0).then(|| (i * 8 + x.leading_zeros() as usize) as u16)
    })
}

fn leaf(step: &[u8], child: Link<Dir>) -> Link<TrieNode> {
    Link::Mem(Arc::new(TrieNode::new(Trie::Leaf { step: step.into(), child })))
}

/// The node behind `link`, made unique (copied if shared) so it can be edited; its cached hash
/// is dropped.
fn node_mut<'a>(loader: &mut Loader, link: &'a mut Link<TrieNode>) -> Result<&'a mut TrieNode, DurableError> {
    if let Link::Stored(h) = *link {
        *link = Link::Mem(loader.trie_by_hash(&h)?);
    }
    match link {
        Link::Mem(arc) => {
            let node = Arc::make_mut(arc);
            node.hash.take();
            Ok(node)
        }
        Link::Stored(h) => Err(DurableError::corrupt(h, "trie link did not load")),
    }
}

/// The child named `key`, if any.
pub(crate) fn get(loader: &mut Loader, root: &Link<TrieNode>, key: &[u8]) -> Result<Option<Link<Dir>>, DurableError> {
    let mut node = loader.trie(root)?;
    loop {
        let next = match &node.kind {
            Trie::Inner { bit, left, right, .. } => if bit_at(key, *bit) { right.clone() } else { left.clone() },
            Trie::Leaf { step, child } => return Ok((&**step == key).then(|| child.clone())),
        };
        node = loader.trie(&next)?;
    }
}

/// The name of the leaf a search for `key` ends at (the closest name, or `key` itself).
fn best_match(loader: &mut Loader, root: &Link<TrieNode>, key: &[u8]) -> Result<Box<[u8]>, DurableError> {
    let mut node = loader.trie(root)?;
    loop {
        let next = match &node.kind {
            Trie::Inner { bit, left, right, .. } => if bit_at(key, *bit) { right.clone() } else { left.clone() },
            Trie::Leaf { step, .. } => return Ok(step.clone()),
        };
        node = loader.trie(&next)?;
    }
}

/// Takes the child named `key` out of its leaf (leaving a placeholder that [`put`] must fill or
/// [`remove`] must drop), so the caller holds the only reference and can edit it in place.
pub(crate) fn take(loader: &mut Loader, slot: &mut Option<Link<TrieNode>>, key: &[u8]) -> Result<Option<Link<Dir>>, DurableError> {
    let Some(root) = slot else { return Ok(None) };
    if get(loader, root, key)?.is_none() {
        return Ok(None);
    }
    let mut link = root;
    loop {
        let node = node_mut(loader, link)?;
        match &mut node.kind {
            Trie::Inner { bit, left, right, .. } => link = if bit_at(key, *bit) { right } else { left },
            Trie::Leaf { child, .. } => {
                return Ok(Some(std::mem::replace(child, Link::Stored(crate::node::ZERO))));
            }
        }
    }
}

/// Sets the child named `key`, adding it if there is none.
pub(crate) fn put(loader: &mut Loader, slot: &mut Option<Link<TrieNode>>, key: &[u8], child: Link<Dir>) -> Result<(), DurableError> {
    let Some(root) = slot else {
        *slot = Some(leaf(key, child));
        return Ok(());
    };
    let best = best_match(loader, root, key)?;
    match crit_bit(&best, key) {
        None => {
            let mut link = root;
            loop {
                let node = node_mut(loader, link)?;
                match &mut node.kind {
                    Trie::Inner { bit, left, right, .. } => link = if bit_at(key, *bit) { right } else { left },
                    Trie::Leaf { child: c, .. } => {
                        *c = child;
                        return Ok(());
                    }
                }
            }
        }
        Some(crit) => insert_new(loader, root, key, child, crit),
    }
}

/// Adds a new leaf: below every inner node testing a bit before `crit`, a new inner node testing
/// `crit` takes the place of the subtree found there.
fn insert_new(loader: &mut Loader, root: &mut Link<TrieNode>, key: &[u8], child: Link<Dir>, crit: u16) -> Result<(), DurableError> {
    let mut link = root;
    loop {
        let here = loader.trie(link)?;
        let descend = matches!(here.kind, Trie::Inner { bit, .. } if bit < crit);
        if !descend {
            let count = here.count() + 1;
            drop(here);
            let old = std::mem::replace(link, Link::Stored(crate::node::ZERO));
            let new = leaf(key, child);
            let (left, right) = if bit_at(key, crit) { (old, new) } else { (new, old) };
            *link = Link::Mem(Arc::new(TrieNode::new(Trie::Inner { bit: crit, count, left, right })));
            return Ok(());
        }
        drop(here);
        let node = node_mut(loader, link)?;
        match &mut node.kind {
            Trie::Inner { bit, count, left, right } => {
                *count += 1;
                link = if bit_at(key, *bit) { right } else { left };
            }
            Trie::Leaf { .. } => return Err(DurableError::corrupt(&[0; 32], "trie changed during insertion")),
        }
    }
}

/// Removes the child named `key`, returning it.
pub(crate) fn remove(loader: &mut Loader, slot: &mut Option<Link<TrieNode>>, key: &[u8]) -> Result<Option<Link<Dir>>, DurableError> {
    let Some(root) = slot else { return Ok(None) };
    let Some(found) = get(loader, root, key)? else { return Ok(None) };
    if matches!(loader.trie(root)?.kind, Trie::Leaf { .. }) {
        *slot = None;
        return Ok(Some(found));
    }
    // `root` is an inner node above the leaf: walk down, decrementing counts, until the inner
    // node whose child on the key's side is the leaf; that node becomes its other child.
    let mut link = root;
    loop {
        let leaf_below = {
            let node = loader.trie(link)?;
            match &node.kind {
                Trie::Inner { bit, left, right, .. } => {
                    let next = if bit_at(key, *bit) { right } else { left };
                    matches!(loader.trie(next)?.kind, Trie::Leaf { .. })
                }
                Trie::Leaf { .. } => return Err(DurableError::corrupt(&[0; 32], "trie changed during removal")),
            }
        };
        if leaf_below {
            let node = node_mut(loader, link)?;
            let sibling = match &mut node.kind {
                Trie::Inner { bit, left, right, .. } => {
                    let other = if bit_at(key, *bit) { left } else { right };
                    std::mem::replace(other, Link::Stored(crate::node::ZERO))
                }
                Trie::Leaf { .. } => return Err(DurableError::corrupt(&[0; 32], "trie changed during removal")),
            };
            *link = sibling;
            return Ok(Some(found));
        }
        let node = node_mut(loader, link)?;
        match &mut node.kind {
            Trie::Inner { bit, count, left, right } => {
                *count -= 1;
                link = if bit_at(key, *bit) { right } else { left };
            }
            Trie::Leaf { .. } => return Err(DurableError::corrupt(&[0; 32], "trie changed during removal")),
        }
    }
}

/// The number of children.
pub(crate) fn count(loader: &mut Loader, root: &Link<TrieNode>) -> Result<u32, DurableError> {
    Ok(loader.trie(root)?.count())
}

/// The name of the `n`-th child in name order.
pub(crate) fn nth(loader: &mut Loader, root: &Link<TrieNode>, mut n: u32) -> Result<Option<Box<[u8]>>, DurableError> {
    let mut node = loader.trie(root)?;
    if n >= node.count() {
        return Ok(None);
    }
    loop {
        let (left, right) = match &node.kind {
            Trie::Leaf { step, .. } => return Ok(Some(step.clone())),
            Trie::Inner { left, right, .. } => (left.clone(), right.clone()),
        };
        let l = loader.trie(&left)?;
        if n < l.count() {
            node = l;
        } else {
            n -= l.count();
            node = loader.trie(&right)?;
        }
    }
}

/// Every child, in name order.
pub(crate) fn entries(loader: &mut Loader, root: &Link<TrieNode>) -> Result<Vec<(Box<[u8]>, Link<Dir>)>, DurableError> {
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(link) = stack.pop() {
        let node = loader.trie(&link)?;
        match &node.kind {
            Trie::Leaf { step, child } => out.push((step.clone(), child.clone())),
            Trie::Inner { left, right, .. } => {
                stack.push(right.clone());
                stack.push(left.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crit_bits_order_names_bytewise() {
        assert_eq!(crit_bit(b"a", b"a"), None);
        // "a" = 0x61, "b" = 0x62: they differ at bit 6.
        assert_eq!(crit_bit(b"a", b"b"), Some(6));
        // A prefix differs where the longer name has a non-zero byte.
        assert_eq!(crit_bit(b"a", b"ab"), Some(8 + 1));
        assert!(!bit_at(b"a", 9) && bit_at(b"ab", 9));
    }
}
