//! Verifying a `TimeStampResp` as a Sigstore verifier does: the token's
//! imprint and nonce, its signer pinned to a trusted TSA chain, the signed
//! attributes (content type, message digest, ESS signing certificate), the
//! signature, and the chain at `genTime`.

use crate::asn1::{self, SigningCertificateV2, TimeStampResp};
use crate::authority::check_timestamping_eku;
use crate::request::FailureInfo;
use crate::{hash_from_oid, oid};
use cms::cert::CertificateChoices;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sigstead_crypto::{HashAlgorithm, PublicKey};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_tsp::TstInfo;

/// What the token must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedImprint<'a> {
    pub hash: HashAlgorithm,
    pub digest: &'a [u8],
    /// The nonce sent, if any (big-endian INTEGER content bytes).
    pub nonce: Option<&'a [u8]>,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    pub gen_time: SystemTime,
    pub serial: Vec<u8>,
    pub policy: ObjectIdentifier,
    /// Whether the token embedded the TSA certificate.
    pub embedded_certificate: bool,
}

/// Why a response does not verify; each names what was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("the TSA did not grant the request: status {status}, failInfo {fail_info:?}, {text:?}")]
    NotGranted { status: u8, fail_info: Vec<&'static str>, text: Vec<String> },
    #[error("the token is not SignedData over a TSTInfo")]
    NotATimestampToken,
    #[error("the token's message imprint does not match the signed data")]
    ImprintMismatch,
    #[error("the token's nonce does not match the request's")]
    NonceMismatch,
    #[error("the token has {0} signers, not one")]
    SignerCount(usize),
    #[error("the token is not signed by the trusted TSA certificate")]
    SignerNotTrusted,
    #[error("the signed attributes are missing or malformed: {0}")]
    SignedAttributes(String),
    #[error("the messageDigest attribute does not match the TSTInfo")]
    MessageDigestMismatch,
    #[error("the signingCertificateV2 attribute does not name the TSA certificate")]
    SigningCertificateMismatch,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the TSA chain is invalid: {0}")]
    Chain(String),
    #[error("genTime is outside the validity of certificate {0} of the TSA chain")]
    OutsideValidity(usize),
}

fn malformed(e: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(e.to_string())
}

/// Verifies `resp_der` against `expected` and the trusted chain `[leaf, …, root]`.
pub fn verify_response(
    resp_der: &[u8],
    expected: &ExpectedImprint<'_>,
    chain_der: &[Vec<u8>],
) -> Result<VerifiedTimestamp, VerifyError> {
    let resp = TimeStampResp::from_der(resp_der).map_err(malformed)?;
    if resp.status.status != asn1::STATUS_GRANTED && resp.status.status != asn1::STATUS_GRANTED_WITH_MODS {
        let fail_info = resp
            .status
            .fail_info
            .as_ref()
            .map(|b| {
                asn1::set_bits(b)
                    .into_iter()
                    .map(|bit| FailureInfo::from_bit(bit).map_or("other", |f| f.name()))
                    .collect()
            })
            .unwrap_or_default();
        return Err(VerifyError::NotGranted {
            status: resp.status.status,
            fail_info,
            text: resp.status.status_string.unwrap_or_default(),
        });
    }
    let token = resp.time_stamp_token.ok_or_else(|| malformed("granted without a token"))?;
    verify_timestamp_token(token, expected, chain_der)
}

