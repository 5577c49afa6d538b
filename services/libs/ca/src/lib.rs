//! Certificate building for the Fulcio-compatible CA, without I/O.
//!
//! * [`generate_ca`]: a root and an intermediate for `sigstead ca init`;
//! * [`CaChain`]: the issuing intermediate (its key behind the workspace
//!   [`Signer`] trait, so PKCS#11 and KMS keys plug in) and its chain;
//! * [`CaChain::precertificate`] then [`CaChain::finalize`]: the two halves of
//!   issuance around the CT log. The final certificate is the precertificate
//!   with the poison extension replaced, in place, by the SCT list, so its TBS
//!   minus the SCT list is byte for byte what the log signed.
//!
//! `rcgen` writes the DER (it is the maintained builder, and signs through
//! any key implementing its `SigningKey` trait).

pub mod csr;
pub mod wire;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use sigstead_crypto::Signer;
use sigstead_ct::Sct;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaError {
    #[error("certificate building failed: {0}")]
    Build(String),
    #[error("the CA key does not match the issuing certificate")]
    KeyMismatch,
    #[error("the CA chain is empty")]
    EmptyChain,
    #[error("invalid identity for a certificate: {0}")]
    BadIdentity(String),
    #[error("CT: {0}")]
    Ct(#[from] sigstead_ct::CtError),
}

fn build_err(e: impl std::fmt::Display) -> CaError {
    CaError::Build(e.to_string())
}

/// A CA key usable by `rcgen`: ECDSA P-256 (SHA-256) or P-384 (SHA-384)
/// behind the workspace [`Signer`].
#[derive(Debug, Clone)]
pub struct CaKey {
    signer: Arc<dyn Signer>,
    point: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
}

impl CaKey {
    pub fn new(signer: Arc<dyn Signer>) -> Result<Self, CaError> {
        use der::Decode;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(signer.public_key_der()).map_err(build_err)?;
        let point = spki.subject_public_key.raw_bytes().to_vec();
        let algorithm =
            match sigstead_crypto::PublicKey::from_spki_der(signer.public_key_der()).map_err(build_err)?.ec_curve() {
                Some(sigstead_crypto::EcCurve::P256) => &rcgen::PKCS_ECDSA_P256_SHA256,
                Some(sigstead_crypto::EcCurve::P384) => &rcgen::PKCS_ECDSA_P384_SHA384,
                None => return Err(CaError::Build("a CA key must be ECDSA P-256 or P-384".into())),
            };
        Ok(Self { signer, point, algorithm })
    }
}

impl rcgen::PublicKeyData for CaKey {
    fn subject_public_key_info(&self) -> Vec<u8> {
        self.signer.public_key_der().to_vec()
    }
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

impl rcgen::SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.signer.sign(msg).map_err(|_| rcgen::Error::RingUnspecified)
    }
}

/// The key a leaf certifies, given as the client's SubjectPublicKeyInfo DER.
#[derive(Debug)]
struct SubjectKey {
    spki: Vec<u8>,
    bits: Vec<u8>,
}

impl rcgen::PublicKeyData for SubjectKey {
    fn subject_public_key_info(&self) -> Vec<u8> {
        self.spki.clone()
    }
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        // Only consulted for a default SPKI encoding, which is overridden above.
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The leaf's single subject alternative name and its Fulcio OID
/// extensions, in the profile vocabulary the OIDC crate produces.
pub use sigstead_profile::{oid, CertExtension, ExtensionEncoding, SubjectAltName};

/// Everything that goes into a code-signing leaf.
#[derive(Debug, Clone)]
pub struct LeafRequest {
    pub spki_der: Vec<u8>,
    pub san: SubjectAltName,
    pub extensions: Vec<CertExtension>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// 20 random bytes; the top bit is cleared to keep the serial positive.
    pub serial: [u8; 20],
}

/// The issuing CA: the intermediate's key and the chain `[intermediate, …, root]`.
pub struct CaChain {
    chain: Vec<Vec<u8>>,
    issuer: Issuer<'static, CaKey>,
    issuer_key_hash: [u8; 32],
}

impl std::fmt::Debug for CaChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaChain").field("certificates", &self.chain.len()).finish()
    }
}

/// A precertificate and what is needed to finalize it.
#[derive(Debug)]
pub struct Precertificate {
    pub der: Vec<u8>,
    params: CertificateParams,
    subject: SubjectKey,
}

const POISON: [u64; 10] = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];
const SCT_LIST: [u64; 10] = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
const SKI: [u64; 4] = [2, 5, 29, 14];
const USERNAME_OTHERNAME: [u64; 10] = [1, 3, 6, 1, 4, 1, 57264, 1, 7, 0];

fn octet_string_der(b: &[u8]) -> Result<Vec<u8>, CaError> {
    use der::Encode;
    der::asn1::OctetStringRef::new(b).and_then(|o| o.to_der()).map_err(build_err)
}

