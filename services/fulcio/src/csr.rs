//! PKCS#10 certificate signing requests (sigstore-python's request shape).
//!
//! The CSR's self-signature is the proof of possession. Only its public key
//! is used; a CSR that asks for anything a code-signing leaf must not have
//! (CA:true, or any extension besides BasicConstraints CA:false) is refused
//! rather than silently ignored.

use crate::FulcioError;
use der::{Decode, Encode};
use sigstead_crypto::{digest, HashAlgorithm, PublicKey};
use x509_cert::request::CertReq;

const EXTENSION_REQUEST: &str = "1.2.840.113549.1.9.14";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";

/// Verifies a CSR (PEM or DER) and returns its DER SubjectPublicKeyInfo.
pub(crate) fn verify_csr(raw: &[u8]) -> Result<Vec<u8>, FulcioError> {
    let der = match sigstead_crypto::pem_decode_first(raw) {
        Some((label, der)) if label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST" => der,
        Some((label, _)) => return Err(FulcioError::Csr(format!("expected a CERTIFICATE REQUEST, found {label}"))),
        None => raw.to_vec(),
    };
    let req = CertReq::from_der(&der).map_err(|e| FulcioError::Csr(format!("does not parse: {e}")))?;
    let spki = req.info.public_key.to_der().map_err(|e| FulcioError::Csr(e.to_string()))?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| FulcioError::PublicKey(e.to_string()))?;
    let message = req.info.to_der().map_err(|e| FulcioError::Csr(e.to_string()))?;
    let sig = req.signature.raw_bytes();
    let alg = req.algorithm.oid.to_string();
    let prehash = match alg.as_str() {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => Some(HashAlgorithm::Sha256),
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => Some(HashAlgorithm::Sha384),
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => Some(HashAlgorithm::Sha512),
        "1.3.101.112" => None,
        other => return Err(FulcioError::Csr(format!("unsupported signature algorithm {other}"))),
    };
    let verified = match prehash {
        Some(h) => key.verify_prehash(h, &digest(h, &message), sig),
        None => key.verify(&message, sig),
    };
    verified.map_err(|_| FulcioError::ProofOfPossession)?;
    for attr in req.info.attributes.iter() {
        if attr.oid.to_string() != EXTENSION_REQUEST {
            continue;
        }
        for value in attr.values.iter() {
            let exts: Vec<x509_cert::ext::Extension> =
                value.decode_as().map_err(|e| FulcioError::Csr(format!("extension request does not parse: {e}")))?;
            for ext in exts {
                if ext.extn_id.to_string() != BASIC_CONSTRAINTS {
                    return Err(FulcioError::Csr(format!("extension {} may not be requested", ext.extn_id)));
                }
                let bc = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| FulcioError::Csr(e.to_string()))?;
                if bc.ca {
                    return Err(FulcioError::Csr("a code-signing certificate cannot be a CA".into()));
                }
            }
        }
    }
    Ok(spki)
}
