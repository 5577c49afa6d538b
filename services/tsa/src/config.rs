//! `tsa.toml`: configuration of the timestamp authority.

use der::asn1::ObjectIdentifier;
use serde::Deserialize;
use sigstead_crypto::{EcCurve, HashAlgorithm, Signer};
use sigstead_keys::KeySource;
use sigstead_server::HttpConfig;
use sigstead_tsp::TsaSettings;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The TSA's ECDSA P-256 or P-384 key: `[signing_key.file]` (an
    /// encrypted key file) or `[signing_key.pkcs11]` (a non-extractable key
    /// on an HSM, as the CA/Browser Forum requires of TSA keys); see `sigstead_keys`.
    pub signing_key: KeySource,
    /// PEM file of the chain, leaf first: the leaf certifies `signing_key`
    /// and carries a critical extendedKeyUsage of id-kp-timeStamping only.
    pub cert_chain: PathBuf,
    /// The policy every token is issued under (dotted OID). Default: the
    /// Sigstore TSA policy 1.3.6.1.4.1.57264.2, as upstream.
    #[serde(default = "default_policy")]
    pub policy: PolicyOid,
    /// Further policies a client may ask for in `reqPolicy`; any other is
    /// answered with a rejection (`unacceptedPolicy`).
    #[serde(default)]
    pub accepted_policies: Vec<PolicyOid>,
    /// The accuracy each token states, in milliseconds (0: none stated).
    /// Default 1000, as upstream.
    #[serde(default = "default_accuracy")]
    pub accuracy_ms: u64,
    /// Message-imprint hash algorithms accepted: `sha256`, `sha384`,
    /// `sha512`. Default all three; another is rejected with `badAlg`.
    #[serde(default = "default_hashes")]
    pub hash_algorithms: Vec<ImprintHash>,
    #[serde(default)]
    pub http: HttpConfig,
}

/// A dotted object identifier, parsed when the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PolicyOid(pub ObjectIdentifier);

impl TryFrom<String> for PolicyOid {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ObjectIdentifier::new(&s).map(Self).map_err(|_| format!("{s:?} is not a dotted object identifier"))
    }
}

/// An imprint hash algorithm a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImprintHash {
    Sha256,
    Sha384,
    Sha512,
}

impl From<ImprintHash> for HashAlgorithm {
    fn from(h: ImprintHash) -> Self {
        match h {
            ImprintHash::Sha256 => Self::Sha256,
            ImprintHash::Sha384 => Self::Sha384,
            ImprintHash::Sha512 => Self::Sha512,
        }
    }
}

fn default_policy() -> PolicyOid {
    PolicyOid(sigstead_tsp::oid::SIGSTORE_TSA_POLICY)
}
fn default_accuracy() -> u64 {
    1000
}
fn default_hashes() -> Vec<ImprintHash> {
    vec![ImprintHash::Sha256, ImprintHash::Sha384, ImprintHash::Sha512]
}

impl TsaConfig {
    /// Reads and checks the file (a wrong combination is refused here, at start).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let mut c: Self = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        c.http.resolve(&base)?;
        c.signing_key.resolve(&base);
        if c.cert_chain.is_relative() {
            c.cert_chain = base.join(&c.cert_chain);
        }
        if c.hash_algorithms.is_empty() {
            anyhow::bail!("{}: hash_algorithms: at least one algorithm is required", path.display());
        }
        if c.accuracy_ms > 60_000 {
            anyhow::bail!(
                "{}: accuracy_ms: {} ms is more than a minute; a timestamp that vague proves little",
                path.display(),
                c.accuracy_ms
            );
        }
        Ok(c)
    }

    /// The token settings.
    pub fn settings(&self) -> TsaSettings {
        TsaSettings {
            policy: self.policy.0,
            accepted_policies: self.accepted_policies.iter().map(|p| p.0).collect(),
            accuracy_ms: self.accuracy_ms,
            hash_algorithms: self.hash_algorithms.iter().map(|h| (*h).into()).collect(),
        }
    }

    /// Opens the TSA key (P-256 or P-384).
    pub fn load_signer(&self) -> anyhow::Result<Arc<dyn Signer>> {
        Ok(self.signing_key.open_ecdsa("signing_key", &[EcCurve::P256, EcCurve::P384], "P-256 or P-384")?.0)
    }

    /// Reads the chain, leaf first.
    pub fn load_chain(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let pem = std::fs::read(&self.cert_chain)
            .map_err(|e| anyhow::anyhow!("reading cert_chain {}: {e}", self.cert_chain.display()))?;
        let chain = sigstead_crypto::pem_certificates(&pem);
        if chain.is_empty() {
            anyhow::bail!("cert_chain {}: no CERTIFICATE in the file", self.cert_chain.display());
        }
        Ok(chain)
    }
}
