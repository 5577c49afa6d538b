//! RFC 3161 time-stamping for Sigstead's timestamp authority, without I/O.
//!
//! * [`request`]: a `TimeStampReq` (DER, as cosign, sigstore-python,
//!   sigstore-rust, sigstore-go and `openssl ts` send it) or sigstore-js's
//!   JSON form, parsed into a [`TimestampRequest`]; a query the TSA declines
//!   becomes a [`Rejection`] carrying the RFC 3161 §2.4.2 `failInfo`.
//! * [`authority`]: a [`TimestampAuthority`] (its key behind the workspace
//!   [`sigstead_crypto::Signer`], its certificate chain, policy and accuracy)
//!   that turns a request into a DER `TimeStampResp` holding a
//!   `TimeStampToken`: CMS SignedData over a `TSTInfo`, with the ESS
//!   `signingCertificateV2` attribute and DER-sorted signed attributes.
//! * [`verify`]: checks a `TimeStampResp` against an expected message imprint
//!   and a trusted chain, as a verifier does (the TSA's own tests, and the
//!   offline verification kit).
//!
//! The ASN.1 is typed throughout: `x509-tsp` for the TSP structures, `cms`
//! for SignedData, `x509-cert` for certificates, `der` for encoding. Three
//! small structures are declared here because no maintained crate has them
//! right: `PKIStatusInfo` (the `cmpv2` crate's `failInfo` flags are bit
//! positions written as masks, so `badAlg` would encode as no bit at all),
//! `TimeStampResp` (which embeds it), and the ESS `SigningCertificateV2`
//! of RFC 5035 (in no RustCrypto crate).

pub mod asn1;
pub mod authority;
pub mod request;
pub mod verify;

pub use authority::{
    check_timestamping_eku, rejection_response, AuthorityError, IssueError, TimestampAuthority, TsaSettings,
};
pub use request::{encode_query, nonce_from_u64, FailureInfo, Rejection, RequestError, TimestampRequest};
pub use verify::{verify_response, ExpectedImprint, VerifiedTimestamp, VerifyError};

use der::asn1::ObjectIdentifier;
use sigstead_crypto::HashAlgorithm;

/// Object identifiers, named as the RFCs name them.
pub mod oid {
    use der::asn1::ObjectIdentifier as Oid;
    /// `id-signedData` (RFC 5652).
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// `id-ct-TSTInfo` (RFC 3161).
    pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
    /// `id-contentType` signed attribute.
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    /// `id-messageDigest` signed attribute.
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    /// `id-aa-signingCertificateV2` (RFC 5035).
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    /// `id-kp-timeStamping`.
    pub const KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
    /// `id-ce-extKeyUsage`.
    pub const EXTENDED_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    /// The Sigstore TSA policy, upstream timestamp-authority's default.
    pub const SIGSTORE_TSA_POLICY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.2");
}

/// The OID of a message-imprint / digest algorithm.
pub fn hash_oid(alg: HashAlgorithm) -> ObjectIdentifier {
    match alg {
        HashAlgorithm::Sha256 => oid::SHA256,
        HashAlgorithm::Sha384 => oid::SHA384,
        HashAlgorithm::Sha512 => oid::SHA512,
    }
}

/// The hash algorithm an OID names, if it is one a TSA may accept.
pub fn hash_from_oid(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
    [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512].into_iter().find(|a| hash_oid(*a) == *oid)
}

/// Parses a hash algorithm name as configurations and sigstore-js's JSON write it (`sha256`, `SHA-256`).
pub fn hash_from_name(name: &str) -> Option<HashAlgorithm> {
    match name.to_ascii_lowercase().replace('-', "").as_str() {
        "sha256" => Some(HashAlgorithm::Sha256),
        "sha384" => Some(HashAlgorithm::Sha384),
        "sha512" => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}
