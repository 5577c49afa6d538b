//! TUF freshness for verifiers: the monitor refreshes the TUF repository the
//! site's verifiers use (from its pinned root, every file verified as a
//! client would) and reports how long each role has left, so an air-gapped
//! mirror is refreshed before its timestamp expires. Gauge
//! `sigstead_monitor_tuf_expires_in_seconds{role}`; below `min_days` the
//! round reports `tuf-expiring` (and an expired or otherwise unverifiable
//! repository `tuf-refresh-failed`).

use crate::Alert;
use std::time::Duration;

/// A role of the refreshed repository: name, version and seconds left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleExpiry {
    pub role: &'static str,
    pub version: u64,
    pub secs_left: i64,
}

/// Why [`refresh_repository`] failed: the task itself, or the TUF workflow.
#[derive(Debug)]
pub enum RefreshFailure {
    Task(String),
    Refresh(sigstead_tuf::client::RefreshError),
}

/// Runs the TUF client workflow against the repository at `url` from the
/// pinned `root1` (every file fetched over `http` and verified as a client
/// verifies it; 404/403 mean "absent"), on a blocking thread. Returns the
/// trusted set and every verified file. Shared by the monitor and the explorer.
pub async fn refresh_repository(
    http: &reqwest::Client,
    url: &str,
    root1: &[u8],
    now: time::OffsetDateTime,
) -> Result<(sigstead_tuf::TrustedSet, sigstead_tuf::client::Files), RefreshFailure> {
    let url = url.trim_end_matches('/').to_string();
    let http = http.clone();
    let root1 = root1.to_vec();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut fetch = |path: &str| -> Result<Option<Vec<u8>>, String> {
            let resp = handle.block_on(http.get(format!("{url}/{path}")).send()).map_err(|e| e.to_string())?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            Ok(Some(handle.block_on(resp.bytes()).map_err(|e| e.to_string())?.to_vec()))
        };
        sigstead_tuf::client::refresh(&root1, &Default::default(), now, &mut fetch)
    })
    .await
    .map_err(|e| RefreshFailure::Task(e.to_string()))?
    .map_err(RefreshFailure::Refresh)
}

/// Refreshes the repository at `url` from `root1` and returns every role's expiry.
pub async fn check_tuf_once(
    http: &reqwest::Client,
    url: &str,
    root1: &[u8],
    min_days: Option<f64>,
) -> Result<Vec<RoleExpiry>, Alert> {
    let now = time::OffsetDateTime::now_utc();
    let (set, _) = refresh_repository(http, url, root1, now).await.map_err(|e| match e {
        RefreshFailure::Task(e) => Alert::Unreachable(e),
        RefreshFailure::Refresh(e) => Alert::TufRefreshFailed(e.to_string()),
    })?;
    let left = |t: time::OffsetDateTime| (t - now).whole_seconds();
    let mut out =
        vec![RoleExpiry { role: "root", version: set.root().version, secs_left: left(set.root().expires.instant()) }];
    if let Some(t) = set.targets() {
        out.push(RoleExpiry { role: "targets", version: t.version, secs_left: left(t.expires.instant()) });
    }
    if let Some(s) = set.snapshot() {
        out.push(RoleExpiry { role: "snapshot", version: s.version, secs_left: left(s.expires.instant()) });
    }
    if let Some(t) = set.timestamp() {
        out.push(RoleExpiry { role: "timestamp", version: t.version, secs_left: left(t.expires.instant()) });
    }
    for r in &out {
        metrics::gauge!("sigstead_monitor_tuf_expires_in_seconds", "role" => r.role).set(r.secs_left as f64);
    }
    if let Some(min) = min_days {
        let bound = Duration::from_secs_f64(min.max(0.0) * 86_400.0).as_secs();
        if let Some(r) = out.iter().find(|r| r.secs_left < i64::try_from(bound).unwrap_or(i64::MAX)) {
            return Err(Alert::TufExpiring { role: r.role, days_left: r.secs_left as f64 / 86_400.0, min_days: min });
        }
    }
    Ok(out)
}
