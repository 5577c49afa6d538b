//! Verifying a Sigstore bundle against a trusted root, offline: the check
//! behind `sigstead kit verify`, which proves that a site's kit alone (no
//! network, no TUF) is enough to verify what its signers produce.
//!
//! Why our own verifier rather than sigstore-rust's `sigstore-verify`: that
//! crate (0.15) pulls in 216 crates, among them a TUF client, an HTTP client
//! and `ring` as a second cryptography backend beside our `aws-lc-rs` (counted
//! from `tests/e2e/rust-client/Cargo.lock`), while every step below is a few calls
//! into Sigstead's pure crates, which the services themselves use to produce
//! these artefacts (SCTs, checkpoints, SETs, timestamp tokens). It is checked
//! against bundles produced by upstream clients for the public-good instance
//! (`../shared/vectors/bundles`, verified against the public-good trusted
//! root) and, end to end, against bundles cosign and sigstore-python made
//! through a running stack.
//!
//! What is checked, in order (each failure is a [`VerifyError`] naming it):
//! 1. The bundle parses (v0.1–v0.3 media types; a certificate or a chain).
//! 2. The transparency log entry: its log is in the trusted root; its body
//!    matches the bundle (hashedrekord: digest, signature and certificate;
//!    dsse: payload hash and signature); the inclusion proof leads from the
//!    body's leaf hash to the root of a checkpoint signed by the log key, or
//!    else the SET (inclusion promise) verifies; the log key's `validFor`
//!    covers the integrated time.
//! 3. RFC 3161 timestamps, if any (each a DER `TimeStampResp`, as the
//!    bundle specification defines `signedTimestamp`): each verifies against
//!    a TSA of the trusted root over the signature bytes.
//! 4. The certificate: issued by a CA of the trusted root (chain signatures
//!    and validity at every verified time: the integrated time and each
//!    timestamp), the CA's `validFor` covering those times; its embedded SCTs
//!    verify against a CT log of the trusted root (at least one).
//! 5. The identity: a SAN equal to, or matching, the expected identity, and
//!    the OIDC issuer extension (`1.3.6.1.4.1.57264.1.8`, else `.1.1`) equal
//!    to the expected issuer.
//! 6. The signature over the artifact (message signature: also its digest;
//!    DSSE: the envelope signature over PAE and an in-toto subject whose
//!    SHA-256 is the artifact's).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::{Decode, Encode};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigstead_trust::wire::TimeRange;
use sigstead_trust::{CertificateAuthority, TransparencyLogInstance, TrustedRoot};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::Certificate;

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the bundle is malformed: {0}")]
    Malformed(String),
    #[error("not supported by this verifier: {0}")]
    Unsupported(String),
    #[error("the bundle has no transparency log entry")]
    NoTlogEntry,
    #[error("the transparency log {0} is not in the trusted root")]
    UnknownLog(String),
    #[error("the log entry does not match the bundle: {0}")]
    BodyMismatch(String),
    #[error("the inclusion proof does not verify: {0}")]
    InclusionProof(String),
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(String),
    #[error("the signed entry timestamp (SET) does not verify")]
    SignedEntryTimestamp,
    #[error("the entry has neither an inclusion proof nor a SET")]
    NoInclusion,
    #[error("the integrated time is in the future")]
    IntegratedInFuture,
    #[error("the log key was not valid at the integrated time")]
    LogKeyNotValid,
    #[error("no timestamp authority of the trusted root verifies the timestamp: {0}")]
    Timestamp(String),
    #[error("the certificate does not chain to a certificate authority of the trusted root: {0}")]
    Chain(String),
    #[error("no embedded SCT verifies against a CT log of the trusted root")]
    NoValidSct,
    #[error("the certificate identity {got:?} does not match {want}")]
    Identity { got: Vec<String>, want: String },
    #[error("the certificate's OIDC issuer {got:?} is not {want:?}")]
    Issuer { got: Option<String>, want: String },
    #[error("the signature over the artifact does not verify")]
    Signature,
    #[error("the artifact digest does not match the bundle")]
    Digest,
}

fn malformed(e: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(e.to_string())
}

