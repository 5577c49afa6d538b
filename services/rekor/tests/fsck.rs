//! The Rekor rules of `sigstead fsck` on real entries: a hashedrekord is
//! re-canonicalised with its search keys; a dsse entry's canonical body
//! (not a submittable entry: found by the `rekor_entry` fuzz target, kept in
//! tests/fuzz/regressions) is checked for its RFC 8785 form only; bodies
//! not in canonical form are errors.

use sigstead_tlog::{LeafIndex, StoredEntry};

fn stored(body: Vec<u8>) -> StoredEntry {
    StoredEntry {
        leaf_index: LeafIndex(1),
        leaf_hash: sigstead_merkle::leaf_hash(&body),
        body,
        integrated_time: 0,
        extra_data: None,
    }
}

#[test]
fn dsse_canonical_bodies_are_checked_for_their_form() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fuzz/regressions/rekor_entry/dsse-proposed-entry-canonical-not-resubmittable");
    let proposed = std::fs::read(path).unwrap();
    let entry = sigstead_rekor_types::canonicalize(&proposed).unwrap();
    assert!(entry.kind.to_string().starts_with("dsse"));
    assert!(sigstead_rekor_types::canonicalize(&entry.body).is_err(), "a dsse canonical body is not a proposed entry");
    assert_eq!(sigstead_rekor::fsck_body_check(&stored(entry.body.clone())), Ok(None));
    let mut spaced = b" ".to_vec();
    spaced.extend_from_slice(&entry.body);
    let e = sigstead_rekor::fsck_body_check(&stored(spaced)).unwrap_err();
    assert!(e.contains("not in canonical (RFC 8785) form"), "{e}");
    assert!(sigstead_rekor::fsck_body_check(&stored(b"{not json".to_vec())).unwrap_err().contains("not JSON"));
}
