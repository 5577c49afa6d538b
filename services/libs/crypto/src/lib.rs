//! Keys, signatures and PEM for Sigstead, without I/O.
//!
//! * [`pem`]: Go-`pem.Encode`-compatible encoding (clients rebuild log bodies
//!   byte for byte from it) and a tolerant decoder (CRLF, surrounding text).
//! * [`PublicKey`]: verification keys parsed from SubjectPublicKeyInfo DER,
//!   from an X.509 certificate, or from PEM of either.
//! * [`Signer`]: the one trait every log / CA key sits behind. The file-backed
//!   [`EcdsaSigner`] is the first backend; HSM and KMS backends implement
//!   the same trait.
//!
//! Signatures use `aws-lc-rs`: about five times the P-256 verification rate of
//! the pure-Rust `p256` crate on this hardware (verification is the floor
//! cost of every log append), and it exposes *prehashed* ECDSA verification,
//! which `hashedrekord` entries need because the log only sees the digest.
//! X.509, SPKI and encrypted PKCS#8 parsing use RustCrypto's `der` family.

pub mod chain;
pub mod pem;

use aws_lc_rs::signature::{self as lc, KeyPair as _};
use der::{Decode, Encode};
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::fmt;

pub use pem::{pem_certificates, pem_decode_all, pem_decode_first, pem_encode};

/// Errors from key parsing and signature checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("not a PEM-encoded certificate or public key")]
    NotPem,
    #[error("invalid certificate: {0}")]
    BadCertificate(String),
    #[error("invalid public key: {0}")]
    BadPublicKey(String),
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKey(String),
    #[error("signature is malformed")]
    MalformedSignature,
    #[error("signature does not verify")]
    BadSignature,
    #[error("digest length {got} does not match algorithm {alg}")]
    DigestLength { alg: &'static str, got: usize },
    #[error("{0} cannot verify a prehashed message")]
    PrehashUnsupported(&'static str),
    #[error("private key: {0}")]
    PrivateKey(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Hash algorithms a client may have used for a prehashed signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

/// A signature verification key (its point or raw key, validated at parse time).
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Uncompressed SEC1 point.
    EcdsaP256(Vec<u8>),
    /// Uncompressed SEC1 point.
    EcdsaP384(Vec<u8>),
    /// Raw 32-byte key.
    Ed25519([u8; 32]),
    /// PKCS#1 `RSAPublicKey` DER (2048 to 8192 bits), PKCS#1 v1.5 signatures.
    Rsa(Vec<u8>),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EcdsaP256(_) => "PublicKey(ECDSA P-256)",
            Self::EcdsaP384(_) => "PublicKey(ECDSA P-384)",
            Self::Ed25519(_) => "PublicKey(Ed25519)",
            Self::Rsa(_) => "PublicKey(RSA)",
        })
    }
}

const OID_EC_PUBLIC_KEY: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_RSA: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

