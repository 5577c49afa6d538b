//! Persistent state of the log engine. All SQL of the workspace's log lives
//! in this module: the storage contract ([`LogStore`]), one file per backend
//! (`postgres.rs`, `sqlite.rs`, and the in-memory `memory.rs` behind the
//! `memory-store` test feature), the SQL both SQL backends share (`sql.rs`),
//! and [`Store`], the one handle the engine and the services hold.
//!
//! Postgres for production, an embedded SQLite file as the zero-setup
//! default, with the same schema (`migrations/postgres`,
//! `migrations/sqlite`; the replication tables exist on Postgres only).
//!
//! # Storage contract
//!
//! What the sequencer relies on, for every backend (each method of
//! [`LogStore`] repeats its part). The engine tests in `tests/engine.rs`
//! exercise each point on SQLite, Postgres and the in-memory backend (whose
//! fault hooks fail a write before it persists, or after: the fault table),
//! `tests/replication.rs` the Postgres-only points.
//!
//! * **Entries, nodes and `logs.tree_size` move together.**
//!   [`LogStore::integrate`] writes a batch's leaves, every newly completed
//!   node, the search keys and the new tree size atomically, only if the
//!   stored tree size still equals the size the batch was built on
//!   ([`Error::Conflict`] otherwise, nothing written). Leaf indexes and leaf
//!   hashes are unique per log: a second writer can fail, never fork.
//!   An error from `integrate` does not say that nothing was written (a
//!   commit whose acknowledgement is lost may have happened): callers
//!   recover from [`LogStore::load_log`]'s tree size, never from what they
//!   meant to write.
//! * **What a crash leaves.** A write either happened entirely or not at
//!   all; a crash between `integrate` and `store_checkpoint` leaves leaves
//!   without a checkpoint (the stored tree size runs ahead of the newest
//!   checkpoint), which the sequencer signs on its next start.
//! * **Checkpoints only accumulate.** [`LogStore::store_checkpoint`] inserts
//!   the checkpoint of a tree size, or replaces the signed text of one with
//!   the *same* root; a different root for a recorded size is refused
//!   ([`Error::Corrupt`]). [`LogStore::latest_checkpoint`] is the one of the
//!   largest tree size.
//! * **Ordering and isolation.** Reads see only committed state and never
//!   block writes: entries by index, leaf hash or range (ascending index);
//!   search keys (ascending index, or descending for pages); nodes by ID
//!   (absent ones are simply missing from the map, so a caller can tell "not
//!   stored"). A read that starts after a write returned sees it.
//! * **Fencing (Postgres).** With a [`Lease`], `integrate` and
//!   `store_checkpoint` first hold the lease row and refuse
//!   ([`Error::Deposed`], nothing written) unless that holder and epoch
//!   still hold it unexpired by the database clock.
//!   [`LogStore::try_acquire_lease`] takes a free or expired lease with the
//!   next epoch; [`LogStore::renew_lease`] extends only a live lease of the
//!   same holder and epoch; [`LogStore::release_lease`] expires it. Backends
//!   without replication refuse every lease and queue method
//!   ([`Error::Config`]) and any fenced write.
//! * **Hand-over queue (Postgres).** [`LogStore::enqueue`] inserts
//!   submissions (committed asynchronously: nobody was answered yet) and
//!   notifies; [`LogStore::dequeue`] returns waiting rows in insertion order;
//!   outcomes are recorded in the integrating transaction (or by
//!   [`LogStore::record_queue_results`] for duplicates only);
//!   [`LogStore::queue_results`] returns recorded outcomes;
//!   [`LogStore::withdraw_queued`] deletes only rows still waiting.
//! * **Unavailability is an error, not a hang**: a Postgres connection is
//!   waited for at most [`ACQUIRE_TIMEOUT`]; [`Error::is_unavailable`] tells
//!   the callers to answer 503.

#[cfg(feature = "memory-store")]
pub mod memory;
mod postgres;
mod sql;
mod sqlite;

