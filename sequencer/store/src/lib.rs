//! A sequencer node's disk: RocksDB with one column family per kind of record.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | `"safety"`, `"decided"` | safety state, decided height |
//! | `records` | block hash | block record (block + parent certificate), decided or not |
//! | `heights` | height (u64 BE) | hash of the decided block at that height |
//! | `pending` | block hash | empty: the record is not decided yet |
//! | `certs` | height (u64 BE) | finality certificate |
//! | `admitted` | transaction hash | namespace (u64 BE) + payload of a transaction this node accepted and has not seen decided |
//!
//! A block is written once, when first accepted; deciding it only writes its height entry.
//! [`Store::apply`] writes everything one consensus step produced in a single atomic batch,
//! synced to disk (so no vote leaves before its safety state is durable). Every read decodes
//! through the consensus codec, so a corrupted record is an error, not a panic.
//!
//! Transactions the API accepted are written to `admitted` before the client hears "accepted"
//! (the write-ahead log, not synced: it survives a killed process, which is what a node restart
//! is) and leave it in the same atomic batch that decides the block carrying them, so a node
//! that restarts re-queues exactly what it promised and had not yet ordered.

use std::path::Path;
use std::sync::Arc;

use consensus::{BlockRecord, BlockSource, Effects, FinalityCert, Height, Restored, SafetyState, Scheme, WireContext};
use protocol::Hash32;
use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions, DB};

const META: &str = "meta";
const RECORDS: &str = "records";
const HEIGHTS: &str = "heights";
const PENDING: &str = "pending";
const CERTS: &str = "certs";
const ADMITTED: &str = "admitted";
const SAFETY_KEY: &[u8] = b"safety";
const DECIDED_KEY: &[u8] = b"decided";

/// How far back a restart looks for decided blocks that still lack a certificate.
pub const UNCERTIFIED_LOOKBACK: u64 = 10_000;

/// What went wrong with the disk.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed (disk full, permissions, corruption it detected).
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// A record does not decode: the data directory is corrupt or from another version.
    #[error("corrupt {what} record: {reason}")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// Decoder error.
        reason: String,
    },
    /// The data directory belongs to another chain (different genesis).
    #[error("the data directory holds genesis {found}, this configuration's genesis is {expected}: wrong data_dir or chain settings")]
    GenesisMismatch {
        /// Genesis hash on disk.
        found: Hash32,
        /// Genesis hash of the configuration.
        expected: Hash32,
    },
}

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what, reason: e.to_string() }
}

/// The node's RocksDB database. Cheap to clone; safe to share between tasks.
pub struct Store<S: Scheme> {
    db: Arc<DB>,
    ctx: WireContext,
    _scheme: std::marker::PhantomData<S>,
}

impl<S: Scheme> Clone for Store<S> {
    fn clone(&self) -> Self {
        Store { db: self.db.clone(), ctx: self.ctx, _scheme: std::marker::PhantomData }
    }
}

