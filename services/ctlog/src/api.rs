//! The RFC 6962 §4 handlers: parse the request, call the log, map the result.

use crate::{CtApiError, CtLog};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use sigstead_ct::wire::{self, AddChainRequest as AddChain};
use sigstead_tlog::{LeafIndex, TreeSize};
use std::collections::HashMap;

async fn add_chain(State(ct): State<CtLog>, Json(req): Json<AddChain>) -> Result<Response, CtApiError> {
    let sct = ct.add(&req.chain, false).await?;
    Ok(Json(sct.to_json().map_err(|e| CtApiError::Internal(e.to_string()))?).into_response())
}

async fn add_pre_chain(State(ct): State<CtLog>, Json(req): Json<AddChain>) -> Result<Response, CtApiError> {
    let sct = ct.add(&req.chain, true).await?;
    Ok(Json(sct.to_json().map_err(|e| CtApiError::Internal(e.to_string()))?).into_response())
}

async fn get_sth(State(ct): State<CtLog>) -> Result<Response, CtApiError> {
    let cp = ct.log.latest_checkpoint().await?;
    let sth: wire::SignedTreeHead =
        serde_json::from_str(&cp.signed).map_err(|e| CtApiError::Internal(e.to_string()))?;
    Ok(Json(sth).into_response())
}

fn param(q: &HashMap<String, String>, name: &str) -> Result<u64, CtApiError> {
    q.get(name)
        .ok_or_else(|| CtApiError::BadRequest(format!("missing parameter {name}")))?
        .parse()
        .map_err(|_| CtApiError::BadRequest(format!("{name} must be a non-negative integer")))
}

async fn get_sth_consistency(
    State(ct): State<CtLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, CtApiError> {
    let (first, second) = (param(&q, "first")?, param(&q, "second")?);
    if first > second {
        return Err(CtApiError::BadRequest("first must not exceed second".into()));
    }
    let proof = ct.log.consistency_proof(TreeSize(first), TreeSize(second)).await?;
    Ok(Json(wire::ConsistencyProof { consistency: proof.iter().map(|h| STANDARD.encode(h)).collect() }).into_response())
}

async fn get_proof_by_hash(
    State(ct): State<CtLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, CtApiError> {
    let hash: [u8; 32] = q
        .get("hash")
        .and_then(|h| STANDARD.decode(h).ok())
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| CtApiError::BadRequest("hash must be base64 of a 32-byte leaf hash".into()))?;
    let size = TreeSize(param(&q, "tree_size")?);
    let entry = ct.log.entry_by_leaf_hash(&hash).await?.ok_or(CtApiError::NotFound)?;
    if entry.leaf_index.0 >= size.0 {
        return Err(CtApiError::BadRequest("the leaf is not in a tree of that size".into()));
    }
    let proof = ct.log.inclusion_proof(entry.leaf_index, size).await?;
    Ok(Json(wire::AuditProof {
        leaf_index: entry.leaf_index.0,
        audit_path: proof.iter().map(|h| STANDARD.encode(h)).collect(),
    })
    .into_response())
}

/// Most entries one `get-entries` call returns.
const MAX_ENTRIES: u64 = 256;

async fn get_entries(
    State(ct): State<CtLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, CtApiError> {
    let (start, end) = (param(&q, "start")?, param(&q, "end")?);
    if start > end {
        return Err(CtApiError::BadRequest("start must not exceed end".into()));
    }
    let end = end.min(start.saturating_add(MAX_ENTRIES - 1));
    let entries: Vec<_> = ct
        .log
        .entries(LeafIndex(start), LeafIndex(end.saturating_add(1)))
        .await?
        .iter()
        .map(|e| wire::LeafEntry {
            leaf_input: STANDARD.encode(&e.body),
            extra_data: STANDARD.encode(e.extra_data.as_deref().unwrap_or_default()),
        })
        .collect();
    if entries.is_empty() {
        return Err(CtApiError::BadRequest("start is beyond the tree".into()));
    }
    Ok(Json(wire::Entries { entries }).into_response())
}

async fn get_roots(State(ct): State<CtLog>) -> Response {
    Json(wire::Roots { certificates: ct.roots.iter().map(|r| STANDARD.encode(r)).collect() }).into_response()
}

/// The RFC 6962 API routes.
pub fn router(ct: CtLog) -> Router {
    Router::new()
        .route("/ct/v1/add-chain", post(add_chain))
        .route("/ct/v1/add-pre-chain", post(add_pre_chain))
        .route("/ct/v1/get-sth", get(get_sth))
        .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
        .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-roots", get(get_roots))
        .with_state(ct)
}
