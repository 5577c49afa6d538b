//! The TUF client workflow (specification §5.3–5.7) as a state machine over
//! bytes. The caller fetches; every byte that becomes trusted passes through
//! here first.
//!
//! Order of use: [`TrustedSet::new`] with a pinned root, [`TrustedSet::update_root`]
//! for each `N+1.root.json` until the repository answers 404,
//! optionally [`TrustedSet::load_cached`] with what an earlier run trusted
//! (this is what makes rollbacks across runs detectable), then
//! [`TrustedSet::update_timestamp`], [`TrustedSet::update_snapshot`],
//! [`TrustedSet::update_targets`] and [`TrustedSet::verify_target`].

use crate::metadata::{Envelope, MetaFile, Metadata, Role, Root, Snapshot, Targets, Timestamp};
use crate::{TargetFile, TufError};
use time::OffsetDateTime;

/// Why metadata or a target was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    #[error("{role} metadata is malformed: {msg}")]
    Malformed { role: Role, msg: String },
    #[error("{role} metadata is not signed by a threshold of trusted {signer} keys: {msg}")]
    Signatures { role: Role, signer: Role, msg: String },
    #[error("{role} version {got} rolls back from trusted version {have}")]
    Rollback { role: Role, have: u64, got: u64 },
    #[error("{role} version {got} is not the version {expected} that {by} lists")]
    VersionMismatch { role: Role, expected: u64, got: u64, by: Role },
    #[error("{role} metadata expired at {expires}")]
    Expired { role: Role, expires: String },
    #[error("{what} does not match the length and hashes listed for it")]
    HashMismatch { what: String },
    #[error("no such target: {0}")]
    UnknownTarget(String),
    #[error("{0} must be loaded first")]
    OutOfOrder(&'static str),
}

fn malformed(role: Role) -> impl Fn(TufError) -> ClientError {
    move |e| ClientError::Malformed { role, msg: e.to_string() }
}

/// What the client trusts so far.
#[derive(Debug, Clone)]
pub struct TrustedSet {
    now: OffsetDateTime,
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: Option<Targets>,
    /// Versions trusted by an earlier run, for rollback checks.
    cached_timestamp: Option<Timestamp>,
    cached_snapshot: Option<Snapshot>,
}

impl TrustedSet {
    /// Starts from a pinned root, which must be signed by a threshold of its
    /// own root keys. Its expiry is checked only after the root updates.
    pub fn new(root_bytes: &[u8], now: OffsetDateTime) -> Result<Self, ClientError> {
        let env = Envelope::parse(root_bytes).map_err(malformed(Role::Root))?;
        let root: Root = env.signed_as().map_err(malformed(Role::Root))?;
        root.validate().map_err(malformed(Role::Root))?;
        verify(&env, &root, Role::Root, Role::Root)?;
        Ok(Self {
            now,
            root,
            timestamp: None,
            snapshot: None,
            targets: None,
            cached_timestamp: None,
            cached_snapshot: None,
        })
    }

    pub fn root(&self) -> &Root {
        &self.root
    }
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    pub fn targets(&self) -> Option<&Targets> {
        self.targets.as_ref()
    }

