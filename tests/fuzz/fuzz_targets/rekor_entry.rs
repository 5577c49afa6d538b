//! `POST /api/v1/log/entries` bodies: every entry kind and version, as the
//! Rekor service canonicalises them (signature checks included). An
//! accepted hashedrekord is its own canonical form (the other kinds'
//! canonical bodies hold hashes instead of the envelope and are not
//! submittable: regressions/rekor_entry/dsse-proposed-entry-…).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = sigstead_rekor_types::canonicalize(data) {
        if entry.kind.to_string().starts_with("hashedrekord") {
            let again = sigstead_rekor_types::canonicalize(&entry.body).expect("a canonical hashedrekord canonicalises");
            assert_eq!(again.body, entry.body, "canonicalisation is idempotent");
        }
    }
});
