//! `rekor.toml`: configuration of the Rekor v1-compatible log.

use serde::Deserialize;
use sigstead_server::HttpConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RekorConfig {
    /// Address to listen on, e.g. `"127.0.0.1:3000"`.
    pub listen: SocketAddr,
    /// The URL clients use to reach this log (also `tlogs[].baseUrl` in the
    /// trusted root). Its `host[:port]` is the checkpoint origin host and the
    /// checkpoint signer name; clients match that name against `baseUrl`.
    pub public_url: String,
    /// `postgres://…` for Postgres (schema applied by `sigstead migrate`), or
    /// `sqlite://PATH` for an embedded database, which is created and migrated
    /// at start. Default: `sqlite://rekor.db` next to this file.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Name of this log's row in the database (several logs may share one).
    #[serde(default = "default_log_name")]
    pub log_name: String,
    /// The log's ECDSA P-256 signing key as an encrypted key file. Exactly
    /// one of `[signing_key]` and `[signing_key_pkcs11]` is set.
    #[serde(default)]
    pub signing_key: Option<SigningKeyConfig>,
    /// The log's ECDSA P-256 signing key on a PKCS#11 token (HSM).
    #[serde(default)]
    pub signing_key_pkcs11: Option<sigstead_hsm::Pkcs11Key>,
    /// Sequencer batching.
    #[serde(default)]
    pub batch: BatchConfig,
    /// HTTP server settings.
    #[serde(default)]
    pub http: HttpConfig,
}

fn default_log_name() -> String {
    "rekor".into()
}

/// Where the log key lives. The key file is an encrypted PKCS#8 PEM; its
/// password comes from a file or an environment variable, never from this file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyConfig {
    /// `ENCRYPTED PRIVATE KEY` PEM file (ECDSA P-256).
    pub path: PathBuf,
    /// File holding the key password (trailing newline ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Name of an environment variable holding the key password.
    #[serde(default)]
    pub password_env: Option<String>,
}

/// How submissions are grouped into transactions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Most entries integrated in one transaction and covered by one checkpoint.
    #[serde(default = "default_max_entries")]
    pub max_entries: usize,
    /// Longest wait, in milliseconds, for more entries once a batch has one.
    #[serde(default = "default_max_delay_ms")]
    pub max_delay_ms: u64,
}

fn default_max_entries() -> usize {
    2048
}
fn default_max_delay_ms() -> u64 {
    2
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self { max_entries: default_max_entries(), max_delay_ms: default_max_delay_ms() }
    }
}

