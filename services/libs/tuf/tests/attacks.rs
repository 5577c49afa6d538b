//! Every attack fixture is refused by the client workflow, for the reason the
//! fixture names; the two good repositories are accepted.

use sigstead_tuf::client::{refresh, ClientError, Files, RefreshError};
use sigstead_tuf::fixtures;
use sigstead_tuf::metadata::Role;
use time::OffsetDateTime;

fn serve(files: &Files) -> impl FnMut(&str) -> Result<Option<Vec<u8>>, String> + '_ {
    move |path| Ok(files.get(path).cloned())
}

fn run(name: &str) -> (fixtures::Fixture, Result<Files, RefreshError>) {
    let now = OffsetDateTime::now_utc();
    let f = fixtures::all(now).unwrap().into_iter().find(|f| f.name == name).expect("fixture exists");
    let mut local = Files::new();
    if let Some(base) = &f.baseline {
        let (_, files) = refresh(&f.root1, &Files::new(), now, &mut serve(base)).expect("baseline is good");
        local = files;
    }
    let result = refresh(&f.root1, &local, now, &mut serve(&f.repo)).map(|(_, files)| files);
    (f, result)
}

fn refused(name: &str) -> ClientError {
    match run(name).1 {
        Err(RefreshError::Client(e)) => e,
        Err(other) => panic!("{name}: refused for an unexpected reason: {other}"),
        Ok(_) => panic!("{name}: accepted"),
    }
}

#[test]
fn good_repository_is_mirrored_byte_for_byte() {
    let (f, result) = run("good");
    let files = result.unwrap();
    // root 1, the timestamp, snapshot 2, targets 2 and the two version-2 targets.
    assert_eq!(files.len(), 6, "{:?}", files.keys().collect::<Vec<_>>());
    for (path, bytes) in &files {
        assert_eq!(Some(bytes), f.repo.get(path), "{path} differs from what was served");
    }
    assert!(files.contains_key("2.targets.json") && files.contains_key("2.snapshot.json"));
}

#[test]
fn good_root_rotation_is_followed() {
    let (_, result) = run("good-root-rotation");
    let files = result.unwrap();
    assert!(files.contains_key("2.root.json"));
}

#[test]
fn rollback_timestamp() {
    assert!(matches!(refused("rollback-timestamp"), ClientError::Rollback { role: Role::Timestamp, have: 2, got: 1 }));
}

#[test]
fn rollback_snapshot() {
    assert!(matches!(refused("rollback-snapshot"), ClientError::Rollback { role: Role::Snapshot, have: 2, got: 1 }));
}

#[test]
fn rollback_targets() {
    assert!(matches!(refused("rollback-targets"), ClientError::Rollback { role: Role::Targets, have: 2, got: 1 }));
}

#[test]
fn rollback_root() {
    assert!(matches!(refused("rollback-root"), ClientError::Rollback { role: Role::Root, have: 2, got: 1 }));
}

#[test]
fn freeze_expired_timestamp() {
    assert!(matches!(refused("freeze-expired-timestamp"), ClientError::Expired { role: Role::Timestamp, .. }));
}

#[test]
fn mix_and_match_snapshot() {
    assert!(matches!(
        refused("mix-and-match-snapshot"),
        ClientError::VersionMismatch { role: Role::Snapshot, expected: 2, got: 1, by: Role::Timestamp }
    ));
}

#[test]
fn root_below_threshold() {
    assert!(matches!(refused("root-below-threshold"), ClientError::Signatures { role: Role::Root, .. }));
}

#[test]
fn revoked_key_signature() {
    assert!(matches!(refused("revoked-key-signature"), ClientError::Signatures { role: Role::Targets, .. }));
}

#[test]
fn wrong_key_id() {
    assert!(matches!(refused("wrong-key-id"), ClientError::Signatures { role: Role::Timestamp, .. }));
}

#[test]
fn key_id_not_hash_of_key() {
    match refused("key-id-not-hash-of-key") {
        ClientError::Malformed { role: Role::Root, msg } => {
            assert!(msg.contains("is not the hash of its key"), "{msg}")
        }
        other => panic!("unexpected: {other}"),
    }
}

#[test]
fn target_hash_mismatch() {
    assert!(matches!(refused("target-hash-mismatch"), ClientError::HashMismatch { .. }));
}

#[test]
fn tampered_targets() {
    assert!(matches!(refused("tampered-targets"), ClientError::Signatures { role: Role::Targets, .. }));
}

#[test]
fn every_fixture_is_covered_here() {
    let names: Vec<_> = fixtures::all(OffsetDateTime::now_utc()).unwrap().iter().map(|f| f.name).collect();
    let this = include_str!("attacks.rs");
    for n in names {
        assert!(this.contains(&format!("\"{n}\"")), "fixture {n} has no test");
    }
}

#[test]
fn a_local_copy_that_fails_verification_is_an_error_not_a_fresh_start() {
    let now = OffsetDateTime::now_utc();
    let f = fixtures::all(now).unwrap().into_iter().find(|f| f.name == "root-below-threshold").unwrap();
    // The bad 2.root.json sits in the local copy: the mirror must refuse it too.
    let local: Files = f.repo.clone();
    let good = fixtures::all(now).unwrap().into_iter().find(|f| f.name == "good").unwrap();
    let err = refresh(&f.root1, &local, now, &mut serve(&good.repo)).unwrap_err();
    assert!(matches!(err, RefreshError::Local(ClientError::Signatures { role: Role::Root, .. })), "{err}");
}

#[test]
fn a_rerun_reuses_pinned_local_files_and_fetches_only_what_changed() {
    let now = OffsetDateTime::now_utc();
    let f = fixtures::all(now).unwrap().into_iter().find(|f| f.name == "good").unwrap();
    let (_, first) = refresh(&f.root1, &Files::new(), now, &mut serve(&f.repo)).unwrap();
    let mut asked = Vec::new();
    let mut fetch = |p: &str| {
        asked.push(p.to_string());
        Ok(f.repo.get(p).cloned())
    };
    let (_, second) = refresh(&f.root1, &first, now, &mut fetch).unwrap();
    assert_eq!(first, second);
    assert_eq!(asked, ["2.root.json", "timestamp.json"], "only the root probe and the timestamp are fetched again");
}
