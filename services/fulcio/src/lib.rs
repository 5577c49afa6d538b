//! Sigstead's Fulcio-compatible certificate authority.
//!
//! Trades an OIDC ID token and a proof of possession of a key for a
//! short-lived code-signing certificate carrying an embedded SCT from the CT
//! log. Request shapes accepted (every shape a real client sends):
//!
//! * `POST /api/v2/signingCert` with `publicKeyRequest` (+ proof of
//!   possession) and the token in `Authorization: Bearer` (cosign 3,
//!   sigstore-go) or in `credentials.oidcIdentityToken` (sigstore-js,
//!   sigstore-rust); or with a `certificateSigningRequest` (sigstore-python);
//! * legacy `POST /api/v1/signingCert` (201, PEM chain; gitsign, cosign 2);
//! * `GET /api/v2/trustBundle`, `GET /api/v2/configuration`, `GET /api/v1/rootCert`.

pub mod api;
pub mod config;
pub mod error;
pub mod init;
mod jwks;
pub mod service;
/// The CA's wire types live in the pure CA crate (shared with the bench and the fuzz targets).
pub use sigstead_ca::wire;

use axum::Router;
use sigstead_ca::CaChain;
use sigstead_oidc::IssuerSet;
use std::sync::Arc;

pub use api::router;
pub use config::FulcioConfig;
pub use error::FulcioError;
pub use jwks::JwksSource;
pub use service::Fulcio;

/// The whole HTTP application: [`router`] plus the common layers (body
/// limit, timeout, `/healthz`, `/readyz`, `/metrics`). The CA has no
/// database; it is ready once its key and chain are loaded, which `open` did.
pub fn app(f: Fulcio, http: &sigstead_server::HttpConfig) -> Router {
    let ready: sigstead_server::ReadyCheck = Arc::new(|| Box::pin(async { Ok(()) }));
    sigstead_server::with_common_routes(router(f), http, ready)
}

/// Builds the CA from its configuration.
pub fn open(config: &FulcioConfig) -> anyhow::Result<Fulcio> {
    let chain = config.load_chain()?;
    let ca = CaChain::new(chain, config.load_ca_key()?)?;
    let issuers = IssuerSet::from_config(&config.oidc).map_err(|e| anyhow::anyhow!("oidc: {e}"))?;
    let jwks = JwksSource::new(
        config.static_jwks.iter().map(|(k, v)| (k.clone(), config.path(v))).collect(),
        &config.outbound_tls,
    )?;
    sigstead_server::install_crypto_provider();
    Ok(Fulcio::new(
        ca,
        issuers,
        jwks,
        config.ct_log_url.clone(),
        config.outbound_tls.http_client(std::time::Duration::from_secs(20))?,
        config.certificate_validity_secs,
        config.token_leeway_secs,
    )
    .with_identity_rate_limit(&config.identity_rate_limit))
}

/// Serves the CA until `shutdown` resolves.
pub async fn run(
    config: FulcioConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let f = open(&config)?;
    let app = app(f, &config.http);
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, ct_log = %config.ct_log_url, "fulcio serving");
    sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await?;
    Ok(())
}
