//! ID tokens for tests: keys of every algorithm an IdP uses (generated
//! with aws-lc-rs), their public JWKs, and minting — correctly signed, or
//! with a header and signature of the test's choosing (attack fixtures).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use serde_json::{json, Value};

/// The private half of a [`TestKey`].
#[allow(missing_debug_implementations, reason = "aws-lc-rs key pairs are not Debug")]
pub enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, usize),
    Ed(Ed25519KeyPair),
}

/// A signing key of a test IdP, with its key ID.
#[allow(missing_debug_implementations, reason = "aws-lc-rs key pairs are not Debug")]
pub struct TestKey {
    pub kid: String,
    pub signer: Signer,
}

/// base64url without padding (JWS).
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// RSA 2048 (RS256/RS384/RS512).
    pub fn rsa(kid: &str) -> Self {
        TestKey { kid: kid.into(), signer: Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()) }
    }
    /// ECDSA P-256 (ES256).
    pub fn ec256(kid: &str) -> Self {
        let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        TestKey { kid: kid.into(), signer: Signer::Ec(kp, 32) }
    }
    /// ECDSA P-384 (ES384).
    pub fn ec384(kid: &str) -> Self {
        let kp = EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        TestKey { kid: kid.into(), signer: Signer::Ec(kp, 48) }
    }
    /// Ed25519 (EdDSA).
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

    /// The raw public key bytes (RSA: PKCS#1 DER; EC: the uncompressed
    /// point; Ed25519: the 32 bytes), e.g. what a naive HS256 verifier would
    /// take as the HMAC secret.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Rsa(kp) => kp.public_key().as_ref().to_vec(),
            Signer::Ec(kp, _) => kp.public_key().as_ref().to_vec(),
            Signer::Ed(kp) => kp.public_key().as_ref().to_vec(),
        }
    }

    /// The JWS `alg` this key signs with by default.
    pub fn default_alg(&self) -> &'static str {
        match &self.signer {
            Signer::Rsa(_) => "RS256",
            Signer::Ec(_, 32) => "ES256",
            Signer::Ec(..) => "ES384",
            Signer::Ed(_) => "EdDSA",
        }
    }
}

/// `{"keys": [...]}` for `keys`, as an IdP serves it.
pub fn jwks_json(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
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

/// A correctly signed token with the key's default algorithm.
pub fn mint(key: &TestKey, claims: &Value) -> String {
    mint_alg(key, key.default_alg(), claims)
}
