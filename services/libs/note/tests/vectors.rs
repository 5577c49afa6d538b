//! Checkpoint parsing and verification against real Rekor v1 checkpoints and
//! sigstore-java's negative cases (`../shared/vectors/checkpoints`).

use base64::{engine::general_purpose::STANDARD, Engine};
use sigstead_note::{verify_checkpoint_v1, NoteError, SignedNote};
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    std::env::var("SIGSTEAD_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/vectors"))
}

fn production_rekor_spki() -> Vec<u8> {
    let tr: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vectors().join("public-good/targets/trusted_root.json")).unwrap())
            .unwrap();
    let tlog = tr["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["baseUrl"] == "https://rekor.sigstore.dev")
        .expect("production rekor in trusted root");
    STANDARD.decode(tlog["publicKey"]["rawBytes"].as_str().unwrap()).unwrap()
}

fn read(name: &str) -> String {
    String::from_utf8(std::fs::read(vectors().join("checkpoints").join(name)).unwrap()).unwrap()
}

#[test]
fn production_checkpoint_verifies() {
    let spki = production_rekor_spki();
    let cp = verify_checkpoint_v1(&read("sigstore-java/valid.txt"), Some("rekor.sigstore.dev"), &spki).unwrap();
    assert_eq!(cp.origin.as_str(), "rekor.sigstore.dev - 2605736670972794746");
    assert_eq!(cp.size, 37795272);
    assert_eq!(cp.extensions, vec!["Timestamp: 1697034484441201852".to_string()]);
    let cp =
        verify_checkpoint_v1(&read("sigstore-extracted/rekor-v1-production-happy-path-v0.3.checkpoint"), None, &spki)
            .unwrap();
    assert!(cp.origin.as_str().starts_with("rekor.sigstore.dev - "));
}

#[test]
fn tampered_checkpoint_is_rejected() {
    let spki = production_rekor_spki();
    let good = read("sigstore-java/valid.txt");
    let tampered = good.replacen("37795272", "37795273", 1);
    assert_eq!(verify_checkpoint_v1(&tampered, None, &spki), Err(NoteError::BadSignature));
}

#[test]
fn multi_signature_note_verifies_with_the_log_signature_only() {
    let note = read("sigstore-java/valid_multi_sig.txt");
    assert_eq!(SignedNote::parse(&note).unwrap().signatures.len(), 2);
    verify_checkpoint_v1(&note, Some("rekor.sigstore.dev"), &production_rekor_spki()).unwrap();
}

#[test]
fn malformed_checkpoints_are_rejected() {
    let spki = production_rekor_spki();
    for (file, want) in [
        ("error_header_body_separator.txt", None),
        ("error_header_count.txt", None),
        ("error_not_a_number.txt", Some(NoteError::BadTreeSize)),
        ("error_no_signatures.txt", None),
        ("error_no_newline_after_signature.txt", Some(NoteError::NoFinalNewline)),
        ("error_signature_format_invalid.txt", Some(NoteError::BadSignatureLine)),
        ("error_signature_length_insufficient.txt", None),
    ] {
        let res = verify_checkpoint_v1(&read(&format!("sigstore-java/{file}")), None, &spki);
        assert!(res.is_err(), "{file} must be rejected");
        if let Some(w) = want {
            assert_eq!(res.unwrap_err(), w, "{file}");
        }
    }
}
