//! JSON Web Key Sets (RFC 7517) restricted to signature-verification keys.
//!
//! The verification algorithm is a property of the *key*, fixed when the key
//! set is parsed: an RSA key can only ever run RSASSA-PKCS1-v1_5, a P-256 key
//! only ECDSA P-256/SHA-256, and so on. The token header's `alg` is merely
//! checked for agreement with it, so a header cannot steer an RSA public key
//! into HMAC ("algorithm confusion") or pick a weaker hash for an EC key.

use crate::json;
use crate::TokenError;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::fmt;

/// JWS algorithms this crate verifies. Everything else (`none`, `HS*`,
/// `PS*`, `ES512`, …) is refused before any key is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// ECDSA P-256 with SHA-256, fixed-width `r‖s` signature.
    Es256,
    /// ECDSA P-384 with SHA-384, fixed-width `r‖s` signature.
    Es384,
    /// Ed25519 (`EdDSA` with an `OKP`/`Ed25519` key).
    EdDsa,
}

impl Algorithm {
    /// Parses a JWS `alg` value; `None` for anything outside the allowlist.
    pub fn from_jws_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "EdDSA" => Self::EdDsa,
            _ => return None,
        })
    }

    /// The JWS `alg` name.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// The kind of a usable key, which alone decides the verification algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `kty: RSA`, 2048–8192-bit modulus: RS256, RS384 or RS512.
    Rsa,
    /// `kty: EC`, `crv: P-256`: ES256 only.
    EcP256,
    /// `kty: EC`, `crv: P-384`: ES384 only.
    EcP384,
    /// `kty: OKP`, `crv: Ed25519`: EdDSA only.
    Ed25519,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::EcP256 => "EC P-256",
            Self::EcP384 => "EC P-384",
            Self::Ed25519 => "OKP Ed25519",
        }
    }

    /// Whether a token signed with `alg` may be verified by a key of this kind.
    pub fn permits(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (Self::Rsa, Algorithm::Rs256 | Algorithm::Rs384 | Algorithm::Rs512)
                | (Self::EcP256, Algorithm::Es256)
                | (Self::EcP384, Algorithm::Es384)
                | (Self::Ed25519, Algorithm::EdDsa)
        )
    }
}

#[derive(Clone)]
enum Material {
    /// Big-endian modulus and exponent, leading zeros stripped.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Parsed (point validated) EC or Ed25519 key, bound to its one algorithm.
    Parsed(KeyKind, ParsedPublicKey),
}

/// One usable verification key from a JWKS.
#[derive(Clone)]
pub struct Jwk {
    kid: Option<String>,
    alg: Option<Algorithm>,
    material: Material,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk").field("kid", &self.kid).field("alg", &self.alg).field("kind", &self.kind()).finish()
    }
}

impl Jwk {
    /// The key's `kid`, if the JWKS gave one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's kind (and so its verification algorithm family).
    pub fn kind(&self) -> KeyKind {
        match &self.material {
            Material::Rsa { .. } => KeyKind::Rsa,
            Material::Parsed(kind, _) => *kind,
        }
    }

    /// The JWK's own `alg` member, if present (it then pins the algorithm).
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// Checks that a token header's `alg` agrees with this key.
    pub(crate) fn check_alg(&self, header_alg: Algorithm) -> Result<(), TokenError> {
        let kind = self.kind();
        let pinned_ok = self.alg.is_none_or(|a| a == header_alg);
        if kind.permits(header_alg) && pinned_ok {
            Ok(())
        } else {
            Err(TokenError::AlgorithmMismatch { alg: header_alg.jws_name().into(), key: kind.name() })
        }
    }

    /// Verifies `signature` over `message`. The algorithm must already have
    /// passed [`Jwk::check_alg`]; a disagreement here is still refused.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        self.check_alg(alg)?;
        let ok = match &self.material {
            Material::Rsa { n, e } => {
                let params: &'static RsaParameters = match alg {
                    Algorithm::Rs256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::Rs384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::Rs512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                    _ => return Err(TokenError::AlgorithmMismatch { alg: alg.jws_name().into(), key: "RSA" }),
                };
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.verify(params, message, signature).is_ok()
            }
            Material::Parsed(_, key) => key.verify_sig(message, signature).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

/// A key the JWKS listed but that this crate will not use, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, if any.
    pub kid: Option<String>,
    /// Why it is unusable (unsupported type or curve, `use: enc`, too small, …).
    pub reason: String,
}

