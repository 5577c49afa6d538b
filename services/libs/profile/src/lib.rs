//! The certificate profile of a Sigstore code-signing leaf, in one
//! vocabulary: the one SubjectAlternativeName, the Fulcio OID extensions
//! (`1.3.6.1.4.1.57264.1.*`, named as the Fulcio OID document names them)
//! and how each value is encoded. The OIDC crate produces these from a
//! verified token; the CA crate encodes them into the certificate. Pure, no
//! I/O; DER through the `der` crate.

/// Sigstore certificate-extension OIDs (`1.3.6.1.4.1.57264.1.*`).
pub mod oid {
    /// The arcs of a dotted OID (`"1.3.6.1.4.1.57264.1.8"` → `[1, 3, 6, …, 8]`),
    /// or `None` if it is not one.
    pub fn arcs(dotted: &str) -> Option<Vec<u64>> {
        let arcs: Option<Vec<u64>> = dotted.split('.').map(|a| a.parse().ok()).collect();
        arcs.filter(|a| a.len() >= 2)
    }

    /// 1.1 Issuer (deprecated, raw). sigstore-python reads this one.
    pub const ISSUER: &str = "1.3.6.1.4.1.57264.1.1";
    /// 1.2 GitHub Workflow Trigger (deprecated, raw).
    pub const GITHUB_WORKFLOW_TRIGGER: &str = "1.3.6.1.4.1.57264.1.2";
    /// 1.3 GitHub Workflow SHA (deprecated, raw).
    pub const GITHUB_WORKFLOW_SHA: &str = "1.3.6.1.4.1.57264.1.3";
    /// 1.4 GitHub Workflow Name (deprecated, raw).
    pub const GITHUB_WORKFLOW_NAME: &str = "1.3.6.1.4.1.57264.1.4";
    /// 1.5 GitHub Workflow Repository (deprecated, raw).
    pub const GITHUB_WORKFLOW_REPOSITORY: &str = "1.3.6.1.4.1.57264.1.5";
    /// 1.6 GitHub Workflow Ref (deprecated, raw).
    pub const GITHUB_WORKFLOW_REF: &str = "1.3.6.1.4.1.57264.1.6";
    /// 1.7 OtherName SAN type-id for `username` identities (not an extension).
    pub const OTHERNAME_USERNAME: &str = "1.3.6.1.4.1.57264.1.7";
    /// 1.8 Issuer (V2, UTF8String).
    pub const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
    /// 1.9 Build Signer URI.
    pub const BUILD_SIGNER_URI: &str = "1.3.6.1.4.1.57264.1.9";
    /// 1.10 Build Signer Digest.
    pub const BUILD_SIGNER_DIGEST: &str = "1.3.6.1.4.1.57264.1.10";
    /// 1.11 Runner Environment.
    pub const RUNNER_ENVIRONMENT: &str = "1.3.6.1.4.1.57264.1.11";
    /// 1.12 Source Repository URI.
    pub const SOURCE_REPOSITORY_URI: &str = "1.3.6.1.4.1.57264.1.12";
    /// 1.13 Source Repository Digest.
    pub const SOURCE_REPOSITORY_DIGEST: &str = "1.3.6.1.4.1.57264.1.13";
    /// 1.14 Source Repository Ref.
    pub const SOURCE_REPOSITORY_REF: &str = "1.3.6.1.4.1.57264.1.14";
    /// 1.15 Source Repository Identifier.
    pub const SOURCE_REPOSITORY_IDENTIFIER: &str = "1.3.6.1.4.1.57264.1.15";
    /// 1.16 Source Repository Owner URI.
    pub const SOURCE_REPOSITORY_OWNER_URI: &str = "1.3.6.1.4.1.57264.1.16";
    /// 1.17 Source Repository Owner Identifier.
    pub const SOURCE_REPOSITORY_OWNER_IDENTIFIER: &str = "1.3.6.1.4.1.57264.1.17";
    /// 1.18 Build Config URI.
    pub const BUILD_CONFIG_URI: &str = "1.3.6.1.4.1.57264.1.18";
    /// 1.19 Build Config Digest.
    pub const BUILD_CONFIG_DIGEST: &str = "1.3.6.1.4.1.57264.1.19";
    /// 1.20 Build Trigger.
    pub const BUILD_TRIGGER: &str = "1.3.6.1.4.1.57264.1.20";
    /// 1.21 Run Invocation URI.
    pub const RUN_INVOCATION_URI: &str = "1.3.6.1.4.1.57264.1.21";
    /// 1.22 Source Repository Visibility At Signing.
    pub const SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING: &str = "1.3.6.1.4.1.57264.1.22";
    /// 1.23 Deployment Environment.
    pub const DEPLOYMENT_ENVIRONMENT: &str = "1.3.6.1.4.1.57264.1.23";
    /// 1.24 Token Subject (raw `sub`).
    pub const TOKEN_SUBJECT: &str = "1.3.6.1.4.1.57264.1.24";

    /// The last arc of a `1.3.6.1.4.1.57264.1.N` OID (for ordering).
    pub fn arc(oid: &str) -> u32 {
        oid.rsplit('.').next().and_then(|n| n.parse().ok()).unwrap_or(u32::MAX)
    }
}

/// How an extension's value is placed in the certificate's `extnValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionEncoding {
    /// The UTF-8 bytes themselves, no DER tag (OIDs 1.1–1.6).
    Raw,
    /// A DER `UTF8String` (tag 0x0C) (OIDs 1.8–1.24).
    Utf8String,
}

/// One non-critical Sigstore extension for the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertExtension {
    /// Dotted OID, one of the constants in [`crate::oid`].
    pub oid: &'static str,
    /// The value (never empty: empty values are omitted, as upstream does).
    pub value: String,
    /// How `value` is encoded into `extnValue`.
    pub encoding: ExtensionEncoding,
}

impl CertExtension {
    /// The `extnValue` OCTET STRING contents: the raw bytes, or the DER
    /// `UTF8String` encoding of the value.
    pub fn der_value(&self) -> Vec<u8> {
        match self.encoding {
            ExtensionEncoding::Raw => self.value.as_bytes().to_vec(),
            ExtensionEncoding::Utf8String => {
                use der::Encode;
                // Values come from ID tokens, which are at most 16 KiB
                // (sigstead_oidc::MAX_TOKEN_BYTES): far inside DER's length range.
                der::asn1::Utf8StringRef::new(&self.value)
                    .and_then(|s| s.to_der())
                    .expect("an extension value from a token is within DER's length limits")
            }
        }
    }

    /// The OID as arcs (for certificate builders that take them so).
    pub fn oid_arcs(&self) -> Vec<u64> {
        oid::arcs(self.oid).expect("extension OIDs are the constants of `oid`")
    }
}

/// The one SubjectAlternativeName entry of the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectAltName {
    /// `rfc822Name` (email issuers).
    Email(String),
    /// `uniformResourceIdentifier` (every CI type, kubernetes, spiffe, uri).
    Uri(String),
    /// `otherName` with type-id [`crate::oid::OTHERNAME_USERNAME`] and value
    /// `[0] EXPLICIT UTF8String "<sub>!<subject_domain>"` (username issuers).
    /// The SAN extension must then be marked critical.
    OtherNameUsername(String),
}

impl SubjectAltName {
    /// The SAN's string value, whatever its kind.
    pub fn value(&self) -> &str {
        match self {
            Self::Email(v) | Self::Uri(v) | Self::OtherNameUsername(v) => v,
        }
    }
}