/// The expected signer identity: the certificate SAN, exactly or by regular
/// expression (anchor it), and the OIDC issuer.
#[derive(Debug, Clone)]
pub struct Policy {
    pub identity: Identity,
    pub issuer: String,
}

#[derive(Debug, Clone)]
pub enum Identity {
    Exact(String),
    Regexp(regex::Regex),
}

impl Identity {
    fn matches(&self, san: &str) -> bool {
        match self {
            Self::Exact(s) => s == san,
            Self::Regexp(r) => r.is_match(san),
        }
    }
    fn describe(&self) -> String {
        match self {
            Self::Exact(s) => format!("{s:?}"),
            Self::Regexp(r) => format!("/{}/", r.as_str()),
        }
    }
}

/// What a verified bundle says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub identity: String,
    pub issuer: String,
    pub log_url: String,
    pub log_index: u64,
    /// The integrated time, Unix seconds.
    pub integrated_time: u64,
    pub inclusion_proof: bool,
    pub timestamps: usize,
    pub scts: usize,
}

// ------------------------------------------------------------------ wire

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    verification_material: Material,
    #[serde(default)]
    message_signature: Option<MessageSignature>,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Material {
    #[serde(default)]
    certificate: Option<RawBytes>,
    #[serde(default)]
    x509_certificate_chain: Option<Chain>,
    #[serde(default)]
    tlog_entries: Vec<TlogEntry>,
    #[serde(default)]
    timestamp_verification_data: Option<TimestampData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimestampData {
    #[serde(default)]
    rfc3161_timestamps: Vec<SignedTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedTimestamp {
    signed_timestamp: String,
}

/// Protobuf JSON writes 64-bit integers as strings; accept both.
fn int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        S(String),
        N(u64),
    }
    match N::deserialize(d)? {
        N::S(s) => s.parse().map_err(serde::de::Error::custom),
        N::N(n) => Ok(n),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlogEntry {
    #[serde(deserialize_with = "int")]
    log_index: u64,
    log_id: KeyId,
    /// Absent (zero) on Rekor v2 entries.
    #[serde(default, deserialize_with = "int")]
    integrated_time: u64,
    #[serde(default)]
    inclusion_promise: Option<Promise>,
    #[serde(default)]
    inclusion_proof: Option<InclusionProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Promise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProof {
    #[serde(deserialize_with = "int")]
    log_index: u64,
    root_hash: String,
    #[serde(deserialize_with = "int")]
    tree_size: u64,
    #[serde(default)]
    hashes: Vec<String>,
    #[serde(default)]
    checkpoint: Option<CheckpointWire>,
}

#[derive(Deserialize)]
struct CheckpointWire {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignature {
    #[serde(default)]
    message_digest: Option<MessageDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct MessageDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

/// The parts of a Rekor v1 entry body this verifier compares.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    api_version: String,
    kind: String,
    spec: serde_json::Value,
}

#[derive(Deserialize)]
struct HashedRekordSpec {
    data: HashedData,
    signature: HashedSignature,
}
#[derive(Deserialize)]
struct HashedData {
    hash: HashValue,
}
#[derive(Deserialize)]
struct HashValue {
    algorithm: String,
    value: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedSignature {
    content: String,
    public_key: Content,
}
#[derive(Deserialize)]
struct Content {
    content: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseSpec {
    payload_hash: HashValue,
    signatures: Vec<DsseSig>,
}
#[derive(Deserialize)]
struct DsseSig {
    signature: String,
    verifier: String,
}

#[derive(Deserialize)]
struct IntotoSpec {
    content: IntotoContent,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoContent {
    envelope: IntotoEnvelope,
    payload_hash: HashValue,
}
#[derive(Deserialize)]
struct IntotoEnvelope {
    signatures: Vec<IntotoSig>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoSig {
    sig: String,
    public_key: String,
}

#[derive(Deserialize)]
struct Statement {
    subject: Vec<Subject>,
}
#[derive(Deserialize)]
struct Subject {
    digest: std::collections::BTreeMap<String, String>,
}

// ------------------------------------------------------------------ helpers

fn b64(s: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
    STANDARD.decode(s).map_err(|_| VerifyError::Malformed(format!("{what} is not base64")))
}

fn parse_time(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let secs = u64::try_from(t.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(u64::from(t.nanosecond())))
}

/// True when `window` covers `at` (an unparsable bound covers nothing).
fn covers(window: &TimeRange, at: SystemTime) -> bool {
    let Some(start) = parse_time(&window.start) else { return false };
    let end_ok = match &window.end {
        None => true,
        Some(e) => parse_time(e).is_some_and(|end| at <= end),
    };
    start <= at && end_ok
}

fn log_key(l: &TransparencyLogInstance) -> Result<Vec<u8>, VerifyError> {
    b64(&l.public_key.raw_bytes, "a trusted root log key")
}

fn chain_of(ca: &CertificateAuthority) -> Result<Vec<Vec<u8>>, VerifyError> {
    ca.cert_chain.certificates.iter().map(|c| b64(&c.raw_bytes, "a trusted root certificate")).collect()
}

/// DSSE pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

// ------------------------------------------------------------------ verify

/// How far in the future an integrated time may be (clock skew between the
/// log and the verifier).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The bundle format version of a media type: `…bundle+json;version=0.N` or
/// `…bundle.v0.N+json`, N in 1..=3.
fn bundle_version(media_type: &str) -> Option<u8> {
    let v = media_type.strip_prefix("application/vnd.dev.sigstore.bundle+json;version=").or_else(|| {
        media_type.strip_prefix("application/vnd.dev.sigstore.bundle.v").and_then(|r| r.strip_suffix("+json"))
    })?;
    match v {
        "0.1" => Some(1),
        "0.2" => Some(2),
        "0.3" => Some(3),
        _ => None,
    }
}

/// Verifies `bundle_json` for `artifact` under `root` and `policy`, now.
pub fn verify(
    root: &TrustedRoot,
    bundle_json: &[u8],
    artifact: &[u8],
    policy: &Policy,
) -> Result<Verified, VerifyError> {
    verify_at(root, bundle_json, artifact, policy, SystemTime::now())
}

/// Verifies `bundle_json` for `artifact` under `root` and `policy`, with
/// `now` as the present (integrated times after it are refused).
pub fn verify_at(
    root: &TrustedRoot,
    bundle_json: &[u8],
    artifact: &[u8],
    policy: &Policy,
    now: SystemTime,
) -> Result<Verified, VerifyError> {
    let bundle: Bundle = serde_json::from_slice(bundle_json).map_err(malformed)?;
    let version = bundle_version(&bundle.media_type)
        .ok_or_else(|| VerifyError::Malformed(format!("unknown bundle media type {:?}", bundle.media_type)))?;
    let m = &bundle.verification_material;
    let leaf_der = match (&m.certificate, &m.x509_certificate_chain) {
        (Some(c), _) => b64(&c.raw_bytes, "the certificate")?,
        (None, Some(ch)) => {
            // The chain in a bundle stops below the root: a root there would let
            // the bundle bring its own trust anchor.
            for c in &ch.certificates {
                let cert = Certificate::from_der(&b64(&c.raw_bytes, "a chain certificate")?).map_err(malformed)?;
                if cert.tbs_certificate.subject == cert.tbs_certificate.issuer {
                    return Err(malformed("the certificate chain includes a root certificate"));
                }
            }
            b64(
                &ch.certificates.first().ok_or_else(|| malformed("empty certificate chain"))?.raw_bytes,
                "the certificate",
            )?
        }
        (None, None) => return Err(malformed("no certificate (key-based bundles are not verified by the kit)")),
    };
    let leaf = Certificate::from_der(&leaf_der).map_err(|e| VerifyError::Malformed(format!("certificate: {e}")))?;
    let artifact_digest: [u8; 32] = Sha256::digest(artifact).into();

    // What the signature is, and over what.
    enum Signed<'a> {
        Message { signature: Vec<u8> },
        Dsse { env: &'a Envelope, payload: Vec<u8>, signature: Vec<u8> },
    }
    let signed = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(ms), _) => {
            if let Some(d) = &ms.message_digest {
                if d.algorithm != "SHA2_256" || b64(&d.digest, "the message digest")? != artifact_digest {
                    return Err(VerifyError::Digest);
                }
            }
            Signed::Message { signature: b64(&ms.signature, "the signature")? }
        }
        (None, Some(env)) => {
            let sig = env.signatures.first().ok_or_else(|| malformed("a DSSE envelope without signatures"))?;
            Signed::Dsse {
                env,
                payload: b64(&env.payload, "the DSSE payload")?,
                signature: b64(&sig.sig, "the DSSE signature")?,
            }
        }
        (None, None) => return Err(malformed("neither a message signature nor a DSSE envelope")),
    };

    // 2. The transparency log entry.
    let entry = m.tlog_entries.first().ok_or(VerifyError::NoTlogEntry)?;
    let log_id = b64(&entry.log_id.key_id, "the log ID")?;
    let log = root
        .tlogs
        .iter()
        .find(|l| b64(&l.log_id.key_id, "log ID").ok().as_deref() == Some(log_id.as_slice()))
        .ok_or_else(|| VerifyError::UnknownLog(hex::encode(&log_id)))?;
    let rekor_key = log_key(log)?;
    let body_bytes = b64(&entry.canonicalized_body, "the canonicalized body")?;
    let body: Body = serde_json::from_slice(&body_bytes).map_err(|e| VerifyError::BodyMismatch(e.to_string()))?;
    let mismatch = |what: &str| VerifyError::BodyMismatch(what.to_string());
    if body.kind == "hashedrekord" && body.api_version == "0.0.2" {
        return Err(VerifyError::Unsupported("Rekor v2 entries (hashedrekord 0.0.2)".into()));
    }
    match (&signed, body.kind.as_str()) {
        (Signed::Message { signature }, "hashedrekord") => {
            let spec: HashedRekordSpec =
                serde_json::from_value(body.spec.clone()).map_err(|e| mismatch(&e.to_string()))?;
            if spec.data.hash.algorithm != "sha256" || spec.data.hash.value != hex::encode(artifact_digest) {
                return Err(mismatch("the logged digest is not the artifact's"));
            }
            if b64(&spec.signature.content, "logged signature")? != *signature {
                return Err(mismatch("the logged signature is not the bundle's"));
            }
            let logged = b64(&spec.signature.public_key.content, "logged key")?;
            let logged_der = sigstead_crypto::pem_certificates(&logged);
            if logged_der.first() != Some(&leaf_der) {
                return Err(mismatch("the logged certificate is not the bundle's"));
            }
        }
        (Signed::Dsse { payload, signature, .. }, "dsse") => {
            let spec: DsseSpec = serde_json::from_value(body.spec.clone()).map_err(|e| mismatch(&e.to_string()))?;
            if spec.payload_hash.algorithm != "sha256"
                || spec.payload_hash.value != hex::encode(Sha256::digest(payload))
            {
                return Err(mismatch("the logged payload hash is not the envelope's"));
            }
            let ok = spec.signatures.iter().any(|s| {
                b64(&s.signature, "sig").ok().as_ref() == Some(signature)
                    && b64(&s.verifier, "verifier")
                        .ok()
                        .is_some_and(|v| sigstead_crypto::pem_certificates(&v).first() == Some(&leaf_der))
            });
            if !ok {
                return Err(mismatch("the logged signatures do not include the bundle's"));
            }
        }
        (Signed::Dsse { env, payload, .. }, "intoto") if body.api_version == "0.0.2" => {
            let spec: IntotoSpec = serde_json::from_value(body.spec.clone()).map_err(|e| mismatch(&e.to_string()))?;
            let c = &spec.content;
            if c.payload_hash.algorithm != "sha256" || c.payload_hash.value != hex::encode(Sha256::digest(payload)) {
                return Err(mismatch("the logged payload hash is not the envelope's"));
            }
            // intoto 0.0.2 stores the envelope's base64 strings base64-encoded again.
            let ok = c.envelope.signatures.iter().any(|s| {
                b64(&s.sig, "sig").ok().as_deref() == env.signatures.first().map(|x| x.sig.as_bytes())
                    && b64(&s.public_key, "publicKey")
                        .ok()
                        .is_some_and(|v| sigstead_crypto::pem_certificates(&v).first() == Some(&leaf_der))
            });
            if !ok {
                return Err(mismatch("the logged signatures do not include the bundle's"));
            }
        }
        (_, kind) => return Err(mismatch(&format!("a {kind} {} entry does not match this bundle", body.api_version))),
    }
    let integrated = UNIX_EPOCH + Duration::from_secs(entry.integrated_time);
    if integrated > now + MAX_CLOCK_SKEW {
        return Err(VerifyError::IntegratedInFuture);
    }
    // Bundles from v0.2 on carry an inclusion proof; v0.1 relied on the SET.
    if version >= 2 && entry.inclusion_proof.is_none() {
        return Err(VerifyError::InclusionProof("absent (required from bundle v0.2 on)".into()));
    }
    if !covers(&log.public_key.valid_for, integrated) {
        return Err(VerifyError::LogKeyNotValid);
    }
    let rekor_pub = sigstead_crypto::PublicKey::from_spki_der(&rekor_key).map_err(malformed)?;
    let mut have_inclusion = false;
    if let Some(proof) = &entry.inclusion_proof {
        let leaf_hash = sigstead_merkle::leaf_hash(&body_bytes);
        let hashes = proof
            .hashes
            .iter()
            .map(|h| b64(h, "a proof hash")?.try_into().map_err(|_| malformed("a proof hash is not 32 bytes")))
            .collect::<Result<Vec<sigstead_merkle::Hash>, _>>()?;
        let root_hash: sigstead_merkle::Hash = b64(&proof.root_hash, "the root hash")?
            .try_into()
            .map_err(|_| malformed("the root hash is not 32 bytes"))?;
        sigstead_merkle::verify_inclusion(proof.log_index, proof.tree_size, &leaf_hash, &hashes, &root_hash)
            .map_err(|e| VerifyError::InclusionProof(e.to_string()))?;
        let cp = proof.checkpoint.as_ref().ok_or_else(|| VerifyError::Checkpoint("absent".into()))?;
        let checkpoint = sigstead_note::verify_checkpoint_v1(&cp.envelope, None, &rekor_key)
            .map_err(|e| VerifyError::Checkpoint(e.to_string()))?;
        if checkpoint.size != proof.tree_size || checkpoint.root_hash != root_hash {
            return Err(VerifyError::Checkpoint("it is not for the proof's tree".into()));
        }
        have_inclusion = true;
    }
    if let Some(promise) = &entry.inclusion_promise {
        let payload = serde_json::json!({
            "body": entry.canonicalized_body,
            "integratedTime": entry.integrated_time,
            "logID": hex::encode(&log_id),
            "logIndex": entry.log_index,
        });
        let canonical = serde_json_canonicalizer::to_vec(&payload).map_err(malformed)?;
        let set = b64(&promise.signed_entry_timestamp, "the SET")?;
        rekor_pub.verify(&canonical, &set).map_err(|_| VerifyError::SignedEntryTimestamp)?;
        have_inclusion = true;
    }
    if !have_inclusion {
        return Err(VerifyError::NoInclusion);
    }

    // 3. Timestamps over the signature.
    let mut times = vec![integrated];
    let sig_bytes = match &signed {
        Signed::Message { signature } | Signed::Dsse { signature, .. } => signature.clone(),
    };
    let tokens = m.timestamp_verification_data.as_ref().map(|t| t.rfc3161_timestamps.as_slice()).unwrap_or_default();
    for t in tokens {
        let token = b64(&t.signed_timestamp, "a timestamp token")?;
        let mut last = String::from("the trusted root lists no timestamp authority");
        let mut ok = None;
        for tsa in &root.timestamp_authorities {
            let chain = chain_of(tsa)?;
            for alg in [
                sigstead_crypto::HashAlgorithm::Sha256,
                sigstead_crypto::HashAlgorithm::Sha384,
                sigstead_crypto::HashAlgorithm::Sha512,
            ] {
                let digest = sigstead_crypto::digest(alg, &sig_bytes);
                let expected = sigstead_tsp::ExpectedImprint { hash: alg, digest: &digest, nonce: None };
                match sigstead_tsp::verify_response(&token, &expected, &chain) {
                    Ok(v) if covers(&tsa.valid_for, v.gen_time) => {
                        ok = Some(v.gen_time);
                        break;
                    }
                    Ok(_) => last = "the TSA was not valid at genTime".into(),
                    Err(sigstead_tsp::VerifyError::ImprintMismatch) => {}
                    Err(e) => last = e.to_string(),
                }
            }
            if ok.is_some() {
                break;
            }
        }
        times.push(ok.ok_or(VerifyError::Timestamp(last))?);
    }

    // 4. The certificate chain at every verified time, and its SCTs.
    let mut chain_err = String::from("the trusted root lists no certificate authority");
    let mut issuer_der = None;
    for ca in &root.certificate_authorities {
        let ca_chain = chain_of(ca)?;
        if !times.iter().all(|t| covers(&ca.valid_for, *t)) {
            chain_err = format!("CA {} was not valid at the signing time", ca.uri);
            continue;
        }
        let mut full = vec![leaf_der.clone()];
        full.extend(ca_chain.iter().cloned());
        match times.iter().try_for_each(|t| sigstead_crypto::chain::verify_chain(&full, *t)) {
            Ok(()) => {
                issuer_der = ca_chain.first().cloned();
                break;
            }
            Err(e) => chain_err = e.to_string(),
        }
    }
    let issuer_der = issuer_der.ok_or(VerifyError::Chain(chain_err))?;
    let (tbs, scts) = sigstead_ct::final_cert_tbs_and_scts(&leaf_der).map_err(|e| VerifyError::Chain(e.to_string()))?;
    let issuer_key_hash = sigstead_ct::spki_hash(&issuer_der).map_err(|e| VerifyError::Chain(e.to_string()))?;
    let precert = sigstead_ct::LogEntry::Precert { issuer_key_hash, tbs };
    let mut valid_scts = 0;
    for sct in &scts {
        for ct in &root.ctlogs {
            let key = log_key(ct)?;
            if sigstead_crypto::log_id(&key) == sct.log_id && sct.verify(&precert, &key).is_ok() {
                valid_scts += 1;
                break;
            }
        }
    }
    if valid_scts == 0 {
        return Err(VerifyError::NoValidSct);
    }

    // 5. The identity.
    let sans = sigstead_crypto::certificate_identities(&leaf_der);
    let identity = sans
        .iter()
        .find(|s| policy.identity.matches(s))
        .cloned()
        .ok_or_else(|| VerifyError::Identity { got: sans.clone(), want: policy.identity.describe() })?;
    let issuer = sigstead_crypto::certificate_oidc_issuer(&leaf_der);
    if issuer.as_deref() != Some(policy.issuer.as_str()) {
        return Err(VerifyError::Issuer { got: issuer, want: policy.issuer.clone() });
    }

    // 6. The signature over the artifact.
    let spki = leaf.tbs_certificate.subject_public_key_info.to_der().map_err(malformed)?;
    let key = sigstead_crypto::PublicKey::from_spki_der(&spki).map_err(malformed)?;
    match &signed {
        Signed::Message { signature } => key.verify(artifact, signature).map_err(|_| VerifyError::Signature)?,
        Signed::Dsse { env, payload, signature } => {
            key.verify(&pae(&env.payload_type, payload), signature).map_err(|_| VerifyError::Signature)?;
            let st: Statement = serde_json::from_slice(payload)
                .map_err(|e| VerifyError::Malformed(format!("in-toto statement: {e}")))?;
            let want = hex::encode(artifact_digest);
            if !st.subject.iter().any(|s| s.digest.get("sha256") == Some(&want)) {
                return Err(VerifyError::Digest);
            }
        }
    }
    Ok(Verified {
        identity,
        issuer: policy.issuer.clone(),
        log_url: log.base_url.clone(),
        log_index: entry.log_index,
        integrated_time: entry.integrated_time,
        inclusion_proof: entry.inclusion_proof.is_some(),
        timestamps: tokens.len(),
        scts: valid_scts,
    })
}

#[cfg(test)]
mod tests;
