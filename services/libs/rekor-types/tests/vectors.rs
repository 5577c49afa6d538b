//! Canonical bodies against upstream Rekor's own bytes and request fixtures
//! (`../shared/vectors/api/rekor-v1`).

use base64::{engine::general_purpose::STANDARD, Engine};
use sigstead_rekor_types::{canonicalize, set_payload, EntryKind};
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    std::env::var("SIGSTEAD_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/vectors"))
}

fn json(path: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(vectors().join(path)).unwrap()).unwrap()
}

/// A body upstream Rekor stored, submitted again as a proposed entry, must
/// canonicalise to exactly the same bytes and the same entry UUID.
#[test]
fn upstream_hashedrekord_body_round_trips_byte_for_byte() {
    let resp = json("api/rekor-v1/sigstore-java-entry.json");
    let (uuid, entry) = resp.as_object().unwrap().iter().next().unwrap();
    let body = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
    let ours = canonicalize(&body).expect("upstream entry is valid");
    assert_eq!(ours.kind, EntryKind::HashedRekordV001);
    assert_eq!(String::from_utf8(ours.body.clone()).unwrap(), String::from_utf8(body).unwrap());
    assert_eq!(&hex::encode(ours.leaf_hash()), uuid.get(uuid.len() - 64..).unwrap());
}

/// The SET in upstream's response verifies over our SET payload bytes.
#[test]
fn upstream_set_verifies_over_our_payload() {
    let resp = json("api/rekor-v1/sigstore-java-entry.json");
    let entry = resp.as_object().unwrap().values().next().unwrap();
    let body = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
    let log_id: [u8; 32] = hex::decode(entry["logID"].as_str().unwrap()).unwrap().try_into().unwrap();
    let payload =
        set_payload(&body, entry["integratedTime"].as_i64().unwrap(), &log_id, entry["logIndex"].as_u64().unwrap());
    let key_pem = std::fs::read(vectors().join("api/rekor-v1/sigstore-java-rekor.pub")).unwrap();
    let key = sigstead_crypto::VerifierMaterial::parse(&key_pem).unwrap();
    let set = STANDARD.decode(entry["verification"]["signedEntryTimestamp"].as_str().unwrap()).unwrap();
    key.key.verify(&payload, &set).expect("upstream SET verifies over our payload");
    let mut tampered = payload.clone();
    tampered[10] ^= 1;
    assert!(key.key.verify(&tampered, &set).is_err());
}

#[test]
fn upstream_dsse_request_fixture_is_accepted_and_canonicalised() {
    let req = std::fs::read(vectors().join("api/rekor-v1/rekor-proposed-entry-dsse.json")).unwrap();
    let ours = canonicalize(&req).expect("upstream dsse fixture verifies");
    assert_eq!(ours.kind, EntryKind::DsseV001);
    let body: serde_json::Value = serde_json::from_slice(&ours.body).unwrap();
    let spec = &body["spec"];
    assert!(spec.get("proposedContent").is_none(), "the envelope is not stored");
    assert_eq!(spec["envelopeHash"]["algorithm"], "sha256");
    assert_eq!(spec["signatures"].as_array().unwrap().len(), 1);
}

#[test]
fn upstream_hashedrekord_request_fixture_is_checked() {
    let req = std::fs::read(vectors().join("api/rekor-v1/rekor-proposed-entry-hashedrekord.json")).unwrap();
    // Whatever the fixture holds, the result must be a clean accept or a clean refusal.
    match canonicalize(&req) {
        Ok(e) => assert_eq!(e.kind, EntryKind::HashedRekordV001),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