impl<S: Scheme> Store<S> {
    /// Opens (or creates) the database at `path`. A new database gets `genesis` at height 0;
    /// an existing one must have the same genesis.
    pub fn open(path: &Path, ctx: WireContext, genesis: &BlockRecord<S>) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_background_jobs(2);
        let cfs = [META, RECORDS, HEIGHTS, PENDING, CERTS, ADMITTED].map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Store { db: Arc::new(db), ctx, _scheme: std::marker::PhantomData };
        match store.block(0)? {
            Some(g) if g.block.hash() != genesis.block.hash() => {
                return Err(StoreError::GenesisMismatch { found: g.block.hash(), expected: genesis.block.hash() })
            }
            Some(_) => {}
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(store.cf(RECORDS), genesis.block.hash().0, genesis.to_bytes());
                batch.put_cf(store.cf(HEIGHTS), 0u64.to_be_bytes(), genesis.block.hash().0);
                batch.put_cf(store.cf(META), DECIDED_KEY, 0u64.to_be_bytes());
                let mut wo = WriteOptions::default();
                wo.set_sync(true);
                store.db.write_opt(batch, &wo)?;
            }
        }
        Ok(store)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("column families are created at open")
    }

    /// The decoding context (committee size, block limits).
    pub fn wire_context(&self) -> WireContext {
        self.ctx
    }

    /// Everything the consensus core needs to restart.
    pub fn restored(&self) -> Result<Restored<S>, StoreError> {
        let safety = match self.db.get_cf(self.cf(META), SAFETY_KEY)? {
            Some(b) => Some(SafetyState::from_bytes(&b, self.ctx.members).map_err(|e| corrupt("safety", e))?),
            None => None,
        };
        let decided = self.decided_height()?;
        let committed = self.block(decided)?.ok_or_else(|| corrupt("blocks", format!("decided block {decided} missing")))?;
        let mut pending = Vec::new();
        for item in self.db.iterator_cf(self.cf(PENDING), IteratorMode::Start) {
            let (k, _) = item?;
            let hash = Hash32(k.as_ref().try_into().map_err(|_| corrupt("pending", "key is not a 32-byte hash"))?);
            pending.push(self.record(&hash)?.ok_or_else(|| corrupt("pending", format!("record {hash} missing")))?);
        }
        let mut uncertified = Vec::new();
        for h in decided.saturating_sub(UNCERTIFIED_LOOKBACK).max(1)..=decided {
            if self.db.get_pinned_cf(self.cf(CERTS), h.to_be_bytes())?.is_none() {
                if let Some(rec) = self.block(h)? {
                    uncertified.push((h, rec.block.hash()));
                }
            }
        }
        Ok(Restored { safety, committed, pending, uncertified })
    }

    /// Makes one consensus step's effects durable, atomically and synced.
    pub fn apply(&self, fx: &Effects<S>) -> Result<(), StoreError> {
        self.apply_deciding(fx, &[])
    }

    /// [`Store::apply`], also forgetting the admitted transactions `decided_txs` (the hashes of
    /// the transactions of `fx.committed`) in the same batch.
    pub fn apply_deciding(&self, fx: &Effects<S>, decided_txs: &[Hash32]) -> Result<(), StoreError> {
        // Decided transactions come with decided blocks, which always need a sync.
        if !fx.needs_sync() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for h in decided_txs {
            batch.delete_cf(self.cf(ADMITTED), h.0);
        }
        if let Some(s) = &fx.safety {
            batch.put_cf(self.cf(META), SAFETY_KEY, s.to_bytes());
        }
        for rec in &fx.store {
            batch.put_cf(self.cf(RECORDS), rec.block.hash().0, rec.to_bytes());
            batch.put_cf(self.cf(PENDING), rec.block.hash().0, []);
        }
        if let Some(last) = fx.committed.last() {
            for rec in &fx.committed {
                let hash = rec.block.hash();
                // Every decided block was stored when accepted; write it only if it was not.
                if !fx.store.iter().any(|r| r.block.hash() == hash) && self.db.get_pinned_cf(self.cf(RECORDS), hash.0)?.is_none() {
                    batch.put_cf(self.cf(RECORDS), hash.0, rec.to_bytes());
                }
                batch.put_cf(self.cf(HEIGHTS), rec.block.height().to_be_bytes(), hash.0);
                batch.delete_cf(self.cf(PENDING), hash.0);
            }
            batch.put_cf(self.cf(META), DECIDED_KEY, last.block.height().to_be_bytes());
        }
        for b in &fx.abandoned {
            batch.delete_cf(self.cf(RECORDS), b.hash().0);
            batch.delete_cf(self.cf(PENDING), b.hash().0);
        }
        for c in &fx.certified {
            batch.put_cf(self.cf(CERTS), c.height.to_be_bytes(), c.to_bytes());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        if let Some(last) = fx.committed.last() {
            self.prune_pending(last.block.height())?;
        }
        Ok(())
    }

    /// Removes undecided records at or below the decided height (empty blocks on dead branches
    /// are not reported as abandoned).
    fn prune_pending(&self, decided: Height) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for item in self.db.iterator_cf(self.cf(PENDING), IteratorMode::Start) {
            let (k, _) = item?;
            // The height is at bytes 8..16 of the header, the record's first bytes.
            let height = match self.db.get_pinned_cf(self.cf(RECORDS), &k)? {
                Some(v) => v.get(8..16).map_or(0, |b| u64::from_be_bytes(b.try_into().expect("8 bytes"))),
                None => 0,
            };
            if height <= decided {
                batch.delete_cf(self.cf(PENDING), &k);
                batch.delete_cf(self.cf(RECORDS), &k);
            }
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// Records a transaction this node accepted, before the client is told (see the module
    /// documentation for why the write is not synced).
    pub fn admit(&self, hash: &Hash32, namespace: u64, payload: &[u8]) -> Result<(), StoreError> {
        let mut value = Vec::with_capacity(8 + payload.len());
        value.extend_from_slice(&namespace.to_be_bytes());
        value.extend_from_slice(payload);
        self.db.put_cf(self.cf(ADMITTED), hash.0, value)?;
        Ok(())
    }

    /// Forgets admitted transactions (found decided while reloading them).
    pub fn forget_admitted(&self, hashes: &[Hash32]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for h in hashes {
            batch.delete_cf(self.cf(ADMITTED), h.0);
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// The accepted transactions not yet seen decided, as `(hash, namespace, payload)`.
    pub fn admitted(&self) -> Result<Vec<(Hash32, u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(ADMITTED), IteratorMode::Start) {
            let (k, v) = item?;
            let hash = Hash32(k.as_ref().try_into().map_err(|_| corrupt("admitted", "key is not a 32-byte hash"))?);
            if v.len() < 8 {
                return Err(corrupt("admitted", "value shorter than its namespace"));
            }
            let namespace = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
            out.push((hash, namespace, v[8..].to_vec()));
        }
        Ok(out)
    }

    /// The highest decided height.
    pub fn decided_height(&self) -> Result<Height, StoreError> {
        match self.db.get_cf(self.cf(META), DECIDED_KEY)? {
            Some(b) => Ok(u64::from_be_bytes(b.as_slice().try_into().map_err(|_| corrupt("meta", "decided height is not 8 bytes"))?)),
            None => Ok(0),
        }
    }

    fn record(&self, hash: &Hash32) -> Result<Option<BlockRecord<S>>, StoreError> {
        match self.db.get_pinned_cf(self.cf(RECORDS), hash.0)? {
            Some(b) => Ok(Some(BlockRecord::from_bytes(&b, &self.ctx).map_err(|e| corrupt("records", e))?)),
            None => Ok(None),
        }
    }

    /// The hash of the decided block at `height`.
    pub fn hash_at(&self, height: Height) -> Result<Option<Hash32>, StoreError> {
        match self.db.get_pinned_cf(self.cf(HEIGHTS), height.to_be_bytes())? {
            Some(b) => Ok(Some(Hash32(b.as_ref().try_into().map_err(|_| corrupt("heights", "value is not a 32-byte hash"))?))),
            None => Ok(None),
        }
    }

    /// The decided block at `height`.
    pub fn block(&self, height: Height) -> Result<Option<BlockRecord<S>>, StoreError> {
        match self.hash_at(height)? {
            Some(hash) => Ok(Some(self.record(&hash)?.ok_or_else(|| corrupt("records", format!("decided block {height} missing")))?)),
            None => Ok(None),
        }
    }

    /// A decided or pending block by hash.
    pub fn block_by_hash(&self, hash: &Hash32) -> Result<Option<BlockRecord<S>>, StoreError> {
        self.record(hash)
    }

    /// The finality certificate of the decided block at `height`.
    pub fn certificate(&self, height: Height) -> Result<Option<FinalityCert<S>>, StoreError> {
        match self.db.get_pinned_cf(self.cf(CERTS), height.to_be_bytes())? {
            Some(b) => Ok(Some(FinalityCert::from_bytes(&b, self.ctx.members).map_err(|e| corrupt("certs", e))?)),
            None => Ok(None),
        }
    }
}

/// Serving peers' catch-up requests straight from disk (read errors read as "not here").
impl<S: Scheme> BlockSource<S> for Store<S> {
    fn block(&self, hash: &Hash32) -> Option<BlockRecord<S>> {
        self.block_by_hash(hash).ok().flatten()
    }
    fn certificate(&self, height: Height) -> Option<FinalityCert<S>> {
        Store::certificate(self, height).ok().flatten()
    }
    fn decided_height(&self) -> Height {
        Store::decided_height(self).unwrap_or(0)
    }
}
