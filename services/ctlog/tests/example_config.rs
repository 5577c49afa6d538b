//! The commented example in deploy/ parses.

#[test]
fn deploy_example_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/ctlog.example.toml");
    let c = sigstead_ctlog::CtConfig::load(&path).unwrap();
    assert_eq!(c.log_name, "ct");
    assert!(c.database_url.is_postgres());
}

#[test]
fn exactly_one_key_source() {
    let dir = tempfile::tempdir().unwrap();
    let head = "listen = \"127.0.0.1:0\"\nroots = [\"r.pem\"]\n";
    let file = "[signing_key.file]\npath = \"k.pem\"\npassword_file = \"k.pass\"\n";
    let hsm = "[signing_key.pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"ct\"\npin_env = \"PIN\"\n";
    let load = |text: &str| {
        let p = dir.path().join("ctlog.toml");
        std::fs::write(&p, text).unwrap();
        sigstead_ctlog::CtConfig::load(&p).map_err(|e| e.to_string())
    };
    assert!(load(&format!("{head}{file}")).is_ok());
    let sigstead_keys::KeySource::Pkcs11(token) = load(&format!("{head}{hsm}")).unwrap().signing_key else {
        panic!("pkcs11")
    };
    assert_eq!(token.key_label, "ct");
    assert!(load(head).unwrap_err().contains("missing field `signing_key`"));
    assert!(load(&format!("{head}{file}{hsm}")).is_err(), "both forms");
    let legacy = load(&format!("{head}key_path = \"k.pem\"\nkey_password_file = \"k.pass\"\n")).unwrap_err();
    assert!(legacy.contains("`key_path` is no longer accepted") && legacy.contains("[signing_key.file]"), "{legacy}");
}
