//! `ctlog.toml`: configuration of the CT log.

use serde::Deserialize;
use sigstead_crypto::Signer;
use sigstead_server::HttpConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `postgres://…` (schema applied by `sigstead migrate`) or `sqlite://PATH`.
    /// Default: `sqlite://ctlog.db` next to this file.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Name of this log's row in the database.
    #[serde(default = "default_name")]
    pub log_name: String,
    /// ECDSA P-256 log key: encrypted PKCS#8 PEM.
    pub key_path: PathBuf,
    /// File holding the key password.
    pub key_password_file: PathBuf,
    /// PEM files of the roots whose chains the log accepts.
    pub roots: Vec<PathBuf>,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(skip)]
    base: PathBuf,
}

fn default_name() -> String {
    "ct".into()
}

impl CtConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let mut c: Self = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        c.base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        c.http.resolve(&c.base)?;
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

    /// The database URL; a relative SQLite path is relative to this file.
    pub fn database_url(&self) -> String {
        match self.database_url.as_deref() {
            None => format!("sqlite://{}", self.base.join("ctlog.db").display()),
            Some(u) => match u.strip_prefix("sqlite://") {
                Some(p) if Path::new(p).is_relative() => format!("sqlite://{}", self.base.join(p).display()),
                _ => u.to_string(),
            },
        }
    }

    pub fn load_signer(&self) -> anyhow::Result<Arc<dyn Signer>> {
        let pw = sigstead_server::read_password_file(&self.path(&self.key_password_file))?;
        Ok(Arc::new(sigstead_server::load_p256_key(&self.path(&self.key_path), &pw)?))
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
