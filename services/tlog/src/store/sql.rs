//! SQL text both backends run unchanged (`$N` placeholders work in SQLite
//! too). What differs between them lives in `postgres.rs` and `sqlite.rs`.

pub(super) const LOAD_LOG: &str = "SELECT log_id, tree_id, tree_size, created_at FROM logs WHERE name = $1";

pub(super) const CREATE_LOG: &str =
    "INSERT INTO logs (name, tree_id, tree_size, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT (name) DO NOTHING";

pub(super) const APPLIED_MIGRATIONS: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

pub(super) const LATEST_CHECKPOINT: &str = "SELECT tree_size, root_hash, signed, signed_at FROM checkpoints \
                                            WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1";

/// Inserts a checkpoint, or replaces the signed text of one with the same
/// root; a different root for a recorded size changes no row.
pub(super) const STORE_CHECKPOINT: &str =
    "INSERT INTO checkpoints (log_id, tree_size, root_hash, signed, signed_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (log_id, tree_size) DO UPDATE SET signed = excluded.signed, signed_at = excluded.signed_at \
     WHERE checkpoints.root_hash = excluded.root_hash";

/// The compare-and-swap of `integrate`.
pub(super) const MOVE_TREE_SIZE: &str = "UPDATE logs SET tree_size = $1 WHERE log_id = $2 AND tree_size = $3";

pub(super) const ENTRY_BY_INDEX: &str = "SELECT leaf_index, leaf_hash, body, integrated_time, extra_data FROM entries \
                                         WHERE log_id = $1 AND leaf_index = $2";

pub(super) const ENTRY_BY_LEAF_HASH: &str = "SELECT leaf_index, leaf_hash, body, integrated_time, extra_data \
                                             FROM entries WHERE log_id = $1 AND leaf_hash = $2";

pub(super) const ENTRIES_RANGE: &str = "SELECT leaf_index, leaf_hash, body, integrated_time, extra_data FROM entries \
                                        WHERE log_id = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index";

pub(super) const SEARCH_WITH_HASHES: &str = "SELECT k.leaf_index, e.leaf_hash FROM index_keys k \
     JOIN entries e ON e.log_id = k.log_id AND e.leaf_index = k.leaf_index \
     WHERE k.log_id = $1 AND k.key = $2 ORDER BY k.leaf_index LIMIT $3";

/// The primary key `(log_id, key, leaf_index)` serves it as a backward range
/// scan, so a page costs the same whatever the number of hits.
pub(super) const SEARCH_PAGE: &str =
    "SELECT e.leaf_index, e.leaf_hash, e.body, e.integrated_time, e.extra_data FROM index_keys k \
     JOIN entries e ON e.log_id = k.log_id AND e.leaf_index = k.leaf_index \
     WHERE k.log_id = $1 AND k.key = $2 AND k.leaf_index < $3 ORDER BY k.leaf_index DESC LIMIT $4";

pub(super) const INDEX_KEYS_RANGE: &str =
    "SELECT leaf_index, key FROM index_keys WHERE log_id = $1 AND leaf_index >= $2 AND leaf_index < $3";

pub(super) const CHECKPOINTS_AFTER: &str = "SELECT tree_size, root_hash, signed FROM checkpoints \
                                            WHERE log_id = $1 AND tree_size > $2 ORDER BY tree_size LIMIT $3";

pub(super) const ROW_COUNTS: &str = "SELECT (SELECT count(*) FROM entries WHERE log_id = $1), \
                                     (SELECT count(*) FROM nodes WHERE log_id = $1), \
                                     (SELECT count(*) FROM index_keys WHERE log_id = $1)";

pub(super) const PING: &str = "SELECT 1";
