//! The batching sequencer and the read API of a log. See the crate docs for
//! the commit protocol; each step below is marked with its number.

use crate::store::{Batch, Handover, Lease, LogRow, LogStore, NewEntry, QueueResult, StoredCheckpoint, StoredEntry};
use crate::{now, CheckpointSigner, Error, LeafIndex, Store, TreeSize};
use sigstead_merkle::{
    consistency_proof_shape, empty_root, inclusion_proof_shape, leaf_hash, verify_consistency, CompactRange, Hash,
    NodeId,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify};

/// Tuning of one log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Name of the log's row in the database (one database can hold several logs).
    pub name: String,
    /// Largest number of entries integrated in one transaction.
    pub batch_max_entries: usize,
    /// How long the sequencer waits for more entries after the first of a batch.
    pub batch_max_delay: Duration,
    /// Submissions that may wait for the sequencer before callers are slowed down.
    pub queue_depth: usize,
    /// How replicas on one Postgres database share the log (ignored on SQLite).
    pub replication: ReplicationConfig,
}

impl LogConfig {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            batch_max_entries: 2048,
            batch_max_delay: Duration::from_millis(2),
            queue_depth: 65536,
            replication: ReplicationConfig::default(),
        }
    }
}

/// Timing of the replication protocol (crate docs, "Replication protocol").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// How long the sequencer lease lasts unless renewed. A leader that dies
    /// without releasing it is replaced after at most `lease + takeover_poll`.
    pub lease: Duration,
    /// How often the leader renews its lease (well under `lease`).
    pub renew_every: Duration,
    /// How often a replica that does not lead tries to take the lease.
    pub takeover_poll: Duration,
    /// How long a replica waits for the leader to integrate a submission it
    /// handed over before answering its client "unavailable" (503).
    pub write_timeout: Duration,
    /// Fallback polling of the queue and of results, for notifications
    /// lost while the listening connection reconnected.
    pub poll: Duration,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(2),
            renew_every: Duration::from_millis(500),
            takeover_poll: Duration::from_millis(200),
            write_timeout: Duration::from_secs(5),
            poll: Duration::from_millis(50),
        }
    }
}

impl ReplicationConfig {
    /// Refuses timings under which a leader could not keep its lease.
    pub fn check(&self) -> Result<(), Error> {
        if self.renew_every.is_zero() || self.renew_every * 2 > self.lease {
            return Err(Error::Config("replication: renew_every must be non-zero and at most half of lease".into()));
        }
        if self.takeover_poll.is_zero() || self.poll.is_zero() {
            return Err(Error::Config("replication: takeover_poll and poll must be non-zero".into()));
        }
        if self.write_timeout < self.lease + self.takeover_poll {
            return Err(Error::Config(
                "replication: write_timeout must cover a failover (at least lease + takeover_poll)".into(),
            ));
        }
        Ok(())
    }
}

/// Points of the commit protocol where a test can inject a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Step 3, before the transaction.
    BeforeIntegrate,
    /// Between steps 3 and 4: leaves durable, no checkpoint.
    AfterIntegrate,
    /// Between steps 4 and 5: checkpoint signed, not recorded.
    AfterSign,
    /// Between steps 5 and 6: checkpoint recorded, nobody answered.
    AfterRecord,
}

/// Fault injection for tests: returns `true` to fail at that step.
#[derive(Clone, Default)]
pub struct Faults(Option<Arc<dyn Fn(Step) -> bool + Send + Sync>>);

impl Faults {
    pub fn none() -> Self {
        Self(None)
    }
    pub fn new(f: impl Fn(Step) -> bool + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(f)))
    }
    fn check(&self, step: Step) -> Result<(), Error> {
        match &self.0 {
            Some(f) if f(step) => Err(Error::Injected(step)),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Faults(active)" } else { "Faults(none)" })
    }
}

/// The newest signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    pub tree_size: TreeSize,
    pub root_hash: Hash,
    pub signed: String,
}

/// What a submitter receives once its entry is durable and covered by a checkpoint.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub leaf_index: LeafIndex,
    pub integrated_time: i64,
    pub checkpoint: Arc<PublishedCheckpoint>,
    /// Audit path of the leaf in `checkpoint`'s tree, leaf to root.
    pub inclusion_proof: Vec<Hash>,
}

/// Result of [`Log::append`].
#[derive(Debug, Clone)]
pub enum AppendOutcome {
    Appended(Receipt),
    /// The same leaf is already in the log at this index.
    Duplicate(LeafIndex),
}

type ReplyTx = oneshot::Sender<Result<AppendOutcome, Arc<Error>>>;

/// Who waits for a submission's outcome.
enum Reply {
    /// A caller of [`Log::append`] in this process.
    Local(ReplyTx),
    /// A row of the replication queue (another replica's client, or this
    /// replica's from before it led).
    Queued(i64),
}

struct Submission {
    leaf: Vec<u8>,
    leaf_hash: Hash,
    index_keys: Vec<String>,
    extra_data: Option<Vec<u8>>,
    reply: Reply,
}

struct Shared {
    store: Store,
    row: LogRow,
    tx: mpsc::Sender<Submission>,
    published: watch::Receiver<Arc<PublishedCheckpoint>>,
    publish: Arc<watch::Sender<Arc<PublishedCheckpoint>>>,
    /// Postgres: other replicas may have moved the log since `published`.
    replicated: bool,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    leader: watch::Receiver<bool>,
    /// When this replica last knew a live sequencer (itself, or a live lease).
    sequencer_seen: Arc<std::sync::Mutex<Instant>>,
    lease: Duration,
}

/// Handle to a running log. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log").field("row", &self.shared.row).finish()
    }
}

/// Sequencer-owned state, rebuilt from the database at start-up and after any failure.
struct State {
    range: CompactRange,
    published: Arc<PublishedCheckpoint>,
}

struct Sequencer {
    store: Store,
    row: LogRow,
    config: LogConfig,
    signer: Arc<dyn CheckpointSigner>,
    faults: Faults,
    publish: Arc<watch::Sender<Arc<PublishedCheckpoint>>>,
    /// The leaf at index 0 of a new log, if it has one.
    genesis: Option<Vec<u8>>,
    /// Postgres: the replication side (lease, queue, waiting clients).
    replication: Option<Replica>,
}

