//! Public keys and certificates in PEM or DER (Rekor verifiers, CSRs' keys,
//! trust material), and the certificate fields read from them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(v) = sigstead_crypto::VerifierMaterial::parse(data) {
        let _ = v.identities();
        let _ = v.canonical_pem();
    }
    let _ = sigstead_crypto::certificate_identities(data);
    let _ = sigstead_crypto::certificate_oidc_issuer(data);
    let _ = sigstead_crypto::pem_decode_all(data);
});
