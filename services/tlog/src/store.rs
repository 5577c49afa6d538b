//! Persistent state of the log engine. All SQL of the workspace's log lives here.
//!
//! Two backends with the same schema (`migrations/postgres`, `migrations/sqlite`;
//! the replication tables exist on Postgres only): Postgres for production,
//! an embedded SQLite file as the zero-setup default.
//!
//! # Storage contract
//!
//! What the sequencer relies on, for both backends (the engine tests in
//! `tests/engine.rs` and `tests/replication.rs` exercise each point on real
//! SQLite and Postgres):
//!
//! * **Entries, nodes and `logs.tree_size` move together.**
//!   [`Store::integrate`] writes a batch's leaves, every newly completed
//!   node, the search keys and the new tree size in one transaction, only if
//!   `logs.tree_size` still equals the size the batch was built on
//!   ([`Error::Conflict`] otherwise, nothing written). Leaf indexes and leaf
//!   hashes are unique per log (primary key, unique index): a second writer
//!   can fail, never fork.
//! * **Checkpoints only accumulate.** [`Store::store_checkpoint`] inserts the
//!   checkpoint of a tree size, or replaces the signed text of one with the
//!   *same* root; a different root for a recorded size is refused
//!   ([`Error::Corrupt`]). [`Store::latest_checkpoint`] is the one of the
//!   largest tree size.
//! * **Reads see only committed state** and never block writes: entries by
//!   index, leaf hash or range; search keys; nodes by ID (absent ones are
//!   simply missing from the map, so a caller can tell "not stored").
//! * **Fencing (Postgres).** With a [`Lease`], `integrate` and
//!   `store_checkpoint` first hold the lease row `FOR SHARE` and refuse
//!   ([`Error::Deposed`], nothing written) unless that holder and epoch
//!   still hold it unexpired by the database clock.
//!   [`Store::try_acquire_lease`] takes a free or expired lease with the
//!   next epoch; [`Store::renew_lease`] extends only a live lease of the
//!   same holder and epoch; [`Store::release_lease`] expires it.
//! * **Hand-over queue (Postgres).** [`Store::enqueue`] inserts submissions
//!   (committed asynchronously: nobody was answered yet) and notifies;
//!   [`Store::dequeue`] returns waiting rows in insertion order;
//!   outcomes are recorded in the integrating transaction (or by
//!   [`Store::record_queue_results`] for duplicates only);
//!   [`Store::queue_results`] returns recorded outcomes;
//!   [`Store::withdraw_queued`] deletes only rows still waiting.
//! * **Unavailability is an error, not a hang**: a Postgres connection is
//!   waited for at most [`ACQUIRE_TIMEOUT`]; [`Error::is_unavailable`] tells
//!   the callers to answer 503.

use crate::{DatabaseUrl, Error, LeafIndex, MigratePolicy, TreeSize};
use sigstead_merkle::{Hash, NodeId};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};
use std::collections::HashMap;
use std::time::Duration;

/// The schema, embedded at compile time with `include_str!` rather than
/// sqlx's `migrate!` macro: the macro needs sqlx's `macros` feature, whose
/// proc-macro crate makes a build compile sqlx, tokio, rustls and aws-lc-sys a
/// second time for the host. The checksums sqlx records are computed from the
/// same bytes either way, so databases migrated by earlier builds stay valid.
/// `build.rs` reruns the build when a migration changes; a test checks this
/// list against the directory.
#[derive(Debug, Clone, Copy)]
struct EmbeddedMigrations(&'static [(i64, &'static str, &'static str)]);

const PG_MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (1, "log engine", include_str!("../../../migrations/postgres/0001_log_engine.sql")),
    (2, "entry extra data", include_str!("../../../migrations/postgres/0002_entry_extra_data.sql")),
    (3, "replication", include_str!("../../../migrations/postgres/0003_replication.sql")),
]);
const SQLITE_MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (1, "log engine", include_str!("../../../migrations/sqlite/0001_log_engine.sql")),
    (2, "entry extra data", include_str!("../../../migrations/sqlite/0002_entry_extra_data.sql")),
]);

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

/// Columns of one waiting `log_queue` row, in SELECT order.
type QueueRow = (i64, Vec<u8>, Vec<u8>, Vec<String>, Option<Vec<u8>>);

/// Columns of one `entries` row, in SELECT order.
type EntryRow = (i64, Vec<u8>, Vec<u8>, i64, Option<Vec<u8>>);

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
    /// [`Store::enqueue`]), recorded in the same transaction.
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

/// A submission as handed to [`Store::enqueue`].
#[derive(Debug, Clone, Copy)]
pub struct Handover<'a> {
    pub leaf: &'a [u8],
    pub leaf_hash: &'a Hash,
    pub index_keys: &'a [String],
    pub extra_data: Option<&'a [u8]>,
}