/// Errors that make a whole JWKS document unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// Not JSON, not an object, no `keys` array, a key that is not an object,
    /// a non-string `kid`, or duplicate JSON members.
    #[error("malformed JWKS: {0}")]
    Malformed(String),
    /// Two keys share a `kid`; a token naming it would be ambiguous.
    #[error("duplicate kid {0:?} in JWKS")]
    DuplicateKid(String),
    /// A key carries private-key members (`d`, `p`, `q`, `k`, …): the IdP is
    /// publishing secrets, so nothing it signs can be trusted.
    #[error("JWKS key {0:?} contains private key material")]
    PrivateKeyMaterial(Option<String>),
}

/// An OIDC issuer's signing keys, parsed from its `jwks_uri` document.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
    skipped: Vec<SkippedKey>,
}

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

fn b64url(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|e| format!("invalid base64url: {e}"))
}

fn member_b64(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    match obj.get(name) {
        Some(Value::String(s)) => b64url(s).map_err(|e| format!("{name}: {e}")),
        Some(_) => Err(format!("{name} is not a string")),
        None => Err(format!("missing {name}")),
    }
}

fn strip_leading_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    v
}

fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(first) => {
            let top_bits: usize = 8usize.saturating_sub(usize::try_from(first.leading_zeros()).unwrap_or(8));
            (be.len() - 1) * 8 + top_bits
        }
    }
}

impl Jwks {
    /// Parses a JWKS document (`{"keys":[…]}`).
    ///
    /// Keys this crate cannot or must not use (symmetric `oct`, RSA below 2048
    /// bits, unsupported curves, `use` other than `sig`, `key_ops` without
    /// `verify`, an `alg` outside the allowlist or contradicting the key type,
    /// invalid points) are *skipped*, not fatal: a token naming one fails with
    /// [`TokenError::UnusableKey`]. Structural problems, duplicate `kid`s and
    /// published private keys reject the whole document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, JwksError> {
        let doc = json::parse_object(bytes).map_err(JwksError::Malformed)?;
        let keys = match doc.get("keys") {
            Some(Value::Array(keys)) => keys,
            _ => return Err(JwksError::Malformed("missing \"keys\" array".into())),
        };
        let mut out = Jwks::default();
        let mut seen_kids: Vec<String> = Vec::new();
        for key in keys {
            let Value::Object(obj) = key else {
                return Err(JwksError::Malformed("key is not an object".into()));
            };
            let kid = match obj.get("kid") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(JwksError::Malformed("kid is not a string".into())),
            };
            if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
                return Err(JwksError::PrivateKeyMaterial(kid));
            }
            if let Some(k) = &kid {
                if seen_kids.contains(k) {
                    return Err(JwksError::DuplicateKid(k.clone()));
                }
                seen_kids.push(k.clone());
            }
            match parse_key(obj) {
                Ok((material, alg)) => out.keys.push(Jwk { kid, alg, material }),
                Err(reason) => out.skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok(out)
    }

    /// Usable keys, in document order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// Keys that were listed but skipped, with the reason.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no usable keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Picks the key for a token header's `kid`. Without a `kid`, the key is
    /// used only if it is the one and only key in the set.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&Jwk, TokenError> {
        match kid {
            Some(kid) => {
                if let Some(k) = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                    return Ok(k);
                }
                if let Some(s) = self.skipped.iter().find(|s| s.kid.as_deref() == Some(kid)) {
                    return Err(TokenError::UnusableKey { kid: s.kid.clone(), reason: s.reason.clone() });
                }
                Err(TokenError::UnknownKid(Some(kid.to_owned())))
            }
            None => match (self.keys.as_slice(), self.skipped.as_slice()) {
                ([only], []) => Ok(only),
                ([], [only]) => Err(TokenError::UnusableKey { kid: only.kid.clone(), reason: only.reason.clone() }),
                _ => Err(TokenError::UnknownKid(None)),
            },
        }
    }
}

