//! `fsck`: re-derives a whole log from its stored entries and checks every
//! stored fact against the derivation, streaming in index order with
//! constant memory (one chunk of entries, its nodes and search keys, and the
//! compact range of the tree).
//!
//! What is checked:
//! 1. the entries are exactly the indexes `0..tree size`, none missing;
//! 2. each entry's stored leaf hash is the RFC 6962 hash of its body;
//! 3. with a body check (Rekor: the body is its own canonical form and its
//!    search keys are the ones the body yields), every entry's body and
//!    stored search keys; keys the current release derives but an older
//!    one did not store are reported apart, as `keys_not_indexed`;
//! 4. every stored tree node (each leaf and each completed subtree) equals
//!    the node re-derived from the leaves, and no node is missing or extra;
//! 5. every recorded checkpoint's root equals the re-derived root at its
//!    size, and (with a note check) its signed note verifies and names that
//!    size and root; no checkpoint is beyond the stored entries.
//!
//! Nothing is written. Findings are counted by kind, with the first few
//! examples of each.

use crate::store::{LogStore, Store, StoredCheckpoint, StoredEntry};
use crate::{Error, LeafIndex, TreeSize};
use sigstead_merkle::{leaf_hash, CompactRange, Hash, NodeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Entries read per query.
pub const CHUNK: u64 = 10_000;
/// Examples kept per kind of finding.
const EXAMPLES: usize = 5;

/// What a body check says about one entry: the search keys it must have
/// (`None`: not checked), or why the body is wrong.
pub type BodyCheck<'a> = dyn Fn(&StoredEntry) -> Result<Option<Vec<String>>, String> + Send + Sync + 'a;
/// Verifies a checkpoint's signed form (size and root included).
pub type NoteCheck<'a> = dyn Fn(&StoredCheckpoint) -> Result<(), String> + Send + Sync + 'a;

/// Progress of a run: entries done, entries in all, time since the start.
pub type Progress<'a> = dyn FnMut(u64, u64, Duration) + Send + 'a;

/// The outcome of a run.
#[derive(Debug, Default, Clone)]
pub struct FsckReport {
    pub tree_size: u64,
    pub entries_checked: u64,
    pub nodes_checked: u64,
    pub checkpoints_checked: u64,
    pub keys_checked: u64,
    pub bodies_checked: u64,
    pub signatures_checked: u64,
    pub seconds: f64,
    /// Errors by kind: (count, first examples).
    pub errors: BTreeMap<&'static str, (u64, Vec<String>)>,
    /// Not errors: what an older release did not store (by kind).
    pub notices: BTreeMap<&'static str, (u64, Vec<String>)>,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
    fn error(&mut self, kind: &'static str, example: String) {
        note(&mut self.errors, kind, example);
    }
    fn notice(&mut self, kind: &'static str, example: String) {
        note(&mut self.notices, kind, example);
    }
    pub fn to_json(&self) -> serde_json::Value {
        let group = |m: &BTreeMap<&'static str, (u64, Vec<String>)>| {
            m.iter()
                .map(|(k, (n, ex))| ((*k).to_string(), serde_json::json!({"count": n, "examples": ex})))
                .collect::<serde_json::Map<_, _>>()
        };
        #[allow(clippy::cast_precision_loss, reason = "entry counts are far below 2^52")]
        let rate = if self.seconds > 0.0 { self.entries_checked as f64 / self.seconds } else { 0.0 };
        serde_json::json!({
            "clean": self.is_clean(),
            "tree_size": self.tree_size,
            "entries_checked": self.entries_checked,
            "bodies_checked": self.bodies_checked,
            "keys_checked": self.keys_checked,
            "nodes_checked": self.nodes_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "signatures_checked": self.signatures_checked,
            "seconds": self.seconds,
            "entries_per_sec": rate,
            "errors": group(&self.errors),
            "notices": group(&self.notices),
        })
    }
}

fn note(m: &mut BTreeMap<&'static str, (u64, Vec<String>)>, kind: &'static str, example: String) {
    let e = m.entry(kind).or_default();
    e.0 += 1;
    if e.1.len() < EXAMPLES {
        e.1.push(example);
    }
}

