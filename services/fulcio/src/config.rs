//! `fulcio.toml`: configuration of the CA.

use serde::Deserialize;
use sigstead_crypto::Signer;
use sigstead_keys::KeySource;
use sigstead_server::{HttpConfig, OutboundTls};
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
    /// The issuing intermediate's ECDSA P-256 key: `[ca_key.file]` (an
    /// encrypted key file) or `[ca_key.pkcs11]` (a key on an HSM); see `sigstead_keys`.
    pub ca_key: KeySource,
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
    /// Outgoing HTTPS (to the CT log, and to issuers' discovery documents and
    /// JWKS): CA certificates trusted besides the system's (`ca_file`, e.g. the
    /// private CA of the CT log's or the IdP's certificate), and a client
    /// certificate for mutual TLS.
    #[serde(default)]
    pub outbound_tls: OutboundTls,
    /// Trusted OIDC issuers and CI-provider templates.
    pub oidc: sigstead_oidc::OidcConfig,
    #[serde(default)]
    pub http: HttpConfig,
    /// Certificates per OIDC identity (issuer and subject together):
    /// `[identity_rate_limit] per_minute = …, burst = …`. A CI identity
    /// over it gets `429` with `Retry-After` (before any key is checked or
    /// certificate logged). Off by default (`per_minute = 0`).
    #[serde(default)]
    pub identity_rate_limit: IdentityRateLimit,
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
        let key = format!("[ca_key.file] or [ca_key.pkcs11]: {}", sigstead_server::KEY_SOURCE_SHAPE);
        sigstead_server::refuse_renamed_fields(
            text,
            &[
                ("ca_key_path", &key),
                ("ca_key_password_file", &key),
                ("ca_key_pkcs11", "[ca_key.pkcs11]"),
                ("oidc_ca_file", "`ca_file` in [outbound_tls]"),
            ],
        )?;
        let mut c: Self = toml::from_str(text)?;
        c.base = base.to_path_buf();
        c.http.resolve(base)?;
        c.outbound_tls.resolve(base)?;
        c.ca_key.resolve(base);
        if !(60..=3600).contains(&c.certificate_validity_secs) {
            anyhow::bail!("certificate_validity_secs must be between 60 and 3600");
        }
        if !(c.ct_log_url.starts_with("http://") || c.ct_log_url.starts_with("https://")) {
            anyhow::bail!("ct_log_url must be an http(s) URL");
        }
        if c.identity_rate_limit.burst == Some(0)
            || (c.identity_rate_limit.per_minute == 0 && c.identity_rate_limit.burst.is_some())
        {
            anyhow::bail!("identity_rate_limit: burst must be at least 1, and needs per_minute > 0");
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

    /// Opens the issuing key.
    pub fn load_ca_key(&self) -> anyhow::Result<Arc<dyn Signer>> {
        Ok(self.ca_key.open_ecdsa_p256("ca_key")?)
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

/// `[identity_rate_limit]`: a token bucket per OIDC identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRateLimit {
    /// Certificates per minute per identity on average; 0 turns it off.
    #[serde(default)]
    pub per_minute: u32,
    /// Largest burst per identity (default: `per_minute`).
    #[serde(default)]
    pub burst: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "listen = \"127.0.0.1:0\"\nct_log_url = \"http://127.0.0.1:1\"\nca_chain = \"c.pem\"\n";

    #[test]
    fn exactly_one_ca_key_source() {
        let file = "[ca_key.file]\npath = \"k.pem\"\npassword_file = \"k.pass\"\n";
        let hsm = "[ca_key.pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"k\"\npin_env = \"PIN\"\n";
        let parse = |tables: &str| FulcioConfig::parse(&format!("{BASE}{tables}[oidc]\n"), Path::new("/"));
        assert!(parse(file).is_ok());
        assert!(parse(hsm).is_ok());
        assert!(parse("").unwrap_err().to_string().contains("missing field `ca_key`"), "no key");
        assert!(parse("[ca_key.file]\npath = \"k.pem\"\n").is_err(), "key without password");
        assert!(parse(&format!("{file}{hsm}")).is_err(), "both");
    }

    #[test]
    fn settings_of_earlier_releases_are_refused_naming_their_replacement() {
        let old = "ca_key_path = \"k.pem\"\nca_key_password_file = \"k.pass\"\n[oidc]\n";
        let err = FulcioConfig::parse(&format!("{BASE}{old}"), Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("`ca_key_path` is no longer accepted") && err.contains("[ca_key.file]"), "{err}");
        let old = "oidc_ca_file = \"idp.pem\"\n[ca_key.file]\npath = \"k.pem\"\npassword_file = \"k.pass\"\n[oidc]\n";
        let err = FulcioConfig::parse(&format!("{BASE}{old}"), Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("`oidc_ca_file` is no longer accepted") && err.contains("[outbound_tls]"), "{err}");
    }

    #[test]
    fn outbound_tls_paths_resolve_and_a_lone_client_certificate_is_refused() {
        let key = "[ca_key.file]\npath = \"k.pem\"\npassword_file = \"k.pass\"\n[oidc]\n";
        let c =
            FulcioConfig::parse(&format!("{BASE}[outbound_tls]\nca_file = \"ct-ca.pem\"\n{key}"), Path::new("/etc/f"))
                .unwrap();
        assert_eq!(c.outbound_tls.ca_file.as_deref(), Some(Path::new("/etc/f/ct-ca.pem")));
        let err =
            FulcioConfig::parse(&format!("{BASE}[outbound_tls]\nclient_cert_file = \"c.pem\"\n{key}"), Path::new("/"))
                .unwrap_err()
                .to_string();
        assert!(err.contains("must be set together"), "{err}");
    }
}
