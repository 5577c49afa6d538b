//! The commented example in deploy/ parses, and wrong combinations are refused at start with their reason.

#[test]
fn deploy_example_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/tsa.example.toml");
    let c = sigstead_tsa::TsaConfig::load(&path).unwrap();
    assert_eq!(c.policy.0.to_string(), "1.3.6.1.4.1.57264.2");
    assert_eq!(c.http.max_body_bytes, 16384);
    let sigstead_keys::KeySource::Pkcs11(token) = c.signing_key else { panic!("pkcs11") };
    assert_eq!(token.key_label, "tsa");
}

#[test]
fn invalid_configurations_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let head = "listen = \"127.0.0.1:0\"\ncert_chain = \"c.pem\"\n";
    let key = "[signing_key.file]\npath = \"k.pem\"\npassword_file = \"k.pass\"\n";
    let load = |text: &str| {
        let p = dir.path().join("tsa.toml");
        std::fs::write(&p, text).unwrap();
        sigstead_tsa::TsaConfig::load(&p).map_err(|e| e.to_string())
    };
    assert!(load(&format!("{head}{key}")).is_ok());
    for (name, text, reason) in [
        ("no-key", head.to_string(), "missing field `signing_key`"),
        ("bad-policy", format!("{head}policy = \"sigstore\"\n{key}"), "not a dotted object identifier"),
        ("sha1", format!("{head}hash_algorithms = [\"sha1\"]\n{key}"), "unknown variant `sha1`"),
        ("no-hash", format!("{head}hash_algorithms = []\n{key}"), "at least one algorithm"),
        ("vague-accuracy", format!("{head}accuracy_ms = 3600000\n{key}"), "more than a minute"),
        ("unknown-field", format!("{head}tsa_name = \"x\"\n{key}"), "unknown field `tsa_name`"),
    ] {
        let err = load(&text).expect_err(name);
        assert!(err.contains(reason), "{name}: {err}");
    }
    // A key that does not match the chain is refused when the service opens.
    let made = sigstead_tsa::init::init(&dir.path().join("a"), "127.0.0.1:0", &Default::default()).unwrap();
    sigstead_tsa::init::init(&dir.path().join("b"), "127.0.0.1:0", &Default::default()).unwrap();
    let mut c = sigstead_tsa::TsaConfig::load(&made).unwrap();
    c.cert_chain = dir.path().join("b/tsa-chain.pem");
    let err = sigstead_tsa::open(&c).unwrap_err().to_string();
    assert!(err.contains("does not match the leaf certificate"), "{err}");
}
