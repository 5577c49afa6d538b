//! Sigstead's RFC 3161 timestamp authority.
//!
//! A timestamp lets a signature outlive its ten-minute certificate without
//! trusting the log's clock alone, and Rekor v2 deployments require one.
//! The TSA's key sits behind the workspace [`sigstead_crypto::Signer`], so it
//! may live in a PKCS#11 HSM (upstream's timestamp-authority cannot keep it
//! there). The ASN.1 and the signing live in `sigstead-tsp`; this crate is
//! the configuration, the clock and serial numbers, the HTTP shell and the
//! metrics (`tsa_timestamps_issued_total`, `tsa_rejections_total{reason}`,
//! `tsa_signing_seconds`). `/readyz` signs a probe: it fails when the signer
//! (an HSM session) does not answer.

pub mod api;
pub mod config;
pub mod error;
pub mod init;
pub mod service;

use axum::Router;
use std::sync::Arc;

pub use api::router;
pub use config::TsaConfig;
pub use error::TsaApiError;
pub use service::Tsa;

/// The whole HTTP application: [`router`] plus the common layers (body
/// limit, timeout, `/healthz`, `/readyz` probing the signer, `/metrics`).
pub fn app(tsa: Tsa, http: &sigstead_server::HttpConfig) -> Router {
    let probe = tsa.clone();
    let ready: sigstead_server::ReadyCheck = Arc::new(move || {
        let probe = probe.clone();
        Box::pin(async move { tokio::task::spawn_blocking(move || probe.probe()).await.map_err(|e| e.to_string())? })
    });
    sigstead_server::with_common_routes(router(tsa), http, ready)
}

/// Opens the key and the chain of `config` and checks they belong together.
pub fn open(config: &TsaConfig) -> anyhow::Result<Tsa> {
    let signer = config.load_signer()?;
    let chain = config.load_chain()?;
    let authority = sigstead_tsp::TimestampAuthority::new(signer.clone(), chain, config.settings())
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.cert_chain.display()))?;
    Ok(Tsa::new(authority, signer))
}

/// Serves the TSA described by `config` until `shutdown` resolves.
pub async fn run(
    config: TsaConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tsa = open(&config)?;
    let app = app(tsa, &config.http);
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, "timestamp authority serving");
    sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await?;
    Ok(())
}
