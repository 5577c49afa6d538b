//! `publish`: offline-signed root and targets are checked as a client will
//! check them, and nothing is written when the check fails.

mod common;
use common::*;
use sigstead_crypto::{Ed25519Signer, Signer};
use sigstead_tuf::client::{refresh, Files};
use sigstead_tuf::metadata::{Envelope, Role, Root};
use sigstead_tuf::repo;
use sigstead_tuf_service::online::refresh_online;
use sigstead_tuf_service::publish::publish;
use sigstead_tuf_service::OnlineKeys;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

fn root2(r: &Repo, targets: &dyn Signer, online: &OnlineKeys) -> Root {
    Root::new(
        2,
        repo::expires_in(OffsetDateTime::now_utc(), 86_400 * 365),
        &[
            (Role::Root, vec![tkey(&r.root_key)], 1),
            (Role::Targets, vec![tkey(targets)], 1),
            (Role::Snapshot, vec![tkey(online.snapshot.as_ref())], 1),
            (Role::Timestamp, vec![tkey(online.timestamp.as_ref())], 1),
        ],
    )
    .unwrap()
}

fn client_follows(r: &Repo) -> (u64, u64) {
    let files = r.dir.load_files().unwrap();
    let (set, _) =
        refresh(&r.root1, &Files::new(), OffsetDateTime::now_utc(), &mut |p: &str| Ok(files.get(p).cloned())).unwrap();
    (set.root().version, set.targets().unwrap().version)
}

fn snapshot_of(r: &Repo) -> Files {
    r.dir.load_files().unwrap()
}

#[test]
fn a_root_that_replaces_the_targets_key_needs_targets_signed_by_the_new_key() {
    let r = new_repo();
    let now = OffsetDateTime::now_utc();
    refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    let new_targets_key = Ed25519Signer::generate();
    let root = repo::sign(&root2(&r, &new_targets_key, &r.online), &[&r.root_key]).unwrap();
    let before = snapshot_of(&r);
    let err = publish(&r.dir, std::slice::from_ref(&root), None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("would not accept the served 1.targets.json"), "{err}");
    assert_eq!(snapshot_of(&r), before, "nothing was written");

    // Together with targets 2 signed by the new key: both land, clients follow.
    let files = BTreeMap::from([("trusted_root.json".to_string(), b"{\"v\":2}".to_vec())]);
    let t = repo::targets_for(2, repo::expires_in(now, 86_400), &files).unwrap();
    r.dir
        .write_atomic(&repo::target_path("trusted_root.json", &t.targets["trusted_root.json"]).unwrap(), b"{\"v\":2}")
        .unwrap();
    let targets = repo::sign(&t, &[&new_targets_key]).unwrap();
    let written = publish(&r.dir, &[root, targets], Some(&r.online), LIFE, now).unwrap();
    assert_eq!(written, ["2.targets.json", "2.root.json"]);
    assert_eq!(client_follows(&r), (2, 2));
}

#[test]
fn a_root_that_changes_online_keys_needs_them_to_re_sign_at_once() {
    let r = new_repo();
    let now = OffsetDateTime::now_utc();
    refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    let new_online =
        OnlineKeys { snapshot: Arc::new(Ed25519Signer::generate()), timestamp: Arc::new(Ed25519Signer::generate()) };
    let root = repo::sign(&root2(&r, &r.targets_key, &new_online), &[&r.root_key]).unwrap();
    let before = snapshot_of(&r);
    let err = publish(&r.dir, std::slice::from_ref(&root), None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("changes the snapshot or timestamp keys"), "{err}");
    // The old online keys are not root 2's: refused too.
    let err = publish(&r.dir, std::slice::from_ref(&root), Some(&r.online), LIFE, now).unwrap_err().to_string();
    assert!(err.contains("is not one of root's"), "{err}");
    assert_eq!(snapshot_of(&r), before, "nothing was written");
    publish(&r.dir, &[root], Some(&new_online), LIFE, now).unwrap();
    assert_eq!(client_follows(&r), (2, 1));
}

#[test]
fn roots_and_targets_below_threshold_or_out_of_order_are_refused() {
    let r = new_repo();
    let now = OffsetDateTime::now_utc();
    refresh_online(&r.dir, &r.online, LIFE, now).unwrap();
    let before = snapshot_of(&r);
    let stranger = Ed25519Signer::generate();
    // rollback-root-... no: a root 2 signed by a key root 1 does not list.
    let unsigned = repo::sign(&root2(&r, &r.targets_key, &r.online), &[&stranger]).unwrap();
    let err = publish(&r.dir, &[unsigned], None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("refusing root"), "{err}");
    // Root 3 while 1 is current.
    let mut skip = root2(&r, &r.targets_key, &r.online);
    skip.version = 3;
    let err = publish(&r.dir, &[repo::sign(&skip, &[&r.root_key]).unwrap()], None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("refusing root"), "{err}");
    // Targets signed by the root key; targets that skip a version.
    let t = repo::targets_for(2, repo::expires_in(now, 86_400), &BTreeMap::new()).unwrap();
    let err = publish(&r.dir, &[repo::sign(&t, &[&r.root_key]).unwrap()], None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("refusing targets"), "{err}");
    let t3 = repo::targets_for(3, repo::expires_in(now, 86_400), &BTreeMap::new()).unwrap();
    let err = publish(&r.dir, &[repo::sign(&t3, &[&r.targets_key]).unwrap()], None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("not the next version 2"), "{err}");
    // Targets naming a file the repository does not hold.
    let files = BTreeMap::from([("trusted_root.json".to_string(), b"absent".to_vec())]);
    let t = repo::targets_for(2, repo::expires_in(now, 86_400), &files).unwrap();
    let err = publish(&r.dir, &[repo::sign(&t, &[&r.targets_key]).unwrap()], None, LIFE, now).unwrap_err().to_string();
    assert!(err.contains("is not in the repository"), "{err}");
    // Snapshot metadata is never published from outside.
    let env = Envelope::parse(&r.dir.read("1.snapshot.json").unwrap().unwrap()).unwrap();
    assert!(publish(&r.dir, &[env], None, LIFE, now).is_err());
    assert_eq!(snapshot_of(&r), before, "nothing was written");
}