use crate::{DatabaseUrl, Error, LeafIndex, MigratePolicy, TreeSize};
use sigstead_merkle::{Hash, NodeId};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// The storage contract of the log engine (see the module docs for what
/// every backend guarantees). Implemented by each backend and by [`Store`],
/// which dispatches to the backend it holds.
///
/// The futures are `Send` so that the sequencer's task can hold them.
pub trait LogStore: Send + Sync {
    /// Applies every pending migration.
    fn migrate(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// The applied schema versions and the ones this binary expects.
    fn applied_migrations(&self) -> impl Future<Output = Result<(Vec<i64>, Vec<i64>), Error>> + Send;

    /// Refuses a schema this binary was not built for (missing or unknown migrations).
    fn check_schema(&self) -> impl Future<Output = Result<(), Error>> + Send {
        async {
            let (applied, expected) = self.applied_migrations().await?;
            if applied != expected {
                return Err(Error::Schema(format!(
                    "database schema versions {applied:?} do not match this binary's {expected:?}; run the matching `sigstead migrate`"
                )));
            }
            Ok(())
        }
    }

    /// The log of that name, if it exists.
    fn load_log(&self, name: &str) -> impl Future<Output = Result<Option<LogRow>, Error>> + Send;

    /// Creates the log row, or returns the existing one of that name
    /// (replicas starting together agree on one row).
    fn create_log(
        &self,
        name: &str,
        tree_id: std::num::NonZeroI64,
        now: i64,
    ) -> impl Future<Output = Result<LogRow, Error>> + Send;

    /// The newest recorded checkpoint (largest tree size).
    fn latest_checkpoint(&self, log_id: i16) -> impl Future<Output = Result<Option<StoredCheckpoint>, Error>> + Send {
        async move { Ok(self.latest_checkpoint_with_time(log_id).await?.map(|(cp, _)| cp)) }
    }

    /// The newest recorded checkpoint with the Unix second it was signed at
    /// (the explorer shows its age).
    fn latest_checkpoint_with_time(
        &self,
        log_id: i16,
    ) -> impl Future<Output = Result<Option<(StoredCheckpoint, i64)>, Error>> + Send;

    /// Records a signed checkpoint. The sequencer only calls this for a tree
    /// that it has proved consistent with the previous checkpoint. A
    /// different root already recorded for that size is [`Error::Corrupt`]
    /// (nothing changed); the same root replaces the signed text.
    ///
    /// With `fence` (Postgres replication) the write is fenced as in
    /// [`LogStore::integrate`], and the replicas listening on
    /// [`checkpoint_channel`] are woken when it commits.
    fn store_checkpoint(
        &self,
        log_id: i16,
        cp: &StoredCheckpoint,
        now: i64,
        fence: Option<&Lease>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Fetches stored nodes; missing ones are simply absent from the map.
    fn nodes(&self, log_id: i16, ids: &[NodeId]) -> impl Future<Output = Result<HashMap<NodeId, Hash>, Error>> + Send;

    /// Which of `hashes` are already leaves of the log, and where.
    fn find_leaves(
        &self,
        log_id: i16,
        hashes: &[Hash],
    ) -> impl Future<Output = Result<HashMap<Hash, LeafIndex>, Error>> + Send;

    /// Integrates a batch atomically: leaves, nodes, search keys, queue
    /// outcomes and the new tree size. `expected_size` is the size the
    /// sequencer built on; if another writer moved the log, nothing is
    /// written ([`Error::Conflict`]).
    ///
    /// With `fence` (Postgres replication), the transaction first holds the
    /// lease row `FOR KEY SHARE` and checks that `fence` still holds it and that
    /// it has not expired by the database clock; otherwise nothing is written
    /// and the result is [`Error::Deposed`]. A takeover waits for a running
    /// transaction of the old holder, so every commit precedes the next epoch.
    fn integrate(
        &self,
        log_id: i16,
        expected_size: TreeSize,
        batch: &Batch,
        fence: Option<&Lease>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    fn entry_by_index(
        &self,
        log_id: i16,
        index: LeafIndex,
    ) -> impl Future<Output = Result<Option<StoredEntry>, Error>> + Send;

    fn entry_by_leaf_hash(
        &self,
        log_id: i16,
        leaf_hash: &Hash,
    ) -> impl Future<Output = Result<Option<StoredEntry>, Error>> + Send;

    /// The entries `[start, end)` in index order, in one read (fewer if the
    /// log holds fewer).
    fn entries_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> impl Future<Output = Result<Vec<StoredEntry>, Error>> + Send;

    /// Leaf indexes and leaf hashes stored under a search key, ascending by
    /// index, at most `limit`, in one read.
    fn search_with_hashes(
        &self,
        log_id: i16,
        key: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(LeafIndex, Hash)>, Error>> + Send;

    /// One page of the entries stored under a search key, newest first: at
    /// most `limit` entries with an index below `before` (all when `None`),
    /// bodies included, in one read whose cost does not grow with the number
    /// of hits.
    fn search_page(
        &self,
        log_id: i16,
        key: &str,
        before: Option<LeafIndex>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEntry>, Error>> + Send;

    /// The search keys stored for the entries `[start, end)`, by index (fsck).
    fn index_keys_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> impl Future<Output = Result<Vec<(LeafIndex, String)>, Error>> + Send;

    /// At most `limit` recorded checkpoints larger than `after`, by size (fsck).
    fn checkpoints_after(
        &self,
        log_id: i16,
        after: TreeSize,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredCheckpoint>, Error>> + Send;

    /// Rows of `log_id` in the entries, nodes and index tables (fsck).
    fn row_counts(&self, log_id: i16) -> impl Future<Output = Result<(u64, u64, u64), Error>> + Send;

    /// Liveness probe for `/readyz`.
    fn ping(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Whether several processes may share this store (lease and queue work).
    fn replicated(&self) -> bool {
        false
    }

    /// Takes the sequencer lease of `log_id` for `holder` if nobody holds it
    /// or its holder let it expire (by the database clock), with the next
    /// epoch; `None` while another replica holds it. Waits for a running
    /// fenced transaction of the old holder before taking over.
    fn try_acquire_lease(
        &self,
        _log_id: i16,
        _holder: &str,
        _lease: Duration,
    ) -> impl Future<Output = Result<Option<Lease>, Error>> + Send {
        async { Err(single_process()) }
    }

    /// Extends a held lease by `lease` from now; `false` when it was lost
    /// (expired, or taken by another replica).
    fn renew_lease(
        &self,
        _log_id: i16,
        _held: &Lease,
        _lease: Duration,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        async { Err(single_process()) }
    }

    /// Gives a held lease up at once (graceful shutdown, step-down), so that
    /// another replica need not wait for it to expire.
    fn release_lease(&self, _log_id: i16, _held: &Lease) -> impl Future<Output = Result<(), Error>> + Send {
        async { Err(single_process()) }
    }

    /// The current lease row and whether it is live (for status and tests).
    fn current_lease(&self, _log_id: i16) -> impl Future<Output = Result<Option<(Lease, bool)>, Error>> + Send {
        async { Err(single_process()) }
    }

    /// Hands submissions to the leader in one write, and wakes it on
    /// [`queue_channel`]. Returns their queue IDs in order.
    fn enqueue(&self, _log_id: i16, _subs: &[Handover<'_>]) -> impl Future<Output = Result<Vec<i64>, Error>> + Send {
        async { Err(single_process()) }
    }

    /// The oldest submissions still waiting for the leader, at most `limit`.
    fn dequeue(
        &self,
        _log_id: i16,
        _limit: usize,
    ) -> impl Future<Output = Result<Vec<QueuedSubmission>, Error>> + Send {
        async { Err(single_process()) }
    }

    /// Records outcomes of queued submissions that needed no integration
    /// (every one a duplicate).
    fn record_queue_results(&self, _results: &[QueueResult]) -> impl Future<Output = Result<(), Error>> + Send {
        async { Err(single_process()) }
    }

    /// The outcomes the leader has recorded for `ids` (those still waiting are absent).
    fn queue_results(&self, _ids: &[i64]) -> impl Future<Output = Result<Vec<QueueResult>, Error>> + Send {
        async { Err(single_process()) }
    }

    /// Deletes answered queue rows.
    fn delete_queued(&self, _ids: &[i64]) -> impl Future<Output = Result<(), Error>> + Send {
        async { Err(single_process()) }
    }

    /// Withdraws submissions whose submitter stopped waiting, if the leader
    /// has not taken them yet; returns the IDs it withdrew.
    fn withdraw_queued(&self, _ids: &[i64]) -> impl Future<Output = Result<Vec<i64>, Error>> + Send {
        async { Err(single_process()) }
    }

    /// Deletes queue rows older than `age` (answered rows whose submitting
    /// replica died before deleting them, and submissions nobody waits for).
    fn prune_queue(&self, _log_id: i16, _age: Duration) -> impl Future<Output = Result<u64, Error>> + Send {
        async { Err(single_process()) }
    }
}

fn single_process() -> Error {
    Error::Config("SQLite logs are single-process: no replication".into())
}

fn no_schema() -> Error {
    Error::Schema("the database has no Sigstead schema; run `sigstead migrate`".into())
}

/// The schema, embedded at compile time with `include_str!` rather than
/// sqlx's `migrate!` macro: the macro needs sqlx's `macros` feature, whose
/// proc-macro crate makes a build compile sqlx, tokio, rustls and aws-lc-sys a
/// second time for the host. The checksums sqlx records are computed from the
/// same bytes either way, so databases migrated by earlier builds stay valid.
/// `build.rs` reruns the build when a migration changes; a test checks each
/// backend's list against its directory.
#[derive(Debug, Clone, Copy)]
struct EmbeddedMigrations(&'static [(i64, &'static str, &'static str)]);

impl EmbeddedMigrations {
    fn versions(self) -> Vec<i64> {
        self.0.iter().map(|(v, _, _)| *v).collect()
    }
}

impl sqlx::migrate::MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>>
                + Send
                + 'static,
        >,
    > {
        let list = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                sqlx::migrate::Migration::new(
                    *version,
                    std::borrow::Cow::Borrowed(*description),
                    sqlx::migrate::MigrationType::Simple,
                    std::borrow::Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(list)))
    }
}

async fn migrator(source: EmbeddedMigrations) -> Result<sqlx::migrate::Migrator, Error> {
    sqlx::migrate::Migrator::new(source).await.map_err(Error::from)
}

/// A log's row in the `logs` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRow {
    pub log_id: i16,
    pub tree_id: std::num::NonZeroI64,
    /// Leaves durably integrated (may exceed the newest checkpoint after a crash).
    pub tree_size: TreeSize,
    /// UNIX seconds when the log was created.
    pub created_at: i64,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub tree_size: TreeSize,
    pub root_hash: Hash,
    /// The signed tree head in the log's wire format (a signed note for Rekor).
    pub signed: String,
}

/// One stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub leaf_index: LeafIndex,
    pub leaf_hash: Hash,
    pub body: Vec<u8>,
    pub integrated_time: i64,
    /// Stored beside the leaf, not hashed into it (the CT log's `extra_data`).
    pub extra_data: Option<Vec<u8>>,
}

/// A leaf about to be integrated.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub leaf_index: LeafIndex,
    pub leaf_hash: Hash,
    pub body: Vec<u8>,
    pub integrated_time: i64,
    pub index_keys: Vec<String>,
    pub extra_data: Option<Vec<u8>>,
}

/// Everything one sequencing step writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub entries: Vec<NewEntry>,
    pub nodes: Vec<(NodeId, Hash)>,
    /// Outcomes of submissions handed over by other replicas (see
    /// [`LogStore::enqueue`]), recorded in the same transaction.
    pub queue_results: Vec<QueueResult>,
}

/// The sequencer lease as held by one replica (see the crate docs,
/// "Replication protocol"). `epoch` fences every write of the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub epoch: i64,
}

/// A submission waiting in the queue for the leader.
#[derive(Debug, Clone)]
pub struct QueuedSubmission {
    pub queue_id: i64,
    pub leaf: Vec<u8>,
    pub leaf_hash: Hash,
    pub index_keys: Vec<String>,
    pub extra_data: Option<Vec<u8>>,
}

/// Where the leader placed a queued submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueResult {
    pub queue_id: i64,
    pub leaf_index: LeafIndex,
    /// The leaf was already in the log at `leaf_index`.
    pub duplicate: bool,
    pub integrated_time: i64,
}

/// A submission as handed to [`LogStore::enqueue`].
#[derive(Debug, Clone, Copy)]
pub struct Handover<'a> {
    pub leaf: &'a [u8],
    pub leaf_hash: &'a Hash,
    pub index_keys: &'a [String],
    pub extra_data: Option<&'a [u8]>,
}

