//! The Postgres backend of [`LogStore`]: production, and the only one that
//! replicates (lease and hand-over queue; see the crate docs, "Replication
//! protocol").
//!
//! What it guarantees beyond the contract in [`super`]:
//! * every write is one transaction at `READ COMMITTED`; `integrate`'s
//!   compare-and-swap on `logs.tree_size` and the unique indexes make a
//!   second writer fail, never fork;
//! * a transaction that has not committed when the process or the
//!   connection dies leaves nothing (Postgres rolls it back); a commit whose
//!   acknowledgement is lost (the connection drops during `COMMIT`) may have
//!   happened: the caller sees an error, the sequencer recovers from the
//!   stored tree size, never from what it believed it wrote;
//! * fenced writes hold the lease row `FOR KEY SHARE` and a takeover locks
//!   it `FOR UPDATE` before changing the holder, so a takeover waits for
//!   them: every commit of epoch N precedes the first write of epoch N+1.
//!   The holder's renewals (a no-key update of `expires_at`) do not wait
//!   for its own running batch: with `FOR SHARE`, a batch that took longer
//!   than a renewal interval made its leader miss renewals and step down.

use super::sql;
use super::{
    checkpoint_channel, hash_of, i64_of, level_of, migrator, queue_channel, u64_of, EmbeddedMigrations, EntryRow,
    Handover, Lease, LogRow, LogStore, QueueResult, QueueRow, QueuedSubmission, StoredCheckpoint, StoredEntry,
};
use crate::{Error, LeafIndex, TreeSize};
use sigstead_merkle::{Hash, NodeId};
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::time::Duration;

pub(super) const MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (1, "log engine", include_str!("../../../../migrations/postgres/0001_log_engine.sql")),
    (2, "entry extra data", include_str!("../../../../migrations/postgres/0002_entry_extra_data.sql")),
    (3, "replication", include_str!("../../../../migrations/postgres/0003_replication.sql")),
]);

