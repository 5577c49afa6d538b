//! The CT log's domain layer: chain checks against the accepted roots,
//! leaves and `extra_data`, appends on the log engine, SCTs.

use crate::CtApiError;
use base64::{engine::general_purpose::STANDARD, Engine};
use der::{Decode, Encode};
use sigstead_crypto::{PublicKey, Signer};
use sigstead_ct::{LogEntry, Sct};
use sigstead_tlog::{AppendOutcome, CheckpointSigner, Log, TreeSize};
use std::sync::Arc;

/// Signs RFC 6962 tree heads; the stored form is the `get-sth` JSON.
#[derive(Debug)]
pub struct SthSigner(pub Arc<dyn Signer>);

impl CheckpointSigner for SthSigner {
    fn sign(&self, size: TreeSize, root: &[u8; 32], timestamp_ms: u64) -> Result<String, sigstead_tlog::Error> {
        let sig = sigstead_ct::sign_tree_head(timestamp_ms, size.0, root, self.0.as_ref())
            .map_err(|e| sigstead_tlog::Error::Signing(e.to_string()))?;
        serde_json::to_string(&sigstead_ct::wire::SignedTreeHead {
            tree_size: size.0,
            timestamp: timestamp_ms,
            sha256_root_hash: STANDARD.encode(root),
            tree_head_signature: STANDARD.encode(sig),
        })
        .map_err(|e| sigstead_tlog::Error::Signing(e.to_string()))
    }
}

/// The CT log: engine, key and accepted roots.
#[derive(Debug, Clone)]
pub struct CtLog {
    pub(crate) log: Log,
    key: Arc<dyn Signer>,
    pub(crate) roots: Arc<Vec<Vec<u8>>>,
}

fn now_ms() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn signature_ok(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok(cert), Ok(issuer)) =
        (x509_cert::Certificate::from_der(cert_der), x509_cert::Certificate::from_der(issuer_der))
    else {
        return false;
    };
    let Ok(spki) = issuer.tbs_certificate.subject_public_key_info.to_der() else { return false };
    let Ok(key) = PublicKey::from_spki_der(&spki) else { return false };
    let Ok(tbs) = cert.tbs_certificate.to_der() else { return false };
    cert.tbs_certificate.issuer == issuer.tbs_certificate.subject
        && key.verify(&tbs, cert.signature.raw_bytes()).is_ok()
}

impl CtLog {
    pub fn new(log: Log, key: Arc<dyn Signer>, roots: Vec<Vec<u8>>) -> Self {
        Self { log, key, roots: Arc::new(roots) }
    }

    pub fn engine(&self) -> &Log {
        &self.log
    }

    /// Checks that every certificate is signed by the next and the chain ends at an accepted root.
    fn check_chain(&self, chain: &[Vec<u8>]) -> Result<(), CtApiError> {
        for pair in chain.windows(2) {
            if !signature_ok(&pair[0], &pair[1]) {
                return Err(CtApiError::BadRequest(
                    "chain does not verify: a certificate is not signed by the next".into(),
                ));
            }
        }
        let last = chain.last().ok_or_else(|| CtApiError::BadRequest("empty chain".into()))?;
        let anchored = self.roots.iter().any(|r| r == last || signature_ok(last, r));
        if anchored {
            Ok(())
        } else {
            Err(CtApiError::BadRequest("chain does not end at an accepted root".into()))
        }
    }

    /// `add-chain` / `add-pre-chain`: logs the entry, then returns its SCT.
    pub async fn add(&self, chain_b64: &[String], precert: bool) -> Result<Sct, CtApiError> {
        let chain: Vec<Vec<u8>> = chain_b64
            .iter()
            .map(|c| STANDARD.decode(c).map_err(|_| CtApiError::BadRequest("chain entries must be base64 DER".into())))
            .collect::<Result<_, _>>()?;
        if chain.len() < 2 {
            return Err(CtApiError::BadRequest("the chain must hold the certificate and its issuer".into()));
        }
        self.check_chain(&chain)?;
        let entry = if precert {
            let tbs = sigstead_ct::precert_tbs(&chain[0]).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
            let issuer_key_hash =
                sigstead_ct::spki_hash(&chain[1]).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
            LogEntry::Precert { issuer_key_hash, tbs }
        } else {
            if sigstead_ct::precert_tbs(&chain[0]).is_ok() {
                return Err(CtApiError::BadRequest("a precertificate must be submitted with add-pre-chain".into()));
            }
            LogEntry::X509(chain[0].clone())
        };
        let timestamp = now_ms();
        let leaf = entry.merkle_tree_leaf(timestamp).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
        let extra = sigstead_ct::extra_data(precert, &chain).map_err(|e| CtApiError::BadRequest(e.to_string()))?;
        match self.log.append_with_extra_data(leaf, Vec::new(), Some(extra)).await {
            Ok(AppendOutcome::Appended(_)) | Ok(AppendOutcome::Duplicate(_)) => {}
            Err(e) => return Err(CtApiError::Unavailable(e.to_string())),
        }
        Sct::sign(&entry, timestamp, self.key.as_ref()).map_err(|e| CtApiError::Internal(e.to_string()))
    }
}
