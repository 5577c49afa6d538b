//! RFC 6962 Certificate Transparency structures, without I/O: Merkle tree
//! leaves, signed certificate timestamps (SCTs) and their embedding, signed
//! tree heads, and the precertificate TBS surgery both the CA and the log
//! need (remove the poison or the SCT list, keep every other byte).
//!
//! Written here because the maintained Rust CT crates are client/monitor
//! oriented (parsing, not producing SCTs or tree-head signatures) and would
//! each bring their own X.509 stack; this crate uses the workspace's
//! `x509-cert`/`der`.

pub mod wire;

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use sigstead_crypto::{CryptoError, PublicKey, Signer};
use x509_cert::ext::Extension;
use x509_cert::{Certificate, TbsCertificate};

/// Precertificate poison extension (RFC 6962 §3.1), critical, value NULL.
pub const OID_POISON: &str = "1.3.6.1.4.1.11129.2.4.3";
/// Embedded SCT list extension (RFC 6962 §3.3).
pub const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtError {
    #[error("certificate does not parse: {0}")]
    BadCertificate(String),
    #[error("not a precertificate: the poison extension is missing or not critical")]
    NotPrecertificate,
    #[error("a final certificate must not carry the poison extension")]
    PoisonInFinal,
    #[error("{0} is too large for its TLS length prefix")]
    TooLarge(&'static str),
    #[error("malformed SCT list")]
    MalformedSctList,
    #[error("malformed extra_data: {0}")]
    Malformed(&'static str),
    #[error("empty chain")]
    EmptyChain,
    #[error("signature: {0}")]
    Signature(#[from] CryptoError),
}

fn oid(s: &str) -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap(s)
}

/// What an SCT or a leaf is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry {
    /// `x509_entry`: a final certificate (DER).
    X509(Vec<u8>),
    /// `precert_entry`: SHA-256 of the issuer's SubjectPublicKeyInfo, and the
    /// precertificate's TBS without the poison extension.
    Precert { issuer_key_hash: [u8; 32], tbs: Vec<u8> },
}

fn u24(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), CtError> {
    let n = u32::try_from(data.len()).ok().filter(|n| *n < (1 << 24)).ok_or(CtError::TooLarge(what))?;
    out.extend_from_slice(&n.to_be_bytes()[1..]);
    out.extend_from_slice(data);
    Ok(())
}

fn u16_prefixed(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), CtError> {
    let n = u16::try_from(data.len()).map_err(|_| CtError::TooLarge(what))?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

impl LogEntry {
    fn entry_type(&self) -> u16 {
        match self {
            Self::X509(_) => 0,
            Self::Precert { .. } => 1,
        }
    }

    fn signed_entry(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        match self {
            Self::X509(cert) => u24(out, cert, "certificate"),
            Self::Precert { issuer_key_hash, tbs } => {
                out.extend_from_slice(issuer_key_hash);
                u24(out, tbs, "TBS certificate")
            }
        }
    }

    /// The RFC 6962 `MerkleTreeLeaf` (v1, timestamped entry, no extensions):
    /// the bytes the log hashes into its tree.
    pub fn merkle_tree_leaf(&self, timestamp_ms: u64) -> Result<Vec<u8>, CtError> {
        let mut out = vec![0u8, 0u8];
        out.extend_from_slice(&timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.entry_type().to_be_bytes());
        self.signed_entry(&mut out)?;
        out.extend_from_slice(&[0, 0]);
        Ok(out)
    }

    /// The bytes an SCT signature covers (`digitally-signed` struct of RFC 6962 §3.2).
    pub fn sct_signature_input(&self, timestamp_ms: u64) -> Result<Vec<u8>, CtError> {
        let mut out = vec![0u8, 0u8]; // v1, certificate_timestamp
        out.extend_from_slice(&timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.entry_type().to_be_bytes());
        self.signed_entry(&mut out)?;
        out.extend_from_slice(&[0, 0]); // no CtExtensions
        Ok(out)
    }
}

/// A v1 signed certificate timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sct {
    pub log_id: [u8; 32],
    pub timestamp_ms: u64,
    /// ASN.1 DER ECDSA signature (SHA-256).
    pub signature: Vec<u8>,
}

/// TLS `HashAlgorithm.sha256` and `SignatureAlgorithm.ecdsa`.
const HASH_SHA256: u8 = 4;
const SIG_ECDSA: u8 = 3;

impl Sct {
    /// Signs an SCT for `entry` with the log key.
    pub fn sign(entry: &LogEntry, timestamp_ms: u64, log_key: &dyn Signer) -> Result<Self, CtError> {
        let signature = log_key.sign(&entry.sct_signature_input(timestamp_ms)?)?;
        Ok(Self { log_id: sigstead_crypto::log_id(log_key.public_key_der()), timestamp_ms, signature })
    }

    /// Verifies the SCT over `entry` with the log's public key.
    pub fn verify(&self, entry: &LogEntry, log_spki_der: &[u8]) -> Result<(), CtError> {
        if sigstead_crypto::log_id(log_spki_der) != self.log_id {
            return Err(CtError::Signature(CryptoError::BadSignature));
        }
        let key = PublicKey::from_spki_der(log_spki_der)?;
        key.verify(&entry.sct_signature_input(self.timestamp_ms)?, &self.signature)?;
        Ok(())
    }

    /// The `digitally-signed` signature field: hash, signature algorithm, u16 length, signature.
    pub fn digitally_signed(&self) -> Result<Vec<u8>, CtError> {
        let mut out = vec![HASH_SHA256, SIG_ECDSA];
        u16_prefixed(&mut out, &self.signature, "SCT signature")?;
        Ok(out)
    }

    /// TLS serialisation of the SCT (as carried in an SCT list).
    pub fn to_tls(&self) -> Result<Vec<u8>, CtError> {
        let mut out = vec![0u8];
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.digitally_signed()?);
        Ok(out)
    }

    /// Parses one TLS-serialised SCT.
    pub fn from_tls(b: &[u8]) -> Result<Self, CtError> {
        let bad = || CtError::MalformedSctList;
        if b.len() < 1 + 32 + 8 + 2 + 2 + 2 || b[0] != 0 {
            return Err(bad());
        }
        let log_id: [u8; 32] = b[1..33].try_into().map_err(|_| bad())?;
        let timestamp_ms = u64::from_be_bytes(b[33..41].try_into().map_err(|_| bad())?);
        let ext_len = usize::from(u16::from_be_bytes([b[41], b[42]]));
        let rest = b.get(43 + ext_len..).ok_or_else(bad)?;
        if rest.len() < 4 || rest[0] != HASH_SHA256 || rest[1] != SIG_ECDSA {
            return Err(bad());
        }
        let sig_len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        if rest.len() != 4 + sig_len {
            return Err(bad());
        }
        Ok(Self { log_id, timestamp_ms, signature: rest[4..].to_vec() })
    }

    /// The JSON answer of `add-chain` / `add-pre-chain`.
    pub fn to_json(&self) -> Result<serde_json::Value, CtError> {
        use base64::{engine::general_purpose::STANDARD, Engine};
        Ok(serde_json::json!({
            "sct_version": 0,
            "id": STANDARD.encode(self.log_id),
            "timestamp": self.timestamp_ms,
            "extensions": "",
            "signature": STANDARD.encode(self.digitally_signed()?),
        }))
    }

    /// Parses an `add-chain` / `add-pre-chain` answer ([`Sct::to_json`]'s
    /// shape): a v1 SCT whose `signature` is a TLS `DigitallySigned` with
    /// SHA-256 + ECDSA (4, 3) and an exact length. `None` for anything else.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        use base64::{engine::general_purpose::STANDARD, Engine};
        if v.get("sct_version")?.as_u64()? != 0 {
            return None;
        }
        let ds = STANDARD.decode(v.get("signature")?.as_str()?).ok()?;
        if ds.len() < 4 || ds[0] != 4 || ds[1] != 3 || usize::from(u16::from_be_bytes([ds[2], ds[3]])) != ds.len() - 4 {
            return None;
        }
        Some(Self {
            log_id: STANDARD.decode(v.get("id")?.as_str()?).ok()?.try_into().ok()?,
            timestamp_ms: v.get("timestamp")?.as_u64()?,
            signature: ds[4..].to_vec(),
        })
    }
}

