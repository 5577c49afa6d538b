//! Re-signing the online roles (snapshot, timestamp).
//!
//! Never sign what cannot be proven consistent: a snapshot is signed only
//! for a targets file that verifies under the current root, and a timestamp
//! only for a snapshot just verified. Commit order: the new
//! `N.snapshot.json` is written (atomically) before `timestamp.json` names
//! it; a crash between the two leaves an unreferenced snapshot file and the
//! old, still valid timestamp, and the next run signs a newer snapshot.

use crate::config::OnlineKeys;
use crate::repo_dir::RepoDir;
use sigstead_tuf::metadata::{Envelope, Metadata, Role, Root, Snapshot, Timestamp};
use sigstead_tuf::repo::{self, snapshot_path, targets_path, TIMESTAMP_PATH};
use sigstead_tuf::TufKey;
use time::OffsetDateTime;

/// Lifetimes of the online roles, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub timestamp_secs: u64,
    pub snapshot_secs: u64,
}

/// What a check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The version of a newly signed snapshot.
    pub snapshot: Option<u64>,
    /// The version of a newly signed timestamp.
    pub timestamp: Option<u64>,
}

fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

pub(crate) fn parse_root(bytes: &[u8]) -> anyhow::Result<Root> {
    let root: Root = Envelope::parse(bytes)?.signed_as()?;
    root.validate()?;
    Ok(root)
}

pub(crate) fn check_key_listed(root: &Root, role: Role, key: &dyn sigstead_crypto::Signer) -> anyhow::Result<()> {
    let id = TufKey::from_spki_der(key.public_key_der())?.key_id();
    let rk = root.role(role).ok_or_else(|| anyhow::anyhow!("root has no {role} role"))?;
    if !rk.keyids.contains(&id) {
        anyhow::bail!("the configured {role} key ({id}) is not one of root's {role} keys");
    }
    if rk.threshold != 1 {
        anyhow::bail!("root requires {} {role} signatures; an online role needs threshold 1", rk.threshold);
    }
    Ok(())
}

/// Whether `m` (signed by `role` under `root`) may be kept: valid signatures
/// and more than half of its lifetime left.
fn keep<T: Metadata>(root: &Root, role: Role, env: &Envelope, m: &T, lifetime: u64, now: OffsetDateTime) -> bool {
    let signed = repo::check_role_signed(root, role, env).is_ok();
    let half = time::Duration::seconds(secs(lifetime / 2));
    signed && m.expires().instant() - now > half
}

/// Brings snapshot and timestamp up to date with the newest root and targets.
pub fn refresh_online(
    dir: &RepoDir,
    keys: &OnlineKeys,
    life: Lifetimes,
    now: OffsetDateTime,
) -> anyhow::Result<Outcome> {
    let _lock = dir.lock()?;
    refresh_online_locked(dir, keys, life, now)
}

/// [`refresh_online`] for a caller that already holds the repository lock.
pub(crate) fn refresh_online_locked(
    dir: &RepoDir,
    keys: &OnlineKeys,
    life: Lifetimes,
    now: OffsetDateTime,
) -> anyhow::Result<Outcome> {
    let (_, root_bytes) = dir.latest_root()?;
    let root = parse_root(&root_bytes)?;
    check_key_listed(&root, Role::Snapshot, keys.snapshot.as_ref())?;
    check_key_listed(&root, Role::Timestamp, keys.timestamp.as_ref())?;

    let tv = dir.latest("targets")?.ok_or_else(|| anyhow::anyhow!("no N.targets.json: publish targets first"))?;
    let tb = dir.read(&targets_path(tv))?.ok_or_else(|| anyhow::anyhow!("{} vanished", targets_path(tv)))?;
    let targets_env = Envelope::parse(&tb)?;
    repo::check_role_signed(&root, Role::Targets, &targets_env).map_err(|e| {
        anyhow::anyhow!(
            "{} does not verify under the current root ({e}); not signing a snapshot for it",
            targets_path(tv)
        )
    })?;

    // The snapshot the current timestamp names, if it is still good.
    let current_ts = dir.read(TIMESTAMP_PATH)?.and_then(|b| Envelope::parse(&b).ok());
    let ts: Option<Timestamp> = current_ts.as_ref().and_then(|e| e.signed_as().ok());
    let ts_snapshot_v = ts.as_ref().and_then(|t| t.snapshot_meta()).map(|m| m.version);
    let current_snap = ts_snapshot_v.and_then(|v| dir.read(&snapshot_path(v)).ok().flatten());
    let snap_ok = current_snap.as_ref().and_then(|b| {
        let env = Envelope::parse(b).ok()?;
        let s: Snapshot = env.signed_as().ok()?;
        let pins = s.targets_meta().is_some_and(|m| *m == sigstead_tuf::MetaFile::pinned(tv, &tb));
        (pins && keep(&root, Role::Snapshot, &env, &s, life.snapshot_secs, now)).then_some((s.version, b.clone()))
    });

    let mut out = Outcome { snapshot: None, timestamp: None };
    let (snap_v, snap_bytes) = match snap_ok {
        Some(kept) => kept,
        None => {
            let v = dir.latest("snapshot")?.unwrap_or(0).max(ts_snapshot_v.unwrap_or(0)) + 1;
            let s = repo::snapshot_for(v, repo::expires_in(now, secs(life.snapshot_secs)), tv, &tb);
            let bytes = repo::sign(&s, &[keys.snapshot.as_ref()])?.to_bytes();
            dir.write_atomic(&snapshot_path(v), &bytes)?;
            out.snapshot = Some(v);
            (v, bytes)
        }
    };

    let ts_ok = match (&current_ts, &ts) {
        (Some(env), Some(t)) => {
            out.snapshot.is_none()
                && t.snapshot_meta().is_some_and(|m| m.version == snap_v)
                && keep(&root, Role::Timestamp, env, t, life.timestamp_secs, now)
        }
        _ => false,
    };
    if !ts_ok {
        let v = ts.as_ref().map_or(0, |t| t.version) + 1;
        let t = repo::timestamp_for(v, repo::expires_in(now, secs(life.timestamp_secs)), snap_v, &snap_bytes);
        dir.write_atomic(TIMESTAMP_PATH, &repo::sign(&t, &[keys.timestamp.as_ref()])?.to_bytes())?;
        out.timestamp = Some(v);
    }
    Ok(out)
}

/// Expiry of each role currently served: (role, version, expires).
pub fn expiries(dir: &RepoDir) -> anyhow::Result<Vec<(Role, u64, OffsetDateTime)>> {
    let mut out = Vec::new();
    let (_, rb) = dir.latest_root()?;
    let root = parse_root(&rb)?;
    out.push((Role::Root, root.version, root.expires.instant()));
    if let Some(v) = dir.latest("targets")? {
        if let Some(b) = dir.read(&targets_path(v))? {
            let t: sigstead_tuf::Targets = Envelope::parse(&b)?.signed_as()?;
            out.push((Role::Targets, t.version, t.expires.instant()));
        }
    }
    if let Some(b) = dir.read(TIMESTAMP_PATH)? {
        let t: Timestamp = Envelope::parse(&b)?.signed_as()?;
        if let Some(m) = t.snapshot_meta() {
            if let Some(sb) = dir.read(&snapshot_path(m.version))? {
                let s: Snapshot = Envelope::parse(&sb)?.signed_as()?;
                out.push((Role::Snapshot, s.version, s.expires.instant()));
            }
        }
        out.push((Role::Timestamp, t.version, t.expires.instant()));
    }
    Ok(out)
}