/// Columns of one waiting `log_queue` row, in SELECT order.
type QueueRow = (i64, Vec<u8>, Vec<u8>, Vec<String>, Option<Vec<u8>>);

/// Columns of one `entries` row, in SELECT order.
type EntryRow = (i64, Vec<u8>, Vec<u8>, i64, Option<Vec<u8>>);

/// Postgres channels a log's replicas wake each other on.
pub fn queue_channel(log_id: i16) -> String {
    format!("sigstead_queue_{log_id}")
}
pub fn checkpoint_channel(log_id: i16) -> String {
    format!("sigstead_checkpoint_{log_id}")
}

/// The longest a request waits for a Postgres connection (see [`Store::connect_url`]).
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

// Conversions at the storage edge: the databases hold BIGINT and BYTEA, the
// engine holds u64 and 32-byte hashes; a stored value that does not fit is
// corruption, never a silent wrap.

fn i64_of(v: u64) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::Corrupt(format!("{v} does not fit the database's BIGINT")))
}

fn u64_of(v: i64) -> Result<u64, Error> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative value {v} in the database")))
}

fn hash_of(v: Vec<u8>) -> Result<Hash, Error> {
    v.try_into().map_err(|_| Error::Corrupt("stored hash is not 32 bytes".into()))
}

