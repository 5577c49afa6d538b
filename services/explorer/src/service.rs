//! The explorer's service layer: reads the log (entries, search pages,
//! proofs, checkpoints) straight from the Rekor log's database, read only,
//! and the trust material from TUF or a file. Handlers call this; it never
//! writes and holds no key.

use crate::decode::{entry_view, EntryView};
use crate::error::ExplorerError;
use crate::query::Query;
use serde::Serialize;
use sigstead_merkle::Hash;
use sigstead_rekor_types::{EntryId, IndexKey};
use sigstead_tlog::LogStore as _;
use sigstead_tlog::{LeafIndex, Store, StoredCheckpoint, StoredEntry};
use sigstead_trust::wire::TrustedRoot;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the trusted root comes from.
#[derive(Debug, Clone)]
pub enum TrustSource {
    /// A TUF repository, refreshed from the pinned root every `refresh`.
    Tuf { http: reqwest::Client, url: String, root1: Vec<u8>, refresh: Duration },
    /// A `trusted_root.json` file, read on every refresh.
    File(PathBuf),
}

/// The explorer: the log's read side and the trust material.
#[derive(Debug, Clone)]
pub struct Explorer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    log_id: i16,
    tree_id: u64,
    rekor_url: String,
    page_size: u32,
    trust: TrustSource,
    monitor_state_dir: Option<PathBuf>,
    cache: tokio::sync::Mutex<Option<(Instant, Arc<TrustView>)>>,
}

/// One line of a result list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultRow {
    pub uuid: String,
    pub log_index: u64,
    pub integrated_time: i64,
    pub kind: String,
    pub identity: Option<String>,
    pub issuer: Option<String>,
    pub digest: Option<String>,
}

/// A page of results, newest first; `older` is the `before` of the next page.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub rows: Vec<ResultRow>,
    pub older: Option<u64>,
}

/// An entry with what its page shows.
#[derive(Debug, Clone)]
pub struct EntryPage {
    pub uuid: String,
    pub log_index: u64,
    pub integrated_time: i64,
    pub body: Vec<u8>,
    pub view: EntryView,
}

/// What the browser needs to check an entry's inclusion: the body, the
/// proof and the checkpoint it leads to. Nothing here is trusted by the
/// page: it recomputes the leaf hash, the root, and checks the signature.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofDocument {
    pub uuid: String,
    pub log_index: u64,
    /// The canonical body, base64.
    pub body: String,
    pub tree_size: u64,
    pub root_hash: String,
    pub hashes: Vec<String>,
    /// The signed checkpoint (note text).
    pub checkpoint: String,
    /// `tlogs[].baseUrl` of this log: the key the checkpoint must verify with.
    pub rekor_url: String,
}

/// The newest checkpoint and when it was signed.
#[derive(Debug, Clone)]
pub struct LogStatus {
    pub checkpoint: StoredCheckpoint,
    pub signed_at: i64,
    pub monitor: Option<MonitorStatus>,
}

#[derive(Debug, Clone)]
pub enum MonitorStatus {
    Verified { tree_size: u64, grew_at: u64 },
    NoState,
    Unreadable(String),
}

/// One root version of the TUF repository.
#[derive(Debug, Clone)]
pub struct RootVersion {
    pub version: u64,
    pub expires: String,
    /// (role, threshold, number of keys).
    pub thresholds: Vec<(String, u32, usize)>,
}

/// One role's expiry.
#[derive(Debug, Clone)]
pub struct RoleStatus {
    pub role: &'static str,
    pub version: u64,
    pub expires: String,
    pub secs_left: i64,
}

/// The trust material as last refreshed.
#[derive(Debug, Clone, Default)]
pub struct TrustView {
    pub source: String,
    pub fetched_at: i64,
    pub error: Option<String>,
    pub trusted_root: Option<TrustedRoot>,
    pub roots: Vec<RootVersion>,
    pub roles: Vec<RoleStatus>,
}

