//! The tree against a plain map of keys to values: random operations must give the same
//! contents, and the root hash must depend only on the contents (not on the history), survive a
//! commit and reopening, and differ whenever the contents differ.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use pvm_durable::{AccessError, Key, MemStore, NodeKind, Tree};

type Model = BTreeMap<Vec<String>, Vec<u8>>;

const STEPS: &[&str] = &["a", "b", "ab", "c.d", "x-y", "_", "aa", "B"];

fn key_strategy() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(STEPS).prop_map(String::from), 1..4)
}

fn key(steps: &[String]) -> Key {
    Key::new(&format!("/{}", steps.join("/"))).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<String>, u32, Vec<u8>),
    Set(Vec<String>, Vec<u8>),
    Delete(Vec<String>),
    Copy(Vec<String>, Vec<String>),
    Move(Vec<String>, Vec<String>),
    Commit,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key_strategy(), prop_oneof![0u32..16, 0u32..1500], prop_oneof![prop::collection::vec(any::<u8>(), 0..8), prop::collection::vec(any::<u8>(), 0..1200)])
            .prop_map(|(k, o, d)| Op::Write(k, o, d)),
        3 => (key_strategy(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(k, d)| Op::Set(k, d)),
        2 => key_strategy().prop_map(Op::Delete),
        2 => (key_strategy(), key_strategy()).prop_map(|(a, b)| Op::Copy(a, b)),
        2 => (key_strategy(), key_strategy()).prop_map(|(a, b)| Op::Move(a, b)),
        1 => Just(Op::Commit),
    ]
}

fn under<'a>(m: &'a Model, k: &'a [String]) -> impl Iterator<Item = (&'a Vec<String>, &'a Vec<u8>)> + 'a {
    m.iter().filter(move |(mk, _)| mk.starts_with(k))
}

fn model_apply(m: &mut Model, op: &Op) -> Result<(), AccessError> {
    match op {
        Op::Write(k, off, data) => {
            let cur = m.get(k).cloned().unwrap_or_default();
            if *off as usize > cur.len() {
                return Err(AccessError::OutOfRange);
            }
            let mut v = cur;
            let end = *off as usize + data.len();
            if v.len() < end {
                v.resize(end, 0);
            }
            v[*off as usize..end].copy_from_slice(data);
            m.insert(k.clone(), v);
        }
        Op::Set(k, data) => {
            m.insert(k.clone(), data.clone());
        }
        Op::Delete(k) => m.retain(|mk, _| !mk.starts_with(k)),
        Op::Copy(from, to) | Op::Move(from, to) => {
            let src: Vec<(Vec<String>, Vec<u8>)> =
                under(m, from).map(|(k, v)| (k[from.len()..].to_vec(), v.clone())).collect();
            if src.is_empty() {
                return Err(AccessError::NotFound);
            }
            if matches!(op, Op::Move(..)) {
                m.retain(|mk, _| !mk.starts_with(from));
            }
            m.retain(|mk, _| !mk.starts_with(to));
            for (suffix, v) in src {
                let mut k = to.clone();
                k.extend(suffix);
                m.insert(k, v);
            }
        }
        Op::Commit => {}
    }
    Ok(())
}

fn tree_apply(t: &mut Tree, store: &MemStore, op: &Op) -> Result<(), AccessError> {
    match op {
        Op::Write(k, off, data) => t.write(&key(k), *off, data),
        Op::Set(k, data) => t.set_value(&key(k), data),
        Op::Delete(k) => Ok(t.delete(&key(k))?),
        Op::Copy(a, b) => t.copy(&key(a), &key(b)),
        Op::Move(a, b) => t.rename(&key(a), &key(b)),
        Op::Commit => {
            let (_, nodes) = t.commit();
            store.insert_all(nodes);
            Ok(())
        }
    }
}

fn contents(t: &mut Tree) -> Model {
    t.values_under(&Key::root())
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.as_str()[1..].split('/').map(String::from).collect(), v))
        .collect()
}

fn rebuilt_root(m: &Model) -> [u8; 32] {
    let mut t = Tree::empty(Arc::new(MemStore::new()));
    // Reverse order, so the history differs from the original tree's.
    for (k, v) in m.iter().rev() {
        t.set_value(&key(k), v).unwrap();
    }
    t.root_hash()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn tree_matches_model(ops in prop::collection::vec(op_strategy(), 1..40)) {
        let store = Arc::new(MemStore::new());
        let mut t = Tree::empty(store.clone());
        let mut m = Model::new();
        for op in &ops {
            let before = t.root_hash();
            let expected = model_apply(&mut m, op);
            let got = tree_apply(&mut t, &store, op);
            prop_assert_eq!(&got, &expected, "{:?}", op);
            if got.is_err() {
                prop_assert_eq!(t.root_hash(), before, "a refused operation changed the tree");
            }
        }
        prop_assert_eq!(contents(&mut t), m.clone());
        for (k, v) in &m {
            let kk = key(k);
            prop_assert_eq!(t.value_size(&kk).unwrap(), Some(v.len() as u32));
            prop_assert_eq!(t.read(&kk, 0, usize::MAX).unwrap(), v.clone());
            let has_children = m.keys().any(|o| o.len() > k.len() && o.starts_with(k));
            let kind = if has_children { NodeKind::ValueAndSubtree } else { NodeKind::Value };
            prop_assert_eq!(t.has(&kk).unwrap(), kind);
        }
        // The root hash is a function of the contents alone.
        let root = t.root_hash();
        prop_assert_eq!(root, rebuilt_root(&m));
        // And it survives a commit and reopening from the store.
        let (committed, nodes) = t.commit();
        prop_assert_eq!(committed, root);
        store.insert_all(nodes);
        let mut reopened = Tree::open(store.clone(), root);
        prop_assert_eq!(contents(&mut reopened), m);
    }

    #[test]
    fn listing_is_value_first_then_names_in_order(steps in prop::collection::btree_set(prop::sample::select(STEPS), 0..8), with_value in any::<bool>()) {
        let mut t = Tree::empty(Arc::new(MemStore::new()));
        let dir = Key::new("/d").unwrap();
        if with_value {
            t.set_value(&dir, b"v").unwrap();
        }
        for s in &steps {
            t.set_value(&dir.child(s.as_bytes()).unwrap(), b"x").unwrap();
        }
        let mut expected: Vec<Vec<u8>> = Vec::new();
        if with_value {
            expected.push(vec![]);
        }
        let mut names: Vec<&str> = steps.iter().copied().collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        expected.extend(names.iter().map(|s| s.as_bytes().to_vec()));
        prop_assert_eq!(t.list_size(&dir).unwrap(), expected.len() as u64);
        for (i, e) in expected.iter().enumerate() {
            let got = t.nth_key(&dir, i as u64).unwrap();
            prop_assert_eq!(got.as_ref(), Some(e));
        }
        prop_assert_eq!(t.nth_key(&dir, expected.len() as u64).unwrap(), None);
    }
}

