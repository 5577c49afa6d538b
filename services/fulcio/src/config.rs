//! `fulcio.toml`: configuration of the CA.

use serde::Deserialize;
use sigstead_crypto::{EcdsaP256Signer, Signer};
use sigstead_server::HttpConfig;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulcioConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Base URL of the CT log that must log every precertificate. The CA
    /// refuses to issue when it cannot be reached.
    pub ct_log_url: String,
    /// PEM file: the issuing intermediate first, the root last.
    pub ca_chain: PathBuf,
    /// The intermediate's ECDSA P-256 key: encrypted PKCS#8 PEM.
    pub ca_key_path: PathBuf,
    /// File holding the CA key password.
    pub ca_key_password_file: PathBuf,
    /// Lifetime of issued certificates, in seconds (Sigstore: 600).
    #[serde(default = "default_validity")]
    pub certificate_validity_secs: u32,
    /// Clock skew tolerated on token `exp`/`nbf`/`iat`, in seconds.
    #[serde(default = "default_leeway")]
    pub token_leeway_secs: u32,
    /// JWKS files for issuers the CA cannot reach (keyed by exact issuer URL).
    /// Other issuers' keys come from OIDC discovery.
    #[serde(default)]
    pub static_jwks: BTreeMap<String, PathBuf>,
    /// PEM file of CA certificates trusted (besides the system's) when fetching
    /// issuers' discovery documents and JWKS over https, e.g. a private IdP's CA.
    #[serde(default)]
    pub oidc_ca_file: Option<PathBuf>,
    /// Trusted OIDC issuers and CI-provider templates.
    pub oidc: sigstead_oidc::OidcConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(skip)]
    base: PathBuf,
}

fn default_validity() -> u32 {
    600
}
fn default_leeway() -> u32 {
    60
}

impl FulcioConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
    }

    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let mut c: Self = toml::from_str(text)?;
        c.base = base.to_path_buf();
        c.http.resolve(base)?;
        if !(60..=3600).contains(&c.certificate_validity_secs) {
            anyhow::bail!("certificate_validity_secs must be between 60 and 3600");
        }
        if !(c.ct_log_url.starts_with("http://") || c.ct_log_url.starts_with("https://")) {
            anyhow::bail!("ct_log_url must be an http(s) URL");
        }
        sigstead_oidc::IssuerSet::from_config(&c.oidc).map_err(|e| anyhow::anyhow!("oidc: {e}"))?;
        Ok(c)
    }

    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_relative() {
            self.base.join(p)
        } else {
            p.to_path_buf()
        }
    }

    pub fn load_ca_key(&self) -> anyhow::Result<Arc<dyn Signer>> {
        let pem = std::fs::read_to_string(self.path(&self.ca_key_path))?;
        let pw = std::fs::read_to_string(self.path(&self.ca_key_password_file))?;
        Ok(Arc::new(EcdsaP256Signer::from_encrypted_pkcs8_pem(&pem, pw.trim_end_matches(['\n', '\r']).as_bytes())?))
    }

    pub fn load_chain(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let pem = std::fs::read(self.path(&self.ca_chain))?;
        let chain: Vec<Vec<u8>> = sigstead_crypto::pem_decode_all(&pem).into_iter().map(|(_, d)| d).collect();
        if chain.len() < 2 {
            anyhow::bail!("ca_chain must hold the intermediate and the root");
        }
        Ok(chain)
    }
}