/// The value of the SCT list extension: an OCTET STRING holding
/// `u16 list length ‖ (u16 SCT length ‖ SCT)*`.
pub fn sct_list_extension_value(scts: &[Sct]) -> Result<Vec<u8>, CtError> {
    let mut list = Vec::new();
    for s in scts {
        u16_prefixed(&mut list, &s.to_tls()?, "SCT")?;
    }
    let mut inner = Vec::new();
    u16_prefixed(&mut inner, &list, "SCT list")?;
    der::asn1::OctetString::new(inner).and_then(|o| o.to_der()).map_err(|_| CtError::TooLarge("SCT list"))
}

/// Parses the SCT list extension value back into SCTs.
pub fn parse_sct_list_extension(value: &[u8]) -> Result<Vec<Sct>, CtError> {
    let octets = der::asn1::OctetString::from_der(value).map_err(|_| CtError::MalformedSctList)?;
    let b = octets.as_bytes();
    if b.len() < 2 || usize::from(u16::from_be_bytes([b[0], b[1]])) != b.len() - 2 {
        return Err(CtError::MalformedSctList);
    }
    let mut rest = &b[2..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(CtError::MalformedSctList);
        }
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let sct = rest.get(2..2 + n).ok_or(CtError::MalformedSctList)?;
        out.push(Sct::from_tls(sct)?);
        rest = &rest[2 + n..];
    }
    Ok(out)
}

