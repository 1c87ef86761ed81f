//! The outbox tree of docs/protocol.md section 3.1, persisted: a sparse Merkle tree of fixed
//! depth whose inner nodes are stored by hash, so every level's root stays readable and proofs
//! can be made against any committed state.

use protocol::outbox::{level_messages_root, slot_index, slot_leaf, OUTBOX_TREE_DEPTH};

use crate::db::{DbError, StateDb};

type H = [u8; 32];

/// Zero subtrees, and the walk/update logic; nodes come from the state database.
pub(crate) struct OutboxTree {
    /// `zeros[h]`: the root of an empty subtree of height `h`.
    zeros: Vec<H>,
}

/// New inner nodes of an update: `(hash, left, right)`.
pub(crate) type NewNodes = Vec<(H, H, H)>;

impl OutboxTree {
    pub fn new() -> Self {
        let zeros = (0..=OUTBOX_TREE_DEPTH).map(protocol::merkle::zero_subtree).collect();
        OutboxTree { zeros }
    }

    /// The root of the empty outbox.
    pub fn empty_root(&self) -> H {
        self.zeros[OUTBOX_TREE_DEPTH]
    }

    fn children(&self, db: &StateDb, height: usize, node: &H) -> Result<(H, H), DbError> {
        if *node == self.zeros[height] {
            return Ok((self.zeros[height - 1], self.zeros[height - 1]));
        }
        db.outbox_node(node)?.ok_or_else(|| DbError::Corrupt("an outbox tree node is missing".into()))
    }

    /// The leaf of `level`'s slot under `root`, and its sibling path (bottom-up).
    pub fn slot_path(&self, db: &StateDb, root: &H, level: u32) -> Result<(H, Vec<H>), DbError> {
        let slot = slot_index(level);
        let mut node = *root;
        let mut siblings = Vec::with_capacity(OUTBOX_TREE_DEPTH);
        for height in (1..=OUTBOX_TREE_DEPTH).rev() {
            let (l, r) = self.children(db, height, &node)?;
            if (slot >> (height - 1)) & 1 == 0 {
                siblings.push(r);
                node = l;
            } else {
                siblings.push(l);
                node = r;
            }
        }
        siblings.reverse();
        Ok((node, siblings))
    }

    /// Records `level`'s messages in its slot (overwriting the level 2^20 before it, or zero if
    /// it wrote none), returning the new root and the inner nodes to store.
    pub fn set_level(&self, db: &StateDb, root: &H, level: u32, messages: &[Vec<u8>]) -> Result<(H, NewNodes), DbError> {
        let leaf = if messages.is_empty() {
            [0u8; 32]
        } else {
            slot_leaf(level, messages.len() as u32, &level_messages_root(messages))
        };
        let (old, path) = self.slot_path(db, root, level)?;
        if old == leaf {
            return Ok((*root, vec![]));
        }
        let slot = slot_index(level);
        let mut acc = leaf;
        let mut nodes = Vec::new();
        for (h, sib) in path.iter().enumerate() {
            let (l, r) = if (slot >> h) & 1 == 0 { (acc, *sib) } else { (*sib, acc) };
            acc = protocol::merkle::node(&l, &r);
            if acc != self.zeros[h + 1] {
                nodes.push((acc, l, r));
            }
        }
        Ok((acc, nodes))
    }
}
