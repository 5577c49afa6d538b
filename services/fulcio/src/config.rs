//! `fulcio.toml`: configuration of the CA.

use serde::Deserialize;
use sigstead_crypto::Signer;
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
    /// The intermediate's ECDSA P-256 key: encrypted PKCS#8 PEM. Set this
    /// and `ca_key_password_file`, or `[ca_key_pkcs11]`, not both.
    #[serde(default)]
    pub ca_key_path: Option<PathBuf>,
    /// File holding the CA key password.
    #[serde(default)]
    pub ca_key_password_file: Option<PathBuf>,
    /// The intermediate's key on a PKCS#11 token (HSM) instead of a file.
    #[serde(default)]
    pub ca_key_pkcs11: Option<Pkcs11Key>,
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

pub use sigstead_hsm::Pkcs11Key;

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
        match (&c.ca_key_path, &c.ca_key_password_file, &c.ca_key_pkcs11) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            _ => anyhow::bail!("set ca_key_path with ca_key_password_file, or [ca_key_pkcs11], exactly one of them"),
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
        let file = match (&self.ca_key_path, &self.ca_key_password_file) {
            (Some(key), Some(pw)) => Some((self.path(key), sigstead_server::read_password_file(&self.path(pw))?)),
            _ => None,
        };
        sigstead_server::open_signing_key(
            self.ca_key_pkcs11.as_ref(),
            file.as_ref().map(|(k, p)| (k.as_path(), p.as_slice())),
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "listen = \"127.0.0.1:0\"\nct_log_url = \"http://127.0.0.1:1\"\nca_chain = \"c.pem\"\n";

    #[test]
    fn exactly_one_ca_key_source() {
        let file = "ca_key_path = \"k.pem\"\nca_key_password_file = \"k.pass\"\n";
        let hsm = "[ca_key_pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"k\"\npin_env = \"PIN\"\n";
        let parse =
            |keys: &str, tables: &str| FulcioConfig::parse(&format!("{BASE}{keys}{tables}[oidc]\n"), Path::new("/"));
        assert!(parse(file, "").is_ok());
        assert!(parse("", hsm).is_ok());
        assert!(parse("", "").is_err(), "no key");
        assert!(parse("ca_key_path = \"k.pem\"\n", "").is_err(), "key without password");
        assert!(parse(file, hsm).is_err(), "both");
    }
}