fn lc_digest(alg: HashAlgorithm) -> &'static aws_lc_rs::digest::Algorithm {
    match alg {
        HashAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
        HashAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
        HashAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
    }
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let spki =
            spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| CryptoError::BadPublicKey(e.to_string()))?;
        let alg = spki.algorithm.oid;
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| CryptoError::BadPublicKey("unaligned bit string".into()))?;
        let key = if alg == OID_EC_PUBLIC_KEY {
            let curve: der::asn1::ObjectIdentifier = spki
                .algorithm
                .parameters
                .ok_or_else(|| CryptoError::BadPublicKey("EC key without curve".into()))?
                .decode_as()
                .map_err(|e| CryptoError::BadPublicKey(e.to_string()))?;
            if curve == OID_P256 {
                Self::EcdsaP256(key.to_vec())
            } else if curve == OID_P384 {
                Self::EcdsaP384(key.to_vec())
            } else {
                return Err(CryptoError::UnsupportedKey(format!("EC curve {curve}")));
            }
        } else if alg == OID_ED25519 {
            Self::Ed25519(key.try_into().map_err(|_| CryptoError::BadPublicKey("Ed25519 key is not 32 bytes".into()))?)
        } else if alg == OID_RSA {
            Self::Rsa(key.to_vec())
        } else {
            return Err(CryptoError::UnsupportedKey(alg.to_string()));
        };
        // Reject points that are not on the curve now rather than at first use.
        let (verify_alg, bytes): (&'static dyn lc::VerificationAlgorithm, &[u8]) = match &key {
            Self::EcdsaP256(p) => (&lc::ECDSA_P256_SHA256_ASN1, p),
            Self::EcdsaP384(p) => (&lc::ECDSA_P384_SHA384_ASN1, p),
            Self::Ed25519(k) => (&lc::ED25519, k),
            Self::Rsa(k) => (&lc::RSA_PKCS1_2048_8192_SHA256, k),
        };
        lc::ParsedPublicKey::new(verify_alg, bytes)
            .map_err(|_| CryptoError::BadPublicKey(format!("invalid {} key", key.algorithm())))?;
        Ok(key)
    }

    /// The ECDSA curve of the key, if it is an ECDSA key of a curve Sigstead signs with.
    pub fn ec_curve(&self) -> Option<EcCurve> {
        match self {
            Self::EcdsaP256(_) => Some(EcCurve::P256),
            Self::EcdsaP384(_) => Some(EcCurve::P384),
            Self::Ed25519(_) | Self::Rsa(_) => None,
        }
    }

    /// Human-readable algorithm name, for error messages and metrics.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::EcdsaP256(_) => "ecdsa-p256",
            Self::EcdsaP384(_) => "ecdsa-p384",
            Self::Ed25519(_) => "ed25519",
            Self::Rsa(_) => "rsa",
        }
    }

    /// Verifies `sig` over `message` with the key's default scheme: ECDSA
    /// P-256/SHA-256, ECDSA P-384/SHA-384 (ASN.1 DER, or fixed-size r‖s as
    /// upstream also accepts), pure Ed25519.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let (asn1, fixed, fixed_len, key): (
            &'static dyn lc::VerificationAlgorithm,
            &'static dyn lc::VerificationAlgorithm,
            usize,
            &[u8],
        ) = match self {
            Self::EcdsaP256(p) => (&lc::ECDSA_P256_SHA256_ASN1, &lc::ECDSA_P256_SHA256_FIXED, 64, p),
            Self::EcdsaP384(p) => (&lc::ECDSA_P384_SHA384_ASN1, &lc::ECDSA_P384_SHA384_FIXED, 96, p),
            Self::Ed25519(k) => {
                if sig.len() != 64 {
                    return Err(CryptoError::MalformedSignature);
                }
                return lc::UnparsedPublicKey::new(&lc::ED25519, k)
                    .verify(message, sig)
                    .map_err(|_| CryptoError::BadSignature);
            }
            Self::Rsa(k) => {
                return lc::UnparsedPublicKey::new(&lc::RSA_PKCS1_2048_8192_SHA256, k)
                    .verify(message, sig)
                    .map_err(|_| CryptoError::BadSignature);
            }
        };
        // DER first; a fixed-size r||s signature can also start with 0x30.
        if lc::UnparsedPublicKey::new(asn1, key).verify(message, sig).is_ok() {
            return Ok(());
        }
        if sig.len() == fixed_len && lc::UnparsedPublicKey::new(fixed, key).verify(message, sig).is_ok() {
            return Ok(());
        }
        Err(CryptoError::BadSignature)
    }

    /// Verifies an ECDSA signature over an already computed digest.
    pub fn verify_prehash(&self, alg: HashAlgorithm, digest: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        if digest.len() != alg.digest_len() {
            return Err(CryptoError::DigestLength { alg: alg.name(), got: digest.len() });
        }
        let d = aws_lc_rs::digest::Digest::import_less_safe(digest, lc_digest(alg))
            .map_err(|_| CryptoError::DigestLength { alg: alg.name(), got: digest.len() })?;
        let (verify_alg, key): (&'static dyn lc::VerificationAlgorithm, &[u8]) = match (self, alg) {
            (Self::EcdsaP256(p), HashAlgorithm::Sha256) => (&lc::ECDSA_P256_SHA256_ASN1, p),
            (Self::EcdsaP256(p), HashAlgorithm::Sha384) => (&lc::ECDSA_P256_SHA384_ASN1, p),
            (Self::EcdsaP256(p), HashAlgorithm::Sha512) => (&lc::ECDSA_P256_SHA512_ASN1, p),
            (Self::EcdsaP384(p), HashAlgorithm::Sha256) => (&lc::ECDSA_P384_SHA256_ASN1, p),
            (Self::EcdsaP384(p), HashAlgorithm::Sha384) => (&lc::ECDSA_P384_SHA384_ASN1, p),
            (Self::EcdsaP384(p), HashAlgorithm::Sha512) => (&lc::ECDSA_P384_SHA512_ASN1, p),
            (Self::Ed25519(_), _) => return Err(CryptoError::PrehashUnsupported("Ed25519")),
            (Self::Rsa(k), HashAlgorithm::Sha256) => (&lc::RSA_PKCS1_2048_8192_SHA256, k),
            (Self::Rsa(k), HashAlgorithm::Sha384) => (&lc::RSA_PKCS1_2048_8192_SHA384, k),
            (Self::Rsa(k), HashAlgorithm::Sha512) => (&lc::RSA_PKCS1_2048_8192_SHA512, k),
        };
        let key = lc::UnparsedPublicKey::new(verify_alg, key);
        if key.verify_digest(&d, sig).is_ok() {
            return Ok(());
        }
        // ECDSA signatures may also come as fixed-size r||s (upstream accepts both).
        let fixed_len = match self {
            Self::EcdsaP256(_) => 64,
            Self::EcdsaP384(_) => 96,
            _ => return Err(CryptoError::BadSignature),
        };
        if sig.len() == fixed_len && key.verify_digest(&d, &fixed_to_der(sig)?).is_ok() {
            return Ok(());
        }
        Err(CryptoError::BadSignature)
    }
}

