//! Sigstead's RFC 6962 Certificate Transparency log, on the shared log engine.
//!
//! The CA submits each precertificate here before issuing and embeds the SCT.
//! Unlike a classic CT log, an SCT is returned only once the entry is
//! integrated and covered by a signed tree head, so the promise it makes is
//! already kept. Endpoints (RFC 6962 §4): `add-chain`, `add-pre-chain`,
//! `get-sth`, `get-sth-consistency`, `get-proof-by-hash`, `get-entries`,
//! `get-roots`, all under `/ct/v1/`.
//!
//! Each entry's `extra_data` (RFC 6962 §4.6: the submitted chain, and for a
//! precertificate the precertificate itself) is stored beside its leaf in the
//! same transaction and served by `get-entries`.

pub mod api;
pub mod config;
pub mod error;
pub mod init;
pub mod service;

use axum::Router;
use sigstead_crypto::Signer;
use sigstead_tlog::Log;
use std::sync::Arc;

pub use api::router;
pub use config::CtConfig;
pub use error::CtApiError;
pub use service::{CtLog, SthSigner};

/// The whole HTTP application: [`router`] plus the common layers (body
/// limit, timeout, `/healthz`, `/readyz` pinging the database, `/metrics`).
pub fn app(ct: CtLog, http: &sigstead_server::HttpConfig) -> Router {
    let log = ct.engine().clone();
    let ready: sigstead_server::ReadyCheck = Arc::new(move || {
        let log = log.clone();
        Box::pin(async move { log.ready().await.map_err(|e| e.to_string()) })
    });
    sigstead_server::with_common_routes(router(ct), http, ready)
}

/// Opens the CT log (creating it on first use) on a connected store.
pub async fn open_with(
    store: sigstead_tlog::Store,
    name: &str,
    key: Arc<dyn Signer>,
    roots: Vec<Vec<u8>>,
    replication: sigstead_tlog::ReplicationConfig,
    faults: sigstead_tlog::Faults,
) -> anyhow::Result<CtLog> {
    let mut cfg = sigstead_tlog::LogConfig::new(name);
    cfg.replication = replication;
    let log = Log::open(store, cfg, Arc::new(SthSigner(key.clone())), |_| None, faults).await?;
    Ok(CtLog::new(log, key, roots))
}

/// Serves the CT log described by `config` until `shutdown` resolves.
pub async fn run(
    config: CtConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let key = config.load_signer()?;
    let roots = config.load_roots()?;
    let url = &config.database_url;
    let store = sigstead_tlog::Store::open(url, url.default_migrate_policy()).await?;
    let replication = config.replication.to_config()?;
    let ct = open_with(store, &config.log_name, key, roots, replication, sigstead_tlog::Faults::none()).await?;
    let engine = ct.engine().clone();
    let app = app(ct, &config.http);
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, "ct log serving");
    let served = sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await;
    // A leader hands its sequencer lease over at once instead of letting it expire.
    engine.shutdown().await;
    served?;
    Ok(())
}
