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

pub mod config;
pub mod init;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use der::{Decode, Encode};
use serde::Deserialize;
use sigstead_crypto::{PublicKey, Signer};
use sigstead_ct::{LogEntry, Sct};
use sigstead_tlog::{AppendOutcome, CheckpointSigner, LeafIndex, Log, TreeSize};
use std::collections::HashMap;
use std::sync::Arc;

pub use config::CtConfig;

/// The one error type of the CT API and its HTTP mapping.
#[derive(Debug, thiserror::Error)]
pub enum CtApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("the log is temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for CtApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let msg = sigstead_server::public_message(status, &self, "internal server error", "CT request failed");
        (status, Json(serde_json::json!({"error_message": msg, "success": false}))).into_response()
    }
}

impl From<sigstead_tlog::Error> for CtApiError {
    fn from(e: sigstead_tlog::Error) -> Self {
        if e.is_client_error() {
            Self::BadRequest(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

/// Signs RFC 6962 tree heads; the stored form is the `get-sth` JSON.
#[derive(Debug)]
pub struct SthSigner(pub Arc<dyn Signer>);

impl CheckpointSigner for SthSigner {
    fn sign(&self, size: TreeSize, root: &[u8; 32], timestamp_ms: u64) -> Result<String, sigstead_tlog::Error> {
        let sig = sigstead_ct::sign_tree_head(timestamp_ms, size.0, root, self.0.as_ref())
            .map_err(|e| sigstead_tlog::Error::Signing(e.to_string()))?;
        Ok(serde_json::json!({
            "tree_size": size.0,
            "timestamp": timestamp_ms,
            "sha256_root_hash": STANDARD.encode(root),
            "tree_head_signature": STANDARD.encode(sig),
        })
        .to_string())
    }
}

/// The CT log: engine, key and accepted roots.
#[derive(Debug, Clone)]
pub struct CtLog {
    log: Log,
    key: Arc<dyn Signer>,
    roots: Arc<Vec<Vec<u8>>>,
}

fn now_ms() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn signature_ok(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok(cert), Ok(issuer)) =
        (x509_cert::Certificate::from_der(cert_der), x509_cert::Certificate::from_der(issuer_der))
    else {
        return false;
    };
    let Ok(spki) = issuer.tbs_certificate.subject_public_key_info.to_der() else { return false };
    let Ok(key) = PublicKey::from_spki_der(&spki) else { return false };
    let Ok(tbs) = cert.tbs_certificate.to_der() else { return false };
    cert.tbs_certificate.issuer == issuer.tbs_certificate.subject
        && key.verify(&tbs, cert.signature.raw_bytes()).is_ok()
}

impl CtLog {
    pub fn new(log: Log, key: Arc<dyn Signer>, roots: Vec<Vec<u8>>) -> Self {
        Self { log, key, roots: Arc::new(roots) }
    }

    pub fn engine(&self) -> &Log {
        &self.log
    }

    /// Checks that every certificate is signed by the next and the chain ends at an accepted root.
    fn check_chain(&self, chain: &[Vec<u8>]) -> Result<(), CtApiError> {
        for pair in chain.windows(2) {
            if !signature_ok(&pair[0], &pair[1]) {
                return Err(CtApiError::BadRequest(
                    "chain does not verify: a certificate is not signed by the next".into(),
                ));
            }
        }
        let last = chain.last().ok_or_else(|| CtApiError::BadRequest("empty chain".into()))?;
        let anchored = self.roots.iter().any(|r| r == last || signature_ok(last, r));
        if anchored {
            Ok(())
        } else {
            Err(CtApiError::BadRequest("chain does not end at an accepted root".into()))
        }
    }

    /// `add-chain` / `add-pre-chain`: logs the entry, then returns its SCT.
    pub async fn add(&self, chain_b64: &[String], precert: bool) -> Result<Sct, CtApiError> {
        let chain: Vec<Vec<u8>> = chain_b64
            .iter()
            .map(|c| STANDARD.decode(c).map_err(|_| CtApiError::BadRequest("chain entries must be base64 DER".into())))
            .collect::<Result<_, _>>()?;
        if chain.len() < 2 {
            return Err(CtApiError::BadRequest("the chain must hold the certificate and its issuer".into()));
        }
        self.check_chain(&chain)?;
        let entry = if precert {
            let tbs = sigstead_ct::precert_tbs(&chain[0]).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
            let issuer_key_hash =
                sigstead_ct::spki_hash(&chain[1]).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
            LogEntry::Precert { issuer_key_hash, tbs }
        } else {
            if sigstead_ct::precert_tbs(&chain[0]).is_ok() {
                return Err(CtApiError::BadRequest("a precertificate must be submitted with add-pre-chain".into()));
            }
            LogEntry::X509(chain[0].clone())
        };
        let timestamp = now_ms();
        let leaf = entry.merkle_tree_leaf(timestamp).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
        let extra = sigstead_ct::extra_data(precert, &chain).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
        match self.log.append_with_extra_data(leaf, Vec::new(), Some(extra)).await {
            Ok(AppendOutcome::Appended(_)) | Ok(AppendOutcome::Duplicate(_)) => {}
            Err(e) => return Err(CtApiError::Unavailable(e.to_string())),
        }
        Sct::sign(&entry, timestamp, self.key.as_ref()).map_err(|e| CtApiError::Internal(e.to_string()))
    }
}

#[derive(Debug, Deserialize)]
pub struct AddChain {
    chain: Vec<String>,
}

async fn add_chain(State(ct): State<CtLog>, Json(req): Json<AddChain>) -> Result<Response, CtApiError> {
    let sct = ct.add(&req.chain, false).await?;
    Ok(Json(sct.to_json().map_err(|e| CtApiError::Internal(e.to_string()))?).into_response())
}

async fn add_pre_chain(State(ct): State<CtLog>, Json(req): Json<AddChain>) -> Result<Response, CtApiError> {
    let sct = ct.add(&req.chain, true).await?;
    Ok(Json(sct.to_json().map_err(|e| CtApiError::Internal(e.to_string()))?).into_response())
}

async fn get_sth(State(ct): State<CtLog>) -> Result<Response, CtApiError> {
    let cp = ct.log.checkpoint();
    let v: serde_json::Value = serde_json::from_str(&cp.signed).map_err(|e| CtApiError::Internal(e.to_string()))?;
    Ok(Json(v).into_response())
}

fn param(q: &HashMap<String, String>, name: &str) -> Result<u64, CtApiError> {
    q.get(name)
        .ok_or_else(|| CtApiError::BadRequest(format!("missing parameter {name}")))?
        .parse()
        .map_err(|_| CtApiError::BadRequest(format!("{name} must be a non-negative integer")))
}

async fn get_sth_consistency(
    State(ct): State<CtLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, CtApiError> {
    let (first, second) = (param(&q, "first")?, param(&q, "second")?);
    if first > second {
        return Err(CtApiError::BadRequest("first must not exceed second".into()));
    }
    let proof = ct.log.consistency_proof(TreeSize(first), TreeSize(second)).await?;
    Ok(Json(serde_json::json!({"consistency": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>()}))
        .into_response())
}

async fn get_proof_by_hash(
    State(ct): State<CtLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, CtApiError> {
    let hash: [u8; 32] = q
        .get("hash")
        .and_then(|h| STANDARD.decode(h).ok())
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| CtApiError::BadRequest("hash must be base64 of a 32-byte leaf hash".into()))?;
    let size = TreeSize(param(&q, "tree_size")?);
    let entry = ct.log.entry_by_leaf_hash(&hash).await?.ok_or(CtApiError::NotFound)?;
    if entry.leaf_index.0 >= size.0 {
        return Err(CtApiError::BadRequest("the leaf is not in a tree of that size".into()));
    }
    let proof = ct.log.inclusion_proof(entry.leaf_index, size).await?;
    Ok(Json(serde_json::json!({
        "leaf_index": entry.leaf_index.0,
        "audit_path": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Most entries one `get-entries` call returns.
const MAX_ENTRIES: u64 = 256;

async fn get_entries(
    State(ct): State<CtLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, CtApiError> {
    let (start, end) = (param(&q, "start")?, param(&q, "end")?);
    if start > end {
        return Err(CtApiError::BadRequest("start must not exceed end".into()));
    }
    let end = end.min(start.saturating_add(MAX_ENTRIES - 1));
    let entries: Vec<_> = ct
        .log
        .entries(LeafIndex(start), LeafIndex(end.saturating_add(1)))
        .await?
        .iter()
        .map(|e| {
            serde_json::json!({
                "leaf_input": STANDARD.encode(&e.body),
                "extra_data": STANDARD.encode(e.extra_data.as_deref().unwrap_or_default()),
            })
        })
        .collect();
    if entries.is_empty() {
        return Err(CtApiError::BadRequest("start is beyond the tree".into()));
    }
    Ok(Json(serde_json::json!({"entries": entries})).into_response())
}

async fn get_roots(State(ct): State<CtLog>) -> Response {
    Json(serde_json::json!({"certificates": ct.roots.iter().map(|r| STANDARD.encode(r)).collect::<Vec<_>>()}))
        .into_response()
}

/// The RFC 6962 API routes.
pub fn router(ct: CtLog) -> Router {
    Router::new()
        .route("/ct/v1/add-chain", post(add_chain))
        .route("/ct/v1/add-pre-chain", post(add_pre_chain))
        .route("/ct/v1/get-sth", get(get_sth))
        .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
        .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-roots", get(get_roots))
        .with_state(ct)
}

/// The whole HTTP application: [`router`] plus the common layers (body
/// limit, timeout, `/healthz`, `/readyz` pinging the database, `/metrics`).
pub fn app(ct: CtLog, http: &sigstead_server::HttpConfig) -> Router {
    let store = ct.engine().store().clone();
    let ready: sigstead_server::ReadyCheck = Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|e| e.to_string()) })
    });
    sigstead_server::with_common_routes(router(ct), http, ready)
}

/// Opens the CT log (creating it on first use) on a connected store.
pub async fn open_with(
    store: sigstead_tlog::Store,
    name: &str,
    key: Arc<dyn Signer>,
    roots: Vec<Vec<u8>>,
    faults: sigstead_tlog::Faults,
) -> anyhow::Result<CtLog> {
    let cfg = sigstead_tlog::LogConfig::new(name);
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
    let ct = open_with(store, &config.log_name, key, roots, sigstead_tlog::Faults::none()).await?;
    let app = app(ct, &config.http);
    let tls = config.http.tls()?;
    tracing::info!(listen = %config.listen, "ct log serving");
    sigstead_server::serve(app, listener, tls, shutdown).await?;
    Ok(())
}
