//! The timestamp authority: a key, its chain and its policy, turning a
//! [`TimestampRequest`] into a DER `TimeStampResp`.

use crate::asn1::{self, EssCertIdV2, IssuerSerial, PkiStatusInfo, SigningCertificateV2, TimeStampResp};
use crate::request::{FailureInfo, Rejection, TimestampRequest};
use crate::{hash_oid, oid};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sigstead_crypto::{EcCurve, HashAlgorithm, PublicKey, Signer};
use spki::AlgorithmIdentifierOwned;
use std::sync::Arc;
use std::time::SystemTime;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::Certificate;
use x509_tsp::{Accuracy, TspVersion, TstInfo};

/// Errors building the authority or a token. None is the client's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("the certificate chain is empty")]
    EmptyChain,
    #[error("certificate {index} of the chain does not parse: {reason}")]
    BadCertificate { index: usize, reason: String },
    #[error("the TSA key does not match the leaf certificate's public key")]
    KeyMismatch,
    #[error("the TSA key must be ECDSA P-256 or P-384")]
    UnsupportedKey,
    #[error(
        "the leaf certificate must carry a critical extendedKeyUsage of id-kp-timeStamping only (RFC 3161 §2.3): {0}"
    )]
    NotATimestampingCertificate(String),
    #[error("accuracy must be below 1000 ms in its millisecond part, got {0} ms")]
    BadAccuracy(u64),
    #[error("encoding the response: {0}")]
    Encoding(String),
    #[error("signing: {0}")]
    Signing(String),
}

/// Why no token was issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The authority declines the request (answered with [`rejection_response`]).
    #[error(transparent)]
    Declined(#[from] Rejection),
    /// The authority failed (a signer or encoding error).
    #[error(transparent)]
    Failed(#[from] AuthorityError),
}

fn enc(e: der::Error) -> AuthorityError {
    AuthorityError::Encoding(e.to_string())
}

/// What the operator configures about the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaSettings {
    /// The policy every token is issued under (`TSTInfo.policy`).
    pub policy: ObjectIdentifier,
    /// Further policies a client may request; a request for another is `unacceptedPolicy`.
    pub accepted_policies: Vec<ObjectIdentifier>,
    /// The accuracy stated in each token, in milliseconds (0: none stated).
    pub accuracy_ms: u64,
    /// Imprint hash algorithms accepted; another is `badAlg`.
    pub hash_algorithms: Vec<HashAlgorithm>,
}

impl Default for TsaSettings {
    fn default() -> Self {
        Self {
            policy: oid::SIGSTORE_TSA_POLICY,
            accepted_policies: Vec::new(),
            accuracy_ms: 1000,
            hash_algorithms: vec![HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512],
        }
    }
}

/// A timestamp authority: its signer, its chain `[leaf, …, root]` and its settings.
pub struct TimestampAuthority {
    signer: Arc<dyn Signer>,
    digest: HashAlgorithm,
    signature_algorithm: ObjectIdentifier,
    chain_der: Vec<Vec<u8>>,
    leaf: Certificate,
    signing_certificate_v2: Attribute,
    settings: TsaSettings,
    accuracy: Option<Accuracy>,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("signer", &self.signer)
            .field("chain", &self.chain_der.len())
            .field("policy", &self.settings.policy.to_string())
            .finish()
    }
}

/// Checks that `cert` carries exactly a critical EKU `id-kp-timeStamping`.
pub fn check_timestamping_eku(cert: &Certificate) -> Result<(), String> {
    let exts = cert.tbs_certificate.extensions.as_deref().unwrap_or_default();
    let eku: Vec<_> = exts.iter().filter(|e| e.extn_id == oid::EXTENDED_KEY_USAGE).collect();
    let [eku] = eku.as_slice() else { return Err("no extendedKeyUsage extension".into()) };
    if !eku.critical {
        return Err("extendedKeyUsage is not critical".into());
    }
    let usages = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).map_err(|e| e.to_string())?;
    if usages.0 != [oid::KP_TIME_STAMPING] {
        let list: Vec<String> = usages.0.iter().map(ToString::to_string).collect();
        return Err(format!("extendedKeyUsage is [{}], not [id-kp-timeStamping]", list.join(", ")));
    }
    Ok(())
}

