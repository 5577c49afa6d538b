//! `sigstead mirror`: copies a TUF repository for an air-gapped site.
//!
//! Every file is verified by the client workflow of [`sigstead_tuf::client`]
//! from a pinned root before anything is written; an earlier copy in the
//! destination is the rollback baseline and its verified files are reused.
//! Files are written so that a reader of the copy (a static server) never
//! sees metadata naming a file that is not there yet: targets, then targets
//! metadata, snapshot, roots, and the timestamp last.

use crate::repo_dir::RepoDir;
use sigstead_tuf::repo::TIMESTAMP_PATH;
use time::OffsetDateTime;

/// What a mirror run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorReport {
    pub root_version: u64,
    pub targets_version: u64,
    pub written: usize,
    pub unchanged: usize,
}

/// Write order rank of a repository path (lower first).
fn rank(path: &str) -> u8 {
    if path.starts_with("targets/") {
        0
    } else if path.ends_with(".targets.json") {
        1
    } else if path.ends_with(".snapshot.json") {
        2
    } else if path == TIMESTAMP_PATH {
        4
    } else {
        3
    }
}

/// Mirrors the repository at `url` into `dir`, starting from `root1`.
/// `progress(path, bytes)` is called for each file fetched.
pub async fn mirror(
    http: reqwest::Client,
    url: &str,
    root1: Vec<u8>,
    dir: &RepoDir,
    progress: impl Fn(&str, usize) + Send + 'static,
) -> anyhow::Result<MirrorReport> {
    let url = url.trim_end_matches('/').to_string();
    let local = dir.load_files()?;
    let handle = tokio::runtime::Handle::current();
    // The client workflow is synchronous (pure); it runs on a blocking thread
    // and fetches through the async client.
    let (set, files) = tokio::task::spawn_blocking(move || {
        let mut fetch = |path: &str| -> Result<Option<Vec<u8>>, String> {
            let resp = handle.block_on(http.get(format!("{url}/{path}")).send()).map_err(|e| e.to_string())?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let body = handle.block_on(resp.bytes()).map_err(|e| e.to_string())?;
            progress(path, body.len());
            Ok(Some(body.to_vec()))
        };
        sigstead_tuf::client::refresh(&root1, &local, OffsetDateTime::now_utc(), &mut fetch)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("refusing to mirror: {e}"))?;

    let mut order: Vec<_> = files.iter().collect();
    order.sort_by_key(|(p, _)| rank(p));
    let mut written = 0;
    for (path, bytes) in &order {
        if dir.read(path)?.as_deref() != Some(bytes.as_slice()) {
            dir.write_atomic(path, bytes)?;
            written += 1;
        }
    }
    Ok(MirrorReport {
        root_version: set.root().version,
        targets_version: set.targets().map_or(0, |t| t.version),
        written,
        unchanged: files.len() - written,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_timestamp_is_written_last_and_targets_first() {
        let mut paths = vec!["timestamp.json", "2.root.json", "3.snapshot.json", "targets/ab.x.json", "3.targets.json"];
        paths.sort_by_key(|p| super::rank(p));
        assert_eq!(paths, ["targets/ab.x.json", "3.targets.json", "3.snapshot.json", "2.root.json", "timestamp.json"]);
    }
}
