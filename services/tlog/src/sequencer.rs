//! The batching sequencer and the read API of a log. See the crate docs for
//! the commit protocol; each step below is marked with its number.

use crate::store::{Batch, LogRow, NewEntry, StoredCheckpoint, StoredEntry};
use crate::{now, CheckpointSigner, Error, LeafIndex, Store, TreeSize};
use sigstead_merkle::{
    consistency_proof_shape, empty_root, inclusion_proof_shape, leaf_hash, verify_consistency, CompactRange, Hash,
    NodeId,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

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
}

impl LogConfig {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            batch_max_entries: 2048,
            batch_max_delay: Duration::from_millis(2),
            queue_depth: 65536,
        }
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

struct Submission {
    leaf: Vec<u8>,
    leaf_hash: Hash,
    index_keys: Vec<String>,
    extra_data: Option<Vec<u8>>,
    reply: oneshot::Sender<Result<AppendOutcome, Arc<Error>>>,
}

struct Shared {
    store: Store,
    row: LogRow,
    tx: mpsc::Sender<Submission>,
    published: watch::Receiver<Arc<PublishedCheckpoint>>,
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
    publish: watch::Sender<Arc<PublishedCheckpoint>>,
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
        let row = match store.load_log(&config.name).await? {
            Some(row) => row,
            None => {
                let tree_id = random_tree_id();
                let row = store.create_log(&config.name, tree_id, now().0).await?;
                tracing::info!(log = %config.name, tree_id, "created log");
                row
            }
        };
        let (publish, published) = watch::channel(Arc::new(PublishedCheckpoint {
            tree_size: TreeSize(0),
            root_hash: empty_root(),
            signed: String::new(),
        }));
        let mut seq = Sequencer { store: store.clone(), row, config: config.clone(), signer, faults, publish };
        let mut state = seq.recover().await?;
        if state.range.size() == 0 {
            match genesis(row.tree_id) {
                // A new log: index 0 is the genesis record, so no client entry ever lands there.
                Some(leaf) => {
                    let (tx, rx) = oneshot::channel();
                    let sub = Submission {
                        leaf_hash: leaf_hash(&leaf),
                        leaf,
                        index_keys: Vec::new(),
                        extra_data: None,
                        reply: tx,
                    };
                    seq.run_batch(&mut state, vec![sub]).await?;
                    let _ = rx.await;
                }
                None if state.published.signed.is_empty() => {
                    let published = seq.prove_sign_record(&state, &state.range.clone(), &HashMap::new()).await?;
                    state.published = published;
                    seq.publish.send_replace(state.published.clone());
                }
                None => {}
            }
        }
        let (tx, rx) = mpsc::channel(config.queue_depth.max(1));
        tokio::spawn(seq.run(state, rx));
        let row = LogRow { tree_size: TreeSize(0), ..row };
        Ok(Self { shared: Arc::new(Shared { store, row, tx, published }) })
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
        let sub = Submission { leaf_hash: leaf_hash(&leaf), leaf, index_keys, extra_data, reply };
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