/// Re-encodes an ASN.1 DER ECDSA signature as the fixed-size `r || s` form
/// of JWS (RFC 7518 §3.4), each half `scalar_len` bytes.
pub fn ecdsa_der_to_fixed(sig: &[u8], scalar_len: usize) -> Result<Vec<u8>, CryptoError> {
    let mut reader = der::SliceReader::new(sig).map_err(|_| CryptoError::MalformedSignature)?;
    let (r, s) = der::Reader::sequence(&mut reader, |seq| {
        let r = der::asn1::UintRef::decode(seq)?;
        let s = der::asn1::UintRef::decode(seq)?;
        Ok((r, s))
    })
    .map_err(|_| CryptoError::MalformedSignature)?;
    if !der::Reader::is_finished(&reader) {
        return Err(CryptoError::MalformedSignature);
    }
    let mut out = vec![0u8; 2 * scalar_len];
    for (half, int) in out.chunks_mut(scalar_len).zip([r, s]) {
        let bytes = int.as_bytes();
        if bytes.len() > scalar_len {
            return Err(CryptoError::MalformedSignature);
        }
        half[scalar_len - bytes.len()..].copy_from_slice(bytes);
    }
    Ok(out)
}

/// `N` bytes from the operating system's CSPRNG (through aws-lc-rs).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("the system random number generator failed");
    b
}

/// Re-encodes a fixed-size `r || s` ECDSA signature as ASN.1 DER.
pub fn ecdsa_fixed_to_der(sig: &[u8]) -> Result<Vec<u8>, CryptoError> {
    fixed_to_der(sig)
}

