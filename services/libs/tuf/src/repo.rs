//! Building repository state: signing, and the checks a repository runs
//! before it publishes metadata signed elsewhere. The file names of the
//! layout are in [`crate::layout`] (re-exported here), which the client
//! also reads, so neither module depends on the other's internals.

use crate::client::{ClientError, TrustedSet};
pub use crate::layout::{root_path, snapshot_path, target_path, targets_path, valid_target_name, TIMESTAMP_PATH};
use crate::metadata::{Envelope, Expiry, MetaFile, Metadata, Role, Root, Snapshot, Targets, Timestamp};
use crate::{TargetFile, TufError};
use sigstead_crypto::Signer;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Signs `metadata` with every signer.
pub fn sign<T: Metadata>(metadata: &T, signers: &[&dyn Signer]) -> Result<Envelope, TufError> {
    let mut env = Envelope::new(metadata)?;
    for s in signers {
        env.sign(*s)?;
    }
    Ok(env)
}

/// `now + days`, as an expiry.
pub fn expires_in(now: OffsetDateTime, seconds: i64) -> Expiry {
    Expiry::at(now + time::Duration::seconds(seconds))
}

/// Targets metadata listing `files`.
pub fn targets_for(version: u64, expires: Expiry, files: &BTreeMap<String, Vec<u8>>) -> Result<Targets, TufError> {
    targets_with_custom(version, expires, files, &BTreeMap::new())
}

/// As [`targets_for`], each target described with its entry in `custom`
/// (if any) as its `custom` metadata.
pub fn targets_with_custom(
    version: u64,
    expires: Expiry,
    files: &BTreeMap<String, Vec<u8>>,
    custom: &BTreeMap<String, serde_json::Value>,
) -> Result<Targets, TufError> {
    let mut listed = BTreeMap::new();
    for (name, bytes) in files {
        if !valid_target_name(name) {
            return Err(TufError::Invalid(format!("target name {name:?} is not a safe relative path")));
        }
        listed.insert(name.clone(), TargetFile::describe(bytes, custom.get(name).cloned()));
    }
    Ok(Targets::new(version, expires, listed))
}

/// A snapshot pinning the given targets file by version, length and hash.
pub fn snapshot_for(version: u64, expires: Expiry, targets_version: u64, targets_bytes: &[u8]) -> Snapshot {
    Snapshot::new(version, expires, MetaFile::pinned(targets_version, targets_bytes))
}

/// A timestamp pinning the given snapshot file by version, length and hash.
pub fn timestamp_for(version: u64, expires: Expiry, snapshot_version: u64, snapshot_bytes: &[u8]) -> Timestamp {
    Timestamp::new(version, expires, MetaFile::pinned(snapshot_version, snapshot_bytes))
}

/// Checks that `next` may follow `current` as root: the next version, and
/// signed by a threshold of both the current and its own root keys — exactly
/// what a client will check, so a repository never publishes a root its
/// clients would refuse.
pub fn check_root_successor(current: &[u8], next: &[u8]) -> Result<Root, ClientError> {
    let mut set = TrustedSet::new(current, OffsetDateTime::UNIX_EPOCH)?;
    set.update_root(next)?;
    Ok(set.root().clone())
}

/// Checks that `env` is `role` metadata signed by a threshold of that role's
/// keys in `root`.
pub fn check_role_signed(root: &Root, role: Role, env: &Envelope) -> Result<(), TufError> {
    if env.type_name() != Some(role.name()) {
        return Err(TufError::Invalid(format!("expected {role} metadata, found {:?}", env.type_name())));
    }
    let rk = root.role(role).ok_or_else(|| TufError::Invalid(format!("root has no {role} role")))?;
    env.verify_threshold(rk, &root.keys).map_err(|e| TufError::Invalid(format!("{role}: {e}")))?;
    Ok(())
}
