//! `tuf.toml`: configuration of the TUF repository server.

use serde::Deserialize;
use sigstead_crypto::Signer;
use sigstead_keys::KeySource;
use sigstead_server::HttpConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TufConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The repository directory (made by `sigstead tuf init`): the layout on
    /// disk is the layout on the wire. The server writes only
    /// `N.snapshot.json` and `timestamp.json` into it.
    pub repository_dir: PathBuf,
    /// Serve the directory as it is, without online keys and without
    /// re-signing (an air-gapped mirror made by `sigstead mirror`, or a
    /// repository whose online roles are signed elsewhere). Then the key
    /// fields below must be absent.
    #[serde(default)]
    pub static_only: bool,
    /// Online timestamp key: `[timestamp_key.file]` (an encrypted PKCS#8
    /// PEM, Ed25519 or ECDSA P-256) or `[timestamp_key.pkcs11]` (an ECDSA
    /// P-256 key on an HSM); see `sigstead_keys`.
    #[serde(default)]
    pub timestamp_key: Option<KeySource>,
    /// Online snapshot key, in the same shape.
    #[serde(default)]
    pub snapshot_key: Option<KeySource>,
    /// Lifetime of each timestamp, in seconds (default one day).
    #[serde(default = "default_timestamp_expiry")]
    pub timestamp_expiry_secs: u64,
    /// Lifetime of each snapshot, in seconds (default seven days).
    #[serde(default = "default_snapshot_expiry")]
    pub snapshot_expiry_secs: u64,
    /// How often the server checks the online roles, in seconds (default
    /// 300). A role is re-signed once less than half its lifetime remains,
    /// when new targets were published, or when root rotated its keys.
    #[serde(default = "default_check_interval")]
    pub check_interval_secs: u64,
    /// Warn (log and the `sigstead_tuf_expiry_warning` metric) when root or
    /// targets, signed offline, expire within this many days (default 30).
    #[serde(default = "default_warn_days")]
    pub offline_expiry_warning_days: u64,
    /// Body limit, timeout and HTTPS (`[http]`, shared by every service).
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(skip)]
    base: PathBuf,
}

fn default_timestamp_expiry() -> u64 {
    86_400
}
fn default_snapshot_expiry() -> u64 {
    7 * 86_400
}
fn default_check_interval() -> u64 {
    300
}
fn default_warn_days() -> u64 {
    30
}

/// The online signing keys.
#[derive(Debug, Clone)]
pub struct OnlineKeys {
    pub timestamp: Arc<dyn Signer>,
    pub snapshot: Arc<dyn Signer>,
}

impl TufConfig {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses configuration text whose relative paths are relative to `base`.
    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let key =
            |role: &str| format!("[{role}_key.file] or [{role}_key.pkcs11]: {}", sigstead_server::KEY_SOURCE_SHAPE);
        let (ts, snap) = (key("timestamp"), key("snapshot"));
        sigstead_server::refuse_renamed_fields(
            text,
            &[
                ("timestamp_key_path", &ts),
                ("snapshot_key_path", &snap),
                ("key_password_file", "password_file in [timestamp_key.file] and [snapshot_key.file]"),
            ],
        )?;
        let mut c: Self = toml::from_str(text)?;
        c.base = base.to_path_buf();
        c.http.resolve(&c.base)?;
        for k in [&mut c.timestamp_key, &mut c.snapshot_key].into_iter().flatten() {
            k.resolve(base);
        }
        match (c.static_only, c.timestamp_key.is_some(), c.snapshot_key.is_some()) {
            (true, false, false) | (false, true, true) => {}
            (true, _, _) => {
                anyhow::bail!("static_only = true serves without keys: remove [timestamp_key] and [snapshot_key]")
            }
            (false, _, _) => {
                anyhow::bail!("[timestamp_key] and [snapshot_key] are required (or set static_only = true)")
            }
        }
        if c.timestamp_expiry_secs < 60 || c.snapshot_expiry_secs < 60 {
            anyhow::bail!("timestamp_expiry_secs and snapshot_expiry_secs must be at least 60");
        }
        if c.check_interval_secs == 0 || c.check_interval_secs.saturating_mul(2) >= c.timestamp_expiry_secs {
            anyhow::bail!("check_interval_secs must be positive and below half of timestamp_expiry_secs");
        }
        Ok(c)
    }

    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_relative() {
            self.base.join(p)
        } else {
            p.to_path_buf()
        }
    }

    pub fn repository_dir(&self) -> PathBuf {
        self.path(&self.repository_dir)
    }

    /// Loads the online keys (None for `static_only`).
    pub fn load_online_keys(&self) -> anyhow::Result<Option<OnlineKeys>> {
        let (Some(ts), Some(snap)) = (&self.timestamp_key, &self.snapshot_key) else {
            return Ok(None);
        };
        Ok(Some(OnlineKeys { timestamp: ts.open()?, snapshot: snap.open()? }))
    }
}