fn fixed_to_der(sig: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sig.is_empty() || !sig.len().is_multiple_of(2) || sig.len() > 132 {
        return Err(CryptoError::MalformedSignature);
    }
    let (r, s) = sig.split_at(sig.len() / 2);
    let r = der::asn1::UintRef::new(r).map_err(|_| CryptoError::MalformedSignature)?;
    let s = der::asn1::UintRef::new(s).map_err(|_| CryptoError::MalformedSignature)?;
    let mut seq = Vec::new();
    r.encode_to_vec(&mut seq).map_err(|_| CryptoError::MalformedSignature)?;
    s.encode_to_vec(&mut seq).map_err(|_| CryptoError::MalformedSignature)?;
    let header = der::Header::new(
        der::Tag::Sequence,
        der::Length::try_from(seq.len()).map_err(|_| CryptoError::MalformedSignature)?,
    )
    .map_err(|_| CryptoError::MalformedSignature)?;
    let mut out = Vec::with_capacity(seq.len() + 4);
    header.encode_to_vec(&mut out).map_err(|_| CryptoError::MalformedSignature)?;
    out.extend_from_slice(&seq);
    Ok(out)
}

/// Digest `data` with `alg`.
pub fn digest(alg: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match alg {
        HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// What a log entry names as its verifier: an X.509 certificate or a bare public key.
#[derive(Debug, Clone)]
pub struct VerifierMaterial {
    /// DER of the certificate, when the verifier is a certificate.
    pub certificate_der: Option<Vec<u8>>,
    /// DER SubjectPublicKeyInfo of the verification key.
    pub spki_der: Vec<u8>,
    pub key: PublicKey,
}

impl VerifierMaterial {
    /// Parses PEM text holding one `CERTIFICATE` or `PUBLIC KEY` block
    /// (LF or CRLF line ends), or raw DER of either.
    pub fn parse(input: &[u8]) -> Result<Self, CryptoError> {
        let (label, der) = match pem_decode_first(input) {
            Some(block) => block,
            None => {
                // Raw DER: try certificate first, then SPKI.
                if x509_cert::Certificate::from_der(input).is_ok() {
                    ("CERTIFICATE".to_string(), input.to_vec())
                } else if spki::SubjectPublicKeyInfoRef::from_der(input).is_ok() {
                    ("PUBLIC KEY".to_string(), input.to_vec())
                } else {
                    return Err(CryptoError::NotPem);
                }
            }
        };
        match label.as_str() {
            "CERTIFICATE" => Self::from_certificate_der(&der),
            "PUBLIC KEY" => Ok(Self { key: PublicKey::from_spki_der(&der)?, spki_der: der, certificate_der: None }),
            other => Err(CryptoError::UnsupportedKey(format!("PEM block {other}"))),
        }
    }

    pub fn from_certificate_der(der: &[u8]) -> Result<Self, CryptoError> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
        let spki_der = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
        Ok(Self { key: PublicKey::from_spki_der(&spki_der)?, spki_der, certificate_der: Some(der.to_vec()) })
    }

    /// The canonical PEM upstream Rekor stores: Go `pem.Encode` layout, LF line ends.
    pub fn canonical_pem(&self) -> String {
        match &self.certificate_der {
            Some(der) => pem_encode("CERTIFICATE", der),
            None => pem_encode("PUBLIC KEY", &self.spki_der),
        }
    }

    /// Email addresses and URIs in the certificate's SubjectAltName (empty for bare keys).
    pub fn identities(&self) -> Vec<String> {
        let Some(der) = &self.certificate_der else {
            return Vec::new();
        };
        certificate_identities(der)
    }
}

/// rfc822Name and URI entries of a certificate's SubjectAltName extension.
pub fn certificate_identities(cert_der: &[u8]) -> Vec<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let Ok(cert) = x509_cert::Certificate::from_der(cert_der) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id != const_oid_san() {
            continue;
        }
        if let Ok(san) = SubjectAltName::from_der(ext.extn_value.as_bytes()) {
            for name in san.0 {
                match name {
                    GeneralName::Rfc822Name(s) => out.push(s.to_string()),
                    GeneralName::UniformResourceIdentifier(s) => out.push(s.to_string()),
                    _ => {}
                }
            }
        }
    }
    out
}

fn const_oid_san() -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17")
}

