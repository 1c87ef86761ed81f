//! The node's own persistent state, beside the PVM's: where it stands in the L1 event stream,
//! the delayed messages it has seen, and the commitment events (from which the commitment
//! tracker is rebuilt after a restart or a reorg).

use std::path::Path;

use bridge::api::{EventEnvelope, RollupEvent};
use protocol::{Address, Transfer, Wei};
use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, DB};
use serde::{Deserialize, Serialize};

const CF_META: &str = "meta";
const CF_CURSORS: &str = "cursors";
const CF_DELAYED: &str = "delayed";
const CF_EVENTS: &str = "events";
const META_CURSOR: &[u8] = b"cursor";
/// Cursors kept for rewinding on a reorg.
const CURSOR_HISTORY: usize = 512;

/// Where the node stands in the L1 event stream, and what it had applied at that point.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cursor {
    /// Last L1 block fully applied.
    pub l1_block: u64,
    /// Its hash (the reorg check of the next page).
    pub l1_hash: alloy::primitives::B256,
    /// The last L1-confirmed level at that point.
    pub level: u32,
    /// Delayed messages seen at that point.
    pub delayed_count: u64,
}

/// Storage failures (RocksDB, or corrupt records).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("node store: {0}")]
    Db(#[from] rocksdb::Error),
    /// A record does not decode.
    #[error("node store: corrupt record: {0}")]
    Corrupt(String),
}

/// The node's RocksDB.
pub struct NodeStore {
    db: DB,
}

impl NodeStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_META, CF_CURSORS, CF_DELAYED, CF_EVENTS].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        Ok(NodeStore { db: DB::open_cf_descriptors(&opts, dir, cfs)? })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column family created at open")
    }

    /// The last cursor, if any page was applied.
    pub fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        match self.db.get_cf(self.cf(CF_META), META_CURSOR)? {
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    /// Records that a page up to `cursor` is applied, with its delayed messages and
    /// commitment events, atomically.
    pub fn commit_page(&self, cursor: &Cursor, delayed: &[(u64, Transfer)], events: &[EventEnvelope]) -> Result<(), StoreError> {
        let mut b = WriteBatch::default();
        for (i, t) in delayed {
            b.put_cf(self.cf(CF_DELAYED), i.to_be_bytes(), encode_transfer(t));
        }
        for e in events {
            let key = [e.l1_block.to_be_bytes(), e.log_index.to_be_bytes()].concat();
            b.put_cf(self.cf(CF_EVENTS), key, serde_json::to_vec(e).expect("serialisable"));
        }
        let c = serde_json::to_vec(cursor).expect("serialisable");
        b.put_cf(self.cf(CF_CURSORS), cursor.l1_block.to_be_bytes(), &c);
        b.put_cf(self.cf(CF_META), META_CURSOR, &c);
        self.db.write(b)?;
        // Keep a bounded history of cursors.
        let keys: Vec<Box<[u8]>> =
            self.db.iterator_cf(self.cf(CF_CURSORS), IteratorMode::Start).filter_map(Result::ok).map(|(k, _)| k).collect();
        if keys.len() > CURSOR_HISTORY {
            let mut b = WriteBatch::default();
            for k in &keys[..keys.len() - CURSOR_HISTORY] {
                b.delete_cf(self.cf(CF_CURSORS), k);
            }
            self.db.write(b)?;
        }
        Ok(())
    }

    /// The newest cursor strictly before `l1_block` (to rewind to on a reorg).
    pub fn cursor_before(&self, l1_block: u64) -> Result<Option<Cursor>, StoreError> {
        let it = self.db.iterator_cf(
            self.cf(CF_CURSORS),
            IteratorMode::From(&l1_block.saturating_sub(1).to_be_bytes(), rocksdb::Direction::Reverse),
        );
        for item in it {
            let (k, v) = item?;
            let block = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| StoreError::Corrupt("cursor key".into()))?);
            if block < l1_block {
                return serde_json::from_slice(&v).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()));
            }
        }
        Ok(None)
    }

    /// Forgets everything after `cursor` (a reorg) and makes it current.
    pub fn rewind(&self, cursor: &Cursor) -> Result<(), StoreError> {
        let mut b = WriteBatch::default();
        b.delete_range_cf(self.cf(CF_DELAYED), &cursor.delayed_count.to_be_bytes()[..], &[0xff; 9][..]);
        b.delete_range_cf(self.cf(CF_EVENTS), &(cursor.l1_block + 1).to_be_bytes()[..], &[0xff; 17][..]);
        b.delete_range_cf(self.cf(CF_CURSORS), &(cursor.l1_block + 1).to_be_bytes()[..], &[0xff; 9][..]);
        b.put_cf(self.cf(CF_META), META_CURSOR, serde_json::to_vec(cursor).expect("serialisable"));
        self.db.write(b)?;
        Ok(())
    }

    /// Delayed message `index`.
    pub fn delayed(&self, index: u64) -> Result<Option<Transfer>, StoreError> {
        match self.db.get_cf(self.cf(CF_DELAYED), index.to_be_bytes())? {
            Some(b) => decode_transfer(&b).map(Some),
            None => Ok(None),
        }
    }

    /// Every stored commitment event, in L1 order.
    pub fn events(&self) -> Result<Vec<EventEnvelope>, StoreError> {
        self.db
            .iterator_cf(self.cf(CF_EVENTS), IteratorMode::Start)
            .map(|item| {
                let (_, v) = item?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}

/// Whether an event matters to the node's [`crate::commitments::L1View`] (and is therefore
/// stored, to rebuild it after a restart or a reorg).
pub fn is_tracked_event(e: &RollupEvent) -> bool {
    matches!(
        e,
        RollupEvent::CommitmentPublished { .. }
            | RollupEvent::CommitmentConflict { .. }
            | RollupEvent::CommitmentCemented { .. }
            | RollupEvent::CommitmentRemoved { .. }
            | RollupEvent::StakeRecovered { .. }
            | RollupEvent::StakerSlashed { .. }
            | RollupEvent::OutboxMessageExecuted { .. }
    )
}

fn encode_transfer(t: &Transfer) -> Vec<u8> {
    let mut out = Vec::with_capacity(52 + t.payload.len());
    out.extend_from_slice(&t.sender.0);
    out.extend_from_slice(&t.value.0);
    out.extend_from_slice(&t.payload);
    out
}

fn decode_transfer(b: &[u8]) -> Result<Transfer, StoreError> {
    if b.len() < 52 {
        return Err(StoreError::Corrupt("delayed message record too short".into()));
    }
    let mut sender = [0u8; 20];
    sender.copy_from_slice(&b[..20]);
    let mut value = [0u8; 32];
    value.copy_from_slice(&b[20..52]);
    Ok(Transfer { sender: Address(sender), value: Wei(value), payload: b[52..].to_vec() })
}
