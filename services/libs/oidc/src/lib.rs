//! OIDC ID-token verification and certificate-identity derivation for a
//! Fulcio-compatible CA. Pure: no I/O, no async, no clock (`now` is an
//! argument), so every decision can be tested with minted tokens.
//!
//! Flow for one `signingCert` request:
//!
//! 1. [`peek_issuer`] reads the unverified `iss`; [`IssuerSet::lookup`] finds
//!    the trusted issuer (exact URL first, then wildcard patterns) or refuses.
//! 2. The caller fetches (and caches) that concrete issuer's [`Jwks`] via
//!    OIDC discovery. On [`TokenError::UnknownKid`] it may refresh once.
//! 3. [`verify_token`] checks the JWS and the claims and returns a
//!    [`VerifiedToken`] whose [`Identity`] gives the proof-of-possession
//!    principal, the SubjectAlternativeName and the Sigstore extensions.
//!
//! Signatures use `aws-lc-rs`. The JWS parser is ~100 lines of this crate so
//! that the verification algorithm comes from the key (see [`jwks`]), never
//! from the token header.
//!
//! Behaviour follows upstream Fulcio (commit eb10c98e) except where stricter:
//! duplicate JSON members are refused; `iat` is required and may not be in
//! the future; e-mail must be one plain dot-atom addr-spec; URI SANs must be
//! printable ASCII (upstream would percent-encode); claims used in the
//! certificate may not contain control or bidi-override characters; usernames
//! may not contain `@`; Kubernetes names and Buildkite slugs are restricted
//! to `[A-Za-z0-9._-]`; template claims that are objects, arrays or null are
//! refused (upstream prints Go's `%v` of them).

mod ci;
mod claims;
mod config;
mod identity;
mod json;
pub mod jwks;
mod names;
mod profile;
mod template;
mod token;

pub use ci::{builtin_ci_provider, CiProvider, CiProviderConfig, ExtensionTemplates, BUILTIN_CI_PROVIDERS};
pub use config::{ConfigError, Issuer, IssuerConfig, IssuerKind, IssuerSet, IssuerType, OidcConfig, WildcardPattern};
pub use identity::{
    check_proof_of_possession_subjects, derive_identity, CertExtension, ExtensionEncoding, Identity, SubjectAltName,
};
pub use jwks::{Algorithm, Jwk, Jwks, JwksError, KeyKind, SkippedKey};
pub use token::{peek_issuer, verify_token, Claims, VerifiedToken, MAX_TOKEN_BYTES};

/// Why a token was refused. Every variant maps to HTTP 400 ("There was an
/// error processing the identity token") at the API; the detail is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token is {len} bytes, more than {max}")]
    TooLarge {
        /// Token length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a compact JWS, bad base64url, not JSON objects, duplicate JSON
    /// members, or header fields of the wrong type.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// Header `alg` outside RS256/RS384/RS512/ES256/ES384/EdDSA
    /// (`none`, `HS256`, `PS256`, …).
    #[error("algorithm {0:?} is not allowed")]
    DisallowedAlgorithm(String),
    /// The header has `crit`; no JWS extensions are understood.
    #[error("token has critical header parameters")]
    UnsupportedCriticalHeader,
    /// No key with this `kid` (`None`: the token has no `kid` and the JWKS
    /// does not have exactly one key). The JWKS may be stale: refresh and retry.
    #[error("no key for kid {0:?}")]
    UnknownKid(Option<String>),
    /// The named key exists in the JWKS but was skipped (unsupported type,
    /// too small, `use: enc`, …).
    #[error("key {kid:?} is unusable: {reason}")]
    UnusableKey {
        /// Its `kid`.
        kid: Option<String>,
        /// Why it was skipped.
        reason: String,
    },
    /// The header `alg` does not fit the key (e.g. ES256 with an RSA key), or
    /// contradicts the JWK's own `alg`.
    #[error("algorithm {alg} cannot be used with a {key} key")]
    AlgorithmMismatch {
        /// Header `alg`.
        alg: String,
        /// Key type.
        key: &'static str,
    },
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// `iss` is not this issuer (or does not match its pattern).
    #[error("token issuer {actual:?} is not {expected:?}")]
    IssuerMismatch {
        /// Configured URL or pattern.
        expected: String,
        /// The token's `iss`.
        actual: String,
    },
    /// `aud` does not contain the issuer's client ID.
    #[error("audience {actual:?} does not contain {expected:?}")]
    WrongAudience {
        /// The client ID.
        expected: String,
        /// The token's audiences.
        actual: Vec<String>,
    },
    /// `exp` (plus leeway) has passed.
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// `exp`.
        exp: u64,
        /// `now`.
        now: u64,
    },
    /// `nbf` (minus leeway) is still in the future.
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// `nbf`.
        nbf: u64,
        /// `now`.
        now: u64,
    },
    /// `iat` (minus leeway) is in the future.
    #[error("token issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// `iat`.
        iat: u64,
        /// `now`.
        now: u64,
    },
    /// A required claim is absent (or an empty string).
    #[error("missing claim {0}")]
    MissingClaim(String),
    /// A claim has the wrong type, or a value that may not go into a
    /// certificate (control characters, not a single e-mail address, bad URI,
    /// wrong SPIFFE trust domain, …).
    #[error("invalid claim {claim}: {reason}")]
    InvalidClaim {
        /// The claim (or extension/SAN) name.
        claim: String,
        /// What is wrong.
        reason: String,
    },
    /// An email issuer's token without `email_verified: true` (or `"true"`).
    #[error("email_verified is not true")]
    EmailUnverified,
}

impl TokenError {
    /// Whether refreshing the issuer's JWKS and retrying could help.
    pub fn should_refresh_jwks(&self) -> bool {
        matches!(self, TokenError::UnknownKid(_))
    }
}

/// Sigstore certificate-extension OIDs (`1.3.6.1.4.1.57264.1.*`).
pub mod oid {
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
    pub(crate) fn arc(oid: &str) -> u32 {
        oid.rsplit('.').next().and_then(|n| n.parse().ok()).unwrap_or(u32::MAX)
    }
}