impl Explorer {
    /// Opens the read side of the log named `log_name` in `store`.
    pub async fn new(
        store: Store,
        log_name: &str,
        rekor_url: String,
        page_size: u32,
        trust: TrustSource,
        monitor_state_dir: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let row = store.load_log(log_name).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the database holds no log named {log_name:?}: start the Rekor log (or `sigstead rekor init`) first"
            )
        })?;
        let tree_id = u64::try_from(row.tree_id.get()).unwrap_or_default();
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                log_id: row.log_id,
                tree_id,
                rekor_url: rekor_url.trim_end_matches('/').to_string(),
                page_size,
                trust,
                monitor_state_dir,
                cache: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn rekor_url(&self) -> &str {
        &self.inner.rekor_url
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn uuid(&self, leaf_hash: &Hash) -> String {
        EntryId::render(self.inner.tree_id, leaf_hash)
    }

    async fn checkpoint(&self) -> Result<(StoredCheckpoint, i64), ExplorerError> {
        self.inner.store.latest_checkpoint_with_time(self.inner.log_id).await?.ok_or(ExplorerError::NotFound)
    }

    /// The newest checkpoint, its age, and the monitor's last verdict.
    pub async fn status(&self) -> Result<LogStatus, ExplorerError> {
        let (checkpoint, signed_at) = self.checkpoint().await?;
        let monitor = self.inner.monitor_state_dir.as_ref().map(|dir| match sigstead_monitor::load_state(dir) {
            Ok(Some(s)) => MonitorStatus::Verified { tree_size: s.tree_size, grew_at: s.grew_at },
            Ok(None) => MonitorStatus::NoState,
            Err(e) => MonitorStatus::Unreadable(e.to_string()),
        });
        Ok(LogStatus { checkpoint, signed_at, monitor })
    }

    fn row(&self, e: &StoredEntry) -> ResultRow {
        let v = entry_view(&e.body);
        ResultRow {
            uuid: self.uuid(&e.leaf_hash),
            log_index: e.leaf_index.0,
            integrated_time: e.integrated_time,
            identity: v.identity().map(str::to_string),
            issuer: v.issuer().map(str::to_string),
            digest: v.digest.clone(),
            kind: format!("{} {}", v.kind, v.api_version),
        }
    }

    /// One page of the entries matching `query`, newest first, only those
    /// covered by the newest checkpoint (what the log has published).
    pub async fn search(&self, query: &Query, before: Option<u64>) -> Result<SearchPage, ExplorerError> {
        let (cp, _) = self.checkpoint().await?;
        let size = cp.tree_size.0;
        let covered = |e: &StoredEntry| e.leaf_index.0 < size;
        let store = &self.inner.store;
        let log_id = self.inner.log_id;
        let mut found: Vec<StoredEntry> = Vec::new();
        let key = match query {
            Query::Index(i) => {
                found.extend(store.entry_by_index(log_id, LeafIndex(*i)).await?.filter(covered));
                None
            }
            Query::EntryId(id) => {
                if id.tree_id.is_none_or(|t| t == self.inner.tree_id) {
                    found.extend(store.entry_by_leaf_hash(log_id, &id.uuid).await?.filter(covered));
                }
                None
            }
            Query::Hex64(h) => {
                // A bare 64-hex string is an entry UUID or an artifact digest: both.
                found.extend(store.entry_by_leaf_hash(log_id, h).await?.filter(covered));
                Some(IndexKey::Sha256(*h).to_key_string())
            }
            Query::Digest(d) => Some(IndexKey::Sha256(*d).to_key_string()),
            Query::PublicKey(k) => Some(IndexKey::PublicKey(*k).to_key_string()),
            Query::Identity(s) => Some(IndexKey::Identity(s.clone()).to_key_string()),
            Query::Issuer(s) => Some(IndexKey::Issuer(s.clone()).to_key_string()),
        };
        let mut older = None;
        if let Some(key) = key {
            // Entries at or beyond the published size are not shown yet.
            let before = before.unwrap_or(size).min(size);
            let limit = self.inner.page_size;
            let mut page = store.search_page(log_id, &key, Some(LeafIndex(before)), limit + 1).await?;
            if page.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
                page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                older = page.last().map(|e| e.leaf_index.0);
            }
            let seen: Vec<u64> = found.iter().map(|e| e.leaf_index.0).collect();
            found.extend(page.into_iter().filter(|e| !seen.contains(&e.leaf_index.0)));
        }
        Ok(SearchPage { rows: found.iter().map(|e| self.row(e)).collect(), older })
    }

    /// The entry with this UUID (64 or 80 hex), if published.
    pub async fn entry(&self, uuid: &str) -> Result<EntryPage, ExplorerError> {
        let id = EntryId::parse(uuid).map_err(|e| ExplorerError::BadQuery(e.to_string()))?;
        if id.tree_id.is_some_and(|t| t != self.inner.tree_id) {
            return Err(ExplorerError::NotFound);
        }
        let (cp, _) = self.checkpoint().await?;
        let e = self
            .inner
            .store
            .entry_by_leaf_hash(self.inner.log_id, &id.uuid)
            .await?
            .filter(|e| e.leaf_index.0 < cp.tree_size.0)
            .ok_or(ExplorerError::NotFound)?;
        Ok(EntryPage {
            uuid: self.uuid(&e.leaf_hash),
            log_index: e.leaf_index.0,
            integrated_time: e.integrated_time,
            view: entry_view(&e.body),
            body: e.body,
        })
    }

    /// The inclusion proof of an entry in the newest checkpoint's tree.
    pub async fn proof(&self, uuid: &str) -> Result<ProofDocument, ExplorerError> {
        let page = self.entry(uuid).await?;
        let (cp, _) = self.checkpoint().await?;
        let shape = sigstead_merkle::inclusion_proof_shape(page.log_index, cp.tree_size.0)
            .map_err(|e| ExplorerError::Internal(e.to_string()))?;
        let nodes = self.inner.store.nodes(self.inner.log_id, &shape.required_nodes()).await?;
        let hashes = shape.assemble_from(&nodes).map_err(|e| ExplorerError::Internal(e.to_string()))?;
        use base64::Engine;
        Ok(ProofDocument {
            uuid: page.uuid,
            log_index: page.log_index,
            body: base64::engine::general_purpose::STANDARD.encode(&page.body),
            tree_size: cp.tree_size.0,
            root_hash: hex::encode(cp.root_hash),
            hashes: hashes.iter().map(hex::encode).collect(),
            checkpoint: cp.signed,
            rekor_url: self.inner.rekor_url.clone(),
        })
    }

    /// The trust material, refreshed when older than the refresh interval
    /// (a file source is read every time). A failed refresh is shown as
    /// such, with the error, never replaced by stale data silently.
    pub async fn trust(&self) -> Arc<TrustView> {
        let refresh = match &self.inner.trust {
            TrustSource::Tuf { refresh, .. } => *refresh,
            TrustSource::File(_) => Duration::ZERO,
        };
        let mut cache = self.inner.cache.lock().await;
        if let Some((at, view)) = cache.as_ref() {
            if at.elapsed() < refresh {
                return view.clone();
            }
        }
        let view = Arc::new(match &self.inner.trust {
            TrustSource::File(path) => file_view(path),
            TrustSource::Tuf { http, url, root1, .. } => tuf_view(http, url, root1).await,
        });
        *cache = Some((Instant::now(), view.clone()));
        view
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn file_view(path: &std::path::Path) -> TrustView {
    let mut view = TrustView { source: path.display().to_string(), fetched_at: now_unix(), ..Default::default() };
    match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<TrustedRoot>(&b).map_err(|e| format!("not a trusted root: {e}")))
    {
        Ok(r) => view.trusted_root = Some(r),
        Err(e) => view.error = Some(e),
    }
    view
}

