//! The Sigstead log engine: an append-only RFC 6962 Merkle tree in a
//! database, with a batching sequencer and signed checkpoints.
//!
//! The Rekor-compatible log uses it directly; the CT log reuses it with its
//! own leaf format and tree-head signer ([`CheckpointSigner`]).
//!
//! # Commit protocol
//!
//! One sequencer task owns the right edge of the tree. For every batch:
//!
//! 1. **Collect** submissions (up to `max_entries`, or until `max_delay`
//!    passes after the first one). *Crash here*: nothing was written and
//!    nobody was answered; clients retry.
//! 2. **Deduplicate** against the batch and the database. Duplicates are
//!    answered with the existing index after the batch commits.
//! 3. **Integrate**: assign the next indices, extend the in-memory compact
//!    range, and write leaves, every newly completed node, search keys and
//!    the new `logs.tree_size` in **one transaction**, conditional on the
//!    tree size it started from (a second writer makes it fail, not fork).
//!    *Crash before commit*: nothing durable, nobody answered. *Crash after
//!    commit*: the leaves are durable but not yet covered by a checkpoint; at
//!    start-up [`Log::open`] sees `tree_size` ahead of the newest checkpoint
//!    and finishes steps 4–5 for them. Nobody was answered; a retry gets 409.
//! 4. **Prove, then sign**: build the consistency proof from the newest signed
//!    checkpoint to the new tree and verify it against both roots; only then
//!    sign. *Crash after signing*: the signature is lost; the same tree is
//!    signed again at start-up (same size, same root: nothing forks).
//! 5. **Record** the signed checkpoint. Only a checkpoint for the same size and
//!    the same root may overwrite it.
//! 6. **Answer** every submitter with its index, the checkpoint and an
//!    inclusion proof against it. An entry is acknowledged only here, after
//!    steps 3 and 5 are durable, so an acknowledged entry is never lost and an
//!    index is never reused.
//!
//! If any step fails in a running process, the batch's submitters get an
//! error and the sequencer rebuilds its state from the database exactly as at
//! start-up, so the in-memory tree can never drift from what is stored.
//!
//! The fault table (`tests/engine.rs`) exercises each step twice: the
//! sequencer's own hooks ([`Faults`], at the [`Step`]s between steps 3, 4, 5
//! and 6) on SQLite, Postgres and the in-memory store, and the store's hooks
//! (`store::memory`, feature `memory-store`): step 3's and step 5's writes
//! failing before they persist, or persisting and then reporting a failure
//! (a commit whose acknowledgement was lost), with and without a restart. In
//! every case the submitter is not acknowledged, a durable entry keeps its
//! index, nothing is indexed twice, and every recorded checkpoint is
//! consistent with the next.
//!
//! # Replication protocol (Postgres)
//!
//! Any number of replicas may serve one log from one Postgres database.
//! SQLite is single-process ([`sqlite_lock`]): there, the one process always
//! sequences. On Postgres exactly one replica, the **leader**, runs the
//! commit protocol above; it is elected through the database:
//!
//! 1. **Lease.** Row `log_leases(log_id)` names a holder, an `epoch` and
//!    `expires_at`. A replica takes it only when it is free or expired by the
//!    *database* clock (one `INSERT … ON CONFLICT DO UPDATE … WHERE
//!    expires_at < clock_timestamp()`), and every change of holder increments
//!    the epoch. The leader renews it every `renew_every` (default 500 ms) for
//!    `lease` (default 2 s) and steps down on its own when a renewal fails or
//!    is late: it considers itself leader only until *the time it sent its
//!    last successful renewal* plus `lease`, which is never later than the
//!    expiry the database recorded. Followers try to take the lease every
//!    `takeover_poll` (200 ms). A graceful stop releases the lease at once.
//! 2. **Fencing.** Step 3's transaction and step 5's write each first read
//!    the lease row `FOR KEY SHARE` and check that their holder and epoch
//!    still hold it and that it has not expired by the database clock;
//!    otherwise they write nothing ([`Error::Deposed`]). A takeover locks
//!    that row `FOR UPDATE` before it changes the holder, so a new leader's
//!    epoch begins only after a running fenced transaction of the old one
//!    has committed or rolled back. The leader's own renewals (updating only
//!    `expires_at`) are not blocked by its running batch. Together with
//!    step 3's compare-and-swap on `logs.tree_size`, a deposed leader can
//!    neither fork the log nor commit after its successor started.
//! 3. **Hand-over.** A follower does not sequence: it inserts its clients'
//!    submissions into `log_queue` (one insert per batch, then `NOTIFY`),
//!    and the leader takes waiting rows into its next batch beside its own
//!    clients' submissions. In step 3's transaction the leader fills in each
//!    queued row's `leaf_index` (or marks it a duplicate). After step 5 it
//!    notifies the checkpoint channel; the follower then reads the outcomes,
//!    reads the newest recorded checkpoint, builds each inclusion proof from
//!    the stored nodes and answers its client with the same receipt the
//!    leader would have given, and deletes the rows. A durable queue was
//!    chosen over forwarding requests over HTTP: a follower needs neither the
//!    leader's address nor credentials to call it, a submission survives the
//!    leader's death (the next leader takes it), and the database that
//!    already orders every write orders these too. Notifications only make it
//!    fast; both sides also poll every 50 ms.
//! 4. **Reads.** Every replica answers reads from the database. A read the
//!    replica's cached checkpoint does not cover (an index, leaf hash, search
//!    hit or tree size beyond it) first reads the newest recorded checkpoint,
//!    and `GET /api/v1/log` / `get-sth` always do: since a receipt is given
//!    only once its checkpoint is recorded, an entry acknowledged by any
//!    replica is readable at once from every replica, and no replica serves a
//!    checkpoint older than one already returned to a client. What one
//!    replica publishes never moves backwards.
//!
//! What faults leave behind:
//!
//! | Fault | Left behind | Outcome |
//! |---|---|---|
//! | Leader SIGKILLed | lease until `expires_at`; maybe step 3 committed without step 5 | within `lease + takeover_poll` (≤ 2.2 s by default) a follower takes the lease, recovers (signs the committed leaves, as after a single-process crash) and integrates the queue. Queued submissions survive; the dead leader's own in-flight clients got no answer (they retry; a retry of an integrated entry gets 409 with its location). |
//! | Leader's database session terminated | the same pool reconnects | renewal retries; if it cannot renew before its local deadline it steps down, and a fenced write after expiry fails. |
//! | Leader paused (SIGSTOP, GC, VM freeze) longer than `lease` | a successor | on waking, its first write fails the fence (`Deposed`); it steps down and follows. |
//! | Network partition leader ↔ database | the same as a pause | writes cannot commit without the database; the fence refuses them after expiry. |
//! | Follower dies after queueing | queue rows | the leader integrates them; rows nobody reads are pruned after 10 minutes. The client got no answer; a retry gets 409. |
//! | Follower's client waits longer than `write_timeout` (5 s) | a waiting row | the follower withdraws rows the leader has not taken and answers 503 with `Retry-After`. |
//! | Database down | nothing new | writes fail within the pool's 3 s acquire timeout (503), `/readyz` 503; the leader's lease lapses and whichever replica reaches the database first leads again. |
//!
//! `tests/replication.rs` drives three replicas in one process (one history,
//! read-your-writes on each, `deposed-leader-commit`, a leader whose lease
//! expires under it); `tests/e2e/replicas.sh` runs three processes under
//! load and SIGKILLs the leader.