fn parse(cert_der: &[u8]) -> Result<Certificate, CtError> {
    Certificate::from_der(cert_der).map_err(|e| CtError::BadCertificate(e.to_string()))
}

fn tbs_without(tbs: &TbsCertificate, drop: &str) -> Result<(Vec<u8>, Option<Extension>), CtError> {
    let mut tbs = tbs.clone();
    let mut removed = None;
    if let Some(exts) = tbs.extensions.as_mut() {
        if let Some(pos) = exts.iter().position(|e| e.extn_id == oid(drop)) {
            removed = Some(exts.remove(pos));
        }
        if exts.is_empty() {
            tbs.extensions = None;
        }
    }
    let der = tbs.to_der().map_err(|e| CtError::BadCertificate(e.to_string()))?;
    Ok((der, removed))
}

/// The RFC 6962 `extra_data` of an entry submitted as `chain` (leaf first):
/// for `add-chain`, `certificate_chain` (the chain after the leaf); for
/// `add-pre-chain`, a `PrecertChainEntry` (the precertificate, then the chain
/// after it). Each certificate and each list carries a 24-bit length.
pub fn extra_data(precert: bool, chain: &[Vec<u8>]) -> Result<Vec<u8>, CtError> {
    let (first, rest) = chain.split_first().ok_or(CtError::EmptyChain)?;
    let mut list = Vec::new();
    for cert in rest {
        u24(&mut list, cert, "certificate")?;
    }
    let mut out = Vec::new();
    if precert {
        u24(&mut out, first, "precertificate")?;
    }
    u24(&mut out, &list, "certificate chain")?;
    Ok(out)
}

/// Splits `extra_data` back into certificates (the inverse of [`extra_data`]).
pub fn parse_extra_data(precert: bool, data: &[u8]) -> Result<Vec<Vec<u8>>, CtError> {
    fn take(b: &mut &[u8]) -> Result<Vec<u8>, CtError> {
        if b.len() < 3 {
            return Err(CtError::Malformed("truncated length"));
        }
        let n = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
        let rest = &b[3..];
        if rest.len() < n {
            return Err(CtError::Malformed("truncated element"));
        }
        let (item, tail) = rest.split_at(n);
        *b = tail;
        Ok(item.to_vec())
    }
    let mut b = data;
    let mut out = Vec::new();
    if precert {
        out.push(take(&mut b)?);
    }
    let list = take(&mut b)?;
    if !b.is_empty() {
        return Err(CtError::Malformed("trailing bytes"));
    }
    let mut l = list.as_slice();
    while !l.is_empty() {
        out.push(take(&mut l)?);
    }
    Ok(out)
}

#[cfg(test)]
mod extra_data_tests {
    use super::*;

    #[test]
    fn precert_chain_entry_layout() {
        let chain = vec![b"PRE".to_vec(), b"I".to_vec(), b"RT".to_vec()];
        let got = extra_data(true, &chain).unwrap();
        // 000003 "PRE" | 000009 ( 000001 "I" 000002 "RT" )
        assert_eq!(got, b"\x00\x00\x03PRE\x00\x00\x09\x00\x00\x01I\x00\x00\x02RT".to_vec());
        assert_eq!(parse_extra_data(true, &got).unwrap(), chain);
    }

