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
