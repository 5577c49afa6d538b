//! `hashedrekord` 0.0.1: a signature over an artifact digest.
//!
//! The signature is verified over the digest (prehashed) with the verifier
//! key; Rekor never sees the artifact. Canonical body (upstream
//! `pkg/types/hashedrekord/v0.0.1`): the same shape as the request, with the
//! verifier re-encoded as LF PEM and nothing else.

use crate::{b64_field, field, hash_obj, verifier, EntryError, IndexKey};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sigstead_crypto::HashAlgorithm;

pub(crate) fn canonical_spec(spec: &Value) -> Result<(Value, Vec<IndexKey>), EntryError> {
    let (alg, value) = hash_obj(field(spec, &["data", "hash"], "spec.data.hash")?, "spec.data.hash")?;
    let sig = b64_field(spec, &["signature", "content"], "spec.signature.content")?;
    if sig.is_empty() {
        return Err(EntryError::Field("spec.signature.content"));
    }
    let key_pem = b64_field(spec, &["signature", "publicKey", "content"], "spec.signature.publicKey.content")?;
    let v = verifier(&key_pem)?;
    let digest = hex::decode(&value).map_err(|_| EntryError::HashValue(alg.digest_len() * 2))?;
    v.key.verify_prehash(alg, &digest, &sig).map_err(EntryError::Signature)?;

    let mut keys = IndexKey::for_verifier(&v);
    if alg == HashAlgorithm::Sha256 {
        let d: [u8; 32] = digest.as_slice().try_into().expect("sha256 digest is 32 bytes");
        keys.push(IndexKey::Sha256(d));
    }
    let canonical = json!({
        "data": {"hash": {"algorithm": alg.name(), "value": value}},
        "signature": {
            "content": STANDARD.encode(&sig),
            "publicKey": {"content": STANDARD.encode(v.canonical_pem())},
        },
    });
    Ok((canonical, keys))
}