fn level_of(v: i64) -> Result<u8, Error> {
    u8::try_from(v).map_err(|_| Error::Corrupt(format!("node level {v} out of range")))
}

fn log_row(id: i64, tree_id: i64, size: i64, created_at: i64) -> Result<LogRow, Error> {
    Ok(LogRow {
        log_id: i16::try_from(id).map_err(|_| Error::Corrupt("log_id out of range".into()))?,
        tree_id: std::num::NonZeroI64::new(tree_id).ok_or_else(|| Error::Corrupt("tree_id is zero".into()))?,
        tree_size: TreeSize(u64_of(size)?),
        created_at,
    })
}

fn checkpoint_row(size: i64, root: Vec<u8>, signed: String) -> Result<StoredCheckpoint, Error> {
    Ok(StoredCheckpoint { tree_size: TreeSize(u64_of(size)?), root_hash: hash_of(root)?, signed })
}

fn entry_from(row: EntryRow) -> Result<StoredEntry, Error> {
    Ok(StoredEntry {
        leaf_index: LeafIndex(u64_of(row.0)?),
        leaf_hash: hash_of(row.1)?,
        body: row.2,
        integrated_time: row.3,
        extra_data: row.4,
    })
}

/// The tree sizes before and after `batch`, as stored.
fn sizes_of(expected_size: TreeSize, batch: &Batch) -> Result<(i64, i64), Error> {
    let added = u64::try_from(batch.entries.len()).map_err(|_| Error::Corrupt("batch too large".into()))?;
    let new = expected_size.0.checked_add(added).ok_or_else(|| Error::Corrupt("tree size overflows".into()))?;
    Ok((i64_of(expected_size.0)?, i64_of(new)?))
}

