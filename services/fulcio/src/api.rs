//! The CA's HTTP handlers: parse the typed request (`crate::wire`), call
//! the service (`crate::Fulcio`), map the result. No signature is verified
//! here.

use crate::{wire, Fulcio, FulcioError};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sigstead_crypto::pem_encode;

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
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
pub(crate) async fn signing_cert_v2(
    State(f): State<Fulcio>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, FulcioError> {
    let req: wire::SigningCertRequest = json_body(&body)?;
    let verified = f.verify_token(&identity_token(req.identity_token(), &headers)?).await?;
    f.admit(&verified)?;
    let key = if let Some(csr) = req.certificate_signing_request.as_deref().filter(|c| !c.is_empty()) {
        let raw = STANDARD.decode(csr).map_err(|_| FulcioError::Csr("not base64".into()))?;
        f.prove_csr(&raw)?
    } else {
        let content = req.public_key_content().ok_or_else(|| {
            FulcioError::BadRequest(
                "publicKeyRequest.publicKey.content or certificateSigningRequest is required".into(),
            )
        })?;
        let pop = req.proof_of_possession().ok_or(FulcioError::ProofOfPossession)?;
        let pop = STANDARD.decode(pop).map_err(|_| FulcioError::ProofOfPossession)?;
        f.prove_public_key(&verified, content.as_bytes(), &pop)?
    };
    let chain = f.issue(&verified, key).await?;
    Ok(Json(wire::SigningCertResponse::new(pem_chain(&chain))).into_response())
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
    f.admit(&verified)?;
    let content = req
        .public_key
        .as_ref()
        .and_then(|k| k.content.as_deref())
        .ok_or_else(|| FulcioError::BadRequest("publicKey.content is required".into()))?;
    let pem = STANDARD.decode(content).map_err(|_| FulcioError::PublicKey("publicKey.content is not base64".into()))?;
    let pop = req.signed_email_address.as_deref().ok_or(FulcioError::ProofOfPossession)?;
    let pop = STANDARD.decode(pop).map_err(|_| FulcioError::ProofOfPossession)?;
    let key = f.prove_public_key(&verified, &pem, &pop)?;
    let chain = f.issue(&verified, key).await?;
    let body: String = chain.iter().map(|c| pem_encode("CERTIFICATE", c)).collect();
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, "application/pem-certificate-chain")], body).into_response())
}

async fn trust_bundle(State(f): State<Fulcio>) -> Response {
    Json(wire::TrustBundle { chains: vec![wire::CertificateChain { certificates: pem_chain(f.chain()) }] })
        .into_response()
}

async fn root_cert(State(f): State<Fulcio>) -> Response {
    let body: String = f.chain().iter().map(|c| pem_encode("CERTIFICATE", c)).collect();
    ([(header::CONTENT_TYPE, "application/pem-certificate-chain")], body).into_response()
}

async fn configuration(State(f): State<Fulcio>) -> Response {
    let issuers: Vec<Value> = f
        .issuers()
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
