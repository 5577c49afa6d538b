//! The Rekor service's one error type and its one mapping to HTTP.
//!
//! Bodies follow upstream's `{"code": <status>, "message": "..."}`; 404 has
//! an empty body as upstream; 5xx bodies are generic and the detail is logged.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sigstead_rekor_types::EntryError;

#[derive(Debug, thiserror::Error)]
pub enum RekorError {
    /// The proposed entry is invalid (schema, encoding, signature).
    #[error("error processing entry: {0}")]
    BadEntry(#[from] EntryError),
    /// Malformed request parameters or body outside entry processing.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but asks for something the API refuses.
    #[error("{0}")]
    Unprocessable(String),
    #[error("unsupported media type {0:?}, only [application/json] are allowed")]
    UnsupportedMediaType(String),
    #[error("not found")]
    NotFound,
    /// The entry is already in the log; carries its entry ID.
    #[error("an equivalent entry already exists in the transparency log with UUID {0}")]
    Duplicate(String),
    /// The sequencer or database cannot take the request now.
    #[error("the log is temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sigstead_tlog::Error> for RekorError {
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

impl RekorError {
    pub fn status(&self) -> StatusCode {
        match self {
            // Upstream's schema validation answers an unknown kind with 422.
            Self::BadEntry(EntryError::UnknownKind(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadEntry(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Duplicate(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for RekorError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::NOT_FOUND {
            return status.into_response();
        }
        let generic = match self {
            Self::Unavailable(_) => "the log is temporarily unavailable; retry later",
            _ => "internal server error",
        };
        let message = sigstead_server::public_message(status, &self, generic, "request failed");
        let body = serde_json::json!({"code": status.as_u16(), "message": message});
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Self::Duplicate(id) = &self {
            if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/log/entries/{id}")) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
        }
        resp
    }
}