/// `search_page`'s upper bound: every index when `None`.
fn before_of(before: Option<LeafIndex>) -> Result<i64, Error> {
    before.map_or(Ok(i64::MAX), |b| i64_of(b.0))
}

/// A checkpoint write changed no row: another root is recorded for that size.
fn checkpoint_written(rows: u64, cp: &StoredCheckpoint) -> Result<(), Error> {
    if rows != 1 {
        return Err(Error::Corrupt(format!("a different root is already recorded for tree size {}", cp.tree_size.0)));
    }
    Ok(())
}

/// Connection to the log database: the handle the engine and the services
/// hold. It implements [`LogStore`] by dispatching to its backend.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
    /// The in-memory backend (tests only).
    #[cfg(feature = "memory-store")]
    Memory(memory::MemoryStore),
}

impl Store {
    /// Connects to the database named by `url` (see [`DatabaseUrl`] for the
    /// accepted forms) without touching the schema. With the `memory-store`
    /// test feature, `memory:NAME` names an in-memory store shared by every
    /// connection of this process to that name (so a reconnect is a restart).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        #[cfg(feature = "memory-store")]
        if let Some(name) = url.strip_prefix("memory:") {
            return Ok(Self::Memory(memory::MemoryStore::named(name)));
        }
        Self::connect_url(&url.parse()?).await
    }

    /// Connects: Postgres with a pool of 16; SQLite in WAL mode with
    /// `synchronous=FULL`, the file created if missing. Waiting for a pooled
    /// Postgres connection gives up after [`ACQUIRE_TIMEOUT`], so that while
    /// the database is unreachable requests fail fast (503) instead of
    /// hanging for sqlx's default 30 s.
    pub async fn connect_url(url: &DatabaseUrl) -> Result<Self, Error> {
        match url {
            DatabaseUrl::Postgres(pg) => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(pg.options().clone())
                    .await?;
                Ok(Self::Postgres(pool))
            }
            DatabaseUrl::Sqlite(path) => {
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(10));
                let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
                Ok(Self::Sqlite(pool))
            }
        }
    }

    /// The one way a service opens its store: for SQLite, take the file's
    /// process lock (a second process is refused: see [`crate::sqlite_lock`]);
    /// connect; then apply or check the schema as `policy` says.
    pub async fn open(url: &DatabaseUrl, policy: MigratePolicy) -> Result<Self, Error> {
        if let DatabaseUrl::Sqlite(path) = url {
            crate::sqlite_lock::lock_for_process(path)?;
        }
        let store = Self::connect_url(url).await?;
        if policy == MigratePolicy::Apply {
            store.migrate().await?;
        }
        store.check_schema().await?;
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
            #[cfg(feature = "memory-store")]
            Self::Memory(_) => "memory",
        }
    }
}

