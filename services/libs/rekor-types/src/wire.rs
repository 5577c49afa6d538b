//! Rekor v1 wire types in one place: the responses the Rekor service
//! renders and clients (the monitor, the bench, tests) read back, and the
//! proposed entries clients send, as typed builders (the tests and the
//! load generator build every kind from here instead of each writing its
//! own JSON).
//!
//! Field names follow upstream's OpenAPI document (`openapi.yaml` of
//! sigstore/rekor: `LogEntry`, `InclusionProof`, `LogInfo`,
//! `ConsistencyProof`; `pkg/types/<kind>/<version>/<kind>_schema.json` for
//! the proposed entries). Parsing what a client proposes stays in
//! [`crate::canonicalize`], whose refusals name the field at fault.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/// `verification.inclusionProof` of a LogEntry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The signed checkpoint (note text) the proof is against.
    pub checkpoint: String,
    /// Hex-encoded hashes, leaf to root.
    pub hashes: Vec<String>,
    pub log_index: u64,
    /// Hex-encoded root hash.
    pub root_hash: String,
    pub tree_size: u64,
}

/// `verification` of a LogEntry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub inclusion_proof: InclusionProof,
    /// The SET: base64 of the log's signature over the canonical entry summary.
    pub signed_entry_timestamp: String,
}

/// One LogEntry value (the map key is its entry ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Base64 of the canonical body.
    pub body: String,
    pub integrated_time: i64,
    /// Hex SHA-256 of the log's public key (DER SPKI).
    #[serde(rename = "logID")]
    pub log_id: String,
    pub log_index: u64,
    pub verification: Verification,
}

/// `{entryID: LogEntry}` as every entry endpoint returns it.
pub type LogEntryMap = BTreeMap<String, LogEntry>;

/// `GET /api/v1/log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogInfo {
    pub root_hash: String,
    pub signed_tree_head: String,
    #[serde(rename = "treeID")]
    pub tree_id: String,
    pub tree_size: u64,
    /// Upstream may omit it.
    #[serde(default)]
    pub inactive_shards: Vec<serde_json::Value>,
}

/// `GET /api/v1/log/proof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyProof {
    pub root_hash: String,
    pub hashes: Vec<String>,
}

// ---------------------------------------------------------------------------
// Proposed entries (`POST /api/v1/log/entries`)
// ---------------------------------------------------------------------------

/// A proposed entry: `{apiVersion, kind, spec}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposedEntry<S> {
    pub api_version: String,
    pub kind: String,
    pub spec: S,
}

impl<S: Serialize> ProposedEntry<S> {
    /// The request body.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
    /// The request body as bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// `{algorithm, value}`: a digest as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashValue {
    pub algorithm: String,
    pub value: String,
}

impl HashValue {
    pub fn sha256(hex_digest: impl Into<String>) -> Self {
        Self { algorithm: "sha256".into(), value: hex_digest.into() }
    }
}

/// `{content}` with base64 content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub content: String,
}

/// hashedrekord 0.0.1 `spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedRekordSpec {
    pub data: HashedRekordData,
    pub signature: HashedRekordSignature,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedRekordData {
    pub hash: HashValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashedRekordSignature {
    /// Base64 of the signature.
    pub content: String,
    /// Base64 of the verifier's PEM (public key or certificate).
    pub public_key: Content,
}

/// A hashedrekord 0.0.1 with every field given as it goes on the wire
/// (algorithm name, hex digest, base64 signature, base64 of the verifier PEM),
/// so a test can put anything in any field.
pub fn hashedrekord_raw(
    algorithm: &str,
    digest_hex: &str,
    signature_b64: &str,
    verifier_pem_b64: &str,
) -> ProposedEntry<HashedRekordSpec> {
    ProposedEntry {
        api_version: "0.0.1".into(),
        kind: "hashedrekord".into(),
        spec: HashedRekordSpec {
            data: HashedRekordData { hash: HashValue { algorithm: algorithm.into(), value: digest_hex.into() } },
            signature: HashedRekordSignature {
                content: signature_b64.into(),
                public_key: Content { content: verifier_pem_b64.into() },
            },
        },
    }
}

/// A hashedrekord 0.0.1 as cosign sends it: the artifact's SHA-256, the
/// signature over the artifact, and the verifier PEM (key or certificate).
pub fn hashedrekord(sha256_hex: &str, signature: &[u8], verifier_pem: &str) -> ProposedEntry<HashedRekordSpec> {
    hashedrekord_raw("sha256", sha256_hex, &STANDARD.encode(signature), &STANDARD.encode(verifier_pem))
}

/// A DSSE envelope signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    /// Base64 of the signature over the PAE.
    pub sig: String,
}

