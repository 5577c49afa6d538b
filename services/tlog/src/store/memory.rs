//! The in-memory backend of [`LogStore`] (feature `memory-store`, for tests
//! only; never in the binary). It keeps the contract of the SQL backends
//! (one lock makes every write atomic and every read see committed state;
//! the same uniqueness rules; the same refusals of replication, like SQLite)
//! and adds **fault hooks**: a test can make the next `integrate` or
//! `store_checkpoint` fail before anything is written ([`Fault::Fail`]), or
//! write everything and then report a failure ([`Fault::PersistThenFail`]:
//! a commit whose acknowledgement was lost). The engine's fault table runs
//! both against the sequencer.
//!
//! Stores are shared by name within a process ([`MemoryStore::named`],
//! `memory:NAME` for [`super::Store::connect`]): dropping a `Log` and
//! opening another on the same name is a restart with the data kept.

use super::{Batch, Lease, LogRow, LogStore, StoredCheckpoint, StoredEntry};
use crate::{Error, LeafIndex, TreeSize};
use sigstead_merkle::{Hash, NodeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// A write the fault hooks can interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Integrate,
    StoreCheckpoint,
}

/// What an interrupted write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing is written; the caller gets a lost-connection error.
    Fail,
    /// Everything is written, then the caller gets a lost-connection error.
    PersistThenFail,
}

type Hook = Arc<dyn Fn(Write) -> Option<Fault> + Send + Sync>;

/// An in-memory log database; clones share it.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    hook: Mutex<Option<Hook>>,
}

#[derive(Default)]
struct State {
    migrated: bool,
    logs: Vec<MemLog>,
}

struct MemLog {
    name: String,
    row: LogRow,
    entries: BTreeMap<u64, StoredEntry>,
    by_hash: HashMap<Hash, u64>,
    nodes: HashMap<NodeId, Hash>,
    keys: BTreeSet<(String, u64)>,
    checkpoints: BTreeMap<u64, (StoredCheckpoint, i64)>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// A new store nobody else shares.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store of that name in this process, created on first use.
    pub fn named(name: &str) -> Self {
        static STORES: OnceLock<Mutex<HashMap<String, MemoryStore>>> = OnceLock::new();
        let mut stores = STORES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        stores.entry(name.to_owned()).or_default().clone()
    }

    /// Installs the fault hook: consulted before every `integrate` and
    /// `store_checkpoint`; `None` lets the write through.
    pub fn inject(&self, hook: impl Fn(Write) -> Option<Fault> + Send + Sync + 'static) {
        *self.inner.hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(hook));
    }

    /// Removes the fault hook.
    pub fn clear_faults(&self) {
        *self.inner.hook.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fault(&self, write: Write) -> Option<Fault> {
        let hook = self.inner.hook.lock().unwrap_or_else(|p| p.into_inner()).clone();
        hook.and_then(|h| h(write))
    }
}

fn lost_connection(write: Write) -> Error {
    Error::Database(sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        format!("injected storage fault during {write:?}"),
    )))
}

impl State {
    fn log(&self, log_id: i16) -> Result<&MemLog, Error> {
        usize::try_from(log_id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.logs.get(i))
            .ok_or_else(|| Error::Corrupt(format!("no log {log_id}")))
    }
    fn log_mut(&mut self, log_id: i16) -> Result<&mut MemLog, Error> {
        usize::try_from(log_id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.logs.get_mut(i))
            .ok_or_else(|| Error::Corrupt(format!("no log {log_id}")))
    }
    fn schema(&self) -> Result<(), Error> {
        if self.migrated {
            Ok(())
        } else {
            Err(super::no_schema())
        }
    }
}

