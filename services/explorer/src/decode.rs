//! What the pages show of an entry, decoded from its canonical body: kind
//! and version, signature, artifact digest, and each certificate with its
//! subject alternative names, issuer, validity, key type, the Fulcio OID
//! extensions by name and the embedded SCTs. Pure: no I/O, no async.
//!
//! Decoding here is for display only. Nothing decoded is trusted: the
//! entry's place in the log is proven by the inclusion proof the browser
//! checks, and the body's contents were validated when the log accepted it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::{Decode, Encode};
use serde::Deserialize;
use sigstead_profile::oid;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

/// One entry, as shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryView {
    pub kind: String,
    pub api_version: String,
    /// `sha256:<hex>` (or another algorithm) of the artifact or payload.
    pub digest: Option<String>,
    /// Signatures, base64 as stored.
    pub signatures: Vec<String>,
    pub certificates: Vec<CertView>,
    /// Bare public keys (PEM) of key-signed entries.
    pub public_keys: Vec<String>,
}

impl EntryView {
    /// The first certificate's first identity, for result lists.
    pub fn identity(&self) -> Option<&str> {
        self.certificates.first().and_then(|c| c.sans.first()).map(|s| s.value.as_str())
    }
    pub fn issuer(&self) -> Option<&str> {
        self.certificates.first().and_then(|c| c.oidc_issuer.as_deref())
    }
}

/// One certificate, as shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertView {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
    pub key_type: String,
    pub sans: Vec<San>,
    /// The OIDC issuer (extension 1.8, else 1.1).
    pub oidc_issuer: Option<String>,
    /// Fulcio extensions in OID order: (dotted OID, name, value).
    pub fulcio_extensions: Vec<(String, &'static str, String)>,
    pub scts: Vec<SctView>,
    pub pem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct San {
    /// `email`, `uri`, `dns`, `username` (Fulcio's otherName) or `other`.
    pub kind: &'static str,
    pub value: String,
}

/// An SCT embedded in a certificate: which log, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctView {
    /// The CT log ID, base64 (as `ctlogs[].logId.keyId` in the trusted root).
    pub log_id: String,
    pub timestamp_ms: u64,
}

/// The Fulcio extension names, as the Fulcio OID document names them.
const FULCIO_NAMES: &[(&str, &str)] = &[
    (oid::ISSUER, "Issuer (deprecated)"),
    (oid::GITHUB_WORKFLOW_TRIGGER, "GitHub Workflow Trigger (deprecated)"),
    (oid::GITHUB_WORKFLOW_SHA, "GitHub Workflow SHA (deprecated)"),
    (oid::GITHUB_WORKFLOW_NAME, "GitHub Workflow Name (deprecated)"),
    (oid::GITHUB_WORKFLOW_REPOSITORY, "GitHub Workflow Repository (deprecated)"),
    (oid::GITHUB_WORKFLOW_REF, "GitHub Workflow Ref (deprecated)"),
    (oid::ISSUER_V2, "Issuer"),
    (oid::BUILD_SIGNER_URI, "Build Signer URI"),
    (oid::BUILD_SIGNER_DIGEST, "Build Signer Digest"),
    (oid::RUNNER_ENVIRONMENT, "Runner Environment"),
    (oid::SOURCE_REPOSITORY_URI, "Source Repository URI"),
    (oid::SOURCE_REPOSITORY_DIGEST, "Source Repository Digest"),
    (oid::SOURCE_REPOSITORY_REF, "Source Repository Ref"),
    (oid::SOURCE_REPOSITORY_IDENTIFIER, "Source Repository Identifier"),
    (oid::SOURCE_REPOSITORY_OWNER_URI, "Source Repository Owner URI"),
    (oid::SOURCE_REPOSITORY_OWNER_IDENTIFIER, "Source Repository Owner Identifier"),
    (oid::BUILD_CONFIG_URI, "Build Config URI"),
    (oid::BUILD_CONFIG_DIGEST, "Build Config Digest"),
    (oid::BUILD_TRIGGER, "Build Trigger"),
    (oid::RUN_INVOCATION_URI, "Run Invocation URI"),
    (oid::SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING, "Source Repository Visibility At Signing"),
    (oid::DEPLOYMENT_ENVIRONMENT, "Deployment Environment"),
    (oid::TOKEN_SUBJECT, "Token Subject"),
];

