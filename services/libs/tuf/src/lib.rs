//! TUF 1.0 metadata as Sigstore clients consume it, without I/O.
//!
//! * [`canonical`]: OLPC canonical JSON (what TUF signs; *not* RFC 8785).
//! * [`keys`]: TUF public keys (`ed25519` hex, `ecdsa` / `ecdsa-sha2-nistp256`
//!   PEM), key IDs computed the standard way (SHA-256 of the key's canonical
//!   JSON), signing through [`sigstead_crypto::Signer`] so that file, PKCS#11
//!   and KMS keys are interchangeable.
//! * [`metadata`]: the four top-level roles and the signed envelope.
//! * [`client`]: the client workflow of the TUF specification (§5.3–5.7) as
//!   a state machine over bytes: root rotation, timestamp, snapshot and
//!   targets with every rollback, freeze, mix-and-match and threshold check,
//!   and target length/hash checks. `sigstead mirror` drives it over HTTP.
//!
//! # Why our own and not `tough` or `tuf`
//! `rust-tuf` is a beta of the hyper 0.14 era. `tough` (awslabs, maintained)
//! is a good *client*, and our end-to-end tests run it against our
//! repository; but its editor signs through its own key sources and writes a
//! whole repository at once, while Sigstead needs (a) metadata signed by keys
//! behind our `Signer` trait (HSMs), (b) an offline flow in which an unsigned
//! role is exported, signed on another host and imported with the signatures
//! counted against thresholds, (c) the server re-signing only the online
//! roles, and (d) a pure core that tests can attack byte by byte without async
//! or I/O. Those are small on top of `olpc-cjson` (also from the tough
//! project) and our crypto crate; the client checks follow the specification
//! step by step and are cross-checked against python-tuf and tough in CI.

pub mod canonical;
pub mod client;
pub mod fixtures;
pub mod keys;
pub mod layout;
pub mod metadata;
pub mod repo;

pub use client::{ClientError, TrustedSet};
pub use keys::{KeyId, TufKey};
pub use metadata::{
    Envelope, Expiry, MetaFile, Role, RoleKeys, Root, Signature, Snapshot, TargetFile, Targets, Timestamp,
};

/// Errors from building, signing or parsing metadata.
#[derive(Debug, thiserror::Error)]
pub enum TufError {
    #[error("malformed metadata: {0}")]
    Malformed(String),
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("{0}")]
    Invalid(String),
}

/// Hex SHA-256, the only hash Sigstead lists for targets (go-tuf uses the
/// first listed hash, python-tuf the first, so one hash avoids ambiguity).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