#[test]
fn different_contents_hash_differently() {
    let store: Arc<MemStore> = Arc::new(MemStore::new());
    let mut a = Tree::empty(store.clone());
    let mut b = Tree::empty(store.clone());
    a.set_value(&Key::new("/x").unwrap(), b"").unwrap();
    // An empty value is not the same as no value.
    assert_ne!(a.root_hash(), b.root_hash());
    b.set_value(&Key::new("/x/y").unwrap(), b"").unwrap();
    assert_ne!(a.root_hash(), b.root_hash());
    assert_eq!(Tree::empty(store).root_hash(), [0u8; 32]);
}

#[test]
fn snapshots_restore_in_constant_time() {
    let mut t = Tree::empty(Arc::new(MemStore::new()));
    let k = Key::new("/k").unwrap();
    t.set_value(&k, b"before").unwrap();
    let snap = t.snapshot();
    let h = t.root_hash();
    t.write(&k, 0, b"AFTER!").unwrap();
    t.set_value(&Key::new("/other").unwrap(), b"1").unwrap();
    t.restore(snap);
    assert_eq!(t.read_value(&k).unwrap().unwrap(), b"before");
    assert_eq!(t.root_hash(), h);
}

#[test]
fn large_values_are_chunked_and_read_in_pieces() {
    let store = Arc::new(MemStore::new());
    let mut t = Tree::empty(store.clone());
    let k = Key::new("/big").unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    for (i, piece) in data.chunks(4096).enumerate() {
        t.write(&k, (i * 4096) as u32, piece).unwrap();
    }
    assert_eq!(t.read(&k, 1000, 4096).unwrap(), &data[1000..5096]);
    assert_eq!(t.read(&k, 99_000, 4096).unwrap(), &data[99_000..]);
    assert_eq!(t.read(&k, 100_000, 10).unwrap(), Vec::<u8>::new());
    assert_eq!(t.read(&k, 100_001, 10), Err(AccessError::OutOfRange));
    let (root, nodes) = t.commit();
    store.insert_all(nodes);
    let mut r = Tree::open(store.clone(), root);
    assert_eq!(r.read_value(&k).unwrap().unwrap(), data);
    // A small edit after reopening stores only the changed chunk and the value node.
    r.write(&k, 50_000, b"edit").unwrap();
    let (_, nodes) = r.commit();
    assert!(nodes.len() <= 6, "{} nodes written for a 4-byte edit", nodes.len());
}

#[test]
fn copy_and_move_share_structure() {
    let store = Arc::new(MemStore::new());
    let mut t = Tree::empty(store.clone());
    for i in 0..1000 {
        t.set_value(&Key::new(&format!("/src/k{i}")).unwrap(), &[i as u8; 40]).unwrap();
    }
    let (_, nodes) = t.commit();
    store.insert_all(nodes);
    t.copy(&Key::new("/src").unwrap(), &Key::new("/dst/deep/copy").unwrap()).unwrap();
    t.rename(&Key::new("/src").unwrap(), &Key::new("/moved").unwrap()).unwrap();
    let (_, nodes) = t.commit();
    // Only the directories on the two paths (and their tries) are new: nothing of the subtree.
    assert!(nodes.len() < 20, "{} nodes written for a copy and a move", nodes.len());
    assert_eq!(t.read_value(&Key::new("/dst/deep/copy/k7").unwrap()).unwrap().unwrap(), vec![7u8; 40]);
    assert_eq!(t.read_value(&Key::new("/moved/k999").unwrap()).unwrap().unwrap(), vec![(999 % 256) as u8; 40]);
    assert_eq!(t.has(&Key::new("/src").unwrap()).unwrap(), NodeKind::Missing);
}

#[test]
fn limits() {
    let mut t = Tree::empty(Arc::new(MemStore::new()));
    let k = Key::new("/v").unwrap();
    assert_eq!(t.write(&k, 1, b"x"), Err(AccessError::OutOfRange));
    assert_eq!(t.write(&k, 0, b""), Ok(()));
    assert_eq!(t.value_size(&k).unwrap(), Some(0));
    assert_eq!(t.read(&Key::new("/none").unwrap(), 0, 1), Err(AccessError::NotFound));
    assert_eq!(t.copy(&Key::new("/none").unwrap(), &k), Err(AccessError::NotFound));
}
