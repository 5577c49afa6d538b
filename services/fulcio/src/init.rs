//! `sigstead ca init` (and the CA part of `sigstead up`): a root and an
//! issuing intermediate, and the development `fulcio.toml`.

use std::path::{Path, PathBuf};

/// A root and an intermediate: keys `ca-root-key.pem` and
/// `ca-intermediate-key.pem` (encrypted, random passwords in 0600 files) and
/// `ca-chain.pem` (intermediate first) in `dir`. An existing chain is kept.
/// Returns whether a new CA was made.
pub fn ca_init(dir: &Path, organization: &str) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let chain_path = dir.join("ca-chain.pem");
    if chain_path.exists() {
        return Ok(false);
    }
    let (_, root) = sigstead_keys::generate_p256_key_file(dir, "ca-root-key")?;
    let (_, inter) = sigstead_keys::generate_p256_key_file(dir, "ca-intermediate-key")?;
    let now = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let (root_der, inter_der) = sigstead_ca::generate_ca(organization, root, inter, now, 10)?;
    let pem = |der: &[u8]| sigstead_crypto::pem_encode("CERTIFICATE", der);
    std::fs::write(&chain_path, format!("{}{}", pem(&inter_der), pem(&root_der)))?;
    Ok(true)
}

/// The `fulcio.toml` of `sigstead up` in `dir` (made by [`ca_init`]),
/// unless it exists: listening on 127.0.0.1:`port`, logging to `ct_log_url`,
/// trusting only the development issuer at `dev_issuer` (INSECURE: plain
/// HTTP, for a local stack). Returns its path.
pub fn dev_config(dir: &Path, port: u16, ct_log_url: &str, dev_issuer: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join("fulcio.toml");
    if !path.exists() {
        let key = sigstead_keys::KeySource::file("ca-intermediate-key.pem", "ca-intermediate-key.password");
        std::fs::write(
            &path,
            format!(
                "# Sigstead CA, created by `sigstead up`.\nlisten = \"127.0.0.1:{port}\"\nct_log_url = {ct_log_url:?}\n\
                 ca_chain = \"ca-chain.pem\"\n\n\
                 # The development issuer of `sigstead up` (INSECURE: for local use only).\n\
                 [[oidc.issuers]]\nissuer_url = {dev_issuer:?}\ntype = \"email\"\ninsecure_allow_http = true\n\n{}",
                key.to_toml("ca_key")
            ),
        )?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_new_ca_and_its_development_config_load() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::ca_init(dir.path(), "sigstead").unwrap());
        assert!(!super::ca_init(dir.path(), "sigstead").unwrap(), "an existing CA is kept");
        let path = super::dev_config(dir.path(), 3001, "http://127.0.0.1:3002", "http://127.0.0.1:3003").unwrap();
        let c = crate::FulcioConfig::load(&path).unwrap();
        assert_eq!(c.load_chain().unwrap().len(), 2);
        crate::open(&c).unwrap();
    }
}