impl RekorConfig {
    /// Reads, resolves relative paths, and rejects invalid combinations.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let mut cfg: Self = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.resolve(base)?;
        Ok(cfg)
    }

    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        match (&mut self.signing_key, &self.signing_key_pkcs11) {
            (Some(key), None) => {
                if key.path.is_relative() {
                    key.path = base.join(&key.path);
                }
                if let Some(p) = &mut key.password_file {
                    if p.is_relative() {
                        *p = base.join(&*p);
                    }
                }
                match (&key.password_file, &key.password_env) {
                    (Some(_), Some(_)) => {
                        anyhow::bail!("signing_key: set password_file or password_env, not both")
                    }
                    (None, None) => anyhow::bail!("signing_key: password_file or password_env is required"),
                    _ => {}
                }
            }
            (None, Some(_)) => {}
            _ => anyhow::bail!("set [signing_key] or [signing_key_pkcs11], exactly one of them"),
        }
        if self.database_url.is_none() {
            self.database_url = Some("sqlite://rekor.db".to_string());
        }
        if let Some(url) = &mut self.database_url {
            if let Some(rest) = url.strip_prefix("sqlite://") {
                let p = Path::new(rest);
                if p.is_relative() {
                    *url = format!("sqlite://{}", base.join(p).display());
                }
            }
        }
        if self.batch.max_entries == 0 {
            anyhow::bail!("batch.max_entries must be positive");
        }
        self.origin_host()?;
        self.http.resolve(base)?;
        Ok(())
    }

    /// `host[:port]` of `public_url`: the checkpoint origin host and signer name.
    pub fn origin_host(&self) -> anyhow::Result<String> {
        let rest = self
            .public_url
            .strip_prefix("https://")
            .or_else(|| self.public_url.strip_prefix("http://"))
            .ok_or_else(|| anyhow::anyhow!("public_url must start with http:// or https://"))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
            anyhow::bail!("public_url has no usable host");
        }
        Ok(host.to_string())
    }

    /// The key password, from its file or environment variable.
    pub fn key_password(&self) -> anyhow::Result<Vec<u8>> {
        let key = self.signing_key.as_ref().ok_or_else(|| anyhow::anyhow!("no key file configured"))?;
        if let Some(f) = &key.password_file {
            return sigstead_server::read_password_file(f);
        }
        if let Some(var) = &key.password_env {
            return std::env::var(var)
                .map(String::into_bytes)
                .map_err(|_| anyhow::anyhow!("environment variable {var} is not set"));
        }
        anyhow::bail!("no key password configured")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> anyhow::Result<RekorConfig> {
        let mut c: RekorConfig = toml::from_str(s)?;
        c.resolve(Path::new("/etc/sigstead"))?;
        Ok(c)
    }

    const MINIMAL: &str = r#"
listen = "127.0.0.1:3000"
public_url = "http://rekor.example:3000"
[signing_key]
path = "k.pem"
password_file = "k.pass"
"#;

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.origin_host().unwrap(), "rekor.example:3000");
        assert_eq!(c.signing_key.unwrap().path, Path::new("/etc/sigstead/k.pem"));
        assert_eq!(c.database_url.as_deref(), Some("sqlite:///etc/sigstead/rekor.db"));
        assert_eq!(c.batch.max_entries, 2048);
    }

    #[test]
    fn the_example_in_deploy_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rekor.example.toml");
        let c = RekorConfig::load(&path).unwrap();
        assert_eq!(c.origin_host().unwrap(), "rekor.example.internal");
        assert_eq!(c.signing_key.unwrap().password_env.as_deref(), Some("SIGSTEAD_REKOR_KEY_PASSWORD"));
        assert!(c.database_url.unwrap().starts_with("postgres://"));
    }

    #[test]
    fn unknown_fields_and_bad_combinations_are_refused() {
        assert!(parse(&format!("{MINIMAL}\nsurprise = 1\n")).is_err());
        assert!(parse(&MINIMAL.replace("password_file = \"k.pass\"", "")).is_err());
        assert!(parse(&MINIMAL.replace("password_file = \"k.pass\"", "password_file = \"a\"\npassword_env = \"B\""))
            .is_err());
        assert!(parse(&MINIMAL.replace("http://rekor.example:3000", "rekor.example")).is_err());
        assert!(parse(&format!("{MINIMAL}\n[http]\ntls_cert_file = \"c.pem\"\n")).is_err());
    }

    #[test]
    fn exactly_one_key_source() {
        let hsm =
            "[signing_key_pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"rekor\"\npin_env = \"PIN\"\n";
        let head = "listen = \"127.0.0.1:3000\"\npublic_url = \"http://rekor.example:3000\"\n";
        let c = parse(&format!("{head}{hsm}")).unwrap();
        assert_eq!(c.signing_key_pkcs11.unwrap().key_label, "rekor");
        let both = parse(&format!("{MINIMAL}{hsm}")).unwrap_err().to_string();
        assert!(both.contains("exactly one"), "{both}");
        let neither = parse(head).unwrap_err().to_string();
        assert!(neither.contains("exactly one"), "{neither}");
        assert!(parse(&format!("{head}{}", hsm.replace("pin_env", "pin"))).is_err(), "a PIN in the file is refused");
    }
}