/// Postgres channels a log's replicas wake each other on.
pub fn queue_channel(log_id: i16) -> String {
    format!("sigstead_queue_{log_id}")
}
pub fn checkpoint_channel(log_id: i16) -> String {
    format!("sigstead_checkpoint_{log_id}")
}

/// The longest a request waits for a Postgres connection (see [`Store::connect_url`]).
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Connection to the log database.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

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

impl Store {
    /// Connects to the database named by `url` (see [`DatabaseUrl`] for the
    /// accepted forms) without touching the schema.
    pub async fn connect(url: &str) -> Result<Self, Error> {
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
        }
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), Error> {
        match self {
            Self::Postgres(p) => migrator(PG_MIGRATIONS).await?.run(p).await?,
            Self::Sqlite(p) => migrator(SQLITE_MIGRATIONS).await?.run(p).await?,
        }
        Ok(())
    }

    /// Refuses a schema this binary was not built for (missing or unknown migrations).
    pub async fn check_schema(&self) -> Result<(), Error> {
        let (migrations, applied): (EmbeddedMigrations, Result<Vec<i64>, sqlx::Error>) = match self {
            Self::Postgres(p) => (
                PG_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                    .fetch_all(p)
                    .await,
            ),
            Self::Sqlite(p) => (
                SQLITE_MIGRATIONS,
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                    .fetch_all(p)
                    .await,
            ),
        };
        let applied =
            applied.map_err(|_| Error::Schema("the database has no Sigstead schema; run `sigstead migrate`".into()))?;
        let expected: Vec<i64> = migrations.0.iter().map(|(v, _, _)| *v).collect();
        if applied != expected {
            return Err(Error::Schema(format!(
                "database schema versions {applied:?} do not match this binary's {expected:?}; run the matching `sigstead migrate`"
            )));
        }
        Ok(())
    }

    pub async fn load_log(&self, name: &str) -> Result<Option<LogRow>, Error> {
        let sql = "SELECT log_id, tree_id, tree_size, created_at FROM logs WHERE name = $1";
        let row =
            match self {
                Self::Postgres(p) => sqlx::query(sql).bind(name).fetch_optional(p).await?.map(|r| {
                    (i64::from(r.get::<i16, _>(0)), r.get::<i64, _>(1), r.get::<i64, _>(2), r.get::<i64, _>(3))
                }),
                Self::Sqlite(p) => sqlx::query(sql)
                    .bind(name)
                    .fetch_optional(p)
                    .await?
                    .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1), r.get::<i64, _>(2), r.get::<i64, _>(3))),
            };
        row.map(|(id, tree_id, size, created_at)| {
            Ok(LogRow {
                log_id: i16::try_from(id).map_err(|_| Error::Corrupt("log_id out of range".into()))?,
                tree_id: std::num::NonZeroI64::new(tree_id).ok_or_else(|| Error::Corrupt("tree_id is zero".into()))?,
                tree_size: TreeSize(u64_of(size)?),
                created_at,
            })
        })
        .transpose()
    }

    /// Creates the log row, or returns the existing one of that name.
    pub async fn create_log(&self, name: &str, tree_id: std::num::NonZeroI64, now: i64) -> Result<LogRow, Error> {
        // Replicas starting together may race here: the first insert wins and
        // every replica then reads the same row.
        let sql = "INSERT INTO logs (name, tree_id, tree_size, created_at) VALUES ($1, $2, 0, $3) \
                   ON CONFLICT (name) DO NOTHING";
        match self {
            Self::Postgres(p) => {
                sqlx::query(sql).bind(name).bind(tree_id.get()).bind(now).execute(p).await?;
            }
            Self::Sqlite(p) => {
                sqlx::query(sql).bind(name).bind(tree_id.get()).bind(now).execute(p).await?;
            }
        }
        self.load_log(name).await?.ok_or_else(|| Error::Corrupt("log row vanished after insert".into()))
    }

    pub async fn latest_checkpoint(&self, log_id: i16) -> Result<Option<StoredCheckpoint>, Error> {
        let sql =
            "SELECT tree_size, root_hash, signed FROM checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1";
        let row: Option<(i64, Vec<u8>, String)> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).fetch_optional(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).fetch_optional(p).await?,
        };
        row.map(|(s, r, signed)| {
            Ok(StoredCheckpoint { tree_size: TreeSize(u64_of(s)?), root_hash: hash_of(r)?, signed })
        })
        .transpose()
    }

    /// The newest recorded checkpoint with the Unix second it was signed at
    /// (the explorer shows its age).
    pub async fn latest_checkpoint_with_time(&self, log_id: i16) -> Result<Option<(StoredCheckpoint, i64)>, Error> {
        let sql = "SELECT tree_size, root_hash, signed, signed_at FROM checkpoints WHERE log_id = $1 \
                   ORDER BY tree_size DESC LIMIT 1";
        let row: Option<(i64, Vec<u8>, String, i64)> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).fetch_optional(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).fetch_optional(p).await?,
        };
        row.map(|(s, r, signed, at)| {
            Ok((StoredCheckpoint { tree_size: TreeSize(u64_of(s)?), root_hash: hash_of(r)?, signed }, at))
        })
        .transpose()
    }

    /// Records a signed checkpoint. The sequencer only calls this for a tree
    /// that it has proved consistent with the previous checkpoint.
    ///
    /// With `fence` (Postgres replication) the write is fenced as in
    /// [`Store::integrate`], and the replicas listening on
    /// [`checkpoint_channel`] are woken when it commits.
    pub async fn store_checkpoint(
        &self,
        log_id: i16,
        cp: &StoredCheckpoint,
        now: i64,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        let size = i64_of(cp.tree_size.0)?;
        let sql = "INSERT INTO checkpoints (log_id, tree_size, root_hash, signed, signed_at) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (log_id, tree_size) DO UPDATE SET signed = excluded.signed, signed_at = excluded.signed_at \
                   WHERE checkpoints.root_hash = excluded.root_hash";
        let done = match self {
            Self::Postgres(p) => {
                let mut tx = p.begin().await?;
                if let Some(lease) = fence {
                    hold_fence(&mut tx, log_id, lease).await?;
                }
                let done = sqlx::query(sql)
                    .bind(log_id)
                    .bind(size)
                    .bind(&cp.root_hash[..])
                    .bind(&cp.signed)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if fence.is_some() && done == 1 {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(checkpoint_channel(log_id))
                        .bind(cp.tree_size.0.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                done
            }
            Self::Sqlite(p) => sqlx::query(sql)
                .bind(log_id)
                .bind(size)
                .bind(&cp.root_hash[..])
                .bind(&cp.signed)
                .bind(now)
                .execute(p)
                .await?
                .rows_affected(),
        };
        if done != 1 {
            return Err(Error::Corrupt(format!(
                "a different root is already recorded for tree size {}",
                cp.tree_size.0
            )));
        }
        Ok(())
    }

    /// Fetches stored nodes; missing ones are simply absent from the map.
    pub async fn nodes(&self, log_id: i16, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, Error> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        let levels: Vec<i16> = ids.iter().map(|n| i16::from(n.level)).collect();
        let indexes: Vec<i64> = ids.iter().map(|n| i64_of(n.index)).collect::<Result<_, _>>()?;
        let rows: Vec<(i64, i64, Vec<u8>)> = match self {
            Self::Postgres(p) => sqlx::query_as::<_, (i16, i64, Vec<u8>)>(
                "SELECT n.level, n.node_index, n.hash FROM nodes n \
                 JOIN UNNEST($2::smallint[], $3::bigint[]) AS q(level, node_index) \
                 ON n.level = q.level AND n.node_index = q.node_index WHERE n.log_id = $1",
            )
            .bind(log_id)
            .bind(&levels)
            .bind(&indexes)
            .fetch_all(p)
            .await?
            .into_iter()
            .map(|(l, i, h)| (i64::from(l), i, h))
            .collect(),
            Self::Sqlite(p) => {
                // A proof needs at most a few hundred nodes; chunk to stay under SQLite's variable limit.
                let mut rows = Vec::with_capacity(ids.len());
                for (lv, ix) in levels.chunks(400).zip(indexes.chunks(400)) {
                    let placeholders = (0..lv.len()).map(|_| "(?, ?)").collect::<Vec<_>>().join(", ");
                    let sql = format!(
                        "WITH q(level, node_index) AS (VALUES {placeholders}) \
                         SELECT n.level, n.node_index, n.hash FROM nodes n JOIN q \
                         ON n.level = q.level AND n.node_index = q.node_index WHERE n.log_id = ?"
                    );
                    let mut q = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(&sql);
                    for (l, i) in lv.iter().zip(ix) {
                        q = q.bind(*l).bind(*i);
                    }
                    rows.extend(q.bind(log_id).fetch_all(p).await?);
                }
                rows
            }
        };
        for (l, i, h) in rows {
            out.insert(NodeId::new(level_of(l)?, u64_of(i)?), hash_of(h)?);
        }
        Ok(out)
    }

    /// Which of `hashes` are already leaves of the log, and where.
    pub async fn find_leaves(&self, log_id: i16, hashes: &[Hash]) -> Result<HashMap<Hash, LeafIndex>, Error> {
        let mut out = HashMap::new();
        if hashes.is_empty() {
            return Ok(out);
        }
        let rows: Vec<(Vec<u8>, i64)> = match self {
            Self::Postgres(p) => {
                let hs: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
                sqlx::query_as("SELECT leaf_hash, leaf_index FROM entries WHERE log_id = $1 AND leaf_hash = ANY($2)")
                    .bind(log_id)
                    .bind(&hs)
                    .fetch_all(p)
                    .await?
            }
            Self::Sqlite(p) => {
                let mut rows = Vec::new();
                for chunk in hashes.chunks(500) {
                    let placeholders = vec!["?"; chunk.len()].join(", ");
                    let sql = format!(
                        "SELECT leaf_hash, leaf_index FROM entries WHERE log_id = ? AND leaf_hash IN ({placeholders})"
                    );
                    let mut q = sqlx::query_as::<_, (Vec<u8>, i64)>(&sql).bind(log_id);
                    for h in chunk {
                        q = q.bind(&h[..]);
                    }
                    rows.extend(q.fetch_all(p).await?);
                }
                rows
            }
        };
        for (h, i) in rows {
            out.insert(hash_of(h)?, LeafIndex(u64_of(i)?));
        }
        Ok(out)
    }

    /// Integrates a batch in one transaction: leaves, nodes, search keys, and
    /// the new tree size. `expected_size` is the size the sequencer built on;
    /// if another writer moved the log, nothing is written.
    ///
    /// With `fence` (Postgres replication), the transaction first holds the
    /// lease row `FOR SHARE` and checks that `fence` still holds it and that
    /// it has not expired by the database clock; otherwise nothing is written
    /// and the result is [`Error::Deposed`]. A takeover waits for a running
    /// transaction of the old holder, so every commit precedes the next epoch.
    pub async fn integrate(
        &self,
        log_id: i16,
        expected_size: TreeSize,
        batch: &Batch,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        let old = i64_of(expected_size.0)?;
        let new = i64_of(
            expected_size.0
                + u64::try_from(batch.entries.len()).map_err(|_| Error::Corrupt("batch too large".into()))?,
        )?;
        match self {
            Self::Postgres(p) => {
                let mut tx = p.begin().await?;
                if let Some(lease) = fence {
                    hold_fence(&mut tx, log_id, lease).await?;
                }
                let moved = sqlx::query("UPDATE logs SET tree_size = $1 WHERE log_id = $2 AND tree_size = $3")
                    .bind(new)
                    .bind(log_id)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if moved != 1 {
                    return Err(Error::Conflict);
                }
                let mut idx = Vec::with_capacity(batch.entries.len());
                let mut lh = Vec::with_capacity(batch.entries.len());
                let mut body = Vec::with_capacity(batch.entries.len());
                let mut it = Vec::with_capacity(batch.entries.len());
                let mut extra: Vec<Option<&[u8]>> = Vec::with_capacity(batch.entries.len());
                let (mut k_key, mut k_idx) = (Vec::new(), Vec::new());
                for e in &batch.entries {
                    let i = i64_of(e.leaf_index.0)?;
                    idx.push(i);
                    lh.push(&e.leaf_hash[..]);
                    body.push(&e.body[..]);
                    it.push(e.integrated_time);
                    extra.push(e.extra_data.as_deref());
                    for k in &e.index_keys {
                        k_key.push(k.as_str());
                        k_idx.push(i);
                    }
                }
                sqlx::query(
                    "INSERT INTO entries (log_id, leaf_index, leaf_hash, body, integrated_time, extra_data) \
                     SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bigint[], $6::bytea[])",
                )
                .bind(log_id)
                .bind(&idx)
                .bind(&lh)
                .bind(&body)
                .bind(&it)
                .bind(&extra)
                .execute(&mut *tx)
                .await?;
                let levels: Vec<i16> = batch.nodes.iter().map(|(n, _)| i16::from(n.level)).collect();
                let nidx: Vec<i64> = batch.nodes.iter().map(|(n, _)| i64_of(n.index)).collect::<Result<_, _>>()?;
                let hashes: Vec<&[u8]> = batch.nodes.iter().map(|(_, h)| &h[..]).collect();
                sqlx::query(
                    "INSERT INTO nodes (log_id, level, node_index, hash) \
                     SELECT $1, * FROM UNNEST($2::smallint[], $3::bigint[], $4::bytea[])",
                )
                .bind(log_id)
                .bind(&levels)
                .bind(&nidx)
                .bind(&hashes)
                .execute(&mut *tx)
                .await?;
                if !k_key.is_empty() {
                    sqlx::query(
                        "INSERT INTO index_keys (log_id, key, leaf_index) SELECT $1, * FROM UNNEST($2::text[], $3::bigint[]) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(log_id)
                    .bind(&k_key)
                    .bind(&k_idx)
                    .execute(&mut *tx)
                    .await?;
                }
                if !batch.queue_results.is_empty() {
                    record_queue_results(&mut *tx, &batch.queue_results).await?;
                }
                tx.commit().await?;
            }
            Self::Sqlite(p) => {
                if fence.is_some() || !batch.queue_results.is_empty() {
                    return Err(Error::Config("SQLite logs are single-process: no replication".into()));
                }
                let mut tx = p.begin().await?;
                let moved = sqlx::query("UPDATE logs SET tree_size = ? WHERE log_id = ? AND tree_size = ?")
                    .bind(new)
                    .bind(log_id)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if moved != 1 {
                    return Err(Error::Conflict);
                }
                for e in &batch.entries {
                    let i = i64_of(e.leaf_index.0)?;
                    sqlx::query(
                        "INSERT INTO entries (log_id, leaf_index, leaf_hash, body, integrated_time, extra_data) \
                         VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(log_id)
                    .bind(i)
                    .bind(&e.leaf_hash[..])
                    .bind(&e.body[..])
                    .bind(e.integrated_time)
                    .bind(e.extra_data.as_deref())
                    .execute(&mut *tx)
                    .await?;
                    for k in &e.index_keys {
                        sqlx::query("INSERT OR IGNORE INTO index_keys (log_id, key, leaf_index) VALUES (?, ?, ?)")
                            .bind(log_id)
                            .bind(k)
                            .bind(i)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for (n, h) in &batch.nodes {
                    sqlx::query("INSERT INTO nodes (log_id, level, node_index, hash) VALUES (?, ?, ?, ?)")
                        .bind(log_id)
                        .bind(i64::from(n.level))
                        .bind(i64_of(n.index)?)
                        .bind(&h[..])
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
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

    pub async fn entry_by_index(&self, log_id: i16, index: LeafIndex) -> Result<Option<StoredEntry>, Error> {
        let sql =
            "SELECT leaf_index, leaf_hash, body, integrated_time, extra_data FROM entries WHERE log_id = $1 AND leaf_index = $2";
        let i = i64_of(index.0)?;
        let row: Option<EntryRow> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).bind(i).fetch_optional(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).bind(i).fetch_optional(p).await?,
        };
        row.map(Self::entry_from).transpose()
    }

    pub async fn entry_by_leaf_hash(&self, log_id: i16, leaf_hash: &Hash) -> Result<Option<StoredEntry>, Error> {
        let sql =
            "SELECT leaf_index, leaf_hash, body, integrated_time, extra_data FROM entries WHERE log_id = $1 AND leaf_hash = $2";
        let row: Option<EntryRow> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).bind(&leaf_hash[..]).fetch_optional(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).bind(&leaf_hash[..]).fetch_optional(p).await?,
        };
        row.map(Self::entry_from).transpose()
    }

    /// The entries `[start, end)` in index order, in one query (fewer if
    /// the log holds fewer).
    pub async fn entries_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> Result<Vec<StoredEntry>, Error> {
        if end.0 <= start.0 {
            return Ok(Vec::new());
        }
        let sql = "SELECT leaf_index, leaf_hash, body, integrated_time, extra_data FROM entries \
                   WHERE log_id = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index";
        let (a, b) = (i64_of(start.0)?, i64_of(end.0)?);
        let rows: Vec<EntryRow> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).bind(a).bind(b).fetch_all(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).bind(a).bind(b).fetch_all(p).await?,
        };
        rows.into_iter().map(Self::entry_from).collect()
    }

    /// Leaf indexes and leaf hashes stored under a search key, ascending by
    /// index, at most `limit`, in one query.
    pub async fn search_with_hashes(
        &self,
        log_id: i16,
        key: &str,
        limit: u32,
    ) -> Result<Vec<(LeafIndex, Hash)>, Error> {
        let sql = "SELECT k.leaf_index, e.leaf_hash FROM index_keys k \
                   JOIN entries e ON e.log_id = k.log_id AND e.leaf_index = k.leaf_index \
                   WHERE k.log_id = $1 AND k.key = $2 ORDER BY k.leaf_index LIMIT $3";
        let rows: Vec<(i64, Vec<u8>)> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).bind(key).bind(i64::from(limit)).fetch_all(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).bind(key).bind(i64::from(limit)).fetch_all(p).await?,
        };
        rows.into_iter().map(|(i, h)| Ok((LeafIndex(u64_of(i)?), hash_of(h)?))).collect()
    }

    /// One page of the entries stored under a search key, newest first:
    /// at most `limit` entries with an index below `before` (all when
    /// `None`), bodies included, in one query (the primary key
    /// `(log_id, key, leaf_index)` serves it as a backward range scan, so a
    /// page costs the same whatever the number of hits).
    pub async fn search_page(
        &self,
        log_id: i16,
        key: &str,
        before: Option<LeafIndex>,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, Error> {
        let sql = "SELECT e.leaf_index, e.leaf_hash, e.body, e.integrated_time, e.extra_data FROM index_keys k \
                   JOIN entries e ON e.log_id = k.log_id AND e.leaf_index = k.leaf_index \
                   WHERE k.log_id = $1 AND k.key = $2 AND k.leaf_index < $3 ORDER BY k.leaf_index DESC LIMIT $4";
        let before = match before {
            Some(b) => i64_of(b.0)?,
            None => i64::MAX,
        };
        let rows: Vec<EntryRow> = match self {
            Self::Postgres(p) => {
                sqlx::query_as(sql).bind(log_id).bind(key).bind(before).bind(i64::from(limit)).fetch_all(p).await?
            }
            Self::Sqlite(p) => {
                sqlx::query_as(sql).bind(log_id).bind(key).bind(before).bind(i64::from(limit)).fetch_all(p).await?
            }
        };
        rows.into_iter().map(Self::entry_from).collect()
    }

    /// The search keys stored for the entries `[start, end)`, by index (fsck).
    pub async fn index_keys_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> Result<Vec<(LeafIndex, String)>, Error> {
        let sql = "SELECT leaf_index, key FROM index_keys WHERE log_id = $1 AND leaf_index >= $2 AND leaf_index < $3";
        let (a, b) = (i64_of(start.0)?, i64_of(end.0)?);
        let rows: Vec<(i64, String)> = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).bind(a).bind(b).fetch_all(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).bind(a).bind(b).fetch_all(p).await?,
        };
        rows.into_iter().map(|(i, k)| Ok((LeafIndex(u64_of(i)?), k))).collect()
    }

    /// At most `limit` recorded checkpoints larger than `after`, by size (fsck).
    pub async fn checkpoints_after(
        &self,
        log_id: i16,
        after: TreeSize,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, Error> {
        let sql = "SELECT tree_size, root_hash, signed FROM checkpoints WHERE log_id = $1 AND tree_size > $2 \
                   ORDER BY tree_size LIMIT $3";
        let after = i64_of(after.0)?;
        let rows: Vec<(i64, Vec<u8>, String)> = match self {
            Self::Postgres(p) => {
                sqlx::query_as(sql).bind(log_id).bind(after).bind(i64::from(limit)).fetch_all(p).await?
            }
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).bind(after).bind(i64::from(limit)).fetch_all(p).await?,
        };
        rows.into_iter()
            .map(|(s, r, signed)| {
                Ok(StoredCheckpoint { tree_size: TreeSize(u64_of(s)?), root_hash: hash_of(r)?, signed })
            })
            .collect()
    }

    /// Rows of `log_id` in the entries, nodes and index tables (fsck).
    pub async fn row_counts(&self, log_id: i16) -> Result<(u64, u64, u64), Error> {
        let sql = "SELECT (SELECT count(*) FROM entries WHERE log_id = $1), \
                          (SELECT count(*) FROM nodes WHERE log_id = $1), \
                          (SELECT count(*) FROM index_keys WHERE log_id = $1)";
        let (e, n, k): (i64, i64, i64) = match self {
            Self::Postgres(p) => sqlx::query_as(sql).bind(log_id).fetch_one(p).await?,
            Self::Sqlite(p) => sqlx::query_as(sql).bind(log_id).fetch_one(p).await?,
        };
        Ok((u64_of(e)?, u64_of(n)?, u64_of(k)?))
    }

    fn postgres(&self) -> Result<&PgPool, Error> {
        match self {
            Self::Postgres(p) => Ok(p),
            Self::Sqlite(_) => Err(Error::Config("SQLite logs are single-process: no replication".into())),
        }
    }

    /// Takes the sequencer lease of `log_id` for `holder` if nobody holds it
    /// or its holder let it expire (by the database clock), with the next
    /// epoch; `None` while another replica holds it. Waits for a running
    /// fenced transaction of the old holder (its row lock) before taking over.
    pub async fn try_acquire_lease(&self, log_id: i16, holder: &str, lease: Duration) -> Result<Option<Lease>, Error> {
        let epoch: Option<i64> = sqlx::query_scalar(
            "INSERT INTO log_leases (log_id, holder, epoch, expires_at) \
             VALUES ($1, $2, 1, clock_timestamp() + make_interval(secs => $3)) \
             ON CONFLICT (log_id) DO UPDATE SET holder = excluded.holder, epoch = log_leases.epoch + 1, \
             expires_at = clock_timestamp() + make_interval(secs => $3) \
             WHERE log_leases.expires_at < clock_timestamp() RETURNING epoch",
        )
        .bind(log_id)
        .bind(holder)
        .bind(lease.as_secs_f64())
        .fetch_optional(self.postgres()?)
        .await?;
        Ok(epoch.map(|epoch| Lease { holder: holder.to_owned(), epoch }))
    }

    /// Extends a held lease by `lease` from now; `false` when it was lost
    /// (expired, or taken by another replica).
    pub async fn renew_lease(&self, log_id: i16, held: &Lease, lease: Duration) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE log_leases SET expires_at = clock_timestamp() + make_interval(secs => $4) \
             WHERE log_id = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()",
        )
        .bind(log_id)
        .bind(&held.holder)
        .bind(held.epoch)
        .bind(lease.as_secs_f64())
        .execute(self.postgres()?)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Gives a held lease up at once (graceful shutdown, step-down), so that
    /// another replica need not wait for it to expire.
    pub async fn release_lease(&self, log_id: i16, held: &Lease) -> Result<(), Error> {
        sqlx::query(
            "UPDATE log_leases SET expires_at = clock_timestamp() - interval '1 second' \
             WHERE log_id = $1 AND holder = $2 AND epoch = $3",
        )
        .bind(log_id)
        .bind(&held.holder)
        .bind(held.epoch)
        .execute(self.postgres()?)
        .await?;
        Ok(())
    }

    /// The current lease row (for status and tests).
    pub async fn current_lease(&self, log_id: i16) -> Result<Option<(Lease, bool)>, Error> {
        let row: Option<(String, i64, bool)> =
            sqlx::query_as("SELECT holder, epoch, expires_at > clock_timestamp() FROM log_leases WHERE log_id = $1")
                .bind(log_id)
                .fetch_optional(self.postgres()?)
                .await?;
        Ok(row.map(|(holder, epoch, live)| (Lease { holder, epoch }, live)))
    }

    /// Hands submissions to the leader: one insert for all of them, and a
    /// wake-up on [`queue_channel`]. Returns their queue IDs in order.
    pub async fn enqueue(&self, log_id: i16, subs: &[Handover<'_>]) -> Result<Vec<i64>, Error> {
        let leaves: Vec<&[u8]> = subs.iter().map(|s| s.leaf).collect();
        let hashes: Vec<&[u8]> = subs.iter().map(|s| &s.leaf_hash[..]).collect();
        // Postgres has no arrays of arrays of different lengths: each
        // submission's keys travel as one JSON array.
        let keys: Vec<String> = subs
            .iter()
            .map(|s| serde_json::to_string(s.index_keys))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Corrupt(format!("index keys: {e}")))?;
        let extra: Vec<Option<&[u8]>> = subs.iter().map(|s| s.extra_data).collect();
        let mut tx = self.postgres()?.begin().await?;
        // Not waiting for the WAL flush is safe here: nobody has been answered
        // yet, so a queue row lost in a database crash is a submission whose
        // client gets an error and retries, never a lost acknowledged entry.
        // It saves a disk flush per hand-over.
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO log_queue (log_id, leaf, leaf_hash, index_keys, extra_data) \
             SELECT $1, q.leaf, q.leaf_hash, \
                    ARRAY(SELECT json_array_elements_text(q.keys::json)), q.extra \
             FROM UNNEST($2::bytea[], $3::bytea[], $4::text[], $5::bytea[]) WITH ORDINALITY AS q(leaf, leaf_hash, keys, extra, n) \
             ORDER BY q.n RETURNING queue_id",
        )
        .bind(log_id)
        .bind(&leaves)
        .bind(&hashes)
        .bind(&keys)
        .bind(&extra)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("SELECT pg_notify($1, '')").bind(queue_channel(log_id)).execute(&mut *tx).await?;
        tx.commit().await?;
        if ids.len() != subs.len() {
            return Err(Error::Corrupt("queue insert returned a different number of rows".into()));
        }
        Ok(ids)
    }

    /// The oldest submissions still waiting for the leader, at most `limit`.
    pub async fn dequeue(&self, log_id: i16, limit: usize) -> Result<Vec<QueuedSubmission>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<QueueRow> = sqlx::query_as(
            "SELECT queue_id, leaf, leaf_hash, index_keys, extra_data FROM log_queue \
             WHERE log_id = $1 AND leaf_index IS NULL ORDER BY queue_id LIMIT $2",
        )
        .bind(log_id)
        .bind(limit)
        .fetch_all(self.postgres()?)
        .await?;
        rows.into_iter()
            .map(|(queue_id, leaf, h, index_keys, extra_data)| {
                Ok(QueuedSubmission { queue_id, leaf, leaf_hash: hash_of(h)?, index_keys, extra_data })
            })
            .collect()
    }

    /// Records outcomes of queued submissions that needed no integration
    /// (every one a duplicate).
    pub async fn record_queue_results(&self, results: &[QueueResult]) -> Result<(), Error> {
        record_queue_results(self.postgres()?, results).await
    }

    /// The outcomes the leader has recorded for `ids` (those still waiting are absent).
    pub async fn queue_results(&self, ids: &[i64]) -> Result<Vec<QueueResult>, Error> {
        let rows: Vec<(i64, i64, bool, i64)> = sqlx::query_as(
            "SELECT queue_id, leaf_index, duplicate, integrated_time FROM log_queue \
             WHERE queue_id = ANY($1) AND leaf_index IS NOT NULL",
        )
        .bind(ids)
        .fetch_all(self.postgres()?)
        .await?;
        rows.into_iter()
            .map(|(queue_id, i, duplicate, integrated_time)| {
                Ok(QueueResult { queue_id, leaf_index: LeafIndex(u64_of(i)?), duplicate, integrated_time })
            })
            .collect()
    }

    /// Deletes answered queue rows.
    pub async fn delete_queued(&self, ids: &[i64]) -> Result<(), Error> {
        // Asynchronous commit: a row that survives a crash is pruned later.
        let mut tx = self.postgres()?.begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM log_queue WHERE queue_id = ANY($1)").bind(ids).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Withdraws submissions whose submitter stopped waiting, if the leader
    /// has not taken them yet; returns the IDs it withdrew.
    pub async fn withdraw_queued(&self, ids: &[i64]) -> Result<Vec<i64>, Error> {
        Ok(sqlx::query_scalar(
            "DELETE FROM log_queue WHERE queue_id = ANY($1) AND leaf_index IS NULL RETURNING queue_id",
        )
        .bind(ids)
        .fetch_all(self.postgres()?)
        .await?)
    }

    /// Deletes queue rows older than `age` (answered rows whose submitting
    /// replica died before deleting them, and submissions nobody waits for).
    pub async fn prune_queue(&self, log_id: i16, age: Duration) -> Result<u64, Error> {
        Ok(sqlx::query(
            "DELETE FROM log_queue WHERE log_id = $1 AND enqueued_at < clock_timestamp() - make_interval(secs => $2)",
        )
        .bind(log_id)
        .bind(age.as_secs_f64())
        .execute(self.postgres()?)
        .await?
        .rows_affected())
    }

    /// Liveness probe for `/readyz`.
    pub async fn ping(&self) -> Result<(), Error> {
        match self {
            Self::Postgres(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
            Self::Sqlite(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
        }
        Ok(())
    }
}

/// Holds the lease row `FOR SHARE` for the rest of `tx` and checks that
/// `lease` is still the live holder by the database clock.
async fn hold_fence(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, log_id: i16, lease: &Lease) -> Result<(), Error> {
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT epoch FROM log_leases WHERE log_id = $1 AND holder = $2 AND epoch = $3 \
         AND expires_at > clock_timestamp() FOR SHARE",
    )
    .bind(log_id)
    .bind(&lease.holder)
    .bind(lease.epoch)
    .fetch_optional(&mut **tx)
    .await?;
    match live {
        Some(_) => Ok(()),
        None => Err(Error::Deposed),
    }
}

async fn record_queue_results<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Postgres>,
    results: &[QueueResult],
) -> Result<(), Error> {
    let ids: Vec<i64> = results.iter().map(|r| r.queue_id).collect();
    let idx: Vec<i64> = results.iter().map(|r| i64_of(r.leaf_index.0)).collect::<Result<_, _>>()?;
    let dup: Vec<bool> = results.iter().map(|r| r.duplicate).collect();
    let it: Vec<i64> = results.iter().map(|r| r.integrated_time).collect();
    sqlx::query(
        "UPDATE log_queue SET leaf_index = r.leaf_index, duplicate = r.duplicate, integrated_time = r.integrated_time \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bool[], $4::bigint[]) AS r(queue_id, leaf_index, duplicate, integrated_time) \
         WHERE log_queue.queue_id = r.queue_id",
    )
    .bind(&ids)
    .bind(&idx)
    .bind(&dup)
    .bind(&it)
    .execute(executor)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list names every file of `migrations/<backend>`, in order,
    /// with the file's exact bytes (so sqlx's checksums match earlier builds').
    #[test]
    fn embedded_migrations_are_the_migration_directories() {
        for (dir, list) in [("postgres", PG_MIGRATIONS), ("sqlite", SQLITE_MIGRATIONS)] {
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
