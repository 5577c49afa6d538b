//! The CA's request bodies (`v2/signingCert` in cosign's, sigstore-js's and
//! sigstore-python's shapes, legacy `v1/signingCert`) as the handlers read
//! them, then the proof-of-possession path: the key PEM parsed as the CA
//! parses it and the proof checked against a fixed subject.
#![no_main]
use base64::Engine;
use sigstead_ca::wire::{parse, LegacySigningCertRequest, SigningCertRequest};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse::<SigningCertRequest>(data) {
        let _ = r.identity_token();
        if let Some(csr) = r.certificate_signing_request.as_deref() {
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(csr) {
                let _ = sigstead_ca::csr::verify_csr(&der);
            }
        }
        if let (Some(key), Some(pop)) = (r.public_key_content(), r.proof_of_possession()) {
            if let Ok(m) = sigstead_crypto::VerifierMaterial::parse(key.as_bytes()) {
                if let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(pop) {
                    let _ = m.key.verify(b"ci@example.com", &sig);
                }
            }
        }
    }
    if let Ok(r) = parse::<LegacySigningCertRequest>(data) {
        let _ = r.public_key.and_then(|k| k.content);
    }
});
