//! The SQLite backend of [`LogStore`]: the embedded, zero-setup default.
//! Single-process (the file's process lock, [`crate::sqlite_lock`]), so it
//! has no lease and no hand-over queue: those methods refuse.
//!
//! What it guarantees beyond the contract in [`super`]:
//! * WAL journal with `synchronous=FULL`: a committed transaction survives
//!   SIGKILL and power loss; an uncommitted one leaves nothing;
//! * one writer at a time (SQLite's database lock, waited for up to the
//!   busy timeout of 10 s); readers see the last committed state and do not
//!   block the writer;
//! * batched lookups are chunked to stay below SQLite's limit on bound
//!   variables.

use super::{
    hash_of, i64_of, level_of, migrator, sql, u64_of, Batch, EmbeddedMigrations, EntryRow, Lease, LogRow, LogStore,
    StoredCheckpoint, StoredEntry,
};
use crate::{Error, LeafIndex, TreeSize};
use sigstead_merkle::{Hash, NodeId};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;

pub(super) const MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (1, "log engine", include_str!("../../../../migrations/sqlite/0001_log_engine.sql")),
    (2, "entry extra data", include_str!("../../../../migrations/sqlite/0002_entry_extra_data.sql")),
]);

impl LogStore for SqlitePool {
    async fn migrate(&self) -> Result<(), Error> {
        migrator(MIGRATIONS).await?.run(self).await?;
        Ok(())
    }

    async fn applied_migrations(&self) -> Result<(Vec<i64>, Vec<i64>), Error> {
        let applied = sqlx::query_scalar(sql::APPLIED_MIGRATIONS).fetch_all(self).await;
        let applied = applied.map_err(|_| super::no_schema())?;
        Ok((applied, MIGRATIONS.versions()))
    }

    async fn load_log(&self, name: &str) -> Result<Option<LogRow>, Error> {
        let row = sqlx::query(sql::LOAD_LOG).bind(name).fetch_optional(self).await?;
        row.map(|r| super::log_row(r.get::<i64, _>(0), r.get::<i64, _>(1), r.get::<i64, _>(2), r.get::<i64, _>(3)))
            .transpose()
    }

    async fn create_log(&self, name: &str, tree_id: std::num::NonZeroI64, now: i64) -> Result<LogRow, Error> {
        sqlx::query(sql::CREATE_LOG).bind(name).bind(tree_id.get()).bind(now).execute(self).await?;
        self.load_log(name).await?.ok_or_else(|| Error::Corrupt("log row vanished after insert".into()))
    }

    async fn latest_checkpoint_with_time(&self, log_id: i16) -> Result<Option<(StoredCheckpoint, i64)>, Error> {
        let row: Option<(i64, Vec<u8>, String, i64)> =
            sqlx::query_as(sql::LATEST_CHECKPOINT).bind(log_id).fetch_optional(self).await?;
        row.map(|(s, r, signed, at)| Ok((super::checkpoint_row(s, r, signed)?, at))).transpose()
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
        let done = sqlx::query(sql::STORE_CHECKPOINT)
            .bind(log_id)
            .bind(i64_of(cp.tree_size.0)?)
            .bind(&cp.root_hash[..])
            .bind(&cp.signed)
            .bind(now)
            .execute(self)
            .await?
            .rows_affected();
        super::checkpoint_written(done, cp)
    }

    async fn nodes(&self, log_id: i16, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, Error> {
        let mut out = HashMap::with_capacity(ids.len());
        // A proof needs at most a few hundred nodes; chunk to stay under SQLite's variable limit.
        for chunk in ids.chunks(400) {
            let placeholders = vec!["(?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "WITH q(level, node_index) AS (VALUES {placeholders}) \
                 SELECT n.level, n.node_index, n.hash FROM nodes n JOIN q \
                 ON n.level = q.level AND n.node_index = q.node_index WHERE n.log_id = ?"
            );
            let mut q = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(&sql);
            for n in chunk {
                q = q.bind(i64::from(n.level)).bind(i64_of(n.index)?);
            }
            for (l, i, h) in q.bind(log_id).fetch_all(self).await? {
                out.insert(NodeId::new(level_of(l)?, u64_of(i)?), hash_of(h)?);
            }
        }
        Ok(out)
    }

    async fn find_leaves(&self, log_id: i16, hashes: &[Hash]) -> Result<HashMap<Hash, LeafIndex>, Error> {
        let mut out = HashMap::new();
        for chunk in hashes.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql =
                format!("SELECT leaf_hash, leaf_index FROM entries WHERE log_id = ? AND leaf_hash IN ({placeholders})");
            let mut q = sqlx::query_as::<_, (Vec<u8>, i64)>(&sql).bind(log_id);
            for h in chunk {
                q = q.bind(&h[..]);
            }
            for (h, i) in q.fetch_all(self).await? {
                out.insert(hash_of(h)?, LeafIndex(u64_of(i)?));
            }
        }
        Ok(out)
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
        let (old, new) = super::sizes_of(expected_size, batch)?;
        let mut tx = self.begin().await?;
        let moved =
            sqlx::query(sql::MOVE_TREE_SIZE).bind(new).bind(log_id).bind(old).execute(&mut *tx).await?.rows_affected();
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
        Ok(())
    }