    #[test]
    fn x509_chain_layout_omits_the_leaf() {
        let chain = vec![b"LEAF".to_vec(), b"I".to_vec()];
        let got = extra_data(false, &chain).unwrap();
        assert_eq!(got, b"\x00\x00\x04\x00\x00\x01I".to_vec());
        assert_eq!(parse_extra_data(false, &got).unwrap(), vec![b"I".to_vec()]);
        assert!(parse_extra_data(false, &got[..5]).is_err());
        assert!(parse_extra_data(false, &[got.clone(), vec![0]].concat()).is_err());
    }
}

/// For a precertificate: its TBS without the poison extension (what an SCT
/// signs). Fails if the certificate carries no critical poison.
pub fn precert_tbs(precert_der: &[u8]) -> Result<Vec<u8>, CtError> {
    let cert = parse(precert_der)?;
    let (tbs, removed) = tbs_without(&cert.tbs_certificate, OID_POISON)?;
    match removed {
        Some(ext) if ext.critical => Ok(tbs),
        _ => Err(CtError::NotPrecertificate),
    }
}

/// For a final certificate with embedded SCTs: its TBS without the SCT list
/// (which must equal the precertificate's TBS without poison) and the SCTs.
pub fn final_cert_tbs_and_scts(cert_der: &[u8]) -> Result<(Vec<u8>, Vec<Sct>), CtError> {
    let cert = parse(cert_der)?;
    if cert.tbs_certificate.extensions.iter().flatten().any(|e| e.extn_id == oid(OID_POISON)) {
        return Err(CtError::PoisonInFinal);
    }
    let (tbs, removed) = tbs_without(&cert.tbs_certificate, OID_SCT_LIST)?;
    let scts = match removed {
        Some(ext) => parse_sct_list_extension(ext.extn_value.as_bytes())?,
        None => Vec::new(),
    };
    Ok((tbs, scts))
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (the precert `issuer_key_hash`).
pub fn spki_hash(cert_der: &[u8]) -> Result<[u8; 32], CtError> {
    let cert = parse(cert_der)?;
    let spki =
        cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| CtError::BadCertificate(e.to_string()))?;
    Ok(Sha256::digest(spki).into())
}

/// Signs an RFC 6962 tree head: `TreeHeadSignature` (v1, tree_hash, timestamp,
/// tree size, root) as a `digitally-signed` struct.
pub fn sign_tree_head(
    timestamp_ms: u64,
    tree_size: u64,
    root: &[u8; 32],
    key: &dyn Signer,
) -> Result<Vec<u8>, CtError> {
    let sig = key.sign(&tree_head_input(timestamp_ms, tree_size, root))?;
    let mut out = vec![HASH_SHA256, SIG_ECDSA];
    u16_prefixed(&mut out, &sig, "tree head signature")?;
    Ok(out)
}

/// Verifies a `digitally-signed` tree head signature.
pub fn verify_tree_head(
    timestamp_ms: u64,
    tree_size: u64,
    root: &[u8; 32],
    signed: &[u8],
    spki: &[u8],
) -> Result<(), CtError> {
    if signed.len() < 4 || signed[0] != HASH_SHA256 || signed[1] != SIG_ECDSA {
        return Err(CtError::Signature(CryptoError::MalformedSignature));
    }
    let n = usize::from(u16::from_be_bytes([signed[2], signed[3]]));
    if signed.len() != 4 + n {
        return Err(CtError::Signature(CryptoError::MalformedSignature));
    }
    PublicKey::from_spki_der(spki)?.verify(&tree_head_input(timestamp_ms, tree_size, root), &signed[4..])?;
    Ok(())
}