/// One replica's part in the replication protocol.
struct Replica {
    holder: String,
    /// The lease while this replica leads; it fences every write.
    lease: Option<Lease>,
    /// This replica's clients whose submissions wait in the queue.
    pending: HashMap<i64, Pending>,
    queue_wake: Arc<Wake>,
    checkpoint_wake: Arc<Wake>,
    leader: watch::Sender<bool>,
    sequencer_seen: Arc<std::sync::Mutex<Instant>>,
}

impl Replica {
    fn saw_sequencer(&self) {
        if let Ok(mut t) = self.sequencer_seen.lock() {
            *t = Instant::now();
        }
    }
}

/// A wake-up from the database: a flag the busy loop checks between batches
/// (so a steady stream of local submissions cannot starve it) and a notify
/// for an idle one.
#[derive(Default)]
struct Wake {
    flag: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl Wake {
    fn set(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::Release);
        self.notify.notify_one();
    }
    /// Whether a wake-up arrived since the last call.
    fn take(&self) -> bool {
        self.flag.swap(false, std::sync::atomic::Ordering::AcqRel)
    }
}

struct Pending {
    reply: ReplyTx,
    deadline: Instant,
    queued_at: Instant,
}

/// What the replica task does next.
enum Role {
    Lead(State),
    Follow,
    Stop,
}

impl Log {
    /// Opens the log `config.name`, creating it (tree ID and, if `genesis`
    /// gives one, the genesis leaf at index 0) when it does not exist; a log
    /// without genesis starts with a signed checkpoint of the empty tree.
    /// Finishes any batch a
    /// crash interrupted, and starting the sequencer.
    pub async fn open(
        store: Store,
        config: LogConfig,
        signer: Arc<dyn CheckpointSigner>,
        genesis: impl FnOnce(std::num::NonZeroI64) -> Option<Vec<u8>>,
        faults: Faults,
    ) -> Result<Self, Error> {
        let replicated = store.replicated();
        if replicated {
            config.replication.check()?;
        }
        let row = match store.load_log(&config.name).await? {
            Some(row) => row,
            None => {
                let tree_id = random_tree_id();
                let row = store.create_log(&config.name, tree_id, now().0).await?;
                tracing::info!(log = %config.name, tree_id = row.tree_id, "created log");
                row
            }
        };
        let (publish, published) = watch::channel(Arc::new(PublishedCheckpoint {
            tree_size: TreeSize(0),
            root_hash: empty_root(),
            signed: String::new(),
        }));
        let publish = Arc::new(publish);
        let (leader_tx, leader) = watch::channel(!replicated);
        let sequencer_seen = Arc::new(std::sync::Mutex::new(Instant::now()));
        let replication = replicated.then(|| Replica {
            holder: format!("{}-{}", std::process::id(), hex_of(&sigstead_crypto::random_bytes::<8>())),
            lease: None,
            pending: HashMap::new(),
            queue_wake: Arc::new(Wake::default()),
            checkpoint_wake: Arc::new(Wake::default()),
            leader: leader_tx,
            sequencer_seen: sequencer_seen.clone(),
        });
        let mut seq = Sequencer {
            store: store.clone(),
            row,
            config: config.clone(),
            signer,
            faults,
            publish: publish.clone(),
            genesis: genesis(row.tree_id),
            replication,
        };
        // Lead at once when possible (always on SQLite): a single instance
        // then behaves exactly as without replication.
        let role = if seq.try_take_lease().await? {
            match seq.become_leader().await {
                Ok(state) => Role::Lead(state),
                Err(e) => {
                    seq.step_down().await;
                    return Err(e);
                }
            }
        } else {
            refresh_published(&store, row.log_id, &publish).await?;
            Role::Follow
        };
        if let Some(r) = &seq.replication {
            tokio::spawn(listen(store.clone(), row.log_id, r.queue_wake.clone(), r.checkpoint_wake.clone()));
        }
        let (tx, rx) = mpsc::channel(config.queue_depth.max(1));
        let (stop, stop_rx) = watch::channel(false);
        let (stopped_tx, stopped) = watch::channel(false);
        tokio::spawn(async move {
            seq.run(role, rx, stop_rx).await;
            let _ = stopped_tx.send(true);
        });
        let row = LogRow { tree_size: TreeSize(0), ..row };
        let lease = config.replication.lease;
        Ok(Self {
            shared: Arc::new(Shared {
                store,
                row,
                tx,
                published,
                publish,
                replicated,
                stop,
                stopped,
                leader,
                sequencer_seen,
                lease,
            }),
        })
    }

    /// Stops the sequencer: a leader gives its lease up at once (so another
    /// replica takes over without waiting for it to expire); submissions
    /// still waiting are answered "unavailable". Returns when done (or after
    /// 3 s).
    pub async fn shutdown(&self) {
        let _ = self.shared.stop.send(true);
        let mut stopped = self.shared.stopped.clone();
        let _ = tokio::time::timeout(Duration::from_secs(3), stopped.wait_for(|v| *v)).await;
    }

    /// Readiness: the database answers and (Postgres) a sequencer exists —
    /// this replica, or another holding a live lease seen within the last
    /// two leases plus a second (a normal failover stays well inside that).
    /// A follower with no sequencer to hand over to is not ready.
    pub async fn ready(&self) -> Result<(), Error> {
        self.shared.store.ping().await?;
        if self.shared.replicated && !self.is_leader() {
            let seen = self.shared.sequencer_seen.lock().map(|t| t.elapsed()).unwrap_or(Duration::MAX);
            let bound = self.shared.lease * 2 + Duration::from_secs(1);
            if seen > bound {
                return Err(Error::Unavailable);
            }
        }
        Ok(())
    }

    /// Whether this replica currently sequences the log (always on SQLite).
    pub fn is_leader(&self) -> bool {
        *self.shared.leader.borrow()
    }

