//! The explorer's one error type and its one mapping to HTTP: an HTML page
//! (or JSON under `/api/`) with the status; 5xx bodies are generic and the
//! detail goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// A search or path the explorer cannot parse.
    #[error("{0}")]
    BadQuery(String),
    #[error("not found")]
    NotFound,
    /// The database cannot be reached now.
    #[error("the log's database is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sigstead_tlog::Error> for ExplorerError {
    fn from(e: sigstead_tlog::Error) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl ExplorerError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a visitor sees (generic for 5xx; the detail is logged).
    pub fn public_message(&self) -> String {
        let generic = match self {
            Self::Unavailable(_) => "the log is temporarily unavailable; retry later",
            _ => "internal server error",
        };
        sigstead_server::public_message(self.status(), self, generic, "explorer request failed")
    }
}

/// An error rendered as JSON (the `/api/` routes).
#[derive(Debug)]
pub struct JsonError(pub ExplorerError);

impl From<ExplorerError> for JsonError {
    fn from(e: ExplorerError) -> Self {
        Self(e)
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = serde_json::json!({"code": status.as_u16(), "message": self.0.public_message()});
        with_retry((status, axum::Json(body)).into_response())
    }
}

impl IntoResponse for ExplorerError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = match status {
            StatusCode::NOT_FOUND => "Not found".to_string(),
            StatusCode::BAD_REQUEST => "Cannot search for that".to_string(),
            _ => "Unavailable".to_string(),
        };
        let message = match self {
            Self::NotFound => "Nothing in the log matches this address.".to_string(),
            _ => self.public_message(),
        };
        let body = crate::html::error_page(&title, &message);
        with_retry((status, body).into_response())
    }
}

fn with_retry(mut resp: Response) -> Response {
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    resp
}