/// The OIDC issuer a Fulcio certificate names: extension
/// `1.3.6.1.4.1.57264.1.8` (a DER UTF8String), else the legacy
/// `1.3.6.1.4.1.57264.1.1` (raw bytes).
pub fn certificate_oidc_issuer(cert_der: &[u8]) -> Option<String> {
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    let find = |dotted: &str| {
        let oid = der::asn1::ObjectIdentifier::new(dotted).ok()?;
        cert.tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes().to_vec())
    };
    if let Some(v) = find("1.3.6.1.4.1.57264.1.8") {
        return der::asn1::Utf8StringRef::from_der(&v).ok().map(|s| s.as_str().to_string());
    }
    find("1.3.6.1.4.1.57264.1.1").and_then(|v| String::from_utf8(v).ok())
}

/// SHA-256 of a DER SubjectPublicKeyInfo: a Rekor v1 / CT log ID.
pub fn log_id(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

/// A signing key. Every log and CA key is used through this trait so that
/// file, PKCS#11 and KMS backends are interchangeable.
pub trait Signer: Send + Sync + fmt::Debug {
    /// DER SubjectPublicKeyInfo of the matching public key.
    fn public_key_der(&self) -> &[u8];
    /// Signs `message` with the key's standard scheme (ECDSA P-256: SHA-256, ASN.1 DER signature).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// The two ECDSA curves a Sigstead key may use: P-256 (SHA-256) for the logs
/// and the CA, P-256 or P-384 (SHA-384) for the timestamp authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    P256,
    P384,
}

impl EcCurve {
    /// The curve's OID, as in an SPKI's parameters and PKCS#11 `CKA_EC_PARAMS`.
    pub fn oid(self) -> der::asn1::ObjectIdentifier {
        match self {
            Self::P256 => OID_P256,
            Self::P384 => OID_P384,
        }
    }

    /// The curve named by a DER-encoded OID (PKCS#11 `CKA_EC_PARAMS`).
    pub fn from_params_der(params: &[u8]) -> Option<Self> {
        let oid = der::asn1::ObjectIdentifier::from_der(params).ok()?;
        [Self::P256, Self::P384].into_iter().find(|c| c.oid() == oid)
    }

    /// Length in bytes of an uncompressed SEC1 point on the curve.
    pub fn point_len(self) -> usize {
        match self {
            Self::P256 => 65,
            Self::P384 => 97,
        }
    }

    /// The SubjectPublicKeyInfo DER of an uncompressed point on this curve
    /// (validated: a point off the curve is an error).
    pub fn spki_der(self, point: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let spki = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: OID_EC_PUBLIC_KEY,
                parameters: Some(
                    der::Any::encode_from(&self.oid()).map_err(|e| CryptoError::BadPublicKey(e.to_string()))?,
                ),
            },
            subject_public_key: der::asn1::BitString::from_bytes(point)
                .map_err(|e| CryptoError::BadPublicKey(e.to_string()))?,
        };
        let der = spki.to_der().map_err(|e| CryptoError::BadPublicKey(e.to_string()))?;
        match PublicKey::from_spki_der(&der)?.ec_curve() {
            Some(c) if c == self => Ok(der),
            _ => Err(CryptoError::BadPublicKey(format!("not a {} point", self.name()))),
        }
    }

    fn signing(self) -> &'static lc::EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &lc::ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::P384 => &lc::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    /// The hash the curve's standard scheme signs with.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::P256 => HashAlgorithm::Sha256,
            Self::P384 => HashAlgorithm::Sha384,
        }
    }

    /// The curve's name in messages (`P-256`, `P-384`).
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }
}

/// An in-memory ECDSA key (P-256 or P-384), loaded from (encrypted) PKCS#8.
pub struct EcdsaSigner {
    key: lc::EcdsaKeyPair,
    curve: EcCurve,
    spki_der: Vec<u8>,
}

impl fmt::Debug for EcdsaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcdsaSigner({}, key id {})", self.curve.name(), hex_prefix(&log_id(&self.spki_der)))
    }
}

fn hex_prefix(b: &[u8]) -> String {
    b.iter().take(4).map(|x| format!("{x:02x}")).collect()
}

impl EcdsaSigner {
    /// A fresh random key on `curve`.
    pub fn generate(curve: EcCurve) -> Self {
        let key = lc::EcdsaKeyPair::generate(curve.signing()).expect("ECDSA key generation");
        Self::from_key(key, curve).expect("a generated key encodes")
    }

