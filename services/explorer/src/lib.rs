//! Sigstead's log explorer: a web page served by the stack, inside the air
//! gap, with every asset embedded in the binary.
//!
//! * **Search** by email or URI identity, OIDC issuer, artifact SHA-256,
//!   public key, log index and entry UUID, newest first, with paging
//!   (`/search?kind=&q=&before=`; stable URLs to paste into a ticket).
//! * **Entry page** (`/entry/{uuid}`): kind and version, integrated time,
//!   the canonical body, the signature, each certificate decoded (SANs,
//!   issuer, validity, key type, the Fulcio OID extensions by name, the
//!   embedded SCTs and which CT log of the trusted root issued them).
//! * **Verification in the browser**: the page's script fetches the body,
//!   the inclusion proof and the signed checkpoint (`/api/proof/{uuid}`) and
//!   the log keys of the trusted root (`/api/trust/logs`), recomputes the
//!   RFC 6962 leaf hash and the root from the proof, and verifies the
//!   checkpoint's signature with WebCrypto against the key the trusted root
//!   lists for this log's URL. Each step and its result is shown; a
//!   mismatch is a visible failure with its reason.
//! * **Trust & status** (`/trust`): the TUF root history (versions,
//!   thresholds), expiry and days left per role, the services and keys of
//!   `trusted_root.json` with their validity windows; the home page shows
//!   the tree size, the latest checkpoint and its age, and the last
//!   verified checkpoint of a `sigstead monitor` when one is configured.
//!
//! Why server-rendered HTML and one hand-written module rather than a
//! front-end framework: the release build must not need Node.js, the page
//! must load nothing from outside the stack (a `Content-Security-Policy`
//! of `'self'` enforces it), and the only logic that must run in the
//! browser is the proof check, which fits in one small script.
//!
//! The explorer reads the Rekor log's database directly and read-only
//! (entries, search keys, stored nodes, checkpoints): a search page is one
//! indexed query whatever the number of hits, and the explorer needs no
//! key and takes no part in the log's sequencing. It trusts nothing it
//! reads for the verdict it shows: the browser checks the proof against a
//! key from the trust root.

pub mod config;
pub mod decode;
pub mod error;
pub mod html;
pub mod pages;
pub mod query;
pub mod service;

pub use config::ExplorerConfig;
pub use error::ExplorerError;
pub use service::{Explorer, TrustSource};

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use sigstead_tlog::LogStore as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Nothing loads from another origin; no inline script or style.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// The explorer's routes (without the operational endpoints).
pub fn router(explorer: Explorer) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/entry/{uuid}", get(pages::entry))
        .route("/trust", get(pages::trust))
        .route("/api/proof/{uuid}", get(pages::proof))
        .route("/api/trust/logs", get(pages::trust_logs))
        .route("/assets/explorer.js", get(pages::script))
        .route("/assets/explorer.css", get(pages::style))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(explorer)
}

/// [`router`] plus the common layers (`/healthz`, `/readyz` pinging the
/// database, `/metrics`, limits). `run` serves exactly this.
pub fn app(explorer: Explorer, http: &sigstead_server::HttpConfig) -> Router {
    let store = explorer.store().clone();
    let ready: sigstead_server::ReadyCheck = Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|e| e.to_string()) })
    });
    sigstead_server::with_common_routes(router(explorer), http, ready)
}

/// The trust source a configuration names (reads the pinned root).
pub fn trust_source(config: &ExplorerConfig) -> anyhow::Result<TrustSource> {
    if let Some(t) = &config.tuf {
        let root1 = std::fs::read(&t.root)
            .map_err(|e| anyhow::anyhow!("reading the pinned TUF root {}: {e}", t.root.display()))?;
        let http =
            sigstead_server::OutboundTls::with_ca_file(t.ca_file.clone()).http_client(Duration::from_secs(30))?;
        return Ok(TrustSource::Tuf { http, url: t.url.clone(), root1, refresh: Duration::from_secs(t.refresh_secs) });
    }
    match &config.trusted_root {
        Some(p) => Ok(TrustSource::File(p.clone())),
        None => anyhow::bail!("the explorer needs a trusted root: give [tuf] or trusted_root"),
    }
}

/// Opens the explorer: connects the database (checking, never migrating,
/// its schema) and finds the log.
pub async fn open(config: &ExplorerConfig) -> anyhow::Result<Explorer> {
    // Local files first: a missing pinned root is reported before any connection.
    let trust = trust_source(config)?;
    let store = sigstead_tlog::Store::open(&config.database_url, sigstead_tlog::MigratePolicy::RequireCurrent).await?;
    explorer(config, store, trust).await
}

/// As [`open`], over an already connected store (`sigstead up` shares its
/// log's embedded database this way).
pub async fn open_with(config: &ExplorerConfig, store: sigstead_tlog::Store) -> anyhow::Result<Explorer> {
    explorer(config, store, trust_source(config)?).await
}

async fn explorer(
    config: &ExplorerConfig,
    store: sigstead_tlog::Store,
    trust: TrustSource,
) -> anyhow::Result<Explorer> {
    Explorer::new(
        store,
        &config.log_name,
        config.rekor_url.clone(),
        config.page_size,
        trust,
        config.monitor_state_dir.clone(),
    )
    .await
}

/// Serves the explorer on `listener` until `shutdown` resolves.
pub async fn run(
    config: ExplorerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let explorer = open(&config).await?;
    serve(&config, explorer, listener, shutdown).await
}

/// Serves an opened explorer.
pub async fn serve(
    config: &ExplorerConfig,
    explorer: Explorer,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, rekor_url = %config.rekor_url, tls = tls.is_some(), "explorer serving");
    let app = app(explorer, &config.http);
    sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await?;
    Ok(())
}
