//! Random host calls with random arguments (pointers in and out of bounds, keys valid and not,
//! sizes around every limit), run on the real host state and on a naive model written straight
//! from the specification in docs/pvm.md. Return codes, the kernel's memory, the outbox, the
//! inbox position and the durable contents must agree after every call, and nothing may panic.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use protocol::{Address, RollupMetadata};
use pvm_durable::{Key, MemStore, Tree};
use pvm_host::{GuestMemory, HostState, LevelInbox, PreimageMap, VecMemory};

const MEM: usize = 16 * 1024;
const KEY_A: u32 = 64;
const KEY_B: u32 = 512;

#[derive(Debug, Clone)]
enum Call {
    ReadInput { level: u32, id: u32, dst: u32, max: u32 },
    WriteOutput { src: u32, n: u32 },
    WriteDebug { src: u32, n: u32 },
    Has(Arg),
    Delete(Arg),
    Copy(Arg, Arg),
    Move(Arg, Arg),
    Read { key: Arg, offset: u32, dst: u32, n: u32 },
    Write { key: Arg, offset: u32, src: u32, n: u32 },
    ValueSize(Arg),
    ListSize(Arg),
    NthKey { key: Arg, index: i64, dst: u32, max: u32 },
    Metadata { dst: u32, max: u32 },
    Preimage { hash_at: u32, dst: u32, max: u32 },
}

/// A key argument: bytes placed at a slot, passed as (ptr, len) that may or may not match them.
#[derive(Debug, Clone)]
struct Arg {
    bytes: Vec<u8>,
    ptr: u32,
    len: u32,
}

fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    let step = prop::sample::select(vec!["a", "b", "ab", "readonly", "x.y", "k-1", "_"]);
    prop_oneof![
        8 => prop::collection::vec(step, 1..4).prop_map(|s| format!("/{}", s.join("/")).into_bytes()),
        1 => prop::sample::select(vec!["", "/", "a", "//a", "/a/", "/a b", "/readonly", "/é"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => (240usize..260).prop_map(|n| { let mut v = vec![b'/']; v.resize(n, b'z'); v }),
    ]
}

fn arg(slot: u32) -> impl Strategy<Value = Arg> {
    (key_bytes(), 0u8..10, any::<u32>()).prop_map(move |(bytes, mode, r)| {
        let len = bytes.len() as u32;
        match mode {
            0 => Arg { bytes, ptr: MEM as u32 - 1, len },         // runs off the end of memory
            1 => Arg { bytes, ptr: r, len },                      // anywhere
            2 => Arg { bytes, ptr: slot, len: len.saturating_sub(1) }, // truncated
            _ => Arg { bytes, ptr: slot, len },
        }
    })
}

fn addr() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => 1024u32..(MEM as u32 - 64),
        1 => (MEM as u32 - 8)..(MEM as u32 + 8),
        1 => any::<u32>(),
    ]
}

fn size() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..64, 2 => 4090u32..4100, 1 => any::<u32>()]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        3 => (addr(), addr(), addr(), size()).prop_map(|(level, id, dst, max)| Call::ReadInput { level, id, dst, max }),
        2 => (addr(), size()).prop_map(|(src, n)| Call::WriteOutput { src, n }),
        1 => (addr(), size()).prop_map(|(src, n)| Call::WriteDebug { src, n }),
        2 => arg(KEY_A).prop_map(Call::Has),
        1 => arg(KEY_A).prop_map(Call::Delete),
        2 => (arg(KEY_A), arg(KEY_B)).prop_map(|(a, b)| Call::Copy(a, b)),
        2 => (arg(KEY_A), arg(KEY_B)).prop_map(|(a, b)| Call::Move(a, b)),
        3 => (arg(KEY_A), prop_oneof![0u32..8, any::<u32>()], addr(), size()).prop_map(|(key, offset, dst, n)| Call::Read { key, offset, dst, n }),
        5 => (arg(KEY_A), prop_oneof![0u32..8, 4000u32..4200, any::<u32>()], addr(), size()).prop_map(|(key, offset, src, n)| Call::Write { key, offset, src, n }),
        1 => arg(KEY_A).prop_map(Call::ValueSize),
        1 => arg(KEY_A).prop_map(Call::ListSize),
        2 => (arg(KEY_A), prop_oneof![-2i64..6, any::<i64>()], addr(), prop_oneof![0u32..4, 0u32..300]).prop_map(|(key, index, dst, max)| Call::NthKey { key, index, dst, max }),
        1 => (addr(), prop_oneof![0u32..30, any::<u32>()]).prop_map(|(dst, max)| Call::Metadata { dst, max }),
        1 => (prop_oneof![Just(3000u32), addr()], addr(), size()).prop_map(|(hash_at, dst, max)| Call::Preimage { hash_at, dst, max }),
    ]
}

