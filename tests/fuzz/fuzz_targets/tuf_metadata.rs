//! TUF metadata as a client reads it from a repository: an untrusted root
//! to bootstrap from, and each role parsed as its type.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    let _ = sigstead_tuf::TrustedSet::new(data, now);
    if let Ok(env) = sigstead_tuf::Envelope::parse(data) {
        let _ = env.signed_as::<sigstead_tuf::Root>();
        let _ = env.signed_as::<sigstead_tuf::Targets>();
        let _ = env.signed_as::<sigstead_tuf::Snapshot>();
        let _ = env.signed_as::<sigstead_tuf::Timestamp>();
    }
});
