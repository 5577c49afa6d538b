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

pub mod database;
mod sequencer;
pub mod settings;
pub mod sqlite_lock;
pub mod store;

pub use database::{DatabaseUrl, MigratePolicy};
pub use sequencer::{
    random_tree_id, AppendOutcome, Faults, Log, LogConfig, PublishedCheckpoint, Receipt, ReplicationConfig, Step,
};
pub use settings::ReplicationSettings;
pub use store::{Store, StoredEntry};

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