// ------------------------------------------------------------------------------------------
// The model: the specification, literally.

struct Model {
    mem: Vec<u8>,
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    inbox: Vec<Vec<u8>>,
    next: usize,
    outbox: Vec<Vec<u8>>,
    meta: [u8; 24],
    page: Vec<u8>,
    page_hash: [u8; 33],
}

fn in_mem(addr: u32, len: u64) -> bool {
    u64::from(addr) + len <= MEM as u64
}

fn valid_key(k: &[u8]) -> bool {
    k.first() == Some(&b'/')
        && k[1..].split(|&b| b == b'/').all(|s| !s.is_empty() && s.iter().all(|&b| b.is_ascii_alphanumeric() || b".-_".contains(&b)))
}

fn under(k: &[u8], other: &[u8]) -> bool {
    other == k || (other.starts_with(k) && other.get(k.len()) == Some(&b'/'))
}

impl Model {
    fn key(&self, a: &Arg) -> Result<Vec<u8>, i32> {
        if a.len > 250 {
            return Err(-1);
        }
        if !in_mem(a.ptr, a.len.into()) {
            return Err(-6);
        }
        let k = self.mem[a.ptr as usize..(a.ptr + a.len) as usize].to_vec();
        if valid_key(&k) { Ok(k) } else { Err(-2) }
    }

    fn put(&mut self, at: u32, data: &[u8]) -> bool {
        if !in_mem(at, data.len() as u64) {
            return false;
        }
        self.mem[at as usize..at as usize + data.len()].copy_from_slice(data);
        true
    }

    fn subtree(&self, k: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.values.iter().filter(|(o, _)| under(k, o)).map(|(o, v)| (o[k.len()..].to_vec(), v.clone())).collect()
    }

    fn entries(&self, k: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.values.contains_key(k) {
            out.push(vec![]);
        }
        let names: BTreeSet<Vec<u8>> = self
            .values
            .keys()
            .filter(|o| o.len() > k.len() && under(k, o))
            .map(|o| o[k.len() + 1..].split(|&b| b == b'/').next().unwrap_or_default().to_vec())
            .collect();
        out.extend(names);
        out
    }

    fn ro(k: &[u8]) -> bool {
        under(b"/readonly", k)
    }