    /// The newest signed checkpoint.
    pub fn checkpoint(&self) -> Arc<PublishedCheckpoint> {
        self.shared.published.borrow().clone()
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// A leaf covered by the newest checkpoint.
    pub async fn entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, Error> {
        if index.0 >= self.checkpoint().tree_size.0 {
            return Ok(None);
        }
        self.shared.store.entry_by_index(self.shared.row.log_id, index).await
    }

    /// A leaf by its RFC 6962 leaf hash, if covered by the newest checkpoint.
    pub async fn entry_by_leaf_hash(&self, hash: &Hash) -> Result<Option<StoredEntry>, Error> {
        let size = self.checkpoint().tree_size;
        Ok(self
            .shared
            .store
            .entry_by_leaf_hash(self.shared.row.log_id, hash)
            .await?
            .filter(|e| e.leaf_index.0 < size.0))
    }

    /// The entries `[start, end)` covered by the newest checkpoint, in index
    /// order, read in one query (`end` is clipped to the tree size).
    pub async fn entries(&self, start: LeafIndex, end: LeafIndex) -> Result<Vec<StoredEntry>, Error> {
        let end = LeafIndex(end.0.min(self.checkpoint().tree_size.0));
        self.shared.store.entries_range(self.shared.row.log_id, start, end).await
    }

    /// Leaf indexes and leaf hashes under a search key (covered by the newest
    /// checkpoint), read in one query.
    pub async fn search_with_hashes(&self, key: &str, limit: u32) -> Result<Vec<(LeafIndex, Hash)>, Error> {
        let size = self.checkpoint().tree_size;
        Ok(self
            .shared
            .store
            .search_with_hashes(self.shared.row.log_id, key, limit)
            .await?
            .into_iter()
            .filter(|(i, _)| i.0 < size.0)
            .collect())
    }

    /// Leaf indexes under a search key (covered by the newest checkpoint).
    pub async fn search(&self, key: &str, limit: u32) -> Result<Vec<LeafIndex>, Error> {
        Ok(self.search_with_hashes(key, limit).await?.into_iter().map(|(i, _)| i).collect())
    }

    /// Inclusion proof of `index` in the tree of `size` leaves (`size` ≤ the newest checkpoint).
    pub async fn inclusion_proof(&self, index: LeafIndex, size: TreeSize) -> Result<Vec<Hash>, Error> {
        self.check_size(size)?;
        let shape = inclusion_proof_shape(index.0, size.0).map_err(|e| Error::OutOfRange(e.to_string()))?;
        let nodes = self.shared.store.nodes(self.shared.row.log_id, &shape.required_nodes()).await?;
        shape.assemble_from(&nodes).map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Consistency proof between two tree sizes (`second` ≤ the newest checkpoint).
    pub async fn consistency_proof(&self, first: TreeSize, second: TreeSize) -> Result<Vec<Hash>, Error> {
        self.check_size(second)?;
        let shape = consistency_proof_shape(first.0, second.0).map_err(|e| Error::OutOfRange(e.to_string()))?;
        let nodes = self.shared.store.nodes(self.shared.row.log_id, &shape.required_nodes()).await?;
        shape.assemble_from(&nodes).map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Root hash of an older tree size, recomputed from stored nodes.
    pub async fn root_at(&self, size: TreeSize) -> Result<Hash, Error> {
        self.check_size(size)?;
        let ids = CompactRange::required_nodes(size.0);
        let nodes = self.shared.store.nodes(self.shared.row.log_id, &ids).await?;
        let range = CompactRange::from_nodes(size.0, &|id| nodes.get(&id).copied())
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(range.root())
    }

    fn check_size(&self, size: TreeSize) -> Result<(), Error> {
        let published = self.checkpoint().tree_size;
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

    async fn run(mut self, mut state: State, mut rx: mpsc::Receiver<Submission>) {
        loop {
            // Step 1: collect.
            let Some(first) = rx.recv().await else { break };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.config.batch_max_delay;
            while batch.len() < self.config.batch_max_entries {
                match rx.try_recv() {
                    Ok(s) => batch.push(s),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(s)) => batch.push(s),
                        Ok(None) | Err(_) => break,
                    },
                }
            }
            if let Err(e) = self.run_batch(&mut state, batch).await {
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
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
        }
        tracing::info!(log = %self.config.name, "sequencer stopped");
    }

    /// Steps 2–6 for one batch. On error every submitter of the batch gets the
    /// error and the caller must rebuild the state with [`Sequencer::recover`].
    async fn run_batch(&mut self, state: &mut State, mut batch: Vec<Submission>) -> Result<(), Error> {
        let started = Instant::now();
        let result = self.integrate_batch(state, &mut batch).await;
        match result {
            Ok(outcomes) => {
                for (sub, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = sub.reply.send(Ok(outcome));
                }
                metrics::histogram!("tlog_batch_seconds", "log" => self.config.name.clone())
                    .record(started.elapsed().as_secs_f64());
                Ok(())
            }
            Err(e) => {
                let shared = Arc::new(Error::Unavailable);
                for sub in batch {
                    let _ = sub.reply.send(Err(shared.clone()));
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
                placement.push(Err(*i));
                continue;
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
            self.store.integrate(log_id, old_size, &staged).await?;
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
        self.store.store_checkpoint(self.row.log_id, &cp, now_s).await?;
        Ok(Arc::new(PublishedCheckpoint { tree_size: new_size, root_hash: new_root, signed }))
    }
}

/// Metrics take f64; tree sizes stay far below 2^53 in practice, and the
/// value is only informational.
#[allow(clippy::cast_precision_loss, reason = "gauge value, precision loss above 2^53 is harmless")]
fn u64_as_f64(v: u64) -> f64 {
    v as f64
}