impl MemLog {
    /// Checks what the SQL backends' keys would refuse, before any change.
    fn check_batch(&self, batch: &Batch) -> Result<(), Error> {
        let mut hashes = BTreeSet::new();
        for e in &batch.entries {
            if self.entries.contains_key(&e.leaf_index.0) || self.by_hash.contains_key(&e.leaf_hash) {
                return Err(Error::Corrupt(format!("leaf {} is already stored", e.leaf_index)));
            }
            if !hashes.insert(e.leaf_hash) {
                return Err(Error::Corrupt("a leaf hash appears twice in one batch".into()));
            }
        }
        if let Some((id, _)) = batch.nodes.iter().find(|(id, _)| self.nodes.contains_key(id)) {
            return Err(Error::Corrupt(format!("node {id:?} is already stored")));
        }
        Ok(())
    }

    fn apply(&mut self, new_size: TreeSize, batch: &Batch) {
        for e in &batch.entries {
            self.by_hash.insert(e.leaf_hash, e.leaf_index.0);
            for k in &e.index_keys {
                self.keys.insert((k.clone(), e.leaf_index.0));
            }
            self.entries.insert(
                e.leaf_index.0,
                StoredEntry {
                    leaf_index: e.leaf_index,
                    leaf_hash: e.leaf_hash,
                    body: e.body.clone(),
                    integrated_time: e.integrated_time,
                    extra_data: e.extra_data.clone(),
                },
            );
        }
        self.nodes.extend(batch.nodes.iter().copied());
        self.row.tree_size = new_size;
    }

    fn key_range(&self, key: &str, below: u64) -> impl DoubleEndedIterator<Item = u64> + '_ {
        self.keys.range((key.to_owned(), 0)..(key.to_owned(), below)).map(|(_, i)| *i)
    }
}

impl LogStore for MemoryStore {
    async fn migrate(&self) -> Result<(), Error> {
        self.state().migrated = true;
        Ok(())
    }

    async fn applied_migrations(&self) -> Result<(Vec<i64>, Vec<i64>), Error> {
        self.state().schema()?;
        let versions = super::sqlite::MIGRATIONS.versions();
        Ok((versions.clone(), versions))
    }

    async fn load_log(&self, name: &str) -> Result<Option<LogRow>, Error> {
        let state = self.state();
        state.schema()?;
        Ok(state.logs.iter().find(|l| l.name == name).map(|l| l.row))
    }

    async fn create_log(&self, name: &str, tree_id: std::num::NonZeroI64, now: i64) -> Result<LogRow, Error> {
        let mut state = self.state();
        state.schema()?;
        if let Some(l) = state.logs.iter().find(|l| l.name == name) {
            return Ok(l.row);
        }
        let log_id = i16::try_from(state.logs.len() + 1).map_err(|_| Error::Corrupt("too many logs".into()))?;
        let row = LogRow { log_id, tree_id, tree_size: TreeSize(0), created_at: now };
        state.logs.push(MemLog {
            name: name.to_owned(),
            row,
            entries: BTreeMap::new(),
            by_hash: HashMap::new(),
            nodes: HashMap::new(),
            keys: BTreeSet::new(),
            checkpoints: BTreeMap::new(),
        });
        Ok(row)
    }

    async fn latest_checkpoint_with_time(&self, log_id: i16) -> Result<Option<(StoredCheckpoint, i64)>, Error> {
        Ok(self.state().log(log_id)?.checkpoints.last_key_value().map(|(_, v)| v.clone()))
    }

    async fn store_checkpoint(
        &self,
        log_id: i16,
        cp: &StoredCheckpoint,
        now: i64,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        if fence.is_some() {
            return Err(super::single_process());
        }
        let fault = self.fault(Write::StoreCheckpoint);
        if fault == Some(Fault::Fail) {
            return Err(lost_connection(Write::StoreCheckpoint));
        }
        {
            let mut state = self.state();
            let log = state.log_mut(log_id)?;
            let rows = match log.checkpoints.get(&cp.tree_size.0) {
                Some((old, _)) if old.root_hash != cp.root_hash => 0,
                _ => {
                    log.checkpoints.insert(cp.tree_size.0, (cp.clone(), now));
                    1
                }
            };
            super::checkpoint_written(rows, cp)?;
        }
        match fault {
            Some(Fault::PersistThenFail) => Err(lost_connection(Write::StoreCheckpoint)),
            _ => Ok(()),
        }
    }

