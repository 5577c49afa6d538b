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
    /// ECDSA P-256 log key: encrypted PKCS#8 PEM. Set with
    /// `key_password_file`, or use `[key_pkcs11]` instead.
    #[serde(default)]
    pub key_path: Option<PathBuf>,
    /// File holding the key password.
    #[serde(default)]
    pub key_password_file: Option<PathBuf>,
    /// The log key on a PKCS#11 token (HSM), instead of a key file.
    #[serde(default)]
    pub key_pkcs11: Option<sigstead_hsm::Pkcs11Key>,
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
        match (&c.key_path, &c.key_password_file, &c.key_pkcs11) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            _ => anyhow::bail!("set key_path with key_password_file, or [key_pkcs11], exactly one of them"),
        }
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
        let file = match (&self.key_path, &self.key_password_file) {
            (Some(key), Some(pw)) => Some((self.path(key), sigstead_server::read_password_file(&self.path(pw))?)),
            _ => None,
        };
        sigstead_server::open_signing_key(
            self.key_pkcs11.as_ref(),
            file.as_ref().map(|(k, p)| (k.as_path(), p.as_slice())),
        )
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