pub mod database;
pub mod fsck;
mod sequencer;
pub mod settings;
pub mod sqlite_lock;
pub mod store;

pub use database::{DatabaseUrl, MigratePolicy};
pub use sequencer::{
    random_tree_id, AppendOutcome, Faults, Log, LogConfig, PublishedCheckpoint, Receipt, ReplicationConfig, Step,
};
pub use settings::ReplicationSettings;
pub use store::{LogStore, Store, StoredCheckpoint, StoredEntry};

use sigstead_merkle::Hash;
use std::fmt;

/// Number of leaves in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeSize(pub u64);

/// Position of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(pub u64);

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Signs tree heads in the log's wire format (a signed note for Rekor, a
/// TLS-encoded tree head signature for CT).
pub trait CheckpointSigner: Send + Sync + fmt::Debug {
    /// Returns the signed tree head for `size` leaves with `root`.
    fn sign(&self, size: TreeSize, root: &Hash, timestamp_ms: u64) -> Result<String, Error>;
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("schema: {0}")]
    Schema(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored state is inconsistent: {0}")]
    Corrupt(String),
    #[error("another writer changed the log")]
    Conflict,
    #[error("refusing to sign: {0}")]
    Inconsistent(String),
    #[error("signing: {0}")]
    Signing(String),
    #[error("the sequencer is not running")]
    Unavailable,
    #[error("this replica no longer holds the sequencer lease")]
    Deposed,
    #[error("injected fault at {0:?}")]
    Injected(Step),
    #[error("{0}")]
    OutOfRange(String),
}

impl Error {
    /// Client errors (bad index, bad proof request) as opposed to server faults.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::OutOfRange(_))
    }

    /// The database (or the sequencer) cannot be reached for now: answered
    /// 503 "temporarily unavailable" (retry later), not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable
                | Self::Deposed
                | Self::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
        )
    }
}

/// Current UNIX time in seconds and milliseconds.
pub(crate) fn now() -> (i64, u64) {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