    async fn nodes(&self, log_id: i16, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        Ok(ids.iter().filter_map(|id| log.nodes.get(id).map(|h| (*id, *h))).collect())
    }

    async fn find_leaves(&self, log_id: i16, hashes: &[Hash]) -> Result<HashMap<Hash, LeafIndex>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        Ok(hashes.iter().filter_map(|h| log.by_hash.get(h).map(|i| (*h, LeafIndex(*i)))).collect())
    }

    async fn integrate(
        &self,
        log_id: i16,
        expected_size: TreeSize,
        batch: &Batch,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        if fence.is_some() || !batch.queue_results.is_empty() {
            return Err(super::single_process());
        }
        super::sizes_of(expected_size, batch)?;
        let fault = self.fault(Write::Integrate);
        if fault == Some(Fault::Fail) {
            return Err(lost_connection(Write::Integrate));
        }
        {
            let mut state = self.state();
            let log = state.log_mut(log_id)?;
            if log.row.tree_size != expected_size {
                return Err(Error::Conflict);
            }
            log.check_batch(batch)?;
            let added = u64::try_from(batch.entries.len()).map_err(|_| Error::Corrupt("batch too large".into()))?;
            log.apply(TreeSize(expected_size.0 + added), batch);
        }
        match fault {
            Some(Fault::PersistThenFail) => Err(lost_connection(Write::Integrate)),
            _ => Ok(()),
        }
    }

    async fn entry_by_index(&self, log_id: i16, index: LeafIndex) -> Result<Option<StoredEntry>, Error> {
        Ok(self.state().log(log_id)?.entries.get(&index.0).cloned())
    }

    async fn entry_by_leaf_hash(&self, log_id: i16, leaf_hash: &Hash) -> Result<Option<StoredEntry>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        Ok(log.by_hash.get(leaf_hash).and_then(|i| log.entries.get(i)).cloned())
    }

    async fn entries_range(&self, log_id: i16, start: LeafIndex, end: LeafIndex) -> Result<Vec<StoredEntry>, Error> {
        if end.0 <= start.0 {
            return Ok(Vec::new());
        }
        Ok(self.state().log(log_id)?.entries.range(start.0..end.0).map(|(_, e)| e.clone()).collect())
    }

    async fn search_with_hashes(&self, log_id: i16, key: &str, limit: u32) -> Result<Vec<(LeafIndex, Hash)>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(log
            .key_range(key, u64::MAX)
            .filter_map(|i| log.entries.get(&i).map(|e| (LeafIndex(i), e.leaf_hash)))
            .take(limit)
            .collect())
    }

    async fn search_page(
        &self,
        log_id: i16,
        key: &str,
        before: Option<LeafIndex>,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        let below = before.map_or(u64::MAX, |b| b.0);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(log.key_range(key, below).rev().filter_map(|i| log.entries.get(&i).cloned()).take(limit).collect())
    }

    async fn index_keys_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> Result<Vec<(LeafIndex, String)>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        Ok(log
            .keys
            .iter()
            .filter(|(_, i)| (start.0..end.0).contains(i))
            .map(|(k, i)| (LeafIndex(*i), k.clone()))
            .collect())
    }

    async fn checkpoints_after(
        &self,
        log_id: i16,
        after: TreeSize,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(log
            .checkpoints
            .range((std::ops::Bound::Excluded(after.0), std::ops::Bound::Unbounded))
            .map(|(_, (cp, _))| cp.clone())
            .take(limit)
            .collect())
    }

    async fn row_counts(&self, log_id: i16) -> Result<(u64, u64, u64), Error> {
        let state = self.state();
        let log = state.log(log_id)?;
        let n = |len: usize| u64::try_from(len).map_err(|_| Error::Corrupt("count overflows".into()));
        Ok((n(log.entries.len())?, n(log.nodes.len())?, n(log.keys.len())?))
    }

    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}
