//! The CA's one error enum and its one mapping to HTTP.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sigstead_oidc::TokenError;

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
    /// The identity asked for more certificates than `[identity_rate_limit]` allows.
    #[error("rate limit exceeded for this identity; retry later")]
    RateLimited(u64),
}

/// A refused CSR keeps the message it had when the check lived here.
impl From<sigstead_ca::csr::CsrError> for FulcioError {
    fn from(e: sigstead_ca::csr::CsrError) -> Self {
        use sigstead_ca::csr::CsrError;
        match e {
            CsrError::Csr(m) => Self::Csr(m),
            CsrError::PublicKey(m) => Self::PublicKey(m),
            CsrError::ProofOfPossession => Self::ProofOfPossession,
        }
    }
}

impl FulcioError {
    fn status(&self) -> StatusCode {
        match self {
            Self::CtLog(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
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
        // and RESOURCE_EXHAUSTED for a rate limit.
        let grpc = match &self {
            _ if status.is_server_error() => 13,
            Self::RateLimited(_) => 8,
            _ => 3,
        };
        let retry_after = if let Self::RateLimited(s) = &self { Some(*s) } else { None };
        let mut resp = (status, Json(json!({"code": grpc, "message": message, "details": []}))).into_response();
        if let Some(v) = retry_after.and_then(|s| axum::http::HeaderValue::from_str(&s.to_string()).ok()) {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}
