//! HTTP handlers for the Rekor v1 API. They parse, call [`RekorLog`], and map
//! the result; nothing here hashes, signs or touches the database.

use crate::error::RekorError;
use crate::service::{LogEntryMap, RekorLog};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use sigstead_rekor_types::{EntryId, IndexKey};
use sigstead_tlog::{LeafIndex, TreeSize};
use std::collections::HashMap;

/// At most this many lookups in one `entries/retrieve` request (upstream's limit).
const MAX_RETRIEVE: usize = 10;

fn require_json(headers: &HeaderMap) -> Result<(), RekorError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(RekorError::UnsupportedMediaType(ct.to_string()))
    }
}

fn one(id: String, entry: crate::service::LogEntry) -> LogEntryMap {
    let mut m = LogEntryMap::new();
    m.insert(id, entry);
    m
}

/// `POST /api/v1/log/entries`
pub async fn create_entry(
    State(rekor): State<RekorLog>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RekorError> {
    require_json(&headers)?;
    if body.is_empty() {
        return Err(RekorError::Unprocessable("proposedEntry in body is required".into()));
    }
    let (id, entry) = rekor.submit(&body).await?;
    let location = format!("/api/v1/log/entries/{id}");
    let mut resp = (StatusCode::CREATED, Json(one(id.clone(), entry))).into_response();
    let h = resp.headers_mut();
    if let (Ok(etag), Ok(loc)) = (HeaderValue::from_str(&id), HeaderValue::from_str(&location)) {
        h.insert(header::ETAG, etag);
        h.insert(header::LOCATION, loc);
    }
    Ok(resp)
}

fn parse_u64_param(q: &HashMap<String, String>, name: &str, min: u64) -> Result<Option<u64>, RekorError> {
    let Some(raw) = q.get(name) else {
        return Ok(None);
    };
    let v: i64 = raw
        .parse()
        .map_err(|_| RekorError::Unprocessable(format!("{name} in query must be of type int64: {raw:?}")))?;
    let v = u64::try_from(v).ok().filter(|v| *v >= min).ok_or_else(|| {
        RekorError::Unprocessable(format!("{name} in query should be greater than or equal to {min}"))
    })?;
    Ok(Some(v))
}

/// `GET /api/v1/log/entries?logIndex=N`
pub async fn entry_by_index(
    State(rekor): State<RekorLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, RekorError> {
    let index = parse_u64_param(&q, "logIndex", 0)?
        .ok_or_else(|| RekorError::Unprocessable("logIndex in query is required".into()))?;
    let (id, entry) = rekor.by_index(LeafIndex(index)).await?.ok_or(RekorError::NotFound)?;
    Ok(Json(one(id, entry)).into_response())
}

/// `GET /api/v1/log/entries/{entryUUID}`
pub async fn entry_by_uuid(State(rekor): State<RekorLog>, Path(uuid): Path<String>) -> Result<Response, RekorError> {
    let id = EntryId::parse(&uuid).map_err(|e| RekorError::BadRequest(e.to_string()))?;
    let (id, entry) = rekor.by_entry_id(&id).await?.ok_or(RekorError::NotFound)?;
    Ok(Json(one(id, entry)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrieveRequest {
    #[serde(default, rename = "entryUUIDs")]
    entry_uuids: Vec<String>,
    #[serde(default)]
    log_indexes: Vec<i64>,
    #[serde(default)]
    entries: Vec<serde_json::Value>,
}

/// `POST /api/v1/log/entries/retrieve`
pub async fn retrieve(State(rekor): State<RekorLog>, headers: HeaderMap, body: Bytes) -> Result<Response, RekorError> {
    require_json(&headers)?;
    let req: RetrieveRequest = serde_json::from_slice(&body)
        .map_err(|e| RekorError::BadRequest(format!("parsing entry body failed, because {e}")))?;
    if req.entry_uuids.len() + req.log_indexes.len() + req.entries.len() > MAX_RETRIEVE {
        return Err(RekorError::Unprocessable(format!("more than max allowed {MAX_RETRIEVE} entries in request")));
    }
    let mut out: Vec<LogEntryMap> = Vec::new();
    for u in &req.entry_uuids {
        let id = EntryId::parse(u).map_err(|_| RekorError::BadRequest(format!("invalid entryID {u}")))?;
        if let Some((id, e)) = rekor.by_entry_id(&id).await? {
            out.push(one(id, e));
        }
    }
    for v in &req.entries {
        // An entry that cannot be canonicalised is a bad lookup here (400), whatever its kind.
        let found = rekor.by_proposed_entry(v).await.map_err(|e| match e {
            RekorError::BadEntry(x) => RekorError::BadRequest(x.to_string()),
            other => other,
        })?;
        if let Some((id, e)) = found {
            out.push(one(id, e));
        }
    }
    for i in &req.log_indexes {
        let i = u64::try_from(*i).map_err(|_| RekorError::Unprocessable("logIndexes must be non-negative".into()))?;
        if let Some((id, e)) = rekor.by_index(LeafIndex(i)).await? {
            out.push(one(id, e));
        }
    }
    Ok(Json(out).into_response())
}

/// `GET /api/v1/log`
pub async fn log_info(State(rekor): State<RekorLog>) -> Result<Response, RekorError> {
    Ok(Json(rekor.info().await?).into_response())
}

/// `GET /api/v1/log/cosigned-checkpoint` (a Sigstead extension): the newest
/// checkpoint with the cosignatures of the configured witnesses, as a signed
/// note (`text/plain`); 404 until a witness has cosigned one.
pub async fn cosigned_checkpoint(State(rekor): State<RekorLog>) -> Result<Response, RekorError> {
    let note = rekor.cosigned_checkpoint().ok_or(RekorError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note.to_string()).into_response())
}

/// `GET /api/v1/log/publicKey`
pub async fn public_key(
    State(rekor): State<RekorLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, RekorError> {
    check_tree_id(&rekor, &q)?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], rekor.public_key_pem().to_string()).into_response())
}

fn check_tree_id(rekor: &RekorLog, q: &HashMap<String, String>) -> Result<(), RekorError> {
    if let Some(t) = q.get("treeID") {
        if t.parse::<u64>().ok() != Some(rekor.tree_id()) {
            return Err(RekorError::BadRequest(format!("unknown treeID {t:?}")));
        }
    }
    Ok(())
}

/// `GET /api/v1/log/proof?firstSize=&lastSize=`
pub async fn consistency_proof(
    State(rekor): State<RekorLog>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, RekorError> {
    check_tree_id(&rekor, &q)?;
    let first = parse_u64_param(&q, "firstSize", 1)?.unwrap_or(1);
    let last = parse_u64_param(&q, "lastSize", 1)?
        .ok_or_else(|| RekorError::Unprocessable("lastSize in query is required".into()))?;
    Ok(Json(rekor.consistency(TreeSize(first), TreeSize(last)).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPublicKey {
    format: String,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchIndex {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    public_key: Option<SearchPublicKey>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    operator: Option<String>,
}

fn hash_key(h: &str) -> Result<Option<String>, RekorError> {
    let lower = h.to_ascii_lowercase();
    let (alg, hex_part) = match lower.split_once(':') {
        Some((a, v)) => (Some(a.to_string()), v.to_string()),
        None => (None, lower.clone()),
    };
    let ok_hex = |n: usize| hex_part.len() == n && hex_part.bytes().all(|b| b.is_ascii_hexdigit());
    match alg.as_deref() {
        None | Some("sha256") if ok_hex(64) => Ok(Some(format!("sha256:{hex_part}"))),
        // Only SHA-256 digests are indexed; other algorithms find nothing.
        Some("sha1") if ok_hex(40) => Ok(None),
        Some("sha512") if ok_hex(128) => Ok(None),
        None if ok_hex(40) || ok_hex(128) => Ok(None),
        _ => Err(RekorError::Unprocessable(format!("hash {h:?} is not a sha256, sha1 or sha512 hex digest"))),
    }
}

/// `POST /api/v1/index/retrieve`: search by artifact digest, public key or identity.
pub async fn search_index(
    State(rekor): State<RekorLog>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RekorError> {
    require_json(&headers)?;
    let q: SearchIndex =
        serde_json::from_slice(&body).map_err(|e| RekorError::BadRequest(format!("invalid search query: {e}")))?;
    // Each criterion becomes one lookup key; None means "matches nothing".
    let mut criteria: Vec<Option<String>> = Vec::new();
    if let Some(h) = &q.hash {
        criteria.push(hash_key(h)?);
    }
    if let Some(pk) = &q.public_key {
        if pk.format != "x509" {
            return Err(RekorError::BadRequest("the PKI format requested is not supported by this server".into()));
        }
        let content =
            pk.content.as_deref().ok_or_else(|| RekorError::BadRequest("publicKey.content is required".into()))?;
        let pem =
            STANDARD.decode(content).map_err(|_| RekorError::BadRequest("publicKey.content is not base64".into()))?;
        let v = sigstead_crypto::VerifierMaterial::parse(&pem)
            .map_err(|_| RekorError::BadRequest("public key provided could not be parsed".into()))?;
        criteria.push(Some(IndexKey::PublicKey(sigstead_crypto::log_id(&v.spki_der)).to_key_string()));
    }
    for id in [&q.email, &q.subject].into_iter().flatten() {
        criteria.push(Some(IndexKey::Identity(id.clone()).to_key_string()));
    }
    let and = match q.operator.as_deref() {
        None | Some("or") => false,
        Some("and") => true,
        Some(other) => {
            return Err(RekorError::Unprocessable(format!("operator must be \"and\" or \"or\", not {other:?}")))
        }
    };
    let mut result: Option<Vec<String>> = None;
    for c in criteria {
        let found = match c {
            Some(key) => rekor.search(&key).await?,
            None => Vec::new(),
        };
        result = Some(match result {
            None => found,
            Some(prev) if and => prev.into_iter().filter(|x| found.contains(x)).collect(),
            Some(mut prev) => {
                prev.extend(found);
                prev
            }
        });
    }
    let mut ids = result.unwrap_or_default();
    ids.sort();
    ids.dedup();
    Ok(Json(ids).into_response())
}