fn parse_key(obj: &Map<String, Value>) -> Result<(Material, Option<Algorithm>), String> {
    let kty = match obj.get("kty") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err("missing or non-string kty".into()),
    };
    match obj.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(other) => return Err(format!("use is {other}, not \"sig\"")),
    }
    match obj.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) if ops.iter().any(|o| o.as_str() == Some("verify")) => {}
        Some(_) => return Err("key_ops does not include \"verify\"".into()),
    }
    let alg = match obj.get("alg") {
        None => None,
        Some(Value::String(a)) => Some(Algorithm::from_jws_name(a).ok_or_else(|| format!("alg {a:?} is not allowed"))?),
        Some(_) => return Err("alg is not a string".into()),
    };
    let crv = obj.get("crv").and_then(Value::as_str);
    let material = match (kty, crv) {
        ("RSA", _) => {
            let n = strip_leading_zeros(member_b64(obj, "n")?);
            let e = strip_leading_zeros(member_b64(obj, "e")?);
            let bits = bit_len(&n);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(format!("RSA modulus of {bits} bits is outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"));
            }
            if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b & 1 == 0) {
                return Err("RSA exponent is not a small odd integer".into());
            }
            Material::Rsa { n, e }
        }
        ("EC", Some(curve @ ("P-256" | "P-384"))) => {
            let (kind, alg, len): (KeyKind, &'static sig::EcdsaVerificationAlgorithm, usize) = if curve == "P-256" {
                (KeyKind::EcP256, &sig::ECDSA_P256_SHA256_FIXED, 32)
            } else {
                (KeyKind::EcP384, &sig::ECDSA_P384_SHA384_FIXED, 48)
            };
            let x = member_b64(obj, "x")?;
            let y = member_b64(obj, "y")?;
            if x.len() != len || y.len() != len {
                return Err(format!("{curve} coordinates must be {len} bytes"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let key = ParsedPublicKey::new(alg, &point).map_err(|_| format!("invalid {curve} point"))?;
            Material::Parsed(kind, key)
        }
        ("OKP", Some("Ed25519")) => {
            let x = member_b64(obj, "x")?;
            if x.len() != 32 {
                return Err("Ed25519 key must be 32 bytes".into());
            }
            let key = ParsedPublicKey::new(&sig::ED25519, &x).map_err(|_| "invalid Ed25519 key".to_string())?;
            Material::Parsed(KeyKind::Ed25519, key)
        }
        ("EC" | "OKP", crv) => return Err(format!("unsupported {kty} curve {crv:?}")),
        (other, _) => return Err(format!("unsupported kty {other:?}")),
    };
    let kind = match &material {
        Material::Rsa { .. } => KeyKind::Rsa,
        Material::Parsed(kind, _) => *kind,
    };
    if let Some(a) = alg {
        if !kind.permits(a) {
            return Err(format!("alg {a} contradicts key type {}", kind.name()));
        }
    }
    Ok((material, alg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[0x7f, 0]), 15);
    }

    #[test]
    fn algorithm_names_round_trip_and_allowlist() {
        for a in
            [Algorithm::Rs256, Algorithm::Rs384, Algorithm::Rs512, Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa]
        {
            assert_eq!(Algorithm::from_jws_name(a.jws_name()), Some(a));
        }
        for bad in ["none", "None", "NONE", "HS256", "HS384", "HS512", "PS256", "ES512", "rs256", "", "Ed25519"] {
            assert_eq!(Algorithm::from_jws_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn skipped_and_fatal_keys() {
        let doc = br#"{"keys":[
            {"kty":"oct","kid":"sym","k":"c2VjcmV0"}
        ]}"#;
        assert_eq!(Jwks::from_json(doc).unwrap_err(), JwksError::PrivateKeyMaterial(Some("sym".into())));

        let doc = br#"{"keys":[
            {"kty":"RSA","kid":"small","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"p521","crv":"P-521","x":"AA","y":"AA"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}
        ]}"#;
        let jwks = Jwks::from_json(doc).unwrap();
        assert!(jwks.is_empty());
        assert_eq!(jwks.skipped().len(), 3);
        assert!(matches!(jwks.select(Some("small")), Err(TokenError::UnusableKey { .. })));
        assert!(matches!(jwks.select(Some("nope")), Err(TokenError::UnknownKid(Some(_)))));
        assert!(matches!(jwks.select(None), Err(TokenError::UnknownKid(None))));

        assert_eq!(
            Jwks::from_json(br#"{"keys":[{"kty":"x","kid":"a"},{"kty":"y","kid":"a"}]}"#).unwrap_err(),
            JwksError::DuplicateKid("a".into())
        );
        assert!(matches!(Jwks::from_json(br#"{"keys":{}}"#), Err(JwksError::Malformed(_))));
        assert!(matches!(Jwks::from_json(br#"{"keys":[],"keys":[]}"#), Err(JwksError::Malformed(_))));
    }

    #[test]
    fn invalid_ec_point_is_skipped() {
        let zero = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0u8; 32]);
        let doc = format!(r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"z","x":"{zero}","y":"{zero}"}}]}}"#);
        let jwks = Jwks::from_json(doc.as_bytes()).unwrap();
        assert!(jwks.is_empty());
        assert!(jwks.skipped()[0].reason.contains("invalid P-256 point"));
    }
}