fn tree_head_input(timestamp_ms: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut out = vec![0u8, 1u8]; // v1, tree_hash
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&tree_size.to_be_bytes());
    out.extend_from_slice(root);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_crypto::EcdsaSigner;

    #[test]
    fn sct_round_trips_and_verifies() {
        let key = EcdsaSigner::generate_p256();
        let entry = LogEntry::Precert { issuer_key_hash: [7; 32], tbs: vec![0x30, 0x03, 0x02, 0x01, 0x01] };
        let sct = Sct::sign(&entry, 1_700_000_000_123, &key).unwrap();
        sct.verify(&entry, key.public_key_der()).unwrap();
        let ext = sct_list_extension_value(std::slice::from_ref(&sct)).unwrap();
        assert_eq!(parse_sct_list_extension(&ext).unwrap(), vec![sct.clone()]);
        let other = LogEntry::Precert { issuer_key_hash: [8; 32], tbs: vec![0x30, 0x03, 0x02, 0x01, 0x01] };
        assert!(sct.verify(&other, key.public_key_der()).is_err(), "wrong-issuer-key-hash");
        assert!(sct.verify(&entry, EcdsaSigner::generate_p256().public_key_der()).is_err(), "wrong-log-key");
    }

    #[test]
    fn sct_json_is_parsed_as_it_is_written() {
        use base64::{engine::general_purpose::STANDARD, Engine};
        let key = EcdsaSigner::generate_p256();
        let entry = LogEntry::Precert { issuer_key_hash: [9; 32], tbs: vec![0x30, 0x00] };
        let sct = Sct::sign(&entry, 1_700_000_000_456, &key).unwrap();
        let json = sct.to_json().unwrap();
        let back = Sct::from_json(&json).unwrap();
        assert_eq!((back.log_id, back.timestamp_ms, &back.signature), (sct.log_id, sct.timestamp_ms, &sct.signature));
        back.verify(&entry, key.public_key_der()).unwrap();
        // wrong-version, truncated-signature, wrong-algorithm, log-id-not-32-bytes
        let mut v = json.clone();
        v["sct_version"] = 1.into();
        assert!(Sct::from_json(&v).is_none());
        let ds = STANDARD.decode(json["signature"].as_str().unwrap()).unwrap();
        let mut v = json.clone();
        v["signature"] = STANDARD.encode(&ds[..ds.len() - 1]).into();
        assert!(Sct::from_json(&v).is_none());
        let mut rsa = ds.clone();
        rsa[1] = 1;
        let mut v = json.clone();
        v["signature"] = STANDARD.encode(&rsa).into();
        assert!(Sct::from_json(&v).is_none());
        let mut v = json;
        v["id"] = STANDARD.encode([0u8; 31]).into();
        assert!(Sct::from_json(&v).is_none());
    }

    #[test]
    fn leaf_layout() {
        let leaf = LogEntry::X509(vec![1, 2, 3]).merkle_tree_leaf(5).unwrap();
        assert_eq!(leaf, [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 3, 1, 2, 3, 0, 0]);
    }

    #[test]
    fn tree_head_signature() {
        let key = EcdsaSigner::generate_p256();
        let s = sign_tree_head(10, 20, &[1; 32], &key).unwrap();
        verify_tree_head(10, 20, &[1; 32], &s, key.public_key_der()).unwrap();
        assert!(verify_tree_head(10, 21, &[1; 32], &s, key.public_key_der()).is_err());
    }

    /// The real production Fulcio leaf carries one SCT from ctfe.sigstore.dev;
    /// our TBS surgery must reproduce exactly what that log signed.
    #[test]
    fn production_fulcio_sct_verifies_through_our_tbs_surgery() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/vectors/api/fulcio");
        let chain = std::fs::read(dir.join("sigstore-java-certWithSct.pem")).unwrap();
        let certs = sigstead_crypto::pem_decode_all(&chain);
        let (leaf, issuer) = (&certs[0].1, &certs[1].1);
        let (tbs, scts) = final_cert_tbs_and_scts(leaf).unwrap();
        assert_eq!(scts.len(), 1);
        let ctfe =
            sigstead_crypto::pem_decode_first(&std::fs::read(dir.join("sigstore-java-ctfe.pub")).unwrap()).unwrap().1;
        let entry = LogEntry::Precert { issuer_key_hash: spki_hash(issuer).unwrap(), tbs };
        scts[0].verify(&entry, &ctfe).expect("the production SCT verifies over our reconstructed precert entry");
        let mut tampered = entry.clone();
        if let LogEntry::Precert { tbs, .. } = &mut tampered {
            let n = tbs.len();
            tbs[n - 40] ^= 1;
        }
        assert!(scts[0].verify(&tampered, &ctfe).is_err());
    }
}
