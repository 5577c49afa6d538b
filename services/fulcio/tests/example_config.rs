//! The commented example in deploy/ parses and passes validation.

#[test]
fn deploy_example_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/fulcio.example.toml");
    let c = sigstead_fulcio::FulcioConfig::load(&path).unwrap();
    assert_eq!(c.certificate_validity_secs, 600);
    assert_eq!(c.oidc.issuers.len(), 4);
    assert!(c.outbound_tls.ca_file.is_some());
    // An unknown field is refused.
    let text = std::fs::read_to_string(&path).unwrap() + "\nsurprise = true\n";
    assert!(sigstead_fulcio::FulcioConfig::parse(&text, std::path::Path::new("/")).is_err());
}