    /// Submits a leaf and waits until it is durable and covered by a signed checkpoint.
    pub async fn append(&self, leaf: Vec<u8>, index_keys: Vec<String>) -> Result<AppendOutcome, Arc<Error>> {
        self.append_with_extra_data(leaf, index_keys, None).await
    }

    /// Like [`Log::append`], also storing `extra_data` beside the leaf (in the
    /// same transaction; not hashed into the tree). A duplicate leaf keeps the
    /// extra data of its first submission.
    pub async fn append_with_extra_data(
        &self,
        leaf: Vec<u8>,
        index_keys: Vec<String>,
        extra_data: Option<Vec<u8>>,
    ) -> Result<AppendOutcome, Arc<Error>> {
        let (reply, rx) = oneshot::channel();
        let sub = Submission { leaf_hash: leaf_hash(&leaf), leaf, index_keys, extra_data, reply: Reply::Local(reply) };
        self.shared.tx.send(sub).await.map_err(|_| Arc::new(Error::Unavailable))?;
        rx.await.map_err(|_| Arc::new(Error::Unavailable))?
    }

    /// The log's tree ID.
    pub fn tree_id(&self) -> std::num::NonZeroI64 {
        self.shared.row.tree_id
    }

    /// UNIX seconds when the log was created (the start of its key's validity).
    pub fn created_at(&self) -> i64 {
        self.shared.row.created_at
    }

    /// The newest signed checkpoint this replica knows of (without asking the
    /// database: on Postgres another replica may have signed a newer one; see
    /// [`Log::latest_checkpoint`]).
    pub fn checkpoint(&self) -> Arc<PublishedCheckpoint> {
        self.shared.published.borrow().clone()
    }

