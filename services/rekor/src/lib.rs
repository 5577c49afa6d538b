//! Sigstead's Rekor v1-compatible transparency log service.
//!
//! [`router`] builds the HTTP API over a [`RekorLog`]; [`run`] opens the
//! database and key from a [`RekorConfig`] and serves until shutdown.

pub mod api;
pub mod config;
pub mod error;
pub mod init;
pub mod service;

pub use config::RekorConfig;
pub use error::RekorError;
pub use service::{RekorCheckpointSigner, RekorLog};

use axum::routing::{get, post};
use axum::Router;
use sigstead_crypto::Signer;
use sigstead_note::Origin;
use sigstead_tlog::LogStore as _;
use sigstead_tlog::{DatabaseUrl, Faults, Log, LogConfig, Store};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The Rekor v1 API routes (without the operational endpoints).
pub fn router(rekor: RekorLog) -> Router {
    Router::new()
        .route("/api/v1/log", get(api::log_info))
        .route("/api/v1/log/publicKey", get(api::public_key))
        .route("/api/v1/log/proof", get(api::consistency_proof))
        .route("/api/v1/log/cosigned-checkpoint", get(api::cosigned_checkpoint))
        .route("/api/v1/log/entries", post(api::create_entry).get(api::entry_by_index))
        .route("/api/v1/log/entries/retrieve", post(api::retrieve))
        .route("/api/v1/log/entries/retrieve/", post(api::retrieve))
        .route("/api/v1/log/entries/{uuid}", get(api::entry_by_uuid))
        .route("/api/v1/index/retrieve", post(api::search_index))
        .with_state(rekor)
}

/// The whole HTTP application: [`router`] plus the common layers (body
/// limit, timeout, `/healthz`, `/readyz` pinging the database, `/metrics`).
/// `run` serves exactly this; tests drive it with `oneshot`.
pub fn app(rekor: RekorLog, http: &sigstead_server::HttpConfig) -> Router {
    let log = rekor.engine().clone();
    let ready: sigstead_server::ReadyCheck = Arc::new(move || {
        let log = log.clone();
        Box::pin(async move { log.ready().await.map_err(|e| e.to_string()) })
    });
    sigstead_server::with_common_routes(router(rekor), http, ready)
}

/// The body of the genesis leaf at index 0 of a new log.
pub fn genesis_body(origin: &Origin, tree_id: std::num::NonZeroI64) -> Vec<u8> {
    let v = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "sigstead-genesis",
        "spec": {"origin": origin.as_str(), "treeID": tree_id.to_string()},
    });
    sigstead_rekor_types::jcs(&v)
}

/// Opens the signing key named by the configuration.
pub fn load_signer(config: &RekorConfig) -> anyhow::Result<Arc<dyn Signer>> {
    Ok(config.signing_key.open_ecdsa_p256("signing_key")?)
}

/// Connects the database. SQLite is migrated on the spot (it is embedded and
/// private to this process); Postgres must already carry the matching schema.
pub async fn open_store(url: &DatabaseUrl) -> anyhow::Result<Store> {
    Ok(Store::open(url, url.default_migrate_policy()).await?)
}

/// Opens (creating on first use) the log described by `config`.
pub async fn open(config: &RekorConfig, faults: Faults) -> anyhow::Result<RekorLog> {
    let signer = load_signer(config)?;
    let store = open_store(&config.database_url).await?;
    open_with(config, store, signer, faults).await
}

/// As [`open`], with an already connected store and signer.
pub async fn open_with(
    config: &RekorConfig,
    store: Store,
    signer: Arc<dyn Signer>,
    faults: Faults,
) -> anyhow::Result<RekorLog> {
    let host = config.origin_host()?;
    let mut log_config = LogConfig::new(config.log_name.clone());
    log_config.batch_max_entries = config.batch.max_entries;
    log_config.batch_max_delay = Duration::from_millis(config.batch.max_delay_ms);
    log_config.replication = config.replication.to_config()?;
    // The origin needs the tree ID, which exists only once the log row does:
    // read it first, or let the engine create it and build the signer from it.
    let tree_id = match store.load_log(&config.log_name).await? {
        Some(row) => row.tree_id,
        None => {
            let row = store.create_log(&config.log_name, sigstead_tlog::random_tree_id(), unix_now()).await?;
            row.tree_id
        }
    };
    let origin = Origin::rekor_v1(&host, tree_id)?;
    let cp_signer = Arc::new(RekorCheckpointSigner { origin: origin.clone(), name: host, signer: signer.clone() });
    let log = Log::open(store, log_config, cp_signer, |tree_id| Some(genesis_body(&origin, tree_id)), faults).await?;
    Ok(RekorLog::new(log, signer))
}