impl TimestampAuthority {
    /// Checks the chain against the key and builds the authority.
    pub fn new(
        signer: Arc<dyn Signer>,
        chain_der: Vec<Vec<u8>>,
        settings: TsaSettings,
    ) -> Result<Self, AuthorityError> {
        let leaf_der = chain_der.first().ok_or(AuthorityError::EmptyChain)?;
        for (index, der) in chain_der.iter().enumerate() {
            Certificate::from_der(der).map_err(|e| AuthorityError::BadCertificate { index, reason: e.to_string() })?;
        }
        let leaf = Certificate::from_der(leaf_der).expect("parsed above");
        let leaf_spki = leaf.tbs_certificate.subject_public_key_info.to_der().map_err(enc)?;
        if leaf_spki != signer.public_key_der() {
            return Err(AuthorityError::KeyMismatch);
        }
        let curve = PublicKey::from_spki_der(signer.public_key_der())
            .ok()
            .and_then(|k| k.ec_curve())
            .ok_or(AuthorityError::UnsupportedKey)?;
        let (digest, signature_algorithm) = match curve {
            EcCurve::P256 => (HashAlgorithm::Sha256, oid::ECDSA_WITH_SHA256),
            EcCurve::P384 => (HashAlgorithm::Sha384, oid::ECDSA_WITH_SHA384),
        };
        check_timestamping_eku(&leaf).map_err(AuthorityError::NotATimestampingCertificate)?;
        let accuracy = accuracy(settings.accuracy_ms)?;
        let signing_certificate_v2 = signing_certificate_v2(&leaf, leaf_der)?;
        Ok(Self { signer, digest, signature_algorithm, chain_der, leaf, signing_certificate_v2, settings, accuracy })
    }

    /// The chain `[leaf, …, root]`, DER.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// The chain as PEM, leaf first (`GET /api/v1/timestamp/certchain`).
    pub fn chain_pem(&self) -> String {
        self.chain_der.iter().map(|c| sigstead_crypto::pem_encode("CERTIFICATE", c)).collect()
    }

    /// The settings the authority issues under.
    pub fn settings(&self) -> &TsaSettings {
        &self.settings
    }

    /// Whether the authority serves `req` (its hash algorithm and requested policy).
    pub fn check(&self, req: &TimestampRequest) -> Result<(), Rejection> {
        if !self.settings.hash_algorithms.contains(&req.hash) {
            return Err(Rejection::new(FailureInfo::BadAlg, format!("{} imprints are not accepted", req.hash.name())));
        }
        if let Some(p) = &req.policy {
            if *p != self.settings.policy && !self.settings.accepted_policies.contains(p) {
                return Err(Rejection::new(FailureInfo::UnacceptedPolicy, format!("policy {p} is not served")));
            }
        }
        Ok(())
    }

