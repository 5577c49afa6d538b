//! X.509 chain checks shared by every verifier in Sigstead (the TSA token
//! verifier, the bundle verifier): each certificate issued and signed by the
//! next, the last by itself, all valid at one instant. Name chaining and
//! signatures only — policy (key usage, EKU, path length) stays with the
//! caller, which knows what the chain is for.

use crate::{digest, HashAlgorithm, PublicKey};
use der::{Decode, Encode};
use std::time::SystemTime;
use x509_cert::Certificate;

const ECDSA_WITH_SHA256: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

/// Why a chain does not verify; indices count from the leaf-most certificate (0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the chain is empty")]
    Empty,
    #[error("certificate {0} does not parse: {1}")]
    Malformed(usize, String),
    #[error("certificate {0} is not valid at that time")]
    OutsideValidity(usize),
    #[error("certificate {0} is not issued by the next")]
    NotIssuedByNext(usize),
    #[error("certificate {0} is signed with unsupported {1}")]
    UnsupportedAlgorithm(usize, String),
    #[error("the signature on certificate {0} does not verify")]
    BadSignature(usize),
}

/// The public key of a certificate.
pub fn certificate_key(cert: &Certificate) -> Result<PublicKey, String> {
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    PublicKey::from_spki_der(&spki).map_err(|e| e.to_string())
}

/// Checks that `signer` signed `cert` (ECDSA with SHA-256/384/512).
pub fn verify_issued_by(cert: &Certificate, signer: &Certificate) -> Result<(), String> {
    let hash = match cert.signature_algorithm.oid {
        o if o == ECDSA_WITH_SHA256 => HashAlgorithm::Sha256,
        o if o == ECDSA_WITH_SHA384 => HashAlgorithm::Sha384,
        o if o == ECDSA_WITH_SHA512 => HashAlgorithm::Sha512,
        o => return Err(format!("unsupported {o}")),
    };
    let tbs = cert.tbs_certificate.to_der().map_err(|e| e.to_string())?;
    let sig = cert.signature.as_bytes().ok_or("unaligned signature")?;
    certificate_key(signer)?.verify_prehash(hash, &digest(hash, &tbs), sig).map_err(|_| "bad signature".to_string())
}

/// Each certificate of `chain_der` (leaf-most first) issued and signed by the
/// next, the last by itself, every one valid at `at`.
pub fn verify_chain(chain_der: &[Vec<u8>], at: SystemTime) -> Result<(), ChainError> {
    if chain_der.is_empty() {
        return Err(ChainError::Empty);
    }
    let certs = chain_der
        .iter()
        .enumerate()
        .map(|(i, d)| Certificate::from_der(d).map_err(|e| ChainError::Malformed(i, e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, cert) in certs.iter().enumerate() {
        let validity = &cert.tbs_certificate.validity;
        if at < validity.not_before.to_system_time() || at > validity.not_after.to_system_time() {
            return Err(ChainError::OutsideValidity(i));
        }
        let issuer = certs.get(i + 1).unwrap_or(cert);
        if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            return Err(ChainError::NotIssuedByNext(i));
        }
        verify_issued_by(cert, issuer).map_err(|e| {
            if e.starts_with("unsupported") {
                ChainError::UnsupportedAlgorithm(i, e)
            } else {
                ChainError::BadSignature(i)
            }
        })?;
    }
    Ok(())
}
