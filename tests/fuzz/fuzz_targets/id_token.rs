//! ID tokens (JWS compact form) as the CA reads them before verifying:
//! the issuer peeked from an unverified token.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = sigstead_oidc::peek_issuer(text);
});