    async fn entry_by_index(&self, log_id: i16, index: LeafIndex) -> Result<Option<StoredEntry>, Error> {
        let row: Option<EntryRow> =
            sqlx::query_as(sql::ENTRY_BY_INDEX).bind(log_id).bind(i64_of(index.0)?).fetch_optional(self).await?;
        row.map(super::entry_from).transpose()
    }

    async fn entry_by_leaf_hash(&self, log_id: i16, leaf_hash: &Hash) -> Result<Option<StoredEntry>, Error> {
        let row: Option<EntryRow> =
            sqlx::query_as(sql::ENTRY_BY_LEAF_HASH).bind(log_id).bind(&leaf_hash[..]).fetch_optional(self).await?;
        row.map(super::entry_from).transpose()
    }

    async fn entries_range(&self, log_id: i16, start: LeafIndex, end: LeafIndex) -> Result<Vec<StoredEntry>, Error> {
        if end.0 <= start.0 {
            return Ok(Vec::new());
        }
        let rows: Vec<EntryRow> = sqlx::query_as(sql::ENTRIES_RANGE)
            .bind(log_id)
            .bind(i64_of(start.0)?)
            .bind(i64_of(end.0)?)
            .fetch_all(self)
            .await?;
        rows.into_iter().map(super::entry_from).collect()
    }

    async fn search_with_hashes(&self, log_id: i16, key: &str, limit: u32) -> Result<Vec<(LeafIndex, Hash)>, Error> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(sql::SEARCH_WITH_HASHES)
            .bind(log_id)
            .bind(key)
            .bind(i64::from(limit))
            .fetch_all(self)
            .await?;
        rows.into_iter().map(|(i, h)| Ok((LeafIndex(u64_of(i)?), hash_of(h)?))).collect()
    }

    async fn search_page(
        &self,
        log_id: i16,
        key: &str,
        before: Option<LeafIndex>,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, Error> {
        let rows: Vec<EntryRow> = sqlx::query_as(sql::SEARCH_PAGE)
            .bind(log_id)
            .bind(key)
            .bind(super::before_of(before)?)
            .bind(i64::from(limit))
            .fetch_all(self)
            .await?;
        rows.into_iter().map(super::entry_from).collect()
    }

    async fn index_keys_range(
        &self,
        log_id: i16,
        start: LeafIndex,
        end: LeafIndex,
    ) -> Result<Vec<(LeafIndex, String)>, Error> {
        let rows: Vec<(i64, String)> = sqlx::query_as(sql::INDEX_KEYS_RANGE)
            .bind(log_id)
            .bind(i64_of(start.0)?)
            .bind(i64_of(end.0)?)
            .fetch_all(self)
            .await?;
        rows.into_iter().map(|(i, k)| Ok((LeafIndex(u64_of(i)?), k))).collect()
    }

    async fn checkpoints_after(
        &self,
        log_id: i16,
        after: TreeSize,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, Error> {
        let rows: Vec<(i64, Vec<u8>, String)> = sqlx::query_as(sql::CHECKPOINTS_AFTER)
            .bind(log_id)
            .bind(i64_of(after.0)?)
            .bind(i64::from(limit))
            .fetch_all(self)
            .await?;
        rows.into_iter().map(|(s, r, signed)| super::checkpoint_row(s, r, signed)).collect()
    }

    async fn row_counts(&self, log_id: i16) -> Result<(u64, u64, u64), Error> {
        let (e, n, k): (i64, i64, i64) = sqlx::query_as(sql::ROW_COUNTS).bind(log_id).fetch_one(self).await?;
        Ok((u64_of(e)?, u64_of(n)?, u64_of(k)?))
    }

    async fn ping(&self) -> Result<(), Error> {
        sqlx::query(sql::PING).execute(self).await?;
        Ok(())
    }
}
