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

/// Sigstore certificate-extension OIDs (`1.3.6.1.4.1.57264.1.*`), from the profile crate.
pub use sigstead_profile::oid;
