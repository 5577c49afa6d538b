//! PKCS#10 certificate signing requests (sigstore-python's request shape):
//! pure parsing and checking, so that the CA's handlers stay thin and the
//! parser can be fuzzed (`tests/fuzz`, target `csr`).
//!
//! The CSR's self-signature is the proof of possession. Only its public key
//! is used; a CSR that asks for anything a code-signing leaf must not have
//! (CA:true, or any extension besides BasicConstraints CA:false) is refused
//! rather than silently ignored.

use der::{Decode, Encode};
use sigstead_crypto::{digest, HashAlgorithm, PublicKey};
use x509_cert::request::CertReq;

/// Why a CSR was refused (the CA answers 400 for each).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// The CSR is malformed or asks for what a leaf must not have.
    #[error("{0}")]
    Csr(String),
    /// Its public key is not one the CA certifies.
    #[error("{0}")]
    PublicKey(String),
    /// Its self-signature does not verify.
    #[error("the CSR's signature does not verify")]
    ProofOfPossession,
}

const EXTENSION_REQUEST: &str = "1.2.840.113549.1.9.14";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";

/// Verifies a CSR (PEM or DER) and returns its DER SubjectPublicKeyInfo.
pub fn verify_csr(raw: &[u8]) -> Result<Vec<u8>, CsrError> {
    let der = match sigstead_crypto::pem_decode_first(raw) {
        Some((label, der)) if label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST" => der,
        Some((label, _)) => return Err(CsrError::Csr(format!("expected a CERTIFICATE REQUEST, found {label}"))),
        None => raw.to_vec(),
    };
    let req = CertReq::from_der(&der).map_err(|e| CsrError::Csr(format!("does not parse: {e}")))?;
    let spki = req.info.public_key.to_der().map_err(|e| CsrError::Csr(e.to_string()))?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| CsrError::PublicKey(e.to_string()))?;
    let message = req.info.to_der().map_err(|e| CsrError::Csr(e.to_string()))?;
    let sig = req.signature.raw_bytes();
    let alg = req.algorithm.oid.to_string();
    let prehash = match alg.as_str() {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => Some(HashAlgorithm::Sha256),
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => Some(HashAlgorithm::Sha384),
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => Some(HashAlgorithm::Sha512),
        "1.3.101.112" => None,
        other => return Err(CsrError::Csr(format!("unsupported signature algorithm {other}"))),
    };
    let verified = match prehash {
        Some(h) => key.verify_prehash(h, &digest(h, &message), sig),
        None => key.verify(&message, sig),
    };
    verified.map_err(|_| CsrError::ProofOfPossession)?;
    for attr in req.info.attributes.iter() {
        if attr.oid.to_string() != EXTENSION_REQUEST {
            continue;
        }
        for value in attr.values.iter() {
            let exts: Vec<x509_cert::ext::Extension> =
                value.decode_as().map_err(|e| CsrError::Csr(format!("extension request does not parse: {e}")))?;
            for ext in exts {
                if ext.extn_id.to_string() != BASIC_CONSTRAINTS {
                    return Err(CsrError::Csr(format!("extension {} may not be requested", ext.extn_id)));
                }
                let bc = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| CsrError::Csr(e.to_string()))?;
                if bc.ca {
                    return Err(CsrError::Csr("a code-signing certificate cannot be a CA".into()));
                }
            }
        }
    }
    Ok(spki)
}