/// A DSSE envelope (`payload` base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// An envelope over `payload` with one signature per entry of
    /// `signatures` (each over [`crate::pae`]`(payload_type, payload)`).
    pub fn new(payload_type: &str, payload: &[u8], signatures: &[Vec<u8>]) -> Self {
        Self {
            payload_type: payload_type.into(),
            payload: STANDARD.encode(payload),
            signatures: signatures
                .iter()
                .map(|s| EnvelopeSignature { keyid: String::new(), sig: STANDARD.encode(s) })
                .collect(),
        }
    }
    /// The envelope as the JSON text a dsse entry carries.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// dsse 0.0.1 `spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DsseSpec {
    pub proposed_content: DsseProposedContent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsseProposedContent {
    /// The envelope as JSON text.
    pub envelope: String,
    /// Base64 of each verifier's PEM.
    pub verifiers: Vec<String>,
}

/// A dsse 0.0.1 entry: the envelope's JSON text and the verifiers' PEMs.
pub fn dsse(envelope_text: &str, verifier_pems: &[&str]) -> ProposedEntry<DsseSpec> {
    ProposedEntry {
        api_version: "0.0.1".into(),
        kind: "dsse".into(),
        spec: DsseSpec {
            proposed_content: DsseProposedContent {
                envelope: envelope_text.into(),
                verifiers: verifier_pems.iter().map(|p| STANDARD.encode(p)).collect(),
            },
        },
    }
}

/// The in-toto payload type.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// An in-toto v1 statement (SLSA provenance predicate type) about one
/// subject, as JSON bytes: the payload of dsse and intoto test entries.
pub fn in_toto_statement(subject_name: &str, sha256_hex: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject_name, "digest": {"sha256": sha256_hex}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/test"}},
    }))
    .unwrap_or_default()
}

/// intoto 0.0.2 `spec.content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntotoV002Content {
    pub envelope: IntotoV002Envelope,
    pub hash: HashValue,
    pub payload_hash: HashValue,
}

/// intoto 0.0.2's envelope: payload and signatures base64 *twice*, each
/// signature with its verifier (base64 of PEM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntotoV002Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<IntotoV002Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntotoV002Signature {
    pub sig: String,
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntotoV002Spec {
    pub content: IntotoV002Content,
}

/// An intoto 0.0.2 entry as cosign `attest` sends it: one signature (over
/// the PAE of `payload`) by the holder of `verifier_pem`; `hash` is the
/// SHA-256 of the single-encoded envelope's JSON text, `payloadHash` that of
/// the payload.
pub fn intoto_v002(payload: &[u8], signature: &[u8], verifier_pem: &str) -> ProposedEntry<IntotoV002Spec> {
    use sha2::{Digest, Sha256};
    let payload_b64 = STANDARD.encode(payload);
    let sig_b64 = STANDARD.encode(signature);
    let single = serde_json::json!({
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "payload": payload_b64,
        "signatures": [{"sig": sig_b64}],
    });
    let single_text = serde_json::to_string(&single).unwrap_or_default();
    ProposedEntry {
        api_version: "0.0.2".into(),
        kind: "intoto".into(),
        spec: IntotoV002Spec {
            content: IntotoV002Content {
                envelope: IntotoV002Envelope {
                    payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
                    payload: STANDARD.encode(&payload_b64),
                    signatures: vec![IntotoV002Signature {
                        sig: STANDARD.encode(&sig_b64),
                        public_key: STANDARD.encode(verifier_pem),
                    }],
                },
                hash: HashValue::sha256(hex::encode(Sha256::digest(single_text.as_bytes()))),
                payload_hash: HashValue::sha256(hex::encode(Sha256::digest(payload))),
            },
        },
    }
}