/// Refreshes the TUF repository from the pinned root, as a client does, and
/// reads the trusted root target from it.
async fn tuf_view(http: &reqwest::Client, url: &str, root1: &[u8]) -> TrustView {
    let mut view = TrustView { source: url.to_string(), fetched_at: now_unix(), ..Default::default() };
    let now = time::OffsetDateTime::now_utc();
    let (set, files) = match sigstead_monitor::freshness::refresh_repository(http, url, root1, now).await {
        Ok(v) => v,
        Err(sigstead_monitor::freshness::RefreshFailure::Task(e)) => {
            view.error = Some(format!("TUF refresh failed: {e}"));
            return view;
        }
        Err(sigstead_monitor::freshness::RefreshFailure::Refresh(e)) => {
            view.error = Some(format!("TUF refresh failed: {e}"));
            return view;
        }
    };
    for v in 1..=set.root().version {
        let Some(bytes) = files.get(&sigstead_tuf::layout::root_path(v)) else { continue };
        let Ok(root) = sigstead_tuf::Envelope::parse(bytes).and_then(|e| e.signed_as::<sigstead_tuf::Root>()) else {
            continue;
        };
        let thresholds = root.roles.iter().map(|(name, rk)| (name.clone(), rk.threshold, rk.keyids.len())).collect();
        view.roots.push(RootVersion { version: root.version, expires: root.expires.to_string(), thresholds });
    }
    let left = |t: time::OffsetDateTime| (t - now).whole_seconds();
    view.roles.push(RoleStatus {
        role: "root",
        version: set.root().version,
        expires: set.root().expires.to_string(),
        secs_left: left(set.root().expires.instant()),
    });
    if let Some(t) = set.targets() {
        view.roles.push(RoleStatus {
            role: "targets",
            version: t.version,
            expires: t.expires.to_string(),
            secs_left: left(t.expires.instant()),
        });
        match t.targets.get("trusted_root.json").and_then(|f| {
            let path = sigstead_tuf::layout::target_path("trusted_root.json", f)?;
            files.get(&path).or_else(|| files.get("targets/trusted_root.json"))
        }) {
            Some(bytes) => match serde_json::from_slice::<TrustedRoot>(bytes) {
                Ok(r) => view.trusted_root = Some(r),
                Err(e) => view.error = Some(format!("trusted_root.json is not a trusted root: {e}")),
            },
            None => view.error = Some("the repository has no trusted_root.json target".into()),
        }
    }
    if let Some(s) = set.snapshot() {
        view.roles.push(RoleStatus {
            role: "snapshot",
            version: s.version,
            expires: s.expires.to_string(),
            secs_left: left(s.expires.instant()),
        });
    }
    if let Some(t) = set.timestamp() {
        view.roles.push(RoleStatus {
            role: "timestamp",
            version: t.version,
            expires: t.expires.to_string(),
            secs_left: left(t.expires.instant()),
        });
    }
    view
}
