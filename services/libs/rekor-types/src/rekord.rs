//! `rekord` 0.0.1: a signature over artifact bytes sent inline.
//!
//! Upstream `pkg/types/rekord/v0.0.1`. Only the `x509` signature format is
//! accepted here (PGP, minisign and SSH keys are refused with a clear 400).
//! The signature is over the data (ECDSA with SHA-256, pure Ed25519); the
//! data itself is never stored, only its SHA-256.

use crate::{b64_field, field, str_field, verifier, EntryError, IndexKey};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sigstead_crypto::{HashAlgorithm, PublicKey};

pub(crate) fn canonical_spec(spec: &Value) -> Result<(Value, Vec<IndexKey>), EntryError> {
    let format = str_field(spec, &["signature", "format"], "spec.signature.format")?;
    if format != "x509" {
        return Err(EntryError::Invalid(format!("rekord signature format {format:?} is not supported; use x509")));
    }
    let sig = b64_field(spec, &["signature", "content"], "spec.signature.content")?;
    if sig.is_empty() {
        return Err(EntryError::Invalid("'content' must be specified for signature".into()));
    }
    let pem = b64_field(spec, &["signature", "publicKey", "content"], "spec.signature.publicKey.content")?;
    let v = verifier(&pem)?;
    let data = b64_field(spec, &["data", "content"], "spec.data.content")?;
    let digest: [u8; 32] = Sha256::digest(&data).into();
    let computed = hex::encode(digest);
    let value = match spec.get("data").and_then(|d| d.get("hash")).filter(|h| !h.is_null()) {
        Some(h) => {
            let given = str_field(h, &["value"], "spec.data.hash.value")?;
            let alg = str_field(h, &["algorithm"], "spec.data.hash.algorithm")?;
            if alg != "sha256" {
                return Err(EntryError::HashAlgorithm(alg.to_string()));
            }
            if given != computed {
                return Err(EntryError::Invalid(format!("SHA mismatch: {computed} != {given}")));
            }
            given.to_string()
        }
        None => computed,
    };
    let _ = field(spec, &["signature"], "spec.signature")?;
    match &v.key {
        PublicKey::Ed25519(_) => v.key.verify(&data, &sig),
        _ => v.key.verify_prehash(HashAlgorithm::Sha256, &digest, &sig),
    }
    .map_err(EntryError::Signature)?;
    let mut keys = IndexKey::for_verifier(&v);
    keys.push(IndexKey::Sha256(digest));
    let canonical = json!({
        "data": {"hash": {"algorithm": "sha256", "value": value}},
        "signature": {
            "content": STANDARD.encode(&sig),
            "format": "x509",
            "publicKey": {"content": STANDARD.encode(v.canonical_pem())},
        },
    });
    Ok((canonical, keys))
}
