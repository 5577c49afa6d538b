//! Test keys (generated with aws-lc-rs), their JWKs, and token minting.
#![allow(dead_code)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use serde_json::{json, Value};
use sigstead_oidc::{Issuer, IssuerSet, Jwks, OidcConfig};
use std::sync::LazyLock;

/// A fixed "now" for every test (2026-06-13, around the beacon token's iat).
pub const NOW: u64 = 1_781_377_300;
pub const LEEWAY: u64 = 60;
pub const ISS: &str = "https://accounts.example.com";

pub enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, usize),
    Ed(Ed25519KeyPair),
}

pub struct TestKey {
    pub kid: String,
    pub signer: Signer,
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        TestKey { kid: kid.into(), signer: Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()) }
    }
    pub fn ec256(kid: &str) -> Self {
        let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        TestKey { kid: kid.into(), signer: Signer::Ec(kp, 32) }
    }
    pub fn ec384(kid: &str) -> Self {
        let kp = EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        TestKey { kid: kid.into(), signer: Signer::Ec(kp, 48) }
    }
    pub fn ed25519(kid: &str) -> Self {
        TestKey { kid: kid.into(), signer: Signer::Ed(Ed25519KeyPair::generate().unwrap()) }
    }

    /// The public JWK, as an IdP would publish it.
    pub fn jwk(&self) -> Value {
        match &self.signer {
            Signer::Rsa(kp) => {
                let pk = kp.public_key();
                json!({
                    "kty": "RSA", "use": "sig", "kid": self.kid,
                    "n": b64(pk.modulus().big_endian_without_leading_zero()),
                    "e": b64(pk.exponent().big_endian_without_leading_zero()),
                })
            }
            Signer::Ec(kp, len) => {
                let point = kp.public_key().as_ref();
                let crv = if *len == 32 { "P-256" } else { "P-384" };
                json!({
                    "kty": "EC", "crv": crv, "kid": self.kid,
                    "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..]),
                })
            }
            Signer::Ed(kp) => {
                json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "x": b64(kp.public_key().as_ref())})
            }
        }
    }

    /// The RSA public key's PKCS#1 DER bytes (what a naive HS256 verifier
    /// would use as the HMAC secret).
    pub fn rsa_public_der(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Rsa(kp) => kp.public_key().as_ref().to_vec(),
            _ => panic!("not RSA"),
        }
    }

    /// Signs with this key. `alg` picks the hash for RSA; EC/Ed keys have one.
    pub fn sign(&self, alg: &str, msg: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Rsa(kp) => {
                let enc: &'static dyn signature::RsaEncoding = match alg {
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(enc, &SystemRandom::new(), msg, &mut sig).unwrap();
                sig
            }
            Signer::Ec(kp, _) => kp.sign(&SystemRandom::new(), msg).unwrap().as_ref().to_vec(),
            Signer::Ed(kp) => kp.sign(msg).as_ref().to_vec(),
        }
    }

    pub fn default_alg(&self) -> &'static str {
        match &self.signer {
            Signer::Rsa(_) => "RS256",
            Signer::Ec(_, 32) => "ES256",
            Signer::Ec(..) => "ES384",
            Signer::Ed(_) => "EdDSA",
        }
    }
}

pub static RSA: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-1"));
pub static EC256: LazyLock<TestKey> = LazyLock::new(|| TestKey::ec256("ec256-1"));
pub static EC384: LazyLock<TestKey> = LazyLock::new(|| TestKey::ec384("ec384-1"));
pub static ED: LazyLock<TestKey> = LazyLock::new(|| TestKey::ed25519("ed-1"));

pub fn jwks_json(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
}

pub fn jwks(keys: &[&TestKey]) -> Jwks {
    Jwks::from_json(jwks_json(keys).as_bytes()).unwrap()
}

/// The JWKS containing every standard test key.
pub fn all_jwks() -> Jwks {
    jwks(&[&RSA, &EC256, &EC384, &ED])
}

/// `header.payload.signature` with explicit header and raw signature bytes.
pub fn assemble(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// A correctly signed token with header `{alg, kid, typ}`.
pub fn mint_alg(key: &TestKey, alg: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "kid": key.kid, "typ": "JWT"});
    assemble(&header, claims, |m| key.sign(alg, m))
}

pub fn mint(key: &TestKey, claims: &Value) -> String {
    mint_alg(key, key.default_alg(), claims)
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
