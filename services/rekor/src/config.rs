//! `rekor.toml`: configuration of the Rekor v1-compatible log.

use serde::Deserialize;
use sigstead_server::HttpConfig;
use sigstead_tlog::DatabaseUrl;
use std::net::SocketAddr;
use std::path::Path;

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
    /// `postgres://…` for Postgres (schema applied by `sigstead migrate`;
    /// libpq TLS options such as `?sslmode=verify-full&sslrootcert=ca.pem`),
    /// or `sqlite://PATH` for an embedded database, which is created and
    /// migrated at start. Default: `sqlite://rekor.db` next to this file.
    #[serde(default = "default_database_url")]
    pub database_url: DatabaseUrl,
    /// Name of this log's row in the database (several logs may share one).
    #[serde(default = "default_log_name")]
    pub log_name: String,
    /// The log's ECDSA P-256 signing key: `[signing_key.file]` (an encrypted
    /// key file) or `[signing_key.pkcs11]` (a key on an HSM); see
    /// `sigstead_keys` for both forms.
    pub signing_key: sigstead_keys::KeySource,
    /// Sequencer batching.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Replicas on one Postgres database: sequencer lease and hand-over
    /// timing (see `sigstead_tlog::ReplicationSettings`; ignored on SQLite).
    #[serde(default)]
    pub replication: sigstead_tlog::ReplicationSettings,
    /// HTTP server settings.
    #[serde(default)]
    pub http: HttpConfig,
    /// Witnesses (C2SP tlog-witness) asked to cosign each new checkpoint;
    /// the cosigned checkpoint is served at `GET /api/v1/log/cosigned-checkpoint`.
    #[serde(default)]
    pub witnessing: sigstead_witness::client::WitnessingConfig,
    /// `[monitor]`: run `sigstead monitor`'s checks on this log from inside
    /// the service (see `sigstead_monitor::embedded`). Absent: not run.
    #[serde(default)]
    pub monitor: Option<sigstead_monitor::embedded::EmbeddedMonitorConfig>,
}

fn default_database_url() -> DatabaseUrl {
    DatabaseUrl::sqlite("rekor.db")
}

fn default_log_name() -> String {
    "rekor".into()
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
        let mut cfg = Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.resolve(base)?;
        Ok(cfg)
    }

    /// Parses configuration text (relative paths not yet resolved), refusing
    /// the key fields of earlier releases with a message naming the new one.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let key = format!("[signing_key.file] or [signing_key.pkcs11]: {}", sigstead_server::KEY_SOURCE_SHAPE);
        sigstead_server::refuse_renamed_fields(
            text,
            &[
                ("signing_key.path", &key),
                ("signing_key.password_file", &key),
                ("signing_key.password_env", &key),
                ("signing_key_pkcs11", "[signing_key.pkcs11]"),
            ],
        )?;
        Ok(toml::from_str(text)?)
    }

    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        self.signing_key.resolve(base);
        self.database_url.resolve(base);
        self.replication.to_config()?;
        if self.batch.max_entries == 0 {
            anyhow::bail!("batch.max_entries must be positive");
        }
        self.origin_host()?;
        self.http.resolve(base)?;
        self.witnessing.resolve(base)?;
        if let Some(m) = &mut self.monitor {
            m.resolve(base)?;
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> anyhow::Result<RekorConfig> {
        let mut c = RekorConfig::parse(s)?;
        c.resolve(Path::new("/etc/sigstead"))?;
        Ok(c)
    }

    const MINIMAL: &str = r#"
listen = "127.0.0.1:3000"
public_url = "http://rekor.example:3000"
[signing_key.file]
path = "k.pem"
password_file = "k.pass"
"#;

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.origin_host().unwrap(), "rekor.example:3000");
        assert_eq!(c.signing_key, sigstead_keys::KeySource::file("/etc/sigstead/k.pem", "/etc/sigstead/k.pass"));
        assert_eq!(c.database_url.to_config_string(), "sqlite:///etc/sigstead/rekor.db");
        assert_eq!(c.batch.max_entries, 2048);
    }

    #[test]
    fn the_example_in_deploy_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rekor.example.toml");
        let c = RekorConfig::load(&path).unwrap();
        assert_eq!(c.origin_host().unwrap(), "rekor.example.internal");
        let sigstead_keys::KeySource::File(key) = c.signing_key else { panic!("a key file") };
        assert_eq!(key.password, sigstead_keys::SecretSource::Env("SIGSTEAD_REKOR_KEY_PASSWORD".into()));
        assert!(c.database_url.is_postgres());
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
            "[signing_key.pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"rekor\"\npin_env = \"PIN\"\n";
        let head = "listen = \"127.0.0.1:3000\"\npublic_url = \"http://rekor.example:3000\"\n";
        let c = parse(&format!("{head}{hsm}")).unwrap();
        let sigstead_keys::KeySource::Pkcs11(token) = c.signing_key else { panic!("pkcs11") };
        assert_eq!(token.key_label, "rekor");
        assert!(parse(&format!("{MINIMAL}{hsm}")).is_err(), "both forms");
        let neither = parse(head).unwrap_err().to_string();
        assert!(neither.contains("missing field `signing_key`"), "{neither}");
        assert!(parse(&format!("{head}{}", hsm.replace("pin_env", "pin"))).is_err(), "a PIN in the file is refused");
    }

    #[test]
    fn key_fields_of_earlier_releases_are_refused_naming_the_new_field() {
        let head = "listen = \"127.0.0.1:3000\"\npublic_url = \"http://rekor.example:3000\"\n";
        let old_file = format!("{head}[signing_key]\npath = \"k.pem\"\npassword_file = \"k.pass\"\n");
        let err = parse(&old_file).unwrap_err().to_string();
        assert!(
            err.contains("`signing_key.path` is no longer accepted") && err.contains("[signing_key.file]"),
            "{err}"
        );
        let old_hsm = format!(
            "{head}[signing_key_pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"rekor\"\npin_env = \"PIN\"\n"
        );
        let err = parse(&old_hsm).unwrap_err().to_string();
        assert!(err.contains("`signing_key_pkcs11`") && err.contains("[signing_key.pkcs11]"), "{err}");
    }
}