    /// A fresh random P-256 key.
    pub fn generate_p256() -> Self {
        Self::generate(EcCurve::P256)
    }

    fn from_key(key: lc::EcdsaKeyPair, curve: EcCurve) -> Result<Self, CryptoError> {
        use aws_lc_rs::encoding::AsDer;
        let spki_der =
            key.public_key().as_der().map_err(|_| CryptoError::PrivateKey("cannot encode the public key".into()))?;
        Ok(Self { spki_der: spki_der.as_ref().to_vec(), key, curve })
    }

    fn from_pkcs8(plain: &[u8]) -> Option<Self> {
        [EcCurve::P256, EcCurve::P384].into_iter().find_map(|curve| {
            let key = lc::EcdsaKeyPair::from_pkcs8(curve.signing(), plain).ok()?;
            Self::from_key(key, curve).ok()
        })
    }

    /// Loads an `ENCRYPTED PRIVATE KEY` (PKCS#8, PBES2) PEM holding a P-256 or P-384 key.
    pub fn from_encrypted_pkcs8_pem(pem: &str, password: &[u8]) -> Result<Self, CryptoError> {
        let plain = decrypt_pkcs8_pem(pem, password)?;
        Self::from_pkcs8(&plain).ok_or_else(|| CryptoError::PrivateKey("not an ECDSA P-256 or P-384 key".into()))
    }

    /// Writes the key as an `ENCRYPTED PRIVATE KEY` PEM (scrypt + AES-256-CBC).
    pub fn to_encrypted_pkcs8_pem(&self, password: &[u8]) -> Result<String, CryptoError> {
        let doc = self.key.to_pkcs8v1().map_err(|_| CryptoError::PrivateKey("cannot export the key".into()))?;
        encrypt_pkcs8(doc.as_ref(), password)
    }

    /// The key's curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }

    /// The public key as Go-style PEM.
    pub fn public_key_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.spki_der)
    }
}

impl Signer for EcdsaSigner {
    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = self.key.sign(&rng, message).map_err(|_| CryptoError::Signing("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }
}

/// An in-memory Ed25519 key, loaded from (encrypted) PKCS#8. Used for TUF
/// role keys (the TUF and Sigstore ecosystems' most common key type).
pub struct Ed25519Signer {
    key: lc::Ed25519KeyPair,
    spki_der: Vec<u8>,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Signer(key id {})", hex_prefix(&log_id(&self.spki_der)))
    }
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

impl Ed25519Signer {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_key(lc::Ed25519KeyPair::generate().expect("Ed25519 key generation"))
    }

    fn from_key(key: lc::Ed25519KeyPair) -> Self {
        let mut spki_der = ED25519_SPKI_PREFIX.to_vec();
        spki_der.extend_from_slice(key.public_key().as_ref());
        Self { key, spki_der }
    }

    /// Loads an `ENCRYPTED PRIVATE KEY` (PKCS#8, PBES2) PEM.
    pub fn from_encrypted_pkcs8_pem(pem: &str, password: &[u8]) -> Result<Self, CryptoError> {
        let plain = decrypt_pkcs8_pem(pem, password)?;
        let key = lc::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&plain)
            .map_err(|e| CryptoError::PrivateKey(format!("not an Ed25519 key: {e}")))?;
        Ok(Self::from_key(key))
    }

    /// Writes the key as an `ENCRYPTED PRIVATE KEY` PEM (scrypt + AES-256-CBC).
    pub fn to_encrypted_pkcs8_pem(&self, password: &[u8]) -> Result<String, CryptoError> {
        let doc = self.key.to_pkcs8v1().map_err(|_| CryptoError::PrivateKey("cannot export the key".into()))?;
        encrypt_pkcs8(doc.as_ref(), password)
    }
}

impl Signer for Ed25519Signer {
    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.key.sign(message).as_ref().to_vec())
    }
}

