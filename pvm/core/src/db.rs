//! The state directory: one RocksDB holding every committed node and one record per level.
//!
//! Column families:
//! - `nodes`: durable-storage nodes by hash (content-addressed, shared by all levels);
//! - `outbox_nodes`: inner nodes of the outbox tree by hash (`left ‖ right`);
//! - `outbox_messages`: a level's outbox messages, by level;
//! - `levels`: the [`LevelRecord`] of every level, by level (big-endian, so in order);
//! - `meta`: the head level and the parameters the state was created with.
//!
//! A level is committed with one atomic write batch, so a crash leaves the previous level as
//! the head and loses nothing already committed. Going back to a level rewrites the head and
//! drops the later records; their nodes stay (unreferenced, harmless).

use std::path::Path;
use std::sync::Arc;

use protocol::Hash32;
use pvm_durable::{NodeStore, StoreError};
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, DB};

const CF_NODES: &str = "nodes";
const CF_OUTBOX_NODES: &str = "outbox_nodes";
const CF_OUTBOX_MESSAGES: &str = "outbox_messages";
const CF_LEVELS: &str = "levels";
const CF_META: &str = "meta";
const META_HEAD: &[u8] = b"head";
const META_PARAMS: &[u8] = b"params";

/// The state after one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelRecord {
    /// The level.
    pub level: u32,
    /// `H(pvm_root ‖ outbox_root)`, what commitments carry.
    pub state_hash: Hash32,
    /// The PVM's root.
    pub pvm_root: Hash32,
    /// The outbox tree's root.
    pub outbox_root: Hash32,
    /// The durable storage's root.
    pub durable_root: Hash32,
    /// Ticks since origination.
    pub ticks: u64,
}

impl LevelRecord {
    const SIZE: usize = 4 + 32 * 4 + 8;

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        out.extend_from_slice(&self.level.to_be_bytes());
        for h in [&self.state_hash, &self.pvm_root, &self.outbox_root, &self.durable_root] {
            out.extend_from_slice(&h.0);
        }
        out.extend_from_slice(&self.ticks.to_be_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != Self::SIZE {
            return None;
        }
        let h = |i: usize| Hash32(b[4 + 32 * i..4 + 32 * (i + 1)].try_into().unwrap_or([0; 32]));
        Some(LevelRecord {
            level: u32::from_be_bytes(b[0..4].try_into().ok()?),
            state_hash: h(0),
            pvm_root: h(1),
            outbox_root: h(2),
            durable_root: h(3),
            ticks: u64::from_be_bytes(b[132..140].try_into().ok()?),
        })
    }
}

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// RocksDB failed.
    #[error("state database: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// The directory holds something unexpected.
    #[error("state database is corrupt: {0}")]
    Corrupt(String),
}

/// The RocksDB of a state directory.
pub(crate) struct StateDb {
    db: DB,
}

fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a rocksdb::ColumnFamily, DbError> {
    db.cf_handle(name).ok_or_else(|| DbError::Corrupt(format!("column family {name} missing")))
}

