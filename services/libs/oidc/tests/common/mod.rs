//! The OIDC tests' fixed clock, issuers and claims; keys and minting come
//! from the shared test kit (`sigstead_testkit::jwt`).
#![allow(dead_code)]

use serde_json::{json, Value};
use sigstead_oidc::{Issuer, IssuerSet, Jwks, OidcConfig};
#[allow(unused_imports, reason = "each test file uses part of the kit")]
pub use sigstead_testkit::jwt::{assemble, b64, jwks_json, mint, mint_alg, Signer, TestKey};
use std::sync::LazyLock;

/// A fixed "now" for every test (2026-06-13, around the beacon token's iat).
pub const NOW: u64 = 1_781_377_300;
pub const LEEWAY: u64 = 60;
pub const ISS: &str = "https://accounts.example.com";

pub static RSA: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-1"));
pub static EC256: LazyLock<TestKey> = LazyLock::new(|| TestKey::ec256("ec256-1"));
pub static EC384: LazyLock<TestKey> = LazyLock::new(|| TestKey::ec384("ec384-1"));
pub static ED: LazyLock<TestKey> = LazyLock::new(|| TestKey::ed25519("ed-1"));

pub fn jwks(keys: &[&TestKey]) -> Jwks {
    Jwks::from_json(jwks_json(keys).as_bytes()).unwrap()
}

/// The JWKS containing every standard test key.
pub fn all_jwks() -> Jwks {
    jwks(&[&RSA, &EC256, &EC384, &ED])
}

/// Claims for the email issuer at [`ISS`].
pub fn email_claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "248289761001",
        "aud": "sigstore",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 290,
        "email": "alice@example.com",
        "email_verified": true,
    })
}

pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

pub fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

pub fn issuer_set(toml_src: &str) -> IssuerSet {
    let cfg: OidcConfig = toml::from_str(toml_src).unwrap();
    IssuerSet::from_config(&cfg).unwrap()
}

pub static SET: LazyLock<IssuerSet> = LazyLock::new(|| {
    issuer_set(&format!(
        r#"
[[issuers]]
issuer_url = "{ISS}"
type = "email"

[[issuers]]
issuer_url = "https://token.actions.githubusercontent.com"
type = "ci-provider"
ci_provider = "github-workflow"

[[issuers]]
wildcard_issuer_url = "https://oidc.eks.*.amazonaws.com/id/*"
type = "kubernetes"
"#
    ))
});

pub fn email_issuer() -> &'static Issuer {
    SET.lookup(ISS).unwrap()
}