    /// Issues a token for `req` with this `serial` (positive, unique) at
    /// `gen_time`, and returns the DER `TimeStampResp`. A request that
    /// [`check`](Self::check) declines is refused without signing anything.
    pub fn issue(&self, req: &TimestampRequest, serial: &[u8], gen_time: SystemTime) -> Result<Vec<u8>, IssueError> {
        self.check(req)?;
        let policy = req.policy.unwrap_or(self.settings.policy);
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy,
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::new(serial).map_err(enc)?,
            gen_time: GeneralizedTime::from_system_time(gen_time).map_err(enc)?,
            accuracy: self.accuracy.clone(),
            ordering: false,
            nonce: req.nonce.clone(),
            // The TSA's name, as upstream writes it; verifiers check it names the signer.
            tsa: Some(GeneralName::DirectoryName(self.leaf.tbs_certificate.subject.clone())),
            extensions: None,
        };
        let tst_der = tst_info.to_der().map_err(enc)?;
        let token = self.sign_token(&tst_der, req.cert_req)?;
        let resp = TimeStampResp {
            status: PkiStatusInfo { status: asn1::STATUS_GRANTED, status_string: None, fail_info: None },
            time_stamp_token: Some(token),
        };
        Ok(resp.to_der().map_err(enc)?)
    }

    fn sign_token(&self, tst_der: &[u8], include_certificate: bool) -> Result<ContentInfo, AuthorityError> {
        let digest_alg = AlgorithmIdentifierOwned { oid: hash_oid(self.digest), parameters: None };
        let message_digest = sigstead_crypto::digest(self.digest, tst_der);
        let signed_attrs: SetOfVec<Attribute> = SetOfVec::try_from(vec![
            attribute(oid::CONTENT_TYPE, Any::encode_from(&oid::TST_INFO).map_err(enc)?)?,
            attribute(
                oid::MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_digest).map_err(enc)?).map_err(enc)?,
            )?,
            self.signing_certificate_v2.clone(),
        ])
        .map_err(enc)?;
        // The signature covers the attributes' DER as a SET OF (RFC 5652 §5.4).
        let signature = self
            .signer
            .sign(&signed_attrs.to_der().map_err(enc)?)
            .map_err(|e| AuthorityError::Signing(e.to_string()))?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.leaf.tbs_certificate.issuer.clone(),
                serial_number: self.leaf.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: digest_alg.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned { oid: self.signature_algorithm, parameters: None },
            signature: OctetString::new(signature).map_err(enc)?,
            unsigned_attrs: None,
        };
        let certificates = if include_certificate {
            Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(self.leaf.clone())]).map_err(enc)?,
            ))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![digest_alg]).map_err(enc)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid::TST_INFO,
                econtent: Some(Any::encode_from(&OctetString::new(tst_der).map_err(enc)?).map_err(enc)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(enc)?),
        };
        Ok(ContentInfo { content_type: oid::SIGNED_DATA, content: Any::encode_from(&signed_data).map_err(enc)? })
    }
}

/// The DER `TimeStampResp` declining a request: status `rejection`, the
/// `failInfo` bit and the reason as `statusString`. Nothing is signed.
pub fn rejection_response(rejection: &Rejection) -> Vec<u8> {
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: asn1::STATUS_REJECTION,
            status_string: Some(vec![rejection.reason.clone()]),
            fail_info: Some(asn1::named_bit(rejection.failure.bit())),
        },
        time_stamp_token: None,
    };
    resp.to_der().expect("a status-only response encodes")
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, AuthorityError> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value]).map_err(enc)? })
}

fn accuracy(ms: u64) -> Result<Option<Accuracy>, AuthorityError> {
    if ms == 0 {
        return Ok(None);
    }
    let (seconds, millis) = (ms / 1000, ms % 1000);
    Ok(Some(Accuracy {
        seconds: (seconds > 0).then_some(seconds),
        millis: (millis > 0).then(|| i16::try_from(millis).map_err(|_| AuthorityError::BadAccuracy(ms))).transpose()?,
        micros: None,
    }))
}

/// The ESS `signingCertificateV2` attribute naming `leaf` by its SHA-256 and issuer/serial.
fn signing_certificate_v2(leaf: &Certificate, leaf_der: &[u8]) -> Result<Attribute, AuthorityError> {
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(sigstead_crypto::digest(HashAlgorithm::Sha256, leaf_der)).map_err(enc)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(leaf.tbs_certificate.issuer.clone())],
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    attribute(oid::SIGNING_CERTIFICATE_V2, Any::encode_from(&value).map_err(enc)?)
}
