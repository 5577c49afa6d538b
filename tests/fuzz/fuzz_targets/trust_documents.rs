//! trusted_root.json and signing_config.v0.2.json as clients and the kit read them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<sigstead_trust::wire::TrustedRoot>(data);
    let _ = serde_json::from_slice::<sigstead_trust::wire::SigningConfig>(data);
});
