//! The handlers: parse the request, call the service, map the result.
//!
//! * `POST /api/v1/timestamp`: a DER `TimeStampReq`
//!   (`Content-Type: application/timestamp-query`) or sigstore-js's JSON
//!   (`application/json`); answered `201 Created` (as upstream) with a DER
//!   `TimeStampResp` (`application/timestamp-reply`).
//! * `GET /api/v1/timestamp/certchain`: the chain as PEM, leaf first.

use crate::error::TIMESTAMP_REPLY;
use crate::{Tsa, TsaApiError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use sigstead_tsp::{RequestError, TimestampRequest};

/// Content type of a DER `TimeStampReq` (RFC 3161 §3.4).
pub const TIMESTAMP_QUERY: &str = "application/timestamp-query";

/// sigstore-js's JSON request (upstream timestamp-authority's JSON form).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonTimestampRequest {
    /// Base64 of the digest.
    artifact_hash: String,
    /// `sha256`, `sha384` or `sha512`.
    hash_algorithm: String,
    #[serde(default)]
    nonce: Option<u64>,
    /// Whether to embed the TSA certificate. Default **true**: sigstore-js
    /// sends no flag, and every verifier accepts a token that carries it.
    #[serde(default)]
    certificates: Option<bool>,
    /// A requested policy, dotted.
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: Option<String>,
}

impl JsonTimestampRequest {
    fn parse(self) -> Result<TimestampRequest, RequestError> {
        let digest = STANDARD
            .decode(self.artifact_hash.trim())
            .map_err(|_| RequestError::Malformed("artifactHash is not base64".into()))?;
        TimestampRequest::from_json_fields(
            digest,
            &self.hash_algorithm,
            self.nonce,
            self.certificates.unwrap_or(true),
            self.tsa_policy_oid.as_deref(),
        )
    }
}

fn media_type(headers: &HeaderMap) -> String {
    let raw = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

async fn timestamp(State(tsa): State<Tsa>, headers: HeaderMap, body: Bytes) -> Result<Response, TsaApiError> {
    let parsed = match media_type(&headers).as_str() {
        TIMESTAMP_QUERY => TimestampRequest::from_der(&body),
        "application/json" => match serde_json::from_slice::<JsonTimestampRequest>(&body) {
            Ok(json) => json.parse(),
            Err(e) => Err(RequestError::Malformed(format!("invalid JSON timestamp request: {e}"))),
        },
        other => {
            return Err(TsaApiError::UnsupportedMediaType(format!(
                "Content-Type must be {TIMESTAMP_QUERY} (a DER TimeStampReq) or application/json, not {other:?}"
            )))
        }
    };
    let req = match parsed {
        Ok(req) => req,
        Err(RequestError::Declined(r)) => return Err(tsa.declined(r)),
        Err(e @ RequestError::Malformed(_)) => return Err(tsa.malformed(e.to_string())),
    };
    let resp = tsa.timestamp(&req)?;
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, TIMESTAMP_REPLY)], resp).into_response())
}

async fn certchain(State(tsa): State<Tsa>) -> Response {
    ([(header::CONTENT_TYPE, "application/pem-certificate-chain")], tsa.authority().chain_pem()).into_response()
}

/// The TSA's routes.
pub fn router(tsa: Tsa) -> Router {
    Router::new()
        .route("/api/v1/timestamp", post(timestamp))
        .route("/api/v1/timestamp/certchain", get(certchain))
        .with_state(tsa)
}
