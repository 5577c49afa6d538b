//! Server plumbing shared by every Sigstead service: HTTP (optionally TLS via
//! rustls) with graceful shutdown, request body limits, `/healthz`,
//! `/readyz`, Prometheus `/metrics`, request metrics and structured logs.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

pub mod rate_limit;

/// HTTP settings every service's config embeds as `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest accepted request body, in bytes. Larger requests get 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Requests taking longer than this are answered with 503.
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
    /// PEM certificate chain for HTTPS. Set together with `tls_key_file`;
    /// without both the service speaks plain HTTP.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Seconds a client has to send a request's headers, counted from the
    /// connection's start and, on a keep-alive connection, from the end of
    /// the previous response: a slow-header (slowloris) client, or a
    /// connection idle for longer, is closed. Default 10.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Most connections served at once. A connection beyond it is closed
    /// as soon as it is accepted (and counted in
    /// `http_connections_refused_total`), so a flood of connections cannot
    /// exhaust memory or file descriptors. Default 1024.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Per-client request rate limit (`[http.rate_limit]`); off by default.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
}

/// A token bucket per client address: `per_second` requests per second on
/// average, bursts of up to `burst`. Requests beyond it are answered `429`
/// with `Retry-After`; `/healthz`, `/readyz` and `/metrics` are never
/// limited. Off by default (`per_second = 0`): on a private network every CI
/// runner may reach the service from one NAT or proxy address, so the
/// operator chooses the rate for the addresses they see. The clients'
/// addresses are the TCP peers (a reverse proxy in front is one client).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per second per client address; 0 turns the limit off.
    #[serde(default)]
    pub per_second: u32,
    /// Largest burst per client address (at least 1; default: `per_second`).
    #[serde(default)]
    pub burst: Option<u32>,
}

/// What [`serve_with`] enforces per connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(default_header_read_timeout()),
            max_connections: default_max_connections(),
        }
    }
}

fn default_header_read_timeout() -> u64 {
    10
}
fn default_max_connections() -> usize {
    1024
}

fn default_max_body() -> usize {
    1024 * 1024
}
fn default_timeout() -> u64 {
    30
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: default_max_body(),
            request_timeout_secs: default_timeout(),
            tls_cert_file: None,
            tls_key_file: None,
            header_read_timeout_secs: default_header_read_timeout(),
            max_connections: default_max_connections(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

impl HttpConfig {
    /// Resolves relative file paths against `base` and checks the combination.
    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) | (None, Some(_)) => {
                anyhow::bail!("http.tls_cert_file and http.tls_key_file must be set together")
            }
            _ => {}
        }
        for p in [&mut self.tls_cert_file, &mut self.tls_key_file].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if self.max_body_bytes == 0 {
            anyhow::bail!("http.max_body_bytes must be positive");
        }
        if self.header_read_timeout_secs == 0 {
            anyhow::bail!("http.header_read_timeout_secs must be positive");
        }
        if self.max_connections == 0 {
            anyhow::bail!("http.max_connections must be positive");
        }
        if self.rate_limit.burst == Some(0) {
            anyhow::bail!("http.rate_limit.burst must be at least 1");
        }
        if self.rate_limit.per_second == 0 && self.rate_limit.burst.is_some() {
            anyhow::bail!("http.rate_limit.burst is set but per_second is 0 (the limit is off)");
        }
        Ok(())
    }

    /// The per-connection limits [`serve_with`] enforces.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            max_connections: self.max_connections,
        }
    }

    /// Loads the rustls server configuration, if TLS is configured.
    pub fn tls(&self) -> anyhow::Result<Option<Arc<tokio_rustls::rustls::ServerConfig>>> {
        let (Some(cert), Some(key)) = (&self.tls_cert_file, &self.tls_key_file) else {
            return Ok(None);
        };
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?;
        anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", cert.display());
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Arc::new(cfg)))
    }
}

