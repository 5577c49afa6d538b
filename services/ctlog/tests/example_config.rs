//! The commented example in deploy/ parses.

#[test]
fn deploy_example_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/ctlog.example.toml");
    let c = sigstead_ctlog::CtConfig::load(&path).unwrap();
    assert_eq!(c.log_name, "ct");
    assert!(c.database_url().starts_with("postgres://"));
}

#[test]
fn exactly_one_key_source() {
    let dir = tempfile::tempdir().unwrap();
    let head = "listen = \"127.0.0.1:0\"\nroots = [\"r.pem\"]\n";
    let file = "key_path = \"k.pem\"\nkey_password_file = \"k.pass\"\n";
    let hsm = "[key_pkcs11]\nmodule = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"ct\"\npin_env = \"PIN\"\n";
    let load = |text: &str| {
        let p = dir.path().join("ctlog.toml");
        std::fs::write(&p, text).unwrap();
        sigstead_ctlog::CtConfig::load(&p).map_err(|e| e.to_string())
    };
    assert!(load(&format!("{head}{file}")).is_ok());
    assert_eq!(load(&format!("{head}{hsm}")).unwrap().key_pkcs11.unwrap().key_label, "ct");
    for bad in [head.to_string(), format!("{head}{file}{hsm}"), format!("{head}key_path = \"k.pem\"\n")] {
        assert!(load(&bad).unwrap_err().contains("exactly one"), "{bad}");
    }
}
