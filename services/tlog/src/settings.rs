//! `[replication]`: the TOML shape of [`ReplicationConfig`], shared by the
//! Rekor log's and the CT log's configuration files. Used only on Postgres
//! (SQLite is single-process).

use crate::{Error, ReplicationConfig};
use serde::Deserialize;
use std::time::Duration;

/// How replicas of the log on one Postgres database elect the sequencer and
/// hand submissions to it. The defaults give a failover within about 2.2 s
/// of a leader's death (lease + takeover poll) plus the new leader's
/// recovery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationSettings {
    /// How long the sequencer lease lasts unless renewed, in milliseconds.
    /// Bounds how long a dead or paused leader blocks writes. Default 2000.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// How often the leader renews its lease, in milliseconds (at most half
    /// of `lease_ms`). Default 500.
    #[serde(default = "default_renew_every_ms")]
    pub renew_every_ms: u64,
    /// How often a replica that does not lead tries to take a free or
    /// expired lease, in milliseconds. Default 200.
    #[serde(default = "default_takeover_poll_ms")]
    pub takeover_poll_ms: u64,
    /// How long a replica waits for the leader to integrate a submission it
    /// handed over before answering 503, in milliseconds (at least
    /// `lease_ms + takeover_poll_ms`, so a failover does not fail writes).
    /// Default 5000.
    #[serde(default = "default_write_timeout_ms")]
    pub write_timeout_ms: u64,
}

fn default_lease_ms() -> u64 {
    2000
}
fn default_renew_every_ms() -> u64 {
    500
}
fn default_takeover_poll_ms() -> u64 {
    200
}
fn default_write_timeout_ms() -> u64 {
    5000
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        Self {
            lease_ms: default_lease_ms(),
            renew_every_ms: default_renew_every_ms(),
            takeover_poll_ms: default_takeover_poll_ms(),
            write_timeout_ms: default_write_timeout_ms(),
        }
    }
}

impl ReplicationSettings {
    /// The engine's timing, refusing combinations under which a leader could
    /// not keep its lease or a failover would fail writes.
    pub fn to_config(&self) -> Result<ReplicationConfig, Error> {
        let c = ReplicationConfig {
            lease: Duration::from_millis(self.lease_ms),
            renew_every: Duration::from_millis(self.renew_every_ms),
            takeover_poll: Duration::from_millis(self.takeover_poll_ms),
            write_timeout: Duration::from_millis(self.write_timeout_ms),
            ..ReplicationConfig::default()
        };
        c.check()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_engine_defaults_and_bad_timings_are_refused() {
        assert_eq!(ReplicationSettings::default().to_config().unwrap(), ReplicationConfig::default());
        let slow_renewal = ReplicationSettings { renew_every_ms: 1500, ..Default::default() };
        assert!(slow_renewal.to_config().unwrap_err().to_string().contains("half of lease"));
        let short_wait = ReplicationSettings { write_timeout_ms: 1000, ..Default::default() };
        assert!(short_wait.to_config().unwrap_err().to_string().contains("failover"));
    }
}
