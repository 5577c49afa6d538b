//! `dsse` 0.0.1: a DSSE envelope and the keys that signed it.
//!
//! Every envelope signature must verify, over PAE(payloadType, payload),
//! with one of the supplied verifiers. Canonical body (upstream
//! `pkg/types/dsse/v0.0.1`): SHA-256 of the envelope exactly as received,
//! SHA-256 of the decoded payload, and the signatures with the verifier that
//! verified each (LF PEM), sorted by signature. The envelope is not stored.

use crate::{b64_field, str_field, verifier, EntryError, IndexKey};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// DSSE pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// A parsed DSSE envelope.
pub(crate) struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    /// (base64 signature as it appears in the envelope, decoded bytes)
    pub signatures: Vec<(String, Vec<u8>)>,
}

pub(crate) fn parse_envelope(text: &str) -> Result<Envelope, EntryError> {
    let env: Value =
        serde_json::from_str(text).map_err(|e| EntryError::Invalid(format!("envelope is not JSON: {e}")))?;
    let payload_type = str_field(&env, &["payloadType"], "envelope.payloadType")?.to_string();
    let payload = b64_field(&env, &["payload"], "envelope.payload")?;
    let sigs = env.get("signatures").and_then(Value::as_array).ok_or(EntryError::Field("envelope.signatures"))?;
    if sigs.is_empty() {
        return Err(EntryError::Field("envelope.signatures"));
    }
    let mut signatures = Vec::with_capacity(sigs.len());
    for s in sigs {
        let b64 = str_field(s, &["sig"], "envelope.signatures[].sig")?;
        let raw = STANDARD.decode(b64).map_err(|_| EntryError::Base64("envelope.signatures[].sig"))?;
        if raw.is_empty() {
            return Err(EntryError::Field("envelope.signatures[].sig"));
        }
        signatures.push((b64.to_string(), raw));
    }
    Ok(Envelope { payload_type, payload, signatures })
}

/// In-toto statements name their subjects by digest; those digests make the
/// entry findable by artifact hash.
pub(crate) fn intoto_subject_keys(payload_type: &str, payload: &[u8]) -> Vec<IndexKey> {
    if payload_type != "application/vnd.in-toto+json" {
        return Vec::new();
    }
    let Ok(stmt) = serde_json::from_slice::<Value>(payload) else {
        return Vec::new();
    };
    stmt.get("subject")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("digest")?.get("sha256")?.as_str())
        .filter_map(|h| hex::decode(h).ok()?.try_into().ok())
        .map(IndexKey::Sha256)
        .collect()
}

pub(crate) fn canonical_spec(spec: &Value) -> Result<(Value, Vec<IndexKey>), EntryError> {
    let envelope_text = str_field(spec, &["proposedContent", "envelope"], "spec.proposedContent.envelope")?;
    let verifiers = spec
        .get("proposedContent")
        .and_then(|p| p.get("verifiers"))
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
        .ok_or(EntryError::Field("spec.proposedContent.verifiers"))?;
    let mut keys = Vec::new();
    let mut parsed = Vec::with_capacity(verifiers.len());
    for v in verifiers {
        let pem = STANDARD
            .decode(v.as_str().ok_or(EntryError::Field("spec.proposedContent.verifiers"))?)
            .map_err(|_| EntryError::Base64("spec.proposedContent.verifiers"))?;
        let m = verifier(&pem)?;
        keys.extend(IndexKey::for_verifier(&m));
        parsed.push(m);
    }
    let env = parse_envelope(envelope_text)?;
    let message = pae(&env.payload_type, &env.payload);
    let mut signatures = Vec::with_capacity(env.signatures.len());
    for (b64, raw) in &env.signatures {
        let v = parsed
            .iter()
            .find(|v| v.key.verify(&message, raw).is_ok())
            .ok_or(EntryError::Signature(sigstead_crypto::CryptoError::BadSignature))?;
        signatures.push((b64.clone(), STANDARD.encode(v.canonical_pem())));
    }
    signatures.sort();
    let envelope_hash: [u8; 32] = Sha256::digest(envelope_text.as_bytes()).into();
    let payload_hash: [u8; 32] = Sha256::digest(&env.payload).into();
    keys.push(IndexKey::Sha256(payload_hash));
    keys.push(IndexKey::Sha256(envelope_hash));
    keys.extend(intoto_subject_keys(&env.payload_type, &env.payload));
    let canonical = json!({
        "envelopeHash": {"algorithm": "sha256", "value": hex::encode(envelope_hash)},
        "payloadHash": {"algorithm": "sha256", "value": hex::encode(payload_hash)},
        "signatures": signatures.into_iter().map(|(s, v)| json!({"signature": s, "verifier": v})).collect::<Vec<_>>(),
    });
    Ok((canonical, keys))
}
