//! `ctlog.toml`: configuration of the CT log.

use serde::Deserialize;
use sigstead_crypto::Signer;
use sigstead_keys::KeySource;
use sigstead_server::HttpConfig;
use sigstead_tlog::DatabaseUrl;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `postgres://…` (schema applied by `sigstead migrate`; libpq TLS options
    /// in the query) or `sqlite://PATH` (created and migrated at start).
    /// Default: `sqlite://ctlog.db` next to this file.
    #[serde(default = "default_database_url")]
    pub database_url: DatabaseUrl,
    /// Name of this log's row in the database.
    #[serde(default = "default_name")]
    pub log_name: String,
    /// The log's ECDSA P-256 key: `[signing_key.file]` (an encrypted key
    /// file) or `[signing_key.pkcs11]` (a key on an HSM); see `sigstead_keys`.
    pub signing_key: KeySource,
    /// PEM files of the roots whose chains the log accepts.
    pub roots: Vec<PathBuf>,
    /// Replicas on one Postgres database: sequencer lease and hand-over
    /// timing (see `sigstead_tlog::ReplicationSettings`; ignored on SQLite).
    #[serde(default)]
    pub replication: sigstead_tlog::ReplicationSettings,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(skip)]
    base: PathBuf,
}

fn default_database_url() -> DatabaseUrl {
    DatabaseUrl::sqlite("ctlog.db")
}

fn default_name() -> String {
    "ct".into()
}

impl CtConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let key = format!("[signing_key.file] or [signing_key.pkcs11]: {}", sigstead_server::KEY_SOURCE_SHAPE);
        sigstead_server::refuse_renamed_fields(
            &text,
            &[("key_path", &key), ("key_password_file", &key), ("key_pkcs11", "[signing_key.pkcs11]")],
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut c: Self = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        c.base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        c.http.resolve(&c.base)?;
        c.signing_key.resolve(&c.base);
        c.database_url.resolve(&c.base);
        c.replication.to_config()?;
        if c.roots.is_empty() {
            anyhow::bail!("roots: at least one accepted root is required");
        }
        Ok(c)
    }

    fn path(&self, p: &Path) -> PathBuf {
        if p.is_relative() {
            self.base.join(p)
        } else {
            p.to_path_buf()
        }
    }

    /// Opens the log key.
    pub fn load_signer(&self) -> anyhow::Result<Arc<dyn Signer>> {
        Ok(self.signing_key.open_ecdsa_p256("signing_key")?)
    }

    pub fn load_roots(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for r in &self.roots {
            let pem = std::fs::read(self.path(r))?;
            out.extend(sigstead_crypto::pem_decode_all(&pem).into_iter().map(|(_, der)| der));
        }
        Ok(out)
    }
}
