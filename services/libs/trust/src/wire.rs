//! The trust documents as typed structs, in the JSON form of Sigstore's
//! protobuf-specs (`dev.sigstore.trustroot.v1`: `TrustedRoot`,
//! `SigningConfig` v0.2, `ClientTrustConfig`), field names and enum strings
//! as the specification spells them.
//!
//! Why our own structs rather than `sigstore_protobuf_specs`: that crate
//! brings prost-generated types, a build-time protobuf toolchain and a
//! second serde layer for three small documents; these structs are checked
//! instead by parsing the public-good instance's own `trusted_root.json`
//! and `signing_config.v0.2.json` (`../shared/vectors/public-good`) and
//! writing them back unchanged (tests), and by every real client of the
//! end-to-end suites reading what Sigstead writes. Unknown fields are kept
//! out of the types but tolerated when reading, as protobuf JSON readers do.

use serde::{Deserialize, Serialize};

pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// The media type of a ClientTrustConfig (sigstore-python `--trust-config`).
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// `TimeRange`: RFC 3339 instants; an absent `end` is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl TimeRange {
    pub fn from(start: &str) -> Self {
        Self { start: start.to_string(), end: None }
    }
}

/// `PublicKey`: DER SubjectPublicKeyInfo (base64), its `PublicKeyDetails` name, validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub raw_bytes: String,
    pub key_details: String,
    pub valid_for: TimeRange,
}

/// `LogId`: the SHA-256 of the log's DER public key (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

/// `TransparencyLogInstance`: a Rekor log or a CT log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogInstance {
    pub base_url: String,
    pub hash_algorithm: String,
    pub public_key: PublicKey,
    pub log_id: LogId,
    /// Rekor v2 logs: the key ID used in checkpoint signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_key_id: Option<LogId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// `DistinguishedName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistinguishedName {
    pub organization: String,
    pub common_name: String,
}

/// `X509Certificate`: DER (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Certificate {
    pub raw_bytes: String,
}

/// `X509CertificateChain`: leaf-most first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509CertificateChain {
    pub certificates: Vec<X509Certificate>,
}

/// `CertificateAuthority`: a Fulcio CA, or a timestamp authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAuthority {
    pub subject: DistinguishedName,
    pub uri: String,
    pub cert_chain: X509CertificateChain,
    pub valid_for: TimeRange,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// `TrustedRoot` (`trusted_root.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRoot {
    pub media_type: String,
    #[serde(default)]
    pub tlogs: Vec<TransparencyLogInstance>,
    #[serde(default)]
    pub certificate_authorities: Vec<CertificateAuthority>,
    #[serde(default)]
    pub ctlogs: Vec<TransparencyLogInstance>,
    #[serde(default)]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// `Service`: one endpoint of the signing config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub url: String,
    pub major_api_version: u32,
    pub valid_for: TimeRange,
    pub operator: String,
}

/// `ServiceConfiguration`: how many of the listed services a client uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConfiguration {
    /// `ALL`, `ANY` or `EXACT`.
    pub selector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// `SigningConfig` v0.2 (`signing_config.v0.2.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningConfig {
    pub media_type: String,
    #[serde(default)]
    pub ca_urls: Vec<Service>,
    #[serde(default)]
    pub oidc_urls: Vec<Service>,
    #[serde(default)]
    pub rekor_tlog_urls: Vec<Service>,
    #[serde(default)]
    pub tsa_urls: Vec<Service>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekor_tlog_config: Option<ServiceConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_config: Option<ServiceConfiguration>,
}

/// `ClientTrustConfig`: both documents in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTrustConfig {
    pub media_type: String,
    pub trusted_root: TrustedRoot,
    pub signing_config: SigningConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(name: &str) -> Option<String> {
        let dir = std::env::var("SIGSTEAD_VECTORS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/vectors").to_string());
        std::fs::read_to_string(format!("{dir}/public-good/targets/{name}")).ok()
    }

    /// The public-good instance's own documents parse into these types and
    /// come back out with the same JSON (no field lost, none invented).
    #[test]
    fn public_good_documents_round_trip() {
        let root = vector("trusted_root.json").expect("../shared/vectors/public-good/targets/trusted_root.json");
        let parsed: TrustedRoot = serde_json::from_str(&root).unwrap();
        assert_eq!(parsed.media_type, TRUSTED_ROOT_MEDIA_TYPE);
        assert!(!parsed.timestamp_authorities.is_empty() && !parsed.ctlogs.is_empty());
        let original: serde_json::Value = serde_json::from_str(&root).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), original);
        for name in ["signing_config.v0.2.json", "signing_config_rekor_v2.v0.2.json"] {
            let text = vector(name).unwrap_or_else(|| panic!("{name}"));
            let parsed: SigningConfig = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed.media_type, SIGNING_CONFIG_MEDIA_TYPE);
            let original: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), original, "{name}");
        }
    }
}
