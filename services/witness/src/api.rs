//! The C2SP `tlog-witness` HTTP interface: parse, call the witness, map the result.

use crate::{Witness, WitnessError};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

async fn add_checkpoint(State(w): State<Witness>, body: axum::body::Bytes) -> Result<Response, WitnessError> {
    let text = std::str::from_utf8(&body).map_err(|_| WitnessError::BadRequest("the body is not UTF-8".into()))?;
    let line = w.add_checkpoint(text).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response())
}

/// `POST /add-checkpoint` (the submission prefix is the root).
pub fn router(witness: Witness) -> Router {
    Router::new().route("/add-checkpoint", post(add_checkpoint)).with_state(witness)
}