/// RFC 6962 embedded SCT list.
const SCT_LIST_OID: &str = "1.3.6.1.4.1.11129.2.4.2";
const SAN_OID: &str = "2.5.29.17";

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Body {
    kind: String,
    api_version: String,
    spec: Spec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    // hashedrekord, rekord
    signature: Option<SignatureSpec>,
    data: Option<DataSpec>,
    // dsse
    signatures: Vec<DsseSignature>,
    payload_hash: Option<HashSpec>,
    // intoto
    content: Option<IntotoContent>,
}
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SignatureSpec {
    content: Option<String>,
    public_key: Option<Content>,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct Content {
    content: String,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct DataSpec {
    hash: Option<HashSpec>,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct HashSpec {
    algorithm: String,
    value: String,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct DsseSignature {
    signature: String,
    verifier: String,
}
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct IntotoContent {
    envelope: Option<IntotoEnvelope>,
    payload_hash: Option<HashSpec>,
    // intoto 0.0.1: the key beside the content
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct IntotoEnvelope {
    signatures: Vec<IntotoSignature>,
}
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct IntotoSignature {
    sig: String,
    public_key: String,
}

/// Decodes a canonical body. A body of a kind not understood here still
/// yields its kind and version.
pub fn entry_view(body: &[u8]) -> EntryView {
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return EntryView { kind: "(not JSON)".into(), ..Default::default() };
    };
    let mut view = EntryView { kind: b.kind, api_version: b.api_version, ..Default::default() };
    let mut verifiers: Vec<String> = Vec::new();
    let digest = |h: &HashSpec| format!("{}:{}", h.algorithm, h.value);
    if let Some(s) = &b.spec.signature {
        view.signatures.extend(s.content.clone());
        verifiers.extend(s.public_key.as_ref().map(|k| k.content.clone()));
    }
    if let Some(h) = b.spec.data.as_ref().and_then(|d| d.hash.as_ref()) {
        view.digest = Some(digest(h));
    }
    for s in &b.spec.signatures {
        view.signatures.push(s.signature.clone());
        verifiers.push(s.verifier.clone());
    }
    if let Some(h) = &b.spec.payload_hash {
        view.digest = Some(digest(h));
    }
    if let Some(c) = &b.spec.content {
        for s in c.envelope.iter().flat_map(|e| &e.signatures) {
            view.signatures.push(s.sig.clone());
            verifiers.push(s.public_key.clone());
        }
        if let Some(h) = &c.payload_hash {
            view.digest = Some(digest(h));
        }
    }
    for v in verifiers {
        let Ok(pem) = STANDARD.decode(v.as_bytes()) else { continue };
        let certs = sigstead_crypto::pem_certificates(&pem);
        if certs.is_empty() {
            view.public_keys.push(String::from_utf8_lossy(&pem).into_owned());
        }
        view.certificates.extend(certs.iter().filter_map(|der| cert_view(der).ok()));
    }
    view
}

/// Decodes one DER certificate.
pub fn cert_view(der: &[u8]) -> Result<CertView, String> {
    let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
    let tbs = &cert.tbs_certificate;
    let spki = tbs.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    let key_type = match sigstead_crypto::PublicKey::from_spki_der(&spki) {
        Ok(k) => match k.algorithm() {
            "ecdsa-p256" => "ECDSA P-256".to_string(),
            "ecdsa-p384" => "ECDSA P-384".to_string(),
            "ed25519" => "Ed25519".to_string(),
            "rsa" => "RSA".to_string(),
            other => other.to_string(),
        },
        Err(_) => tbs.subject_public_key_info.algorithm.oid.to_string(),
    };
    let mut view = CertView {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex::encode(tbs.serial_number.as_bytes()),
        not_before: rfc3339(tbs.validity.not_before.to_unix_duration()),
        not_after: rfc3339(tbs.validity.not_after.to_unix_duration()),
        key_type,
        oidc_issuer: sigstead_crypto::certificate_oidc_issuer(der),
        pem: sigstead_crypto::pem_encode("CERTIFICATE", der),
        ..Default::default()
    };
    for ext in tbs.extensions.iter().flatten() {
        let dotted = ext.extn_id.to_string();
        let value = ext.extn_value.as_bytes();
        if dotted == SAN_OID {
            if let Ok(san) = SubjectAltName::from_der(value) {
                view.sans.extend(san.0.iter().map(general_name));
            }
        } else if dotted == SCT_LIST_OID {
            // extnValue holds the DER OCTET STRING of the TLS-encoded list.
            if let Ok(scts) = sigstead_ct::parse_sct_list_extension(value) {
                view.scts.extend(
                    scts.iter().map(|s| SctView { log_id: STANDARD.encode(s.log_id), timestamp_ms: s.timestamp_ms }),
                );
            }
        } else if let Some((_, name)) = FULCIO_NAMES.iter().find(|(o, _)| *o == dotted) {
            view.fulcio_extensions.push((dotted.clone(), name, extension_text(&dotted, value)));
        }
    }
    view.fulcio_extensions.sort_by_key(|(o, _, _)| oid::arc(o));
    Ok(view)
}

/// Extensions 1.1–1.6 hold the raw UTF-8 bytes; 1.8 onwards a DER UTF8String.
fn extension_text(dotted: &str, value: &[u8]) -> String {
    if oid::arc(dotted) <= 6 {
        return String::from_utf8_lossy(value).into_owned();
    }
    match der::asn1::Utf8StringRef::from_der(value) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("(not a UTF8String: {})", hex::encode(value)),
    }
}

fn general_name(n: &GeneralName) -> San {
    match n {
        GeneralName::Rfc822Name(s) => San { kind: "email", value: s.to_string() },
        GeneralName::UniformResourceIdentifier(s) => San { kind: "uri", value: s.to_string() },
        GeneralName::DnsName(s) => San { kind: "dns", value: s.to_string() },
        GeneralName::OtherName(o) if o.type_id.to_string() == oid::OTHERNAME_USERNAME => {
            let value = o
                .value
                .decode_as::<der::asn1::Utf8StringRef<'_>>()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| "(undecodable)".into());
            San { kind: "username", value }
        }
        other => San { kind: "other", value: format!("{other:?}") },
    }
}

/// RFC 3339 of a Unix time.
pub fn rfc3339(d: std::time::Duration) -> String {
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    unix_rfc3339(secs)
}

/// RFC 3339 of Unix seconds (`?` when out of range).
pub fn unix_rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> std::path::PathBuf {
        std::env::var_os("SIGSTEAD_VECTORS")
            .map(Into::into)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"))
    }

    fn bundle_cert(name: &str) -> Vec<u8> {
        let path = vectors().join("bundles/sigstore-go").join(name);
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let raw = v
            .pointer("/verificationMaterial/certificate/rawBytes")
            .or_else(|| v.pointer("/verificationMaterial/x509CertificateChain/certificates/0/rawBytes"))
            .and_then(|r| r.as_str())
            .unwrap();
        STANDARD.decode(raw).unwrap()
    }

    /// A GitHub Actions certificate upstream Fulcio issued: every field the
    /// entry page shows, decoded as upstream put it there.
    #[test]
    fn decodes_an_upstream_github_workflow_certificate() {
        let c = cert_view(&bundle_cert("bundle-provenance.json")).unwrap();
        assert_eq!(c.issuer, "CN=sigstore-intermediate,O=sigstore.dev");
        assert_eq!(c.sans[0].kind, "uri");
        assert_eq!(
            c.sans[0].value,
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
        );
        assert_eq!(c.oidc_issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
        let names: Vec<&str> = c.fulcio_extensions.iter().map(|(_, n, _)| *n).collect();
        for want in [
            "Issuer",
            "Build Signer URI",
            "Runner Environment",
            "Source Repository URI",
            "Source Repository Ref",
            "Build Trigger",
            "Run Invocation URI",
            "GitHub Workflow Repository (deprecated)",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let get = |n: &str| c.fulcio_extensions.iter().find(|(_, name, _)| *name == n).map(|(_, _, v)| v.as_str());
        assert_eq!(get("Source Repository URI"), Some("https://github.com/sigstore/sigstore-js"));
        assert_eq!(get("GitHub Workflow Repository (deprecated)"), Some("sigstore/sigstore-js"));
        assert_eq!(get("Runner Environment"), Some("github-hosted"));
        // OID order, as the Fulcio document lists them.
        let arcs: Vec<u32> = c.fulcio_extensions.iter().map(|(o, _, _)| oid::arc(o)).collect();
        assert!(arcs.windows(2).all(|w| w[0] < w[1]), "{arcs:?}");
        assert_eq!(c.scts.len(), 1);
        assert_eq!(c.key_type, "ECDSA P-256");
        assert!(c.not_before < c.not_after);
    }

    #[test]
    fn decodes_an_othername_username_and_an_email() {
        let c = cert_view(&bundle_cert("othername.sigstore.json")).unwrap();
        assert_eq!(c.sans, vec![San { kind: "username", value: "foo!oidc.local".into() }]);
        let c = cert_view(&bundle_cert("dsse.sigstore.json")).unwrap();
        assert_eq!(c.sans, vec![San { kind: "email", value: "brian@dehamer.com".into() }]);
        assert_eq!(c.oidc_issuer.as_deref(), Some("https://github.com/login/oauth"));
        assert!(cert_view(b"not a certificate").is_err());
    }

    #[test]
    fn decodes_a_hashedrekord_body_and_tolerates_garbage() {
        let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"ab"}},"signature":{"content":"c2ln","publicKey":{"content":"LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KLS0tLS1FTkQgUFVCTElDIEtFWS0tLS0tCg=="}}}}"#;
        let v = entry_view(body);
        assert_eq!((v.kind.as_str(), v.api_version.as_str()), ("hashedrekord", "0.0.1"));
        assert_eq!(v.digest.as_deref(), Some("sha256:ab"));
        assert_eq!(v.signatures, vec!["c2ln".to_string()]);
        assert_eq!(v.public_keys.len(), 1);
        assert!(v.certificates.is_empty());
        assert_eq!(entry_view(b"\xff").kind, "(not JSON)");
        assert_eq!(entry_view(br#"{"kind":"x","spec":5}"#).kind, "(not JSON)");
    }
}
