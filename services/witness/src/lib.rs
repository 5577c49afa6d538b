//! Sigstead's transparency-log witness (C2SP `tlog-witness`,
//! `tlog-cosignature` Ed25519 `cosignature/v1`).
//!
//! A private log is not publicly witnessed; a second site runs this witness
//! so that a log showing two views of its history, or rolling back, is
//! caught: the witness cosigns a checkpoint only after checking the log's
//! signature and a consistency proof from the checkpoint it cosigned last,
//! which it keeps on disk (`state`, with what a crash leaves). The wire
//! format and the cosignature are in `sigstead_note::cosignature`; this
//! crate is the configuration, the state, the check and the HTTP shell
//! (metrics `witness_cosigned_total`, `witness_refused_total{reason}`).

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod init;
pub mod service;
pub mod state;

use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;

pub use api::router;
pub use config::WitnessConfig;
pub use error::WitnessError;
pub use service::Witness;

/// The whole HTTP application: [`router`] plus the common layers.
pub fn app(witness: Witness, http: &sigstead_server::HttpConfig) -> Router {
    let ready: sigstead_server::ReadyCheck = Arc::new(|| Box::pin(async { Ok(()) }));
    sigstead_server::with_common_routes(router(witness), http, ready)
}

/// Opens the key, the logs' keys and the state directory of `config`.
pub fn open(config: &WitnessConfig) -> anyhow::Result<Witness> {
    let key = config.witness_key.open().map_err(|e| anyhow::anyhow!("witness_key: {e}"))?;
    let mut logs = HashMap::new();
    for l in &config.logs {
        let pem = std::fs::read(&l.public_key)
            .map_err(|e| anyhow::anyhow!("logs: reading {}: {e}", l.public_key.display()))?;
        let m = sigstead_crypto::VerifierMaterial::parse(&pem)
            .map_err(|e| anyhow::anyhow!("logs: {}: {e}", l.public_key.display()))?;
        logs.insert(l.origin.clone(), m.spki_der);
    }
    let state = state::StateDir::open(&config.state_dir)?;
    Witness::new(&config.name, key, logs, state)
}

/// Serves the witness described by `config` until `shutdown` resolves.
pub async fn run(
    config: WitnessConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let witness = open(&config)?;
    let app = app(witness.clone(), &config.http);
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, vkey = witness.vkey(), "witness serving");
    sigstead_server::serve_with(app, listener, tls, config.http.connection_limits(), shutdown).await?;
    Ok(())
}
