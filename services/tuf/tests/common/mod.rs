//! A small signed repository for the TUF server's tests.
#![allow(dead_code)] // each test file uses part of it

use sigstead_crypto::{Ed25519Signer, Signer};
use sigstead_tuf::metadata::{Role, Root};
use sigstead_tuf::repo;
use sigstead_tuf::TufKey;
use sigstead_tuf_service::online::Lifetimes;
use sigstead_tuf_service::repo_dir::RepoDir;
use sigstead_tuf_service::OnlineKeys;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

pub struct Repo {
    pub _tmp: tempfile::TempDir,
    pub dir: RepoDir,
    pub root_key: Ed25519Signer,
    pub targets_key: Ed25519Signer,
    pub online: OnlineKeys,
    pub root1: Vec<u8>,
}

pub const LIFE: Lifetimes = Lifetimes { timestamp_secs: 86_400, snapshot_secs: 7 * 86_400 };

pub fn tkey(s: &dyn Signer) -> TufKey {
    TufKey::from_spki_der(s.public_key_der()).unwrap()
}

pub fn publish_targets(r: &Repo, version: u64, content: &str) {
    let files = BTreeMap::from([("trusted_root.json".to_string(), content.as_bytes().to_vec())]);
    let t = repo::targets_for(version, repo::expires_in(OffsetDateTime::now_utc(), 86_400 * 30), &files).unwrap();
    for (name, bytes) in &files {
        r.dir.write_atomic(&repo::target_path(name, &t.targets[name]).unwrap(), bytes).unwrap();
    }
    r.dir.write_atomic(&repo::targets_path(version), &repo::sign(&t, &[&r.targets_key]).unwrap().to_bytes()).unwrap();
}

pub fn new_repo() -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = RepoDir::new(tmp.path().join("repo"));
    let (root_key, targets_key) = (Ed25519Signer::generate(), Ed25519Signer::generate());
    let online =
        OnlineKeys { snapshot: Arc::new(Ed25519Signer::generate()), timestamp: Arc::new(Ed25519Signer::generate()) };
    let root = Root::new(
        1,
        repo::expires_in(OffsetDateTime::now_utc(), 86_400 * 365),
        &[
            (Role::Root, vec![tkey(&root_key)], 1),
            (Role::Targets, vec![tkey(&targets_key)], 1),
            (Role::Snapshot, vec![tkey(online.snapshot.as_ref())], 1),
            (Role::Timestamp, vec![tkey(online.timestamp.as_ref())], 1),
        ],
    )
    .unwrap();
    let root1 = repo::sign(&root, &[&root_key]).unwrap().to_bytes();
    dir.write_atomic("1.root.json", &root1).unwrap();
    let r = Repo { _tmp: tmp, dir, root_key, targets_key, online, root1 };
    publish_targets(&r, 1, "{\"v\":1}");
    r
}
