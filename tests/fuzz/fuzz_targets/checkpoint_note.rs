//! Signed notes and checkpoints (what a monitor, a witness and the explorer
//! read from a log): parse, and verify against a fixed key.
#![no_main]
use std::sync::OnceLock;
static KEY: OnceLock<Vec<u8>> = OnceLock::new();
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = KEY.get_or_init(|| {
        use sigstead_crypto::Signer;
        sigstead_crypto::EcdsaSigner::generate_p256().public_key_der().to_vec()
    });
    if let Ok(note) = sigstead_note::SignedNote::parse(text) {
        let _ = sigstead_note::Checkpoint::parse_body(&note.text);
    }
    let _ = sigstead_note::Checkpoint::parse_body(text);
    let _ = sigstead_note::verify_checkpoint_v1(text, None, key);
});