impl StateDb {
    pub fn open(dir: &Path) -> Result<Self, DbError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_NODES, CF_OUTBOX_NODES, CF_OUTBOX_MESSAGES, CF_LEVELS, CF_META]
            .into_iter()
            .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        Ok(StateDb { db: DB::open_cf_descriptors(&opts, dir, cfs)? })
    }

    pub fn head(&self) -> Result<Option<u32>, DbError> {
        match self.db.get_cf(cf(&self.db, CF_META)?, META_HEAD)? {
            None => Ok(None),
            Some(b) => Ok(Some(u32::from_be_bytes(b.as_slice().try_into().map_err(|_| DbError::Corrupt("head".into()))?))),
        }
    }

    pub fn params(&self) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.db.get_cf(cf(&self.db, CF_META)?, META_PARAMS)?)
    }

    pub fn record(&self, level: u32) -> Result<Option<LevelRecord>, DbError> {
        match self.db.get_cf(cf(&self.db, CF_LEVELS)?, level.to_be_bytes())? {
            None => Ok(None),
            Some(b) => LevelRecord::decode(&b).map(Some).ok_or_else(|| DbError::Corrupt(format!("record of level {level}"))),
        }
    }

    pub fn outbox_messages(&self, level: u32) -> Result<Vec<Vec<u8>>, DbError> {
        let Some(b) = self.db.get_cf(cf(&self.db, CF_OUTBOX_MESSAGES)?, level.to_be_bytes())? else { return Ok(vec![]) };
        decode_messages(&b).ok_or_else(|| DbError::Corrupt(format!("outbox of level {level}")))
    }

    pub fn outbox_node(&self, h: &[u8; 32]) -> Result<Option<([u8; 32], [u8; 32])>, DbError> {
        let Some(b) = self.db.get_cf(cf(&self.db, CF_OUTBOX_NODES)?, h)? else { return Ok(None) };
        if b.len() != 64 {
            return Err(DbError::Corrupt("outbox node".into()));
        }
        let (l, r) = b.split_at(32);
        Ok(Some((l.try_into().unwrap_or([0; 32]), r.try_into().unwrap_or([0; 32]))))
    }

    /// Writes a level: its durable nodes, outbox nodes and messages, its record, and the head.
    pub fn commit(&self, c: Commit<'_>) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        let nodes = cf(&self.db, CF_NODES)?;
        for (h, bytes) in c.durable_nodes {
            batch.put_cf(nodes, h, bytes);
        }
        let onodes = cf(&self.db, CF_OUTBOX_NODES)?;
        for (h, l, r) in c.outbox_nodes {
            let mut v = Vec::with_capacity(64);
            v.extend_from_slice(l);
            v.extend_from_slice(r);
            batch.put_cf(onodes, h, v);
        }
        if !c.outbox.is_empty() {
            batch.put_cf(cf(&self.db, CF_OUTBOX_MESSAGES)?, c.record.level.to_be_bytes(), encode_messages(c.outbox));
        }
        batch.put_cf(cf(&self.db, CF_LEVELS)?, c.record.level.to_be_bytes(), c.record.encode());
        batch.put_cf(cf(&self.db, CF_META)?, META_HEAD, c.record.level.to_be_bytes());
        if let Some(p) = c.params {
            batch.put_cf(cf(&self.db, CF_META)?, META_PARAMS, p);
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// Makes `level` the head, forgetting the records and outboxes of later levels.
    pub fn truncate_after(&self, level: u32, head: u32) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        for l in level.saturating_add(1)..=head {
            batch.delete_cf(cf(&self.db, CF_LEVELS)?, l.to_be_bytes());
            batch.delete_cf(cf(&self.db, CF_OUTBOX_MESSAGES)?, l.to_be_bytes());
        }
        batch.put_cf(cf(&self.db, CF_META)?, META_HEAD, level.to_be_bytes());
        self.db.write(batch)?;
        Ok(())
    }
}

/// One level's writes.
pub(crate) struct Commit<'a> {
    pub record: LevelRecord,
    pub durable_nodes: &'a [([u8; 32], Vec<u8>)],
    pub outbox_nodes: &'a [([u8; 32], [u8; 32], [u8; 32])],
    pub outbox: &'a [Vec<u8>],
    pub params: Option<&'a [u8]>,
}

fn encode_messages(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(msgs.len() as u32).to_be_bytes());
    for m in msgs {
        out.extend_from_slice(&(m.len() as u32).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

fn decode_messages(mut b: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut take = |n: usize| -> Option<&[u8]> {
        let (h, t) = (b.get(..n)?, b.get(n..)?);
        b = t;
        Some(h)
    };
    let count = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
    let mut out = Vec::with_capacity(count.min(128));
    for _ in 0..count {
        let len = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        out.push(take(len)?.to_vec());
    }
    Some(out)
}

/// The durable storage's view of the database.
pub(crate) struct DbNodes(pub Arc<StateDb>);

impl NodeStore for DbNodes {
    fn get(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let db = &self.0.db;
        let cf = cf(db, CF_NODES).map_err(|e| StoreError(e.to_string()))?;
        db.get_cf(cf, hash).map_err(|e| StoreError(e.to_string()))
    }
}