    fn call(&mut self, c: &Call) -> i64 {
        macro_rules! key {
            ($a:expr) => {
                match self.key($a) {
                    Ok(k) => k,
                    Err(e) => return e.into(),
                }
            };
        }
        match c {
            Call::ReadInput { level, id, dst, max } => {
                let Some(m) = self.inbox.get(self.next).cloned() else { return 0 };
                let n = m.len().min(*max as usize);
                if !in_mem(*dst, n as u64) || !in_mem(*level, 4) || !in_mem(*id, 4) {
                    return -6;
                }
                self.put(*dst, &m[..n]);
                self.put(*level, &7u32.to_le_bytes());
                self.put(*id, &(self.next as u32).to_le_bytes());
                self.next += 1;
                n as i64
            }
            Call::WriteOutput { src, n } => {
                if *n > 4096 {
                    return -7;
                }
                if !in_mem(*src, (*n).into()) {
                    return -6;
                }
                if self.outbox.len() >= 100 {
                    return -8;
                }
                self.outbox.push(self.mem[*src as usize..(*src + *n) as usize].to_vec());
                0
            }
            Call::WriteDebug { .. } => 0,
            Call::Has(a) => {
                let k = key!(a);
                let v = self.values.contains_key(&k);
                let sub = self.values.keys().any(|o| o.len() > k.len() && under(&k, o));
                (v as i64) + 2 * (sub as i64)
            }
            Call::Delete(a) => {
                let k = key!(a);
                if Self::ro(&k) {
                    return -9;
                }
                self.values.retain(|o, _| !under(&k, o));
                0
            }
            Call::Copy(a, b) | Call::Move(a, b) => {
                let from = key!(a);
                let to = key!(b);
                let is_move = matches!(c, Call::Move(..));
                if Self::ro(&to) || (is_move && Self::ro(&from)) {
                    return -9;
                }
                let sub = self.subtree(&from);
                if sub.is_empty() {
                    return -3;
                }
                if is_move {
                    self.values.retain(|o, _| !under(&from, o));
                }
                self.values.retain(|o, _| !under(&to, o));
                for (suffix, v) in sub {
                    let mut k = to.clone();
                    k.extend(suffix);
                    self.values.insert(k, v);
                }
                0
            }
            Call::Read { key: a, offset, dst, n } => {
                let k = key!(a);
                let Some(v) = self.values.get(&k).cloned() else { return -3 };
                if *offset as usize > v.len() {
                    return -4;
                }
                let end = (*offset as usize + (*n as usize).min(4096)).min(v.len());
                let bytes = v[*offset as usize..end].to_vec();
                if !self.put(*dst, &bytes) {
                    return -6;
                }
                bytes.len() as i64
            }
            Call::Write { key: a, offset, src, n } => {
                let k = key!(a);
                if Self::ro(&k) {
                    return -9;
                }
                if *n > 4096 {
                    return -7;
                }
                if !in_mem(*src, (*n).into()) {
                    return -6;
                }
                let data = self.mem[*src as usize..(*src + *n) as usize].to_vec();
                let mut v = self.values.get(&k).cloned().unwrap_or_default();
                if *offset as usize > v.len() {
                    return -4;
                }
                if *offset as u64 + data.len() as u64 > i32::MAX as u64 {
                    return -5;
                }
                let end = *offset as usize + data.len();
                if v.len() < end {
                    v.resize(end, 0);
                }
                v[*offset as usize..end].copy_from_slice(&data);
                self.values.insert(k, v);
                0
            }
            Call::ValueSize(a) => {
                let k = key!(a);
                self.values.get(&k).map_or(-3, |v| v.len() as i64)
            }
            Call::ListSize(a) => {
                let k = key!(a);
                self.entries(&k).len() as i64
            }
            Call::NthKey { key: a, index, dst, max } => {
                let k = key!(a);
                let entries = self.entries(&k);
                if *index < 0 || *index as usize >= entries.len() {
                    return -3;
                }
                let name = &entries[*index as usize];
                let n = name.len().min(*max as usize);
                if !self.put(*dst, &name[..n].to_vec()) {
                    return -6;
                }
                n as i64
            }
            Call::Metadata { dst, max } => {
                let n = 24usize.min(*max as usize);
                let meta = self.meta;
                if !self.put(*dst, &meta[..n]) {
                    return -6;
                }
                n as i64
            }
            Call::Preimage { hash_at, dst, max } => {
                if !in_mem(*hash_at, 33) {
                    return -6;
                }
                let h = &self.mem[*hash_at as usize..*hash_at as usize + 33];
                if h[0] != 0 {
                    return -8;
                }
                // Only the one page the test provides is ever asked for (see the setup).
                assert_eq!(h, &self.page_hash[..], "the test only places the known hash");
                let page = self.page.clone();
                let n = page.len().min(*max as usize);
                if !self.put(*dst, &page[..n]) {
                    return -6;
                }
                n as i64
            }
        }
    }
}

fn run_real(h: &mut HostState, mem: &mut VecMemory, c: &Call) -> i64 {
    let r = match c {
        Call::ReadInput { level, id, dst, max } => h.read_input(mem, *level, *id, *dst, *max),
        Call::WriteOutput { src, n } => h.write_output(mem, *src, *n),
        Call::WriteDebug { src, n } => h.write_debug(mem, *src, *n),
        Call::Has(a) => h.store_has(mem, a.ptr, a.len),
        Call::Delete(a) => h.store_delete(mem, a.ptr, a.len),
        Call::Copy(a, b) => h.store_copy(mem, a.ptr, a.len, b.ptr, b.len),
        Call::Move(a, b) => h.store_move(mem, a.ptr, a.len, b.ptr, b.len),
        Call::Read { key, offset, dst, n } => h.store_read(mem, key.ptr, key.len, *offset, *dst, *n),
        Call::Write { key, offset, src, n } => h.store_write(mem, key.ptr, key.len, *offset, *src, *n),
        Call::ValueSize(a) => h.store_value_size(mem, a.ptr, a.len),
        Call::ListSize(a) => return h.store_list_size(mem, a.ptr, a.len).expect("no abort"),
        Call::NthKey { key, index, dst, max } => h.store_get_nth_key(mem, key.ptr, key.len, *index, *dst, *max),
        Call::Metadata { dst, max } => h.reveal_metadata(mem, *dst, *max),
        Call::Preimage { hash_at, dst, max } => h.reveal_preimage(mem, *hash_at, *dst, *max),
    };
    i64::from(r.expect("no abort: storage is in memory and the only hash asked for is known"))
}

