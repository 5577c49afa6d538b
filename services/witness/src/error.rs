//! The witness API's one error enum and its one mapping to HTTP (the status
//! codes C2SP `tlog-witness` assigns to each refusal).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Content type of the 409 answer that tells the client the latest cosigned size.
pub const TLOG_SIZE: &str = "text/x.tlog.size";

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The body is not an `add-checkpoint` request, or `old` exceeds the checkpoint's size: 400.
    #[error("{0}")]
    BadRequest(String),
    /// No log of that origin is configured: 404.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No signature on the checkpoint verifies with the log's key: 403.
    #[error("no signature on the checkpoint verifies with the log key")]
    Forbidden,
    /// `old` is not the size this witness last cosigned: 409 with that size.
    #[error("the latest cosigned size is {0}")]
    OldSizeMismatch(u64),
    /// Same size as the latest cosigned checkpoint, another root: 409.
    #[error("a checkpoint of this size with another root hash was cosigned")]
    RootMismatch,
    /// The consistency proof does not prove the new checkpoint extends the last: 422.
    #[error("the consistency proof does not verify: {0}")]
    Inconsistent(String),
    /// State or signing failed: 500 with a generic body, details in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl WitnessError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnknownOrigin(_) => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::OldSizeMismatch(_) | Self::RootMismatch => StatusCode::CONFLICT,
            Self::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WitnessError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::OldSizeMismatch(size) = self {
            return (status, [(header::CONTENT_TYPE, TLOG_SIZE)], format!("{size}\n")).into_response();
        }
        let msg = sigstead_server::public_message(status, &self, "internal server error", "checkpoint refused");
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{msg}\n")).into_response()
    }
}