/// The one policy for what an error tells the client, shared by every
/// service's error enum: a 4xx says what was wrong with the request (the
/// error's own message); a 5xx body says only `generic`, and the detail goes
/// to the log with the service's `context`, never to the client.
pub fn public_message(status: StatusCode, error: &dyn std::fmt::Display, generic: &str, context: &str) -> String {
    if status.is_server_error() {
        tracing::error!(error = %error, %status, "{context}");
        generic.to_string()
    } else {
        error.to_string()
    }
}

/// How every key table reads now, for [`refuse_renamed_fields`] messages.
pub const KEY_SOURCE_SHAPE: &str = "a `.file` table (path, and password_file or password_env) or a `.pkcs11` table \
     (module, token_label, key_label, and pin_file or pin_env)";

/// Refuses settings of earlier releases with a message naming what replaced
/// them. `renamed` lists `(old, new)`: `old` is a top-level field or
/// `table.field`. Run on the raw configuration text before deserialising it,
/// so an old file gets this message rather than serde's "unknown field".
pub fn refuse_renamed_fields(text: &str, renamed: &[(&str, &str)]) -> anyhow::Result<()> {
    let Ok(table) = text.parse::<toml::Table>() else { return Ok(()) };
    for (old, new) in renamed {
        let present = match old.split_once('.') {
            Some((t, f)) => table.get(t).and_then(|v| v.as_table()).is_some_and(|t| t.contains_key(f)),
            None => table.contains_key(*old),
        };
        if present {
            anyhow::bail!("`{old}` is no longer accepted: use {new} (see the example configurations in deploy/)");
        }
    }
    Ok(())
}

/// Makes aws-lc-rs the process-wide rustls crypto provider (HTTPS clients
/// built without an explicit configuration need one). Idempotent.
pub fn install_crypto_provider() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Installs the global tracing subscriber (`RUST_LOG` filters; JSON with `SIGSTEAD_LOG_FORMAT=json`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SIGSTEAD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// How often the recorder's histogram samples are folded into their
/// summaries when nobody scrapes `/metrics`.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide Prometheus recorder. A recorder built with
/// `build_recorder` keeps every histogram sample until upkeep runs (a
/// render does it too): without a scraper, memory grew by about 40 bytes
/// per Rekor append in a soak run. A background thread runs the upkeep
/// every [`METRICS_UPKEEP`].
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests); metrics then go there.
            let _ = metrics::set_global_recorder(recorder);
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
                std::thread::sleep(METRICS_UPKEEP);
                upkeep.run_upkeep();
            });
            handle
        })
        .clone()
}

/// A readiness check: resolves to `Ok(())` when the service can do its job.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Adds `/healthz`, `/readyz`, `/metrics`, request metrics, the body limit
/// and the request timeout to a service router.
pub fn with_common_routes(router: Router, http: &HttpConfig, ready: ReadyCheck) -> Router {
    let handle = metrics_handle();
    let ops = Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "SERVING"})) }))
        .route("/readyz", get(readyz))
        .with_state(ready)
        .route("/metrics", get(move || std::future::ready(handle.render())));
    let max = http.max_body_bytes;
    let router = match rate_limit::PerClient::new(&http.rate_limit) {
        // Only the API routes: the operational endpoints are merged after.
        Some(limiter) => router.layer(axum::middleware::from_fn_with_state(Arc::new(limiter), rate_limit::limit)),
        None => router,
    };
    router
        .merge(ops)
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(http.max_body_bytes))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(http.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(http.request_timeout_secs),
        ))
        // Outside the limit and timeout layers, so it sees their plain-text answers.
        .layer(axum::middleware::map_response(move |resp: Response| json_limit_errors(resp, max)))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }))
}

/// The body limit and the timeout answer in plain text; every Sigstead API
/// (like upstream's) answers errors as `{"code": N, "message": "..."}`.
async fn json_limit_errors(resp: Response, max_body: usize) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let message = match resp.status() {
        StatusCode::PAYLOAD_TOO_LARGE if !is_json => format!("request body exceeds the limit of {max_body} bytes"),
        StatusCode::SERVICE_UNAVAILABLE if !is_json && resp.headers().get(header::CONTENT_TYPE).is_none() => {
            "request timed out".to_string()
        }
        _ => return resp,
    };
    let status = resp.status();
    (status, axum::Json(serde_json::json!({"code": status.as_u16(), "message": message}))).into_response()
}