impl LogStore for PgPool {
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
        row.map(|r| {
            super::log_row(i64::from(r.get::<i16, _>(0)), r.get::<i64, _>(1), r.get::<i64, _>(2), r.get::<i64, _>(3))
        })
        .transpose()
    }

    async fn create_log(&self, name: &str, tree_id: std::num::NonZeroI64, now: i64) -> Result<LogRow, Error> {
        // Replicas starting together may race here: the first insert wins and
        // every replica then reads the same row.
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
        let size = i64_of(cp.tree_size.0)?;
        let mut tx = self.begin().await?;
        if let Some(lease) = fence {
            hold_fence(&mut tx, log_id, lease).await?;
        }
        let done = sqlx::query(sql::STORE_CHECKPOINT)
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
        super::checkpoint_written(done, cp)
    }

    async fn nodes(&self, log_id: i16, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, Error> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        let levels: Vec<i16> = ids.iter().map(|n| i16::from(n.level)).collect();
        let indexes: Vec<i64> = ids.iter().map(|n| i64_of(n.index)).collect::<Result<_, _>>()?;
        let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT n.level, n.node_index, n.hash FROM nodes n \
             JOIN UNNEST($2::smallint[], $3::bigint[]) AS q(level, node_index) \
             ON n.level = q.level AND n.node_index = q.node_index WHERE n.log_id = $1",
        )
        .bind(log_id)
        .bind(&levels)
        .bind(&indexes)
        .fetch_all(self)
        .await?;
        for (l, i, h) in rows {
            out.insert(NodeId::new(level_of(i64::from(l))?, u64_of(i)?), hash_of(h)?);
        }
        Ok(out)
    }

    async fn find_leaves(&self, log_id: i16, hashes: &[Hash]) -> Result<HashMap<Hash, LeafIndex>, Error> {
        let mut out = HashMap::new();
        if hashes.is_empty() {
            return Ok(out);
        }
        let hs: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
        let rows: Vec<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT leaf_hash, leaf_index FROM entries WHERE log_id = $1 AND leaf_hash = ANY($2)")
                .bind(log_id)
                .bind(&hs)
                .fetch_all(self)
                .await?;
        for (h, i) in rows {
            out.insert(hash_of(h)?, LeafIndex(u64_of(i)?));
        }
        Ok(out)
    }

    async fn integrate(
        &self,
        log_id: i16,
        expected_size: TreeSize,
        batch: &super::Batch,
        fence: Option<&Lease>,
    ) -> Result<(), Error> {
        let (old, new) = super::sizes_of(expected_size, batch)?;
        let mut tx = self.begin().await?;
        if let Some(lease) = fence {
            hold_fence(&mut tx, log_id, lease).await?;
        }
        let moved =
            sqlx::query(sql::MOVE_TREE_SIZE).bind(new).bind(log_id).bind(old).execute(&mut *tx).await?.rows_affected();
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

    fn replicated(&self) -> bool {
        true
    }

    async fn try_acquire_lease(&self, log_id: i16, holder: &str, lease: Duration) -> Result<Option<Lease>, Error> {
        // A first look without a lock: a live lease is not taken (followers
        // poll this; they must not queue behind the leader's transactions).
        let live: Option<bool> =
            sqlx::query_scalar("SELECT expires_at > clock_timestamp() FROM log_leases WHERE log_id = $1")
                .bind(log_id)
                .fetch_optional(self)
                .await?;
        if live == Some(true) {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        // FOR UPDATE conflicts with the fence's FOR KEY SHARE: this waits
        // until every fenced transaction of the previous holder has ended, so
        // its commits precede the new epoch (the upsert alone takes a weaker
        // lock that would not wait).
        sqlx::query("SELECT 1 FROM log_leases WHERE log_id = $1 FOR UPDATE").bind(log_id).execute(&mut *tx).await?;
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
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(epoch.map(|epoch| Lease { holder: holder.to_owned(), epoch }))
    }

    async fn renew_lease(&self, log_id: i16, held: &Lease, lease: Duration) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE log_leases SET expires_at = clock_timestamp() + make_interval(secs => $4) \
             WHERE log_id = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()",
        )
        .bind(log_id)
        .bind(&held.holder)
        .bind(held.epoch)
        .bind(lease.as_secs_f64())
        .execute(self)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    async fn release_lease(&self, log_id: i16, held: &Lease) -> Result<(), Error> {
        sqlx::query(
            "UPDATE log_leases SET expires_at = clock_timestamp() - interval '1 second' \
             WHERE log_id = $1 AND holder = $2 AND epoch = $3",
        )
        .bind(log_id)
        .bind(&held.holder)
        .bind(held.epoch)
        .execute(self)
        .await?;
        Ok(())
    }

    async fn current_lease(&self, log_id: i16) -> Result<Option<(Lease, bool)>, Error> {
        let row: Option<(String, i64, bool)> =
            sqlx::query_as("SELECT holder, epoch, expires_at > clock_timestamp() FROM log_leases WHERE log_id = $1")
                .bind(log_id)
                .fetch_optional(self)
                .await?;
        Ok(row.map(|(holder, epoch, live)| (Lease { holder, epoch }, live)))
    }

    async fn enqueue(&self, log_id: i16, subs: &[Handover<'_>]) -> Result<Vec<i64>, Error> {
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
        let mut tx = self.begin().await?;
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

    async fn dequeue(&self, log_id: i16, limit: usize) -> Result<Vec<QueuedSubmission>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<QueueRow> = sqlx::query_as(
            "SELECT queue_id, leaf, leaf_hash, index_keys, extra_data FROM log_queue \
             WHERE log_id = $1 AND leaf_index IS NULL ORDER BY queue_id LIMIT $2",
        )
        .bind(log_id)
        .bind(limit)
        .fetch_all(self)
        .await?;
        rows.into_iter()
            .map(|(queue_id, leaf, h, index_keys, extra_data)| {
                Ok(QueuedSubmission { queue_id, leaf, leaf_hash: hash_of(h)?, index_keys, extra_data })
            })
            .collect()
    }

    async fn record_queue_results(&self, results: &[QueueResult]) -> Result<(), Error> {
        record_queue_results(self, results).await
    }

    async fn queue_results(&self, ids: &[i64]) -> Result<Vec<QueueResult>, Error> {
        let rows: Vec<(i64, i64, bool, i64)> = sqlx::query_as(
            "SELECT queue_id, leaf_index, duplicate, integrated_time FROM log_queue \
             WHERE queue_id = ANY($1) AND leaf_index IS NOT NULL",
        )
        .bind(ids)
        .fetch_all(self)
        .await?;
        rows.into_iter()
            .map(|(queue_id, i, duplicate, integrated_time)| {
                Ok(QueueResult { queue_id, leaf_index: LeafIndex(u64_of(i)?), duplicate, integrated_time })
            })
            .collect()
    }

    async fn delete_queued(&self, ids: &[i64]) -> Result<(), Error> {
        // Asynchronous commit: a row that survives a crash is pruned later.
        let mut tx = self.begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM log_queue WHERE queue_id = ANY($1)").bind(ids).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn withdraw_queued(&self, ids: &[i64]) -> Result<Vec<i64>, Error> {
        Ok(sqlx::query_scalar(
            "DELETE FROM log_queue WHERE queue_id = ANY($1) AND leaf_index IS NULL RETURNING queue_id",
        )
        .bind(ids)
        .fetch_all(self)
        .await?)
    }

    async fn prune_queue(&self, log_id: i16, age: Duration) -> Result<u64, Error> {
        Ok(sqlx::query(
            "DELETE FROM log_queue WHERE log_id = $1 AND enqueued_at < clock_timestamp() - make_interval(secs => $2)",
        )
        .bind(log_id)
        .bind(age.as_secs_f64())
        .execute(self)
        .await?
        .rows_affected())
    }
}

/// Holds the lease row `FOR KEY SHARE` for the rest of `tx` and checks that
/// `lease` is still the live holder by the database clock. `FOR KEY SHARE`
/// lets the holder's own renewals (an update of `expires_at` only) proceed
/// while a long batch commits, and blocks a takeover, which locks the row
/// `FOR UPDATE` first.
async fn hold_fence(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, log_id: i16, lease: &Lease) -> Result<(), Error> {
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT epoch FROM log_leases WHERE log_id = $1 AND holder = $2 AND epoch = $3 \
         AND expires_at > clock_timestamp() FOR KEY SHARE",
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
