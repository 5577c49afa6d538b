//! Rekor v1 entry types: parsing proposed entries, verifying the submitter's
//! signature, and building the canonical body that becomes the Merkle leaf.
//!
//! Pure: no I/O, no async. Clients rebuild canonical bodies and compare them
//! byte for byte, so every rule here follows upstream Rekor
//! (`pkg/types/<kind>/<version>/entry.go`): PEM re-encoded with LF line ends,
//! RFC 8785 (JCS) JSON, the in-toto payload dropped.

mod dsse;
mod hashedrekord;
mod intoto;
mod rekord;
pub mod wire;

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::Value;
use sigstead_crypto::{CryptoError, VerifierMaterial};
use sigstead_merkle::{leaf_hash, Hash};
use std::fmt;

pub use dsse::pae;

/// Why a proposed entry was refused. Every variant is the submitter's fault (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    #[error("missing or invalid field {0}")]
    Field(&'static str),
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    #[error("unknown kind {0:?}")]
    UnknownKind(String),
    #[error("{kind} does not support version {version:?}")]
    UnsupportedVersion { kind: String, version: String },
    #[error("unsupported hash algorithm {0:?}")]
    HashAlgorithm(String),
    #[error("hash value is not {0} hex characters")]
    HashValue(usize),
    #[error("verifier: {0}")]
    Verifier(CryptoError),
    #[error("signature verification failed: {0}")]
    Signature(CryptoError),
    #[error("{0}")]
    Invalid(String),
}

/// Kinds and versions this log accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    HashedRekordV001,
    DsseV001,
    IntotoV001,
    IntotoV002,
    RekordV001,
}

impl EntryKind {
    pub fn kind(self) -> &'static str {
        match self {
            Self::HashedRekordV001 => "hashedrekord",
            Self::DsseV001 => "dsse",
            Self::IntotoV001 | Self::IntotoV002 => "intoto",
            Self::RekordV001 => "rekord",
        }
    }
    pub fn version(self) -> &'static str {
        match self {
            Self::IntotoV002 => "0.0.2",
            _ => "0.0.1",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind(), self.version())
    }
}

/// A proposed entry that passed validation: what the log stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalEntry {
    pub kind: EntryKind,
    /// RFC 8785 JSON of the canonical body; the Merkle leaf data.
    pub body: Vec<u8>,
    /// Search keys (see [`IndexKey`]), deduplicated.
    pub index_keys: Vec<String>,
}

impl CanonicalEntry {
    /// RFC 6962 leaf hash of the body: the entry UUID.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.body)
    }
}

/// Search keys stored next to an entry, as used by `POST /api/v1/index/retrieve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexKey {
    /// An artifact or payload digest.
    Sha256([u8; 32]),
    /// SHA-256 of a verifier's DER SubjectPublicKeyInfo.
    PublicKey([u8; 32]),
    /// An email address or URI from a verifier certificate's SAN (case-folded).
    Identity(String),
    /// The OIDC issuer a Fulcio certificate names (extension 1.8, else 1.1),
    /// verbatim. Not reachable through Rekor's search API (it has no issuer
    /// criterion); the explorer searches by it.
    Issuer(String),
}

impl IndexKey {
    pub fn to_key_string(&self) -> String {
        match self {
            Self::Sha256(d) => format!("sha256:{}", hex::encode(d)),
            Self::PublicKey(d) => format!("pk:{}", hex::encode(d)),
            Self::Identity(s) => format!("id:{}", s.to_lowercase()),
            Self::Issuer(s) => format!("iss:{s}"),
        }
    }
    pub fn for_verifier(v: &VerifierMaterial) -> Vec<IndexKey> {
        let mut out = vec![Self::PublicKey(sigstead_crypto::log_id(&v.spki_der))];
        out.extend(v.identities().into_iter().map(Self::Identity));
        if let Some(issuer) = v.certificate_der.as_deref().and_then(sigstead_crypto::certificate_oidc_issuer) {
            out.push(Self::Issuer(issuer));
        }
        out
    }
}

/// Validates a `POST /api/v1/log/entries` body and builds its canonical form.
pub fn canonicalize(request: &[u8]) -> Result<CanonicalEntry, EntryError> {
    let v: Value = serde_json::from_slice(request).map_err(|e| EntryError::Json(e.to_string()))?;
    canonicalize_value(&v)
}

/// As [`canonicalize`], from parsed JSON (entries inside a retrieve request).
pub fn canonicalize_value(v: &Value) -> Result<CanonicalEntry, EntryError> {
    let kind = v.get("kind").and_then(Value::as_str).ok_or(EntryError::Field("kind"))?;
    let version = v.get("apiVersion").and_then(Value::as_str).ok_or(EntryError::Field("apiVersion"))?;
    let spec = v.get("spec").filter(|s| s.is_object()).ok_or(EntryError::Field("spec"))?;
    let unsupported = || EntryError::UnsupportedVersion { kind: kind.to_string(), version: version.to_string() };
    let (kind, (spec, keys)) = match (kind, version) {
        ("hashedrekord", "0.0.1") => (EntryKind::HashedRekordV001, hashedrekord::canonical_spec(spec)?),
        ("dsse", "0.0.1") => (EntryKind::DsseV001, dsse::canonical_spec(spec)?),
        ("intoto", "0.0.1") => (EntryKind::IntotoV001, intoto::canonical_spec_v001(spec)?),
        ("intoto", "0.0.2") => (EntryKind::IntotoV002, intoto::canonical_spec_v002(spec)?),
        ("rekord", "0.0.1") => (EntryKind::RekordV001, rekord::canonical_spec(spec)?),
        ("hashedrekord" | "dsse" | "intoto" | "rekord", _) => return Err(unsupported()),
        (other, _) => return Err(EntryError::UnknownKind(other.to_string())),
    };
    let body = serde_json::json!({"apiVersion": kind.version(), "kind": kind.kind(), "spec": spec});
    let body = jcs(&body);
    let mut index_keys: Vec<String> = keys.iter().map(IndexKey::to_key_string).collect();
    index_keys.sort();
    index_keys.dedup();
    Ok(CanonicalEntry { kind, body, index_keys })
}