fn place(mem: &mut Vec<u8>, c: &Call) {
    let mut put = |slot: u32, a: &Arg| {
        let n = a.bytes.len().min(400);
        mem[slot as usize..slot as usize + n].copy_from_slice(&a.bytes[..n]);
    };
    match c {
        Call::Has(a) | Call::Delete(a) | Call::ValueSize(a) | Call::ListSize(a) => put(KEY_A, a),
        Call::Read { key, .. } | Call::Write { key, .. } | Call::NthKey { key, .. } => put(KEY_A, key),
        Call::Copy(a, b) | Call::Move(a, b) => {
            put(KEY_A, a);
            put(KEY_B, b);
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn host_matches_specification(seed in prop::collection::vec(any::<u8>(), MEM), calls in prop::collection::vec(call(), 1..60)) {
        let mut page = protocol::RevealPage::Contents(b"a page".to_vec()).encode();
        page.resize(300, 7);
        let mut preimages = PreimageMap::default();
        let page_hash = preimages.add(page.clone());
        let meta = RollupMetadata { address: Address([0xab; 20]), origination_level: 42 };
        let inbox: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + 1000 * i as usize]).collect();

        let mut start = seed;
        start[3000..3033].copy_from_slice(&page_hash.0);
        let mut model = Model {
            mem: start.clone(), values: BTreeMap::new(), inbox: inbox.clone(), next: 0, outbox: vec![],
            meta: meta.encode(), page, page_hash: page_hash.0,
        };
        let mut mem = VecMemory(start);
        let mut host = HostState {
            durable: Tree::empty(Arc::new(MemStore::new())),
            inbox: LevelInbox { level: 7, messages: inbox, next: 0 },
            outbox: vec![],
            debug: Default::default(),
            preimages: Arc::new(preimages),
            metadata: meta,
        };
        for c in &calls {
            // Hashes other than the known one would abort (no such page): keep them out.
            if let Call::Preimage { hash_at, .. } = c {
                let at = *hash_at as usize;
                if in_mem(*hash_at, 33) && mem.0[at] == 0 && mem.0[at..at + 33] != page_hash.0 {
                    continue;
                }
            }
            place(&mut model.mem, c);
            place(&mut mem.0, c);
            let expected = model.call(c);
            let got = run_real(&mut host, &mut mem, c);
            prop_assert_eq!(got, expected, "{:?}", c);
            prop_assert!(mem.0 == model.mem, "memory differs after {:?}", c);
            prop_assert_eq!(host.inbox.next, model.next);
            prop_assert_eq!(&host.outbox, &model.outbox);
        }
        let durable: BTreeMap<Vec<u8>, Vec<u8>> = host.durable.values_under(&Key::root()).unwrap()
            .into_iter().map(|(k, v)| (k.as_bytes().to_vec(), v)).collect();
        prop_assert_eq!(durable, model.values);
    }
}

/// A host with nothing in it: no inbox, no preimages.
fn empty_host() -> HostState {
    HostState {
        durable: Tree::empty(Arc::new(MemStore::new())),
        inbox: LevelInbox::default(),
        outbox: vec![],
        debug: Default::default(),
        preimages: Arc::new(PreimageMap::default()),
        metadata: RollupMetadata { address: Address::ZERO, origination_level: 0 },
    }
}

#[test]
fn missing_preimage_aborts_instead_of_answering() {
    let mut host = empty_host();
    let mut mem = VecMemory(vec![0u8; 4096]);
    let r = host.reveal_preimage(&mut mem, 0, 100, 4096);
    assert!(matches!(r, Err(pvm_host::Abort::MissingPreimage(_))), "{r:?}");
    // The explicit-length form checks the length first.
    assert_eq!(host.reveal_preimage_sized(&mut mem, 0, 32, 100, 4096), Ok(-8));
    assert!(mem.contains(4096, 0) && !mem.contains(4096, 1));
}

#[test]
fn preimage_directory_checks_what_it_serves() {
    use pvm_host::{PreimageDir, PreimageSource};
    let dir = tempfile::tempdir().unwrap();
    let page = b"\x00\x00\x00\x00\x03abc".to_vec();
    let h = protocol::RevealHash::of(&page);
    let src = PreimageDir::new(dir.path());
    assert_eq!(src.preimage(&h), Ok(None));
    std::fs::write(dir.path().join(h.to_hex()), &page).unwrap();
    assert_eq!(src.preimage(&h), Ok(Some(page)));
    std::fs::write(dir.path().join(h.to_hex()), b"not it").unwrap();
    assert!(src.preimage(&h).unwrap_err().contains("does not hash to its name"));
}

#[test]
fn outbox_holds_100_messages_per_level_of_at_most_4096_bytes() {
    let mut host = empty_host();
    let mut mem = VecMemory(vec![1u8; 8192]);
    assert_eq!(host.write_output(&mut mem, 0, 4097), Ok(-7));
    assert_eq!(host.write_output(&mut mem, 4096, 4096), Ok(0));
    assert_eq!(host.write_output(&mut mem, 4097, 4096), Ok(-6));
    for _ in 1..100 {
        assert_eq!(host.write_output(&mut mem, 0, 10), Ok(0));
    }
    assert_eq!(host.write_output(&mut mem, 0, 10), Ok(-8));
    assert_eq!(host.outbox.len(), 100);
    assert_eq!(host.outbox[0].len(), 4096);
}