impl CaChain {
    /// `chain` is `[issuing intermediate, …, root]` as DER; `key` must be the intermediate's.
    pub fn new(chain: Vec<Vec<u8>>, key: Arc<dyn Signer>) -> Result<Self, CaError> {
        use der::{Decode, Encode};
        let first = chain.first().ok_or(CaError::EmptyChain)?;
        let cert = x509_cert::Certificate::from_der(first).map_err(build_err)?;
        let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(build_err)?;
        if spki != key.public_key_der() {
            return Err(CaError::KeyMismatch);
        }
        let issuer_key_hash = Sha256::digest(&spki).into();
        let issuer = Issuer::from_ca_cert_der(&rustls_pki_types::CertificateDer::from(first.clone()), CaKey::new(key)?)
            .map_err(build_err)?;
        Ok(Self { chain, issuer, issuer_key_hash })
    }

    /// `[intermediate, …, root]` DER.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// SHA-256 of the issuing CA's SubjectPublicKeyInfo (CT `issuer_key_hash`).
    pub fn issuer_key_hash(&self) -> [u8; 32] {
        self.issuer_key_hash
    }

    /// Builds and signs the precertificate (poison extension last).
    pub fn precertificate(&self, req: &LeafRequest) -> Result<Precertificate, CaError> {
        use der::Decode;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&req.spki_der).map_err(build_err)?;
        let bits = spki.subject_public_key.raw_bytes().to_vec();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.not_before = req.not_before;
        params.not_after = req.not_after;
        let mut serial = req.serial;
        serial[0] &= 0x7f;
        if serial[0] == 0 {
            serial[0] = 0x01;
        }
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names = vec![match &req.san {
            SubjectAltName::Email(e) => {
                SanType::Rfc822Name(e.clone().try_into().map_err(|_| CaError::BadIdentity(e.clone()))?)
            }
            SubjectAltName::Uri(u) => SanType::URI(u.clone().try_into().map_err(|_| CaError::BadIdentity(u.clone()))?),
            SubjectAltName::OtherNameUsername(u) => {
                SanType::OtherName((USERNAME_OTHERNAME[..9].to_vec(), rcgen::OtherNameValue::Utf8String(u.clone())))
            }
        }];
        // Subject key identifier: leftmost 160 bits of SHA-256 of the key (RFC 7093 §2 method 1).
        let ski = &Sha256::digest(&bits)[..20];
        params.custom_extensions.push(CustomExtension::from_oid_content(&SKI, octet_string_der(ski)?));
        for ext in &req.extensions {
            params.custom_extensions.push(CustomExtension::from_oid_content(&ext.oid_arcs(), ext.der_value()));
        }
        let mut poison = CustomExtension::from_oid_content(&POISON, vec![0x05, 0x00]);
        poison.set_criticality(true);
        params.custom_extensions.push(poison);
        let subject = SubjectKey { spki: req.spki_der.clone(), bits };
        let der = params.signed_by(&subject, &self.issuer).map_err(build_err)?.der().to_vec();
        Ok(Precertificate { der, params, subject })
    }

    /// The CT entry an SCT for this precertificate covers.
    pub fn ct_entry(&self, pre: &Precertificate) -> Result<sigstead_ct::LogEntry, CaError> {
        Ok(sigstead_ct::LogEntry::Precert {
            issuer_key_hash: self.issuer_key_hash,
            tbs: sigstead_ct::precert_tbs(&pre.der)?,
        })
    }

    /// The final certificate: the poison replaced by the SCT list, signed again.
    pub fn finalize(&self, pre: Precertificate, scts: &[Sct]) -> Result<Vec<u8>, CaError> {
        let mut params = pre.params;
        let last =
            params.custom_extensions.pop().ok_or_else(|| CaError::Build("precertificate lost its poison".into()))?;
        debug_assert!(last.criticality());
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(&SCT_LIST, sigstead_ct::sct_list_extension_value(scts)?));
        let der = params.signed_by(&pre.subject, &self.issuer).map_err(build_err)?.der().to_vec();
        // The log signed the precertificate TBS; make sure that is what the final certificate carries.
        let (tbs, _) = sigstead_ct::final_cert_tbs_and_scts(&der)?;
        if tbs != sigstead_ct::precert_tbs(&pre.der)? {
            return Err(CaError::Build("final certificate TBS differs from the precertificate".into()));
        }
        Ok(der)
    }
}

