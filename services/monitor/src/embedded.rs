//! The monitor as a background task of a log service (`[monitor]` in
//! `rekor.toml`): the same rounds as `sigstead monitor`, every
//! `interval_secs`, against the log as clients reach it, with the alerts as
//! log lines and the metrics of the monitor (`sigstead_monitor_alerts_total
//! {kind}`, `sigstead_monitor_verified_tree_size`). Proof of misbehaviour
//! does not stop it: it is reported every round until an operator acts.

use crate::{Follow, RekorTarget};
use serde::Deserialize;
use sigstead_note::cosignature::Cosigner;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[monitor]`: follow this log from inside the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedMonitorConfig {
    /// Where to fetch the log from. Default: the service's `public_url`
    /// (what clients see; a loopback URL only checks the process itself).
    #[serde(default)]
    pub url: Option<String>,
    /// The trusted root published to clients (its log key under the
    /// service's `public_url` is the key checkpoints must verify with).
    pub trusted_root: PathBuf,
    /// Where the last verified checkpoint is kept (not the log's data directory).
    pub state_dir: PathBuf,
    /// Seconds between rounds. Default 60.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Report `stale` when the tree has not grown for this long.
    #[serde(default)]
    pub max_stale_secs: Option<u64>,
    /// Witnesses whose cosignatures the cosigned checkpoint must carry (vkeys).
    #[serde(default)]
    pub witness_keys: Vec<String>,
    /// TLS towards `url` (a private CA).
    #[serde(default)]
    pub outbound_tls: sigstead_server::OutboundTls,
}

fn default_interval() -> u64 {
    60
}

impl EmbeddedMonitorConfig {
    /// Resolves paths against `base` and refuses bad values at start.
    pub fn resolve(&mut self, base: &Path) -> anyhow::Result<()> {
        for p in [&mut self.trusted_root, &mut self.state_dir] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        self.outbound_tls.resolve(base)?;
        if self.interval_secs == 0 {
            anyhow::bail!("monitor.interval_secs must be positive");
        }
        for k in &self.witness_keys {
            Cosigner::from_vkey(k).map_err(|e| anyhow::anyhow!("monitor.witness_keys: {e}"))?;
        }
        Ok(())
    }

    /// The client and what to follow, for the log published at `public_url`.
    pub fn follow(&self, public_url: &str) -> anyhow::Result<(reqwest::Client, Follow)> {
        let text = std::fs::read(&self.trusted_root)
            .map_err(|e| anyhow::anyhow!("monitor.trusted_root {}: {e}", self.trusted_root.display()))?;
        let root: sigstead_trust::TrustedRoot = serde_json::from_slice(&text)
            .map_err(|e| anyhow::anyhow!("monitor.trusted_root {}: {e}", self.trusted_root.display()))?;
        let mut rekor = RekorTarget::from_trusted_root(&root, public_url)?;
        if let Some(url) = &self.url {
            rekor.url = url.trim_end_matches('/').to_string();
        }
        let witnesses = self.witness_keys.iter().map(|k| Cosigner::from_vkey(k)).collect::<Result<Vec<_>, _>>()?;
        let http = self.outbound_tls.http_client(Duration::from_secs(30))?;
        let follow = Follow {
            rekor,
            ct: None,
            watch: Default::default(),
            tuf: None,
            state_dir: self.state_dir.clone(),
            interval: Duration::from_secs(self.interval_secs),
            max_stale: self.max_stale_secs.map(Duration::from_secs),
            once: false,
            witnesses,
        };
        Ok((http, follow))
    }
}

/// Runs the monitor until the process ends; an alert that ends a
/// [`crate::follow`] run is logged and the monitor starts again after one interval.
pub async fn run_forever(http: reqwest::Client, follow: Follow) {
    loop {
        if let Err(alert) = crate::follow(http.clone(), follow.clone()).await {
            tracing::error!(alert = alert.kind(), detail = %alert, log = follow.rekor.url, "the log's own monitor found misbehaviour");
        }
        tokio::time::sleep(follow.interval).await;
    }
}
