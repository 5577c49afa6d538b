//! The commented example in deploy/ parses.

#[test]
fn deploy_example_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/ctlog.example.toml");
    let c = sigstead_ctlog::CtConfig::load(&path).unwrap();
    assert_eq!(c.log_name, "ct");
    assert!(c.database_url().starts_with("postgres://"));
}
