-- Sigstead log engine schema (embedded SQLite). Same model as
-- migrations/postgres/0001_log_engine.sql; see the comments there.

CREATE TABLE logs (
    log_id      INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    tree_id     INTEGER NOT NULL CHECK (tree_id > 0),
    tree_size   INTEGER NOT NULL DEFAULT 0 CHECK (tree_size >= 0),
    created_at  INTEGER NOT NULL
);

CREATE TABLE entries (
    log_id          INTEGER NOT NULL REFERENCES logs(log_id),
    leaf_index      INTEGER NOT NULL CHECK (leaf_index >= 0),
    leaf_hash       BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
    body            BLOB    NOT NULL,
    integrated_time INTEGER NOT NULL,
    PRIMARY KEY (log_id, leaf_index)
) WITHOUT ROWID;
CREATE UNIQUE INDEX entries_leaf_hash ON entries (log_id, leaf_hash);

CREATE TABLE nodes (
    log_id     INTEGER NOT NULL REFERENCES logs(log_id),
    level      INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
    node_index INTEGER NOT NULL CHECK (node_index >= 0),
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, level, node_index)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    log_id     INTEGER NOT NULL REFERENCES logs(log_id),
    tree_size  INTEGER NOT NULL CHECK (tree_size >= 0),
    root_hash  BLOB    NOT NULL CHECK (length(root_hash) = 32),
    signed     TEXT    NOT NULL,
    signed_at  INTEGER NOT NULL,
    PRIMARY KEY (log_id, tree_size)
) WITHOUT ROWID;

CREATE TABLE index_keys (
    log_id     INTEGER NOT NULL REFERENCES logs(log_id),
    key        TEXT    NOT NULL,
    leaf_index INTEGER NOT NULL,
    PRIMARY KEY (log_id, key, leaf_index)
) WITHOUT ROWID;
