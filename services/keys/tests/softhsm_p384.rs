//! A P-384 key generated inside SoftHSM2 (the timestamp authority's curve
//! for the upstream comparison) signs with SHA-384. Its own test binary: a
//! SoftHSM token store is per process (`SOFTHSM2_CONF`).

use sigstead_crypto::{PublicKey, Signer};
use sigstead_keys::Pkcs11Signer;

fn module() -> std::path::PathBuf {
    sigstead_keys::softhsm::module()
        .expect("SoftHSM2 is required: apt-get install softhsm2 (tests/tools/ensure-softhsm.sh)")
}

fn init_token(dir: &std::path::Path, label: &str, pin: &str) {
    sigstead_keys::softhsm::init_token(&module(), dir, label, pin).unwrap();
}

#[test]
fn softhsm_p384_key_signs_with_sha384() {
    let dir = tempfile::tempdir().unwrap();
    init_token(dir.path(), "sigstead384", "1234");
    Pkcs11Signer::generate(&module(), "sigstead384", "1234", "tsa", sigstead_crypto::EcCurve::P384).unwrap();
    let hsm = Pkcs11Signer::open(&module(), "sigstead384", "1234", "tsa").unwrap();
    assert!(!hsm.extractable().unwrap(), "a generated key never leaves the token");
    let key = PublicKey::from_spki_der(hsm.public_key_der()).unwrap();
    assert_eq!(key.ec_curve(), Some(sigstead_crypto::EcCurve::P384));
    let sig = hsm.sign(b"TSTInfo").unwrap();
    key.verify(b"TSTInfo", &sig).unwrap();
    assert!(key.verify(b"TSTInfO", &sig).is_err());
}