/// How long `/readyz` waits for its check: a dependency that does not answer
/// within this (a database behind a dropped network, a hung HSM) makes the
/// service not ready, so that a load balancer takes it out within 2 s
/// instead of waiting on a hung check.
pub const READY_TIMEOUT: Duration = Duration::from_millis(1500);

async fn readyz(State(ready): State<ReadyCheck>) -> Response {
    let why = match tokio::time::timeout(READY_TIMEOUT, ready()).await {
        Ok(Ok(())) => return (StatusCode::OK, "ready").into_response(),
        Ok(Err(why)) => why,
        Err(_) => format!("the readiness check did not answer within {} ms", READY_TIMEOUT.as_millis()),
    };
    tracing::warn!(%why, "not ready");
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain")], "not ready").into_response()
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status).increment(1);
    resp
}

/// [`serve_with`] with the default [`ConnectionLimits`].
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(router, listener, tls, ConnectionLimits::default(), shutdown).await
}

/// Serves `router` on `listener` (HTTP/1.1 and HTTP/2; TLS when `tls` is
/// given) until `shutdown` resolves, then lets open requests finish for up
/// to 30 s. Every connection must send its request headers within
/// `limits.header_read_timeout` (also the keep-alive idle timeout); beyond
/// `limits.max_connections` open connections, new ones are closed at once.
/// Each request carries its TCP peer as `ConnectInfo<SocketAddr>`.
pub async fn serve_with(
    router: Router,
    listener: TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("http_connections_refused_total").increment(1);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let svc =
                tower::ServiceExt::map_request(router, move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                    req
                });
            let svc = hyper_util::service::TowerToHyperService::new(svc);
            let result = match acceptor {
                None => {
                    watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(tcp), svc).into_owned()).await
                }
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
                    };
                    watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(tls), svc).into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("connections still open after 30 s; closing"),
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown requested");
}

/// How a service makes its outgoing HTTPS connections (CA → CT log, CA →
/// OIDC discovery and JWKS, `sigstead mirror` → TUF repository): the
/// system's roots plus an optional private CA bundle, and an optional client
/// certificate for servers that require mutual TLS. Every outbound client of
/// the stack is built from this one type (`[outbound_tls]` in a service's
/// configuration) by [`OutboundTls::http_client`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundTls {
    /// PEM file of CA certificates trusted besides the system's roots, e.g.
    /// the private CA that issued the CT log's or the IdP's TLS certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented when a server asks for a client
    /// certificate (mutual TLS). Set together with `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of `client_cert_file` (PKCS#8, SEC1 or PKCS#1, unencrypted;
    /// keep it readable by the service only).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

impl OutboundTls {
    /// Trusts `ca_file` besides the system's roots; no client certificate.
    pub fn with_ca_file(ca_file: Option<PathBuf>) -> Self {
        Self { ca_file, ..Self::default() }
    }

    /// Resolves relative paths against `base` and checks the combination.
    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            anyhow::bail!("outbound_tls.client_cert_file and outbound_tls.client_key_file must be set together");
        }
        for p in [&mut self.ca_file, &mut self.client_cert_file, &mut self.client_key_file].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(())
    }

    /// The rustls client configuration (aws-lc-rs, safe default protocol versions).
    pub fn client_config(&self) -> anyhow::Result<tokio_rustls::rustls::ClientConfig> {
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            anyhow::ensure!(!certs.is_empty(), "{} holds no certificates", path.display());
            for cert in certs {
                roots.add(cert).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let mut cfg = match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?;
                anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
                builder.with_client_auth_cert(chain, key)?
            }
            _ => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(cfg)
    }

    /// An HTTP client with this TLS configuration and a whole-request timeout.
    pub fn http_client(&self, timeout: Duration) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder().use_preconfigured_tls(self.client_config()?).timeout(timeout).build()?)
    }
}
