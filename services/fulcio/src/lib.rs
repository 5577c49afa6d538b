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

pub mod config;
mod csr;
pub mod init;
mod jwks;
pub mod wire;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sigstead_ca::{CaChain, LeafRequest};
use sigstead_crypto::{pem_encode, VerifierMaterial};
use sigstead_oidc::{IssuerSet, TokenError};
use std::sync::Arc;

pub use config::FulcioConfig;
pub use jwks::JwksSource;

/// The CA's one error type; [`IntoResponse`] is its one mapping to HTTP.
/// Bodies follow upstream (grpc-gateway): `{"code": <grpc code>, "message": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum FulcioError {
    #[error("There was an error processing the identity token")]
    Token(#[source] TokenError),
    #[error("There was an error processing the identity token: {0}")]
    TokenSource(String),
    #[error("The public key supplied in the request could not be parsed: {0}")]
    PublicKey(String),
    #[error("The signature supplied in the request could not be verified")]
    ProofOfPossession,
    #[error("The certificate signing request is not acceptable: {0}")]
    Csr(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Error entering certificate in CTL: {0}")]
    CtLog(String),
    #[error("error communicating with CA backend: {0}")]
    Internal(String),
}

impl FulcioError {
    fn status(&self) -> StatusCode {
        match self {
            Self::CtLog(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for FulcioError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Token(e) = &self {
            tracing::info!(reason = %e, "identity token refused");
        }
        let generic = match self {
            Self::CtLog(_) => "Error entering certificate in CTL",
            _ => "error communicating with CA backend",
        };
        let message = sigstead_server::public_message(status, &self, generic, "signing request failed");
        // grpc-gateway codes, as upstream answers: INTERNAL for 5xx, INVALID_ARGUMENT otherwise.
        let grpc = if status.is_server_error() { 13 } else { 3 };
        (status, Json(json!({"code": grpc, "message": message, "details": []}))).into_response()
    }
}

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct Fulcio {
    ca: Arc<CaChain>,
    issuers: Arc<IssuerSet>,
    jwks: JwksSource,
    ct_log_url: String,
    http: reqwest::Client,
    validity: time::Duration,
    leeway: u64,
}

fn now_unix() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_secs()
}

/// The key to certify, with its proof of possession already checked.
struct ProvenKey {
    spki_der: Vec<u8>,
}

impl Fulcio {
    pub fn new(
        ca: CaChain,
        issuers: IssuerSet,
        jwks: JwksSource,
        ct_log_url: String,
        ct_http: reqwest::Client,
        validity_secs: u32,
        leeway_secs: u32,
    ) -> Self {
        Self {
            ca: Arc::new(ca),
            issuers: Arc::new(issuers),
            jwks,
            ct_log_url: ct_log_url.trim_end_matches('/').to_string(),
            http: ct_http,
            validity: time::Duration::seconds(i64::from(validity_secs)),
            leeway: u64::from(leeway_secs),
        }
    }

    /// Verifies the token against its issuer's keys (refreshing them once on an unknown key ID).
    async fn verify_token(&self, token: &str) -> Result<sigstead_oidc::VerifiedToken, FulcioError> {
        let iss = sigstead_oidc::peek_issuer(token).map_err(FulcioError::Token)?;
        let issuer =
            self.issuers.lookup(&iss).ok_or_else(|| FulcioError::TokenSource(format!("unknown issuer {iss:?}")))?;
        let now = now_unix();
        let keys = self.jwks.get(issuer, &iss, false).await.map_err(FulcioError::TokenSource)?;
        match sigstead_oidc::verify_token(token, issuer, &keys, now, self.leeway) {
            Err(TokenError::UnknownKid(_)) => {
                let keys = self.jwks.get(issuer, &iss, true).await.map_err(FulcioError::TokenSource)?;
                sigstead_oidc::verify_token(token, issuer, &keys, now, self.leeway).map_err(FulcioError::Token)
            }
            other => other.map_err(FulcioError::Token),
        }
    }

    /// Issues a certificate for `key` and `token`; returns the chain `[leaf, intermediate…, root]` as DER.
    async fn issue(&self, token: &sigstead_oidc::VerifiedToken, key: ProvenKey) -> Result<Vec<Vec<u8>>, FulcioError> {
        let identity = token.identity();
        let san = identity.san().clone();
        let extensions = identity.extensions().to_vec();
        let now =
            time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let req = LeafRequest {
            spki_der: key.spki_der,
            san,
            extensions,
            not_before: now,
            not_after: now + self.validity,
            serial: sigstead_ca::new_serial(),
        };
        let pre = self.ca.precertificate(&req).map_err(|e| FulcioError::Internal(e.to_string()))?;
        let sct = self.submit_precert(&pre.der).await?;
        let leaf = self.ca.finalize(pre, &[sct]).map_err(|e| FulcioError::Internal(e.to_string()))?;
        metrics_issued();
        let mut chain = vec![leaf];
        chain.extend(self.ca.chain().iter().cloned());
        Ok(chain)
    }

    async fn submit_precert(&self, precert: &[u8]) -> Result<sigstead_ct::Sct, FulcioError> {
        let body = json!({"chain": [STANDARD.encode(precert), STANDARD.encode(&self.ca.chain()[0])]});
        let url = format!("{}/ct/v1/add-pre-chain", self.ct_log_url);
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| FulcioError::CtLog(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(FulcioError::CtLog(format!("CT log answered {}", resp.status())));
        }
        let v: Value = resp.json().await.map_err(|e| FulcioError::CtLog(e.to_string()))?;
        sigstead_ct::Sct::from_json(&v).ok_or_else(|| FulcioError::CtLog(format!("malformed SCT {v}")))
    }
}

fn metrics_issued() {
    tracing::debug!("certificate issued");
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
}

/// Checks a proof of possession: a signature by `key` over the token's `email` or `sub`.
fn check_pop(key: &VerifierMaterial, token: &sigstead_oidc::VerifiedToken, sig: &[u8]) -> Result<(), FulcioError> {
    let ok = token.proof_of_possession_subjects().iter().any(|s| key.key.verify(s.as_bytes(), sig).is_ok());
    if ok {
        Ok(())
    } else {
        Err(FulcioError::ProofOfPossession)
    }
}

fn parse_public_key(content: &[u8]) -> Result<VerifierMaterial, FulcioError> {
    let m = VerifierMaterial::parse(content).map_err(|e| FulcioError::PublicKey(e.to_string()))?;
    if m.certificate_der.is_some() {
        return Err(FulcioError::PublicKey("expected a public key, not a certificate".into()));
    }
    Ok(m)
}

fn pem_chain(chain: &[Vec<u8>]) -> Vec<String> {
    chain.iter().map(|c| pem_encode("CERTIFICATE", c).trim_end().to_string()).collect()
}

fn json_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, FulcioError> {
    wire::parse(body).map_err(|e| FulcioError::BadRequest(format!("request body is not JSON: {e}")))
}

/// The identity token: `body_token` (v2's `credentials.oidcIdentityToken`,
/// sigstore-js and sigstore-rust) when set, else `Authorization: Bearer`.
fn identity_token(body_token: Option<&str>, headers: &HeaderMap) -> Result<String, FulcioError> {
    body_token
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| bearer(headers))
        .ok_or_else(|| FulcioError::TokenSource("no identity token in the request".into()))
}

/// `POST /api/v2/signingCert`
async fn signing_cert_v2(
    State(f): State<Fulcio>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, FulcioError> {
    let req: wire::SigningCertRequest = json_body(&body)?;
    let verified = f.verify_token(&identity_token(req.identity_token(), &headers)?).await?;
    let key = if let Some(csr) = req.certificate_signing_request.as_deref().filter(|c| !c.is_empty()) {
        let raw = STANDARD.decode(csr).map_err(|_| FulcioError::Csr("not base64".into()))?;
        ProvenKey { spki_der: csr::verify_csr(&raw)? }
    } else {
        let content = req.public_key_content().ok_or_else(|| {
            FulcioError::BadRequest(
                "publicKeyRequest.publicKey.content or certificateSigningRequest is required".into(),
            )
        })?;
        let pop = req.proof_of_possession().ok_or(FulcioError::ProofOfPossession)?;
        let pop = STANDARD.decode(pop).map_err(|_| FulcioError::ProofOfPossession)?;
        let key = parse_public_key(content.as_bytes())?;
        check_pop(&key, &verified, &pop)?;
        ProvenKey { spki_der: key.spki_der }
    };
    let chain = f.issue(&verified, key).await?;
    Ok(Json(json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": pem_chain(&chain)}}})).into_response())
}

/// Legacy `POST /api/v1/signingCert`: `publicKey.content` is base64 of PEM,
/// `signedEmailAddress` the proof of possession; answers 201 with a PEM chain.
async fn signing_cert_v1(
    State(f): State<Fulcio>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, FulcioError> {
    let req: wire::LegacySigningCertRequest = json_body(&body)?;
    let verified = f.verify_token(&identity_token(None, &headers)?).await?;
    let content = req
        .public_key
        .as_ref()
        .and_then(|k| k.content.as_deref())
        .ok_or_else(|| FulcioError::BadRequest("publicKey.content is required".into()))?;
    let pem = STANDARD.decode(content).map_err(|_| FulcioError::PublicKey("publicKey.content is not base64".into()))?;
    let key = parse_public_key(&pem)?;
    let pop = req.signed_email_address.as_deref().ok_or(FulcioError::ProofOfPossession)?;
    let pop = STANDARD.decode(pop).map_err(|_| FulcioError::ProofOfPossession)?;
    check_pop(&key, &verified, &pop)?;
    let chain = f.issue(&verified, ProvenKey { spki_der: key.spki_der }).await?;
    let body: String = chain.iter().map(|c| pem_encode("CERTIFICATE", c)).collect();
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, "application/pem-certificate-chain")], body).into_response())
}

async fn trust_bundle(State(f): State<Fulcio>) -> Response {
    Json(json!({"chains": [{"certificates": pem_chain(f.ca.chain())}]})).into_response()
}

async fn root_cert(State(f): State<Fulcio>) -> Response {
    let body: String = f.ca.chain().iter().map(|c| pem_encode("CERTIFICATE", c)).collect();
    ([(header::CONTENT_TYPE, "application/pem-certificate-chain")], body).into_response()
}

async fn configuration(State(f): State<Fulcio>) -> Response {
    let issuers: Vec<Value> = f
        .issuers
        .issuers()
        .iter()
        .map(|i| {
            let url_key = if i.is_wildcard() { "wildcardIssuerUrl" } else { "issuerUrl" };
            let challenge = if i.issuer_type() == sigstead_oidc::IssuerType::Email { "email" } else { "sub" };
            json!({url_key: i.url(), "audience": i.client_id(), "challengeClaim": challenge, "issuerType": i.issuer_type().as_str()})
        })
        .collect();
    Json(json!({"issuers": issuers})).into_response()
}

/// The Fulcio API routes, at the host root (sigstore-python drops any path prefix).
pub fn router(f: Fulcio) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert_v2))
        .route("/api/v1/signingCert", post(signing_cert_v1))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .route("/api/v1/rootCert", get(root_cert))
        .with_state(f)
}

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
    ))
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
    sigstead_server::serve(app, listener, tls, shutdown).await?;
    Ok(())
}
