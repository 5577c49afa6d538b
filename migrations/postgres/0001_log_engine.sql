-- Sigstead log engine schema (Postgres). Applied by `sigstead migrate`.
-- One database may hold several logs (the Rekor log, the CT log); every table
-- is keyed by the small integer `log_id`.

CREATE TABLE logs (
    log_id      SMALLSERIAL PRIMARY KEY,
    name        TEXT        NOT NULL UNIQUE,
    -- Rekor v1 tree ID: non-zero, part of the origin and of every entry ID.
    tree_id     BIGINT      NOT NULL CHECK (tree_id > 0),
    -- Number of leaves durably integrated. Moves only forward, and only in the
    -- same transaction that writes those leaves and their nodes.
    tree_size   BIGINT      NOT NULL DEFAULT 0 CHECK (tree_size >= 0),
    created_at  BIGINT      NOT NULL
);

-- Leaves. `leaf_hash` is the RFC 6962 leaf hash of `body` (the entry UUID).
CREATE TABLE entries (
    log_id          SMALLINT NOT NULL REFERENCES logs(log_id),
    leaf_index      BIGINT   NOT NULL CHECK (leaf_index >= 0),
    leaf_hash       BYTEA    NOT NULL CHECK (length(leaf_hash) = 32),
    body            BYTEA    NOT NULL,
    integrated_time BIGINT   NOT NULL,
    PRIMARY KEY (log_id, leaf_index)
);
CREATE UNIQUE INDEX entries_leaf_hash ON entries (log_id, leaf_hash);

-- Hash of every perfect subtree: (level, index) covers leaves
-- [index << level, (index + 1) << level). Proofs read O(log n) of these.
CREATE TABLE nodes (
    log_id  SMALLINT NOT NULL REFERENCES logs(log_id),
    level   SMALLINT NOT NULL CHECK (level >= 0 AND level < 64),
    node_index BIGINT NOT NULL CHECK (node_index >= 0),
    hash    BYTEA    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, level, node_index)
);

-- Every checkpoint the log has signed. The newest is the published tree head.
CREATE TABLE checkpoints (
    log_id     SMALLINT NOT NULL REFERENCES logs(log_id),
    tree_size  BIGINT   NOT NULL CHECK (tree_size >= 0),
    root_hash  BYTEA    NOT NULL CHECK (length(root_hash) = 32),
    signed     TEXT     NOT NULL,
    signed_at  BIGINT   NOT NULL,
    PRIMARY KEY (log_id, tree_size)
);

-- Search keys (artifact digests, key fingerprints, identities) per entry.
CREATE TABLE index_keys (
    log_id     SMALLINT NOT NULL REFERENCES logs(log_id),
    key        TEXT     NOT NULL,
    leaf_index BIGINT   NOT NULL,
    PRIMARY KEY (log_id, key, leaf_index)
);
