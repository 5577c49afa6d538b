//! Sigstead's TUF repository server.
//!
//! Serves a repository directory in the consistent-snapshot layout Sigstore
//! clients use (`N.root.json`, `timestamp.json`, `N.snapshot.json`,
//! `N.targets.json`, `targets/<sha256>.<name>`), with cache headers that fit
//! each file: `timestamp.json` (and the convenience `root.json`) must be
//! revalidated, versioned and hash-prefixed files are immutable. A missing
//! `N+1.root.json` is a 404, which ends a client's root walk.
//!
//! With online keys, the server re-signs snapshot and timestamp on a schedule
//! ([`online::refresh_online`]) so that clients never see expired metadata,
//! and warns well before the offline roles (root, targets) expire.

pub mod audit;
pub mod config;
pub mod editor;
pub mod kit;
pub mod mirror;
pub mod online;
pub mod publish;
pub mod repo_dir;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
pub use config::{OnlineKeys, TufConfig};
use online::Lifetimes;
use repo_dir::RepoDir;
use sigstead_tuf::repo::valid_target_name;
use std::sync::Arc;
use std::time::Duration;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct TufState {
    dir: Arc<RepoDir>,
}

impl TufState {
    pub fn new(dir: RepoDir) -> Self {
        Self { dir: Arc::new(dir) }
    }
}

/// Errors of this boundary, mapped to HTTP by [`ServeError::into_response`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("not found")]
    NotFound,
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = match &self {
            ServeError::NotFound => StatusCode::NOT_FOUND,
            ServeError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = sigstead_server::public_message(status, &self, "internal error", "reading the repository");
        (status, axum::Json(serde_json::json!({"code": status.as_u16(), "message": message}))).into_response()
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The routes of the repository.
pub fn router(state: TufState) -> Router {
    Router::new().route("/{file}", get(metadata)).route("/targets/{*path}", get(target)).with_state(state)
}

/// Which top-level file a request names, and its cache policy.
fn classify(file: &str) -> Option<&'static str> {
    if file == "timestamp.json" || file == "root.json" {
        return Some(REVALIDATE);
    }
    ["root", "snapshot", "targets"].into_iter().any(|r| repo_dir::versioned(file, r).is_some()).then_some(IMMUTABLE)
}

/// The file's strong validator: its SHA-256 (the repository's files change
/// only by being replaced, so equal bytes are the same representation).
fn etag(bytes: &[u8]) -> String {
    let d = sigstead_crypto::digest(sigstead_crypto::HashAlgorithm::Sha256, bytes);
    format!("\"{}\"", hex::encode(d))
}

/// Whether an `If-None-Match` header names `tag` (or `*`), RFC 9110 §13.1.2.
fn not_modified(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t == tag || t.strip_prefix("W/") == Some(tag)))
}

