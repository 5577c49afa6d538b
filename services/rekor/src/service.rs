//! The Rekor engine: turns validated entries into log entries with SETs and
//! proofs. Handlers call this; it calls the log engine and the signer.

use crate::error::RekorError;
use base64::{engine::general_purpose::STANDARD, Engine};
use sigstead_crypto::{log_id, Signer};
use sigstead_merkle::Hash;
use sigstead_note::{sign_checkpoint_v1, Checkpoint, Origin};
use sigstead_rekor_types::{canonicalize, set_payload, EntryId};
use sigstead_tlog::{AppendOutcome, CheckpointSigner, LeafIndex, Log, PublishedCheckpoint, StoredEntry, TreeSize};
use std::sync::Arc;

/// Signs Rekor v1 checkpoints: origin `"<host> - <tree id>"`, signer name `<host>`.
#[derive(Debug)]
pub struct RekorCheckpointSigner {
    pub origin: Origin,
    pub name: String,
    pub signer: Arc<dyn Signer>,
}

impl CheckpointSigner for RekorCheckpointSigner {
    fn sign(&self, size: TreeSize, root: &Hash, _timestamp_ms: u64) -> Result<String, sigstead_tlog::Error> {
        let cp = Checkpoint { origin: self.origin.clone(), size: size.0, root_hash: *root, extensions: Vec::new() };
        sign_checkpoint_v1(&cp, &self.name, self.signer.as_ref())
            .map_err(|e| sigstead_tlog::Error::Signing(e.to_string()))
    }
}

// The response types live with the other Rekor v1 wire types, shared with
// the clients in this workspace (monitor, bench, tests).
pub use sigstead_rekor_types::wire::{ConsistencyProof, InclusionProof, LogEntry, LogEntryMap, LogInfo, Verification};

/// The Rekor log: engine + key.
#[derive(Debug, Clone)]
pub struct RekorLog {
    log: Log,
    signer: Arc<dyn Signer>,
    log_id: [u8; 32],
    public_key_pem: String,
    /// The newest checkpoint with its witnesses' cosignatures (`[witnessing]`).
    cosigned: Arc<std::sync::RwLock<Option<Arc<str>>>>,
}

/// Most search results returned for one query key.
const SEARCH_LIMIT: u32 = 1000;

impl RekorLog {
    pub fn new(log: Log, signer: Arc<dyn Signer>) -> Self {
        let spki = signer.public_key_der().to_vec();
        Self {
            log,
            log_id: log_id(&spki),
            public_key_pem: sigstead_crypto::pem_encode("PUBLIC KEY", &spki),
            signer,
            cosigned: Arc::default(),
        }
    }

    pub fn engine(&self) -> &Log {
        &self.log
    }

    /// The log's signing key (its public half goes into the trusted root).
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    pub fn tree_id(&self) -> u64 {
        // The engine guarantees a positive tree ID.
        u64::try_from(self.log.tree_id().get()).unwrap_or_default()
    }

    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    pub fn entry_id(&self, leaf_hash: &Hash) -> String {
        EntryId::render(self.tree_id(), leaf_hash)
    }

    /// Validates, canonicalises and appends a proposed entry; answers once it is
    /// durable and covered by a signed checkpoint.
    pub async fn submit(&self, request: &[u8]) -> Result<(String, LogEntry), RekorError> {
        let entry = canonicalize(request)?;
        let leaf_hash = entry.leaf_hash();
        metrics::counter!("rekor_submissions_total", "kind" => entry.kind.to_string()).increment(1);
        match self.log.append(entry.body.clone(), entry.index_keys).await {
            Ok(AppendOutcome::Appended(r)) => {
                let e = self.render(&entry.body, r.leaf_index, r.integrated_time, &r.checkpoint, &r.inclusion_proof)?;
                Ok((self.entry_id(&leaf_hash), e))
            }
            Ok(AppendOutcome::Duplicate(_)) => Err(RekorError::Duplicate(self.entry_id(&leaf_hash))),
            Err(e) => Err(RekorError::Unavailable(e.to_string())),
        }
    }

    fn render(
        &self,
        body: &[u8],
        index: LeafIndex,
        integrated_time: i64,
        cp: &PublishedCheckpoint,
        proof: &[Hash],
    ) -> Result<LogEntry, RekorError> {
        let set = self
            .signer
            .sign(&set_payload(body, integrated_time, &self.log_id, index.0))
            .map_err(|e| RekorError::Internal(format!("signing SET: {e}")))?;
        Ok(LogEntry {
            body: STANDARD.encode(body),
            integrated_time,
            log_id: hex::encode(self.log_id),
            log_index: index.0,
            verification: Verification {
                inclusion_proof: InclusionProof {
                    checkpoint: cp.signed.clone(),
                    hashes: proof.iter().map(hex::encode).collect(),
                    log_index: index.0,
                    root_hash: hex::encode(cp.root_hash),
                    tree_size: cp.tree_size.0,
                },
                signed_entry_timestamp: STANDARD.encode(set),
            },
        })
    }