    /// The newest signed checkpoint of the log. On Postgres this reads the
    /// database, so that no replica serves a checkpoint older than one any
    /// replica has already returned; what this replica serves never moves
    /// backwards.
    ///
    /// While the database cannot be reached, the newest checkpoint this
    /// replica knows is served from memory (as a single instance does), so
    /// `GET /api/v1/log` keeps answering through an outage.
    pub async fn latest_checkpoint(&self) -> Result<Arc<PublishedCheckpoint>, Error> {
        if !self.shared.replicated {
            return Ok(self.checkpoint());
        }
        match refresh_published(&self.shared.store, self.shared.row.log_id, &self.shared.publish).await {
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unreachable: serving the newest checkpoint known here");
                Ok(self.checkpoint())
            }
            other => other,
        }
    }

    /// A tree size covering `index` if any recorded checkpoint does: the
    /// cached one, or (Postgres, when it does not cover `index`) the
    /// database's newest. Reads of entries another replica acknowledged a
    /// moment ago thus succeed at once.
    async fn covering(&self, index: u64) -> Result<TreeSize, Error> {
        let size = self.checkpoint().tree_size;
        if index < size.0 || !self.shared.replicated {
            return Ok(size);
        }
        Ok(self.latest_checkpoint().await?.tree_size)
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// A leaf covered by the newest checkpoint.
    pub async fn entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, Error> {
        if index.0 >= self.covering(index.0).await?.0 {
            return Ok(None);
        }
        self.shared.store.entry_by_index(self.shared.row.log_id, index).await
    }

    /// A leaf by its RFC 6962 leaf hash, if covered by the newest checkpoint.
    pub async fn entry_by_leaf_hash(&self, hash: &Hash) -> Result<Option<StoredEntry>, Error> {
        let Some(e) = self.shared.store.entry_by_leaf_hash(self.shared.row.log_id, hash).await? else {
            return Ok(None);
        };
        let size = self.covering(e.leaf_index.0).await?;
        Ok((e.leaf_index.0 < size.0).then_some(e))
    }

    /// The entries `[start, end)` covered by the newest checkpoint, in index
    /// order, read in one query (`end` is clipped to the tree size).
    pub async fn entries(&self, start: LeafIndex, end: LeafIndex) -> Result<Vec<StoredEntry>, Error> {
        let size = self.covering(end.0.saturating_sub(1)).await?;
        let end = LeafIndex(end.0.min(size.0));
        self.shared.store.entries_range(self.shared.row.log_id, start, end).await
    }

    /// Leaf indexes and leaf hashes under a search key (covered by the newest
    /// checkpoint), read in one query.
    pub async fn search_with_hashes(&self, key: &str, limit: u32) -> Result<Vec<(LeafIndex, Hash)>, Error> {
        let hits = self.shared.store.search_with_hashes(self.shared.row.log_id, key, limit).await?;
        let newest = hits.iter().map(|(i, _)| i.0).max().unwrap_or(0);
        let size = self.covering(newest).await?;
        Ok(hits.into_iter().filter(|(i, _)| i.0 < size.0).collect())
    }

    /// Leaf indexes under a search key (covered by the newest checkpoint).
    pub async fn search(&self, key: &str, limit: u32) -> Result<Vec<LeafIndex>, Error> {
        Ok(self.search_with_hashes(key, limit).await?.into_iter().map(|(i, _)| i).collect())
    }

    /// Inclusion proof of `index` in the tree of `size` leaves (`size` ≤ the newest checkpoint).
    pub async fn inclusion_proof(&self, index: LeafIndex, size: TreeSize) -> Result<Vec<Hash>, Error> {
        self.check_size(size).await?;
        let shape = inclusion_proof_shape(index.0, size.0).map_err(|e| Error::OutOfRange(e.to_string()))?;
        let nodes = self.shared.store.nodes(self.shared.row.log_id, &shape.required_nodes()).await?;
        shape.assemble_from(&nodes).map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Consistency proof between two tree sizes (`second` ≤ the newest checkpoint).
    pub async fn consistency_proof(&self, first: TreeSize, second: TreeSize) -> Result<Vec<Hash>, Error> {
        self.check_size(second).await?;
        let shape = consistency_proof_shape(first.0, second.0).map_err(|e| Error::OutOfRange(e.to_string()))?;
        let nodes = self.shared.store.nodes(self.shared.row.log_id, &shape.required_nodes()).await?;
        shape.assemble_from(&nodes).map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Root hash of an older tree size, recomputed from stored nodes.
    pub async fn root_at(&self, size: TreeSize) -> Result<Hash, Error> {
        self.check_size(size).await?;
        let ids = CompactRange::required_nodes(size.0);
        let nodes = self.shared.store.nodes(self.shared.row.log_id, &ids).await?;
        let range = CompactRange::from_nodes(size.0, &|id| nodes.get(&id).copied())
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(range.root())
    }

    async fn check_size(&self, size: TreeSize) -> Result<(), Error> {
        let published = self.covering(size.0.saturating_sub(1)).await?;
        if size > published {
            return Err(Error::OutOfRange(format!("tree size {size} is beyond the current tree size {published}")));
        }
        Ok(())
    }
}

/// A random positive tree ID for a new log.
pub fn random_tree_id() -> std::num::NonZeroI64 {
    // Collision odds are irrelevant: the ID only distinguishes this log's
    // entries from another log's.
    let v = i64::from_be_bytes(sigstead_crypto::random_bytes::<8>()) & i64::MAX;
    std::num::NonZeroI64::new(v).unwrap_or(std::num::NonZeroI64::MIN.saturating_neg())
}

impl Sequencer {
    /// Rebuilds the state from the database (start-up, and after any failure).
    async fn recover(&mut self) -> Result<State, Error> {
        let row =
            self.store.load_log(&self.config.name).await?.ok_or_else(|| Error::Corrupt("log row missing".into()))?;
        if row.tree_id != self.row.tree_id || row.log_id != self.row.log_id {
            return Err(Error::Corrupt("log identity changed under the sequencer".into()));
        }
        self.row = row;
        let log_id = row.log_id;
        let stored = self.store.latest_checkpoint(log_id).await?;
        let (cp_size, cp_root) = match &stored {
            Some(cp) => (cp.tree_size, cp.root_hash),
            None => (TreeSize(0), empty_root()),
        };
        if cp_size > row.tree_size {
            return Err(Error::Corrupt(format!(
                "checkpoint for {cp_size} leaves but only {} integrated",
                row.tree_size
            )));
        }
        // The stored nodes must reproduce the last signed root.
        let ids = CompactRange::required_nodes(cp_size.0);
        let nodes = self.store.nodes(log_id, &ids).await?;
        let at_cp = CompactRange::from_nodes(cp_size.0, &|id| nodes.get(&id).copied())
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        if at_cp.root() != cp_root {
            return Err(Error::Corrupt(format!("stored nodes do not reproduce the signed root at size {cp_size}")));
        }
        let published = stored.map(|cp| PublishedCheckpoint {
            tree_size: cp.tree_size,
            root_hash: cp.root_hash,
            signed: cp.signed,
        });
        let mut state = State {
            range: at_cp,
            published: Arc::new(published.unwrap_or(PublishedCheckpoint {
                tree_size: TreeSize(0),
                root_hash: empty_root(),
                signed: String::new(),
            })),
        };
        if row.tree_size > cp_size {
            // Step 3 committed before a crash; finish steps 4 and 5 for those leaves.
            let ids = CompactRange::required_nodes(row.tree_size.0);
            let nodes = self.store.nodes(log_id, &ids).await?;
            let range = CompactRange::from_nodes(row.tree_size.0, &|id| nodes.get(&id).copied())
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            tracing::warn!(from = cp_size.0, to = row.tree_size.0, "signing leaves integrated before an interruption");
            let published = self.prove_sign_record(&state, &range, &HashMap::new()).await?;
            state = State { range, published };
        }
        self.publish.send_replace(state.published.clone());
        metrics::gauge!("tlog_tree_size", "log" => self.config.name.clone())
            .set(u64_as_f64(state.published.tree_size.0));
        Ok(state)
    }

    /// The replica task: leads while it holds the lease (always on SQLite),
    /// follows otherwise, until the log is shut down or every handle dropped.
    async fn run(mut self, mut role: Role, mut rx: mpsc::Receiver<Submission>, mut stop: watch::Receiver<bool>) {
        loop {
            role = match role {
                Role::Lead(state) => self.lead(state, &mut rx, &mut stop).await,
                Role::Follow => self.follow(&mut rx, &mut stop).await,
                Role::Stop => break,
            };
        }
        self.step_down().await;
        rx.close();
        while let Ok(sub) = rx.try_recv() {
            if let Reply::Local(reply) = sub.reply {
                let _ = reply.send(Err(Arc::new(Error::Unavailable)));
            }
        }
        if let Some(r) = &mut self.replication {
            let ids: Vec<i64> = r.pending.keys().copied().collect();
            if !ids.is_empty() {
                let _ = self.store.withdraw_queued(&ids).await;
            }
            for (_, p) in r.pending.drain() {
                let _ = p.reply.send(Err(Arc::new(Error::Unavailable)));
            }
        }
        tracing::info!(log = %self.config.name, "sequencer stopped");
    }

    /// Takes the lease if it is free (SQLite: there is none to take).
    async fn try_take_lease(&mut self) -> Result<bool, Error> {
        let Some(r) = &mut self.replication else { return Ok(true) };
        let lease = self.config.replication.lease;
        match self.store.try_acquire_lease(self.row.log_id, &r.holder, lease).await? {
            Some(held) => {
                tracing::info!(log = %self.config.name, holder = %held.holder, epoch = held.epoch, "took the sequencer lease");
                metrics::counter!("tlog_leader_elections_total", "log" => self.config.name.clone()).increment(1);
                r.lease = Some(held);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// With the lease just taken: rebuild the state from the database
    /// (finishing a batch a previous leader left uncheckpointed), and give a
    /// new log its genesis leaf or its empty-tree checkpoint.
    async fn become_leader(&mut self) -> Result<State, Error> {
        let mut state = self.recover().await?;
        if state.range.size() == 0 {
            match self.genesis.clone() {
                // A new log: index 0 is the genesis record, so no client entry ever lands there.
                Some(leaf) => {
                    let (tx, rx) = oneshot::channel();
                    let sub = Submission {
                        leaf_hash: leaf_hash(&leaf),
                        leaf,
                        index_keys: Vec::new(),
                        extra_data: None,
                        reply: Reply::Local(tx),
                    };
                    self.run_batch(&mut state, vec![sub]).await?;
                    let _ = rx.await;
                }
                None if state.published.signed.is_empty() => {
                    let published = self.prove_sign_record(&state, &state.range.clone(), &HashMap::new()).await?;
                    state.published = published;
                    self.publish.send_replace(state.published.clone());
                }
                None => {}
            }
        }
        if let Some(r) = &self.replication {
            r.leader.send_replace(true);
            metrics::gauge!("tlog_leader", "log" => self.config.name.clone()).set(1.0);
        }
        Ok(state)
    }

    /// Gives the lease up (if held) and becomes a follower.
    async fn step_down(&mut self) {
        let Some(r) = &mut self.replication else { return };
        if let Some(held) = r.lease.take() {
            if let Err(e) = self.store.release_lease(self.row.log_id, &held).await {
                tracing::warn!(error = %e, "could not release the sequencer lease; it expires on its own");
            }
            tracing::info!(log = %self.config.name, epoch = held.epoch, "no longer the sequencer");
        }
        r.leader.send_replace(false);
        metrics::gauge!("tlog_leader", "log" => self.config.name.clone()).set(0.0);
    }

    fn fence(&self) -> Option<&Lease> {
        self.replication.as_ref().and_then(|r| r.lease.as_ref())
    }

    /// Leading: batches local submissions and (Postgres) queued ones from
    /// other replicas; renews the lease beside it and steps down the moment
    /// it is lost or cannot be renewed in time.
    async fn lead(
        &mut self,
        mut state: State,
        rx: &mut mpsc::Receiver<Submission>,
        stop: &mut watch::Receiver<bool>,
    ) -> Role {
        let timing = self.config.replication;
        let (valid_tx, mut valid) = watch::channel(Some(Instant::now() + timing.lease));
        let renewal = match self.fence() {
            Some(held) => {
                Some(tokio::spawn(renew(self.store.clone(), self.row.log_id, held.clone(), timing, valid_tx)))
            }
            None => {
                // SQLite: no lease, valid for ever.
                valid_tx.send_replace(None);
                drop(valid_tx);
                None
            }
        };
        let leased = renewal.is_some();
        let queue_wake = self.replication.as_ref().map(|r| r.queue_wake.clone());
        let mut queue_dirty = leased;
        let mut poll = tokio::time::interval(timing.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune = Instant::now();
        let next = loop {
            if leased && !valid.borrow().is_some_and(|until| Instant::now() < until) {
                tracing::warn!(log = %self.config.name, "sequencer lease lost or not renewed in time; stepping down");
                break Role::Follow;
            }
            // Step 1: collect.
            let mut batch = Vec::new();
            tokio::select! {
                biased;
                _ = stop.changed() => break Role::Stop,
                sub = rx.recv() => match sub {
                    Some(sub) => batch.push(sub),
                    None => break Role::Stop,
                },
                () = wake(queue_wake.as_deref().map(|w| &w.notify)) => queue_dirty = true,
                _ = valid.changed(), if leased => continue,
                _ = poll.tick(), if leased => {
                    queue_dirty = true;
                    if let Some(r) = &self.replication {
                        r.saw_sequencer();
                    }
                    // Re-set on every tick: a metrics recorder installed after start-up sees it too.
                    metrics::gauge!("tlog_leader", "log" => self.config.name.clone()).set(1.0);
                    self.resolve_pending().await;
                    if last_prune.elapsed() > Duration::from_secs(60) {
                        last_prune = Instant::now();
                        if let Err(e) = self.store.prune_queue(self.row.log_id, Duration::from_secs(600)).await {
                            tracing::warn!(error = %e, "pruning the replication queue failed");
                        }
                    }
                }
            }
            if !batch.is_empty() {
                collect(rx, &mut batch, self.config.batch_max_entries, self.config.batch_max_delay).await;
            }
            if queue_wake.as_deref().is_some_and(Wake::take) {
                queue_dirty = true;
            }
            if queue_dirty && batch.len() < self.config.batch_max_entries {
                let room = self.config.batch_max_entries - batch.len();
                match self.store.dequeue(self.row.log_id, room).await {
                    Ok(queued) => {
                        queue_dirty = queued.len() == room;
                        batch.extend(queued.into_iter().map(|q| Submission {
                            leaf: q.leaf,
                            leaf_hash: q.leaf_hash,
                            index_keys: q.index_keys,
                            extra_data: q.extra_data,
                            reply: Reply::Queued(q.queue_id),
                        }));
                    }
                    Err(e) => tracing::warn!(error = %e, "reading the replication queue failed"),
                }
            }
            if batch.is_empty() {
                continue;
            }
            if let Err(e) = self.run_batch(&mut state, batch).await {
                if matches!(e, Error::Deposed) {
                    tracing::warn!(log = %self.config.name, "deposed: another replica holds the sequencer lease");
                    break Role::Follow;
                }
                tracing::error!(error = %e, "batch failed; rebuilding sequencer state from the database");
                // Keep trying: the database may be briefly unavailable.
                let mut wait = Duration::from_millis(50);
                loop {
                    match self.recover().await {
                        Ok(s) => {
                            state = s;
                            break;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "recovery failed; retrying");
                            if leased && !valid.borrow().is_some_and(|until| Instant::now() < until) {
                                break;
                            }
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
        };
        if let Some(task) = renewal {
            task.abort();
        }
        if matches!(next, Role::Follow) {
            self.step_down().await;
        }
        next
    }

    /// Following (Postgres): hands local submissions to the leader through
    /// the queue, answers them once the leader has integrated them and a
    /// recorded checkpoint covers them, and takes the lease when it is free.
    async fn follow(&mut self, rx: &mut mpsc::Receiver<Submission>, stop: &mut watch::Receiver<bool>) -> Role {
        let timing = self.config.replication;
        let Some(r) = &self.replication else { return Role::Stop };
        let checkpoint_wake = r.checkpoint_wake.clone();
        let mut takeover = tokio::time::interval(timing.takeover_poll);
        takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(timing.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => return Role::Stop,
                _ = takeover.tick() => match self.try_take_lease().await {
                    Ok(true) => match self.become_leader().await {
                        Ok(state) => return Role::Lead(state),
                        Err(e) => {
                            tracing::error!(error = %e, "could not take over as the sequencer");
                            self.step_down().await;
                        }
                    },
                    Ok(false) => {
                        // Someone holds a live lease: there is a sequencer to hand over to.
                        if let Some(r) = &self.replication {
                            r.saw_sequencer();
                        }
                        metrics::gauge!("tlog_leader", "log" => self.config.name.clone()).set(0.0);
                    }
                    Err(e) => tracing::warn!(error = %e, "could not reach the database to check the sequencer lease"),
                },
                sub = rx.recv() => match sub {
                    Some(sub) => {
                        // Collect as the leader does (up to batch_max_delay), so
                        // that one insert hands over many submissions.
                        let mut batch = vec![sub];
                        collect(rx, &mut batch, self.config.batch_max_entries, self.config.batch_max_delay).await;
                        self.hand_over(batch).await;
                        if checkpoint_wake.take() {
                            self.resolve_pending().await;
                        }
                    }
                    None => return Role::Stop,
                },
                () = checkpoint_wake.notify.notified() => {
                    checkpoint_wake.take();
                    if let Err(e) = refresh_published(&self.store, self.row.log_id, &self.publish).await {
                        tracing::warn!(error = %e, "could not read the newest checkpoint");
                    }
                    self.resolve_pending().await;
                }
                _ = poll.tick() => self.resolve_pending().await,
            }
        }
    }

    /// Queues submissions for the leader (one insert for all of them).
    async fn hand_over(&mut self, batch: Vec<Submission>) {
        let Some(r) = &mut self.replication else { return };
        let handovers: Vec<Handover<'_>> = batch
            .iter()
            .map(|s| Handover {
                leaf: &s.leaf,
                leaf_hash: &s.leaf_hash,
                index_keys: &s.index_keys,
                extra_data: s.extra_data.as_deref(),
            })
            .collect();
        let started = Instant::now();
        let queued = self.store.enqueue(self.row.log_id, &handovers).await;
        drop(handovers);
        metrics::histogram!("tlog_handover_insert_seconds", "log" => self.config.name.clone())
            .record(started.elapsed().as_secs_f64());
        match queued {
            Ok(ids) => {
                let deadline = Instant::now() + self.config.replication.write_timeout;
                metrics::counter!("tlog_handed_over_total", "log" => self.config.name.clone())
                    .increment(u64::try_from(ids.len()).unwrap_or(0));
                for (id, sub) in ids.into_iter().zip(batch) {
                    if let Reply::Local(reply) = sub.reply {
                        r.pending.insert(id, Pending { reply, deadline, queued_at: Instant::now() });
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not hand submissions to the sequencer");
                let shared = Arc::new(if e.is_unavailable() { e } else { Error::Unavailable });
                for sub in batch {
                    if let Reply::Local(reply) = sub.reply {
                        let _ = reply.send(Err(shared.clone()));
                    }
                }
            }
        }
    }

    /// Answers this replica's clients whose queued submissions the leader
    /// has integrated and a recorded checkpoint covers; gives up on those
    /// past their deadline.
    async fn resolve_pending(&mut self) {
        if let Err(e) = self.try_resolve_pending().await {
            tracing::warn!(error = %e, "could not read the outcome of handed-over submissions");
        }
        let Some(r) = &mut self.replication else { return };
        let now = Instant::now();
        let late: Vec<i64> = r.pending.iter().filter(|(_, p)| p.deadline <= now).map(|(id, _)| *id).collect();
        if late.is_empty() {
            return;
        }
        if let Err(e) = self.store.withdraw_queued(&late).await {
            tracing::warn!(error = %e, "could not withdraw timed-out submissions");
        }
        tracing::warn!(count = late.len(), "handed-over submissions timed out waiting for the sequencer");
        for id in late {
            if let Some(p) = r.pending.remove(&id) {
                let _ = p.reply.send(Err(Arc::new(Error::Unavailable)));
            }
        }
    }

    async fn try_resolve_pending(&mut self) -> Result<(), Error> {
        let Some(r) = &self.replication else { return Ok(()) };
        if r.pending.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = r.pending.keys().copied().collect();
        let results = self.store.queue_results(&ids).await?;
        if results.is_empty() {
            return Ok(());
        }
        let cp = refresh_published(&self.store, self.row.log_id, &self.publish).await?;
        let ready: Vec<QueueResult> =
            results.into_iter().filter(|q| q.duplicate || q.leaf_index.0 < cp.tree_size.0).collect();
        let mut need = Vec::new();
        for q in ready.iter().filter(|q| !q.duplicate) {
            let shape =
                inclusion_proof_shape(q.leaf_index.0, cp.tree_size.0).map_err(|e| Error::Corrupt(e.to_string()))?;
            need.extend(shape.required_nodes());
        }
        need.sort_unstable();
        need.dedup();
        let nodes = self.store.nodes(self.row.log_id, &need).await?;
        let mut answered = Vec::with_capacity(ready.len());
        let Some(r) = &mut self.replication else { return Ok(()) };
        for q in ready {
            let outcome = if q.duplicate {
                AppendOutcome::Duplicate(q.leaf_index)
            } else {
                let shape =
                    inclusion_proof_shape(q.leaf_index.0, cp.tree_size.0).map_err(|e| Error::Corrupt(e.to_string()))?;
                let proof = shape.assemble_from(&nodes).map_err(|e| Error::Corrupt(e.to_string()))?;
                AppendOutcome::Appended(Receipt {
                    leaf_index: q.leaf_index,
                    integrated_time: q.integrated_time,
                    checkpoint: cp.clone(),
                    inclusion_proof: proof,
                })
            };
            if let Some(p) = r.pending.remove(&q.queue_id) {
                metrics::histogram!("tlog_handover_wait_seconds", "log" => self.config.name.clone())
                    .record(p.queued_at.elapsed().as_secs_f64());
                let _ = p.reply.send(Ok(outcome));
            }
            answered.push(q.queue_id);
        }
        if !answered.is_empty() {
            self.store.delete_queued(&answered).await?;
        }
        Ok(())
    }

    /// Steps 2–6 for one batch. On error every local submitter of the batch
    /// gets the error and the caller must rebuild the state with
    /// [`Sequencer::recover`]; queued submissions stay queued (or, if step 3
    /// committed, are answered once a checkpoint covers them).
    async fn run_batch(&mut self, state: &mut State, mut batch: Vec<Submission>) -> Result<(), Error> {
        let started = Instant::now();
        let result = self.integrate_batch(state, &mut batch).await;
        match result {
            Ok(outcomes) => {
                let mut answered = Vec::new();
                for (sub, outcome) in batch.into_iter().zip(outcomes) {
                    match sub.reply {
                        Reply::Local(reply) => {
                            let _ = reply.send(Ok(outcome));
                        }
                        Reply::Queued(id) => {
                            // This replica's own client from before it led: answer it directly.
                            if let Some(p) = self.replication.as_mut().and_then(|r| r.pending.remove(&id)) {
                                let _ = p.reply.send(Ok(outcome));
                                answered.push(id);
                            }
                        }
                    }
                }
                if !answered.is_empty() {
                    if let Err(e) = self.store.delete_queued(&answered).await {
                        tracing::warn!(error = %e, "could not delete answered queue rows");
                    }
                }
                metrics::histogram!("tlog_batch_seconds", "log" => self.config.name.clone())
                    .record(started.elapsed().as_secs_f64());
                Ok(())
            }
            Err(e) => {
                let shared = Arc::new(Error::Unavailable);
                for sub in batch {
                    if let Reply::Local(reply) = sub.reply {
                        let _ = reply.send(Err(shared.clone()));
                    }
                }
                Err(e)
            }
        }
    }

    /// Moves each new leaf and its search keys out of its submission (only the
    /// reply channel is needed afterwards), so the write path copies nothing.
    async fn integrate_batch(
        &mut self,
        state: &mut State,
        batch: &mut [Submission],
    ) -> Result<Vec<AppendOutcome>, Error> {
        let log_id = self.row.log_id;
        // Step 2: deduplicate.
        let hashes: Vec<Hash> = batch.iter().map(|s| s.leaf_hash).collect();
        let existing = self.store.find_leaves(log_id, &hashes).await?;
        let (integrated_time, _) = now();
        let mut range = state.range.clone();
        let old_size = TreeSize(range.size());
        let mut new_nodes: HashMap<NodeId, Hash> = state.range.nodes().into_iter().collect();
        let mut staged = Batch::default();
        let mut in_batch: HashMap<Hash, LeafIndex> = HashMap::new();
        let mut placement = Vec::with_capacity(batch.len());
        for sub in batch.iter_mut() {
            if let Some(i) = existing.get(&sub.leaf_hash).or_else(|| in_batch.get(&sub.leaf_hash)) {
                if let Reply::Queued(queue_id) = sub.reply {
                    staged.queue_results.push(QueueResult {
                        queue_id,
                        leaf_index: *i,
                        duplicate: true,
                        integrated_time,
                    });
                }
                placement.push(Err(*i));
                continue;
            }
            if let Reply::Queued(queue_id) = sub.reply {
                staged.queue_results.push(QueueResult {
                    queue_id,
                    leaf_index: LeafIndex(range.size()),
                    duplicate: false,
                    integrated_time,
                });
            }
            let index = LeafIndex(range.size());
            range.append(sub.leaf_hash, |id, h| {
                new_nodes.insert(id, h);
                staged.nodes.push((id, h));
            });
            in_batch.insert(sub.leaf_hash, index);
            staged.entries.push(NewEntry {
                leaf_index: index,
                leaf_hash: sub.leaf_hash,
                body: std::mem::take(&mut sub.leaf),
                integrated_time,
                index_keys: std::mem::take(&mut sub.index_keys),
                extra_data: sub.extra_data.take(),
            });
            placement.push(Ok(index));
        }
        if !staged.entries.is_empty() {
            // Step 3: integrate atomically.
            self.faults.check(Step::BeforeIntegrate)?;
            self.store.integrate(log_id, old_size, &staged, self.fence()).await?;
            self.faults.check(Step::AfterIntegrate)?;
            // Steps 4 and 5.
            let published = self.prove_sign_record(state, &range, &new_nodes).await?;
            self.faults.check(Step::AfterRecord)?;
            *state = State { range, published };
            self.publish.send_replace(state.published.clone());
            metrics::counter!("tlog_appended_total", "log" => self.config.name.clone())
                .increment(u64::try_from(staged.entries.len()).unwrap_or(0));
            metrics::gauge!("tlog_tree_size", "log" => self.config.name.clone())
                .set(u64_as_f64(state.published.tree_size.0));
        } else if !staged.queue_results.is_empty() {
            // Only duplicates: nothing to integrate, but the submitting replicas need the indexes.
            self.store.record_queue_results(&staged.queue_results).await?;
        }
        // Step 6: inclusion proofs against the new checkpoint. Every node they
        // need is a peak of the previous tree or was created by this batch.
        let cp = state.published.clone();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut missing = Vec::new();
        for i in placement.iter().flatten() {
            let shape = inclusion_proof_shape(i.0, cp.tree_size.0).map_err(|e| Error::Corrupt(e.to_string()))?;
            missing.extend(shape.required_nodes().into_iter().filter(|id| !new_nodes.contains_key(id)));
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            new_nodes.extend(self.store.nodes(log_id, &missing).await?);
        }
        for p in placement {
            outcomes.push(match p {
                Err(existing) => AppendOutcome::Duplicate(existing),
                Ok(index) => {
                    let shape =
                        inclusion_proof_shape(index.0, cp.tree_size.0).map_err(|e| Error::Corrupt(e.to_string()))?;
                    let proof = shape.assemble_from(&new_nodes).map_err(|e| Error::Corrupt(e.to_string()))?;
                    AppendOutcome::Appended(Receipt {
                        leaf_index: index,
                        integrated_time,
                        checkpoint: cp.clone(),
                        inclusion_proof: proof,
                    })
                }
            });
        }
        Ok(outcomes)
    }

    /// Steps 4 and 5: prove that `range` extends the published checkpoint,
    /// sign it, record it.
    async fn prove_sign_record(
        &self,
        state: &State,
        range: &CompactRange,
        known: &HashMap<NodeId, Hash>,
    ) -> Result<Arc<PublishedCheckpoint>, Error> {
        let old = &state.published;
        let new_size = TreeSize(range.size());
        let new_root = range.root();
        if new_size < old.tree_size {
            return Err(Error::Inconsistent(format!("tree would shrink from {} to {new_size}", old.tree_size)));
        }
        if old.tree_size.0 > 0 {
            let shape =
                consistency_proof_shape(old.tree_size.0, new_size.0).map_err(|e| Error::Inconsistent(e.to_string()))?;
            let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
            let mut missing = Vec::new();
            for id in shape.required_nodes() {
                match known.get(&id) {
                    Some(h) => {
                        nodes.insert(id, *h);
                    }
                    None => missing.push(id),
                }
            }
            if !missing.is_empty() {
                nodes.extend(self.store.nodes(self.row.log_id, &missing).await?);
            }
            let proof = shape.assemble_from(&nodes).map_err(|e| Error::Inconsistent(e.to_string()))?;
            verify_consistency(old.tree_size.0, new_size.0, &proof, &old.root_hash, &new_root)
                .map_err(|e| Error::Inconsistent(format!("new tree does not extend the signed one: {e}")))?;
        }
        let (now_s, now_ms) = now();
        let signed = self.signer.sign(new_size, &new_root, now_ms)?;
        self.faults.check(Step::AfterSign)?;
        let cp = StoredCheckpoint { tree_size: new_size, root_hash: new_root, signed: signed.clone() };
        self.store.store_checkpoint(self.row.log_id, &cp, now_s, self.fence()).await?;
        Ok(Arc::new(PublishedCheckpoint { tree_size: new_size, root_hash: new_root, signed }))
    }
}

/// Reads the newest recorded checkpoint and publishes it if it is newer
/// than the one `publish` holds; returns the newest of the two (so what a
/// replica serves never moves backwards).
async fn refresh_published(
    store: &Store,
    log_id: i16,
    publish: &watch::Sender<Arc<PublishedCheckpoint>>,
) -> Result<Arc<PublishedCheckpoint>, Error> {
    if let Some(cp) = store.latest_checkpoint(log_id).await? {
        let newer =
            Arc::new(PublishedCheckpoint { tree_size: cp.tree_size, root_hash: cp.root_hash, signed: cp.signed });
        publish.send_if_modified(|current| {
            let advance = newer.tree_size > current.tree_size || current.signed.is_empty();
            if advance {
                *current = newer.clone();
            }
            advance
        });
    }
    Ok(publish.borrow().clone())
}

/// Renews the lease every `renew_every`, publishing until when this replica
/// may consider itself the leader: the time the renewal was sent plus the
/// lease (the database's expiry is at least that late). Publishes `None`
/// and ends when the lease is lost, or when renewals fail until it lapses.
async fn renew(
    store: Store,
    log_id: i16,
    held: Lease,
    timing: ReplicationConfig,
    valid: watch::Sender<Option<Instant>>,
) {
    loop {
        tokio::time::sleep(timing.renew_every).await;
        let sent = Instant::now();
        match tokio::time::timeout(timing.renew_every, store.renew_lease(log_id, &held, timing.lease)).await {
            Ok(Ok(true)) => {
                valid.send_replace(Some(sent + timing.lease));
            }
            Ok(Ok(false)) => {
                tracing::warn!(epoch = held.epoch, "the sequencer lease was lost");
                valid.send_replace(None);
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "renewing the sequencer lease failed"),
            Err(_) => tracing::warn!("renewing the sequencer lease timed out"),
        }
        if !valid.borrow().is_some_and(|until| Instant::now() < until) {
            valid.send_replace(None);
            return;
        }
    }
}

/// Forwards Postgres notifications on the log's channels to the replica
/// task (the queue for a leader, new checkpoints for a follower). Lost
/// notifications only delay: both sides also poll.
async fn listen(store: Store, log_id: i16, queue_wake: Arc<Wake>, checkpoint_wake: Arc<Wake>) {
    let Store::Postgres(pool) = store else { return };
    let (queue, checkpoint) = (crate::store::queue_channel(log_id), crate::store::checkpoint_channel(log_id));
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "replication listener could not connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen_all([queue.as_str(), checkpoint.as_str()]).await {
            tracing::debug!(error = %e, "replication listener could not LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) if n.channel() == queue => queue_wake.set(),
                Ok(_) => checkpoint_wake.set(),
                Err(e) => {
                    tracing::debug!(error = %e, "replication listener lost its connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
            if pool.is_closed() {
                return;
            }
        }
    }
}

/// Step 1 after the first submission: takes what is queued, then waits up to
/// `max_delay` for more, until `batch` holds `max_entries`.
async fn collect(
    rx: &mut mpsc::Receiver<Submission>,
    batch: &mut Vec<Submission>,
    max_entries: usize,
    max_delay: Duration,
) {
    let deadline = tokio::time::Instant::now() + max_delay;
    while batch.len() < max_entries {
        match rx.try_recv() {
            Ok(s) => batch.push(s),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(s)) => batch.push(s),
                Ok(None) | Err(_) => break,
            },
        }
    }
}

/// Waits for a notification, or for ever without one (SQLite).
async fn wake(notify: Option<&Notify>) {
    match notify {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Metrics take f64; tree sizes stay far below 2^53 in practice, and the
/// value is only informational.
#[allow(clippy::cast_precision_loss, reason = "gauge value, precision loss above 2^53 is harmless")]
fn u64_as_f64(v: u64) -> f64 {
    v as f64
}