/// The file with its content type, cache policy and `ETag`; a `304 Not
/// Modified` without a body when the client's `If-None-Match` names it, so
/// that caches in front of the server revalidate `timestamp.json` cheaply.
fn respond(request: &HeaderMap, bytes: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let tag = etag(&bytes);
    let unchanged = not_modified(request, &tag);
    let mut resp = if unchanged { StatusCode::NOT_MODIFIED.into_response() } else { bytes.into_response() };
    let h = resp.headers_mut();
    if !unchanged {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    resp
}

async fn metadata(
    State(s): State<TufState>,
    Path(file): Path<String>,
    request: HeaderMap,
) -> Result<Response, ServeError> {
    let cache = classify(&file).ok_or(ServeError::NotFound)?;
    let bytes = if file == "root.json" {
        s.dir.latest_root().map(|(_, b)| b).map_err(|_| ServeError::NotFound)?
    } else {
        s.dir.read(&file)?.ok_or(ServeError::NotFound)?
    };
    Ok(respond(&request, bytes, "application/json", cache))
}

async fn target(
    State(s): State<TufState>,
    Path(path): Path<String>,
    request: HeaderMap,
) -> Result<Response, ServeError> {
    if !valid_target_name(&path) {
        return Err(ServeError::NotFound);
    }
    let bytes = s.dir.read(&format!("targets/{path}"))?.ok_or(ServeError::NotFound)?;
    let ct = if path.ends_with(".json") { "application/json" } else { "application/octet-stream" };
    Ok(respond(&request, bytes, ct, IMMUTABLE))
}

/// The offline-signed roles (root, targets) that expire within `warn` of `now`.
pub fn expiry_warnings(
    expiries: &[(sigstead_tuf::Role, u64, time::OffsetDateTime)],
    now: time::OffsetDateTime,
    warn: time::Duration,
) -> Vec<(sigstead_tuf::Role, u64, time::OffsetDateTime)> {
    expiries
        .iter()
        .filter(|(role, _, expires)| {
            matches!(role, sigstead_tuf::Role::Root | sigstead_tuf::Role::Targets) && *expires - now < warn
        })
        .copied()
        .collect()
}

/// One scheduled pass: re-sign the online roles if needed, publish expiry
/// metrics, warn about offline roles close to expiry.
pub fn check_once(dir: &RepoDir, keys: Option<&OnlineKeys>, config: &TufConfig) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    if let Some(keys) = keys {
        let life =
            Lifetimes { timestamp_secs: config.timestamp_expiry_secs, snapshot_secs: config.snapshot_expiry_secs };
        let out = online::refresh_online(dir, keys, life, now)?;
        if out.snapshot.is_some() || out.timestamp.is_some() {
            tracing::info!(snapshot = ?out.snapshot, timestamp = ?out.timestamp, "re-signed online roles");
        }
    }
    let warn = time::Duration::days(i64::try_from(config.offline_expiry_warning_days).unwrap_or(i64::MAX / 86_400));
    let expiries = online::expiries(dir)?;
    for (role, _, expires) in &expiries {
        metrics::gauge!("sigstead_tuf_expires_in_seconds", "role" => role.name())
            .set((*expires - now).as_seconds_f64());
    }
    let warnings = expiry_warnings(&expiries, now, warn);
    for role in sigstead_tuf::Role::ALL {
        let on = warnings.iter().any(|(r, _, _)| *r == role);
        metrics::gauge!("sigstead_tuf_expiry_warning", "role" => role.name()).set(if on { 1.0 } else { 0.0 });
    }
    for (role, version, expires) in warnings {
        tracing::warn!(%role, version, expires = %expires, "offline-signed {role} metadata expires soon: sign a new version");
    }
    Ok(())
}

/// The whole HTTP application: [`router`] plus the common layers (body
/// limit, timeout, `/healthz`, `/readyz` — a root can be read —, `/metrics`).
pub fn app(state: TufState, http: &sigstead_server::HttpConfig) -> Router {
    let dir = state.dir.clone();
    let ready: sigstead_server::ReadyCheck = Arc::new(move || {
        let d = dir.clone();
        Box::pin(async move { d.latest_root().map(|_| ()).map_err(|e| e.to_string()) })
    });
    sigstead_server::with_common_routes(router(state), http, ready)
}

/// Serves the repository described by `config` until `shutdown` resolves.
pub async fn run(
    config: TufConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let dir = RepoDir::new(config.repository_dir());
    let keys = config.load_online_keys()?;
    // Refuse to start on a repository we cannot keep fresh.
    check_once(&dir, keys.as_ref(), &config)?;
    let ticker = {
        let (dir, config) = (dir.clone(), config.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(config.check_interval_secs));
            every.tick().await;
            loop {
                every.tick().await;
                let (d, k, c) = (dir.clone(), keys.clone(), config.clone());
                match tokio::task::spawn_blocking(move || check_once(&d, k.as_ref(), &c)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "TUF online role check failed"),
                    Err(e) => tracing::error!(error = %e, "TUF online role check panicked"),
                }
            }
        })
    };
    let app = app(TufState::new(dir), &config.http);
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, "tuf repository serving");
    let result = sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await;
    ticker.abort();
    result.map_err(Into::into)
}