/// intoto 0.0.1 `spec`: the envelope as JSON text and one verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntotoV001Spec {
    pub content: IntotoV001Content,
    /// Base64 of the verifier's PEM.
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntotoV001Content {
    pub envelope: String,
}

/// An intoto 0.0.1 entry (cosign 1.x `attest`): the DSSE envelope's JSON
/// text and the verifier PEM.
pub fn intoto_v001(envelope_text: &str, verifier_pem: &str) -> ProposedEntry<IntotoV001Spec> {
    ProposedEntry {
        api_version: "0.0.1".into(),
        kind: "intoto".into(),
        spec: IntotoV001Spec {
            content: IntotoV001Content { envelope: envelope_text.into() },
            public_key: STANDARD.encode(verifier_pem),
        },
    }
}

/// rekord 0.0.1 `spec`: the artifact itself (not its hash) and a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekordSpec {
    pub signature: RekordSignature,
    pub data: RekordData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RekordSignature {
    /// `x509` (the only format this log accepts), `pgp`, `minisign`, `ssh`.
    pub format: String,
    /// Base64 of the signature.
    pub content: String,
    /// Base64 of the verifier's PEM.
    pub public_key: Content,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekordData {
    /// Base64 of the artifact.
    pub content: String,
    /// The artifact's digest, if the client sends it (checked against the content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<HashValue>,
}

/// A rekord 0.0.1 entry with the signature format given (a test can name
/// one the log refuses) and, optionally, the digest the client claims.
pub fn rekord_raw(
    format: &str,
    data: &[u8],
    signature: &[u8],
    verifier_pem: &str,
    sha256_hex: Option<&str>,
) -> ProposedEntry<RekordSpec> {
    ProposedEntry {
        api_version: "0.0.1".into(),
        kind: "rekord".into(),
        spec: RekordSpec {
            signature: RekordSignature {
                format: format.into(),
                content: STANDARD.encode(signature),
                public_key: Content { content: STANDARD.encode(verifier_pem) },
            },
            data: RekordData { content: STANDARD.encode(data), hash: sha256_hex.map(HashValue::sha256) },
        },
    }
}

/// A rekord 0.0.1 entry: an x509-format signature over `data`.
pub fn rekord(data: &[u8], signature: &[u8], verifier_pem: &str) -> ProposedEntry<RekordSpec> {
    rekord_raw("x509", data, signature, verifier_pem, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The builders produce what upstream's own request fixtures look like:
    /// the field names of `hashedrekord_v0_0_1_schema.json` and
    /// `dsse_v0_0_1_schema.json`.
    #[test]
    fn proposed_entries_have_upstreams_field_names() {
        let h = hashedrekord("00ff", b"sig", "PEM").to_json();
        assert_eq!(h["kind"], "hashedrekord");
        assert_eq!(h["apiVersion"], "0.0.1");
        assert_eq!(h["spec"]["data"]["hash"]["algorithm"], "sha256");
        assert_eq!(h["spec"]["data"]["hash"]["value"], "00ff");
        assert_eq!(h["spec"]["signature"]["content"], STANDARD.encode(b"sig"));
        assert_eq!(h["spec"]["signature"]["publicKey"]["content"], STANDARD.encode(b"PEM"));
        let env = Envelope::new("t", b"p", &[b"s".to_vec()]).to_text();
        let d = dsse(&env, &["PEM"]).to_json();
        assert_eq!(d["spec"]["proposedContent"]["verifiers"][0], STANDARD.encode(b"PEM"));
        let parsed: serde_json::Value = serde_json::from_str(&env).unwrap();
        assert_eq!(parsed["payloadType"], "t");
        assert_eq!(parsed["signatures"][0]["sig"], STANDARD.encode(b"s"));
    }

    /// A LogInfo from upstream (no `inactiveShards`) reads; ours round-trips.
    #[test]
    fn log_info_reads_upstreams_shape() {
        let v = serde_json::json!({"rootHash": "ab", "signedTreeHead": "note", "treeID": "1", "treeSize": 3});
        let info: LogInfo = serde_json::from_value(v).unwrap();
        assert_eq!((info.tree_size, info.inactive_shards.len()), (3, 0));
        let back = serde_json::to_value(&info).unwrap();
        assert_eq!(back["treeID"], "1");
    }
}