/// Subject of a CA certificate.
fn ca_name(organization: &str, common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Creates a root (self-signed, path length 1) and an issuing intermediate
/// (path length 0, EKU codeSigning as Go's verifier requires) valid from
/// `not_before` for `years`. Returns `(root DER, intermediate DER)`.
pub fn generate_ca(
    organization: &str,
    root_key: Arc<dyn Signer>,
    intermediate_key: Arc<dyn Signer>,
    not_before: OffsetDateTime,
    years: i64,
) -> Result<(Vec<u8>, Vec<u8>), CaError> {
    let root_key = CaKey::new(root_key)?;
    let mut root = CertificateParams::default();
    root.distinguished_name = ca_name(organization, &format!("{organization} root"));
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.key_identifier_method = KeyIdMethod::Sha256;
    root.not_before = not_before;
    root.not_after = not_before + time::Duration::days(365 * years);
    root.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let root_cert = root.self_signed(&root_key).map_err(build_err)?;
    let root_issuer = Issuer::from_params(&root, &root_key);

    let inter_key = CaKey::new(intermediate_key)?;
    let mut inter = CertificateParams::default();
    inter.distinguished_name = ca_name(organization, &format!("{organization} intermediate"));
    inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    inter.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    inter.use_authority_key_identifier_extension = true;
    inter.key_identifier_method = KeyIdMethod::Sha256;
    inter.not_before = not_before;
    inter.not_after = root.not_after;
    inter.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let inter_cert = inter.signed_by(&inter_key, &root_issuer).map_err(build_err)?;
    Ok((root_cert.der().to_vec(), inter_cert.der().to_vec()))
}

fn random_serial() -> [u8; 20] {
    let mut b = [0u8; 20];
    // The OS RNG failing is not recoverable for a CA.
    aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
    b[0] &= 0x7f;
    b[0] |= 0x01;
    b
}

/// A fresh random serial for a leaf.
pub fn new_serial() -> [u8; 20] {
    random_serial()
}

/// The keys and names of a timestamp authority's chain (`sigstead tsa init`).
#[derive(Debug, Clone)]
pub struct TsaChainRequest {
    pub organization: String,
    pub root_key: Arc<dyn Signer>,
    /// An intermediate between the root and the leaf, if wanted.
    pub intermediate_key: Option<Arc<dyn Signer>>,
    /// The TSA's signing key: the leaf certifies it.
    pub leaf_key: Arc<dyn Signer>,
    pub not_before: OffsetDateTime,
    pub years: i64,
}

/// `id-kp-timeStamping`.
const KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
const EXTENDED_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];

/// Builds a TSA chain `[leaf, (intermediate,) root]` (DER). The leaf has
/// no subject alternative name, keyUsage digitalSignature and a **critical**
/// extendedKeyUsage of `id-kp-timeStamping` only (RFC 3161 §2.3); an
/// intermediate carries a non-critical timeStamping EKU so that verifiers
/// that nest EKU constraints (Go's) accept the leaf through it.
pub fn generate_tsa_chain(req: &TsaChainRequest) -> Result<Vec<Vec<u8>>, CaError> {
    use der::Encode;
    let not_after = req.not_before + time::Duration::days(365 * req.years);
    let org = req.organization.as_str();
    let root_key = CaKey::new(req.root_key.clone())?;
    let mut root = CertificateParams::default();
    root.distinguished_name = ca_name(org, &format!("{org} timestamping root"));
    let depth = u8::from(req.intermediate_key.is_some());
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(depth));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.key_identifier_method = KeyIdMethod::Sha256;
    root.not_before = req.not_before;
    root.not_after = not_after;
    root.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let root_cert = root.self_signed(&root_key).map_err(build_err)?;
    let mut chain = vec![root_cert.der().to_vec()];

    let inter_key = req.intermediate_key.clone().map(CaKey::new).transpose()?;
    let mut inter = CertificateParams::default();
    if let Some(key) = &inter_key {
        inter.distinguished_name = ca_name(org, &format!("{org} timestamping intermediate"));
        inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        inter.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping];
        inter.use_authority_key_identifier_extension = true;
        inter.key_identifier_method = KeyIdMethod::Sha256;
        inter.not_before = req.not_before;
        inter.not_after = not_after;
        inter.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let cert = inter.signed_by(key, &Issuer::from_params(&root, &root_key)).map_err(build_err)?;
        chain.insert(0, cert.der().to_vec());
    }

    let leaf_key = CaKey::new(req.leaf_key.clone())?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = ca_name(org, &format!("{org} timestamp authority"));
    leaf.is_ca = IsCa::NoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_identifier_method = KeyIdMethod::Sha256;
    leaf.not_before = req.not_before;
    leaf.not_after = not_after;
    leaf.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let eku = x509_cert::ext::pkix::ExtendedKeyUsage(vec![der::asn1::ObjectIdentifier::new_unwrap(KP_TIME_STAMPING)])
        .to_der()
        .map_err(build_err)?;
    let mut eku = CustomExtension::from_oid_content(&EXTENDED_KEY_USAGE, eku);
    eku.set_criticality(true);
    leaf.custom_extensions.push(eku);
    let leaf_cert = match &inter_key {
        Some(key) => leaf.signed_by(&leaf_key, &Issuer::from_params(&inter, key)),
        None => leaf.signed_by(&leaf_key, &Issuer::from_params(&root, &root_key)),
    }
    .map_err(build_err)?;
    chain.insert(0, leaf_cert.der().to_vec());
    Ok(chain)
}
