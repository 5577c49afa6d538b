//! TUF public keys, key IDs, and signing through [`Signer`].

use crate::{canonical::to_canonical, sha256_hex, TufError};
use serde::{Deserialize, Serialize};
use sigstead_crypto::{pem_decode_first, pem_encode, PublicKey, Signer};
use std::fmt;

/// A key ID: lowercase hex SHA-256 of the key's canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `keyval` object of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// Ed25519: 64 hex digits of the raw key. ECDSA: SubjectPublicKeyInfo PEM.
    pub public: String,
}

/// A public key as it appears in root metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TufKey {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
}

impl TufKey {
    /// The TUF form of a DER SubjectPublicKeyInfo (Ed25519 or ECDSA P-256).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, TufError> {
        match PublicKey::from_spki_der(der).map_err(|e| TufError::UnsupportedKey(e.to_string()))? {
            PublicKey::Ed25519(raw) => Ok(Self {
                keytype: "ed25519".into(),
                scheme: "ed25519".into(),
                keyval: KeyVal { public: hex::encode(raw) },
            }),
            PublicKey::EcdsaP256(_) => Ok(Self {
                keytype: "ecdsa".into(),
                scheme: "ecdsa-sha2-nistp256".into(),
                keyval: KeyVal { public: pem_encode("PUBLIC KEY", der) },
            }),
            other => {
                Err(TufError::UnsupportedKey(format!("{} (TUF keys are Ed25519 or ECDSA P-256)", other.algorithm())))
            }
        }
    }

    /// The key ID: SHA-256 over the canonical JSON of this key object.
    pub fn key_id(&self) -> KeyId {
        KeyId(sha256_hex(&to_canonical(self).expect("a key serialises")))
    }

    /// The verification key, checking that type, scheme and value agree.
    pub fn public_key(&self) -> Result<PublicKey, TufError> {
        match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ed25519", "ed25519") => {
                let raw: [u8; 32] = hex::decode(&self.keyval.public)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| TufError::UnsupportedKey("ed25519 keyval is not 32 hex-encoded bytes".into()))?;
                let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
                der.extend_from_slice(&raw);
                PublicKey::from_spki_der(&der).map_err(|e| TufError::UnsupportedKey(e.to_string()))
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                let (label, der) = pem_decode_first(self.keyval.public.as_bytes())
                    .ok_or_else(|| TufError::UnsupportedKey("ecdsa keyval is not PEM".into()))?;
                if label != "PUBLIC KEY" {
                    return Err(TufError::UnsupportedKey(format!("ecdsa keyval is a {label}")));
                }
                match PublicKey::from_spki_der(&der).map_err(|e| TufError::UnsupportedKey(e.to_string()))? {
                    k @ PublicKey::EcdsaP256(_) => Ok(k),
                    other => Err(TufError::UnsupportedKey(format!(
                        "scheme ecdsa-sha2-nistp256 with a {} key",
                        other.algorithm()
                    ))),
                }
            }
            (t, s) => Err(TufError::UnsupportedKey(format!("keytype {t} with scheme {s}"))),
        }
    }

    /// Verifies a hex signature over `message` (the canonical `signed` bytes).
    pub fn verify(&self, message: &[u8], sig_hex: &str) -> bool {
        let Ok(sig) = hex::decode(sig_hex) else { return false };
        self.public_key().map(|k| k.verify(message, &sig).is_ok()).unwrap_or(false)
    }
}

/// Signs canonical metadata bytes, returning the key ID and the hex signature.
pub fn sign(signer: &dyn Signer, message: &[u8]) -> Result<(KeyId, String), TufError> {
    let key = TufKey::from_spki_der(signer.public_key_der())?;
    let sig = signer.sign(message).map_err(|e| TufError::Signing(e.to_string()))?;
    Ok((key.key_id(), hex::encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_crypto::{EcdsaSigner, Ed25519Signer};

    #[test]
    fn ed25519_and_p256_sign_and_verify() {
        let signers: Vec<Box<dyn Signer>> =
            vec![Box::new(Ed25519Signer::generate()), Box::new(EcdsaSigner::generate_p256())];
        for s in &signers {
            let key = TufKey::from_spki_der(s.public_key_der()).unwrap();
            let (id, sig) = sign(s.as_ref(), b"{\"a\":1}").unwrap();
            assert_eq!(id, key.key_id());
            assert!(key.verify(b"{\"a\":1}", &sig));
            assert!(!key.verify(b"{\"a\":2}", &sig), "tampered message accepted");
            assert!(!key.verify(b"{\"a\":1}", "zz"), "non-hex signature accepted");
        }
    }

    #[test]
    fn mismatched_keytype_and_scheme_are_refused() {
        let s = Ed25519Signer::generate();
        let mut key = TufKey::from_spki_der(s.public_key_der()).unwrap();
        key.scheme = "ecdsa-sha2-nistp256".into();
        assert!(key.public_key().is_err());
        let (_, sig) = sign(&s, b"m").unwrap();
        assert!(!key.verify(b"m", &sig));
    }
}
