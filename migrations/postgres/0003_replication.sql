-- Replication (Postgres only; SQLite is single-process). See the log engine's
-- crate docs, "Replication protocol".

-- The sequencer lease of each log: the one replica allowed to integrate and
-- record checkpoints. `epoch` grows by one at every change of holder and
-- fences writes: the integrating transaction holds this row FOR SHARE and
-- checks its epoch and `expires_at` against the database clock, so a
-- deposed leader's transaction fails, and a takeover waits for a running one.
CREATE TABLE log_leases (
    log_id     SMALLINT    NOT NULL PRIMARY KEY REFERENCES logs(log_id),
    holder     TEXT        NOT NULL,
    epoch      BIGINT      NOT NULL CHECK (epoch > 0),
    expires_at TIMESTAMPTZ NOT NULL
);

-- Submissions a replica that does not hold the lease hands to the one that
-- does. The leader integrates them and, in the same transaction, fills in
-- `leaf_index` (and `duplicate` when the leaf was already in the log); the
-- submitting replica answers its client once a recorded checkpoint covers
-- that index, then deletes the row.
CREATE TABLE log_queue (
    queue_id        BIGSERIAL   PRIMARY KEY,
    log_id          SMALLINT    NOT NULL REFERENCES logs(log_id),
    leaf            BYTEA       NOT NULL,
    leaf_hash       BYTEA       NOT NULL CHECK (length(leaf_hash) = 32),
    index_keys      TEXT[]      NOT NULL,
    extra_data      BYTEA,
    enqueued_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    leaf_index      BIGINT      CHECK (leaf_index >= 0),
    duplicate       BOOLEAN     NOT NULL DEFAULT FALSE,
    integrated_time BIGINT
);
CREATE INDEX log_queue_waiting ON log_queue (log_id, queue_id) WHERE leaf_index IS NULL;
