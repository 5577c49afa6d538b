//! `intoto` 0.0.1 and 0.0.2: in-toto attestations in a DSSE envelope.
//!
//! Upstream `pkg/types/intoto/v0.0.{1,2}`. In 0.0.2 the envelope travels as
//! a JSON object whose `payload` and `signatures[].sig` are base64 of the
//! DSSE base64 strings (double encoded), each signature carries its own
//! key, and the client's envelope `hash` is stored as sent; the payload is
//! never stored. 0.0.1 carries the envelope as a string and one key, and the
//! server computes both hashes.

use crate::dsse::{intoto_subject_keys, pae, parse_envelope};
use crate::{b64_field, field, str_field, verifier, EntryError, IndexKey};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sigstead_crypto::CryptoError;

pub(crate) fn canonical_spec_v002(spec: &Value) -> Result<(Value, Vec<IndexKey>), EntryError> {
    let env = field(spec, &["content", "envelope"], "spec.content.envelope")?;
    let payload_type = str_field(env, &["payloadType"], "spec.content.envelope.payloadType")?;
    let payload_once = b64_field(env, &["payload"], "spec.content.envelope.payload")?;
    if payload_once.is_empty() {
        return Err(EntryError::Invalid("missing envelope content".into()));
    }
    let payload = STANDARD.decode(&payload_once).map_err(|_| EntryError::Base64("spec.content.envelope.payload"))?;
    let sigs = env
        .get("signatures")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or(EntryError::Field("spec.content.envelope.signatures"))?;
    let message = pae(payload_type, &payload);
    let mut keys = Vec::new();
    let mut stored_sigs = Vec::with_capacity(sigs.len());
    for s in sigs {
        let sig_once = b64_field(s, &["sig"], "spec.content.envelope.signatures[].sig")?;
        let sig =
            STANDARD.decode(&sig_once).map_err(|_| EntryError::Base64("spec.content.envelope.signatures[].sig"))?;
        let pem = b64_field(s, &["publicKey"], "spec.content.envelope.signatures[].publicKey")?;
        let v = verifier(&pem)?;
        v.key.verify(&message, &sig).map_err(EntryError::Signature)?;
        keys.extend(IndexKey::for_verifier(&v));
        let mut o = Map::new();
        if let Some(k) = s.get("keyid").and_then(Value::as_str).filter(|k| !k.is_empty()) {
            o.insert("keyid".into(), Value::String(k.to_string()));
        }
        o.insert("publicKey".into(), Value::String(STANDARD.encode(&pem)));
        o.insert("sig".into(), Value::String(STANDARD.encode(&sig_once)));
        stored_sigs.push(Value::Object(o));
    }
    let hash = field(spec, &["content", "hash"], "spec.content.hash")?;
    let alg = str_field(hash, &["algorithm"], "spec.content.hash.algorithm")?;
    let value = str_field(hash, &["value"], "spec.content.hash.value")?;
    if alg != "sha256" {
        return Err(EntryError::HashAlgorithm(alg.to_string()));
    }
    let payload_hash: [u8; 32] = Sha256::digest(&payload).into();
    keys.push(IndexKey::Sha256(payload_hash));
    keys.extend(intoto_subject_keys(payload_type, &payload));
    let canonical = json!({
        "content": {
            "envelope": {"payloadType": payload_type, "signatures": stored_sigs},
            "hash": {"algorithm": alg, "value": value},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(payload_hash)},
        }
    });
    Ok((canonical, keys))
}

pub(crate) fn canonical_spec_v001(spec: &Value) -> Result<(Value, Vec<IndexKey>), EntryError> {
    let envelope_text = str_field(spec, &["content", "envelope"], "spec.content.envelope")?;
    let pem = b64_field(spec, &["publicKey"], "spec.publicKey")?;
    let v = verifier(&pem)?;
    let env = parse_envelope(envelope_text)?;
    let message = pae(&env.payload_type, &env.payload);
    if !env.signatures.iter().any(|(_, sig)| v.key.verify(&message, sig).is_ok()) {
        return Err(EntryError::Signature(CryptoError::BadSignature));
    }
    let envelope_hash: [u8; 32] = Sha256::digest(envelope_text.as_bytes()).into();
    let payload_hash: [u8; 32] = Sha256::digest(&env.payload).into();
    let mut keys = IndexKey::for_verifier(&v);
    keys.push(IndexKey::Sha256(envelope_hash));
    keys.push(IndexKey::Sha256(payload_hash));
    keys.extend(intoto_subject_keys(&env.payload_type, &env.payload));
    let canonical = json!({
        "content": {
            "hash": {"algorithm": "sha256", "value": hex::encode(envelope_hash)},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(payload_hash)},
        },
        "publicKey": STANDARD.encode(v.canonical_pem()),
    });
    Ok((canonical, keys))
}