fn verify_timestamp_token(
    token: x509_tsp::TimeStampToken,
    expected: &ExpectedImprint<'_>,
    chain_der: &[Vec<u8>],
) -> Result<VerifiedTimestamp, VerifyError> {
    if token.content_type != oid::SIGNED_DATA {
        return Err(VerifyError::NotATimestampToken);
    }
    let signed_data: SignedData = token.content.decode_as().map_err(malformed)?;
    if signed_data.encap_content_info.econtent_type != oid::TST_INFO {
        return Err(VerifyError::NotATimestampToken);
    }
    let econtent: OctetString = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(VerifyError::NotATimestampToken)?
        .decode_as()
        .map_err(malformed)?;
    let tst_der = econtent.as_bytes();
    let tst = TstInfo::from_der(tst_der).map_err(malformed)?;

    // The imprint and the nonce.
    if hash_from_oid(&tst.message_imprint.hash_algorithm.oid) != Some(expected.hash)
        || tst.message_imprint.hashed_message.as_bytes() != expected.digest
    {
        return Err(VerifyError::ImprintMismatch);
    }
    if let Some(nonce) = expected.nonce {
        if tst.nonce.as_ref().map(|n| n.as_bytes()) != Some(nonce) {
            return Err(VerifyError::NonceMismatch);
        }
    }

    // The signer: exactly one, naming the trusted leaf.
    let leaf_der = chain_der.first().ok_or_else(|| VerifyError::Chain("empty".into()))?;
    let leaf = Certificate::from_der(leaf_der).map_err(|e| VerifyError::Chain(e.to_string()))?;
    let signers = signed_data.signer_infos.0.as_slice();
    let [signer] = signers else { return Err(VerifyError::SignerCount(signers.len())) };
    let names_leaf = match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == leaf.tbs_certificate.issuer && ias.serial_number == leaf.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(_) => false,
    };
    if !names_leaf {
        return Err(VerifyError::SignerNotTrusted);
    }
    let mut embedded_certificate = false;
    for choice in signed_data.certificates.iter().flat_map(|s| s.0.iter()) {
        if let CertificateChoices::Certificate(c) = choice {
            if c.tbs_certificate.serial_number == leaf.tbs_certificate.serial_number
                && c.tbs_certificate.issuer == leaf.tbs_certificate.issuer
            {
                if c.to_der().map_err(malformed)? != *leaf_der {
                    return Err(VerifyError::SignerNotTrusted);
                }
                embedded_certificate = true;
            }
        }
    }

    // The signed attributes.
    let attrs = signer.signed_attrs.as_ref().ok_or_else(|| VerifyError::SignedAttributes("absent".into()))?;
    let single = |oid: ObjectIdentifier, name: &str| {
        let found: Vec<_> = attrs.iter().filter(|a| a.oid == oid).collect();
        match found.as_slice() {
            [a] if a.values.len() == 1 => Ok(a.values.get(0).expect("one value").clone()),
            _ => Err(VerifyError::SignedAttributes(format!("{name} must appear once with one value"))),
        }
    };
    let content_type: ObjectIdentifier = single(oid::CONTENT_TYPE, "contentType")?
        .decode_as()
        .map_err(|e| VerifyError::SignedAttributes(e.to_string()))?;
    if content_type != oid::TST_INFO {
        return Err(VerifyError::SignedAttributes("contentType is not id-ct-TSTInfo".into()));
    }
    let digest_alg = hash_from_oid(&signer.digest_alg.oid)
        .ok_or_else(|| VerifyError::SignedAttributes(format!("unsupported digest {}", signer.digest_alg.oid)))?;
    let message_digest: OctetString = single(oid::MESSAGE_DIGEST, "messageDigest")?
        .decode_as()
        .map_err(|e| VerifyError::SignedAttributes(e.to_string()))?;
    if message_digest.as_bytes() != sigstead_crypto::digest(digest_alg, tst_der) {
        return Err(VerifyError::MessageDigestMismatch);
    }
    let signing_cert: SigningCertificateV2 = single(oid::SIGNING_CERTIFICATE_V2, "signingCertificateV2")?
        .decode_as()
        .map_err(|e| VerifyError::SignedAttributes(e.to_string()))?;
    let first = signing_cert.certs.first().ok_or(VerifyError::SigningCertificateMismatch)?;
    let cert_hash_alg = match &first.hash_algorithm {
        None => HashAlgorithm::Sha256,
        Some(a) => hash_from_oid(&a.oid)
            .ok_or_else(|| VerifyError::SignedAttributes(format!("unsupported ESS hash {}", a.oid)))?,
    };
    if first.cert_hash.as_bytes() != sigstead_crypto::digest(cert_hash_alg, leaf_der) {
        return Err(VerifyError::SigningCertificateMismatch);
    }

    // The signature, over the attributes' DER as a SET OF.
    let leaf_key = spki_key(&leaf).map_err(VerifyError::Chain)?;
    let signed = attrs.to_der().map_err(malformed)?;
    leaf_key
        .verify_prehash(digest_alg, &sigstead_crypto::digest(digest_alg, &signed), signer.signature.as_bytes())
        .map_err(|_| VerifyError::BadSignature)?;

    // The chain at genTime.
    let gen_time = tst.gen_time.to_system_time();
    verify_chain(chain_der, gen_time)?;
    check_timestamping_eku(&leaf).map_err(VerifyError::Chain)?;
    Ok(VerifiedTimestamp {
        gen_time,
        serial: tst.serial_number.as_bytes().to_vec(),
        policy: tst.policy,
        embedded_certificate,
    })
}

fn spki_key(cert: &Certificate) -> Result<PublicKey, String> {
    sigstead_crypto::chain::certificate_key(cert)
}

/// Each certificate signed by the next, the last by itself, all valid at `at`
/// (`sigstead_crypto::chain`, with this verifier's errors).
fn verify_chain(chain_der: &[Vec<u8>], at: SystemTime) -> Result<(), VerifyError> {
    use sigstead_crypto::chain::ChainError;
    sigstead_crypto::chain::verify_chain(chain_der, at).map_err(|e| match e {
        ChainError::OutsideValidity(i) => VerifyError::OutsideValidity(i),
        ChainError::Malformed(_, m) => VerifyError::Chain(m),
        ChainError::NotIssuedByNext(i) => VerifyError::Chain(format!("certificate {i} is not issued by the next")),
        ChainError::UnsupportedAlgorithm(i, e) => VerifyError::Chain(format!("certificate {i} is signed with {e}")),
        ChainError::BadSignature(i) => VerifyError::Chain(format!("the signature on certificate {i} does not verify")),
        ChainError::Empty => VerifyError::Chain("empty".into()),
    })
}