    /// Accepts root version N+1: signed by a threshold of the current root's
    /// root keys *and* of its own root keys (§5.3.4–5.3.5).
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if self.timestamp.is_some() {
            return Err(ClientError::OutOfOrder("root updates before timestamp"));
        }
        let env = Envelope::parse(bytes).map_err(malformed(Role::Root))?;
        let new: Root = env.signed_as().map_err(malformed(Role::Root))?;
        new.validate().map_err(malformed(Role::Root))?;
        verify(&env, &self.root, Role::Root, Role::Root)?;
        verify(&env, &new, Role::Root, Role::Root)?;
        let expected = self.root.version + 1;
        if new.version != expected {
            return Err(if new.version < expected {
                ClientError::Rollback { role: Role::Root, have: self.root.version, got: new.version }
            } else {
                ClientError::VersionMismatch { role: Role::Root, expected, got: new.version, by: Role::Root }
            });
        }
        self.root = new;
        Ok(())
    }

    /// After the last root update: the final root must not be expired (§5.3.10).
    pub fn check_root_fresh(&self) -> Result<(), ClientError> {
        self.fresh(Role::Root, &self.root)
    }

    /// Remembers what an earlier run trusted, so that older versions are
    /// refused now. Cached files that no longer verify under the current root
    /// (its online keys were rotated) are dropped, as the specification's
    /// fast-forward recovery requires.
    pub fn load_cached(&mut self, timestamp: Option<&[u8]>, snapshot: Option<&[u8]>) {
        self.cached_timestamp = timestamp.and_then(|b| self.parse_verified::<Timestamp>(b, Role::Timestamp).ok());
        self.cached_snapshot = snapshot.and_then(|b| self.parse_verified::<Snapshot>(b, Role::Snapshot).ok());
    }

    /// Accepts a new timestamp (§5.4).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.check_root_fresh()?;
        let new: Timestamp = self.parse_verified(bytes, Role::Timestamp)?;
        let new_snap = new
            .snapshot_meta()
            .ok_or_else(|| ClientError::Malformed { role: Role::Timestamp, msg: "no snapshot.json in meta".into() })?;
        if let Some(old) = &self.cached_timestamp {
            if new.version < old.version {
                return Err(ClientError::Rollback { role: Role::Timestamp, have: old.version, got: new.version });
            }
            if let Some(old_snap) = old.snapshot_meta() {
                if new_snap.version < old_snap.version {
                    return Err(ClientError::Rollback {
                        role: Role::Snapshot,
                        have: old_snap.version,
                        got: new_snap.version,
                    });
                }
            }
        }
        self.fresh(Role::Timestamp, &new)?;
        self.timestamp = Some(new);
        Ok(())
    }

    /// Accepts the snapshot the timestamp names (§5.5).
    pub fn update_snapshot(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let ts = self.timestamp.as_ref().ok_or(ClientError::OutOfOrder("timestamp"))?;
        let meta = ts.snapshot_meta().cloned().ok_or(ClientError::OutOfOrder("timestamp"))?;
        check_meta_file(&meta, bytes, "snapshot.json")?;
        let new: Snapshot = self.parse_verified(bytes, Role::Snapshot)?;
        if new.version != meta.version {
            return Err(ClientError::VersionMismatch {
                role: Role::Snapshot,
                expected: meta.version,
                got: new.version,
                by: Role::Timestamp,
            });
        }
        if let Some(old) = &self.cached_snapshot {
            for (name, old_meta) in &old.meta {
                match new.meta.get(name) {
                    None => {
                        return Err(ClientError::Malformed {
                            role: Role::Snapshot,
                            msg: format!("{name} was listed before and is missing now"),
                        })
                    }
                    Some(m) if m.version < old_meta.version => {
                        return Err(ClientError::Rollback {
                            role: Role::Targets,
                            have: old_meta.version,
                            got: m.version,
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        self.fresh(Role::Snapshot, &new)?;
        self.snapshot = Some(new);
        Ok(())
    }

    /// Accepts the top-level targets the snapshot names (§5.6).
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        let snap = self.snapshot.as_ref().ok_or(ClientError::OutOfOrder("snapshot"))?;
        let meta = snap
            .targets_meta()
            .cloned()
            .ok_or_else(|| ClientError::Malformed { role: Role::Snapshot, msg: "no targets.json in meta".into() })?;
        check_meta_file(&meta, bytes, "targets.json")?;
        let new: Targets = self.parse_verified(bytes, Role::Targets)?;
        if new.version != meta.version {
            return Err(ClientError::VersionMismatch {
                role: Role::Targets,
                expected: meta.version,
                got: new.version,
                by: Role::Snapshot,
            });
        }
        self.fresh(Role::Targets, &new)?;
        self.targets = Some(new);
        Ok(())
    }

    /// The trusted description of target `name`.
    pub fn target(&self, name: &str) -> Result<&TargetFile, ClientError> {
        let targets = self.targets.as_ref().ok_or(ClientError::OutOfOrder("targets"))?;
        targets.targets.get(name).ok_or_else(|| ClientError::UnknownTarget(name.to_string()))
    }

    /// Checks downloaded target bytes against the trusted length and hashes (§5.7).
    pub fn verify_target(&self, name: &str, bytes: &[u8]) -> Result<(), ClientError> {
        if self.target(name)?.matches(bytes) {
            Ok(())
        } else {
            Err(ClientError::HashMismatch { what: format!("target {name}") })
        }
    }

    fn parse_verified<T: Metadata>(&self, bytes: &[u8], role: Role) -> Result<T, ClientError> {
        let env = Envelope::parse(bytes).map_err(malformed(role))?;
        let signed: T = env.signed_as().map_err(malformed(role))?;
        verify(&env, &self.root, role, role)?;
        Ok(signed)
    }

    fn fresh<T: Metadata>(&self, role: Role, m: &T) -> Result<(), ClientError> {
        if m.expires().is_expired(self.now) {
            return Err(ClientError::Expired { role, expires: m.expires().to_string() });
        }
        Ok(())
    }
}

fn verify(env: &Envelope, root: &Root, role: Role, signer: Role) -> Result<(), ClientError> {
    let rk = root
        .role(signer)
        .ok_or_else(|| ClientError::Malformed { role: Role::Root, msg: format!("no {signer} role") })?;
    env.verify_threshold(rk, &root.keys).map(|_| ()).map_err(|e| ClientError::Signatures {
        role,
        signer,
        msg: e.to_string(),
    })
}

fn check_meta_file(meta: &MetaFile, bytes: &[u8], what: &str) -> Result<(), ClientError> {
    if let Some(len) = meta.length {
        if u64::try_from(bytes.len()).ok() != Some(len) {
            return Err(ClientError::HashMismatch { what: what.to_string() });
        }
    }
    if meta.hashes.as_ref().is_some_and(|h| !crate::metadata::hashes_match(h, bytes)) {
        return Err(ClientError::HashMismatch { what: what.to_string() });
    }
    Ok(())
}

/// Files of a repository by path relative to its base URL (the wire layout).
pub type Files = std::collections::BTreeMap<String, Vec<u8>>;

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("fetching {path}: {msg}")]
    Fetch { path: String, msg: String },
    #[error("the repository has no {0}")]
    Missing(String),
    #[error("local copy: {0}")]
    Local(ClientError),
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// At most this many root versions are walked in one refresh (the
/// specification's guard against an endless root chain).
pub const MAX_ROOT_ROTATIONS: u64 = 1024;

/// Fetches a path relative to the repository base: `Ok(None)` for 404/403.
pub type Fetch<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>, String> + 'a;

/// The whole client workflow: from the pinned `root1`, through the roots of a
/// local copy (`local`, e.g. an earlier mirror; its timestamp and snapshot
/// become the rollback baseline), then the remote roots, timestamp, snapshot,
/// targets and every target. `fetch(path)` returns `Ok(None)` for 404/403.
/// Returns every file of the consistent repository state, each verified.
pub fn refresh(
    root1: &[u8],
    local: &Files,
    now: OffsetDateTime,
    fetch: &mut Fetch<'_>,
) -> Result<(TrustedSet, Files), RefreshError> {
    use crate::layout::{root_path, snapshot_path, target_path, targets_path, TIMESTAMP_PATH};
    let mut set = TrustedSet::new(root1, now)?;
    let mut files = Files::new();
    files.insert(root_path(set.root().version), root1.to_vec());
    while let Some(bytes) = local.get(&root_path(set.root().version + 1)) {
        set.update_root(bytes).map_err(RefreshError::Local)?;
        files.insert(root_path(set.root().version), bytes.clone());
    }
    let mut get = |path: &str| fetch(path).map_err(|msg| RefreshError::Fetch { path: path.to_string(), msg });
    for _ in 0..MAX_ROOT_ROTATIONS {
        let path = root_path(set.root().version + 1);
        let Some(bytes) = get(&path)? else { break };
        set.update_root(&bytes)?;
        files.insert(path, bytes);
    }
    set.check_root_fresh()?;

    let cached_ts = local.get(TIMESTAMP_PATH);
    let cached_snap = cached_ts
        .and_then(|b| Envelope::parse(b).ok())
        .and_then(|e| e.signed_as::<Timestamp>().ok())
        .and_then(|t| t.snapshot_meta().map(|m| m.version))
        .and_then(|v| local.get(&snapshot_path(v)));
    set.load_cached(cached_ts.map(Vec::as_slice), cached_snap.map(Vec::as_slice));

    let ts = get(TIMESTAMP_PATH)?.ok_or_else(|| RefreshError::Missing(TIMESTAMP_PATH.into()))?;
    set.update_timestamp(&ts)?;
    files.insert(TIMESTAMP_PATH.into(), ts);

    // A local copy of a versioned file is reused only when the file naming
    // it pins its hash; otherwise it is fetched again.
    let reuse = |meta: Option<&MetaFile>, path: &str| -> Option<Vec<u8>> {
        let meta = meta.filter(|m| m.hashes.is_some())?;
        local.get(path).filter(|b| check_meta_file(meta, b, path).is_ok()).cloned()
    };
    let meta = set.timestamp().and_then(|t| t.snapshot_meta()).cloned();
    let path = snapshot_path(meta.as_ref().map(|m| m.version).unwrap_or_default());
    let snap = match reuse(meta.as_ref(), &path) {
        Some(b) => b,
        None => get(&path)?.ok_or_else(|| RefreshError::Missing(path.clone()))?,
    };
    set.update_snapshot(&snap)?;
    files.insert(path, snap);

    let meta = set.snapshot().and_then(|s| s.targets_meta()).cloned();
    let path = targets_path(meta.as_ref().map(|m| m.version).unwrap_or_default());
    let targets = match reuse(meta.as_ref(), &path) {
        Some(b) => b,
        None => get(&path)?.ok_or_else(|| RefreshError::Missing(path.clone()))?,
    };
    set.update_targets(&targets)?;
    files.insert(path, targets);

    let listed: Vec<(String, TargetFile)> =
        set.targets().map(|t| t.targets.iter().map(|(n, f)| (n.clone(), f.clone())).collect()).unwrap_or_default();
    for (name, file) in listed {
        let path = target_path(&name, &file)
            .ok_or_else(|| ClientError::HashMismatch { what: format!("target {name} (no sha256)") })?;
        let bytes = match local.get(&path) {
            Some(b) if file.matches(b) => b.clone(),
            _ => get(&path)?.ok_or_else(|| RefreshError::Missing(path.clone()))?,
        };
        set.verify_target(&name, &bytes)?;
        files.insert(path, bytes);
    }
    Ok((set, files))
}
