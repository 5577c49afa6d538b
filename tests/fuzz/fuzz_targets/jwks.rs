//! JWKS documents as the CA reads an issuer's keys: every key parsed into
//! the key it names (or skipped with its reason).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(jwks) = sigstead_oidc::Jwks::from_json(data) {
        let _ = format!("{:?} {:?}", jwks.keys(), jwks.skipped());
    }
});