/// Calls the same [`LogStore`] method on whichever backend `self` holds
/// (fully qualified, so a pool's inherent methods can never shadow it).
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Postgres(s) => LogStore::$method(s, $($arg),*).await,
            Store::Sqlite(s) => LogStore::$method(s, $($arg),*).await,
            #[cfg(feature = "memory-store")]
            Store::Memory(s) => LogStore::$method(s, $($arg),*).await,
        }
    };
}

impl LogStore for Store {
    async fn migrate(&self) -> Result<(), Error> {
        dispatch!(self.migrate())
    }
    async fn applied_migrations(&self) -> Result<(Vec<i64>, Vec<i64>), Error> {
        dispatch!(self.applied_migrations())
    }
    async fn load_log(&self, name: &str) -> Result<Option<LogRow>, Error> {
        dispatch!(self.load_log(name))
    }
    async fn create_log(&self, name: &str, tree_id: std::num::NonZeroI64, now: i64) -> Result<LogRow, Error> {
        dispatch!(self.create_log(name, tree_id, now))
    }
    async fn latest_checkpoint(&self, log_id: i16) -> Result<Option<StoredCheckpoint>, Error> {
        dispatch!(self.latest_checkpoint(log_id))
    }
    async fn latest_checkpoint_with_time(&self, log_id: i16) -> Result<Option<(StoredCheckpoint, i64)>, Error> {
        dispatch!(self.latest_checkpoint_with_time(log_id))
    }
    async fn store_checkpoint(
        &self,
        log_id: i16,
        cp: &StoredCheckpoint,
        now: i64,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        dispatch!(self.store_checkpoint(log_id, cp, now, fence))
    }
    async fn nodes(&self, log_id: i16, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, Error> {
        dispatch!(self.nodes(log_id, ids))
    }
    async fn find_leaves(&self, log_id: i16, hashes: &[Hash]) -> Result<HashMap<Hash, LeafIndex>, Error> {
        dispatch!(self.find_leaves(log_id, hashes))
    }
    async fn integrate(
        &self,
        log_id: i16,
        expected_size: TreeSize,
        batch: &Batch,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        dispatch!(self.integrate(log_id, expected_size, batch, fence))
    }
    async fn entry_by_index(&self, log_id: i16, index: LeafIndex) -> Result<Option<StoredEntry>, Error> {
        dispatch!(self.entry_by_index(log_id, index))
    }
    async fn entry_by_leaf_hash(&self, log_id: i16, leaf_hash: &Hash) -> Result<Option<StoredEntry>, Error> {
        dispatch!(self.entry_by_leaf_hash(log_id, leaf_hash))
    }
    async fn entries_range(&self, log_id: i16, start: LeafIndex, end: LeafIndex) -> Result<Vec<StoredEntry>, Error> {
        dispatch!(self.entries_range(log_id, start, end))
    }
    async fn search_with_hashes(&self, log_id: i16, key: &str, limit: u32) -> Result<Vec<(LeafIndex, Hash)>, Error> {
        dispatch!(self.search_with_hashes(log_id, key, limit))
    }
    async fn search_page(
        &self,
        log_id: i16,
        key: &str,
        before: Option<LeafIndex>,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, Error> {
        dispatch!(self.search_page(log_id, key, before, limit))
    }
    async fn index_keys_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> Result<Vec<(LeafIndex, String)>, Error> {
        dispatch!(self.index_keys_range(log_id, start, end))
    }
    async fn checkpoints_after(
        &self,
        log_id: i16,
        after: TreeSize,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, Error> {
        dispatch!(self.checkpoints_after(log_id, after, limit))
    }
    async fn row_counts(&self, log_id: i16) -> Result<(u64, u64, u64), Error> {
        dispatch!(self.row_counts(log_id))
    }
    async fn ping(&self) -> Result<(), Error> {
        dispatch!(self.ping())
    }
    fn replicated(&self) -> bool {
        match self {
            Store::Postgres(s) => LogStore::replicated(s),
            Store::Sqlite(s) => LogStore::replicated(s),
            #[cfg(feature = "memory-store")]
            Store::Memory(s) => LogStore::replicated(s),
        }
    }
    async fn try_acquire_lease(&self, log_id: i16, holder: &str, lease: Duration) -> Result<Option<Lease>, Error> {
        dispatch!(self.try_acquire_lease(log_id, holder, lease))
    }
    async fn renew_lease(&self, log_id: i16, held: &Lease, lease: Duration) -> Result<bool, Error> {
        dispatch!(self.renew_lease(log_id, held, lease))
    }
    async fn release_lease(&self, log_id: i16, held: &Lease) -> Result<(), Error> {
        dispatch!(self.release_lease(log_id, held))
    }
    async fn current_lease(&self, log_id: i16) -> Result<Option<(Lease, bool)>, Error> {
        dispatch!(self.current_lease(log_id))
    }
    async fn enqueue(&self, log_id: i16, subs: &[Handover<'_>]) -> Result<Vec<i64>, Error> {
        dispatch!(self.enqueue(log_id, subs))
    }
    async fn dequeue(&self, log_id: i16, limit: usize) -> Result<Vec<QueuedSubmission>, Error> {
        dispatch!(self.dequeue(log_id, limit))
    }
    async fn record_queue_results(&self, results: &[QueueResult]) -> Result<(), Error> {
        dispatch!(self.record_queue_results(results))
    }
    async fn queue_results(&self, ids: &[i64]) -> Result<Vec<QueueResult>, Error> {
        dispatch!(self.queue_results(ids))
    }
    async fn delete_queued(&self, ids: &[i64]) -> Result<(), Error> {
        dispatch!(self.delete_queued(ids))
    }
    async fn withdraw_queued(&self, ids: &[i64]) -> Result<Vec<i64>, Error> {
        dispatch!(self.withdraw_queued(ids))
    }
    async fn prune_queue(&self, log_id: i16, age: Duration) -> Result<u64, Error> {
        dispatch!(self.prune_queue(log_id, age))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list names every file of `migrations/<backend>`, in order,
    /// with the file's exact bytes (so sqlx's checksums match earlier builds').
    #[test]
    fn embedded_migrations_are_the_migration_directories() {
        for (dir, list) in [("postgres", postgres::MIGRATIONS), ("sqlite", sqlite::MIGRATIONS)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dir);
            let mut files: Vec<_> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            files.sort();
            assert_eq!(files.len(), list.0.len(), "{dir}: a migration file is not embedded");
            for (file, (version, description, sql)) in files.iter().zip(list.0) {
                let name = file.file_stem().unwrap().to_str().unwrap();
                let (v, d) = name.split_once('_').unwrap();
                assert_eq!(v.parse::<i64>().unwrap(), *version, "{name}");
                assert_eq!(d.replace('_', " "), *description, "{name}");
                assert_eq!(std::fs::read_to_string(file).unwrap(), *sql, "{name}");
            }
        }
    }
}
