//! `explorer.toml`: configuration of the log explorer.

use serde::Deserialize;
use sigstead_server::HttpConfig;
use sigstead_tlog::DatabaseUrl;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplorerConfig {
    /// Address to listen on, e.g. `"127.0.0.1:3006"`.
    pub listen: SocketAddr,
    /// The Rekor log's database, read only: the explorer never writes (grant
    /// it a read-only Postgres role). The schema must be the one this binary
    /// expects (`sigstead migrate`); the explorer does not migrate. SQLite
    /// files are single-process: an embedded log is explored from inside the
    /// process that serves it (`sigstead up` does).
    pub database_url: DatabaseUrl,
    /// Name of the log's row in the database (as in `rekor.toml`).
    #[serde(default = "default_log_name")]
    pub log_name: String,
    /// The Rekor log's public URL, exactly as `tlogs[].baseUrl` in the
    /// trusted root names it: the log key that checkpoints are verified
    /// with (in the browser) is the one listed for this URL. Pages link to
    /// the raw entry JSON there.
    pub rekor_url: String,
    /// Where the trusted root comes from: a TUF repository (preferred: the
    /// trust page then shows its root history and per-role expiry) …
    #[serde(default)]
    pub tuf: Option<TufSource>,
    /// … or a `trusted_root.json` file (for a site that distributes trust
    /// files without TUF). Exactly one of `tuf` and `trusted_root` is given.
    #[serde(default)]
    pub trusted_root: Option<PathBuf>,
    /// The state directory of a `sigstead monitor` following this log: its
    /// last verified checkpoint is shown on the status page.
    #[serde(default)]
    pub monitor_state_dir: Option<PathBuf>,
    /// Results per search page (1–100).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// HTTP server settings. Serve the explorer over HTTPS on anything but
    /// loopback: browsers expose WebCrypto, which checks the proofs, only to
    /// secure origins.
    #[serde(default)]
    pub http: HttpConfig,
}

/// A TUF repository the trusted root is fetched from, verified as a client
/// verifies it (pinned root, then every role).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TufSource {
    /// Base URL of the repository (`…/root.json`, `…/timestamp.json`).
    pub url: String,
    /// The pinned initial root (`1.root.json`, or any trusted version).
    pub root: PathBuf,
    /// PEM CA certificates for an HTTPS repository with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds between refreshes (the pages show the cached state).
    #[serde(default = "default_refresh_secs")]
    pub refresh_secs: u64,
}

fn default_log_name() -> String {
    "rekor".into()
}
fn default_page_size() -> u32 {
    20
}
fn default_refresh_secs() -> u64 {
    300
}

impl ExplorerConfig {
    /// Reads, resolves relative paths, and rejects invalid combinations.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let mut cfg: Self = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        cfg.resolve(path.parent().unwrap_or(Path::new(".")))?;
        Ok(cfg)
    }

    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        self.database_url.resolve(base);
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(t) = &mut self.tuf {
            join(&mut t.root);
            if let Some(c) = &mut t.ca_file {
                join(c);
            }
            if !(t.url.starts_with("https://") || t.url.starts_with("http://")) {
                anyhow::bail!("tuf.url must start with http:// or https://");
            }
            if t.refresh_secs == 0 {
                anyhow::bail!("tuf.refresh_secs must be positive");
            }
        }
        if let Some(p) = &mut self.trusted_root {
            join(p);
        }
        if let Some(p) = &mut self.monitor_state_dir {
            join(p);
        }
        match (&self.tuf, &self.trusted_root) {
            (Some(_), Some(_)) => anyhow::bail!("give either [tuf] or trusted_root, not both"),
            (None, None) => anyhow::bail!("the explorer needs a trusted root: give [tuf] (url, root) or trusted_root"),
            _ => {}
        }
        if !(self.rekor_url.starts_with("https://") || self.rekor_url.starts_with("http://")) {
            anyhow::bail!("rekor_url must start with http:// or https://");
        }
        if !(1..=100).contains(&self.page_size) {
            anyhow::bail!("page_size must be between 1 and 100");
        }
        self.http.resolve(base)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> anyhow::Result<ExplorerConfig> {
        let mut c: ExplorerConfig = toml::from_str(s)?;
        c.resolve(Path::new("/etc/sigstead"))?;
        Ok(c)
    }

    const MINIMAL: &str = r#"
        listen = "127.0.0.1:3006"
        database_url = "postgres://explorer@db/sigstead"
        rekor_url = "https://rekor.example"
        [tuf]
        url = "https://tuf.example"
        root = "root.json"
    "#;

    #[test]
    fn minimal_config_resolves_paths() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.tuf.unwrap().root, Path::new("/etc/sigstead/root.json"));
        assert_eq!(c.page_size, 20);
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/explorer.example.toml");
        ExplorerConfig::load(&path).unwrap();
    }

    #[test]
    fn invalid_combinations_are_refused() {
        let both = format!("{MINIMAL}\n");
        let both = both.replace("[tuf]", "trusted_root = \"tr.json\"\n[tuf]");
        assert!(parse(&both).unwrap_err().to_string().contains("not both"));
        let neither = MINIMAL.split("[tuf]").next().unwrap();
        assert!(parse(neither).unwrap_err().to_string().contains("needs a trusted root"));
        let unknown = MINIMAL.replace("rekor_url", "rekor_uri");
        assert!(parse(&unknown).is_err());
        let pages = format!("page_size = 0\n{MINIMAL}");
        assert!(parse(&pages).unwrap_err().to_string().contains("page_size"));
        let scheme = MINIMAL.replace("https://rekor.example", "rekor.example");
        assert!(parse(&scheme).unwrap_err().to_string().contains("rekor_url"));
    }
}