    async fn render_stored(&self, e: StoredEntry) -> Result<(String, LogEntry), RekorError> {
        let cp = self.log.checkpoint();
        let proof = self.log.inclusion_proof(e.leaf_index, cp.tree_size).await?;
        let rendered = self.render(&e.body, e.leaf_index, e.integrated_time, &cp, &proof)?;
        Ok((self.entry_id(&e.leaf_hash), rendered))
    }

    pub async fn by_index(&self, index: LeafIndex) -> Result<Option<(String, LogEntry)>, RekorError> {
        match self.log.entry(index).await? {
            Some(e) => Ok(Some(self.render_stored(e).await?)),
            None => Ok(None),
        }
    }

    pub async fn by_leaf_hash(&self, hash: &Hash) -> Result<Option<(String, LogEntry)>, RekorError> {
        match self.log.entry_by_leaf_hash(hash).await? {
            Some(e) => Ok(Some(self.render_stored(e).await?)),
            None => Ok(None),
        }
    }

    /// Looks an entry up by its 64- or 80-hex ID; a tree ID other than ours finds nothing.
    pub async fn by_entry_id(&self, id: &EntryId) -> Result<Option<(String, LogEntry)>, RekorError> {
        if id.tree_id.is_some_and(|t| t != self.tree_id()) {
            return Ok(None);
        }
        self.by_leaf_hash(&id.uuid).await
    }

    /// Canonicalises a proposed entry only to find it (no signature is trusted from it).
    pub async fn by_proposed_entry(&self, v: &serde_json::Value) -> Result<Option<(String, LogEntry)>, RekorError> {
        let entry = sigstead_rekor_types::canonicalize_value(v)?;
        self.by_leaf_hash(&entry.leaf_hash()).await
    }

    /// The newest checkpoint cosigned by the configured witnesses, if any.
    pub fn cosigned_checkpoint(&self) -> Option<Arc<str>> {
        self.cosigned.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Publishes a cosigned checkpoint (the witnessing task does).
    pub fn set_cosigned_checkpoint(&self, note: String) {
        *self.cosigned.write().unwrap_or_else(|p| p.into_inner()) = Some(note.into());
    }

    /// Keeps asking `peers` to cosign each new checkpoint, every `every`
    /// (C2SP tlog-witness; see `sigstead_witness::client`), and publishes
    /// the log's note with every valid cosignature. Runs until the process ends.
    pub async fn witness_forever(self, mut client: sigstead_witness::client::Witnessing, every: std::time::Duration) {
        let mut last = None;
        loop {
            let cp = self.log.checkpoint();
            if last != Some(cp.tree_size) {
                let log = self.log.clone();
                let proofs = move |a: u64, b: u64| {
                    let log = log.clone();
                    Box::pin(
                        async move { log.consistency_proof(TreeSize(a), TreeSize(b)).await.map_err(|e| e.to_string()) },
                    ) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
                };
                let outcomes = client.round(&cp.signed, cp.tree_size.0, &proofs).await;
                if outcomes.iter().any(|o| matches!(o, sigstead_witness::client::Outcome::Cosigned(_))) {
                    self.set_cosigned_checkpoint(sigstead_witness::client::cosigned_note(&cp.signed, &outcomes));
                    last = Some(cp.tree_size);
                }
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Entry IDs under a search key.
    pub async fn search(&self, key: &str) -> Result<Vec<String>, RekorError> {
        let hits = self.log.search_with_hashes(key, SEARCH_LIMIT).await?;
        Ok(hits.iter().map(|(_, leaf_hash)| self.entry_id(leaf_hash)).collect())
    }

    /// The log's newest tree head (on Postgres, the newest any replica has recorded).
    pub async fn info(&self) -> Result<LogInfo, RekorError> {
        let cp = self.log.latest_checkpoint().await?;
        Ok(LogInfo {
            root_hash: hex::encode(cp.root_hash),
            signed_tree_head: cp.signed.clone(),
            tree_id: self.tree_id().to_string(),
            tree_size: cp.tree_size.0,
            inactive_shards: Vec::new(),
        })
    }

    pub async fn consistency(&self, first: TreeSize, last: TreeSize) -> Result<ConsistencyProof, RekorError> {
        let current = self.log.latest_checkpoint().await?.tree_size;
        if first > last {
            return Err(RekorError::BadRequest(format!("firstSize({first}) must be less than lastSize({last})")));
        }
        if last > current {
            return Err(RekorError::BadRequest(format!(
                "the tree size requested({last}) was greater than what is currently observable({current})"
            )));
        }
        let hashes = self.log.consistency_proof(first, last).await?;
        let root = self.log.root_at(last).await?;
        Ok(ConsistencyProof { root_hash: hex::encode(root), hashes: hashes.iter().map(hex::encode).collect() })
    }
}