fn unix_now() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Serves the Rekor API on `listener` until `shutdown` resolves.
pub async fn run(
    config: RekorConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let rekor = open(&config, Faults::none()).await?;
    serve(&config, rekor, listener, shutdown).await
}

/// Serves an already opened log (what `sigstead up` does, so that it opens
/// the log once) on `listener` until `shutdown` resolves.
pub async fn serve(
    config: &RekorConfig,
    rekor: RekorLog,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app(rekor.clone(), &config.http);
    let tls = config.http.tls()?;
    if !config.witnessing.witnesses.is_empty() {
        let http = config.witnessing.outbound_tls.http_client(Duration::from_secs(10))?;
        let client = sigstead_witness::client::Witnessing::new(http, config.witnessing.witnesses.clone());
        let every = Duration::from_millis(config.witnessing.every_ms);
        tracing::info!(witnesses = config.witnessing.witnesses.len(), "asking witnesses to cosign each checkpoint");
        tokio::spawn(rekor.clone().witness_forever(client, every));
    }
    if let Some(m) = &config.monitor {
        let (http, follow) = m.follow(&config.public_url)?;
        tracing::info!(
            url = follow.rekor.url,
            every_secs = m.interval_secs,
            "monitoring this log from inside the service"
        );
        tokio::spawn(sigstead_monitor::embedded::run_forever(http, follow));
    }
    tracing::info!(
        listen = %config.listen,
        public_url = %config.public_url,
        tree_id = rekor.tree_id(),
        tree_size = rekor.engine().checkpoint().tree_size.0,
        backend = rekor.engine().store().backend(),
        tls = tls.is_some(),
        "rekor serving"
    );
    let served = sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await;
    // A leader hands its sequencer lease over at once instead of letting it expire.
    rekor.engine().shutdown().await;
    served?;
    Ok(())
}

/// The Rekor rules of `sigstead fsck` (see `sigstead_tlog::fsck`). A
/// `hashedrekord` body, whose canonical form is itself a valid proposed
/// entry, is re-canonicalised (its signature verified again): it must give
/// the same bytes, and its search keys are the ones it yields. The canonical
/// bodies of the other kinds (dsse, intoto, rekord) are not submittable
/// entries (they hold hashes in place of the envelope), so for them fsck
/// checks the RFC 8785 form and the leaf, not the search keys. The genesis
/// leaf is only checked as a leaf.
pub fn fsck_body_check(e: &sigstead_tlog::StoredEntry) -> Result<Option<Vec<String>>, String> {
    if e.leaf_index.0 == 0 {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&e.body).map_err(|err| format!("the body is not JSON: {err}"))?;
    if sigstead_rekor_types::jcs(&v) != e.body {
        return Err("the stored body is not in canonical (RFC 8785) form".into());
    }
    if v.get("kind").and_then(serde_json::Value::as_str) != Some("hashedrekord") {
        return Ok(None);
    }
    let canonical = sigstead_rekor_types::canonicalize(&e.body).map_err(|err| err.to_string())?;
    if canonical.body != e.body {
        return Err("the stored body is not its own canonical form".into());
    }
    Ok(Some(canonical.index_keys))
}

/// The Rekor checkpoint rule of `sigstead fsck`: the signed note verifies
/// with the log key and names the recorded size and root.
pub fn fsck_note_check(spki_der: &[u8], cp: &sigstead_tlog::StoredCheckpoint) -> Result<(), String> {
    let note = sigstead_note::verify_checkpoint_v1(&cp.signed, None, spki_der).map_err(|e| e.to_string())?;
    if note.size != cp.tree_size.0 || note.root_hash != cp.root_hash {
        return Err(format!("the signed note names size {} and another root than the record", note.size));
    }
    Ok(())
}

/// Search keys that releases before the explorer did not store.
pub const KEYS_ADDED_LATER: &[&str] = &["iss:"];