/// RFC 8785 canonical JSON. Our values hold only strings, integers, arrays
/// and objects, all of which serialise; failure would be a programming error.
pub fn jcs(v: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(v).expect("JSON value serialises")
}

/// The bytes a Rekor v1 SignedEntryTimestamp signs: RFC 8785 JSON of
/// `{body, integratedTime, logID, logIndex}`.
pub fn set_payload(body: &[u8], integrated_time: i64, log_id: &[u8; 32], log_index: u64) -> Vec<u8> {
    jcs(&serde_json::json!({
        "body": STANDARD.encode(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    }))
}

/// An entry UUID as it appears in URLs: 64 hex characters (the leaf hash) or
/// 80 (a 16-hex-digit tree ID, then the leaf hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryId {
    pub tree_id: Option<u64>,
    pub uuid: Hash,
}

impl EntryId {
    pub fn parse(s: &str) -> Result<Self, EntryError> {
        let bad = || EntryError::Invalid(format!("{s:?} is not a 64- or 80-character hex entry UUID"));
        match s.len() {
            64 => Ok(Self { tree_id: None, uuid: decode_hash(s).ok_or_else(bad)? }),
            80 => {
                let tree_id = u64::from_str_radix(&s[..16], 16).map_err(|_| bad())?;
                Ok(Self { tree_id: Some(tree_id), uuid: decode_hash(&s[16..]).ok_or_else(bad)? })
            }
            _ => Err(bad()),
        }
    }

    /// The 80-character form upstream returns.
    pub fn render(tree_id: u64, uuid: &Hash) -> String {
        format!("{tree_id:016x}{}", hex::encode(uuid))
    }
}

fn decode_hash(s: &str) -> Option<Hash> {
    hex::decode(s).ok()?.try_into().ok()
}

// ---- helpers shared by the kinds ----

pub(crate) fn field<'a>(v: &'a Value, path: &[&str], name: &'static str) -> Result<&'a Value, EntryError> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p).ok_or(EntryError::Field(name))?;
    }
    if cur.is_null() {
        return Err(EntryError::Field(name));
    }
    Ok(cur)
}

pub(crate) fn str_field<'a>(v: &'a Value, path: &[&str], name: &'static str) -> Result<&'a str, EntryError> {
    field(v, path, name)?.as_str().ok_or(EntryError::Field(name))
}

pub(crate) fn b64_field(v: &Value, path: &[&str], name: &'static str) -> Result<Vec<u8>, EntryError> {
    let s = str_field(v, path, name)?;
    STANDARD.decode(s).map_err(|_| EntryError::Base64(name))
}

pub(crate) fn verifier(pem_bytes: &[u8]) -> Result<VerifierMaterial, EntryError> {
    VerifierMaterial::parse(pem_bytes).map_err(EntryError::Verifier)
}

/// Parses `{"algorithm": "...", "value": "<hex>"}`.
pub(crate) fn hash_obj(v: &Value, name: &'static str) -> Result<(sigstead_crypto::HashAlgorithm, String), EntryError> {
    use sigstead_crypto::HashAlgorithm as H;
    let alg = v.get("algorithm").and_then(Value::as_str).ok_or(EntryError::Field(name))?;
    let value = v.get("value").and_then(Value::as_str).ok_or(EntryError::Field(name))?;
    let alg = match alg {
        "sha256" => H::Sha256,
        "sha384" => H::Sha384,
        "sha512" => H::Sha512,
        other => return Err(EntryError::HashAlgorithm(other.to_string())),
    };
    let want = alg.digest_len() * 2;
    if value.len() != want || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(EntryError::HashValue(want));
    }
    Ok((alg, value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_id_forms() {
        let uuid = [7u8; 32];
        let long = EntryId::render(42, &uuid);
        assert_eq!(long.len(), 80);
        assert_eq!(EntryId::parse(&long).unwrap(), EntryId { tree_id: Some(42), uuid });
        assert_eq!(EntryId::parse(&long[16..]).unwrap(), EntryId { tree_id: None, uuid });
        assert!(EntryId::parse("zz").is_err());
        assert!(EntryId::parse(&"g".repeat(64)).is_err());
    }

    #[test]
    fn set_payload_is_jcs_with_sorted_keys() {
        let p = set_payload(b"{}", 1700000000, &[0xab; 32], 5);
        let s = String::from_utf8(p).unwrap();
        assert_eq!(
            s,
            format!(
                "{{\"body\":\"e30=\",\"integratedTime\":1700000000,\"logID\":\"{}\",\"logIndex\":5}}",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn unknown_kind_and_version_are_rejected() {
        let e = canonicalize(br#"{"kind":"nope","apiVersion":"0.0.1","spec":{}}"#).unwrap_err();
        assert_eq!(e, EntryError::UnknownKind("nope".into()));
        let e = canonicalize(br#"{"kind":"hashedrekord","apiVersion":"9.9.9","spec":{}}"#).unwrap_err();
        assert!(matches!(e, EntryError::UnsupportedVersion { .. }));
        assert!(matches!(canonicalize(b"{not json"), Err(EntryError::Json(_))));
    }
}