/// Checks the log named `log_name` in `store` (see the module docs).
/// `keys_added_later` are key prefixes (e.g. `"iss:"`) that a body check
/// may expect but an older release did not store: their absence is a notice.
pub async fn fsck(
    store: &Store,
    log_name: &str,
    body_check: Option<&BodyCheck<'_>>,
    note_check: Option<&NoteCheck<'_>>,
    keys_added_later: &[&str],
    progress: &mut Progress<'_>,
) -> Result<FsckReport, Error> {
    let start = Instant::now();
    let row = store.load_log(log_name).await?.ok_or_else(|| Error::Config(format!("no log named {log_name:?}")))?;
    let log_id = row.log_id;
    let size = row.tree_size.0;
    let mut report = FsckReport { tree_size: size, ..Default::default() };
    let mut range = CompactRange::new();
    let mut cps = Checkpoints::new();
    let mut emitted_total: u64 = 0;
    let mut next = 0u64;
    while next < size {
        let end = (next + CHUNK).min(size);
        let entries = store.entries_range(log_id, LeafIndex(next), LeafIndex(end)).await?;
        let mut stored_keys: HashMap<u64, BTreeSet<String>> = HashMap::new();
        if body_check.is_some() {
            for (i, k) in store.index_keys_range(log_id, LeafIndex(next), LeafIndex(end)).await? {
                stored_keys.entry(i.0).or_default().insert(k);
            }
        }
        let mut emitted: Vec<(NodeId, Hash)> = Vec::with_capacity(usize::try_from(2 * (end - next)).unwrap_or(0));
        let mut stored_entries = entries.iter().peekable();
        for index in next..end {
            let e = match stored_entries.peek() {
                Some(e) if e.leaf_index.0 == index => stored_entries.next(),
                _ => None,
            };
            let Some(e) = e else {
                // Keep the tree's shape: the stored leaf node stands in for the
                // missing entry (zeros if that is gone too), so that later
                // nodes and checkpoints are still checked at their sizes.
                report.error("entry_missing", format!("no entry at index {index}"));
                let stand_in = store.nodes(log_id, &[NodeId::new(0, index)]).await?;
                let lh = stand_in.get(&NodeId::new(0, index)).copied().unwrap_or([0; 32]);
                append_and_check(store, log_id, lh, &mut range, &mut emitted, &mut cps, note_check, &mut report)
                    .await?;
                continue;
            };
            report.entries_checked += 1;
            let lh = leaf_hash(&e.body);
            if lh != e.leaf_hash {
                report.error(
                    "leaf_hash_mismatch",
                    format!(
                        "index {}: stored {} for a body hashing to {}",
                        e.leaf_index,
                        hex::encode(e.leaf_hash),
                        hex::encode(lh)
                    ),
                );
            }
            if let Some(check) = body_check {
                match check(e) {
                    Err(why) => report.error("body_not_canonical", format!("index {}: {why}", e.leaf_index)),
                    Ok(None) => {}
                    Ok(Some(want)) => {
                        report.bodies_checked += 1;
                        let have = stored_keys.remove(&e.leaf_index.0).unwrap_or_default();
                        let want: BTreeSet<String> = want.into_iter().collect();
                        report.keys_checked += u64::try_from(want.len()).unwrap_or(0);
                        for k in want.difference(&have) {
                            if keys_added_later.iter().any(|p| k.starts_with(p)) {
                                report.notice("keys_not_indexed", format!("index {}: {k}", e.leaf_index));
                            } else {
                                report.error("index_key_missing", format!("index {}: {k}", e.leaf_index));
                            }
                        }
                        for k in have.difference(&want) {
                            report.error("index_key_unexpected", format!("index {}: {k}", e.leaf_index));
                        }
                    }
                }
            }
            append_and_check(store, log_id, lh, &mut range, &mut emitted, &mut cps, note_check, &mut report).await?;
        }
        for (i, keys) in stored_keys {
            for k in keys {
                report.error("index_key_orphaned", format!("index {i}: {k} (no such entry)"));
            }
        }
        // Every node these leaves completed must be stored, with this hash.
        let ids: Vec<NodeId> = emitted.iter().map(|(id, _)| *id).collect();
        let stored = store.nodes(log_id, &ids).await?;
        for (id, h) in &emitted {
            match stored.get(id) {
                None => report.error("node_missing", format!("node {id}")),
                Some(s) if s != h => report.error(
                    "node_mismatch",
                    format!("node {id}: stored {} but the entries give {}", hex::encode(s), hex::encode(h)),
                ),
                Some(_) => {}
            }
        }
        report.nodes_checked += u64::try_from(emitted.len()).unwrap_or(0);
        emitted_total += u64::try_from(emitted.len()).unwrap_or(0);
        next = end;
        progress(next, size, start.elapsed());
    }
    // Checkpoints beyond the entries vouch for leaves that are not there.
    while let Some(cp) = cps.next(store, log_id).await? {
        if cp.tree_size.0 > size {
            report.error("checkpoint_beyond_entries", format!("size {} > {size} stored entries", cp.tree_size));
        } else {
            report.error("checkpoint_unchecked", format!("size {} was not reached", cp.tree_size));
        }
    }
    let (entries, nodes, _) = store.row_counts(log_id).await?;
    if entries > size {
        report.error("entries_beyond_tree", format!("{entries} entries stored for a tree of {size}"));
    }
    if nodes != emitted_total {
        report.error("node_count", format!("{nodes} nodes stored, {emitted_total} derived from the entries"));
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// The recorded checkpoints in size order, read in pages of 1,000.
struct Checkpoints {
    page: std::collections::VecDeque<StoredCheckpoint>,
    after: TreeSize,
    done: bool,
}

impl Checkpoints {
    fn new() -> Self {
        Self { page: Default::default(), after: TreeSize(0), done: false }
    }

    /// The next checkpoint without taking it (reads the next page when needed).
    async fn peek(&mut self, store: &Store, log_id: i16) -> Result<Option<&StoredCheckpoint>, Error> {
        if self.page.is_empty() && !self.done {
            let more = store.checkpoints_after(log_id, self.after, 1000).await?;
            match more.last() {
                Some(last) => self.after = last.tree_size,
                None => self.done = true,
            }
            self.page.extend(more);
        }
        Ok(self.page.front())
    }

    async fn next(&mut self, store: &Store, log_id: i16) -> Result<Option<StoredCheckpoint>, Error> {
        self.peek(store, log_id).await?;
        Ok(self.page.pop_front())
    }
}

/// Appends one leaf hash to the re-derived tree (collecting the nodes it
/// completes) and checks every recorded checkpoint of the size just reached.
#[allow(clippy::too_many_arguments, reason = "the loop state of one fsck run, kept in its caller")]
async fn append_and_check(
    store: &Store,
    log_id: i16,
    leaf: Hash,
    range: &mut CompactRange,
    emitted: &mut Vec<(NodeId, Hash)>,
    cps: &mut Checkpoints,
    note_check: Option<&NoteCheck<'_>>,
    report: &mut FsckReport,
) -> Result<(), Error> {
    range.append(leaf, |id, h| emitted.push((id, h)));
    loop {
        let Some(s) = cps.peek(store, log_id).await?.map(|c| c.tree_size.0) else { return Ok(()) };
        if s > range.size() {
            return Ok(());
        }
        let Some(cp) = cps.next(store, log_id).await? else { return Ok(()) };
        if s < range.size() {
            continue; // only a size-0 checkpoint can be behind
        }
        report.checkpoints_checked += 1;
        let root = range.root();
        if cp.root_hash != root {
            report.error(
                "checkpoint_root_mismatch",
                format!("size {s}: recorded {} but the entries give {}", hex::encode(cp.root_hash), hex::encode(root)),
            );
        }
        if let Some(check) = note_check {
            report.signatures_checked += 1;
            if let Err(why) = check(&cp) {
                report.error("checkpoint_signature", format!("size {s}: {why}"));
            }
        }
    }
}
