//! The CT API's one error enum and its one mapping to HTTP.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

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
        let mut resp = (status, Json(serde_json::json!({"error_message": msg, "success": false}))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<sigstead_tlog::Error> for CtApiError {
    fn from(e: sigstead_tlog::Error) -> Self {
        if e.is_client_error() {
            Self::BadRequest(e.to_string())
        } else if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}