fn decrypt_pkcs8_pem(pem: &str, password: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (label, der) = pem_decode_first(pem.as_bytes()).ok_or_else(|| CryptoError::PrivateKey("not PEM".into()))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(CryptoError::PrivateKey(format!("expected ENCRYPTED PRIVATE KEY, found {label}")));
    }
    let enc =
        pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| CryptoError::PrivateKey(e.to_string()))?;
    let plain = enc.decrypt(password).map_err(|_| CryptoError::PrivateKey("wrong password or corrupt key".into()))?;
    Ok(plain.as_bytes().to_vec())
}

fn encrypt_pkcs8(plain_der: &[u8], password: &[u8]) -> Result<String, CryptoError> {
    let info = pkcs8::PrivateKeyInfo::try_from(plain_der).map_err(|e| CryptoError::PrivateKey(e.to_string()))?;
    let enc = info.encrypt(rand_core::OsRng, password).map_err(|e| CryptoError::PrivateKey(e.to_string()))?;
    Ok(pem_encode("ENCRYPTED PRIVATE KEY", enc.as_bytes()))
}

/// Loads an encrypted PKCS#8 key of any supported type (ECDSA P-256 or P-384, or Ed25519).
pub fn signer_from_encrypted_pkcs8_pem(pem: &str, password: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
    let plain = decrypt_pkcs8_pem(pem, password)?;
    if let Some(key) = EcdsaSigner::from_pkcs8(&plain) {
        return Ok(Box::new(key));
    }
    if let Ok(key) = lc::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&plain) {
        return Ok(Box::new(Ed25519Signer::from_key(key)));
    }
    Err(CryptoError::PrivateKey("neither an ECDSA P-256 or P-384 nor an Ed25519 key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_signer_roundtrip_through_encrypted_pkcs8() {
        let s = Ed25519Signer::generate();
        let pk = PublicKey::from_spki_der(s.public_key_der()).unwrap();
        assert!(matches!(pk, PublicKey::Ed25519(_)));
        let sig = s.sign(b"tuf").unwrap();
        pk.verify(b"tuf", &sig).unwrap();
        assert_eq!(pk.verify(b"tug", &sig), Err(CryptoError::BadSignature));
        let pem = s.to_encrypted_pkcs8_pem(b"pw").unwrap();
        let loaded = signer_from_encrypted_pkcs8_pem(&pem, b"pw").unwrap();
        assert_eq!(loaded.public_key_der(), s.public_key_der());
        pk.verify(b"again", &loaded.sign(b"again").unwrap()).unwrap();
        assert!(signer_from_encrypted_pkcs8_pem(&pem, b"wrong").is_err());
    }

    #[test]
    fn p384_signer_signs_with_sha384_and_roundtrips_through_encrypted_pkcs8() {
        let s = EcdsaSigner::generate(EcCurve::P384);
        assert_eq!(s.curve(), EcCurve::P384);
        let pk = PublicKey::from_spki_der(s.public_key_der()).unwrap();
        assert_eq!(pk.ec_curve(), Some(EcCurve::P384));
        let sig = s.sign(b"tsa").unwrap();
        pk.verify(b"tsa", &sig).unwrap();
        pk.verify_prehash(HashAlgorithm::Sha384, &digest(HashAlgorithm::Sha384, b"tsa"), &sig).unwrap();
        let pem = s.to_encrypted_pkcs8_pem(b"pw").unwrap();
        let back = EcdsaSigner::from_encrypted_pkcs8_pem(&pem, b"pw").unwrap();
        assert_eq!((back.curve(), back.public_key_der()), (EcCurve::P384, s.public_key_der()));
        let any = signer_from_encrypted_pkcs8_pem(&pem, b"pw").unwrap();
        assert_eq!(any.public_key_der(), s.public_key_der());
    }

    #[test]
    fn der_and_fixed_ecdsa_signatures_convert_both_ways() {
        let s = EcdsaSigner::generate_p256();
        for _ in 0..32 {
            let der_sig = s.sign(b"jws").unwrap();
            let fixed = ecdsa_der_to_fixed(&der_sig, 32).unwrap();
            assert_eq!(fixed.len(), 64);
            assert_eq!(p256::ecdsa::Signature::from_der(&der_sig).unwrap().to_bytes().as_slice(), &fixed[..]);
            assert_eq!(ecdsa_fixed_to_der(&fixed).unwrap(), der_sig);
        }
        let der_sig = s.sign(b"jws").unwrap();
        let mut trailing = der_sig.clone();
        trailing.push(0);
        assert_eq!(ecdsa_der_to_fixed(&trailing, 32), Err(CryptoError::MalformedSignature));
        assert_eq!(ecdsa_der_to_fixed(&der_sig, 16), Err(CryptoError::MalformedSignature));
        assert_eq!(ecdsa_der_to_fixed(b"garbage", 32), Err(CryptoError::MalformedSignature));
    }

    #[test]
    fn sign_verify_roundtrip_and_tamper() {
        let s = EcdsaSigner::generate_p256();
        let sig = s.sign(b"hello").unwrap();
        let pk = PublicKey::from_spki_der(s.public_key_der()).unwrap();
        pk.verify(b"hello", &sig).unwrap();
        assert_eq!(pk.verify(b"hellp", &sig), Err(CryptoError::BadSignature));
        let d = digest(HashAlgorithm::Sha256, b"hello");
        pk.verify_prehash(HashAlgorithm::Sha256, &d, &sig).unwrap();
        let loaded = signer_from_encrypted_pkcs8_pem(&s.to_encrypted_pkcs8_pem(b"pw").unwrap(), b"pw").unwrap();
        assert_eq!(loaded.public_key_der(), s.public_key_der());
        assert!(matches!(pk.verify_prehash(HashAlgorithm::Sha384, &d, &sig), Err(CryptoError::DigestLength { .. })));
    }

    #[test]
    fn fixed_size_signatures_are_accepted_like_upstream() {
        let s = EcdsaSigner::generate_p256();
        let der_sig = s.sign(b"msg").unwrap();
        // Convert DER to r||s by hand.
        let parsed = p256::ecdsa::Signature::from_der(&der_sig).unwrap();
        let fixed = parsed.to_bytes().to_vec();
        let pk = PublicKey::from_spki_der(s.public_key_der()).unwrap();
        pk.verify(b"msg", &fixed).unwrap();
        let d = digest(HashAlgorithm::Sha256, b"msg");
        pk.verify_prehash(HashAlgorithm::Sha256, &d, &fixed).unwrap();
        pk.verify_prehash(HashAlgorithm::Sha256, &d, &der_sig).unwrap();
        assert!(pk.verify_prehash(HashAlgorithm::Sha256, &d, &fixed[..63]).is_err());
    }

    #[test]
    fn encrypted_pkcs8_roundtrip_and_wrong_password() {
        let s = EcdsaSigner::generate_p256();
        let pem = s.to_encrypted_pkcs8_pem(b"pw").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = EcdsaSigner::from_encrypted_pkcs8_pem(&pem, b"pw").unwrap();
        assert_eq!(back.public_key_der(), s.public_key_der());
        assert!(EcdsaSigner::from_encrypted_pkcs8_pem(&pem, b"wrong").is_err());
    }

    #[test]
    fn verifier_material_accepts_crlf_pem_and_reencodes_lf() {
        let s = EcdsaSigner::generate_p256();
        let lf = s.public_key_pem();
        let crlf = lf.replace('\n', "\r\n");
        let m = VerifierMaterial::parse(crlf.as_bytes()).unwrap();
        assert_eq!(m.canonical_pem(), lf);
        assert!(!m.canonical_pem().contains('\r'));
    }

    #[test]
    fn real_fulcio_certificate_parses_with_identity() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../../shared/vectors/upstream-issued/fulcio-ca-p256-client-p256/leaf.pem");
        let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let m = VerifierMaterial::parse(&pem).unwrap();
        assert!(m.certificate_der.is_some());
        assert!(matches!(m.key, PublicKey::EcdsaP256(_)));
        assert!(!m.identities().is_empty(), "the upstream leaf carries a SAN");
        // Re-encoding a Go-encoded PEM gives the same bytes back.
        assert_eq!(m.canonical_pem().trim_end(), String::from_utf8(pem).unwrap().trim_end());
    }
}
