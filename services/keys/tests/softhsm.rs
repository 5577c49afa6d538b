//! A P-256 key generated inside SoftHSM2 signs, verifies, and serves as the
//! CA's issuing key. SoftHSM2 is required (tests/run installs Debian's
//! `softhsm2`); set SIGSTEAD_PKCS11_MODULE to use another module path.

use sigstead_crypto::{EcdsaSigner, PublicKey, Signer};
use sigstead_keys::Pkcs11Signer;
use std::path::PathBuf;
use std::sync::Arc;

fn module() -> PathBuf {
    sigstead_keys::softhsm::module()
        .expect("SoftHSM2 is required: apt-get install softhsm2 (tests/tools/ensure-softhsm.sh)")
}

/// A fresh SoftHSM token in a temporary directory.
fn init_token(dir: &std::path::Path, label: &str, pin: &str) {
    sigstead_keys::softhsm::init_token(&module(), dir, label, pin).unwrap();
}

#[test]
fn softhsm_key_signs_and_issues_certificates() {
    let dir = tempfile::tempdir().unwrap();
    init_token(dir.path(), "sigstead", "1234");
    Pkcs11Signer::generate(&module(), "sigstead", "1234", "ca-intermediate", sigstead_crypto::EcCurve::P256).unwrap();
    // wrong-pin (checked while no session of this process is logged in)
    let wrong_pin = Pkcs11Signer::open(&module(), "sigstead", "0000", "ca-intermediate").unwrap_err();
    assert!(wrong_pin.to_string().contains("C_Login") || wrong_pin.to_string().contains("Login"), "{wrong_pin}");
    let hsm = Pkcs11Signer::open(&module(), "sigstead", "1234", "ca-intermediate").unwrap();

    // Signatures verify with the public key read from the token, and only over the signed message.
    let key = PublicKey::from_spki_der(hsm.public_key_der()).unwrap();
    let sig = hsm.sign(b"checkpoint").unwrap();
    key.verify(b"checkpoint", &sig).unwrap();
    assert!(key.verify(b"checkpoinT", &sig).is_err());

    // The HSM key as the CA's issuing intermediate.
    let hsm: Arc<dyn Signer> = Arc::new(hsm);
    let (root, inter) = sigstead_ca::generate_ca(
        "hsm test",
        Arc::new(EcdsaSigner::generate_p256()),
        hsm.clone(),
        time::OffsetDateTime::now_utc(),
        1,
    )
    .unwrap();
    let ca = sigstead_ca::CaChain::new(vec![inter.clone(), root], hsm).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let req = sigstead_ca::LeafRequest {
        spki_der: EcdsaSigner::generate_p256().public_key_der().to_vec(),
        san: sigstead_ca::SubjectAltName::Email("hsm@example.com".into()),
        extensions: vec![],
        not_before: now,
        not_after: now + time::Duration::minutes(10),
        serial: sigstead_ca::new_serial(),
    };
    let pre = ca.precertificate(&req).unwrap();
    let ct = EcdsaSigner::generate_p256();
    let sct = sigstead_ct_sct(&ca, &pre, &ct);
    let leaf = ca.finalize(pre, &[sct]).unwrap();
    use der::{Decode, Encode};
    let leaf = x509_cert::Certificate::from_der(&leaf).unwrap();
    let inter = x509_cert::Certificate::from_der(&inter).unwrap();
    let ikey = PublicKey::from_spki_der(&inter.tbs_certificate.subject_public_key_info.to_der().unwrap()).unwrap();
    ikey.verify(&leaf.tbs_certificate.to_der().unwrap(), leaf.signature.raw_bytes())
        .expect("leaf signed inside the HSM");

    // Unknown keys and tokens are refused.
    // A second handle on the same key in the same process works (the module is shared).
    let again = Pkcs11Signer::open(&module(), "sigstead", "1234", "ca-intermediate").unwrap();
    key.verify(b"again", &again.sign(b"again").unwrap()).unwrap();
    assert!(matches!(
        Pkcs11Signer::open(&module(), "sigstead", "1234", "nope"),
        Err(sigstead_keys::HsmError::NoKey(_))
    ));
    assert!(matches!(
        Pkcs11Signer::open(&module(), "other", "1234", "ca-intermediate"),
        Err(sigstead_keys::HsmError::NoToken(_))
    ));
}

fn sigstead_ct_sct(ca: &sigstead_ca::CaChain, pre: &sigstead_ca::Precertificate, ct: &EcdsaSigner) -> sigstead_ct::Sct {
    sigstead_ct::Sct::sign(&ca.ct_entry(pre).unwrap(), 1, ct).unwrap()
}
