//! Publishing root and targets signed elsewhere (offline).
//!
//! Everything is checked before anything is written, the way a client will
//! check it after: a root must follow the current one (thresholds of the old
//! and the new root keys), targets must carry a threshold of the targets keys
//! of the root in force after publication, and that root must still accept
//! what is being served (the latest targets, and snapshot and timestamp, or
//! the online keys to re-sign them must be given). Otherwise publishing a
//! root that replaced the targets key, or the online keys, would leave every
//! client refusing the repository. Write order: targets, then root, then
//! snapshot and timestamp (by [`crate::online`]); all under the repository lock.

use crate::config::OnlineKeys;
use crate::online::{self, Lifetimes};
use crate::repo_dir::RepoDir;
use sigstead_tuf::metadata::{Envelope, Role, Root, Targets, Timestamp};
use sigstead_tuf::repo::{self, root_path, target_path, targets_path, TIMESTAMP_PATH};
use time::OffsetDateTime;

fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::anyhow!(msg.into())
}

/// Publishes `metadata` (a root, a targets, or one of each) into `dir`.
/// Returns the files written.
pub fn publish(
    dir: &RepoDir,
    metadata: &[Envelope],
    online_keys: Option<&OnlineKeys>,
    life: Lifetimes,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<String>> {
    let _lock = dir.lock()?;
    let mut root_env = None;
    let mut targets_env = None;
    for env in metadata {
        let slot = match env.type_name() {
            Some("root") => &mut root_env,
            Some("targets") => &mut targets_env,
            other => {
                return Err(bad(format!(
                    "only root and targets are published (found {other:?}); snapshot and timestamp are signed online"
                )))
            }
        };
        if slot.replace(env).is_some() {
            return Err(bad("give at most one root and one targets file"));
        }
    }

    // The root in force after publication.
    let current = match dir.latest("root")? {
        Some(_) => Some(dir.latest_root()?.1),
        None => None,
    };
    let root: Root = match (root_env, &current) {
        (Some(env), None) => {
            let bytes = env.to_bytes();
            let r: Root = env.signed_as()?;
            if r.version != 1 {
                return Err(bad("the first root must be version 1"));
            }
            sigstead_tuf::TrustedSet::new(&bytes, now).map_err(|e| bad(format!("root 1: {e}")))?;
            r
        }
        (Some(env), Some(cur)) => {
            let r = repo::check_root_successor(cur, &env.to_bytes()).map_err(|e| bad(format!("refusing root: {e}")))?;
            r
        }
        (None, Some(cur)) => online::parse_root(cur)?,
        (None, None) => return Err(bad("the repository has no root yet: publish root 1 first")),
    };
    if root.expires.is_expired(now) {
        return Err(bad(format!("root {} is already expired", root.version)));
    }

    // Targets: the new one, or (when only root changes) the one served now.
    let latest_targets = dir.latest("targets")?;
    match targets_env {
        Some(env) => {
            let t: Targets = env.signed_as()?;
            repo::check_role_signed(&root, Role::Targets, env).map_err(|e| bad(format!("refusing targets: {e}")))?;
            let next = latest_targets.unwrap_or(0) + 1;
            if t.version != next {
                return Err(bad(format!("targets version {} is not the next version {next}", t.version)));
            }
            if t.expires.is_expired(now) {
                return Err(bad(format!("targets {} is already expired", t.version)));
            }
            for (name, tf) in &t.targets {
                let p = target_path(name, tf).ok_or_else(|| bad(format!("target {name} has no sha256")))?;
                if !dir.read(&p)?.is_some_and(|b| tf.matches(&b)) {
                    return Err(bad(format!("{p} is not in the repository (stage-targets copies it)")));
                }
            }
        }
        None if root_env.is_some() => {
            if let Some(v) = latest_targets {
                let tb = dir.read(&targets_path(v))?.unwrap_or_default();
                repo::check_role_signed(&root, Role::Targets, &Envelope::parse(&tb)?).map_err(|e| {
                    bad(format!(
                        "root {} would not accept the served {} ({e}): publish targets signed by its targets keys \
                         together with it (--metadata ROOT --metadata TARGETS)",
                        root.version,
                        targets_path(v)
                    ))
                })?;
            }
        }
        None => {}
    }

    // Online roles: must verify under the new root, or be re-signed now.
    match online_keys {
        Some(keys) => {
            online::check_key_listed(&root, Role::Snapshot, keys.snapshot.as_ref())?;
            online::check_key_listed(&root, Role::Timestamp, keys.timestamp.as_ref())?;
        }
        None if root_env.is_some() => {
            if let Some(ts) = dir.read(TIMESTAMP_PATH)? {
                let env = Envelope::parse(&ts)?;
                let t: Timestamp = env.signed_as()?;
                let snap = t.snapshot_meta().map(|m| repo::snapshot_path(m.version));
                let snap_env = match snap {
                    Some(p) => dir.read(&p)?.map(|b| Envelope::parse(&b)).transpose()?,
                    None => None,
                };
                let ok = repo::check_role_signed(&root, Role::Timestamp, &env).is_ok()
                    && snap_env.is_some_and(|s| repo::check_role_signed(&root, Role::Snapshot, &s).is_ok());
                if !ok {
                    return Err(bad(format!(
                        "root {} changes the snapshot or timestamp keys: pass the new online keys with --online-key \
                         so both are re-signed at once (and give them to the server's tuf.toml)",
                        root.version
                    )));
                }
            }
        }
        None => {}
    }

    let mut written = Vec::new();
    if let Some(env) = targets_env {
        let t: Targets = env.signed_as()?;
        dir.write_atomic(&targets_path(t.version), &env.to_bytes())?;
        written.push(targets_path(t.version));
    }
    if let Some(env) = root_env {
        dir.write_atomic(&root_path(root.version), &env.to_bytes())?;
        written.push(root_path(root.version));
    }
    if let Some(keys) = online_keys {
        online::refresh_online_locked(dir, keys, life, now)?;
    }
    Ok(written)
}
