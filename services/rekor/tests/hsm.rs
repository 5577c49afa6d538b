//! A Rekor log whose key lives on a PKCS#11 token (SoftHSM2, installed by
//! tests/run): rekor.toml's `[signing_key.pkcs11]`, checkpoints and SETs
//! signed on the token and verified with the token's public key.

use sigstead_crypto::Signer;
use sigstead_keys::{softhsm, Pkcs11Signer};

#[tokio::test]
async fn checkpoints_are_signed_by_the_token_key() {
    let module = softhsm::module().expect("SoftHSM2 is required: tests/tools/ensure-softhsm.sh installs it");
    let dir = tempfile::tempdir().unwrap();
    softhsm::init_token(&module, &dir.path().join("hsm"), "sigstead", "4321").unwrap();
    Pkcs11Signer::generate(&module, "sigstead", "4321", "rekor", sigstead_crypto::EcCurve::P256).unwrap();
    std::env::set_var("SIGSTEAD_TEST_REKOR_PIN", "4321");
    let text = format!(
        "listen = \"127.0.0.1:0\"\npublic_url = \"https://rekor.hsm.test\"\n\
         [signing_key.pkcs11]\nmodule = {:?}\ntoken_label = \"sigstead\"\nkey_label = \"rekor\"\npin_env = \"SIGSTEAD_TEST_REKOR_PIN\"\n",
        module.display().to_string()
    );
    let path = dir.path().join("rekor.toml");
    std::fs::write(&path, text).unwrap();
    let config = sigstead_rekor::RekorConfig::load(&path).unwrap();
    let signer = sigstead_rekor::load_signer(&config).unwrap();
    let token_key = Pkcs11Signer::open(&module, "sigstead", "4321", "rekor").unwrap();
    assert_eq!(signer.public_key_der(), token_key.public_key_der(), "the configured key is the token's");

    let rekor = sigstead_rekor::open(&config, sigstead_tlog::Faults::none()).await.unwrap();
    let cp = rekor.engine().checkpoint();
    sigstead_note::verify_checkpoint_v1(&cp.signed, Some("rekor.hsm.test"), token_key.public_key_der())
        .expect("the genesis checkpoint verifies with the token's public key");
    let other = sigstead_crypto::EcdsaSigner::generate_p256();
    assert!(sigstead_note::verify_checkpoint_v1(&cp.signed, Some("rekor.hsm.test"), other.public_key_der()).is_err());
    // (A wrong PIN is refused at login: sigstead-keys's tests check it before any session logs in.)
}
