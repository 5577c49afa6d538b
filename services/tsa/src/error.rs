//! The TSA API's one error enum and its one mapping to HTTP.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sigstead_tsp::Rejection;

/// Content type of a DER `TimeStampResp` (RFC 3161 §3.4).
pub const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// The one error type of the TSA API and its HTTP mapping.
#[derive(Debug, thiserror::Error)]
pub enum TsaApiError {
    /// Not a time-stamp query at all: 400 with a JSON message.
    #[error("{0}")]
    BadRequest(String),
    /// A body of a type the endpoint does not take: 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A well-formed query the TSA declines: 400 with a DER `TimeStampResp`
    /// of status `rejection` and its failInfo (RFC 3161 §2.4.2); nothing is signed.
    #[error(transparent)]
    Declined(Rejection),
    /// The signer or encoder failed: 500 with a generic body, details in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for TsaApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadRequest(_) | Self::Declined(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let Self::Declined(rejection) = &self {
            let body = sigstead_tsp::rejection_response(rejection);
            return (status, [(header::CONTENT_TYPE, TIMESTAMP_REPLY)], body).into_response();
        }
        let msg = sigstead_server::public_message(status, &self, "internal server error", "timestamp request failed");
        (status, Json(serde_json::json!({"code": status.as_u16(), "message": msg}))).into_response()
    }
}
